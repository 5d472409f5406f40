"""The exceptions list (README "A supervisor's day"): everything in the warehouse that waits on
a person, in one list.

An exception is raised by the ledger transaction that made it (a count beyond tolerance, a short
pick, a damaged receipt, ...), in the same database transaction, and decided by a supervisor with
badge and PIN and a reason code: a `Decide` ledger transaction (app/domain/commands.py), which
also does what the decision means for its kind (`EFFECTS`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class ExceptionKind(StrEnum):
    COUNT_VARIANCE = "count_variance"
    """A first count beyond the count tolerance: it waits for a recount by someone else."""
    COUNT_DISAGREEMENT = "count_disagreement"
    """A recount beyond tolerance too: it waits for a supervisor's approval (left for later)."""
    SHORT_PICK = "short_pick"
    """A picker found fewer units in a bin than the ledger said."""
    DAMAGED_RECEIPT = "damaged_receipt"
    """Goods received damaged (into quarantine)."""
    RECEIPT_TOLERANCE = "receipt_tolerance"
    """A receipt closed with what was received outside the receiving tolerances."""
    OVERRIDE = "override"
    """Goods put into another bin than the suggested one, beside a look-alike or another lot."""
    HOLD = "hold"
    """A location or a lot on hold: its stock cannot move until released."""
    REFUSED_LATE = "refused_late"
    """A transaction refused after waiting in a station's queue (an outage): the person who
    scanned it has moved on and does not know."""


class ExceptionState(StrEnum):
    OPEN = "open"
    APPROVED = "approved"
    REJECTED = "rejected"
    RESOLVED = "resolved"
    """Settled by the work itself, not by a decision: the recount was made, the hold released at a
    station, the count approved there by a supervisor."""


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


@dataclass(frozen=True, slots=True)
class ExceptionItem:
    """One exception as a list shows it: what happened, where, who, when, and what it needs."""

    id: int
    kind: ExceptionKind
    state: ExceptionState
    what: str
    """What happened, in words, as it was raised."""
    action: str
    """What it needs from a supervisor (for an open one)."""
    raised_at: datetime
    location: str | None = None
    sku: str | None = None
    lot: str | None = None
    qty: int | None = None
    raised_by: str | None = None
    """The badge of the operator whose transaction raised it."""
    station: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_reason: str | None = None

    @property
    def where(self) -> str:
        return self.location or (f"lot {self.lot}" if self.lot else "")

    @property
    def label(self) -> str:
        return label(self.id)

    @property
    def outcome(self) -> str:
        """How it was settled, in words ("" while it is open)."""
        if self.state is ExceptionState.OPEN:
            return ""
        by = f" by {self.decided_by}" if self.decided_by else ""
        why = f" ({self.decision_reason})" if self.decision_reason else ""
        return f"{self.state.value}{by}{why}"


def label(exception_id: int) -> str:
    """An exception as people name it: E-12."""
    return f"E-{exception_id}"


def parse_label(text: str) -> int:
    """The id of "E-12", "e-12" or "12"; ValueError for anything else."""
    digits = text.strip()
    if digits[:2].upper() == "E-":
        digits = digits[2:]
    if not digits.isascii() or not digits.isdigit():
        raise ValueError(f"{text!r} is not an exception: give its number, as 12 or E-12")
    return int(digits)


class DecisionReason(StrEnum):
    """Why a supervisor decided an exception as they did (a decision's reason code, where it
    is not a count adjustment's or a hold release's own)."""

    RECOUNT = "recount"
    """The count is not trusted: the bin is counted again."""
    CHECKED_OK = "checked_ok"
    """Looked into: the stock and the record are right."""
    VENDOR_ERROR = "vendor_error"
    """The supplier's mistake (a short or over delivery, damaged in transit)."""
    OPERATOR_ERROR = "operator_error"
    """A mistake on the floor (a wrong bin, a miscount, a wrong scan)."""
    DATA_ERROR = "data_error"
    """The master data or the expected receipt was wrong."""
    OTHER = "other"


ADJUST_REASONS = ("count", "damaged", "found", "lost", "expired", "correction")
"""The adjustment reason codes (commands.AdjustReason) an approved count is posted with."""

DECISION_REASONS = tuple(r.value for r in DecisionReason)


@dataclass(frozen=True, slots=True)
class KindRule:
    """What an open exception of one kind needs, what each decision does, and the reason codes
    each decision takes."""

    action: str
    approve_does: str
    reject_does: str
    approve_reasons: tuple[str, ...]
    reject_reasons: tuple[str, ...]

    def reasons(self, decision: Decision) -> tuple[str, ...]:
        return self.approve_reasons if decision is Decision.APPROVE else self.reject_reasons


