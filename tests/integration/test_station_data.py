"""The warehouse as a station's workflows read it, over SQL on both databases: stations, people,
items, receipts, orders, pick lists, bin contents and count tasks; hostile codes answered with
nothing and without a query; reads that never wait for the write lock.

The station's work items are ledger transactions, not writes of this adapter: closing a receipt
(CloseReceipt), raising and saving a count task (RaiseCount, SaveCount) and holding a suggested
bin's room (HoldBin) are submitted here as a station sends them, and read back through the
adapter and the rows."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, event, exc, insert, select, text, update

from app.adapters import pins
from app.adapters.db import authority, catalogue, work_items
from app.adapters.db.engine import make_engine
from app.adapters.db.schema import (
    CountTaskRow,
    LocationRow,
    OperatorRow,
    OrderRow,
    ReceiptRow,
    SkuRow,
    StationRow,
    StowHoldRow,
    TransactionRow,
    table,
)
from app.adapters.db.station_data import SqlStationData
from app.adapters.db.uow import SqlLedger
from app.domain.catalogue import LocationSpec, OrderLineSpec, ReceiptLineSpec, StationSpec
from app.domain.commands import (
    CloseReceipt,
    Command,
    CountLine,
    HoldBin,
    Opening,
    OpeningLine,
    PostPick,
    Putaway,
    RaiseCount,
    Receive,
    Reserve,
    SaveCount,
    TakeList,
)
from app.domain.errors import Reason, Rejection
from app.domain.ledger import Outcome
from app.domain.model import LocationKind, Operator, Role, Tracking
from app.domain.rules import PinStatus
from app.domain.workflow import (
    CountState,
    CountTask,
    Holding,
    PickLine,
    ReceiptLine,
    SkuInfo,
    StationInfo,
)
from app.services.ledger import submit
from tests.support.warehouse import BINS, Warehouse, seed

GTIN = "05901234123457"
HOSTILE_NO_QUERY = ["X" * 65, "A-01-01\x00", "D1\x00", "", "A\udcff"]
"""Text no code column could hold: answered without asking the database."""
HOSTILE_SQL = ["'; DROP TABLE skus; --", "A-01-01' OR '1'='1", "%", "\\", "R-1' --"]
"""Text a column could hold: looked up as a parameter, and found to be nothing."""
NOT_UTF8 = "A\udcff"
SENDABLE_OR_NOT = [code for code in HOSTILE_NO_QUERY if code != NOT_UTF8]
"""The hostile codes a command refuses (too long, control characters) or the ledger answers as
unknown; text that is not UTF-8 has its own test below."""


@pytest.fixture
def data(warehouse: Warehouse) -> SqlStationData:
    return SqlStationData(warehouse.engine)


def ok(outcome: Outcome) -> Outcome:
    assert outcome.ok, outcome.message
    return outcome


def refused(outcome: Outcome, reason: Reason) -> Outcome:
    assert not outcome.ok and outcome.reason == reason.value, (outcome.reason, outcome.message)
    return outcome


def stock(wh: Warehouse, *lines: OpeningLine) -> None:
    ok(wh.run(Opening, lines=lines))


class StatementCounter:
    """Counts the statements an engine sends to its database."""

    def __init__(self, engine: Engine) -> None:
        self.engine, self.count = engine, 0

    def _seen(self, *_: Any) -> None:
        self.count += 1

    def __enter__(self) -> StatementCounter:
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)


# --- stations, people, items, locations ---------------------------------------------------------


def test_a_station_knows_its_zone_dock_quarantine_and_returns_lane(
    warehouse: Warehouse, data: SqlStationData
) -> None:
    with warehouse.engine.begin() as c:
        catalogue.add_locations(
            c,
            [
                LocationSpec("Q-0", LocationKind.QUARANTINE),  # first by code, but blocked
                LocationSpec("QUAR-2", LocationKind.QUARANTINE),
                LocationSpec("RET-0", LocationKind.RETURNS),
            ],
        )
        loc = table(LocationRow)
        c.execute(update(loc).where(loc.c.code == "Q-0").values(active=False))
        catalogue.add_stations(c, [StationSpec("ST-9", "Counting cart", None, None)])

    assert data.station("ST-1") == StationInfo("ST-1", "A", "DOCK-1", "QUAR-1", "RET-0")
    assert data.station("ST-2") == StationInfo("ST-2", "B", "DOCK-2", "QUAR-1", "RET-0")
    assert data.station("ST-9") == StationInfo("ST-9", None, None, "QUAR-1", "RET-0")
    assert data.station("ST-3") is None
    assert data.station("st-1") is None  # exact, case and all


def test_operators_and_supervisor_pins(warehouse: Warehouse, data: SqlStationData) -> None:
    dana = data.operator("D1")
    assert dana is not None
    assert (dana.badge, dana.name, dana.role, dana.active) == ("D1", "Dana Dock", Role.DOCK, True)
    gone = data.operator("GONE")
    assert isinstance(gone, Operator) and gone.active is False  # the login refuses it
    assert data.operator("NOBODY") is None

    o = table(OperatorRow)
    with warehouse.engine.begin() as c:  # a PIN alone does not make a supervisor
        ids = {r.badge: r.id for r in c.execute(select(o.c.badge, o.c.id))}
        authority.set_pins(c, {ids["D1"]: pins.prepare("123456")})
    assert data.check_pin("S1", "123456").ok
    assert data.check_pin("S2", "567890").ok
    wrong = data.check_pin("S1", "567890")  # another supervisor's PIN
    assert (wrong.status, wrong.left) == (PinStatus.WRONG, 2)
    assert data.check_pin("S1", "").status is PinStatus.NO_PIN  # nothing to check
    assert data.check_pin("D1", "123456").status is PinStatus.NO_PIN
    assert data.check_pin("C1", "123456").status is PinStatus.NO_PIN  # no PIN at all
    assert data.check_pin("NOBODY", "123456").status is PinStatus.NO_PIN
    assert data.check_pin("S1", "123456").ok  # a right PIN clears the count
    with warehouse.engine.begin() as c:
        c.execute(update(o).where(o.c.badge == "S2").values(active=False))
    assert data.check_pin("S2", "567890").status is PinStatus.NO_PIN


def test_items_by_code_and_by_gtin(data: SqlStationData) -> None:
    assert data.sku("WIDGET") == SkuInfo("WIDGET", "Blue widget", Tracking.NONE, GTIN)
    assert data.sku("BOLT") == SkuInfo("BOLT", "Hex bolt M8", Tracking.NONE, None)  # alias only
    assert data.sku("MILK") == SkuInfo("MILK", "Milk 1 l", Tracking.LOT, None)
    assert data.sku("PHONE") == SkuInfo("PHONE", "Phone X", Tracking.SERIAL, None)
    assert data.sku("widget") is None
    assert data.sku(GTIN) is None
    assert data.sku_by_gtin(GTIN) == SkuInfo("WIDGET", "Blue widget", Tracking.NONE, GTIN)
    assert data.sku_by_gtin("BOLT-ALIAS") is None  # an alias is not a GTIN
    assert data.sku_by_gtin("09506000134352") is None


def test_location_kinds_of_real_locations_only(data: SqlStationData) -> None:
    assert data.location_kind("A-01-01") == "bin"
    assert data.location_kind("BLOCKED") == "bin"  # blocked, but a bin: putaway says so
    assert data.location_kind("DOCK-1") == "dock"
    assert data.location_kind("QUAR-1") == "quarantine"
    assert data.location_kind("RET-1") == "returns"
    assert data.location_kind("STAGE-1") == "staging"
    assert data.location_kind("OUT-1") == "outbound"
    for virtual in ("VENDOR", "CUSTOMER", "ADJUSTMENT", "SCRAP"):
        assert data.location_kind(virtual) is None
    assert data.location_kind("Z-99") is None


def hold_rows(wh: Warehouse) -> list[tuple[str, str, int, str | None]]:
    h, loc, s, st = table(StowHoldRow), table(LocationRow), table(SkuRow), table(StationRow)
    stmt = (
        select(loc.c.code, s.c.code, h.c.units, st.c.code)
        .select_from(
            h.join(loc, loc.c.id == h.c.location_id)
            .join(s, s.c.id == h.c.sku_id)
            .outerjoin(st, st.c.id == h.c.station_id)
        )
        .order_by(h.c.id)
    )
    with wh.engine.connect() as c:
        return [(r[0], r[1], int(r[2]), r[3]) for r in c.execute(stmt)]


def test_a_putaway_suggestion_is_a_hold_bin_transaction_naming_a_real_bin(
    warehouse: Warehouse, data: SqlStationData
) -> None:
    """The adapter offers no bin of its own: HoldBin asks the stow policy (its defaults here) in
    a ledger transaction and holds the bin's room for the station."""
    held = ok(warehouse.run(HoldBin, sku="WIDGET", qty=5))
    bin_code = held.result["location"]
    assert bin_code in BINS and data.location_kind(bin_code) == "bin"
    assert hold_rows(warehouse) == [(bin_code, "WIDGET", 5, "ST-1")]

    unknown = refused(warehouse.run(HoldBin, sku="NOPE", qty=5), Reason.UNKNOWN_SKU)
    assert "NOPE" in unknown.message
    assert hold_rows(warehouse) == [(bin_code, "WIDGET", 5, "ST-1")]


