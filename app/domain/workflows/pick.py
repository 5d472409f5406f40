"""Picking (DESIGN.md section 5): walk a pick list in path order, scan the bin, then the items.

Taking a pick list is one ledger transaction (TakeList): it claims the order for this station and
operator and reserves what is still open on its lines; a list this picker holds already is
resumed. Another picker's list is refused with who holds it and since when; a supervisor's
TAKEOVER (badge and PIN) moves it here, and the first picker learns on their next scan that it
was taken over. CANCEL asks whether to keep the reservations (CANCEL again) or give them back
(RELEASE); the last line done releases the list (ReleaseList FINISHED). The ledger allocates
first expiry first out; the station walks the lines in the order `open_picks` gives
(the pick path). A line is posted once all its units are scanned. A short pick posts what was
picked with a reason, raises a count of the bin, and reserves the missing units elsewhere (never
in that bin); what it finds joins the walk in path order. This module is the state machine: the
walk's bookkeeping (`Walk`, the lines and what the ledger's answers did to them) is `pick_walk`.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from app.domain.approval import Approval, Approved
from app.domain.commands import (
    AdjustReason,
    Command,
    PostPick,
    RaiseCount,
    ReleaseHow,
    ReleaseList,
    Reserve,
    TakeList,
)
from app.domain.errors import Reason
from app.domain.interpret import CommandName, Interpretation, Kind, StationMode
from app.domain.ledger import Outcome
from app.domain.orders import clock
from app.domain.ports import DatabaseUnavailable
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
    queued,
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
    LEAVING = "leaving"
    """CANCEL was scanned in the walk: keep the reservations (CANCEL) or give them back."""


EXPECTING = {
    Step.LIST: "a pick list (an order barcode)",
    Step.RESERVING: "nothing: wait until the ledger has answered",
    Step.TOTE: "the tote or outbound location",
    Step.BIN: "the bin label (or SKIP, QTY, DONE, CANCEL)",
    Step.ITEMS: "an item (or QTY, SKIP, SHORT, DONE, CANCEL)",
    Step.REASON: f"a reason code ({REASONS}) or CANCEL",
    Step.LEAVING: "CANCEL (keep the reservations), RELEASE (give them back), or the bin label",
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
        self.claimed: str | None = None
        """The last order refused because another picker holds it: TAKEOVER applies to it."""
        self.takeover: Approval | None = None
        self.leaving_from = Step.BIN

    @property
    def wants_badge(self) -> bool:
        return self.takeover is not None

    @property
    def busy(self) -> bool:
        return self.step is not Step.LIST or bool(self.answers.waiting)

    def start(self) -> Reply:
        return self._reply()

    def on_tags(self, tags: Sequence[TagRead]) -> Reply:
        return self._reply(no_tags("", tags).feedback)

    def on_entry(self, text: str) -> Reply:
        if self.takeover is not None:
            return self._approval(self.takeover.on_entry(text))
        if self.step not in (Step.BIN, Step.ITEMS):
            return self._error(
                f"The keypad is not used here: this step needs {EXPECTING[self.step]}."
            )
        return self._reply(self.qty.enter(text))

    # --- scans ---

    def on_scan(self, scan: Interpretation) -> Reply:
        if self.takeover is not None:
            if scan.kind is Kind.COMMAND and scan.command is CommandName.CANCEL:
                self.takeover = None
                return self._reply(ok("Takeover cancelled."))
            return self._approval(self.takeover.on_scan(scan))
        lost = self._claim_lost()
        if lost is not None:
            return lost
        step, walk, kind, code = self.step, self.walk, scan.kind, scan.code
        line = walk.line
        if step is Step.LEAVING:
            return self._leaving(scan)
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
        if name is CommandName.TAKEOVER and step is Step.LIST:
            return self._ask_takeover()
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

    def _take_list(self, order: str, takeover: Approved | None = None) -> Reply:
        """Claim the list and reserve what is open on it, in one ledger transaction."""
        self.walk = Walk(order=order)
        self.answers.clear()
        self.claimed = None
        self.step = Step.RESERVING
        command = TakeList(
            **signed(self.ctx),
            order=order,
            takeover_by=takeover.supervisor if takeover else None,
            approver_pin=takeover.pin if takeover else None,
        )
        doing = "Taking over" if takeover else "Taking"
        return self._reply(ok(f"{doing} {order}."), self.answers.send(command))

    def _taken(self, command: TakeList, outcome: Outcome | None) -> Reply:
        walk = self.walk
        self.answers.clear()
        if outcome is None:
            self.walk, self.step = Walk(), Step.LIST
            return self._reply(
                warning(
                    f"Taking {walk.order} is queued: the database cannot be reached. Nothing of "
                    "it can be picked until it is reserved; pick another list later."
                )
            )
        if not outcome.ok:
            self.walk, self.step = Walk(), Step.LIST
            if outcome.reason == Reason.ORDER_CLAIMED:
                self.claimed = command.order
            return self._error(f"{outcome.message}")
        notes: list[Feedback | None] = []
        for line in outcome.result.get("lines", []):
            result = walk.result(int(line["line"]), str(line["sku"]))
            asked, found = int(line["asked"]), int(line["reserved"])
            if found < asked:
                result.short += asked - found
                where = f"line {line['line']} {line['sku']}"
                notes.append(warning(f"{where}: only {found} of {asked} in stock."))
        walk.resume(self.ctx.data.open_picks(walk.order))
        taken = ok(f"{outcome.message[:1].upper()}{outcome.message[1:]}.")
        if walk.queue:
            self.step = Step.TOTE
            lines = ok(f"{walk.order}: {len(walk.queue)} line(s) to pick.")
            return self._reply(combine(taken, lines, *notes))
        self.walk, self.step = Walk(), Step.LIST
        release = ReleaseList(**signed(self.ctx), order=walk.order, how=ReleaseHow.FINISHED)
        nothing = error(f"Nothing of {walk.order} can be picked now; the list is released.")
        return self._reply(combine(nothing, *notes), (release,), extra=walk.summary())

    def _ask_takeover(self) -> Reply:
        order = self.claimed
        if order is None:
            return self._error(
                "TAKEOVER moves another picker's list here: scan that order first, then TAKEOVER."
            )
        self.takeover = Approval(
            self.ctx.data,
            self.ctx.pins,
            f"taking over {order} for {self.ctx.operator.name}",
            not_by=frozenset({self.ctx.operator.badge}),
        )
        ask = self.takeover.prompt()
        needs = warning(f"Taking over {order} needs a supervisor: their badge, then their PIN.")
        return Reply(ask.prompt, needs, (), ask.lines, ask.entry)

    def _approval(self, step: Reply | Approved) -> Reply:
        if isinstance(step, Approved):
            self.takeover = None
            order = self.claimed or ""
            return self._take_list(order, takeover=step)
        return step

    def _claim_lost(self) -> Reply | None:
        """Abandon the walk when the list was taken over (or released) in the meantime: the
        picker learns it on their next scan. Offline, the ledger says so when the posts go."""
        walk, me = self.walk, self.ctx
        if self.step in (Step.LIST, Step.RESERVING) or not walk.order:
            return None
        try:
            claim = me.data.order_claim(walk.order)
        except DatabaseUnavailable:
            return None
        if claim is not None and claim.held_by(me.station.code, me.operator.badge):
            return None
        if claim is None:
            text = f"{walk.order} was released by a supervisor or expired: stop picking it."
        else:
            who = claim.holder
            text = (
                f"{walk.order} was taken over by {who.name} at {who.station} at "
                f"{clock(claim.since)}. Stop picking it."
            )
        return self._abandon(text)

    def _abandon(self, text: str) -> Reply:
        """End the walk of a list that is no longer this picker's, saying what they picked."""
        walk = self.walk
        self.walk, self.step = Walk(), Step.LIST
        self.answers.clear()
        self.qty.clear()
        line = walk.line
        if walk.picked and line is not None:
            text += f" Put the {walk.picked} x {line.sku} you scanned back in {line.location}."
        picked = sum(r.picked for r in walk.results.values())
        if not picked:
            return self._reply(error(f"{text} Nothing of it was picked here."))
        where = walk.tote or "your tote"
        text += f" What you picked stays in {where} for the new picker's shipment."
        return self._reply(error(text), extra=("Already picked:", *walk.summary()))

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
                f"Scanned {describe(scan)}: {over_pick(line, walk.picked, item, qty)}"
            )
        walk.add(item, qty)
        cases = f"Picked {qty} x {line.sku}{item.packs(qty)}" if item.pack > 1 else ""
        if walk.picked < line.qty:
            so_far = f"{cases}: {walk.picked} of {line.qty} so far." if cases else ""
            return self._reply(ok(so_far or f"Picked {walk.picked} of {what(line)}."))
        command = self._post(line, walk.picked)
        done = ok(f"{cases + '. ' if cases else ''}Line done: {what(line)} from {line.location}.")
        return self._after(done, (command,))

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
            self.leaving_from, self.step = step, Step.LEAVING
            return self._reply(
                warning(
                    f"Leave {walk.order}? CANCEL again keeps its reservations for later; RELEASE "
                    "gives them back to stock."
                )
            )
        if step is Step.LIST and self.claimed:
            self.claimed = None
            return self._reply(ok("Ready for another pick list."))
        return self._reply(ok("Nothing to cancel."))

    def _leaving(self, scan: Interpretation) -> Reply:
        walk, name = self.walk, scan.command
        if scan.kind is Kind.COMMAND and name in (CommandName.CANCEL, CommandName.RELEASE):
            give_back = name is CommandName.RELEASE
            how = ReleaseHow.GIVE_BACK if give_back else ReleaseHow.KEEP
            command = ReleaseList(**signed(self.ctx), order=walk.order, how=how)
            self.walk, self.step = Walk(), Step.LIST
            self.answers.clear()
            if give_back:
                text = f"Left {walk.order}: its reservations go back to stock."
            else:
                text = f"Left {walk.order}: its open lines stay reserved. Scan it to resume."
            return self._reply(warning(text), (command,), extra=walk.summary())
        if scan.kind is Kind.LOCATION and (
            scan.code == walk.tote or (walk.line is not None and scan.code == walk.line.location)
        ):
            self.step = self.leaving_from
            if self.step is Step.BIN and walk.line is not None:
                return self._bin(walk.line, scan.code or "")
            return self._reply(ok(f"Back to {walk.order}."))
        return self._reply(unexpected(scan, EXPECTING[Step.LEAVING]))

    # --- the ledger's answers ---

    def on_outcome(self, command: Command, outcome: Outcome | None) -> Reply:
        walk = self.walk
        if isinstance(command, ReleaseList):
            return self._reply(released(command, outcome))
        if isinstance(command, RaiseCount):
            refused = outcome is not None and not outcome.ok
            return self._reply(late_answer(command, outcome) if refused else None)
        if not self.answers.take(command, outcome):
            return self._reply(late_answer(command, outcome))
        if isinstance(command, TakeList):
            return self._taken(command, outcome)
        if isinstance(command, ReleaseList):
            return self._reply(
                late_answer(command, outcome) if outcome and not outcome.ok else None
            )
        if (
            isinstance(command, PostPick)
            and outcome is not None
            and outcome.reason == Reason.ORDER_CLAIMED
        ):
            walk.posting.pop(command.tx_id, None)
            return self._abandon(f"Pick refused: {outcome.message}")
        if isinstance(command, Reserve) and command.tx_id in walk.reallocations:
            keep_first = self.step in (Step.ITEMS, Step.REASON)
            found = walk.reallocated(command, outcome, self._open_picks, keep_first)
            return self._after(found)
        if isinstance(command, PostPick) and command.tx_id in walk.shorts:
            return self._short_posted(command, outcome)
        if isinstance(command, PostPick):
            return self._after(self.walk.posted(command, outcome))
        return self._reply(late_answer(command, outcome))

    def _short_posted(self, command: PostPick, outcome: Outcome | None) -> Reply:
        walk, ctx = self.walk, self.ctx
        reason, line = walk.shorts.pop(command.tx_id), walk.posting[command.tx_id]
        posted, missing = walk.posted(command, outcome), line.qty - command.qty
        what_missing = f"{missing} x {line.sku} missing for {line.order}/{line.line} ({reason})"
        count = RaiseCount(
            **signed(ctx), location=line.location, reason=f"short pick: {what_missing}"[:64]
        )
        if outcome is not None and not outcome.ok:
            return self._after(posted, (count,))
        walk.result(line.line, line.sku).short += missing
        reserve = elsewhere(signed(ctx), line, missing)
        walk.reallocations.add(reserve.tx_id)
        look = ok(f"{line.location} will be counted; looking for {missing} x {line.sku} elsewhere.")
        return self._after(combine(posted, look), (count, *self.answers.send(reserve)))

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
            release = ReleaseList(**signed(self.ctx), order=walk.order, how=ReleaseHow.FINISHED)
            return self._reply(combine(feedback, done), (*commands, release), extra=walk.summary())
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
            return f"Taking {walk.order}: wait for the ledger."
        if step is Step.LEAVING:
            return (
                f"Leave {walk.order}? CANCEL: keep its reservations. RELEASE: give them back. "
                "Or scan the bin label to go on picking."
            )
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
            if not orders:
                return ()
            more = self.ctx.data.open_order_count() - len(orders)
            extra = f" (and {more} more)" if more > 0 else ""
            return (f"Open pick lists: {', '.join(orders)}{extra}",)
        lines = [f"Pick list {walk.order}" + (f" into {walk.tote}" if walk.tote else "")]
        if line is not None and self.step is not Step.RESERVING:
            lines.extend(walk.progress(line))
        return tuple(lines)


