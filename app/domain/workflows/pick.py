"""Picking (DESIGN.md section 5): walk a pick list in path order, scan the bin, then the items.

Taking a pick list reserves it: one Reserve per order line, partial allowed, when the order has no
open reservations yet; an order already reserved resumes with its open pick lines. The ledger
allocates first expiry first out; the station walks the lines in the order `open_picks` gives
(the pick path). A line is posted once all its units are scanned. A short pick posts what was
picked with a reason, raises a count of the bin, and reserves the missing units elsewhere (never
in that bin); what it finds joins the walk in path order. This module is the state machine: the
walk's bookkeeping (`Walk`, the lines and what the ledger's answers did to them) is `pick_walk`.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from app.domain.commands import AdjustReason, Command, PostPick, Reserve
from app.domain.interpret import CommandName, Interpretation, Kind, StationMode
from app.domain.ledger import Outcome
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
    Quantity,
    combine,
    describe,
    late_answer,
    no_tags,
    resolve_item,
    signed,
    unexpected,
)
from app.domain.workflows.pick_walk import Walk, elsewhere, pick_problem, what

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
        return self._reply(self.qty.enter(text))

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
        # Lines already reserved (a list taken before, at any station) are resumed, not
        # reserved again: order_lines counts them as allocated.
        picks = self.ctx.data.open_picks(order)
        lines = [line for line in lines if line.qty > 0]
        if not lines and not picks:
            return self._error(f"Order {order} has nothing to pick. Scan another pick list.")
        self.walk = walk = Walk(order=order)
        self.answers.clear()
        if picks:
            walk.resume(picks)
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
        walk.add(item, qty)
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
        walk.skip()
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
        walk, left = self.walk, self.walk.left()
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
            keep_first = self.step in (Step.ITEMS, Step.REASON)
            found = walk.reallocated(command, outcome, self._open_picks, keep_first)
            return self._after(found)
        if isinstance(command, Reserve):
            return self._reserved(command, outcome)
        if isinstance(command, PostPick) and command.tx_id in walk.shorts:
            return self._short_posted(command, outcome)
        if isinstance(command, PostPick):
            return self._after(self.walk.posted(command, outcome))
        return self._reply(late_answer(command, outcome))

    def _reserved(self, command: Reserve, outcome: Outcome | None) -> Reply:
        walk = self.walk
        walk.reserved(command, outcome)
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

    def _short_posted(self, command: PostPick, outcome: Outcome | None) -> Reply:
        walk, ctx = self.walk, self.ctx
        reason, line = walk.shorts.pop(command.tx_id), walk.posting[command.tx_id]
        posted, missing = walk.posted(command, outcome), line.qty - command.qty
        what_missing = f"{missing} x {line.sku} missing for {line.order}/{line.line} ({reason})"
        ctx.data.raise_count(
            line.location, f"short pick: {what_missing}", ctx.station.code, ctx.operator.badge
        )
        if outcome is not None and not outcome.ok:
            return self._after(posted)
        walk.result(line.line, line.sku).short += missing
        reserve = elsewhere(signed(ctx), line, missing)
        walk.reallocations.add(reserve.tx_id)
        look = ok(f"{line.location} will be counted; looking for {missing} x {line.sku} elsewhere.")
        return self._after(combine(posted, look), self.answers.send(reserve))

    def _open_picks(self) -> list[PickLine]:
        return self.ctx.data.open_picks(self.walk.order)

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
        walk.post_line(line, command)
        self.step = Step.BIN
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
            lines.extend(walk.progress(line))
        return tuple(lines)
