"""Every ledger service on SQLite and PostgreSQL: what it moves, what it refuses, and why."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.adapters.db.schema import MoveRow, TransactionRow, table
from app.domain.commands import (
    Adjust,
    AdjustReason,
    Expire,
    PostPick,
    Putaway,
    Receive,
    Reserve,
    Return,
    Scrap,
    Ship,
    Transfer,
    Void,
)
from app.domain.errors import Reason
from app.services.ledger import submit
from tests.support.warehouse import Warehouse


def stock(w: Warehouse, sku: str = "WIDGET", qty: int = 10, bin_: str = "A-01-01") -> None:
    """Receive onto the dock and put away into a bin."""
    assert w.run(Receive, sku=sku, qty=qty, to_location="DOCK-1").ok
    assert w.run(Putaway, sku=sku, qty=qty, from_location="DOCK-1", to_location=bin_).ok


def count_rows(w: Warehouse, row: type) -> int:
    with w.engine.connect() as c:
        return int(c.execute(select(func.count()).select_from(table(row))).scalar_one())


# --- receive ----------------------------------------------------------------------------------


def test_receive_moves_from_vendor_to_the_dock(warehouse: Warehouse) -> None:
    outcome = warehouse.run(Receive, sku="WIDGET", qty=12, to_location="DOCK-1", receipt="ASN-1")
    assert outcome.ok and outcome.message == "received 12 x WIDGET into DOCK-1"
    assert warehouse.on_hand("DOCK-1", "WIDGET") == 12
    assert warehouse.on_hand("VENDOR", "WIDGET") == -12
    assert warehouse.invariants().total == 0


def test_damaged_goods_are_received_into_quarantine(warehouse: Warehouse) -> None:
    assert warehouse.run(Receive, sku="WIDGET", qty=2, to_location="QUAR-1").ok
    assert warehouse.on_hand("QUAR-1", "WIDGET") == 2


@pytest.mark.parametrize(
    ("fields", "reason", "words"),
    [
        (
            {"sku": "NOPE", "to_location": "DOCK-1"},
            Reason.UNKNOWN_SKU,
            "'NOPE' is not in the catalogue",
        ),
        (
            {"sku": "WIDGET", "to_location": "A-01-01"},
            Reason.WRONG_LOCATION_KIND,
            "A-01-01 is a bin",
        ),
        ({"sku": "WIDGET", "to_location": "X-9"}, Reason.UNKNOWN_LOCATION, "'X-9' does not exist"),
        ({"sku": "MILK", "to_location": "DOCK-1"}, Reason.LOT_REQUIRED, "scan the lot"),
        (
            {"sku": "WIDGET", "to_location": "DOCK-1", "lot": "L1"},
            Reason.LOT_NOT_TRACKED,
            "not tracked",
        ),
        ({"sku": "PHONE", "to_location": "DOCK-1"}, Reason.SERIALS_REQUIRED, "scan 3 serial"),
    ],
)
def test_receive_refusals_are_recorded_with_their_reason(
    warehouse: Warehouse, fields: dict[str, str], reason: Reason, words: str
) -> None:
    outcome = warehouse.run(Receive, qty=3, **fields)
    assert not outcome.ok
    assert outcome.reason == reason.value
    assert words in outcome.message
    assert count_rows(warehouse, MoveRow) == 0
    assert count_rows(warehouse, TransactionRow) == 1  # the refusal is an outcome too


def test_lot_expiry_is_kept_and_a_different_expiry_is_refused(warehouse: Warehouse) -> None:
    assert warehouse.run(
        Receive, sku="MILK", qty=5, lot="L1", expiry=date(2099, 3, 1), to_location="DOCK-1"
    ).ok
    again = warehouse.run(
        Receive, sku="MILK", qty=5, lot="L1", expiry=date(2099, 4, 1), to_location="DOCK-1"
    )
    assert again.reason == Reason.EXPIRY_MISMATCH.value
    assert "expires 2099-03-01, the label says 2099-04-01" in again.message
    assert warehouse.on_hand("DOCK-1", "MILK", "L1") == 5


def test_serials_are_received_once_and_followed(warehouse: Warehouse) -> None:
    serials = ("SN1", "SN2")
    assert warehouse.run(Receive, sku="PHONE", qty=2, serials=serials, to_location="DOCK-1").ok
    again = warehouse.run(Receive, sku="PHONE", qty=1, serials=("SN1",), to_location="DOCK-1")
    assert again.reason == Reason.SERIAL_ALREADY_IN_STOCK.value
    moved = warehouse.run(
        Putaway, sku="PHONE", qty=1, serials=("SN2",), from_location="DOCK-1", to_location="A-01-02"
    )
    assert moved.ok
    wrong = warehouse.run(
        Putaway, sku="PHONE", qty=1, serials=("SN2",), from_location="DOCK-1", to_location="A-01-02"
    )
    assert wrong.reason == Reason.SERIAL_NOT_HERE.value
    assert warehouse.on_hand("A-01-02", "PHONE") == 1


def test_unknown_operator_station_and_disabled_badge_are_refused(warehouse: Warehouse) -> None:
    unknown = warehouse.run(Receive, sku="WIDGET", qty=1, to_location="DOCK-1", operator="ZZ")
    assert unknown.reason == Reason.UNKNOWN_OPERATOR.value
    gone = warehouse.run(Receive, sku="WIDGET", qty=1, to_location="DOCK-1", operator="GONE")
    assert gone.reason == Reason.INACTIVE_OPERATOR.value
    nowhere = warehouse.run(Receive, sku="WIDGET", qty=1, to_location="DOCK-1", station="ST-9")
    assert nowhere.reason == Reason.UNKNOWN_STATION.value
    assert warehouse.invariants().total == 0


# --- putaway and transfer ---------------------------------------------------------------------


def test_putaway_takes_only_what_the_dock_holds(warehouse: Warehouse) -> None:
    assert warehouse.run(Receive, sku="WIDGET", qty=6, to_location="DOCK-1").ok
    too_many = warehouse.run(
        Putaway, sku="WIDGET", qty=7, from_location="DOCK-1", to_location="A-01-01"
    )
    assert too_many.reason == Reason.NOT_ENOUGH_STOCK.value
    assert "DOCK-1 holds 6 of WIDGET; 6 can be taken, not 7" in too_many.message
    assert warehouse.run(
        Putaway, sku="WIDGET", qty=6, from_location="DOCK-1", to_location="A-01-01"
    ).ok
    assert warehouse.on_hand("DOCK-1", "WIDGET") == 0
    assert warehouse.on_hand("A-01-01", "WIDGET") == 6


def test_putaway_into_a_blocked_bin_is_refused(warehouse: Warehouse) -> None:
    assert warehouse.run(Receive, sku="WIDGET", qty=1, to_location="DOCK-1").ok
    blocked = warehouse.run(
        Putaway, sku="WIDGET", qty=1, from_location="DOCK-1", to_location="BLOCKED"
    )
    assert blocked.reason == Reason.INACTIVE_LOCATION.value
    assert "BLOCKED is deactivated; choose another" in blocked.message


def test_the_only_lot_on_the_dock_is_taken_and_two_lots_need_a_scan(warehouse: Warehouse) -> None:
    assert warehouse.run(Receive, sku="MILK", qty=4, lot="L1", to_location="DOCK-1").ok
    assert warehouse.run(
        Putaway, sku="MILK", qty=2, from_location="DOCK-1", to_location="A-01-01"
    ).ok
    assert warehouse.on_hand("A-01-01", "MILK", "L1") == 2
    assert warehouse.run(Receive, sku="MILK", qty=4, lot="L2", to_location="DOCK-1").ok
    ambiguous = warehouse.run(
        Putaway, sku="MILK", qty=1, from_location="DOCK-1", to_location="A-01-01"
    )
    assert ambiguous.reason == Reason.LOT_REQUIRED.value
    assert "holds lots L1, L2" in ambiguous.message


def test_transfer_between_bins(warehouse: Warehouse) -> None:
    stock(warehouse)
    assert warehouse.run(
        Transfer, sku="WIDGET", qty=4, from_location="A-01-01", to_location="B-01-01"
    ).ok
    same = warehouse.run(
        Transfer, sku="WIDGET", qty=1, from_location="A-01-01", to_location="A-01-01"
    )
    assert same.reason == Reason.BAD_INPUT.value
    assert (warehouse.on_hand("A-01-01", "WIDGET"), warehouse.on_hand("B-01-01", "WIDGET")) == (
        6,
        4,
    )


# --- reservations, picks, shipping ------------------------------------------------------------


def test_reserve_allocates_first_expiry_first_then_pick_sequence(warehouse: Warehouse) -> None:
    for lot, expiry, bin_ in (
        ("LATE", date(2099, 9, 1), "A-01-01"),
        ("SOON", date(2099, 2, 1), "B-01-02"),
    ):
        assert warehouse.run(
            Receive, sku="MILK", qty=5, lot=lot, expiry=expiry, to_location="DOCK-1"
        ).ok
        assert warehouse.run(
            Putaway, sku="MILK", qty=5, lot=lot, from_location="DOCK-1", to_location=bin_
        ).ok
    outcome = warehouse.run(Reserve, order="SO-1", line=1, sku="MILK", qty=7)
    assert outcome.ok, outcome.message
    lines = [(ln["location"], ln["lot"], ln["qty"]) for ln in outcome.result["lines"]]
    assert lines == [("B-01-02", "SOON", 5), ("A-01-01", "LATE", 2)]
    assert warehouse.reserved("B-01-02", "MILK") == 5
    assert warehouse.invariants().total == 0


def test_reserve_refuses_more_than_available_unless_partial(warehouse: Warehouse) -> None:
    stock(warehouse, qty=3)
    short = warehouse.run(Reserve, order="SO-1", line=1, sku="WIDGET", qty=5)
    assert short.reason == Reason.NOT_ENOUGH_STOCK.value
    assert "only 3 of 5 x WIDGET" in short.message
    partial = warehouse.run(Reserve, order="SO-1", line=1, sku="WIDGET", qty=5, allow_partial=True)
    assert partial.ok and partial.result["reserved"] == 3


def test_reserved_stock_cannot_be_moved_away(warehouse: Warehouse) -> None:
    stock(warehouse, qty=5)
    assert warehouse.run(Reserve, order="SO-1", line=1, sku="WIDGET", qty=4).ok
    moved = warehouse.run(
        Transfer, sku="WIDGET", qty=2, from_location="A-01-01", to_location="B-01-01"
    )
    assert moved.reason == Reason.NOT_ENOUGH_STOCK.value
    assert "(4 reserved for picks); 1 can be taken" in moved.message


def test_pick_posts_then_ships(warehouse: Warehouse) -> None:
    stock(warehouse, qty=5)
    reserved = warehouse.run(Reserve, order="SO-1", line=1, sku="WIDGET", qty=3)
    rid = reserved.result["lines"][0]["reservation"]
    picked = warehouse.run(PostPick, reservation=rid, qty=3, to_location="OUT-1")
    assert picked.ok and picked.result["state"] == "posted"
    assert warehouse.on_hand("A-01-01", "WIDGET") == 2
    assert warehouse.reserved("A-01-01", "WIDGET") == 0
    again = warehouse.run(PostPick, reservation=rid, qty=3, to_location="OUT-1")
    assert again.reason == Reason.RESERVATION_RESOLVED.value
    assert warehouse.run(Ship, sku="WIDGET", qty=3, from_location="OUT-1", order="SO-1").ok
    assert warehouse.on_hand("CUSTOMER", "WIDGET") == 3
    assert warehouse.invariants().total == 0


def test_short_pick_releases_the_rest_and_over_pick_is_refused(warehouse: Warehouse) -> None:
    stock(warehouse, qty=5)
    rid = warehouse.run(Reserve, order="SO-1", line=1, sku="WIDGET", qty=4).result["lines"][0][
        "reservation"
    ]
    over = warehouse.run(PostPick, reservation=rid, qty=5, to_location="OUT-1")
    assert over.reason == Reason.OVER_PICK.value
    short = warehouse.run(PostPick, reservation=rid, qty=1, to_location="OUT-1")
    assert short.ok and short.result["state"] == "partly_posted"
    assert warehouse.on_hand("A-01-01", "WIDGET") == 4
    assert warehouse.reserved("A-01-01", "WIDGET") == 0


def test_void_and_expire_release_reservations_once(warehouse: Warehouse) -> None:
    stock(warehouse, qty=6)
    now = datetime.now(UTC)
    first = warehouse.run(Reserve, order="SO-1", line=1, sku="WIDGET", qty=2)
    second = warehouse.run(
        Reserve, order="SO-2", line=1, sku="WIDGET", qty=2, expires_at=now - timedelta(minutes=1)
    )
    third = warehouse.run(
        Reserve, order="SO-3", line=1, sku="WIDGET", qty=2, expires_at=now + timedelta(hours=1)
    )
    assert warehouse.reserved("A-01-01", "WIDGET") == 6
    rid = first.result["lines"][0]["reservation"]
    assert warehouse.run(Void, reservation=rid).ok
    assert warehouse.run(Void, reservation=rid).reason == Reason.RESERVATION_RESOLVED.value
    expired = warehouse.run(Expire, now=now)
    assert expired.result["expired"] == [second.result["lines"][0]["reservation"]]
    assert warehouse.run(Expire, now=now).result["expired"] == []
    assert warehouse.reserved("A-01-01", "WIDGET") == 2
    assert third.ok
    assert warehouse.run(Void, reservation=999).reason == Reason.UNKNOWN_RESERVATION.value
    assert warehouse.invariants().total == 0


# --- returns, scrap, adjustments --------------------------------------------------------------


def test_return_then_inspect_to_bin_or_scrap(warehouse: Warehouse) -> None:
    # No order shipped these: a supervisor accepts them (returns against a shipped order are
    # in test_orders.py).
    unexpected = {"approved_by": "S1"}
    assert warehouse.run(Return, sku="WIDGET", qty=3, to_location="RET-1", **unexpected).ok
    assert warehouse.on_hand("CUSTOMER", "WIDGET") == -3
    assert warehouse.run(
        Putaway, sku="WIDGET", qty=2, from_location="RET-1", to_location="A-01-01"
    ).ok
    assert warehouse.run(Scrap, sku="WIDGET", qty=1, from_location="RET-1", reason="broken").ok
    assert warehouse.on_hand("SCRAP", "WIDGET") == 1
    wrong = warehouse.run(Return, sku="WIDGET", qty=1, to_location="DOCK-1")
    assert wrong.reason == Reason.WRONG_LOCATION_KIND.value
    no_reason = warehouse.run(Scrap, sku="WIDGET", qty=1, from_location="A-01-01", reason=" ")
    assert no_reason.reason == Reason.REASON_REQUIRED.value


def test_count_adjustments_need_a_counter_and_a_real_supervisor(warehouse: Warehouse) -> None:
    stock(warehouse, qty=5)
    fields = {"sku": "WIDGET", "location": "A-01-01", "reason": AdjustReason.COUNT}
    dock = warehouse.run(Adjust, delta=-1, operator="D1", **fields)
    assert dock.reason == Reason.NOT_ALLOWED.value
    assert dock.message == (
        "Dana Dock (D1) is a dock and may not adjust stock: a counter or supervisor must. "
        "Nothing was done."
    )
    assert warehouse.run(Adjust, delta=-1, operator="C1", **fields).ok  # within tolerance
    assert warehouse.run(Adjust, delta=3, operator="C1", approved_by="S1", **fields).ok
    self_approved = warehouse.run(Adjust, delta=1, operator="S1", approved_by="S1", **fields)
    assert self_approved.reason == Reason.NOT_ALLOWED.value
    not_supervisor = warehouse.run(Adjust, delta=1, operator="C1", approved_by="P1", **fields)
    assert not_supervisor.reason == Reason.NOT_ALLOWED.value
    assert warehouse.on_hand("A-01-01", "WIDGET") == 7
    assert warehouse.on_hand("ADJUSTMENT", "WIDGET") == -2
    too_much = warehouse.run(Adjust, delta=-8, operator="C1", approved_by="S1", **fields)
    assert too_much.reason == Reason.NOT_ENOUGH_STOCK.value
    assert warehouse.invariants().total == 0


# --- exactly once -----------------------------------------------------------------------------


def test_a_resend_returns_the_stored_outcome_and_moves_nothing(warehouse: Warehouse) -> None:
    command = warehouse.command(Receive, sku="WIDGET", qty=4, to_location="DOCK-1")
    first = submit(command, warehouse.ledger)
    second = submit(command, warehouse.ledger)
    assert first.ok and not first.replayed
    assert second.replayed and second.status == first.status and second.message == first.message
    assert warehouse.on_hand("DOCK-1", "WIDGET") == 4
    assert count_rows(warehouse, MoveRow) == 1


def test_a_refusal_is_replayed_too(warehouse: Warehouse) -> None:
    command = warehouse.command(
        Putaway, sku="WIDGET", qty=1, from_location="DOCK-1", to_location="A-01-01"
    )
    first = submit(command, warehouse.ledger)
    # Stock arrives in between; the resend still answers what the first attempt decided.
    assert warehouse.run(Receive, sku="WIDGET", qty=4, to_location="DOCK-1").ok
    second = submit(command, warehouse.ledger)
    assert first.reason == second.reason == Reason.NOT_ENOUGH_STOCK.value
    assert second.replayed
    assert warehouse.on_hand("A-01-01", "WIDGET") == 0


def test_the_same_id_with_another_payload_is_refused_loudly(warehouse: Warehouse) -> None:
    tx_id = uuid.uuid4()
    assert warehouse.run(Receive, tx_id=tx_id, sku="WIDGET", qty=4, to_location="DOCK-1").ok
    clash = warehouse.run(Receive, tx_id=tx_id, sku="WIDGET", qty=40, to_location="DOCK-1")
    assert clash.reason == Reason.ID_REUSED.value
    assert "already used" in clash.message
    assert warehouse.on_hand("DOCK-1", "WIDGET") == 4


def test_an_undated_lot_learns_its_expiry_when_received_with_one(warehouse: Warehouse) -> None:
    unexpected = {"approved_by": "S1"}  # a return of goods no order shipped, accepted
    assert warehouse.run(Return, sku="MILK", qty=1, lot="L9", to_location="RET-1", **unexpected).ok
    assert warehouse.run(
        Receive, sku="MILK", qty=2, lot="L9", expiry=date(2099, 1, 5), to_location="DOCK-1"
    ).ok
    mismatch = warehouse.run(
        Receive, sku="MILK", qty=2, lot="L9", expiry=date(2099, 1, 6), to_location="DOCK-1"
    )
    assert mismatch.reason == Reason.EXPIRY_MISMATCH.value


def test_equal_candidates_are_allocated_by_lot_code(warehouse: Warehouse) -> None:
    for lot in ("LB", "LA"):
        assert warehouse.run(Receive, sku="MILK", qty=2, lot=lot, to_location="DOCK-1").ok
        assert warehouse.run(
            Putaway, sku="MILK", qty=2, lot=lot, from_location="DOCK-1", to_location="A-01-01"
        ).ok
    outcome = warehouse.run(Reserve, order="SO-1", line=1, sku="MILK", qty=3)
    assert [ln["lot"] for ln in outcome.result["lines"]] == ["LA", "LB"]


def test_a_putaway_elsewhere_than_suggested_is_recorded_as_an_override(
    warehouse: Warehouse,
) -> None:
    assert warehouse.run(Receive, sku="WIDGET", qty=2, to_location="DOCK-1").ok
    chosen = warehouse.run(
        Putaway,
        sku="WIDGET",
        qty=1,
        from_location="DOCK-1",
        to_location="B-01-01",
        suggested="A-01-01",
    )
    assert chosen.ok
    assert chosen.result["override"] == {"suggested": "A-01-01", "chosen": "B-01-01"}
    assert "instead of the suggested A-01-01" in chosen.message
    followed = warehouse.run(
        Putaway,
        sku="WIDGET",
        qty=1,
        from_location="DOCK-1",
        to_location="A-01-01",
        suggested="A-01-01",
    )
    assert followed.ok and "override" not in followed.result