# --- receipts ---------------------------------------------------------------------------------


def add_receipts(wh: Warehouse) -> None:
    # Added one by one, so that their order of arrival is not the order of their codes.
    with wh.engine.begin() as c:
        catalogue.add_receipts(
            c,
            [
                ReceiptLineSpec("R-B", 1, "WIDGET", 10),
                ReceiptLineSpec("R-B", 2, "MILK", 5, "L1", date(2031, 1, 1)),
                ReceiptLineSpec("R-B", 3, "WIDGET", 2),
            ],
        )
        catalogue.add_receipts(c, [ReceiptLineSpec("R-A", 1, "BOLT", 3)])
        catalogue.add_receipts(c, [ReceiptLineSpec("R-C", 1, "BOLT", 1)])


def receipt_row(wh: Warehouse, code: str) -> Any:
    """A receipt's status and what its closing stored, with badges for operator ids."""
    r = table(ReceiptRow)
    closer, approver = table(OperatorRow).alias("closer"), table(OperatorRow).alias("approver")
    stmt = (
        select(
            r.c.status,
            r.c.closed_at,
            closer.c.badge.label("closed_by"),
            approver.c.badge.label("approved_by"),
            r.c.close_tx_id,
            r.c.discrepancies,
        )
        .select_from(
            r.outerjoin(closer, closer.c.id == r.c.closed_by_id).outerjoin(
                approver, approver.c.id == r.c.close_approved_by_id
            )
        )
        .where(r.c.code == code)
    )
    with wh.engine.connect() as c:
        return c.execute(stmt).one()


