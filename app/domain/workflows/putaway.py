"""Putaway from the station's dock lane into any bin with room (DESIGN.md section 6): scan what
to put away, go to the suggested bin (or any other), scan the bin. The ledger checks the room; a
full bin keeps the worker at the bin step with the next suggestion. Putaway from the own dock is
safe offline: a putaway left queued in the outbox counts as done.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from app.domain.commands import Command, Putaway
from app.domain.errors import Reason
from app.domain.interpret import CommandName, Interpretation, Kind, StationMode
from app.domain.ledger import Outcome
from app.domain.model import LocationKind, Tracking
from app.domain.workflow import Feedback, Holding, Reply, TagRead, WorkContext, error, ok, warning
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


class PutawayWorkflow:
    """Putaway mode: `PutawayWorkflow(ctx)`."""

    mode = StationMode.PUTAWAY

    def __init__(self, ctx: WorkContext) -> None:
        self.ctx = ctx
        self._qty = Quantity()
        self._task: _Task | None = None
        self._sent: Putaway | None = None
        """The putaway submitted and not yet answered."""

    @property
    def wants_badge(self) -> bool:
        return False

    @property
    def busy(self) -> bool:
        return self._task is not None or self._sent is not None or self._qty.pending is not None

    def start(self) -> Reply:
        return self._reply(None if self.ctx.station.dock else error(self._no_dock()))

    def on_scan(self, scan: Interpretation) -> Reply:
        dock = self.ctx.station.dock
        if scan.kind is Kind.COMMAND:
            return self._command(scan)
        if not dock:
            return self._fail(self._no_dock())
        if self._sent is not None:
            return self._fail(
                f"Scanned {describe(scan)}, but the putaway of {self._sent.qty} x "
                f"{self._sent.sku} is still on its way to the ledger: wait for its answer."
            )
        if self._task is not None:
            if scan.kind is Kind.LOCATION and scan.code:
                return self._bin(self._task, scan.code, dock)
            return self._reply(unexpected(scan, f"the label of the bin for {self._task.what}"))
        if scan.kind in (Kind.ITEM, Kind.LPN):
            return self._item(scan, dock)
        return self._reply(unexpected(scan, f"an item or licence plate on {dock}"))

    def on_entry(self, text: str) -> Reply:
        if self._task is not None:
            return self._fail(self._qty_too_late())
        return self._reply(self._qty.enter(text))

    def on_tags(self, tags: Sequence[TagRead]) -> Reply:
        return no_tags(self._prompt(), tags)

    def on_outcome(self, command: Command, outcome: Outcome | None) -> Reply:
        if not isinstance(command, Putaway):
            return self._reply()
        if self._sent is not None and self._sent.tx_id == command.tx_id:
            self._sent = None
        task = _Task(command.sku, command.lot, command.qty, command.serials, command.suggested)
        into = f"{task.what} into {command.to_location}"
        if outcome is None:
            self._task = None
            return self._reply(queued(f"Putting {into}"))
        if outcome.ok:
            self._task = None
            override = command.suggested and command.suggested != command.to_location
            instead = f" instead of the suggested {command.suggested}" if override else ""
            return self._reply(ok(f"Put {into}{instead}."), (outcome.message,))
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

    def _item(self, scan: Interpretation, dock: str) -> Reply:
        found = resolve_item(self.ctx, scan)
        if isinstance(found, Feedback):
            return self._reply(found)
        sku = found.sku.code
        held = [h for h in self.ctx.data.contents(dock) if h.sku == sku]
        if not held:
            return self._fail(
                f"Scanned {describe(scan)}: {sku} is not on {dock}, so there is none to put "
                f"away. Scan goods that are on {dock}, or receive these first."
            )
        if found.lot is not None:
            of_lot = [h for h in held if h.lot == found.lot]
            if not of_lot:
                return self._fail(
                    f"Scanned {describe(scan)}: {sku} lot {found.lot} is not on {dock} (it "
                    f"holds lots {lots_text(held)}). Scan the label of the goods you took."
                )
            held = of_lot
        elif len({h.lot for h in held}) > 1:
            return self._reply(
                warning(
                    f"{dock} holds {sku} of lots {lots_text(held)}, and this label has no lot. "
                    "Scan the label with the lot (10) of the goods you are putting away."
                ),
                prompt=f"Scan the lot label of the {sku} you are putting away.",
            )
        item = replace(found, lot=held[0].lot)
        on_dock = sum(h.qty for h in held)
        qty = self._qty.peek(item, 1 if item.sku.tracking is Tracking.SERIAL else on_dock)
        problem = tracking_problem(item, qty)
        if problem is not None:
            return self._reply(problem)
        if qty > on_dock:
            self._qty.clear()
            lot = f" lot {item.lot}" if item.lot else ""
            return self._fail(
                f"Scanned {describe(scan)} for {qty} units, but {dock} holds {on_dock} x "
                f"{sku}{lot}. Scan again to put all {on_dock} away, or set a smaller quantity."
            )
        self._qty.take(item)
        serials = (item.serial,) if item.serial else ()
        suggestion = self.ctx.data.suggest_bin(sku, item.lot, qty, self.ctx.station.code)
        self._task = _Task(sku, item.lot, qty, serials, suggestion.location)
        if suggestion.location is None:
            return self._warn(
                f"No bin suggestion: {suggestion.message}. Put the goods into any bin with room "
                "and scan its label."
            )
        return self._reply(None, (suggestion.message,))

    def _bin(self, task: _Task, code: str, dock: str) -> Reply:
        if code == dock:
            return self._fail(
                f"Scanned location {code}: that is the dock the goods come from. Scan the label "
                f"of the bin you put {task.what} into."
            )
        kind = self.ctx.data.location_kind(code)
        if kind != LocationKind.BIN.value:
            return self._fail(
                f"Scanned location {code}: it is {'a ' + kind if kind else 'not known'}, not a "
                f"bin. Scan the label of the bin you put {task.what} into."
            )
        self._sent = Putaway(
            **signed(self.ctx),
            sku=task.sku,
            qty=task.qty,
            lot=task.lot,
            serials=task.serials,
            from_location=dock,
            to_location=code,
            suggested=task.suggested,
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
            return self._ok("Nothing is in progress: putaway is done item by item.")
        step = f"scan the bin for {task.what}, or CANCEL" if task else "scan an item on the dock"
        return self._fail(f"Scanned {describe(scan)}: it does not apply here; {step}.")

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
        if not dock:
            return "Putaway is not possible at this station: switch mode or log out."
        task = self._sent or self._task
        if isinstance(task, Putaway):
            return f"Putting {task.qty} x {task.sku} into {task.to_location}: wait."
        if task is not None:
            where = f"{task.suggested} (suggested)" if task.suggested else "any bin with room"
            return f"Put {task.what} into {where}. Scan the bin."
        qty = f" (quantity {self._qty.pending})" if self._qty.pending is not None else ""
        return f"Scan an item or licence plate on {dock} to put it away{qty}."

    def _reply(
        self,
        feedback: Feedback | None = None,
        lines: tuple[str, ...] = (),
        commands: tuple[Command, ...] = (),
        prompt: str | None = None,
    ) -> Reply:
        return Reply(prompt or self._prompt(), feedback, commands, lines)

    def _ok(self, text: str) -> Reply:
        return self._reply(ok(text))

    def _warn(self, text: str) -> Reply:
        return self._reply(warning(text))

    def _fail(self, text: str) -> Reply:
        return self._reply(error(text))
