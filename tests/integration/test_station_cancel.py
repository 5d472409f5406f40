"""A supervisor's CANCELORDER at the ship station, end to end through `perpetua replay` on both
databases (issue 9), as a batch of stored scans and keypad lines: the dock worker scans the
order, CANCELORDER, a supervisor's badge and PIN (`@KEY:`). Checked as a user notices it: the
answer's text and its put-back list, the order cancelled in the database and in `perpetua orders
--state cancelled`, no reservation of it left open, and the picked goods still in the outbound
lane for the putaway screen. And a CANCELORDER on a shipped order, refused without a change.
Also: the pick screen's open lists are not hidden by another order's picks (cancelled or not)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from sqlalchemy import func, select

from app.adapters.db import catalogue
from app.adapters.db.schema import MoveRow, OrderEventRow, ReservationRow, table
from app.adapters.db.station_data import SqlStationData
from app.cli import main
from app.domain.catalogue import OrderLineSpec
from app.domain.commands import Opening, OpeningLine, PostPick, TakeList
from tests.support.scenarios import ship_order
from tests.support.shipping import PICKER, order_status, pick_order, stock_at
from tests.support.warehouse import Warehouse

APPROVE = ("@CMD:CANCELORDER", "S1", "@KEY:123456")
"""CANCELORDER, then the supervisor's badge and PIN, as a scanner and the keypad send them."""


def stock(wh: Warehouse) -> None:
    """SO-1: 3 BOLT and 2 WIDGET, with the stock to pick them."""
    with wh.engine.begin() as c:
        catalogue.add_orders(
            c, [OrderLineSpec("SO-1", 1, "BOLT", 3), OrderLineSpec("SO-1", 2, "WIDGET", 2)]
        )
    opened = wh.run(
        Opening, lines=(OpeningLine("BOLT", "A-01-03", 20), OpeningLine("WIDGET", "A-01-01", 10))
    )
    assert opened.ok, opened.message


def replay(
    db_url: str, tmp_path: Path, *lines: str, badge: str = "D1", pin: str | None = None
) -> tuple[int, list[dict[str, Any]]]:
    """`perpetua replay` of `lines` in ship mode at ST-1: its exit code and its JSON records."""
    scans = tmp_path / "scans.txt"
    scans.write_text("\n".join(lines) + "\n", encoding="utf-8")
    args = ["--db", db_url, "replay", "--station", "ST-1", "--operator", badge, "--mode", "ship"]
    args += ["--outbox", str(tmp_path / "outbox.sqlite"), str(scans)]
    env = {"PERPETUA_PIN": pin} if pin else {}
    result = CliRunner().invoke(main, args, catch_exceptions=False, env=env)
    records = [json.loads(line) for line in result.output.splitlines()]
    assert [r["line"] for r in records] == list(range(1, len(lines) + 1)), result.output
    return result.exit_code, records


def cancelled_orders(db_url: str) -> list[dict[str, Any]]:
    """What `perpetua orders --state cancelled --json` lists, one row per order line."""
    listed = CliRunner().invoke(
        main, ["--db", db_url, "orders", "--state", "cancelled", "--json"], catch_exceptions=False
    )
    assert listed.exit_code == 0, listed.output
    return [json.loads(line) for line in listed.output.splitlines()]


def reservations(wh: Warehouse, order: str) -> dict[str, int]:
    """The order's reservations, counted by state."""
    r = table(ReservationRow)
    with wh.engine.connect() as c:
        rows = c.execute(
            select(r.c.state, func.count()).where(r.c.order_ref == order).group_by(r.c.state)
        ).all()
    return {str(state): int(n) for state, n in rows}


def changes(wh: Warehouse) -> tuple[int, int]:
    """Moves and order events so far: a refusal adds neither."""
    with wh.engine.connect() as c:
        return (
            int(c.execute(select(func.count()).select_from(table(MoveRow))).scalar_one()),
            int(c.execute(select(func.count()).select_from(table(OrderEventRow))).scalar_one()),
        )