def test_open_receipts_oldest_first_and_closing_one(
    warehouse: Warehouse, data: SqlStationData
) -> None:
    add_receipts(warehouse)
    assert data.open_receipts(10) == ["R-B", "R-A", "R-C"]
    assert data.open_receipts(2) == ["R-B", "R-A"]
    assert data.open_receipts(0) == []
    ok(warehouse.run(CloseReceipt, receipt="R-A", approved_by="S1"))  # nothing came: short
    refused(warehouse.run(CloseReceipt, receipt="R-NONE"), Reason.UNKNOWN_RECEIPT)
    assert data.open_receipts(10) == ["R-B", "R-C"]
    statuses = {code: getattr(data.receipt(code), "status", None) for code in ("R-A", "R-C")}
    assert statuses == {"R-A": "closed", "R-C": "open"}


def test_closing_a_receipt_stores_who_closed_it_who_approved_and_what_differed(
    warehouse: Warehouse, data: SqlStationData
) -> None:
    add_receipts(warehouse)
    # WIDGET: 12 expected over two lines, 12 received (2 of them damaged); MILK: 5 expected, 3.
    ok(warehouse.run(Receive, sku="WIDGET", qty=10, to_location="DOCK-1", receipt="R-B"))
    ok(warehouse.run(Receive, sku="WIDGET", qty=2, to_location="QUAR-1", receipt="R-B"))
    milk = {"lot": "L1", "expiry": date(2031, 1, 1), "to_location": "DOCK-1", "receipt": "R-B"}
    ok(warehouse.run(Receive, sku="MILK", qty=3, **milk))
    closing = warehouse.command(CloseReceipt, receipt="R-B", approved_by="S1")
    closed = ok(submit(closing, warehouse.ledger))

    short = [{"sku": "MILK", "expected": 5, "received": 3}]
    assert closed.result["discrepancies"] == short
    row = receipt_row(warehouse, "R-B")
    assert (row.status, row.closed_by, row.approved_by, row.close_tx_id, row.discrepancies) == (
        "closed",
        "D1",
        "S1",
        closing.tx_id,
        short,
    )
    assert row.closed_at is not None
    assert getattr(data.receipt("R-B"), "status", None) == "closed"
    assert data.open_receipts(10) == ["R-A", "R-C"]

    # Closed once: a second close, by anyone, is refused naming who closed it, and changes nothing.
    again = refused(
        warehouse.run(CloseReceipt, receipt="R-B", operator="S2"), Reason.RECEIPT_CLOSED
    )
    assert "already closed by D1" in again.message
    assert receipt_row(warehouse, "R-B") == row

    # Everything as expected closes with no discrepancy; a SKU the receipt never named is one.
    ok(warehouse.run(Receive, sku="BOLT", qty=3, to_location="DOCK-1", receipt="R-A"))
    assert ok(warehouse.run(CloseReceipt, receipt="R-A")).result["discrepancies"] == []
    assert receipt_row(warehouse, "R-A").discrepancies == []
    ok(warehouse.run(Receive, sku="BOLT", qty=1, to_location="DOCK-1", receipt="R-C"))
    unexpected = {"to_location": "DOCK-1", "receipt": "R-C"}
    ok(warehouse.run(Receive, sku="WIDGET", qty=2, approved_by="S2", **unexpected))
    ok(warehouse.run(CloseReceipt, receipt="R-C"))
    other = receipt_row(warehouse, "R-C")
    assert other.discrepancies == [{"sku": "WIDGET", "expected": 0, "received": 2}]
    assert (other.closed_by, other.approved_by) == ("D1", None)


def test_a_close_is_refused_for_an_unknown_receipt_and_an_approver_who_is_no_supervisor(
    warehouse: Warehouse, data: SqlStationData
) -> None:
    add_receipts(warehouse)
    refused(warehouse.run(CloseReceipt, receipt="R-NONE"), Reason.UNKNOWN_RECEIPT)
    for badge in ("P1", "GONE", "NOBODY", "S1"):  # S1: a supervisor approving their own close
        answer = warehouse.run(CloseReceipt, receipt="R-B", approved_by=badge, operator="S1")
        refused(answer, Reason.NOT_ALLOWED)
    row = receipt_row(warehouse, "R-B")
    assert (row.status, row.closed_at, row.closed_by, row.close_tx_id) == ("open", None, None, None)
    assert data.open_receipts(10) == ["R-B", "R-A", "R-C"]


