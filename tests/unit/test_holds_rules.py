"""Held stock's rules without a database: what a hold says (domain/holds.py), who may place and
release one, the commands' own checks, and the ledger step that refuses held or expired stock
(services/ledger_steps.py) against an in-memory list of holds."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any, cast

import pytest

from app.domain.commands import Hold, ReleaseHold, ReleaseReason, TxKind
from app.domain.errors import Reason, Rejection
from app.domain.holds import RELEASE_NEEDED, hold_text
from app.domain.model import Location, LocationKind, Lot, Operator, Role, Sku, Station, Tracking
from app.domain.ports import HoldRecord, LedgerStore
from app.domain.rules import role_refusal
from app.services.ledger_steps import Context, held_text, refuse_held, refuse_unpickable

TODAY = date(2026, 12, 7)
BIN = Location(1, "A-01-01", LocationKind.BIN)
QUARANTINE = Location(2, "QUAR-1", LocationKind.QUARANTINE)
OTHER_BIN = Location(3, "A-01-02", LocationKind.BIN)
MILK = Sku(1, "MILK", "Milk 1 l", 1000, 1030, Tracking.LOT)
GOOD = Lot(10, 1, "L1", date(2027, 3, 1))
OLD = Lot(11, 1, "L0", date(2026, 12, 1))
PLACED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class Holds:
    """The one port method the step reads: active holds on locations and lots."""

    def __init__(self, *holds: HoldRecord) -> None:
        self.holds = holds

    def active_holds(self, location_ids: Iterable[int], lot_ids: Iterable[int]) -> list[HoldRecord]:
        locations, lots = set(location_ids), set(lot_ids)
        return [h for h in self.holds if h.location_id in locations or h.lot_id in lots]


def context(*holds: HoldRecord) -> Context:
    return Context(
        cast(LedgerStore, Holds(*holds)),
        Station(1, "ST-1", "Dock 1"),
        Operator(1, "P1", "Pat Picker", Role.PICKER),
        uuid.uuid4(),
        TODAY,
    )


def on_location(location: Location, reason: str) -> HoldRecord:
    return HoldRecord(1, location.id, None, reason, "D1", PLACED)


def on_lot(lot: Lot, reason: str) -> HoldRecord:
    return HoldRecord(2, None, lot.id, reason, "D1", PLACED)


# --- what a hold says -------------------------------------------------------------------------


def test_quarantine_is_named_before_any_hold() -> None:
    text = hold_text("QUAR-1", quarantine=True, location_reason="x", sku="MILK", lot="L1")
    assert text == (
        "QUAR-1 is a quarantine location: its stock is held until a supervisor releases it"
    )


def test_a_location_hold_then_a_lot_hold_are_named_with_their_reason() -> None:
    assert hold_text(
        "A-01-01", location_reason="leak", lot_reason="recall", sku="MILK", lot="L1"
    ) == ("A-01-01 is on hold (leak)")
    assert hold_text("A-01-01", sku="MILK", lot="L1", lot_reason="recall") == (
        "lot L1 of MILK is on hold (recall)"
    )
    assert hold_text("A-01-01", sku="MILK", lot="L1") is None


# --- who may -------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_anyone_may_place_a_hold_or_send_a_release(role: Role) -> None:
    """A release is not refused by role: its supervisor's badge and PIN are what count."""
    who = Operator(1, "X1", "Anyone", role)
    assert role_refusal(who, TxKind.HOLD) is None
    assert role_refusal(who, TxKind.RELEASE_HOLD) is None


def test_a_release_is_approved_by_its_supervisor_who_may_be_the_sender() -> None:
    release = ReleaseHold(
        tx_id=uuid.uuid4(),
        station="ST-1",
        operator="S1",
        reason=ReleaseReason.INSPECTED_OK,
        approved_by="S1",
        location="A-01-01",
    )
    assert release.approver == "S1" and not release.self_approved


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"location": "A-01-01", "lot": "L1", "sku": "MILK"}, "not both"),
        ({}, "not both"),
        ({"lot": "L1"}, "names its SKU"),
    ],
)
def test_a_hold_is_on_one_location_or_one_lot(fields: dict[str, Any], words: str) -> None:
    with pytest.raises(Rejection, match=words):
        Hold(tx_id=uuid.uuid4(), station="ST-1", operator="D1", reason="damaged", **fields)


@pytest.mark.parametrize("qty", [0, -3, True])
def test_a_release_by_quantity_needs_a_positive_whole_number(qty: Any) -> None:
    with pytest.raises(Rejection) as refused:
        ReleaseHold(
            tx_id=uuid.uuid4(),
            station="ST-1",
            operator="S1",
            reason=ReleaseReason.SCRAPPED,
            approved_by="S1",
            location="QUAR-1",
            sku="MILK",
            qty=qty,
        )
    assert refused.value.reason is Reason.BAD_QUANTITY


# --- the step every stock-taking handler runs -------------------------------------------------


def test_stock_in_quarantine_is_held_without_a_hold_row() -> None:
    with pytest.raises(Rejection) as refused:
        refuse_held(context(), QUARANTINE, MILK, GOOD)
    assert refused.value.reason is Reason.HELD
    assert refused.value.message == (
        "QUAR-1 is a quarantine location: its stock is held until a supervisor releases it; "
        + RELEASE_NEEDED
    )


def test_a_held_location_holds_every_lot_in_it_and_no_other_location() -> None:
    ctx = context(on_location(BIN, "water damage"))
    with pytest.raises(Rejection, match=r"A-01-01 is on hold \(water damage\)"):
        refuse_held(ctx, BIN, MILK, GOOD)
    refuse_held(ctx, OTHER_BIN, MILK, GOOD)  # not held: nothing raised


def test_a_held_lot_is_held_wherever_it_is() -> None:
    ctx = context(on_lot(GOOD, "recall 42"))
    for location in (BIN, OTHER_BIN):
        with pytest.raises(Rejection, match=r"lot L1 of MILK is on hold \(recall 42\)"):
            refuse_held(ctx, location, MILK, GOOD)
    assert held_text(ctx, BIN, MILK, OLD) is None  # another lot of the same SKU


def test_a_pick_of_a_lot_expired_since_it_was_reserved_is_refused() -> None:
    with pytest.raises(Rejection) as refused:
        refuse_unpickable(context(), BIN, MILK, OLD)
    assert refused.value.reason is Reason.EXPIRED
    assert refused.value.message == (
        "lot L0 of MILK expired on 2026-12-01 (6 days ago; today is 2026-12-07): leave it in "
        "A-01-01 and pick this line short; it is reported to the supervisors (perpetua expired)"
    )


def test_a_pick_of_held_stock_is_refused_with_what_the_picker_does() -> None:
    with pytest.raises(Rejection) as refused:
        refuse_unpickable(context(on_lot(GOOD, "recall")), BIN, MILK, GOOD)
    assert refused.value.reason is Reason.HELD
    assert "leave it in A-01-01 and pick this line short" in refused.value.message
    refuse_unpickable(context(), BIN, MILK, GOOD)  # good and not held: picked