_COUNT = KindRule(
    action="approve the count (its variance is posted) or reject it (the bin is counted again)",
    approve_does="the saved count is posted as adjustments against the bin's current balance",
    reject_does="the count is discarded and the bin is counted again",
    approve_reasons=ADJUST_REASONS,
    reject_reasons=DECISION_REASONS,
)
_CHECK = KindRule(
    action="approve it as it is, or reject it (its bin is counted)",
    approve_does="accepted as it is",
    reject_does="not accepted: a count of its bin is raised, so that the stock is checked",
    approve_reasons=DECISION_REASONS,
    reject_reasons=DECISION_REASONS,
)

RULES: dict[ExceptionKind, KindRule] = {
    ExceptionKind.COUNT_VARIANCE: _COUNT,
    ExceptionKind.COUNT_DISAGREEMENT: _COUNT,
    ExceptionKind.SHORT_PICK: _CHECK,
    ExceptionKind.DAMAGED_RECEIPT: replace(
        _CHECK, action="inspect the goods in quarantine, then approve or reject the receipt"
    ),
    ExceptionKind.RECEIPT_TOLERANCE: replace(
        _CHECK, action="check the receipt with the vendor, then approve or reject it"
    ),
    ExceptionKind.OVERRIDE: replace(
        _CHECK, action="check the bin for mixed-up goods, then approve or reject the putaway"
    ),
    ExceptionKind.HOLD: KindRule(
        action="inspect the held stock: approve to release it (inspected_ok), or reject to keep "
        "it on hold",
        approve_does="the hold is lifted: its stock may be picked and moved again",
        reject_does="the hold stays",
        approve_reasons=("inspected_ok",),
        reject_reasons=DECISION_REASONS,
    ),
    ExceptionKind.REFUSED_LATE: replace(
        _CHECK, action="tell the operator and redo what was refused, then approve or reject it"
    ),
}
"""Every kind's rule: what it needs, what a decision does, and its reason codes."""

COUNT_KINDS = frozenset({ExceptionKind.COUNT_VARIANCE, ExceptionKind.COUNT_DISAGREEMENT})


def reason_refusal(kind: ExceptionKind, decision: Decision, reason: str) -> str | None:
    """Why `reason` cannot go with this decision on an exception of `kind`, or None."""
    allowed = RULES[kind].reasons(decision)
    if reason in allowed:
        return None
    words = kind.value.replace("_", " ")
    return (
        f"{reason!r} is not a reason to {decision.value} a {words}: give one of "
        f"{', '.join(allowed)}"
    )


class CountedLine(Protocol):
    """A line of a count or of the ledger's position it was made against."""

    @property
    def sku(self) -> str: ...
    @property
    def lot(self) -> str | None: ...
    @property
    def qty(self) -> int: ...


Key = tuple[str, str | None]


def tally(lines: Iterable[CountedLine]) -> dict[Key, int]:
    totals: dict[Key, int] = {}
    for line in lines:
        totals[(line.sku, line.lot)] = totals.get((line.sku, line.lot), 0) + line.qty
    return totals


def count_differences(
    counts: Iterable[CountedLine], snapshot: Iterable[CountedLine]
) -> list[tuple[Key, int, int]]:
    """(SKU and lot, counted, ledger) for every SKU and lot whose count differs, in order."""
    counted, ledger = tally(counts), tally(snapshot)
    keys = sorted(counted.keys() | ledger.keys(), key=lambda k: (k[0], k[1] or ""))
    return [
        (k, counted.get(k, 0), ledger.get(k, 0))
        for k in keys
        if counted.get(k, 0) != ledger.get(k, 0)
    ]


def count_what(
    bin_code: str,
    counter: str,
    counts: Iterable[CountedLine],
    snapshot: Iterable[CountedLine],
    first_by: Sequence[str] = (),
) -> str:
    """A count beyond tolerance as the supervisor's list says it: counted against the ledger,
    per SKU and lot (the supervisor sees what the counter never does). `first_by`: the badges
    whose count a recount follows (none for a first count)."""
    lines = [
        f"{sku}{f' lot {lot}' if lot else ''} counted {n}, ledger {was} ({n - was:+d})"
        for (sku, lot), n, was in count_differences(counts, snapshot)
    ]
    differs = "; ".join(lines) or "no difference left"
    if first_by:
        return (
            f"recount of {bin_code} by {counter} (first count by {', '.join(first_by)}) beyond "
            f"tolerance too, waiting for a supervisor: {differs}"
        )
    return (
        f"count of {bin_code} by {counter} beyond tolerance, waiting for a recount by another "
        f"operator: {differs}"
    )