def test_a_resent_close_gets_the_stored_answer_and_closes_once(warehouse: Warehouse) -> None:
    add_receipts(warehouse)
    closing = warehouse.command(CloseReceipt, receipt="R-A", approved_by="S1")  # short
    first = ok(submit(closing, warehouse.ledger))
    row = receipt_row(warehouse, "R-A")
    resent = submit(closing, warehouse.ledger)
    assert (first.replayed, resent.replayed) == (False, True)
    assert (resent.status, resent.reason, resent.message, dict(resent.result)) == (
        first.status,
        None,
        first.message,
        dict(first.result),
    )
    assert dict(first.result)["discrepancies"] == [{"sku": "BOLT", "expected": 3, "received": 0}]
    assert receipt_row(warehouse, "R-A") == row  # closed_at and all: not closed a second time
    t = table(TransactionRow)
    with warehouse.engine.connect() as c:
        kinds = c.execute(select(t.c.id).where(t.c.kind == "close_receipt")).scalars().all()
    assert kinds == [closing.tx_id]


def test_a_receipt_with_its_lines_and_what_was_received_against_it(
    warehouse: Warehouse, data: SqlStationData
) -> None:
    add_receipts(warehouse)
    receipt = data.receipt("R-B")
    assert receipt is not None
    assert receipt.status == "open"
    assert receipt.lines == (
        ReceiptLine(1, "WIDGET", 10),
        ReceiptLine(2, "MILK", 5, "L1", date(2031, 1, 1)),
        ReceiptLine(3, "WIDGET", 2),
    )
    assert receipt.expected("WIDGET") == 12
    assert dict(receipt.received) == {}

    ok(warehouse.run(Receive, sku="WIDGET", qty=4, to_location="DOCK-1", receipt="R-B"))
    ok(warehouse.run(Receive, sku="WIDGET", qty=2, to_location="QUAR-1", receipt="R-B"))
    ok(
        warehouse.run(
            Receive,
            sku="MILK",
            qty=5,
            lot="L1",
            expiry=date(2031, 1, 1),
            to_location="DOCK-1",
            receipt="R-B",
        )
    )
    # Not against R-B: blind, another receipt, refused, and moves that are not receipts.
    ok(warehouse.run(Receive, sku="WIDGET", qty=7, to_location="DOCK-1"))
    ok(
        warehouse.run(
            Receive, sku="WIDGET", qty=9, to_location="DOCK-1", receipt="R-A", approved_by="S1"
        )
    )  # not expected on R-A: approved
    refused = warehouse.run(Receive, sku="WIDGET", qty=50, to_location="A-01-01", receipt="R-B")
    assert not refused.ok
    ok(warehouse.run(Putaway, sku="WIDGET", qty=3, from_location="DOCK-1", to_location="A-01-01"))

    receipt = data.receipt("R-B")
    assert receipt is not None
    assert dict(receipt.received) == {"WIDGET": 6, "MILK": 5}
    other = data.receipt("R-A")
    assert other is not None and dict(other.received) == {"WIDGET": 9}
    assert other.lines == (ReceiptLine(1, "BOLT", 3),)
    assert data.receipt("R-NONE") is None


# --- orders and pick lists --------------------------------------------------------------------


def add_orders(wh: Warehouse) -> None:
    with wh.engine.begin() as c:
        catalogue.add_orders(
            c, [OrderLineSpec("O-2", 1, "WIDGET", 5), OrderLineSpec("O-2", 2, "MILK", 2)]
        )
        catalogue.add_orders(c, [OrderLineSpec("O-1", 1, "BOLT", 1)])
        catalogue.add_orders(c, [OrderLineSpec("O-3", 1, "BOLT", 1)])


def test_open_orders_leave_the_list_once_shipped(
    warehouse: Warehouse, data: SqlStationData
) -> None:
    add_orders(warehouse)
    assert data.open_orders(10) == ["O-2", "O-1", "O-3"]
    assert data.open_orders(1) == ["O-2"]
    o = table(OrderRow)
    with warehouse.engine.begin() as c:
        c.execute(update(o).where(o.c.code == "O-1").values(status="shipped"))
    assert data.open_orders(10) == ["O-2", "O-3"]


def test_open_picks_in_pick_path_order(warehouse: Warehouse, data: SqlStationData) -> None:
    add_orders(warehouse)
    stock(
        warehouse,
        OpeningLine("WIDGET", "B-01-01", 10),  # pick sequence 5
        OpeningLine("WIDGET", "A-01-02", 3),  # pick sequence 2
        OpeningLine("MILK", "A-01-01", 4, "L1", date(2031, 1, 1)),  # pick sequence 1
        OpeningLine("BOLT", "A-01-03", 5),
    )
    taken = ok(warehouse.run(TakeList, order="O-2")).result["lines"]
    ok(warehouse.run(TakeList, order="O-1"))
    made = [r for line in taken for r in line["reservations"]]
    ids = {r["location"]: r["reservation"] for r in made}

    assert data.open_picks("O-2") == [
        PickLine(ids["A-01-01"], "O-2", 2, "MILK", "L1", "A-01-01", 1, 2),
        PickLine(ids["A-01-02"], "O-2", 1, "WIDGET", None, "A-01-02", 2, 3),
        PickLine(ids["B-01-01"], "O-2", 1, "WIDGET", None, "B-01-01", 5, 2),
    ]
    ok(warehouse.run(PostPick, reservation=ids["A-01-02"], qty=3, to_location="OUT-1"))
    assert [p.location for p in data.open_picks("O-2")] == ["A-01-01", "B-01-01"]
    assert [p.sku for p in data.open_picks("O-1")] == ["BOLT"]
    assert data.open_picks("O-3") == []
    assert data.open_picks("O-9") == []