def check_approval_steps(records: list[dict[str, Any]]) -> dict[str, Any]:
    """CANCELORDER asks for a supervisor, the badge for the PIN; the PIN's answer, returned."""
    asked, badge, pin = records[-3:]
    assert asked["state"] == "accepted" and asked["meaning"]
    assert asked["prompt"].startswith(
        "Supervisor: scan your badge to approve cancelling order SO-1"
    ), asked
    assert asked["feedback"]["level"] == "warning"
    assert "may not cancel SO-1 alone: a supervisor must approve" in asked["feedback"]["text"]
    assert badge["state"] == "accepted" and "S1" in badge["prompt"], badge
    assert pin["scan"] == "@KEY:123456" and pin["meaning"] == "PIN"
    assert pin["state"] == "confirmed", pin  # the CancelOrder it sent went through
    assert [(t["kind"], t["state"]) for t in pin["transactions"]] == [("cancel_order", "confirmed")]
    return dict(pin)


def test_a_picked_order_is_cancelled_through_replay_and_its_goods_wait_in_the_lane(
    db_url: str, warehouse: Warehouse, tmp_path: Path
) -> None:
    stock(warehouse)
    pick_order(warehouse, "SO-1", into="OUT-1")
    code, records = replay(db_url, tmp_path, "SO-1", *APPROVE)
    assert code == 0, records
    shown = records[0]
    assert shown["state"] == "accepted" and shown["prompt"] == (
        "CONFIRM to ship SO-1, or CANCEL to leave it."
    )
    done = check_approval_steps(records)
    assert done["feedback"] == {
        "level": "ok",
        "text": "Cancelled SO-1, approved by S1. Put its picked goods back to stock: the "
        "putaway screen offers them.",
    }
    assert "put back: 3 x BOLT in OUT-1 (the putaway screen offers them)" in done["lines"]
    assert "put back: 2 x WIDGET in OUT-1 (the putaway screen offers them)" in done["lines"]
    assert done["prompt"].startswith("Scan the order to ship")
    assert done["queue_depth"] == 0

    assert order_status(warehouse, "SO-1") == "cancelled"
    assert reservations(warehouse, "SO-1").get("open", 0) == 0
    listed = cancelled_orders(db_url)
    assert [(r["order"], r["state"], r["line"], r["sku"]) for r in listed] == [
        ("SO-1", "cancelled", 1, "BOLT"),
        ("SO-1", "cancelled", 2, "WIDGET"),
    ]
    assert [(r["picked"], r["shipped"], r["reserved"]) for r in listed] == [(3, 0, 0), (2, 0, 0)]
    assert all(r["claim"] is None for r in listed)
    # The goods wait in the outbound lane for the putaway screen; nothing went to the customer.
    assert warehouse.on_hand("OUT-1", "BOLT") == 3
    assert warehouse.on_hand("OUT-1", "WIDGET") == 2
    assert warehouse.on_hand("CUSTOMER", "BOLT") == 0
    assert warehouse.invariants().total == 0


