"""Three ledger fields the station workflows need, on both databases: a reservation that avoids
bins (one just found short), a receipt beyond tolerance approved by a supervisor, and the reason
of a short pick kept with its transaction; and that commands which do not use them are stored
exactly as before they existed."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from sqlalchemy import select, update

from app.adapters.db.schema import OperatorRow, TransactionRow, table
from app.domain.commands import Opening, OpeningLine, PostPick, Receive, Reserve
from app.domain.ledger import Outcome
from app.services.ledger import submit
from tests.support.warehouse import Warehouse

BINS = ("A-01-01", "A-01-02", "A-01-03")  # pick sequence 1, 2, 3


def ok(outcome: Outcome) -> Outcome:
    assert outcome.ok, outcome.message
    return outcome


def stored(wh: Warehouse, tx_id: uuid.UUID) -> dict[str, Any]:
    t = table(TransactionRow)
    with wh.engine.connect() as c:
        return dict(c.execute(select(t.c.payload).where(t.c.id == tx_id)).scalar_one())


def stock_widgets(wh: Warehouse) -> None:
    ok(wh.run(Opening, lines=tuple(OpeningLine("WIDGET", b, 5) for b in BINS)))


def reserved_from(outcome: Outcome) -> dict[str, int]:
    return {line["location"]: line["qty"] for line in outcome.result["lines"]}


def test_a_reservation_never_takes_from_the_bins_it_avoids(warehouse: Warehouse) -> None:
    stock_widgets(warehouse)
    avoided = ok(
        warehouse.run(Reserve, order="O-1", line=1, sku="WIDGET", qty=7, avoid=("A-01-01",))
    )
    assert reserved_from(avoided) == {"A-01-02": 5, "A-01-03": 2}
    assert warehouse.reserved("A-01-01", "WIDGET") == 0
    # The control: without `avoid`, the first bin on the path is where picking starts.
    plain = ok(warehouse.run(Reserve, order="O-2", line=1, sku="WIDGET", qty=1))
    assert reserved_from(plain) == {"A-01-01": 1}

    # 4 units are left in A-01-01 and 3 in A-01-03, but only 3 outside A-01-01.
    short = warehouse.run(Reserve, order="O-3", line=1, sku="WIDGET", qty=4, avoid=("A-01-01",))
    assert (short.ok, short.reason) == (False, "not_enough_stock")
    everywhere = warehouse.run(Reserve, order="O-4", line=1, sku="WIDGET", qty=1, avoid=BINS)
    assert (everywhere.ok, everywhere.reason) == (False, "not_enough_stock")
    partial = ok(
        warehouse.run(
            Reserve,
            order="O-5",
            line=1,
            sku="WIDGET",
            qty=9,
            avoid=("A-01-01",),
            allow_partial=True,
        )
    )
    assert reserved_from(partial) == {"A-01-03": 3}
    assert [warehouse.reserved(b, "WIDGET") for b in BINS] == [1, 5, 5]
    assert stored(warehouse, avoided.tx_id)["avoid"] == ["A-01-01"]
    assert warehouse.invariants().total == 0


def test_a_receipt_approval_must_come_from_another_active_supervisor(
    warehouse: Warehouse,
) -> None:
    def receive(approver: str, operator: str = "D1") -> Outcome:
        return warehouse.run(
            Receive,
            sku="WIDGET",
            qty=3,
            to_location="DOCK-1",
            receipt="R-1",
            approved_by=approver,
            operator=operator,
        )

    o = table(OperatorRow)
    with warehouse.engine.begin() as c:
        c.execute(update(o).where(o.c.badge == "S2").values(active=False))
    for approver, operator in [
        ("D1", "D1"),  # a dock worker approving their own receipt
        ("C1", "D1"),  # a counter is no supervisor
        ("GONE", "D1"),
        ("NOBODY", "D1"),
        ("S2", "D1"),  # a supervisor whose badge is disabled
        ("S1", "S1"),  # a supervisor approving their own receipt
    ]:
        refused = receive(approver, operator)
        assert (refused.ok, refused.reason) == (False, "not_allowed"), (approver, operator)
    assert warehouse.on_hand("DOCK-1", "WIDGET") == 0

    approved = ok(receive("S1"))
    assert warehouse.on_hand("DOCK-1", "WIDGET") == 3
    assert stored(warehouse, approved.tx_id)["approved_by"] == "S1"
    assert warehouse.invariants().total == 0


def test_a_short_pick_keeps_its_reason(warehouse: Warehouse) -> None:
    stock_widgets(warehouse)
    [line] = ok(
        warehouse.run(Reserve, order="O-1", line=1, sku="WIDGET", qty=5, location="A-01-02")
    ).result["lines"]
    warehouse.operator = "P1"
    picked = ok(
        warehouse.run(
            PostPick,
            reservation=line["reservation"],
            qty=3,
            to_location="OUT-1",
            short_reason="bin short",
        )
    )
    assert picked.result["state"] == "partly_posted"
    assert stored(warehouse, picked.tx_id)["short_reason"] == "bin short"
    assert warehouse.on_hand("OUT-1", "WIDGET") == 3
    assert warehouse.reserved("A-01-02", "WIDGET") == 0
    assert warehouse.invariants().total == 0


# The payload keys of each command before the station fields were added.
RECEIVE_KEYS = {
    "kind",
    "station",
    "operator",
    "station_time",
    "sku",
    "qty",
    "lot",
    "serials",
    "to_location",
    "expiry",
    "receipt",
}
RESERVE_KEYS = {
    "kind",
    "station",
    "operator",
    "station_time",
    "order",
    "line",
    "sku",
    "qty",
    "location",
    "lot",
    "expires_at",
    "allow_partial",
}
POST_PICK_KEYS = {
    "kind",
    "station",
    "operator",
    "station_time",
    "reservation",
    "qty",
    "to_location",
    "serials",
}


def test_commands_that_leave_the_new_fields_alone_are_stored_as_before(
    warehouse: Warehouse,
) -> None:
    stock_widgets(warehouse)
    receive = warehouse.command(Receive, sku="WIDGET", qty=1, to_location="DOCK-1")
    reserve = warehouse.command(Reserve, order="O-1", line=1, sku="WIDGET", qty=2)
    assert set(receive.payload()) == RECEIVE_KEYS
    assert set(reserve.payload()) == RESERVE_KEYS
    ok(submit(receive, warehouse.ledger))
    [line] = ok(submit(reserve, warehouse.ledger)).result["lines"]
    pick = warehouse.command(PostPick, reservation=line["reservation"], qty=2, to_location="OUT-1")
    assert set(pick.payload()) == POST_PICK_KEYS
    ok(submit(pick, warehouse.ledger))
    assert set(stored(warehouse, receive.tx_id)) == RECEIVE_KEYS
    assert set(stored(warehouse, reserve.tx_id)) == RESERVE_KEYS
    assert set(stored(warehouse, pick.tx_id)) == POST_PICK_KEYS
    # An outbox entry written before the fields existed replays as an honest resend.
    for command in (receive, reserve, pick):
        resent = ok(submit(command, warehouse.ledger))
        assert resent.replayed

    # Set, a field is part of the payload: the same id with it is a different transaction.
    short = replace(pick, short_reason="bin short")
    assert short.payload_hash() != pick.payload_hash()
    reused = submit(short, warehouse.ledger)
    assert (reused.ok, reused.reason) == (False, "id_reused")
    assert warehouse.on_hand("OUT-1", "WIDGET") == 2