# --- contents ---------------------------------------------------------------------------------


def test_contents_of_a_location_per_item_and_lot(
    warehouse: Warehouse, data: SqlStationData
) -> None:
    stock(
        warehouse,
        OpeningLine("MILK", "A-01-01", 4, "L2", date(2031, 2, 1)),
        OpeningLine("MILK", "A-01-01", 6, "L1", date(2031, 1, 1)),
        OpeningLine("WIDGET", "A-01-01", 3),
        OpeningLine("BOLT", "A-01-01", 8),
        OpeningLine("WIDGET", "A-01-02", 2),
    )
    assert data.contents("A-01-01") == [
        Holding("BOLT", None, 8),
        Holding("MILK", "L1", 6),
        Holding("MILK", "L2", 4),
        Holding("WIDGET", None, 3),
    ]
    ok(warehouse.run(Receive, sku="WIDGET", qty=5, to_location="DOCK-1"))
    assert data.contents("DOCK-1") == [Holding("WIDGET", None, 5)]

    # Reserved stock is still on hand; picked-out stock is gone, its empty balance row unlisted.
    reserve = {"order": "O", "line": 1, "sku": "WIDGET", "qty": 2, "location": "A-01-02"}
    [line] = ok(warehouse.run(Reserve, **reserve)).result["lines"]
    assert data.contents("A-01-02") == [Holding("WIDGET", None, 2)]
    ok(warehouse.run(PostPick, reservation=line["reservation"], qty=2, to_location="OUT-1"))
    assert data.contents("A-01-02") == []
    assert data.contents("OUT-1") == [Holding("WIDGET", None, 2)]
    assert data.contents("VENDOR") == []  # a counterparty, not a place
    assert data.contents("Z-99") == []


# --- count tasks ------------------------------------------------------------------------------


def task_rows(wh: Warehouse) -> list[Any]:
    ct, loc = table(CountTaskRow), table(LocationRow)
    with wh.engine.connect() as c:
        return list(
            c.execute(
                select(ct, loc.c.code.label("location"))
                .join(loc, loc.c.id == ct.c.location_id)
                .order_by(ct.c.id)
            )
        )


def raise_count(
    wh: Warehouse, location: str, reason: str, *, station: str = "ST-1", operator: str = "P1"
) -> Outcome:
    return wh.run(RaiseCount, location=location, reason=reason, station=station, operator=operator)


def save_count(
    wh: Warehouse,
    location: str,
    state: CountState,
    counter: str,
    counts: Sequence[Holding],
    snapshot: Sequence[Holding],
    *,
    operator: str | None = None,
) -> Outcome:
    """A count saved as the counter's station sends it (the counter is the operator unless
    told otherwise)."""
    return wh.run(
        SaveCount,
        location=location,
        state=state.value,
        counter=counter,
        counts=count_lines(counts),
        snapshot=count_lines(snapshot),
        operator=operator or counter,
    )


def count_lines(holdings: Sequence[Holding]) -> tuple[CountLine, ...]:
    return tuple(CountLine(h.sku, h.qty, h.lot) for h in holdings)


def task_of(outcome: Outcome) -> int:
    return int(ok(outcome).result["task"])


def test_a_count_task_from_raised_to_done(warehouse: Warehouse, data: SqlStationData) -> None:
    assert data.count_task("A-01-01") is None
    task = task_of(raise_count(warehouse, "A-01-01", "short pick"))
    second = ok(raise_count(warehouse, "A-01-01", "supervisor", station="ST-2", operator="S1"))
    assert second.result["task"] == task  # one at a time
    assert "already has a count task" in second.message
    assert data.count_task("A-01-01") == CountTask(task, "A-01-01", CountState.OPEN, "short pick")

    first = [Holding("MILK", "L1", 4), Holding("WIDGET", None, 2)]
    ledger = [Holding("MILK", "L1", 5), Holding("WIDGET", None, 2)]
    assert (
        task_of(save_count(warehouse, "A-01-01", CountState.RECOUNT, "C1", first, ledger)) == task
    )
    assert data.count_task("A-01-01") == CountTask(
        task,
        "A-01-01",
        CountState.RECOUNT,
        "short pick",
        "C1",
        tuple(first),
        tuple(ledger),
        ("C1",),
    )
    second_count = [Holding("MILK", "L1", 3), Holding("WIDGET", None, 2)]
    saved = save_count(warehouse, "A-01-01", CountState.APPROVAL, "S1", second_count, ledger)
    assert task_of(saved) == task
    waiting = data.count_task("A-01-01")
    assert waiting is not None
    assert (waiting.state, waiting.counted_by, waiting.counts) == (
        CountState.APPROVAL,
        "S1",
        tuple(second_count),
    )

    saved = save_count(warehouse, "A-01-01", CountState.DONE, "S1", second_count, ledger)
    assert task_of(saved) == task
    assert data.count_task("A-01-01") is None
    again = task_of(raise_count(warehouse, "A-01-01", "cycle count", operator="S1"))
    assert again != task
    assert data.count_task("A-01-01") == CountTask(again, "A-01-01", CountState.OPEN, "cycle count")

    done, new = task_rows(warehouse)
    assert (done.state, done.location, done.reason) == ("done", "A-01-01", "short pick")
    assert done.counts == [
        {"sku": "MILK", "lot": "L1", "qty": 3},
        {"sku": "WIDGET", "lot": None, "qty": 2},
    ]
    assert done.updated_at >= done.created_at
    o, st = table(OperatorRow), table(StationRow)
    with warehouse.engine.connect() as c:
        badges = dict(c.execute(select(o.c.id, o.c.badge)).all())
        stations = dict(c.execute(select(st.c.id, st.c.code)).all())
    assert badges[done.raised_by_operator_id] == "P1"
    assert stations[done.raised_by_station_id] == "ST-1"
    assert badges[done.counted_by_operator_id] == "S1"
    assert new.state == "open" and new.counts == [] and new.counted_by_operator_id is None
    assert warehouse.invariants().total == 0  # tasks are work, not stock: no stock moved


