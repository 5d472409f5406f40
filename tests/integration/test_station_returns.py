"""Issue 9 through the real station session on both databases: a customer return checked
against what its order shipped (a reason code on each, a refusal of what the order never shipped
and a supervisor's acceptance of it as an unexpected return, damaged goods scrapped after
CONFIRM), and a cancelled order's picked goods put back to stock through the putaway mode."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from app.adapters.db.catalogue import add_orders
from app.adapters.db.schema import MoveRow, TransactionRow, table
from app.adapters.db.station_data import SqlStationData
from app.adapters.outbox import Outbox
from app.domain.catalogue import OrderLineSpec
from app.domain.commands import (
    CancelOrder,
    Opening,
    OpeningLine,
    PostPick,
    ReleaseHow,
    ReleaseList,
    TakeList,
)
from app.domain.workflow import Level, Putback
from app.services.station import StationSession
from app.services.station_view import ScanState, StationView
from tests.support.scenarios import WIDGET_GTIN, ship_order
from tests.support.session import scan
from tests.support.warehouse import Warehouse


def said(view: StationView) -> str:
    return view.feedback.text if view.feedback else ""


def level(view: StationView) -> Level | None:
    return view.feedback.level if view.feedback else None


def opening(wh: Warehouse, *lines: OpeningLine) -> None:
    outcome = wh.run(Opening, lines=lines)
    assert outcome.ok, outcome.message


def order(wh: Warehouse, *lines: OrderLineSpec) -> None:
    with wh.engine.begin() as c:
        add_orders(c, list(lines))


def returns(wh: Warehouse) -> list[tuple[str, dict[str, object]]]:
    """Confirmed return transactions: (status, result), oldest first."""
    t = table(TransactionRow)
    with wh.engine.connect() as c:
        rows = c.execute(
            select(t.c.status, t.c.result).where(t.c.kind == "return").order_by(t.c.db_time)
        ).all()
    return [(str(r.status), dict(r.result or {})) for r in rows]


def test_a_return_is_checked_against_what_its_order_shipped(
    station: tuple[StationSession, Path], warehouse: Warehouse
) -> None:
    session, outbox_path = station
    opening(warehouse, OpeningLine("WIDGET", "A-01-02", 2), OpeningLine("BOLT", "A-01-03", 1))
    order(warehouse, OrderLineSpec("SO-2", 1, "WIDGET", 2), OrderLineSpec("SO-2", 2, "BOLT", 1))
    ship_order(warehouse, "SO-2")
    assert warehouse.on_hand("OUT-1", "WIDGET") == 0

    scan(session, "D1")
    view = scan(session, "@CMD:MODE:RETURN")
    assert view.prompt == "Scan the order the returned goods came from."
    # An item before its order is refused, and nothing moves.
    view = scan(session, WIDGET_GTIN)
    assert level(view) is Level.ERROR and "Scan the order the goods came from first" in said(view)
    view = scan(session, "@CMD:CANCEL")
    assert "set the goods aside" in said(view) and warehouse.on_hand("RET-1", "WIDGET") == 0

    # Both widgets the order shipped come back, not wanted: restocked.
    scan(session, "SO-2")
    scan(session, "@CMD:QTY:2")
    view = scan(session, WIDGET_GTIN)
    assert view.prompt.startswith("Why did 2 x WIDGET come back?")
    view = scan(session, "@CMD:REASON:NOT_WANTED")
    assert said(view) == "Returned 2 x WIDGET to RET-1.", said(view)
    scan(session, "A-01-01")
    assert warehouse.on_hand("A-01-01", "WIDGET") == 2

    # A third widget was never shipped: refused, set aside, nothing changes.
    scan(session, WIDGET_GTIN)
    view = scan(session, "@CMD:REASON:OTHER")
    assert level(view) is Level.ERROR and "SO-2 shipped 2 x WIDGET" in said(view)
    assert "2 came back already" in said(view) and "CONFIRM" in said(view)
    view = scan(session, "@CMD:CANCEL")
    assert said(view) == "1 x WIDGET not returned: set the goods aside for a supervisor."
    assert warehouse.on_hand("RET-1", "WIDGET") == 0

    # Three bolts for one shipped: refused, then a supervisor accepts them as unexpected.
    scan(session, "@CMD:QTY:3")
    scan(session, "BOLT-ALIAS")
    view = scan(session, "@CMD:REASON:WRONG_ITEM")
    assert level(view) is Level.ERROR and "SO-2 shipped 1 x BOLT" in said(view)
    view = scan(session, "@CMD:CONFIRM")
    assert view.prompt.startswith("Supervisor: scan your badge to approve accepting 3 x BOLT")
    view = scan(session, "S1")
    assert view.prompt == "Supervisor S1: enter your PIN on the keypad."
    view = session.handle_entry("123456")
    assert said(view) == "Returned 3 x BOLT to RET-1 as an unexpected return, accepted by S1."
    assert warehouse.on_hand("RET-1", "BOLT") == 3

    # Damaged: scrapped only after CONFIRM.
    view = scan(session, "@CMD:DAMAGED")
    assert view.prompt == "Scrap 3 x BOLT? CONFIRM to scrap, CANCEL to keep inspecting."
    assert warehouse.on_hand("SCRAP", "BOLT") == 0
    view = scan(session, "@CMD:CONFIRM")
    assert said(view) == "Scrapped 3 x BOLT."
    assert warehouse.on_hand("SCRAP", "BOLT") == 3 and warehouse.on_hand("RET-1", "BOLT") == 0

    statuses = returns(warehouse)
    assert [s for s, _ in statuses] == ["confirmed", "refused", "refused", "confirmed"]
    assert not statuses[0][1].get("unexpected") and statuses[3][1].get("unexpected") is True
    m = table(MoveRow)
    with warehouse.engine.connect() as c:
        reasons = sorted(
            (str(r.reason), r.order_line_id is None)
            for r in c.execute(
                select(m.c.reason, m.c.order_line_id).where(m.c.reason.like("return%"))
            )
        )
    assert reasons == [("return: not_wanted", False), ("return: wrong_item", True)]
    with Outbox(outbox_path) as outbox:
        assert {e.state for e in outbox.entries()} <= {"confirmed", "refused"}
    assert warehouse.invariants().total == 0


def test_a_cancelled_orders_goods_go_back_through_putaway(
    station: tuple[StationSession, Path], warehouse: Warehouse
) -> None:
    session, _ = station
    opening(warehouse, OpeningLine("BOLT", "A-01-03", 10))
    order(warehouse, OrderLineSpec("SO-3", 1, "BOLT", 4))
    ledger = Warehouse(warehouse.engine, warehouse.ledger, "ST-2", "P1")
    assert ledger.run(TakeList, order="SO-3").ok
    data = SqlStationData(warehouse.engine)
    (pick,) = data.open_picks("SO-3")
    assert ledger.run(PostPick, reservation=pick.reservation, qty=4, to_location="OUT-1").ok
    assert ledger.run(ReleaseList, order="SO-3", how=ReleaseHow.FINISHED).ok
    assert data.putbacks(10) == []  # picked, not cancelled: nothing to put back
    supervisor = Warehouse(warehouse.engine, warehouse.ledger, "ST-2", "S1")
    cancelled = supervisor.run(CancelOrder, order="SO-3", reason="customer called")
    assert cancelled.ok, cancelled.message
    assert data.putbacks(10) == [Putback("SO-3", "OUT-1", "BOLT", None, 4)]

    scan(session, "D1")
    view = scan(session, "@CMD:MODE:PUTAWAY")
    assert "Cancelled SO-3: 4 x BOLT in OUT-1" in view.lines
    view = scan(session, "OUT-1")
    assert level(view) is Level.OK and "cancelled SO-3" in said(view)
    scan(session, "@CMD:QTY:1")
    view = scan(session, "BOLT-ALIAS")
    assert view.prompt.startswith("Put 1 x BOLT into ")
    view = scan(session, "A-01-03")
    assert view.scans[0].state is ScanState.CONFIRMED, said(view)
    assert said(view).startswith("Put 1 x BOLT into A-01-03") and "cancelled SO-3" in said(view)
    assert data.putbacks(10) == [Putback("SO-3", "OUT-1", "BOLT", None, 3)]
    scan(session, "BOLT-ALIAS")
    view = scan(session, "A-01-03")
    assert "back to DOCK-1" in said(view), said(view)
    assert view.prompt == "Scan an item or licence plate on DOCK-1 to put it away."
    assert warehouse.on_hand("OUT-1", "BOLT") == 0
    assert warehouse.on_hand("A-01-03", "BOLT") == 10
    assert data.putbacks(10) == []
    assert not any(line.startswith("Cancelled") for line in view.lines)
    assert warehouse.invariants().total == 0
