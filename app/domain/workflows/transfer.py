"""Transfers (DESIGN.md section 5): move goods from one real location to another.

Scan the source, then the items (several scans, several SKUs or lots if need be), then the
target: one Transfer per SKU and lot. The ledger checks that the source holds them and that a
target bin has room; its refusal is shown as it says. Then the next transfer starts from a source.

Held stock (a quarantine location, a location or lot on hold: domain/holds.py) is not sent as a
Transfer: the station says why it is held and asks for a supervisor's release (workflows/
release.py), as it does when the ledger refuses a transfer because of a hold the station's copy
did not know yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from app.domain.commands import Command, ReleaseHold, Transfer
from app.domain.errors import Reason
from app.domain.interpret import CommandName, Interpretation, Kind, StationMode
from app.domain.ledger import Outcome
from app.domain.model import Tracking
from app.domain.workflow import Entry, Feedback, Reply, TagRead, WorkContext, error, ok, warning
from app.domain.workflows.common import (
    Answers,
    Quantity,
    combine,
    late_answer,
    no_tags,
    queued,
    resolve_item,
    signed,
    tracking_problem,
    unexpected,
)
from app.domain.workflows.release import HeldGoods, Release, release_answer


@dataclass
class Goods:
    """Units of one SKU (and lot) scanned to move; serials for serial-tracked SKUs."""

    sku: str
    lot: str | None
    qty: int = 0
    serials: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        lot = f" lot {self.lot}" if self.lot else ""
        return f"{self.qty} x {self.sku}{lot}"


def moved(command: Command) -> str:
    if not isinstance(command, Transfer):
        return command.kind.value
    lot = f" lot {command.lot}" if command.lot else ""
    where = f"from {command.from_location} to {command.to_location}"
    return f"{command.qty} x {command.sku}{lot} {where}"


class Step(StrEnum):
    SOURCE = "source"
    ITEMS = "items"


class TransferWorkflow:
    """TRANSFER mode: source, items, target."""

    mode = StationMode.TRANSFER

    def __init__(self, ctx: WorkContext) -> None:
        self.ctx = ctx
        self.step = Step.SOURCE
        self.source: str | None = None
        self.goods: dict[tuple[str, str | None], Goods] = {}
        self.scans: list[tuple[tuple[str, str | None], int, str | None]] = []
        self.qty = Quantity()
        self.answers = Answers()
        self.release: Release | None = None
        """A supervisor's release of held goods, under way."""

    @property
    def wants_badge(self) -> bool:
        return self.release is not None and self.release.wants_badge

    @property
    def busy(self) -> bool:
        return self.step is not Step.SOURCE or self.release is not None

    def start(self) -> Reply:
        return self._reply()

    def on_tags(self, tags: Sequence[TagRead]) -> Reply:
        return self._reply(no_tags("", tags).feedback)

    def on_entry(self, text: str) -> Reply:
        if self.release is not None:
            return self._reply(step=self.release.on_entry(text))
        if self.step is not Step.ITEMS:
            return self._reply(error("Scan the source location first; then the keypad sets QTY."))
        return self._reply(self.qty.enter(text))

    def on_scan(self, scan: Interpretation) -> Reply:
        if self.release is not None:
            return self._release_scan(self.release, scan)
        step, kind, code = self.step, scan.kind, scan.code
        if kind is Kind.COMMAND:
            return self._command(scan)
        if step is Step.SOURCE and kind is Kind.LOCATION and code:
            self.source, self.step = code, Step.ITEMS
            held = self.ctx.data.held(code)
            if held:
                return self._reply(
                    warning(
                        f"Moving from {code}. {held[0].upper()}{held[1:]}: what you move from "
                        "it needs a supervisor's release once you scan the target."
                    )
                )
            return self._reply(ok(f"Moving from {code}."))
        if step is Step.ITEMS and kind in (Kind.ITEM, Kind.LPN):
            return self._item(scan)
        if step is Step.ITEMS and kind is Kind.LOCATION and code:
            return self._target(code)
        return self._reply(unexpected(scan, self._expecting()))

    def _command(self, scan: Interpretation) -> Reply:
        name = scan.command
        if name is CommandName.CANCEL:
            self.qty.clear()
            if self.step is Step.SOURCE:
                return self._reply(ok("Nothing to cancel."))
            self._reset()
            return self._reply(warning("Transfer cancelled: nothing was moved."))
        if self.step is Step.ITEMS and name is CommandName.QTY and scan.quantity:
            self.qty.set(scan.quantity)
            return self._reply(ok(f"The next item scan counts {scan.quantity}."))
        if self.step is Step.ITEMS and name is CommandName.UNDO:
            return self._undo()
        return self._reply(unexpected(scan, self._expecting()))

    def _item(self, scan: Interpretation) -> Reply:
        item = resolve_item(self.ctx, scan)
        if isinstance(item, Feedback):
            return self._reply(item)
        qty = self.qty.peek(item)
        problem = tracking_problem(item, qty)
        tracking = item.sku.tracking
        serial = item.serial if tracking is Tracking.SERIAL else None
        key = (item.sku.code, item.lot if tracking is not Tracking.NONE else None)
        goods = self.goods.setdefault(key, Goods(*key))
        if problem is None and serial in goods.serials:
            problem = error(f"Serial {serial} is already scanned: scan the next unit.")
        if problem is not None:
            return self._reply(problem)
        self.qty.take(item)
        goods.qty += qty
        if serial:
            goods.serials.append(serial)
        self.scans.append((key, qty, serial))
        return self._reply(ok(f"{goods} to move."))

    def _undo(self) -> Reply:
        if not self.scans:
            return self._reply(error("Nothing to take back: no item is scanned yet."))
        key, qty, serial = self.scans.pop()
        goods = self.goods[key]
        goods.qty -= qty
        if serial:
            goods.serials.remove(serial)
        if not goods.qty:
            del self.goods[key]
        return self._reply(ok(f"Took back {qty} x {key[0]}."))

    def _target(self, target: str) -> Reply:
        source = self.source
        assert source is not None
        if target == source:
            return self._reply(
                error(
                    f"Scanned location {target}, the source of this transfer: scan the "
                    "location the goods go to."
                )
            )
        goods = [g for g in self.goods.values() if g.qty]
        if not goods:
            return self._reply(
                error(f"Scanned location {target}, but nothing is scanned to move: scan items.")
            )
        held: list[HeldGoods] = []
        for g in goods:
            why = self.ctx.data.held(source, g.sku, g.lot)
            if why is not None:
                held.append(HeldGoods(g.sku, g.lot, g.qty, source, why))
        goods = [g for g in goods if not any((h.sku, h.lot) == (g.sku, g.lot) for h in held)]
        commands = self.answers.send(
            *(
                Transfer(
                    **signed(self.ctx),
                    sku=g.sku,
                    qty=g.qty,
                    lot=g.lot,
                    serials=tuple(g.serials),
                    from_location=source,
                    to_location=target,
                )
                for g in goods
            )
        )
        self._reset()
        if held:
            self.release = Release(self.ctx, held, target)
            rest = " The rest is being moved." if commands else ""
            return self._reply(error(self.release.refusal() + rest), commands)
        return self._reply(commands=commands)

    def _release_scan(self, release: Release, scan: Interpretation) -> Reply:
        if scan.kind is Kind.COMMAND and scan.command is CommandName.CANCEL:
            self.release = None
            listing = " and ".join(str(g) for g in release.goods)
            return self._reply(
                warning(f"Nothing released: {listing} stay held in {release.goods[0].source}.")
            )
        step = release.on_scan(scan)
        if isinstance(step, Reply):
            return self._reply(step=step)
        self.release = None
        return self._reply(commands=self.answers.send(*step))

    def on_outcome(self, command: Command, outcome: Outcome | None) -> Reply:
        answers = self.answers
        if not answers.take(command, outcome):
            return self._reply(late_answer(command, outcome))
        if not answers.complete:
            return self._reply()
        feedback = combine(
            *(self._answer(c, o) for c, o in answers.confirmed),
            *(self._answer(c, o) for c, o in answers.refused),
            *(self._answer(c, None) for c in answers.queued),
        )
        held = [
            (c, o)
            for c, o in answers.refused
            if isinstance(c, Transfer) and o.reason == Reason.HELD.value
        ]
        answers.clear()
        if held and self.release is None and self.step is Step.SOURCE:
            # The station's copy did not know of the hold yet: the same release as if it had.
            goods = [HeldGoods(c.sku, c.lot, c.qty, c.from_location, o.message) for c, o in held]
            self.release = Release(self.ctx, goods, held[0][0].to_location)
            return self._reply(
                combine(feedback, warning("A supervisor may release it: scan your badge."))
            )
        return self._reply(feedback)

    def _reset(self) -> None:
        self.step, self.source = Step.SOURCE, None
        self.goods, self.scans = {}, []

    def _expecting(self) -> str:
        if self.step is Step.SOURCE:
            return "the source location"
        return "an item to move, or the target location"

    def _reply(
        self,
        feedback: Feedback | None = None,
        commands: tuple[Command, ...] = (),
        step: Reply | None = None,
    ) -> Reply:
        """The next prompt: the release's while one is under way (`step`: its own reply)."""
        if self.release is not None:
            shown = step or self.release.prompt(feedback)
            feedback = combine(feedback, step.feedback) if step else feedback
            return Reply(shown.prompt, feedback, commands, shown.lines, shown.entry)
        if self.step is Step.SOURCE:
            return Reply("Scan the location to move goods from.", feedback, commands)
        goods = [str(g) for g in self.goods.values() if g.qty]
        lines = (f"From {self.source}", *goods)
        prompt = f"Scan the items to move from {self.source} (QTY: several), then the target."
        return Reply(prompt, feedback, commands, lines, Entry.QUANTITY)

    def _answer(self, command: Command, outcome: Outcome | None) -> Feedback:
        """What the station says of the ledger's answer to a transfer or a release."""
        if isinstance(command, ReleaseHold):
            return release_answer(command, outcome, self.ctx.data)
        return _moved_answer(command, outcome)


def _moved_answer(command: Command, outcome: Outcome | None) -> Feedback:
    if outcome is None:
        return queued(f"Moving {moved(command)}")
    if outcome.ok:
        return ok(f"Moved {moved(command)}.")
    return error(f"Moving {moved(command)} was refused: {outcome.message}. Nothing of it moved.")