def test_a_count_task_remembers_everyone_who_counted_it(
    warehouse: Warehouse, data: SqlStationData
) -> None:
    """Nobody approves a count they counted (RELIABILITY.md promise 9): the first counter stays
    on the task after the recount, so a supervisor who counted first is known later."""
    task = task_of(raise_count(warehouse, "A-01-01", "short pick"))
    assert data.count_task("A-01-01") == CountTask(task, "A-01-01", CountState.OPEN, "short pick")
    ledger = [Holding("WIDGET", None, 9)]
    five = [Holding("WIDGET", None, 5)]
    ok(save_count(warehouse, "A-01-01", CountState.RECOUNT, "S1", five, ledger))
    first = data.count_task("A-01-01")
    assert first is not None and (first.counted_by, first.counters) == ("S1", ("S1",))

    recount = [Holding("WIDGET", None, 4)]
    ok(save_count(warehouse, "A-01-01", CountState.APPROVAL, "C1", recount, ledger))
    waiting = data.count_task("A-01-01")
    assert waiting is not None and waiting.state is CountState.APPROVAL
    assert (waiting.counted_by, waiting.counters) == ("C1", ("S1", "C1"))
    # A partly refused approval saves the recount again under the recounter: no second entry.
    eight = [Holding("WIDGET", None, 8)]
    ok(save_count(warehouse, "A-01-01", CountState.APPROVAL, "C1", recount, eight))
    again = data.count_task("A-01-01")
    assert again is not None and again.counters == ("S1", "C1")

    saved = save_count(warehouse, "A-01-01", CountState.DONE, "S2", recount, ledger)
    assert task_of(saved) == task
    [done] = task_rows(warehouse)
    assert (done.state, done.counters) == ("done", ["S1", "C1", "S2"])
    # A count that matched at once is its counter's alone.
    ok(save_count(warehouse, "B-01-01", CountState.DONE, "C1", recount, recount))
    assert [r.counters for r in task_rows(warehouse)] == [["S1", "C1", "S2"], ["C1"]]


def test_saving_a_count_without_a_task_opens_one(
    warehouse: Warehouse, data: SqlStationData
) -> None:
    counted = [Holding("BOLT", None, 7)]
    task = task_of(save_count(warehouse, "A-02-01", CountState.RECOUNT, "C1", counted, []))
    assert data.count_task("A-02-01") == CountTask(
        task, "A-02-01", CountState.RECOUNT, "counted", "C1", tuple(counted), (), ("C1",)
    )
    # A count that matched at once is a finished task, kept for the record.
    done = task_of(save_count(warehouse, "B-01-01", CountState.DONE, "C1", counted, counted))
    assert data.count_task("B-01-01") is None
    rows = task_rows(warehouse)
    assert [(r.id, r.state, r.location, r.reason) for r in rows] == [
        (task, "recount", "A-02-01", "counted"),
        (done, "done", "B-01-01", "counted"),
    ]
    o = table(OperatorRow)
    with warehouse.engine.connect() as c:
        c1 = c.execute(select(o.c.id).where(o.c.badge == "C1")).scalar_one()
    assert [(r.raised_by_operator_id, r.counted_by_operator_id) for r in rows] == [(c1, c1)] * 2


