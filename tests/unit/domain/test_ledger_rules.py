"""Ledger rules as pure functions: taking stock, allocation order, invariants."""

from __future__ import annotations

from datetime import date

import pytest

from app.domain.errors import Reason, Rejection
from app.domain.ledger import Candidate, allocate, check_invariants, check_take, quantity_deltas
from app.domain.model import Location, LocationKind, Move, Quant, QuantKey

BIN = Location(10, "A-01", LocationKind.BIN, pick_sequence=5)
VENDOR = Location(1, "VENDOR", LocationKind.VIRTUAL)


def test_taking_more_than_available_names_the_bin_and_what_it_holds() -> None:
    quant = Quant(QuantKey(10, 7), on_hand=5, reserved=3)
    check_take(quant, 2, BIN, "WIDGET", None)
    with pytest.raises(Rejection) as refused:
        check_take(quant, 3, BIN, "WIDGET", None)
    assert refused.value.reason is Reason.NOT_ENOUGH_STOCK
    assert refused.value.message.startswith(
        "A-01 holds 5 of WIDGET (3 reserved for picks); 2 can be taken, not 3."
    )


def test_a_virtual_location_may_go_negative() -> None:
    check_take(Quant(QuantKey(1, 7), 0, 0), 100, VENDOR, "WIDGET", None)


def test_a_move_has_a_positive_quantity_between_two_places() -> None:
    with pytest.raises(ValueError, match="positive"):
        Move(1, 0, 1, 2, 0, "x")
    with pytest.raises(ValueError, match="one location to another"):
        Move(1, 0, 2, 2, 1, "x")


def candidate(loc_id: int, seq: int, available: int, expiry: date | None) -> Candidate:
    location = Location(loc_id, f"B-{loc_id}", LocationKind.BIN, pick_sequence=seq)
    return Candidate(Quant(QuantKey(loc_id, 7, loc_id), available, 0), location, None, expiry)


def test_allocation_is_first_expiry_first_out_then_pick_path() -> None:
    soon = candidate(1, 9, 2, date(2027, 1, 1))
    late = candidate(2, 1, 5, date(2027, 6, 1))
    undated_near = candidate(3, 0, 5, None)
    plan = allocate([undated_near, late, soon], 8)
    assert [(c.location.code, q) for c, q in plan] == [("B-1", 2), ("B-2", 5), ("B-3", 1)]
    assert sum(q for _, q in allocate([soon], 10)) == 2  # may come up short


def test_invariants_over_an_in_memory_ledger() -> None:
    moves = [Move(7, 0, 1, 10, 5, "receive"), Move(7, 0, 10, 11, 2, "transfer")]
    deltas = quantity_deltas(moves)
    assert deltas == {QuantKey(1, 7): -5, QuantKey(10, 7): 3, QuantKey(11, 7): 2}
    quants = {k: Quant(k, v, 0) for k, v in deltas.items()}
    assert check_invariants(quants, moves, {1}).total == 0
    quants[QuantKey(11, 7)] = Quant(QuantKey(11, 7), 3, 4)
    report = check_invariants(quants, moves, {1})
    assert (report.sum_not_zero, report.negative_or_over_reserved, report.balance_not_replay) == (
        1,
        1,
        1,
    )
