"""Ledger rules: what a transaction may take from a location, outcomes, and invariants.

These functions are pure: the services call them with rows the database has locked, and the
model-based tests call them with a plain-Python ledger.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from app.domain.errors import Reason, Rejection
from app.domain.model import Location, Move, Quant, QuantKey


class Status(StrEnum):
    CONFIRMED = "confirmed"
    REFUSED = "refused"


@dataclass(frozen=True)
class Outcome:
    """What the ledger answered. `replayed` is true when a resend got the stored answer."""

    tx_id: uuid.UUID
    kind: str
    status: Status
    message: str
    reason: str | None = None
    result: Mapping[str, Any] = field(default_factory=dict)
    replayed: bool = False

    @property
    def ok(self) -> bool:
        return self.status is Status.CONFIRMED

    def as_dict(self) -> dict[str, Any]:
        return {
            "tx_id": str(self.tx_id),
            "kind": self.kind,
            "status": self.status.value,
            "reason": self.reason,
            "message": self.message,
            "result": dict(self.result),
            "replayed": self.replayed,
        }


def check_take(
    quant: Quant, qty: int, location: Location, sku_code: str, lot_code: str | None
) -> None:
    """Refuse taking more than is available (on hand less reserved) from a real location."""
    if location.is_virtual or qty <= quant.available:
        return
    what = f"{sku_code} lot {lot_code}" if lot_code else sku_code
    held = f"holds {quant.on_hand} of {what}"
    if quant.reserved:
        held += f" ({quant.reserved} reserved for picks)"
    raise Rejection(
        Reason.NOT_ENOUGH_STOCK,
        f"{location.code} {held}; {max(quant.available, 0)} can be taken, not {qty}. "
        "Check the bin and the item, or count the bin.",
    )


def quantity_deltas(moves: Iterable[Move]) -> dict[QuantKey, int]:
    """Net change of on-hand per balance row that these moves cause."""
    deltas: dict[QuantKey, int] = defaultdict(int)
    for move in moves:
        deltas[QuantKey(move.from_location_id, move.sku_id, move.lot_id)] -= move.qty
        deltas[QuantKey(move.to_location_id, move.sku_id, move.lot_id)] += move.qty
    return dict(deltas)


@dataclass(frozen=True)
class Candidate:
    """A balance row that could serve a pick, with what allocation orders by."""

    quant: Quant
    location: Location
    lot_code: str | None
    expiry: date | None


def allocation_order(candidate: Candidate) -> tuple[bool, date, int, str, str]:
    """First expiry first out; undated lots last; then the pick path; then bin and lot code,
    so that equal candidates are always taken in the same order on every database."""
    return (
        candidate.expiry is None,
        candidate.expiry or date.max,
        candidate.location.pick_sequence,
        candidate.location.code,
        candidate.lot_code or "",
    )


def allocate(candidates: Iterable[Candidate], qty: int) -> list[tuple[Candidate, int]]:
    """Split `qty` over the candidates in allocation order; may return less than asked."""
    plan: list[tuple[Candidate, int]] = []
    remaining = qty
    for candidate in sorted(candidates, key=allocation_order):
        if remaining <= 0:
            break
        take = min(candidate.quant.available, remaining)
        if take > 0:
            plan.append((candidate, take))
            remaining -= take
    return plan


@dataclass(frozen=True)
class InvariantReport:
    """Violations per invariant of DESIGN.md section 1; all zero on a healthy ledger."""

    sum_not_zero: int = 0
    negative_or_over_reserved: int = 0
    balance_not_replay: int = 0
    move_without_provenance: int = 0
    order_line_over: int = 0
    """Order lines with more reserved + picked than ordered, or more shipped than picked."""
    order_lines: tuple[str, ...] = ()
    """Those order lines, named: "order SO-1 line 1: 9 reserved + 6 picked > 9 ordered"."""

    @property
    def total(self) -> int:
        return (
            self.sum_not_zero
            + self.negative_or_over_reserved
            + self.balance_not_replay
            + self.move_without_provenance
            + self.order_line_over
        )

    def as_dict(self) -> dict[str, int]:
        return {
            "sum_not_zero": self.sum_not_zero,
            "negative_or_over_reserved": self.negative_or_over_reserved,
            "balance_not_replay": self.balance_not_replay,
            "move_without_provenance": self.move_without_provenance,
            "order_line_over": self.order_line_over,
            "total": self.total,
        }


def check_invariants(
    quants: Mapping[QuantKey, Quant],
    moves: Iterable[Move],
    virtual_location_ids: set[int],
) -> InvariantReport:
    """The first four invariants over an in-memory ledger (the SQL version, all five, lives in
    the db adapter)."""
    move_list = list(moves)
    per_sku: dict[tuple[int, int], int] = defaultdict(int)
    for key, quant in quants.items():
        per_sku[(key.sku_id, key.lot_id)] += quant.on_hand
    replay = quantity_deltas(move_list)
    keys = set(replay) | {k for k, q in quants.items() if q.on_hand}
    return InvariantReport(
        sum_not_zero=sum(1 for total in per_sku.values() if total != 0),
        negative_or_over_reserved=sum(
            1
            for key, q in quants.items()
            if key.location_id not in virtual_location_ids
            and (q.on_hand < 0 or q.reserved < 0 or q.reserved > q.on_hand)
        ),
        balance_not_replay=sum(
            1 for k in keys if replay.get(k, 0) != (quants[k].on_hand if k in quants else 0)
        ),
        move_without_provenance=sum(1 for m in move_list if not m.reason),
    )