def test_count_tasks_need_a_bin_that_exists(warehouse: Warehouse, data: SqlStationData) -> None:
    wrong = [
        ("Z-99", Reason.UNKNOWN_LOCATION),
        ("VENDOR", Reason.WRONG_LOCATION_KIND),
        ("ADJUSTMENT", Reason.WRONG_LOCATION_KIND),
        ("DOCK-1", Reason.WRONG_LOCATION_KIND),
    ]
    for code, reason in wrong:
        refused(raise_count(warehouse, code, "short pick"), reason)
        refused(save_count(warehouse, code, CountState.RECOUNT, "C1", [], []), reason)
    # Text no location code could be: refused by the command itself, before it is sent.
    for code in ("X" * 65, "A-01-01\x00"):
        for cls, fields in (
            (RaiseCount, {"reason": "short pick"}),
            (SaveCount, {"state": "recount", "counter": "C1"}),
        ):
            with pytest.raises(Rejection) as refusal:
                warehouse.command(cls, location=code, operator="C1", **fields)
            assert refusal.value.reason is Reason.BAD_INPUT
    with pytest.raises(Rejection, match="at most 64") as too_long:
        warehouse.command(RaiseCount, location="A-01-01", reason="x" * 65, operator="P1")
    assert too_long.value.reason is Reason.BAD_INPUT
    refused(raise_count(warehouse, "A-01-01", "   "), Reason.BAD_INPUT)
    # The counter named in a count is a known operator, whoever sends it.
    counter = save_count(warehouse, "A-01-01", CountState.RECOUNT, "NOBODY", [], [], operator="C1")
    refused(counter, Reason.UNKNOWN_OPERATOR)
    assert data.count_task("A-01-01") is None
    assert task_rows(warehouse) == []

    longest = task_of(raise_count(warehouse, "A-01-01", "x" * 64))
    assert data.count_task("A-01-01") == CountTask(longest, "A-01-01", CountState.OPEN, "x" * 64)


def test_the_database_keeps_one_unfinished_task_per_location(
    warehouse: Warehouse, data: SqlStationData
) -> None:
    task = task_of(raise_count(warehouse, "A-01-01", "short pick"))
    ct, loc = table(CountTaskRow), table(LocationRow)
    with warehouse.engine.connect() as c:
        bin_id = c.execute(select(loc.c.id).where(loc.c.code == "A-01-01")).scalar_one()
    row = {"location_id": bin_id, "reason": "again", "counts": [], "snapshot": []}
    with pytest.raises(exc.IntegrityError), warehouse.engine.begin() as c:
        c.execute(insert(ct).values(state="recount", **row))
    with warehouse.engine.begin() as c:  # finished tasks are history: any number of them
        c.execute(insert(ct).values(state="done", **row))
        c.execute(insert(ct).values(state="done", **row))
    assert getattr(data.count_task("A-01-01"), "id", None) == task


def test_stations_raising_one_bin_at_once_share_one_task(
    warehouse: Warehouse, data: SqlStationData
) -> None:
    start, answers, errors = threading.Barrier(6), list[Outcome](), list[BaseException]()

    def raise_it(n: int) -> None:
        try:
            start.wait()
            answers.append(raise_count(warehouse, "B-01-02", f"short pick {n}"))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=raise_it, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [a.status.value for a in answers] == ["confirmed"] * 6, [a.message for a in answers]
    tasks = {a.result["task"] for a in answers}
    assert len(tasks) == 1
    assert [r.id for r in task_rows(warehouse)] == list(tasks)
    assert getattr(data.count_task("B-01-02"), "id", None) in tasks


def blocked_by(engine: Engine, pid: int) -> int:
    """How many sessions wait for a lock the session `pid` holds."""
    with engine.connect() as c:
        found = c.execute(
            text("SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))"),
            {"pid": pid},
        ).scalar_one()
    return int(found)


def hold_location_with_a_task(c: Connection, code: str, reason: str) -> int:
    """What a RaiseCount does, inside `c`'s open transaction: lock the location, add its task."""
    loc = table(LocationRow)
    location_id = c.execute(select(loc.c.id).where(loc.c.code == code)).scalar_one()
    assert work_items.lock_count_task(c, location_id) is None
    return work_items.insert_count_task(c, location_id, state="open", reason=reason)


@pytest.mark.postgres
def test_a_raise_waiting_for_the_locations_lock_answers_the_task_committed_before_it(
    postgres_url: str,
) -> None:
    """Two stations raise one bin: the second waits on the location row the first locked, and
    once the first commits it finds that task (READ COMMITTED: the statement after the lock sees
    the commit) instead of colliding with it on the unique index."""
    engine = make_engine(postgres_url)
    try:
        seed(engine)
        warehouse = Warehouse(engine, SqlLedger(engine))
        answers: list[Outcome] = []
        errors: list[BaseException] = []

        def raise_it() -> None:
            try:
                answers.append(raise_count(warehouse, "A-01-01", "cycle count", operator="S1"))
            except BaseException as error:
                errors.append(error)

        waiter = threading.Thread(target=raise_it)
        try:
            with engine.connect() as holder, holder.begin():
                held = hold_location_with_a_task(holder, "A-01-01", "short pick")
                pid = int(holder.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())
                waiter.start()
                while waiter.is_alive() and not blocked_by(engine, pid):
                    time.sleep(0.01)
                assert waiter.is_alive(), (answers, errors)  # it waited for the holder
            # The holder has committed: the waiter takes the lock and reads on.
        finally:
            if waiter.ident is not None:
                waiter.join()
        assert errors == []
        [answer] = answers
        assert ok(answer).result["task"] == held
        assert "already has a count task" in answer.message
        assert [(r.id, r.state, r.reason) for r in task_rows(warehouse)] == [
            (held, "open", "short pick")
        ]
    finally:
        engine.dispose()


# --- hostile codes and transactions -----------------------------------------------------------


