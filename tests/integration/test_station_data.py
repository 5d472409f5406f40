"""The warehouse as a station's workflows read it, over SQL on both databases: stations, people,
items, receipts, orders, pick lists, bin contents and count tasks; hostile codes answered with
nothing and without a query; reads that never wait for the write lock."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine, event, exc, insert, select, update

from app.adapters.db import catalogue, station_data
from app.adapters.db.schema import CountTaskRow, LocationRow, OperatorRow, OrderRow, table
from app.adapters.db.station_data import SqlStationData
from app.adapters.pins import hash_pin
from app.domain.catalogue import LocationSpec, OrderLineSpec, ReceiptLineSpec, StationSpec
from app.domain.commands import Opening, OpeningLine, PostPick, Putaway, Receive, Reserve, TakeList
from app.domain.ledger import Outcome
from app.domain.model import LocationKind, Operator, Role, Tracking
from app.domain.workflow import (
    BinSuggestion,
    CountState,
    CountTask,
    Holding,
    PickLine,
    ReceiptLine,
    SkuInfo,
    StationInfo,
)
from tests.support.warehouse import Warehouse

GTIN = "05901234123457"
HOSTILE_NO_QUERY = ["X" * 65, "A-01-01\x00", "D1\x00", "", "A\udcff"]
"""Text no code column could hold: answered without asking the database."""
HOSTILE_SQL = ["'; DROP TABLE skus; --", "A-01-01' OR '1'='1", "%", "\\", "R-1' --"]
"""Text a column could hold: looked up as a parameter, and found to be nothing."""


class SuggestSpy:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None, int, str]] = []

    def __call__(self, sku: str, lot: str | None, qty: int, station: str) -> BinSuggestion:
        self.calls.append((sku, lot, qty, station))
        return BinSuggestion("B-01-02", f"put {qty} x {sku} in B-01-02")


@pytest.fixture
def spy() -> SuggestSpy:
    return SuggestSpy()


@pytest.fixture
def data(warehouse: Warehouse, spy: SuggestSpy) -> SqlStationData:
    return SqlStationData(warehouse.engine, spy)


def ok(outcome: Outcome) -> Outcome:
    assert outcome.ok, outcome.message
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
        c.execute(update(o).where(o.c.badge == "D1").values(pin_hash=hash_pin("1234")))
    assert data.verify_supervisor("S1", "1234") is True
    assert data.verify_supervisor("S2", "5678") is True
    assert data.verify_supervisor("S1", "5678") is False  # another supervisor's PIN
    assert data.verify_supervisor("S1", "") is False
    assert data.verify_supervisor("D1", "1234") is False
    assert data.verify_supervisor("C1", "1234") is False  # no PIN at all
    assert data.verify_supervisor("NOBODY", "1234") is False
    with warehouse.engine.begin() as c:
        c.execute(update(o).where(o.c.badge == "S2").values(active=False))
    assert data.verify_supervisor("S2", "5678") is False


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


def test_suggest_bin_asks_the_stow_policy_it_was_given(
    data: SqlStationData, spy: SuggestSpy
) -> None:
    answer = data.suggest_bin("MILK", "L1", 12, "ST-2")
    assert answer == BinSuggestion("B-01-02", "put 12 x MILK in B-01-02")
    assert spy.calls == [("MILK", "L1", 12, "ST-2")]


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


def test_open_receipts_oldest_first_and_closing_one(
    warehouse: Warehouse, data: SqlStationData
) -> None:
    add_receipts(warehouse)
    assert data.open_receipts(10) == ["R-B", "R-A", "R-C"]
    assert data.open_receipts(2) == ["R-B", "R-A"]
    assert data.open_receipts(0) == []
    data.close_receipt("R-A")
    data.close_receipt("R-NONE")  # nothing to close, nothing happens
    assert data.open_receipts(10) == ["R-B", "R-C"]
    statuses = {code: getattr(data.receipt(code), "status", None) for code in ("R-A", "R-C")}
    assert statuses == {"R-A": "closed", "R-C": "open"}


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
    ok(warehouse.run(Receive, sku="WIDGET", qty=9, to_location="DOCK-1", receipt="R-A"))
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


def test_a_count_task_from_raised_to_done(warehouse: Warehouse, data: SqlStationData) -> None:
    assert data.count_task("A-01-01") is None
    task = data.raise_count("A-01-01", "short pick", "ST-1", "P1")
    assert data.raise_count("A-01-01", "supervisor", "ST-2", "S1") == task  # one at a time
    assert data.count_task("A-01-01") == CountTask(task, "A-01-01", CountState.OPEN, "short pick")

    first = [Holding("MILK", "L1", 4), Holding("WIDGET", None, 2)]
    ledger = [Holding("MILK", "L1", 5), Holding("WIDGET", None, 2)]
    assert data.save_count("A-01-01", CountState.RECOUNT, "C1", first, ledger) == task
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
    second = [Holding("MILK", "L1", 3), Holding("WIDGET", None, 2)]
    assert data.save_count("A-01-01", CountState.APPROVAL, "S1", second, ledger) == task
    waiting = data.count_task("A-01-01")
    assert waiting is not None
    assert (waiting.state, waiting.counted_by, waiting.counts) == (
        CountState.APPROVAL,
        "S1",
        tuple(second),
    )

    assert data.save_count("A-01-01", CountState.DONE, "S1", second, ledger) == task
    assert data.count_task("A-01-01") is None
    again = data.raise_count("A-01-01", "cycle count", "ST-1", "S1")
    assert again != task
    assert data.count_task("A-01-01") == CountTask(again, "A-01-01", CountState.OPEN, "cycle count")

    done, new = task_rows(warehouse)
    assert (done.state, done.location, done.reason) == ("done", "A-01-01", "short pick")
    assert done.counts == [
        {"sku": "MILK", "lot": "L1", "qty": 3},
        {"sku": "WIDGET", "lot": None, "qty": 2},
    ]
    assert done.updated_at >= done.created_at
    st = table(OperatorRow)
    with warehouse.engine.connect() as c:
        badges = dict(c.execute(select(st.c.id, st.c.badge)).all())
    assert badges[done.raised_by_operator_id] == "P1"
    assert badges[done.counted_by_operator_id] == "S1"
    assert new.state == "open" and new.counts == [] and new.counted_by_operator_id is None
    assert warehouse.invariants().total == 0  # tasks are work, not stock: no ledger rows


def test_a_count_task_remembers_everyone_who_counted_it(
    warehouse: Warehouse, data: SqlStationData
) -> None:
    """Nobody approves a count they counted (RELIABILITY.md promise 9): the first counter stays
    on the task after the recount, so a supervisor who counted first is known later."""
    task = data.raise_count("A-01-01", "short pick", "ST-1", "P1")
    assert data.count_task("A-01-01") == CountTask(task, "A-01-01", CountState.OPEN, "short pick")
    ledger = [Holding("WIDGET", None, 9)]
    data.save_count("A-01-01", CountState.RECOUNT, "S1", [Holding("WIDGET", None, 5)], ledger)
    first = data.count_task("A-01-01")
    assert first is not None and (first.counted_by, first.counters) == ("S1", ("S1",))

    recount = [Holding("WIDGET", None, 4)]
    data.save_count("A-01-01", CountState.APPROVAL, "C1", recount, ledger)
    waiting = data.count_task("A-01-01")
    assert waiting is not None and waiting.state is CountState.APPROVAL
    assert (waiting.counted_by, waiting.counters) == ("C1", ("S1", "C1"))
    # A partly refused approval saves the recount again under the recounter: no second entry.
    data.save_count("A-01-01", CountState.APPROVAL, "C1", recount, [Holding("WIDGET", None, 8)])
    again = data.count_task("A-01-01")
    assert again is not None and again.counters == ("S1", "C1")

    assert data.save_count("A-01-01", CountState.DONE, "S2", recount, ledger) == task
    [done] = task_rows(warehouse)
    assert (done.state, done.counters) == ("done", ["S1", "C1", "S2"])
    # A count that matched at once is its counter's alone.
    data.save_count("B-01-01", CountState.DONE, "C1", recount, recount)
    assert [r.counters for r in task_rows(warehouse)] == [["S1", "C1", "S2"], ["C1"]]


def test_saving_a_count_without_a_task_opens_one(
    warehouse: Warehouse, data: SqlStationData
) -> None:
    counted = [Holding("BOLT", None, 7)]
    task = data.save_count("A-02-01", CountState.RECOUNT, "C1", counted, [])
    assert data.count_task("A-02-01") == CountTask(
        task, "A-02-01", CountState.RECOUNT, "counted", "C1", tuple(counted), (), ("C1",)
    )
    # A count that matched at once is a finished task, kept for the record.
    done = data.save_count("B-01-01", CountState.DONE, "C1", counted, [])
    assert data.count_task("B-01-01") is None
    assert [(r.id, r.state, r.location) for r in task_rows(warehouse)] == [
        (task, "recount", "A-02-01"),
        (done, "done", "B-01-01"),
    ]


def test_count_tasks_need_a_real_location(data: SqlStationData) -> None:
    for code in ("Z-99", "VENDOR", "ADJUSTMENT", "X" * 65, "A-01-01\x00"):
        with pytest.raises(ValueError, match="does not exist"):
            data.raise_count(code, "short pick", "ST-1", "P1")
        with pytest.raises(ValueError, match="does not exist"):
            data.save_count(code, CountState.RECOUNT, "C1", [], [])
    with pytest.raises(ValueError, match="at most 80"):
        data.raise_count("A-01-01", "x" * 81, "ST-1", "P1")
    assert data.count_task("A-01-01") is None


def test_the_database_keeps_one_unfinished_task_per_location(
    warehouse: Warehouse, data: SqlStationData
) -> None:
    task = data.raise_count("A-01-01", "short pick", "ST-1", "P1")
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


def test_a_task_raised_between_look_and_insert_is_the_answer(
    warehouse: Warehouse, data: SqlStationData, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race, replayed: another station's insert lands after this one looked and found none.
    The unique index refuses the second insert and the task already there is returned."""
    task = data.raise_count("A-01-01", "short pick", "ST-2", "P1")
    looked = station_data._unfinished_id
    blind = iter([True])

    def late_look(c: Any, location_id: int, lock: bool = False) -> int | None:
        return None if next(blind, False) else looked(c, location_id, lock)

    monkeypatch.setattr(station_data, "_unfinished_id", late_look)
    assert data.raise_count("A-01-01", "cycle count", "ST-1", "S1") == task
    blind = iter([True])
    counted = [Holding("WIDGET", None, 1)]
    assert data.save_count("A-01-01", CountState.RECOUNT, "C1", counted, []) == task
    assert [(r.state, r.reason) for r in task_rows(warehouse)] == [("recount", "short pick")]