def test_an_order_being_picked_is_cancelled_through_replay_and_its_reservations_voided(
    db_url: str, warehouse: Warehouse, tmp_path: Path
) -> None:
    """P1 at ST-2 has picked the bolts into OUT-1; the widgets are still reserved in their bin.
    The ship station shows the order in red (it cannot ship), so replay exits 1 for that line,
    but CANCELORDER cancels it: the reservation is voided and the bolts wait in the lane."""
    stock(warehouse)
    taken = warehouse.run(TakeList, order="SO-1", **PICKER)
    assert taken.ok, taken.message
    bolts = taken.result["lines"][0]["reservations"][0]
    picked = warehouse.run(
        PostPick, reservation=bolts["reservation"], qty=3, to_location="OUT-1", **PICKER
    )
    assert picked.ok, picked.message
    assert warehouse.reserved("A-01-01", "WIDGET") == 2
    assert reservations(warehouse, "SO-1") == {"open": 1, "posted": 1}

    code, records = replay(db_url, tmp_path, "SO-1", *APPROVE)
    assert code == 1  # the order scan was answered in red: it cannot ship
    shown = records[0]
    assert shown["state"] == "refused" and shown["feedback"]["level"] == "error"
    assert shown["feedback"]["text"].startswith(
        "SO-1 is still being picked (SO-1 is being picked by Pat Picker at ST-2 since "
    )
    assert shown["feedback"]["text"].endswith("A supervisor may cancel it: CANCELORDER.")
    assert [r["state"] for r in records[1:]] == ["accepted", "accepted", "confirmed"]
    done = check_approval_steps(records)
    assert done["feedback"]["level"] == "ok"
    assert done["feedback"]["text"].startswith("Cancelled SO-1, approved by S1.")
    assert [line for line in done["lines"] if line.startswith("put back")] == [
        "put back: 3 x BOLT in OUT-1 (the putaway screen offers them)"
    ]

    assert order_status(warehouse, "SO-1") == "cancelled"
    assert reservations(warehouse, "SO-1") == {"voided": 1, "posted": 1}
    assert warehouse.reserved("A-01-01", "WIDGET") == 0  # given back to stock
    assert warehouse.on_hand("A-01-01", "WIDGET") == 10
    listed = cancelled_orders(db_url)
    assert [(r["order"], r["line"], r["picked"], r["reserved"]) for r in listed] == [
        ("SO-1", 1, 3, 0),
        ("SO-1", 2, 0, 0),
    ]
    assert all(r["claim"] is None for r in listed)  # the picker's claim is gone too
    assert stock_at(warehouse, "OUT-1") != [] and warehouse.on_hand("OUT-1", "BOLT") == 3
    assert warehouse.invariants().total == 0


def test_cancelorder_on_a_shipped_order_is_refused_through_replay_without_a_change(
    db_url: str, warehouse: Warehouse, tmp_path: Path
) -> None:
    stock(warehouse)
    ship_order(warehouse, "SO-1")
    before = changes(warehouse)
    code, records = replay(db_url, tmp_path, "SO-1", *APPROVE[:1], badge="S1", pin="123456")
    assert code == 1
    shown, cancel = records
    assert shown["state"] == "refused"
    assert shown["feedback"] == {
        "level": "error",
        "text": "SO-1 is already shipped: it cannot be shipped. Scan another order.",
    }
    assert cancel["state"] == "refused" and cancel["transactions"] == []
    assert cancel["feedback"] == {
        "level": "error",
        "text": "Scan the order to cancel first, then CANCELORDER.",
    }
    assert order_status(warehouse, "SO-1") == "shipped"
    assert changes(warehouse) == before
    assert cancelled_orders(db_url) == []
    assert warehouse.on_hand("CUSTOMER", "BOLT") == 3
    assert warehouse.invariants().total == 0


def test_open_pick_lists_are_not_hidden_by_another_orders_picks(
    db_url: str, warehouse: Warehouse, tmp_path: Path
) -> None:
    """Each order's picks count against its own lines only: SO-1's 3 bolts picked on its line 1
    once hid SO-2 (1 bolt on its line 1) from the pick screen's open lists."""
    stock(warehouse)
    with warehouse.engine.begin() as c:
        catalogue.add_orders(c, [OrderLineSpec("SO-2", 1, "BOLT", 1)])
    data = SqlStationData(warehouse.engine)
    assert data.open_orders(10) == ["SO-1", "SO-2"] and data.open_order_count() == 2
    pick_order(warehouse, "SO-1", into="OUT-1")
    assert data.open_orders(10) == ["SO-2"] and data.open_order_count() == 1
    code, _ = replay(db_url, tmp_path, "SO-1", *APPROVE)
    assert code == 0 and order_status(warehouse, "SO-1") == "cancelled"
    assert data.open_orders(10) == ["SO-2"] and data.open_order_count() == 1