def every_read(data: SqlStationData, code: str) -> list[object]:
    return [
        data.station(code),
        data.operator(code),
        data.check_pin(code, "123456").status,
        data.sku(code),
        data.sku_by_gtin(code),
        data.location_kind(code),
        data.receipt(code),
        data.order_claim(code),
        data.open_picks(code),
        data.contents(code),
        data.count_task(code),
    ]


NOTHING: list[object] = [None, None, PinStatus.NO_PIN, None, None, None, None, None, [], [], None]


def attempt(wh: Warehouse, cls: type[Command], **fields: Any) -> Outcome | Rejection:
    """A command as a station would send it: refused by its own constructor, or answered by
    the ledger."""
    try:
        command = wh.command(cls, **fields)
    except Rejection as rejection:
        return rejection
    return submit(command, wh.ledger)


def refused_as(answer: Outcome | Rejection, reason: Reason) -> None:
    if isinstance(answer, Rejection):
        assert answer.reason is reason, answer
    else:
        refused(answer, reason)


def test_hostile_codes_find_nothing_and_break_nothing(
    warehouse: Warehouse, data: SqlStationData
) -> None:
    add_receipts(warehouse)
    add_orders(warehouse)
    with StatementCounter(warehouse.engine) as statements:
        for code in HOSTILE_NO_QUERY:
            assert every_read(data, code) == NOTHING, repr(code)
    assert statements.count == 0
    for code in HOSTILE_SQL:
        assert every_read(data, code) == NOTHING, code

    # Writes are ledger transactions: text no code could be is refused by the command itself
    # (BAD_INPUT, never sent), and the rest is looked up as a parameter and not found.
    for code in [*SENDABLE_OR_NOT, *HOSTILE_SQL]:
        unsendable = len(code) > 64 or "\x00" in code
        raised = attempt(warehouse, RaiseCount, location=code, reason="short pick", operator="P1")
        closed = attempt(warehouse, CloseReceipt, receipt=code)
        assert isinstance(raised, Rejection) is unsendable, repr(code)
        assert isinstance(closed, Rejection) is unsendable, repr(code)
        refused_as(raised, Reason.BAD_INPUT if unsendable else Reason.UNKNOWN_LOCATION)
        refused_as(closed, Reason.BAD_INPUT if unsendable else Reason.UNKNOWN_RECEIPT)
    # Hostile station, operator and approver codes are simply not known.
    hostile_envelopes = [
        ({"station": "'; DROP TABLE stations; --"}, Reason.UNKNOWN_STATION),
        ({"operator": "R-1' --"}, Reason.UNKNOWN_OPERATOR),
        ({"operator": "X" * 65}, Reason.BAD_INPUT),
    ]
    for envelope, reason in hostile_envelopes:
        fields = {"operator": "P1", **envelope}
        refused_as(attempt(warehouse, RaiseCount, location="A-01-01", reason="x", **fields), reason)
        refused_as(attempt(warehouse, CloseReceipt, receipt="R-A", **envelope), reason)
    for approver in HOSTILE_SQL:
        answer = attempt(warehouse, CloseReceipt, receipt="R-A", approved_by=approver)
        refused_as(answer, Reason.NOT_ALLOWED)

    assert task_rows(warehouse) == []
    assert data.open_receipts(10) == ["R-B", "R-A", "R-C"]  # nothing closed by accident
    assert data.station("ST-1") is not None and data.sku("WIDGET") is not None
    assert warehouse.invariants().total == 0
    with warehouse.engine.connect() as c:
        assert c.exec_driver_sql("SELECT count(*) FROM skus").scalar_one() == 6
        assert c.exec_driver_sql("SELECT count(*) FROM stations").scalar_one() == 2


def test_text_that_is_not_utf8_is_refused_not_a_crash(
    warehouse: Warehouse, data: SqlStationData
) -> None:
    add_receipts(warehouse)
    for cls, fields in (
        (RaiseCount, {"location": NOT_UTF8, "reason": "short pick", "operator": "P1"}),
        (CloseReceipt, {"receipt": NOT_UTF8}),
        (CloseReceipt, {"receipt": "R-A", "approved_by": NOT_UTF8}),
    ):
        refused_as(attempt(warehouse, cls, **fields), Reason.BAD_INPUT)
    assert task_rows(warehouse) == []
    assert data.open_receipts(10) == ["R-B", "R-A", "R-C"]


@pytest.fixture
def writer(warehouse: Warehouse) -> Iterator[Any]:
    """Another station's write transaction, open (on SQLite: holding the write lock)."""
    with warehouse.engine.connect() as c:
        transaction = c.begin()
        yield c
        if transaction.is_active:
            transaction.rollback()


def test_reads_neither_wait_for_a_writer_nor_see_its_uncommitted_rows(
    warehouse: Warehouse, data: SqlStationData, writer: Any
) -> None:
    writer.execute(insert(table(LocationRow)).values(code="C-09-09", kind="bin", active=True))
    assert data.location_kind("A-01-01") == "bin"  # answered at once, not after a busy timeout
    assert data.location_kind("C-09-09") is None
    assert data.contents("A-01-01") == []
    writer.commit()
    assert data.location_kind("C-09-09") == "bin"  # each read is a fresh transaction
