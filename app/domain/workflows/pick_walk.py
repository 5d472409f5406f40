"""The walk of one pick list (DESIGN.md section 5): the lines still to pick in path order, what
happened to each order line, and what the ledger's answers to its Reserves and PostPicks mean.

Kept apart from `pick.PickWorkflow`, which decides what the next input does: the walk is plain
bookkeeping, with no scans, steps or station data of its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from app.domain.commands import PostPick, Reserve
from app.domain.errors import Reason
from app.domain.ledger import Outcome
from app.domain.model import Tracking
from app.domain.workflow import Feedback, PickLine, error, ok, warning
from app.domain.workflows.common import Item, Signed, queued, tracking_problem


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

    @property
    def line(self) -> PickLine | None:
        return self.queue[0] if self.queue else None

    def result(self, line: int, sku: str) -> LineResult:
        return self.results.setdefault(line, LineResult(sku))

    def summary(self) -> tuple[str, ...]:
        return tuple(r.summary(n) for n, r in sorted(self.results.items()))

    def resume(self, picks: list[PickLine]) -> None:
        """Walk the order's open pick lines (what TakeList reserved, or reserved before)."""
        self.queue = picks
        for pick in picks:
            self.result(pick.line, pick.sku)

    def add(self, item: Item, qty: int) -> None:
        """`qty` units of the current line picked."""
        self.picked += qty
        if item.serial and item.sku.tracking is Tracking.SERIAL:
            self.serials.append(item.serial)

    def skip(self) -> None:
        """The current line comes last."""
        line = self.queue.pop(0)
        self.queue.append(line)
        self.skipped.add(line.reservation)

    def left(self) -> list[str]:
        """The lines not picked yet, for the picker who tries to finish early."""
        return [f"{what(p)} at {p.location}" for p in self.queue]

    def progress(self, line: PickLine) -> list[str]:
        total = self.finished + len(self.queue)
        return [
            f"Line {self.finished + 1} of {total}: {what(line)} from {line.location}",
            f"Picked {self.picked} of {line.qty}",
        ]

    def post_line(self, line: PickLine, command: PostPick) -> None:
        """The current line (`line`) is posted by `command`: the walk moves on to the next one."""
        self.posting[command.tx_id] = line
        self.done.add(line.reservation)
        self.queue.pop(0)
        self.finished += 1
        self.picked, self.serials = 0, []

    # --- the ledger's answers ---

    def posted(self, command: PostPick, outcome: Outcome | None) -> Feedback:
        line = self.posting.pop(command.tx_id)
        result, picked = self.result(line.line, line.sku), what(line, command.qty)
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

    def reallocated(
        self,
        command: Reserve,
        outcome: Outcome | None,
        open_picks: Callable[[], Sequence[PickLine]],
        keep_first: bool,
    ) -> Feedback:
        """The answer to reserving a short line's missing units elsewhere: the lines it found
        (the order's open picks this walk does not know yet) join the walk in path order."""
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
        self.result(command.line, command.sku).short -= found
        known = self.done | {p.reservation for p in self.queue}
        fresh = [p for p in open_picks() if p.reservation not in known]
        self.queue = merge_in_path_order(self.queue, fresh, self.skipped, keep_first)
        bins = ", ".join(p.location for p in fresh)
        text = f"Found {found} x {command.sku} elsewhere: {len(fresh)} line(s) added ({bins})."
        if found < command.qty:
            return warning(f"{text} {where} is short by {command.qty - found}.")
        return ok(text)


def elsewhere(signature: Signed, line: PickLine, missing: int) -> Reserve:
    """The Reserve of a short line's missing units anywhere but the bin that came up short."""
    return Reserve(
        **signature,
        order=line.order,
        line=line.line,
        sku=line.sku,
        qty=missing,
        allow_partial=True,
        avoid=(line.location,),
    )


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
    """A pick line's quantity, SKU and lot, as the picker reads it: "3 x SKU-A (lot L1)"."""
    lot = f" (lot {line.lot})" if line.lot else ""
    return f"{line.qty if qty is None else qty} x {line.sku}{lot}"