def test_stations_raising_one_bin_at_once_share_one_task(
    warehouse: Warehouse, data: SqlStationData
) -> None:
    start, answers, errors = threading.Barrier(6), list[int](), list[BaseException]()

    def raise_it(n: int) -> None:
        try:
            start.wait()
            answers.append(data.raise_count("B-01-02", f"short pick {n}", "ST-1", "P1"))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=raise_it, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(answers) == 6 and len(set(answers)) == 1
    assert [r.id for r in task_rows(warehouse)] == answers[:1]


# --- hostile codes and transactions -----------------------------------------------------------


def every_read(data: SqlStationData, code: str) -> list[object]:
    return [
        data.station(code),
        data.operator(code),
        data.verify_supervisor(code, "1234"),
        data.sku(code),
        data.sku_by_gtin(code),
        data.location_kind(code),
        data.receipt(code),
        data.order_claim(code),
        data.open_picks(code),
        data.contents(code),
        data.count_task(code),
    ]


NOTHING: list[object] = [None, None, False, None, None, None, None, None, [], [], None]


def test_hostile_codes_find_nothing_and_break_nothing(
    warehouse: Warehouse, data: SqlStationData
) -> None:
    add_receipts(warehouse)
    add_orders(warehouse)
    with StatementCounter(warehouse.engine) as statements:
        for code in HOSTILE_NO_QUERY:
            assert every_read(data, code) == NOTHING, repr(code)
            data.close_receipt(code)
            with pytest.raises(ValueError):
                data.raise_count(code, "short pick", "ST-1", "P1")
    assert statements.count == 0
    for code in HOSTILE_SQL:
        assert every_read(data, code) == NOTHING, code
        data.close_receipt(code)
    # Hostile station and operator codes on a task are simply not known.
    task = data.raise_count("A-01-01", "short pick", "'; DROP TABLE stations; --", "X" * 65)
    [row] = task_rows(warehouse)
    assert (row.id, row.raised_by_station_id, row.raised_by_operator_id) == (task, None, None)

    assert data.open_receipts(10) == ["R-B", "R-A", "R-C"]  # nothing closed by accident
    assert data.station("ST-1") is not None and data.sku("WIDGET") is not None
    assert warehouse.invariants().total == 0
    with warehouse.engine.connect() as c:
        assert c.exec_driver_sql("SELECT count(*) FROM skus").scalar_one() == 6


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
