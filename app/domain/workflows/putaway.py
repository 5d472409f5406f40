"""Putaway from the station's dock lane into any bin with room (DESIGN.md section 6): scan what
to put away, go to the suggested bin (or any other), scan the bin. The ledger checks the room; a
full bin keeps the worker at the bin step with the next suggestion. Putaway from the own dock is
safe offline: a putaway left queued in the outbox counts as done.

The screen also lists the picked goods of cancelled orders still in outbound or staging
locations (StationData.putbacks). Scanning such a location makes it the source instead of the
dock: the goods are put back into a bin the same way, each Putaway naming the cancelled order, so
the ledger attributes the move to its order line. DONE (or a scan of the dock) goes back to the
dock.
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
    describe,
    no_tags,
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
    serials: tuple[str, ...]
    suggested: str | None
    source: str
    """Where the goods come from: the dock, or an outbound location holding a cancelled
    order's picks."""
    order: str | None = None
    """The cancelled order the goods were picked for."""

    @property
    def what(self) -> str:
        lot = f" lot {self.lot}" if self.lot else ""
        serial = f" serial {self.serials[0]}" if len(self.serials) == 1 else ""
        return f"{self.qty} x {self.sku}{lot}{serial}"


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
        self._asking: HoldBin | None = None
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
            return self._fail(
                f"Scanned {describe(scan)}, but the putaway of {self._sent.qty} x "
                f"{self._sent.sku} is still on its way to the ledger: wait for its answer."
            )
        if self._task is not None:
            if scan.kind is Kind.LOCATION and scan.code:
                return self._bin(self._task, scan.code)
            return self._reply(unexpected(scan, f"the label of the bin for {self._task.what}"))
        if scan.kind is Kind.LOCATION and scan.code:
            return self._choose_source(scan.code)
        source = self._source or self.ctx.station.dock
        if not source:
            return self._fail(self._no_dock())
        if scan.kind in (Kind.ITEM, Kind.LPN):
            return self._item(scan, source)
        return self._reply(unexpected(scan, f"an item or licence plate on {source}"))

    def on_entry(self, text: str) -> Reply:
        if self._task is not None:
            return self._fail(self._qty_too_late())
        return self._reply(self._qty.enter(text))

    def on_tags(self, tags: Sequence[TagRead]) -> Reply:
        return no_tags(self._prompt(), tags)

    def on_outcome(self, command: Command, outcome: Outcome | None) -> Reply:
        if isinstance(command, HoldBin):
            return self._suggested(command, outcome)
        if not isinstance(command, Putaway):
            return self._reply()
        if self._sent is not None and self._sent.tx_id == command.tx_id:
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
        into = f"{task.what} into {command.to_location}"
        if outcome is None:
            self._task = None
            return self._reply(queued(f"Putting {into}"))
        if outcome.ok:
            self._task = None
            override = command.suggested and command.suggested != command.to_location
            instead = f" instead of the suggested {command.suggested}" if override else ""
            back = f", back from cancelled {command.order}" if command.order else ""
            done = ok(f"Put {into}{instead}{back}.")
            self._refresh()
            if self._source is not None and not self._here(self._source):
                emptied, self._source = self._source, None
                where = self.ctx.station.dock or "the dock"
                done = ok(
                    f"{done.text} Nothing of cancelled orders is left in {emptied}: "
                    f"back to {where}."
                )
            return self._reply(done, (outcome.message,))
        if outcome.reason == Reason.BIN_FULL.value:
            # Stay at the bin step. When the worker took the suggestion (or had none), the
            # ledger's next bin becomes the suggestion; an override keeps the station's own.
            if command.suggested in (None, command.to_location):
                task = replace(task, suggested=next_suggestion(outcome.result))
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
        return self._fail(
            f"Scanned location {code}, but no goods of a cancelled order wait there and the "
            f"item comes before the bin. Scan an item {on} first."
        )

    def _item(self, scan: Interpretation, source: str) -> Reply:
        found = resolve_item(self.ctx, scan)
        if isinstance(found, Feedback):
            return self._reply(found)
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
                return self._fail(
                    f"Scanned {describe(scan)}: {sku} is not among the cancelled orders' goods "
                    f"in {source}. Scan one of those (listed below), or DONE to go back to "
                    "the dock."
                )
            return self._fail(
                f"Scanned {describe(scan)}: {sku} is not on {source}, so there is none to put "
                f"away. Scan goods that are on {source}, or receive these first."
            )
        if found.lot is not None:
            of_lot = [h for h in held if h.lot == found.lot]
            if not of_lot:
                return self._fail(
                    f"Scanned {describe(scan)}: {sku} lot {found.lot} is not on {source} (it "
                    f"holds lots {lots_text(held)}). Scan the label of the goods you took."
                )
            held = of_lot
        elif len({h.lot for h in held}) > 1:
            return self._reply(
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
            return self._reply(problem)
        if qty > there:
            self._qty.clear()
            lot = f" lot {item.lot}" if item.lot else ""
            return self._fail(
                f"Scanned {describe(scan)} for {qty} units, but {source} holds {there} x "
                f"{sku}{lot}. Scan again to put all {there} away, or set a smaller quantity."
            )
        self._qty.take(item)
        serials = (item.serial,) if item.serial else ()
        order = orders.get(item.lot)
        self._task = _Task(sku, item.lot, qty, serials, None, source, order)
        # The suggestion holds room in a bin: a transaction, sent now or not at all (EPHEMERAL).
        self._asking = HoldBin(**signed(self.ctx), sku=sku, qty=qty, lot=item.lot)
        return self._reply(commands=(self._asking,))

    def _suggested(self, command: HoldBin, outcome: Outcome | None) -> Reply:
        task = self._task
        if self._asking is None or command.tx_id != self._asking.tx_id or task is None:
            return self._reply()
        self._asking = None
        held = outcome.result.get("location") if outcome is not None and outcome.ok else None
        if outcome is None or not isinstance(held, str):
            why = "the database is out of reach" if outcome is None else outcome.message
            if outcome is not None and outcome.reason == Reason.OFFLINE.value:
                why = "the database is out of reach"
            return self._warn(
                f"No bin suggestion: {why}. Put the goods into any bin with room and scan its "
                "label."
            )
        self._task = replace(task, suggested=held)
        also = [str(code) for code in outcome.result.get("also") or () if code != held]
        more = f" (also: {', '.join(also)})" if also else ""
        return self._reply(None, (f"{held}: {outcome.result.get('why') or ''}{more}",))

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
                self._task = None
                return self._ok(f"Putaway of {task.what} cancelled; nothing moved.")
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
                return self._fail(self._qty_too_late())
            self._qty.set(scan.quantity)
            return self._ok(f"Quantity {scan.quantity} set for the next item scan.")
        if name is CommandName.DONE and task is None:
            if self._source is not None:
                return self._back_to_dock()
            return self._ok("Nothing is in progress: putaway is done item by item.")
        source = self._source or "the dock"
        step = f"scan the bin for {task.what}, or CANCEL" if task else f"scan an item on {source}"
        return self._fail(f"Scanned {describe(scan)}: it does not apply here; {step}.")

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

    def _qty_too_late(self) -> str:
        assert self._task is not None
        return (
            f"The quantity goes before the item scan, and {self._task.what} is already taken. "
            "Scan the bin, or CANCEL and scan the item again with the new quantity."
        )

    def _prompt(self) -> str:
        dock = self.ctx.station.dock
        source = self._source or dock
        if not source and not self._putbacks:
            return "Putaway is not possible at this station: switch mode or log out."
        task = self._sent or self._task
        if isinstance(task, Putaway):
            return f"Putting {task.qty} x {task.sku} into {task.to_location}: wait."
        if task is not None:
            where = f"{task.suggested} (suggested)" if task.suggested else "any bin with room"
            return f"Put {task.what} into {where}. Scan the bin."
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
        return Reply(prompt or self._prompt(), feedback, commands, lines)

    def _ok(self, text: str) -> Reply:
        return self._reply(ok(text))

    def _warn(self, text: str) -> Reply:
        return self._reply(warning(text))

    def _fail(self, text: str) -> Reply:
        return self._reply(error(text))
