"""Putaway from the station's dock lane into any bin with room (DESIGN.md section 6): scan what
to put away, go to the suggested bin (or any other), scan the bin. The ledger checks the room; a
full bin keeps the worker at the bin step with the next suggestion. Putaway from the own dock is
safe offline: a putaway left queued in the outbox counts as done.

The screen also lists the picked goods of cancelled orders still in outbound or staging
locations (StationData.putbacks). Scanning such a location makes it the source instead of the
dock: the goods are put back into a bin the same way, each Putaway naming the cancelled order, so
the ledger attributes the move to its order line. DONE (or a scan of the dock) goes back to the
dock.

How many: an item scan takes everything of it on the dock (or the quantity set before the scan),
and the suggestion answers how many of those one bin takes: the task is that many ("Put 150 of
400 x SKU into A-01 (suggested)"); QTY or the keypad at the bin step changes it, up to what the
dock holds. What no single bin takes goes bin by bin: each putaway done takes the rest as the next
task at once, with a new suggestion, until all is put away or no bin has room (the rest stays on
the dock, and the station says so). A quantity set before a refused item scan goes with the
refusal. CONFIRM is no bin scan: the station must know where the goods went.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace

from app.domain.commands import Command, HoldBin, Putaway
from app.domain.errors import Reason
from app.domain.interpret import CommandName, Interpretation, Kind, StationMode
from app.domain.ledger import Outcome
from app.domain.model import LocationKind, Tracking
from app.domain.ports import DatabaseUnavailable
from app.domain.workflow import (
    Entry,
    Feedback,
    Holding,
    Putback,
    Reply,
    TagRead,
    WorkContext,
    error,
    ok,
    warning,
)
from app.domain.workflows.common import (
    Quantity,
    combine,
    describe,
    no_tags,
    parse_quantity,
    queued,
    resolve_item,
    signed,
    tracking_problem,
    unexpected,
)


@dataclass(frozen=True, slots=True)
class _Task:
    """Goods taken off the dock, on their way to a bin."""

    sku: str
    lot: str | None
    qty: int
    """Units for this bin."""
    serials: tuple[str, ...]
    suggested: str | None
    source: str
    """Where the goods come from: the dock, or an outbound location holding a cancelled
    order's picks."""
    order: str | None = None
    """The cancelled order the goods were picked for."""
    rest: int = 0
    """Units of the same goods still to put away after these, into the next bins."""
    there: int = 1
    """Units of the goods in the source when the task was taken: the most one bin may get."""
    room: int | None = None
    """Units the suggested bin is held for (None: no hold is known)."""

    @property
    def goods(self) -> str:
        return f"{self.sku} lot {self.lot}" if self.lot else self.sku

    @property
    def what(self) -> str:
        serial = f" serial {self.serials[0]}" if len(self.serials) == 1 else ""
        return f"{self.qty} x {self.goods}{serial}"

    @property
    def portion(self) -> str:
        """ "150 of 400 x SKU" while more goods follow this bin, else `what`."""
        return f"{self.qty} of {self.qty + self.rest} x {self.goods}" if self.rest else self.what

    @property
    def asks(self) -> bool:
        """How many is the worker's to change: the source holds more than one unit of it (and
        serial-tracked units go one scan each)."""
        return self.there > 1 and not self.serials


@dataclass(frozen=True, slots=True)
class _Asking:
    """A bin suggestion asked for and not yet answered, and why it was asked."""

    command: HoldBin
    before: Feedback | None = None
    """What the step that asked said (a putaway just done, a quantity changed): shown with the
    answer."""
    rest: bool = False
    """Asked for the rest of a split: when no bin has room, the rest stays where it is."""
    changed: bool = False
    """Asked for a quantity the worker set at the bin step: a split of it is said."""


def lots_text(holdings: Sequence[Holding]) -> str:
    """no lot, L1, L2": the lots a location holds of one SKU."""
    lots = sorted({h.lot or "" for h in holdings})
    return ", ".join(lot or "no lot" for lot in lots)