def over_pick(line: PickLine, picked: int, item: Item, qty: int) -> str:
    """Why a scan of `qty` units would pick more than the line needs (nothing is picked)."""
    left = line.qty - picked
    if item.pack > 1:
        cases, units = divmod(left, item.pack)
        ways = [f"{cases} case{'s' if cases > 1 else ''} of {item.pack}"] if cases else []
        ways += (
            [f"{units} single unit{'s' if units > 1 else ''} by their own barcode"] if units else []
        )
        return (
            f"that is {qty} x {line.sku}{item.packs(qty)}, and only {left} more are needed for "
            f"{what(line)}. Nothing was picked: put the {'cases' if qty > item.pack else 'case'} "
            f"back, and pick the {left} left as {' and '.join(ways)}."
        )
    return (
        f"that makes {picked + qty} x {line.sku}, and the line needs {line.qty}. "
        f"Put the extra {picked + qty - line.qty} back."
    )


def released(command: ReleaseList, outcome: Outcome | None) -> Feedback:
    """What letting go of a list did, in the picker's words."""
    if outcome is None:
        return queued(f"Releasing {command.order}")
    if not outcome.ok:
        return error(f"Releasing {command.order} was refused: {outcome.message}.")
    said = f"{outcome.message[:1].upper()}{outcome.message[1:]}."
    if command.how is ReleaseHow.FINISHED:
        return ok(f"Pick list {command.order} complete. {said}")
    return ok(said)
