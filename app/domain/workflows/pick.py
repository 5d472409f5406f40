"""Picking (DESIGN.md section 5): walk a pick list in path order, scan the bin, then the items.

Taking a pick list reserves it: one Reserve per order line, partial allowed, when the order has no
open reservations yet; an order already reserved resumes with its open pick lines. The ledger
allocates first expiry first out; the station walks the lines in the order `open_picks` gives
(the pick path). A line is posted once all its units are scanned. A short pick posts what was
picked with a reason, raises a count of the bin, and reserves the missing units elsewhere (never
in that bin); what it finds joins the walk in path order.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from app.domain.commands import AdjustReason, Command, PostPick, Reserve
from app.domain.errors import Reason
from app.domain.interpret import CommandName, Interpretation, Kind, StationMode
from app.domain.ledger import Outcome
from app.domain.model import Tracking
from app.domain.workflow import (
    Entry,
    Feedback,
    PickLine,
    Reply,
    TagRead,
    WorkContext,
    error,
    ok,
    warning,
)
from app.domain.workflows.common import (
    Answers,
    Item,
    Quantity,
    combine,
    describe,
    late_answer,
    no_tags,
    parse_quantity,
    queued,
    resolve_item,
    signed,
    tracking_problem,
    unexpected,
)

OPEN_ORDERS_SHOWN = 10
REASONS = ", ".join(r.value.upper() for r in AdjustReason)


class Step(StrEnum):
    LIST = "list"
    RESERVING = "reserving"
    TOTE = "tote"
    BIN = "bin"
    ITEMS = "items"
    REASON = "reason"


EXPECTING = {
    Step.LIST: "a pick list (an order barcode)",
    Step.RESERVING: "nothing: wait until the ledger has answered",
    Step.TOTE: "the tote or outbound location",
    Step.BIN: "the bin label (or SKIP, QTY, DONE, CANCEL)",
    Step.ITEMS: "an item (or QTY, SKIP, SHORT, DONE, CANCEL)",
    Step.REASON: f"a reason code ({REASONS}) or CANCEL",
}


@dataclass
class LineResult:
    """What happened to one order line during this walk, for the summary."""

    sku: str
    picked: int = 0
    short: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self, line: int) -> str:
        short = f", {self.short} short" if self.short else ""
        return "; ".join([f"line {line} {self.sku}: {self.picked} picked{short}", *self.notes])


@dataclass
class Walk:
    """One pick list being worked; `queue[0]` is the current line."""

    order: str = ""
    tote: str | None = None
    queue: list[PickLine] = field(default_factory=list)
    finished: int = 0
    done: set[int] = field(default_factory=set)
    """Reservations posted, shorted or refused in this walk (a queued post still looks open)."""
    skipped: set[int] = field(default_factory=set)
    results: dict[int, LineResult] = field(default_factory=dict)
    picked: int = 0
    serials: list[str] = field(default_factory=list)
    posting: dict[uuid.UUID, PickLine] = field(default_factory=dict)
    shorts: dict[uuid.UUID, str] = field(default_factory=dict)
    """Short PostPicks sent, with their reason."""
    reallocations: set[uuid.UUID] = field(default_factory=set)
    notes: list[Feedback | None] = field(default_factory=list)

    @property
    def line(self) -> PickLine | None:
        return self.queue[0] if self.queue else None

    def result(self, line: int, sku: str) -> LineResult:
        return self.results.setdefault(line, LineResult(sku))

    def summary(self) -> tuple[str, ...]:
        return tuple(r.summary(n) for n, r in sorted(self.results.items()))


def merge_in_path_order(
    queue: Sequence[PickLine], new: Sequence[PickLine], skipped: set[int], keep_first: bool
) -> list[PickLine]:
    """`new` lines inserted into the walk by pick sequence: before the first later line and
    before the skipped lines at the end; never ahead of the current line when `keep_first`."""
    merged = list(queue)
    for line in new:
        start = 1 if keep_first and merged else 0
        later = (
            i
            for i in range(start, len(merged))
            if merged[i].reservation in skipped or merged[i].pick_sequence > line.pick_sequence
        )
        merged.insert(next(later, len(merged)), line)
    return merged


def pick_problem(line: PickLine, item: Item, qty: int, serials: list[str]) -> str:
    """Why this item scan does not fit the pick line ("" when it does); over-picks aside."""
    if item.sku.code != line.sku:
        return f"it is {item.sku.code}, but this line is {what(line)}: put it back, take {line.sku}"
    if line.lot and item.lot and item.lot != line.lot:
        return f"this line is lot {line.lot}: put it back and take lot {line.lot}"
    problem = tracking_problem(item, qty)
    if problem is not None:
        return problem.text
    if line.lot and not item.lot:
        return f"this line is lot {line.lot}: scan the barcode that carries the lot"
    if item.sku.tracking is Tracking.SERIAL and item.serial in serials:
        return f"serial {item.serial} is already picked: scan another unit"
    return ""


def what(line: PickLine, qty: int | None = None) -> str:
    lot = f" (lot {line.lot})" if line.lot else ""
    return f"{line.qty if qty is None else qty} x {line.sku}{lot}"


class PickWorkflow:
    """PICK mode: one pick list at a time, bin then items, shorts reallocated elsewhere."""

    mode = StationMode.PICK

    def __init__(self, ctx: WorkContext) -> None:
        self.ctx = ctx
        self.step = Step.LIST
        self.walk = Walk()
        self.qty = Quantity()
        self.answers = Answers()

    @property
    def wants_badge(self) -> bool:
        return False

    @property
    def busy(self) -> bool:
        return self.step is not Step.LIST or bool(self.answers.waiting)

    def start(self) -> Reply:
        return self._reply()

    def on_tags(self, tags: Sequence[TagRead]) -> Reply:
        return self._reply(no_tags("", tags).feedback)

    def on_entry(self, text: str) -> Reply:
        if self.step not in (Step.BIN, Step.ITEMS):
            return self._error(
                f"The keypad is not used here: this step needs {EXPECTING[self.step]}."
            )
        qty = parse_quantity(text)
        if isinstance(qty, Feedback):
            return self._reply(qty)
        self.qty.set(qty)
        return self._reply(ok(f"The next item scan counts {qty}."))

    # --- scans ---

    def on_scan(self, scan: Interpretation) -> Reply:
        step, walk, kind, code = self.step, self.walk, scan.kind, scan.code
        line = walk.line
        if kind is Kind.COMMAND:
            return self._command(scan)
        if kind is Kind.ORDER and step is not Step.LIST:
            return self._error(
                f"Scanned {describe(scan)}, but pick list {walk.order} is open: finish it, or "
                "CANCEL to leave it, before taking another."
            )
        if step is Step.LIST and kind is Kind.ORDER and code:
            return self._take_list(code)
        if step is Step.TOTE and kind is Kind.LOCATION and code:
            return self._tote(code)
        if step is Step.BIN and line is not None and kind is Kind.LOCATION and code:
            return self._bin(line, code)
        if step is Step.BIN and line is not None and kind in (Kind.ITEM, Kind.LPN):
            return self._error(f"Scanned {describe(scan)}: scan the bin {line.location} first.")
        if step is Step.ITEMS and line is not None and kind in (Kind.ITEM, Kind.LPN):
            return self._item(line, scan)
        return self._reply(unexpected(scan, EXPECTING[step]))

    def _command(self, scan: Interpretation) -> Reply:
        name, step, line = scan.command, self.step, self.walk.line
        at_line = step in (Step.BIN, Step.ITEMS) and line is not None
        if name is CommandName.CANCEL:
            return self._cancel()
        if name is CommandName.QTY and at_line and scan.quantity:
            self.qty.set(scan.quantity)
            return self._reply(ok(f"The next item scan counts {scan.quantity}."))
        if name is CommandName.DONE and step in (Step.TOTE, Step.BIN, Step.ITEMS):
            return self._done()
        if name is CommandName.SKIP and at_line:
            return self._skip()
        if name is CommandName.SHORT and step is Step.BIN and line is not None:
            return self._error(f"Scan the bin {line.location} first: a short is reported there.")
        if name is CommandName.SHORT and step is Step.ITEMS:
            self.step = Step.REASON
            return self._reply(warning("Short pick: say why."))
        if name is CommandName.REASON and step is Step.REASON and scan.command_arg:
            return self._short(scan.command_arg)
        return self._reply(unexpected(scan, EXPECTING[step]))

    def _take_list(self, order: str) -> Reply:
        lines = self.ctx.data.order_lines(order)
        if lines is None:
            return self._error(
                f"Order {order} is not an open order (unknown, closed or shipped). Scan another "
                "pick list, or choose one on screen."
            )
        lines = [line for line in lines if line.qty > 0]
        if not lines:
            return self._error(f"Order {order} has nothing to pick. Scan another pick list.")
        self.walk = walk = Walk(order=order)
        self.answers.clear()
        picks = self.ctx.data.open_picks(order)
        if picks:
            walk.queue = picks
            for pick in picks:
                walk.result(pick.line, pick.sku)
            self.step = Step.TOTE
            return self._reply(ok(f"Resuming {order}: {len(picks)} open pick line(s)."))
        for line in lines:
            walk.result(line.line, line.sku)
        reserves = (
            Reserve(
                **signed(self.ctx),
                order=order,
                line=n.line,
                sku=n.sku,
                qty=n.qty,
                allow_partial=True,
            )
            for n in lines
        )
        self.step = Step.RESERVING
        commands = self.answers.send(*reserves)
        return self._reply(ok(f"Reserving {order}: {len(lines)} line(s)."), commands)

    def _tote(self, code: str) -> Reply:
        kind = self.ctx.data.location_kind(code)
        if kind not in ("outbound", "staging"):
            return self._error(
                f"Scanned location {code} (a {kind or 'unknown location'}), but picks go into a "
                "tote or an outbound or staging location. Scan the tote's label."
            )
        self.walk.tote = code
        self.step = Step.BIN
        return self._after(ok(f"Picking {self.walk.order} into {code}."))

    def _bin(self, line: PickLine, code: str) -> Reply:
        if code != line.location:
            return self._error(
                f"Scanned location {code}, but this line is picked from {line.location}: go to "
                f"{line.location} and scan its label."
            )
        self.step = Step.ITEMS
        return self._reply(ok(f"At {line.location}: pick {what(line)}."))

    def _item(self, line: PickLine, scan: Interpretation) -> Reply:
        item = resolve_item(self.ctx, scan)
        if isinstance(item, Feedback):
            return self._reply(item)
        walk, qty = self.walk, self.qty.peek(item)
        problem = pick_problem(line, item, qty, walk.serials)
        if problem:
            return self._error(f"Scanned {describe(scan)}: {problem}.")
        self.qty.take(item)
        if walk.picked + qty > line.qty:
            return self._error(
                f"Scanned {describe(scan)}: that makes {walk.picked + qty} x {line.sku}, and the "
                f"line needs {line.qty}. Put the extra {walk.picked + qty - line.qty} back."
            )
        walk.picked += qty
        if item.serial and item.sku.tracking is Tracking.SERIAL:
            walk.serials.append(item.serial)
        if walk.picked < line.qty:
            return self._reply(ok(f"Picked {walk.picked} of {what(line)}."))
        command = self._post(line, walk.picked)
        return self._after(ok(f"Line done: {what(line)} from {line.location}."), (command,))

    # --- skip, short, done, cancel ---

    def _skip(self) -> Reply:
        walk = self.walk
        line = walk.queue[0]
        if walk.picked:
            return self._error(
                f"{walk.picked} of this line are picked: finish it, SHORT it, or CANCEL and put "
                "them back before skipping."
            )
        if len(walk.queue) == 1:
            return self._reply(warning("This is the last line: pick it or SHORT it."))
        walk.queue.append(walk.queue.pop(0))
        walk.skipped.add(line.reservation)
        self.step = Step.BIN
        return self._reply(ok(f"Skipped {what(line)} at {line.location}: it comes last."))

    def _short(self, reason: str) -> Reply:
        walk = self.walk
        line, picked = walk.queue[0], walk.picked
        command = self._post(line, picked, reason)
        walk.shorts[command.tx_id] = reason
        text = f"Short pick at {line.location}: {picked} of {what(line)} ({reason})."
        return self._after(warning(text), (command,))

    def _done(self) -> Reply:
        walk = self.walk
        left = [f"{what(p)} at {p.location}" for p in walk.queue]
        return self._reply(
            error(
                f"{walk.order} is not finished: {len(left)} line(s) left ({'; '.join(left)}). "
                "Pick them or SHORT them; the list completes with its last line."
            ),
            extra=tuple(f"Left: {text}" for text in left),
        )

    def _cancel(self) -> Reply:
        self.qty.clear()
        walk, step = self.walk, self.step
        if step is Step.REASON:
            self.step = Step.ITEMS
            return self._reply(ok("Short pick cancelled: keep picking this line."))
        if step is Step.ITEMS:
            back = f" Put the {walk.picked} scanned back." if walk.picked else ""
            walk.picked, walk.serials, self.step = 0, [], Step.BIN
            return self._reply(warning(f"Line cancelled: nothing of it is picked.{back}"))
        if step in (Step.TOTE, Step.BIN):
            self.walk, self.step = Walk(), Step.LIST
            return self._reply(
                warning(f"Left {walk.order}: its open lines stay reserved. Scan it to resume.")
            )
        return self._reply(ok("Nothing to cancel."))

    # --- the ledger's answers ---

    def on_outcome(self, command: Command, outcome: Outcome | None) -> Reply:
        walk = self.walk
        if not self.answers.take(command, outcome):
            return self._reply(late_answer(command, outcome))
        if isinstance(command, Reserve) and command.tx_id in walk.reallocations:
            return self._after(self._reallocated(command, outcome))
        if isinstance(command, Reserve):
            return self._reserved(command, outcome)
        if isinstance(command, PostPick) and command.tx_id in walk.shorts:
            return self._short_posted(command, outcome)
        if isinstance(command, PostPick):
            return self._after(self._posted(command, outcome))
        return self._reply(late_answer(command, outcome))

    def _reserved(self, command: Reserve, outcome: Outcome | None) -> Reply:
        walk = self.walk
        result = walk.result(command.line, command.sku)
        where = f"line {command.line} {command.sku}"
        if outcome is None:
            walk.notes.append(queued(f"Reserving {where}"))
        elif outcome.ok and (found := int(outcome.result.get("reserved", 0))) < command.qty:
            result.short += command.qty - found
            walk.notes.append(warning(f"{where}: only {found} of {command.qty} in stock."))
        elif not outcome.ok and outcome.reason == Reason.NOT_ENOUGH_STOCK:
            result.short += command.qty
            walk.notes.append(warning(f"{where}: none in stock, short {command.qty}."))
        elif not outcome.ok:
            result.notes.append(outcome.message)
            walk.notes.append(error(f"{where} was refused: {outcome.message}."))
        if not self.answers.complete:
            return self._reply()
        notes, walk.notes = combine(*walk.notes), []
        if self.answers.confirmed:  # nothing reserved (refused or queued): nothing to pick
            walk.queue = self.ctx.data.open_picks(walk.order)
        if walk.queue:
            self.step = Step.TOTE
            return self._reply(combine(ok(f"{walk.order}: {len(walk.queue)} line(s)."), notes))
        offline = bool(self.answers.queued)
        self.walk, self.step = Walk(), Step.LIST
        self.answers.clear()
        if offline:
            nothing = warning(f"Nothing of {walk.order} can be picked until it is reserved.")
        else:
            nothing = error(f"Nothing of {walk.order} can be picked now.")
        return self._reply(combine(nothing, notes), extra=walk.summary())

    def _posted(self, command: PostPick, outcome: Outcome | None) -> Feedback:
        walk = self.walk
        line = walk.posting.pop(command.tx_id)
        result, picked = walk.result(line.line, line.sku), what(line, command.qty)
        if outcome is not None and not outcome.ok:
            result.notes.append(f"not posted: {outcome.message}")
            return error(
                f"Pick of {picked} from {line.location} refused: {outcome.message}. The line is "
                "left out; tell a supervisor."
            )
        result.picked += command.qty
        if outcome is None:
            return queued(f"Pick of {picked} from {line.location}")
        return ok(f"Picked {picked} from {line.location} into {command.to_location}.")

    def _short_posted(self, command: PostPick, outcome: Outcome | None) -> Reply:
        walk, ctx = self.walk, self.ctx
        reason, line = walk.shorts.pop(command.tx_id), walk.posting[command.tx_id]
        posted, missing = self._posted(command, outcome), line.qty - command.qty
        what_missing = f"{missing} x {line.sku} missing for {line.order}/{line.line} ({reason})"
        ctx.data.raise_count(
            line.location, f"short pick: {what_missing}", ctx.station.code, ctx.operator.badge
        )
        if outcome is not None and not outcome.ok:
            return self._after(posted)
        walk.result(line.line, line.sku).short += missing
        reserve = Reserve(
            **signed(ctx),
            order=line.order,
            line=line.line,
            sku=line.sku,
            qty=missing,
            allow_partial=True,
            avoid=(line.location,),
        )
        walk.reallocations.add(reserve.tx_id)
        look = ok(f"{line.location} will be counted; looking for {missing} x {line.sku} elsewhere.")
        return self._after(combine(posted, look), self.answers.send(reserve))

    def _reallocated(self, command: Reserve, outcome: Outcome | None) -> Feedback:
        walk = self.walk
        where = f"Line {command.line} ({command.sku})"
        if outcome is None:
            return queued(f"Reserving the missing {command.qty} x {command.sku} elsewhere")
        if not outcome.ok and outcome.reason == Reason.NOT_ENOUGH_STOCK:
            return warning(f"No other stock: l{where[1:]} short by {command.qty}.")
        if not outcome.ok:
            return error(
                f"Reserving the missing {command.qty} x {command.sku} elsewhere was refused: "
                f"{outcome.message}. {where} is short by {command.qty}."
            )
        found = int(outcome.result.get("reserved", 0))
        walk.result(command.line, command.sku).short -= found
        known = walk.done | {p.reservation for p in walk.queue}
        fresh = [p for p in self.ctx.data.open_picks(walk.order) if p.reservation not in known]
        keep_first = self.step in (Step.ITEMS, Step.REASON)
        walk.queue = merge_in_path_order(walk.queue, fresh, walk.skipped, keep_first)
        bins = ", ".join(p.location for p in fresh)
        text = f"Found {found} x {command.sku} elsewhere: {len(fresh)} line(s) added ({bins})."
        if found < command.qty:
            return warning(f"{text} {where} is short by {command.qty - found}.")
        return ok(text)

    # --- commands and replies ---

    def _post(self, line: PickLine, qty: int, short_reason: str | None = None) -> Command:
        """Post the current line and move on to the next one."""
        walk = self.walk
        assert walk.tote is not None
        command = PostPick(
            **signed(self.ctx),
            reservation=line.reservation,
            qty=qty,
            to_location=walk.tote,
            serials=tuple(walk.serials),
            short_reason=short_reason,
        )
        walk.posting[command.tx_id] = line
        walk.done.add(line.reservation)
        walk.queue.pop(0)
        walk.finished += 1
        walk.picked, walk.serials, self.step = 0, [], Step.BIN
        self.answers.send(command)
        return command

    def _after(self, feedback: Feedback | None, commands: tuple[Command, ...] = ()) -> Reply:
        """The next line, or the end of the list once every line is done and answered."""
        walk = self.walk
        if self.step in (Step.BIN, Step.ITEMS) and not walk.queue and self.answers.complete:
            self.walk, self.step = Walk(), Step.LIST
            self.answers.clear()
            done = ok(f"Pick list {walk.order} complete.")
            return self._reply(combine(feedback, done), commands, extra=walk.summary())
        return self._reply(feedback, commands)

    def _error(self, text: str) -> Reply:
        return self._reply(error(text))

    def _reply(
        self,
        feedback: Feedback | None = None,
        commands: tuple[Command, ...] = (),
        extra: tuple[str, ...] = (),
    ) -> Reply:
        entry = Entry.QUANTITY if self.step in (Step.BIN, Step.ITEMS) else None
        return Reply(self._prompt(), feedback, commands, self._lines() + extra, entry)

    def _prompt(self) -> str:
        walk, step, line = self.walk, self.step, self.walk.line
        if step is Step.LIST:
            return "Scan a pick list (an order barcode), or choose one on screen."
        if step is Step.RESERVING:
            return f"Reserving {walk.order}: wait for the ledger."
        if step is Step.TOTE:
            return f"Scan the tote or outbound location that receives the picks for {walk.order}."
        if line is None:
            return f"Finishing {walk.order}: wait for the ledger."
        if step is Step.BIN:
            return f"Go to {line.location}: pick {what(line)}. Scan the bin label."
        if step is Step.ITEMS:
            left = line.qty - walk.picked
            return (
                f"At {line.location}: pick {left} more x {line.sku}. Scan each item (QTY: several)."
            )
        return f"Short pick at {line.location}: scan the reason code ({REASONS}), or CANCEL."

    def _lines(self) -> tuple[str, ...]:
        walk, line = self.walk, self.walk.line
        if self.step is Step.LIST:
            orders = self.ctx.data.open_orders(OPEN_ORDERS_SHOWN)
            return (f"Open pick lists: {', '.join(orders)}",) if orders else ()
        lines = [f"Pick list {walk.order}" + (f" into {walk.tote}" if walk.tote else "")]
        if line is not None and self.step is not Step.RESERVING:
            total = walk.finished + len(walk.queue)
            lines.append(f"Line {walk.finished + 1} of {total}: {what(line)} from {line.location}")
            lines.append(f"Picked {walk.picked} of {line.qty}")
        return tuple(lines)