def next_suggestion(result: Mapping[str, object]) -> str | None:
    """The first bin a bin_full refusal suggests instead (see services.ledger._check_room)."""
    suggestions = result.get("suggestions")
    if isinstance(suggestions, list) and suggestions and isinstance(suggestions[0], Mapping):
        location = suggestions[0].get("location")
        return location if isinstance(location, str) else None
    return None


PUTBACK_LIMIT = 50
"""Cancelled orders' goods read at a time (the screen shows the first PUTBACK_LINES)."""
PUTBACK_LINES = 5


def putback_text(putback: Putback) -> str:
    """ "Cancelled SO-7: 3 x BOLT in OUT-1", one line of the putaway screen."""
    lot = f" lot {putback.lot}" if putback.lot else ""
    return f"Cancelled {putback.order}: {putback.qty} x {putback.sku}{lot} in {putback.location}"


class PutawayWorkflow:
    """Putaway mode: `PutawayWorkflow(ctx)`."""

    mode = StationMode.PUTAWAY

    def __init__(self, ctx: WorkContext) -> None:
        self.ctx = ctx
        self._qty = Quantity()
        self._task: _Task | None = None
        self._sent: Putaway | None = None
        """The putaway submitted and not yet answered."""
        self._source: str | None = None
        """An outbound location chosen to put a cancelled order's goods back from (None: the
        dock)."""
        self._asking: _Asking | None = None
        """The bin suggestion asked for and not yet answered."""
        self._putbacks: list[Putback] = []
        """Cancelled orders' goods waiting in outbound locations, as last read."""

    @property
    def wants_badge(self) -> bool:
        return False

    @property
    def busy(self) -> bool:
        return self._task is not None or self._sent is not None or self._qty.pending is not None

    def start(self) -> Reply:
        self._refresh()
        idle = self.ctx.station.dock or self._putbacks
        return self._reply(None if idle else error(self._no_dock()))

    def on_scan(self, scan: Interpretation) -> Reply:
        if scan.kind is Kind.COMMAND:
            return self._command(scan)
        if self._sent is not None:
            return self._fail(self._on_its_way(f"Scanned {describe(scan)}, but"))
        if self._task is not None:
            if scan.kind is Kind.LOCATION and scan.code:
                return self._bin(self._task, scan.code)
            return self._reply(unexpected(scan, f"the label of the bin for {self._task.what}"))
        if scan.kind is Kind.LOCATION and scan.code:
            return self._choose_source(scan.code)
        source = self._source or self.ctx.station.dock
        if not source:
            return self._refuse(error(self._no_dock()))
        if scan.kind in (Kind.ITEM, Kind.LPN):
            return self._item(scan, source)
        return self._refuse(unexpected(scan, f"an item or licence plate on {source}"))

    def on_entry(self, text: str) -> Reply:
        if self._task is not None:
            qty = parse_quantity(text)
            if isinstance(qty, Feedback):
                return self._reply(qty)
            return self._change(self._task, qty)
        return self._reply(self._qty.enter(text))

    def on_tags(self, tags: Sequence[TagRead]) -> Reply:
        return no_tags(self._prompt(), tags)

    def on_outcome(self, command: Command, outcome: Outcome | None) -> Reply:
        if isinstance(command, HoldBin):
            return self._suggested(command, outcome)
        if not isinstance(command, Putaway):
            return self._reply()
        mine = self._sent is not None and self._sent.tx_id == command.tx_id
        if mine:
            self._sent = None
        task = _Task(
            command.sku,
            command.lot,
            command.qty,
            command.serials,
            command.suggested,
            command.from_location,
            command.order,
        )
        if mine and self._task is not None:
            task = self._task
        into = f"{task.what} into {command.to_location}"
        if outcome is not None and not outcome.ok:
            return self._refused(task, command, outcome, into)
        self._task = None
        if outcome is None:
            done = queued(f"Putting {into}")
            lines: tuple[str, ...] = ()
        else:
            override = command.suggested and command.suggested != command.to_location
            instead = f" instead of the suggested {command.suggested}" if override else ""
            back = f", back from cancelled {command.order}" if command.order else ""
            done = ok(f"Put {into}{instead}{back}.")
            lines = (outcome.message,)
        rest = self._rest(task) if task.rest else None
        if rest is not None:
            more = f" Next: the other {rest.qty} x {rest.goods}."
            return self._ask(rest, Feedback(done.level, done.text + more), lines, rest=True)
        if outcome is None:
            return self._reply(done)
        self._refresh()
        if self._source is not None and not self._here(self._source):
            emptied, self._source = self._source, None
            where = self.ctx.station.dock or "the dock"
            done = ok(
                f"{done.text} Nothing of cancelled orders is left in {emptied}: back to {where}."
            )
        return self._reply(done, lines)

    def _refused(self, task: _Task, command: Putaway, outcome: Outcome, into: str) -> Reply:
        if outcome.reason == Reason.BIN_FULL.value:
            # Stay at the bin step. When the worker took the suggestion (or had none), the
            # ledger's next bin becomes the suggestion (nothing held there); an override keeps
            # the station's own.
            if command.suggested in (None, command.to_location):
                task = replace(task, suggested=next_suggestion(outcome.result), room=None)
            self._task = task
            return self._fail(f"{command.to_location}: {outcome.message}. Scan another bin.")
        self._task = None
        return self._fail(
            f"Putting {into} was refused: {outcome.message}. Nothing moved; scan the item "
            "again, or call a supervisor."
        )

    # --- steps ---

    def _choose_source(self, code: str) -> Reply:
        """A location scanned with nothing in hand: an outbound location holding a cancelled
        order's goods becomes the source; the dock goes back to the dock."""
        dock = self.ctx.station.dock
        if code == dock:
            self._source = None
            return self._ok(f"Putting away from {dock}: scan an item on it.")
        self._refresh()
        here = self._here(code)
        if here:
            self._source = code
            orders = ", ".join(dict.fromkeys(p.order for p in here))
            return self._ok(
                f"{code} holds picked goods of cancelled {orders}: scan an item to put it back "
                "into a bin."
            )
        on = f"on {self._source or dock}" if self._source or dock else "in an outbound location"
        return self._refuse(
            error(
                f"Scanned location {code}, but no goods of a cancelled order wait there and the "
                f"item comes before the bin. Scan an item {on} first."
            )
        )

    def _item(self, scan: Interpretation, source: str) -> Reply:
        found = resolve_item(self.ctx, scan)
        if isinstance(found, Feedback):
            return self._refuse(found)
        sku = found.sku.code
        orders: dict[str | None, str] = {}
        if self._source is None:
            held = [h for h in self.ctx.data.contents(source) if h.sku == sku]
        else:
            # One cancelled order per putaway: per lot, the first order's goods.
            held = []
            for p in self._here(source):
                if p.sku == sku and p.lot not in orders:
                    orders[p.lot] = p.order
                    held.append(Holding(p.sku, p.lot, p.qty))
        if not held:
            if self._source is not None:
                return self._refuse(
                    error(
                        f"Scanned {describe(scan)}: {sku} is not among the cancelled orders' "
                        f"goods in {source}. Scan one of those (listed below), or DONE to go "
                        "back to the dock."
                    )
                )
            return self._refuse(
                error(
                    f"Scanned {describe(scan)}: {sku} is not on {source}, so there is none to "
                    f"put away. Scan goods that are on {source}, or receive these first."
                )
            )
        if found.lot is not None:
            of_lot = [h for h in held if h.lot == found.lot]
            if not of_lot:
                return self._refuse(
                    error(
                        f"Scanned {describe(scan)}: {sku} lot {found.lot} is not on {source} "
                        f"(it holds lots {lots_text(held)}). Scan the label of the goods you "
                        "took."
                    )
                )
            held = of_lot
        elif len({h.lot for h in held}) > 1:
            return self._refuse(
                warning(
                    f"{source} holds {sku} of lots {lots_text(held)}, and this label has no lot. "
                    "Scan the label with the lot (10) of the goods you are putting away."
                ),
                prompt=f"Scan the lot label of the {sku} you are putting away.",
            )
        item = replace(found, lot=held[0].lot)
        there = sum(h.qty for h in held)
        qty = self._qty.peek(item, 1 if item.sku.tracking is Tracking.SERIAL else there)
        problem = tracking_problem(item, qty)
        if problem is not None:
            return self._refuse(problem)
        if qty > there:
            lot = f" lot {item.lot}" if item.lot else ""
            return self._refuse(
                error(
                    f"Scanned {describe(scan)} for {qty} units, but {source} holds {there} x "
                    f"{sku}{lot}. Scan again to put all {there} away, or set a smaller quantity."
                )
            )
        self._qty.take(item, qty)
        serials = (item.serial,) if item.serial else ()
        order = orders.get(item.lot)
        return self._ask(_Task(sku, item.lot, qty, serials, None, source, order, there=there))

    def _ask(
        self,
        task: _Task,
        before: Feedback | None = None,
        lines: tuple[str, ...] = (),
        *,
        rest: bool = False,
        changed: bool = False,
    ) -> Reply:
        """Take `task` and ask the ledger for a bin for it. The suggestion holds room in a bin:
        a transaction, sent now or not at all (EPHEMERAL)."""
        self._task = task
        hold = HoldBin(**signed(self.ctx), sku=task.sku, qty=task.qty, lot=task.lot)
        self._asking = _Asking(hold, before, rest, changed)
        return self._reply(before, lines, commands=(hold,))

    def _suggested(self, command: HoldBin, outcome: Outcome | None) -> Reply:
        task, asking = self._task, self._asking
        if asking is None or command.tx_id != asking.command.tx_id or task is None:
            return self._reply()
        self._asking = None
        before = asking.before
        result = outcome.result if outcome is not None and outcome.ok else {}
        held = result.get("location")
        if outcome is None or not isinstance(held, str):
            if outcome is not None and outcome.ok and asking.rest:
                self._task = None
                left = task.qty + task.rest
                return self._reply(
                    combine(
                        before,
                        warning(
                            f"No bin has room for the other {left} x {task.goods}: they stay "
                            f"on {task.source}. Tell a supervisor."
                        ),
                    )
                )
            if outcome is not None and outcome.ok:  # no bin has room for even one unit
                advice = (
                    "If you know a bin with room, put them there and scan its label; else leave "
                    f"them on {task.source} and tell a supervisor."
                )
                why = outcome.message
            else:
                advice = "Put the goods into any bin with room and scan its label."
                why = "the database is out of reach"
                if outcome is not None and outcome.reason != Reason.OFFLINE.value:
                    why = outcome.message
            return self._reply(combine(before, warning(f"No bin suggestion: {why}. {advice}")))
        units = result.get("units")
        if not isinstance(units, int) or not 0 < units < task.qty:
            units = task.qty  # the bin takes them all
        split = replace(
            task, qty=units, rest=task.rest + task.qty - units, suggested=held, room=units
        )
        self._task = split
        if units < task.qty and asking.changed:
            before = combine(
                before,
                warning(
                    f"No bin has room for all {task.qty} x {task.goods}: {held} takes {units}, "
                    "the rest follows bin by bin."
                ),
            )
        also = [str(code) for code in result.get("also") or () if code != held]
        more = f" (also: {', '.join(also)})" if also else ""
        return self._reply(before, (f"{held}: {result.get('why') or ''}{more}",))

    def _change(self, task: _Task, qty: int) -> Reply:
        """QTY or the keypad at the bin step: how many go into this bin (at most what the source
        holds); the rest of the goods taken follows. A bin held for fewer is asked anew."""
        if self._sent is not None:
            return self._fail(self._on_its_way(f"Quantity {qty} not taken:"))
        if task.serials and qty != 1:
            return self._fail(
                f"Quantity {qty} not taken: {task.sku} is tracked by serial number, one unit at a "
                f"time. Scan the bin for {task.what}."
            )
        if qty > task.there:
            return self._fail(
                f"Quantity {qty} not taken: {task.source} holds {task.there} x {task.goods}. "
                f"Enter at most {task.there}, or scan the bin for {task.what}."
            )
        changed = replace(task, qty=qty, rest=max(task.qty + task.rest - qty, 0))
        if task.suggested is not None and task.room is not None and qty <= task.room:
            self._task = changed
            return self._ok(f"Quantity {qty}: put {changed.portion} into {task.suggested}.")
        changed = replace(changed, suggested=None, room=None)
        return self._ask(changed, ok(f"Quantity {qty} set for this bin."), changed=True)

    def _rest(self, task: _Task) -> _Task | None:
        """The next task of a split after `task` went into its bin: the rest, at most what the
        source still holds of the goods (None: nothing is left to put away)."""
        if task.order is None:
            try:
                held = self.ctx.data.contents(task.source)
            except DatabaseUnavailable:
                there = task.there - task.qty
            else:
                there = sum(h.qty for h in held if h.sku == task.sku and h.lot == task.lot)
        else:
            self._refresh()
            there = sum(
                p.qty
                for p in self._here(task.source)
                if (p.order, p.sku, p.lot) == (task.order, task.sku, task.lot)
            )
        qty = min(task.rest, there)
        if qty <= 0:
            return None
        return _Task(task.sku, task.lot, qty, (), None, task.source, task.order, there=there)

    def _bin(self, task: _Task, code: str) -> Reply:
        if code == task.source:
            what = "the dock" if task.order is None else "the location"
            return self._fail(
                f"Scanned location {code}: that is {what} the goods come from. Scan the label "
                f"of the bin you put {task.what} into."
            )
        kind = self.ctx.data.location_kind(code)
        if kind != LocationKind.BIN.value:
            return self._fail(
                f"Scanned location {code}: it is {'a ' + kind if kind else 'not known'}, not a "
                f"bin. Scan the label of the bin you put {task.what} into."
            )
        full = self.ctx.data.bin_room(code, task.sku, task.qty)
        if full is not None:
            return self._fail(f"{full}. Take {task.what} to another bin and scan its label.")
        self._sent = Putaway(
            **signed(self.ctx),
            sku=task.sku,
            qty=task.qty,
            lot=task.lot,
            serials=task.serials,
            from_location=task.source,
            to_location=code,
            suggested=task.suggested,
            order=task.order,
        )
        return self._reply(commands=(self._sent,))

    def _command(self, scan: Interpretation) -> Reply:
        name, task = scan.command, self._task
        if name in (CommandName.CANCEL, CommandName.UNDO):
            if task is not None:
                self._task = self._asking = None
                return self._ok(f"Putaway of {task.portion} cancelled; nothing moved.")
            if self._qty.pending is not None:
                self._qty.clear()
                return self._ok("Quantity taken back.")
            if self._source is not None:
                return self._back_to_dock()
            return self._fail(f"Nothing to {name.lower()}: no quantity or putaway is pending.")
        if name is CommandName.CONFIRM and task is not None:
            where = f" ({task.suggested} is suggested)" if task.suggested else ""
            return self._fail(
                f"CONFIRM is not a bin scan: scan the label of the bin you put {task.what} "
                f"into{where}, so the station knows where the goods are."
            )
        if name is CommandName.QTY and scan.quantity:
            if task is not None:
                return self._change(task, scan.quantity)
            self._qty.set(scan.quantity)
            return self._ok(f"Quantity {scan.quantity} set for the next item scan.")
        if name is CommandName.DONE and task is None:
            if self._source is not None:
                return self._back_to_dock()
            return self._ok("Nothing is in progress: putaway is done item by item.")
        if task is not None:
            return self._fail(
                f"Scanned {describe(scan)}: it does not apply here; scan the bin for "
                f"{task.what}, or CANCEL."
            )
        source = self._source or "the dock"
        return self._refuse(
            error(f"Scanned {describe(scan)}: it does not apply here; scan an item on {source}.")
        )

    def _back_to_dock(self) -> Reply:
        left, self._source = self._source, None
        dock = self.ctx.station.dock
        back = f"scan an item on {dock}" if dock else "scan another outbound location"
        return self._ok(f"Stopped putting back from {left}: {back}.")

    # --- cancelled orders' goods ---

    def _refresh(self) -> None:
        """Read the cancelled orders' goods again (offline: keep the list last read, so that
        putaway from the own dock carries on)."""
        with suppress(DatabaseUnavailable):
            self._putbacks = self.ctx.data.putbacks(PUTBACK_LIMIT)

    def _here(self, location: str) -> list[Putback]:
        return [p for p in self._putbacks if p.location == location]

    def _putback_lines(self) -> tuple[str, ...]:
        shown = [putback_text(p) for p in self._putbacks[:PUTBACK_LINES]]
        more = len(self._putbacks) - len(shown)
        if more > 0:
            shown.append(f"... and {more} more of cancelled orders")
        return tuple(shown)

    # --- what the station shows ---

    def _no_dock(self) -> str:
        return (
            f"Station {self.ctx.station.code} has no dock lane, so there is nothing to put away "
            "from. Ask a supervisor to give it one, or put away at a dock station."
        )

    def _on_its_way(self, start: str) -> str:
        assert self._sent is not None
        return (
            f"{start} the putaway of {self._sent.qty} x {self._sent.sku} is still on its way to "
            "the ledger: wait for its answer."
        )

    def _prompt(self) -> str:
        dock = self.ctx.station.dock
        source = self._source or dock
        if not source and not self._putbacks:
            return "Putaway is not possible at this station: switch mode or log out."
        if self._sent is not None:
            sent = self._sent
            return f"Putting {sent.qty} x {sent.sku} into {sent.to_location}: wait."
        task = self._task
        if task is not None:
            where = f"{task.suggested} (suggested)" if task.suggested else "any bin with room"
            how = "; QTY or the keypad changes how many" if task.asks else ""
            return f"Put {task.portion} into {where}. Scan the bin{how}."
        qty = f" (quantity {self._qty.pending})" if self._qty.pending is not None else ""
        if self._source is not None:
            return f"Scan an item in {self._source} to put it back into a bin{qty}; DONE to stop."
        if not dock:
            return f"Scan an outbound location listed below to put its goods back{qty}."
        return f"Scan an item or licence plate on {dock} to put it away{qty}."

    def _reply(
        self,
        feedback: Feedback | None = None,
        lines: tuple[str, ...] = (),
        commands: tuple[Command, ...] = (),
        prompt: str | None = None,
    ) -> Reply:
        if self._task is None and self._sent is None:
            lines = (*lines, *self._putback_lines())
        asks = self._task is not None and self._sent is None and self._task.asks
        entry = Entry.QUANTITY if asks else None
        return Reply(prompt or self._prompt(), feedback, commands, lines, entry)

    def _refuse(self, feedback: Feedback, prompt: str | None = None) -> Reply:
        """A refused input at the item step: a quantity set for the next item goes with it, so
        that it never applies to goods it was not meant for."""
        pending = self._qty.pending
        if pending is not None:
            self._qty.clear()
            feedback = Feedback(
                feedback.level,
                f"{feedback.text} Quantity {pending} cleared with it: set it again before the "
                "next item scan.",
            )
        return self._reply(feedback, prompt=prompt)

    def _ok(self, text: str) -> Reply:
        return self._reply(ok(text))

    def _fail(self, text: str) -> Reply:
        return self._reply(error(text))
