"""Ship mode through the real station session on both databases: what the ship station reads
(SqlStationData.shipment, orders_at, shippable_orders), a short shipment a supervisor approves
with badge and PIN, an outbound lane holding two orders, a refused scan that changes nothing, and
a supervisor's CANCELORDER whose putaway list names the goods left in the lane."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.adapters.db import catalogue
from app.adapters.db.schema import MoveRow, OperatorRow, OrderEventRow, OrderRow, table
from app.adapters.db.station_data import SqlStationData
from app.domain.catalogue import OrderLineSpec
from app.domain.commands import Opening, OpeningLine
from app.domain.orders import OrderState
from app.domain.workflow import Level, ShipmentLine, StagedGoods
from app.services.station import StationSession
from app.services.station_view import ScanState
from tests.support.session import scan
from tests.support.shipping import order_status, pick_order, stock_at
from tests.support.warehouse import Warehouse


def add_orders(wh: Warehouse, *lines: OrderLineSpec) -> None:
    with wh.engine.begin() as c:
        catalogue.add_orders(c, list(lines))


@pytest.fixture
def stocked(warehouse: Warehouse) -> Warehouse:
    """SO-1 (3 BOLT, 2 WIDGET) and SO-2 (1 BOLT), with the stock to pick them."""
    add_orders(
        warehouse,
        OrderLineSpec("SO-1", 1, "BOLT", 3),
        OrderLineSpec("SO-1", 2, "WIDGET", 2),
        OrderLineSpec("SO-2", 1, "BOLT", 1),
    )
    opened = warehouse.run(
        Opening,
        lines=(OpeningLine("BOLT", "A-01-03", 20), OpeningLine("WIDGET", "A-01-01", 10)),
    )
    assert opened.ok, opened.message
    return warehouse


@pytest.fixture
def session(station: tuple[StationSession, Path], stocked: Warehouse) -> StationSession:
    return station[0]


def log_in(session: StationSession, badge: str) -> None:
    view = scan(session, badge)
    assert view.operator is not None, view.feedback
    view = scan(session, "@CMD:MODE:SHIP")
    assert view.mode is not None and view.mode.value == "ship", view.feedback


def events(wh: Warehouse, order: str) -> list[tuple[str, str]]:
    e, o, op = table(OrderEventRow), table(OrderRow), table(OperatorRow)
    approver = op.alias("approver")
    stmt = (
        select(e.c.event, func.coalesce(approver.c.badge, ""))
        .select_from(
            e.join(o, o.c.id == e.c.order_id).outerjoin(
                approver, approver.c.id == e.c.approved_by_id
            )
        )
        .where(o.c.code == order)
        .order_by(e.c.id)
    )
    with wh.engine.connect() as c:
        return [(str(a), str(b)) for a, b in c.execute(stmt)]


def moves(wh: Warehouse) -> int:
    with wh.engine.connect() as c:
        return int(c.execute(select(func.count()).select_from(table(MoveRow))).scalar_one())


def test_the_ship_station_reads_an_order_its_lane_and_the_orders_waiting(
    stocked: Warehouse,
) -> None:
    data = SqlStationData(stocked.engine)
    assert data.shipment("SO-404") is None
    pick_order(stocked, "SO-1", into="OUT-1", short={2: 1})
    shipment = data.shipment("SO-1")
    assert shipment is not None and shipment.state is OrderState.PICKED
    assert shipment.lines == (
        ShipmentLine(1, "BOLT", 3, picked=3, shipped=0, staged=3),
        ShipmentLine(2, "WIDGET", 2, picked=1, shipped=0, staged=1),
    )
    assert sorted(shipment.staged, key=lambda g: g.sku) == [
        StagedGoods("OUT-1", "BOLT", None, 3),
        StagedGoods("OUT-1", "WIDGET", None, 1),
    ]
    assert shipment.locations == ("OUT-1",)
    open_ = data.shipment("SO-2")
    assert open_ is not None and open_.state is OrderState.OPEN and not open_.staged
    assert data.orders_at("OUT-1") == ["SO-1"]
    assert data.orders_at("STAGE-1") == [] and data.orders_at("NO-SUCH") == []
    assert data.shippable_orders(10) == ["SO-1"]
    pick_order(stocked, "SO-2", into="OUT-1")
    assert data.orders_at("OUT-1") == ["SO-1", "SO-2"]
    assert data.shippable_orders(1) == ["SO-1"] and data.shippable_orders(0) == []


def test_a_short_shipment_ships_once_a_supervisor_approves(
    session: StationSession, stocked: Warehouse
) -> None:
    pick_order(stocked, "SO-1", into="OUT-1", short={2: 1})
    log_in(session, "D1")
    assert session.view().choices == ("SO-1",)
    shown = scan(session, "OUT-1")
    assert shown.feedback is not None and shown.feedback.level is Level.WARNING
    assert "line 2 WIDGET: staged 1 of 2 ordered (1 short)" in shown.lines
    asked = scan(session, "@CMD:CONFIRM")
    assert asked.scans[0].state is ScanState.REJECTED  # the ledger refused: approval required
    assert asked.prompt.startswith("Supervisor: scan your badge to approve shipping SO-1 short")
    assert order_status(stocked, "SO-1") == "picked"
    assert stock_at(stocked, "OUT-1") != []
    pin = scan(session, "S1")
    assert pin.entry is not None and "S1" in pin.prompt
    done = session.handle_entry("123456")
    assert done.feedback is not None and done.feedback.level is Level.OK, done.feedback
    assert done.feedback.text.startswith("Shipped SO-1, approved by S1: 4 unit(s)")
    assert order_status(stocked, "SO-1") == "shipped"
    assert stock_at(stocked, "OUT-1") == []
    assert stocked.on_hand("CUSTOMER", "WIDGET") == 1
    assert events(stocked, "SO-1")[-1] == ("shipped", "S1")
    assert stocked.invariants().total == 0
    assert session.view().choices == ()


def test_a_lane_with_two_orders_and_an_unpicked_order_are_refused_without_a_change(
    session: StationSession, stocked: Warehouse
) -> None:
    pick_order(stocked, "SO-1", into="OUT-1")
    pick_order(stocked, "SO-2", into="OUT-1")
    log_in(session, "D1")
    before = moves(stocked)
    both = scan(session, "OUT-1")
    assert both.scans[0].state is ScanState.REFUSED
    assert (
        both.feedback is not None
        and both.feedback.text == "OUT-1 holds SO-1, SO-2: scan the order."
    )
    add_orders(stocked, OrderLineSpec("SO-3", 1, "BOLT", 1))
    unpicked = scan(session, "SO-3")
    assert unpicked.feedback is not None and unpicked.feedback.level is Level.ERROR
    assert unpicked.feedback.text.startswith("SO-3 is open: nothing of it is picked yet.")
    refused = scan(session, "@CMD:CONFIRM")
    assert refused.scans[0].state is ScanState.REFUSED
    assert moves(stocked) == before and order_status(stocked, "SO-3") == "open"
    shipped = scan(session, "SO-2")
    assert shipped.feedback is not None and shipped.feedback.level is Level.OK
    done = scan(session, "@CMD:CONFIRM")
    assert done.feedback is not None and done.feedback.text.startswith("Shipped SO-2")
    again = scan(session, "SO-2")
    assert again.feedback is not None
    assert (
        again.feedback.text == "SO-2 is already shipped: it cannot be shipped. Scan another order."
    )
    assert order_status(stocked, "SO-1") == "picked"
    assert stocked.on_hand("OUT-1", "BOLT") == 3


def test_a_supervisor_cancels_a_picked_order_and_sees_what_to_put_back(
    session: StationSession, stocked: Warehouse
) -> None:
    pick_order(stocked, "SO-1", into="OUT-1")
    log_in(session, "D1")
    scan(session, "SO-1")
    asked = scan(session, "@CMD:CANCELORDER")
    assert asked.prompt.startswith("Supervisor: scan your badge to approve cancelling order SO-1")
    scan(session, "S2")
    done = session.handle_entry("567890")
    assert done.feedback is not None and done.feedback.level is Level.OK, done.feedback
    assert done.feedback.text.startswith("Cancelled SO-1, approved by S2.")
    assert "put back: 3 x BOLT in OUT-1 (the putaway screen offers them)" in done.lines
    assert "put back: 2 x WIDGET in OUT-1 (the putaway screen offers them)" in done.lines
    assert order_status(stocked, "SO-1") == "cancelled"
    assert events(stocked, "SO-1")[-1] == ("cancelled", "S2")
    assert stocked.on_hand("OUT-1", "BOLT") == 3  # waits for the putaway
    assert stocked.invariants().total == 0
