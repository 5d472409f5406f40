"""`perpetua report stock | trace | expiring | adjustments` on ledgers built through the ledger's
own transactions, on both databases: every figure against numbers worked out by hand, the stock
at a past moment against a replay of the moves up to it, CSV read back, and bad input refused."""

from __future__ import annotations

import csv
import json
import os
import time as clock
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Connection, select, update

from app.adapters.db import catalogue
from app.adapters.db import reports_stock as db
from app.adapters.db.engine import READONLY
from app.adapters.db.schema import (
    LocationRow,
    LotRow,
    MoveRow,
    SkuRow,
    TransactionRow,
    table,
)
from app.cli import main
from app.domain.catalogue import OrderLineSpec, ReceiptLineSpec
from app.domain.commands import (
    Adjust,
    AdjustReason,
    Hold,
    Opening,
    OpeningLine,
    PostPick,
    Putaway,
    Receive,
    ReleaseHold,
    ReleaseHow,
    ReleaseList,
    ReleaseReason,
    Return,
    ReturnReason,
    ShipOrder,
    TakeList,
)
from app.domain.ledger import Outcome
from app.domain.reports_stock import StockFilter, StockLine
from tests.support.warehouse import Warehouse

TODAY = datetime.now(UTC).date()
D0, D1, D2 = TODAY - timedelta(days=2), TODAY - timedelta(days=1), TODAY
OLD = TODAY - timedelta(days=40)
"""An adjustment before the default period of 30 days."""
TICK = 1.1
"""Seconds between the two halves of a ledger: SQLite's database clock counts whole seconds."""


def at(day: date, hour: int = 0) -> datetime:
    return datetime.combine(day, time(hour), UTC)


def ok(outcome: Outcome) -> Outcome:
    assert outcome.ok, outcome.message
    return outcome


def report(db_url: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--db", db_url, "report", *args])


def printed(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def refusal(result: Result) -> str:
    assert result.exit_code != 0, result.output
    return " ".join(result.output.split())


@pytest.fixture
def new_york() -> Iterator[None]:
    """This process in New York's time zone (UTC-5 in winter): local time is not UTC."""
    was = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    clock.tzset()
    yield
    if was is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = was
    clock.tzset()


@pytest.fixture
def reading(warehouse: Warehouse) -> Iterator[Connection]:
    with warehouse.engine.connect().execution_options(**{READONLY: True}) as c:
        yield c


def pick_order(w: Warehouse, order: str) -> None:
    """Take the order's list, pick every reservation into OUT-1, finish, and ship it."""
    taken = ok(w.run(TakeList, order=order, operator="P1"))
    for line in taken.result["lines"]:
        for r in line["reservations"]:
            ok(
                w.run(
                    PostPick,
                    reservation=r["reservation"],
                    qty=r["qty"],
                    to_location="OUT-1",
                    operator="P1",
                )
            )
    ok(w.run(ReleaseList, order=order, how=ReleaseHow.FINISHED, operator="P1"))
    ok(w.run(ShipOrder, order=order))


# --- stock ------------------------------------------------------------------------------------


def replay(c: Connection, until: datetime) -> dict[tuple[str, str, str | None], int]:
    """Balances of real locations from the moves of the transactions recorded up to `until`,
    added up here one move at a time (not by the report's query)."""
    m, t, loc, s, lot = (
        table(MoveRow),
        table(TransactionRow),
        table(LocationRow),
        table(SkuRow),
        table(LotRow),
    )
    kinds = dict(c.execute(select(loc.c.code, loc.c.kind)).all())
    codes = dict(c.execute(select(loc.c.id, loc.c.code)).all())
    skus = dict(c.execute(select(s.c.id, s.c.code)).all())
    lots = {i: code or None for i, code in c.execute(select(lot.c.id, lot.c.code))}
    out: dict[tuple[str, str, str | None], int] = {}
    rows = c.execute(
        select(
            m.c.sku_id, m.c.lot_id, m.c.from_location_id, m.c.to_location_id, m.c.qty, t.c.db_time
        )
        .join(t, t.c.id == m.c.tx_id)
        .order_by(m.c.id)
    )
    for sku_id, lot_id, source, target, qty, db_time in rows:
        if db_time > until:
            continue
        for place, sign in ((source, -1), (target, 1)):
            key = (codes[place], skus[sku_id], lots[lot_id])
            if kinds[codes[place]] != "virtual":
                out[key] = out.get(key, 0) + sign * qty
    return {k: v for k, v in out.items() if v}


@pytest.fixture
def two_halves(warehouse: Warehouse) -> tuple[Warehouse, datetime]:
    """A ledger in two halves, and a moment between them.

    First half: WIDGET 5 in A-01-01 by the opening, 3 of them reserved by taking order SO-1;
    20 MILK L1 received and put away in A-01-02, 10 MILK L2 in B-01-01 and lot L2 put on hold.
    Second half: SO-1 picked and shipped, 2 MILK L1 lost in A-01-02, lot L2 released, 4 BOLT
    received onto DOCK-1."""
    w = warehouse
    expiry = TODAY + timedelta(days=90)
    with w.engine.begin() as c:
        catalogue.add_orders(c, [OrderLineSpec("SO-1", 1, "WIDGET", 3)])
    ok(w.run(Opening, lines=(OpeningLine("WIDGET", "A-01-01", 5),)))
    ok(w.run(Receive, sku="MILK", qty=20, to_location="DOCK-1", lot="L1", expiry=expiry))
    ok(w.run(Putaway, sku="MILK", qty=20, from_location="DOCK-1", to_location="A-01-02", lot="L1"))
    ok(w.run(Receive, sku="MILK", qty=10, to_location="DOCK-1", lot="L2", expiry=expiry))
    ok(w.run(Putaway, sku="MILK", qty=10, from_location="DOCK-1", to_location="B-01-01", lot="L2"))
    ok(w.run(Hold, sku="MILK", lot="L2", reason="supplier recall"))
    taken = ok(w.run(TakeList, order="SO-1", operator="P1"))
    (reservation,) = taken.result["lines"][0]["reservations"]
    clock.sleep(TICK)
    between = datetime.now(UTC)
    clock.sleep(TICK)
    pick = reservation["reservation"]
    ok(w.run(PostPick, reservation=pick, qty=3, to_location="OUT-1", operator="P1"))
    ok(w.run(ReleaseList, order="SO-1", how=ReleaseHow.FINISHED, operator="P1"))
    ok(w.run(ShipOrder, order="SO-1"))
    ok(
        w.run(
            Adjust,
            sku="MILK",
            location="A-01-02",
            delta=-2,
            lot="L1",
            reason=AdjustReason.LOST,
            approved_by="S1",
        )
    )
    ok(
        w.run(
            ReleaseHold,
            sku="MILK",
            lot="L2",
            reason=ReleaseReason.INSPECTED_OK,
            operator="S1",
            approved_by="S1",
        )
    )
    ok(w.run(Receive, sku="BOLT", qty=4, to_location="DOCK-1"))
    return w, between


def line(
    location: str,
    zone: str | None,
    sku: str,
    lot: str | None,
    on_hand: int,
    available: int,
    reserved: int = 0,
    held: str | None = None,
) -> tuple[Any, ...]:
    return (location, zone, sku, lot, on_hand, reserved, available, held)


def shown(lines: Iterable[StockLine]) -> list[tuple[Any, ...]]:
    return [
        (s.location, s.zone, s.sku, s.lot, s.on_hand, s.reserved, s.available, s.held)
        for s in lines
    ]


NOW_BY_HAND = [
    line("DOCK-1", "A", "BOLT", None, 4, 4),
    line("A-01-01", "A", "WIDGET", None, 2, 2),
    line("A-01-02", "A", "MILK", "L1", 18, 18),
    line("B-01-01", "B", "MILK", "L2", 10, 10),
]
"""After both halves, in pick-path order (the dock first): the BOLT on the dock; 5 - 3 WIDGET
(OUT-1 held the 3 between pick and shipment: gone to the customer); 20 - 2 lost MILK L1; L2
released."""

THEN_BY_HAND = [
    line("A-01-01", "A", "WIDGET", None, 5, 2, reserved=3),
    line("A-01-02", "A", "MILK", "L1", 20, 20),
    line("B-01-01", "B", "MILK", "L2", 10, 0, held="lot"),
]
"""Between the halves: 3 of the 5 WIDGET reserved for SO-1, 20 MILK L1, 10 MILK L2 on hold."""


def test_stock_now_and_at_a_moment_between_two_halves_of_the_ledger(
    two_halves: tuple[Warehouse, datetime], reading: Connection
) -> None:
    _, between = two_halves
    assert shown(db.stock(reading, StockFilter())) == NOW_BY_HAND
    then = list(db.stock(reading, StockFilter(), between))
    assert shown(then) == THEN_BY_HAND
    # The same as a replay of the moves recorded up to that moment, one move at a time.
    replayed = replay(reading, between)
    assert {(s.location, s.sku, s.lot): s.on_hand for s in then} == replayed
    # --at now is the balances, reserved and held included.
    assert list(db.stock(reading, StockFilter(), datetime.now(UTC))) == list(
        db.stock(reading, StockFilter())
    )


def test_stock_filters_now_and_then(
    two_halves: tuple[Warehouse, datetime], reading: Connection
) -> None:
    _, between = two_halves

    def rows(f: StockFilter, moment: datetime | None = None) -> list[tuple[str, str]]:
        return [(s.location, s.sku) for s in db.stock(reading, f, moment)]

    assert rows(StockFilter(sku="MILK")) == [("A-01-02", "MILK"), ("B-01-01", "MILK")]
    assert rows(StockFilter(lot="L2"), between) == [("B-01-01", "MILK")]
    assert rows(StockFilter(zone="B")) == [("B-01-01", "MILK")]
    assert rows(StockFilter(location="A-01-01"), between) == [("A-01-01", "WIDGET")]
    assert rows(StockFilter(zone="A", sku="BOLT"), between) == []
    assert rows(StockFilter(zone="A", sku="BOLT")) == [("DOCK-1", "BOLT")]


def test_the_stock_report_as_printed_csv_and_json(
    two_halves: tuple[Warehouse, datetime], db_url: str, tmp_path: Path, new_york: None
) -> None:
    _, between = two_halves
    text = printed(report(db_url, "stock", "--sku", "MILK"))
    assert text.splitlines()[:4] == [
        "Stock on hand now (SKU MILK)",
        "  Location  Zone  SKU   Lot  Expiry      On hand  Reserved  Available  Held  Name",
        f"  A-01-02   A     MILK  L1   {TODAY + timedelta(days=90)}       18         0         18"
        "        Milk 1 l",
        f"  B-01-01   B     MILK  L2   {TODAY + timedelta(days=90)}       10         0         10"
        "        Milk 1 l",
    ]
    # --at in UTC (Z), through the command line; the GTIN of WIDGET as an EAN-13.
    moment = between.isoformat().replace("+00:00", "Z")
    out = tmp_path / "then.csv"
    text = printed(report(db_url, "stock", "--at", moment, "--csv", str(out)))
    assert text.startswith("Stock on hand at ") and "3 row(s) written to" in text
    with out.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    expiry = str(TODAY + timedelta(days=90))
    assert rows == [
        [
            "location",
            "zone",
            "sku",
            "lot",
            "expiry",
            "on_hand",
            "reserved",
            "available",
            "held",
            "name",
        ],
        ["A-01-01", "A", "WIDGET", "", "", "5", "3", "2", "", "Blue widget"],
        ["A-01-02", "A", "MILK", "L1", expiry, "20", "0", "20", "", "Milk 1 l"],
        ["B-01-01", "B", "MILK", "L2", expiry, "10", "0", "0", "lot", "Milk 1 l"],
    ]
    data = json.loads(printed(report(db_url, "stock", "--gtin", "5901234123457", "--json")))
    assert data["rows"] == [
        {
            "location": "A-01-01",
            "zone": "A",
            "sku": "WIDGET",
            "lot": None,
            "expiry": None,
            "on_hand": 2,
            "reserved": 0,
            "available": 2,
            "held": None,
            "name": "Blue widget",
        }
    ]
    # The same moment with another offset, and in this computer's local time without one.
    utc = json.loads(printed(report(db_url, "stock", "--at", moment, "--json")))["rows"]
    assert [r["on_hand"] for r in utc] == [5, 20, 10]
    east = between.astimezone(timezone(timedelta(hours=5))).isoformat()
    local = between.astimezone().replace(tzinfo=None).isoformat()  # New York's clock
    assert local[11:13] != moment[11:13]
    for other in (east, local):
        assert json.loads(printed(report(db_url, "stock", "--at", other, "--json")))["rows"] == utc


def test_the_stock_report_refuses_what_names_nothing(warehouse: Warehouse, db_url: str) -> None:
    ok(warehouse.run(Opening, lines=(OpeningLine("MILK", "A-01-01", 5, "L1", TODAY),)))
    tomorrow = (datetime.now() + timedelta(days=1)).isoformat(timespec="minutes")
    cases = {
        ("--sku", "NOPE"): "no SKU NOPE is known: check the code",
        ("--location", "NOWHERE"): "no location NOWHERE is known",
        ("--location", "CUSTOMER"): "no location CUSTOMER is known (a real location",
        ("--zone", "Q"): "no location is in zone 'Q'; the zones are: A, B",
        ("--lot", "L9"): "no lot L9 is known, of any SKU: check the lot code",
        ("--lot", "L1", "--sku", "BOLT"): "BOLT has no lot L1; that lot code belongs to MILK",
        ("--gtin", "12345"): "'12345' is not a GTIN: 8, 12, 13 or 14 digits",
        ("--gtin", "4006381333931"): "no SKU has the GTIN 04006381333931",
        ("--gtin", "05901234123457", "--sku", "BOLT"): "GTIN 05901234123457 is WIDGET, not BOLT",
        ("--at", tomorrow): "is in the future: give a past moment, or leave --at out",
        ("--at", "2026-11-30"): "'2026-11-30' is a day, not a moment: give the time too",
        ("--at", "yesterday"): "'yesterday' is not a moment: give a date and a time",
        ("--csv", "x.csv", "--json"): "give --csv FILE or --json, not both",
    }
    for args, said in cases.items():
        assert said in refusal(report(db_url, "stock", *args)), args


# --- trace ------------------------------------------------------------------------------------


@pytest.fixture
def recall(warehouse: Warehouse) -> Warehouse:
    """MILK lot L1: 20 received on receipt R-1 and put away in A-01-02; SO-1 ships 8 of it and
    SO-2 4, of which the customer sends 1 back into RET-1; 2 are lost in A-01-02. Lot L2 (10,
    later expiry) in B-01-01 is never touched by the orders (first expiry first out)."""
    w = warehouse
    soon, later = TODAY + timedelta(days=60), TODAY + timedelta(days=90)
    with w.engine.begin() as c:
        catalogue.add_receipts(c, [ReceiptLineSpec("R-1", 1, "MILK", 20, "L1", soon)])
        catalogue.add_orders(
            c, [OrderLineSpec("SO-1", 1, "MILK", 8), OrderLineSpec("SO-2", 1, "MILK", 4)]
        )
    ok(
        w.run(
            Receive, sku="MILK", qty=20, to_location="DOCK-1", lot="L1", expiry=soon, receipt="R-1"
        )
    )
    ok(w.run(Putaway, sku="MILK", qty=20, from_location="DOCK-1", to_location="A-01-02", lot="L1"))
    ok(
        w.run(
            Receive,
            sku="MILK",
            qty=10,
            to_location="DOCK-2",
            lot="L2",
            expiry=later,
            station="ST-2",
        )
    )
    ok(
        w.run(
            Putaway,
            sku="MILK",
            qty=10,
            from_location="DOCK-2",
            to_location="B-01-01",
            lot="L2",
            station="ST-2",
        )
    )
    pick_order(w, "SO-1")
    pick_order(w, "SO-2")
    ok(
        w.run(
            Return,
            sku="MILK",
            qty=1,
            lot="L1",
            to_location="RET-1",
            order="SO-2",
            reason=ReturnReason.DAMAGED,
        )
    )
    ok(
        w.run(
            Adjust,
            sku="MILK",
            location="A-01-02",
            delta=-2,
            lot="L1",
            reason=AdjustReason.LOST,
            approved_by="S1",
        )
    )
    return w


def test_a_recall_in_one_command(recall: Warehouse, db_url: str, tmp_path: Path) -> None:
    data = json.loads(printed(report(db_url, "trace", "L1", "--json")))
    assert data["report"] == "Trace of lot L1 (MILK): 8 move(s)"
    got = [
        (
            r["kind"],
            r["qty"],
            r["from_location"],
            r["to_location"],
            r["operator"],
            r["station"],
            r["reference"],
        )
        for r in data["rows"]
    ]
    assert got == [
        ("receive", 20, "VENDOR", "DOCK-1", "D1", "ST-1", "R-1"),
        ("putaway", 20, "DOCK-1", "A-01-02", "D1", "ST-1", None),
        ("post_pick", 8, "A-01-02", "OUT-1", "P1", "ST-1", "SO-1"),
        ("ship_order", 8, "OUT-1", "CUSTOMER", "D1", "ST-1", "SO-1"),
        ("post_pick", 4, "A-01-02", "OUT-1", "P1", "ST-1", "SO-2"),
        ("ship_order", 4, "OUT-1", "CUSTOMER", "D1", "ST-1", "SO-2"),
        ("return", 1, "CUSTOMER", "RET-1", "D1", "ST-1", "SO-2"),
        ("adjust", 2, "A-01-02", "ADJUSTMENT", "C1", "ST-1", None),
    ]
    assert [r["reason"] for r in data["rows"]][-1] == "adjust: lost"
    assert all(r["sku"] == "MILK" for r in data["rows"])
    # Where it stands: 20 - 8 - 4 - 2 in A-01-02 and the 1 returned; with customers 8 + 4 - 1.
    assert data["notes"] == [
        "Lot L1 of MILK now: 6 in A-01-02, 1 in RET-1 (7 in stock). With customers: 11 "
        "(SO-1 8, SO-2 3), net of returns."
    ]
    assert (
        recall.on_hand("A-01-02", "MILK", "L1") == 6 and recall.on_hand("RET-1", "MILK", "L1") == 1
    )
    text = printed(report(db_url, "trace", "L2", "--sku", "MILK"))
    assert "Trace of lot L2 (MILK): 2 move(s)" in text
    assert (
        "Lot L2 of MILK now: 10 in B-01-01 (10 in stock). None of it is with customers."
        in " ".join(text.split())
    )
    out = tmp_path / "trace.csv"
    printed(report(db_url, "trace", "L1", "--csv", str(out)))
    with out.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["kind"], r["qty"], r["to_location"], r["reference"]) for r in rows][3] == (
        "ship_order",
        "8",
        "CUSTOMER",
        "SO-1",
    )
    assert datetime.fromisoformat(rows[0]["time"]).tzinfo is not None


def test_a_trace_of_nothing_is_refused(recall: Warehouse, db_url: str) -> None:
    assert "no lot L7 is known, of any SKU" in refusal(report(db_url, "trace", "L7"))
    assert "WIDGET has no lot L1; that lot code belongs to MILK" in refusal(
        report(db_url, "trace", "L1", "--sku", "WIDGET")
    )
    assert "no SKU NOPE is known" in refusal(report(db_url, "trace", "L1", "--sku", "NOPE"))


# --- expiring ---------------------------------------------------------------------------------


@pytest.fixture
def dated(warehouse: Warehouse) -> Warehouse:
    """MILK lots by days left: L0 -3 in A-01-01, L1 10 in A-01-02 (lot on hold), L2 30 in
    A-01-03, L3 31 in B-01-01; BOLT (no lot) in A-01-01."""
    w = warehouse
    lines = (
        OpeningLine("MILK", "A-01-01", 5, "L0", TODAY - timedelta(days=3)),
        OpeningLine("MILK", "A-01-02", 6, "L1", TODAY + timedelta(days=10)),
        OpeningLine("MILK", "A-01-03", 7, "L2", TODAY + timedelta(days=30)),
        OpeningLine("MILK", "B-01-01", 8, "L3", TODAY + timedelta(days=31)),
        OpeningLine("BOLT", "A-01-01", 9),
    )
    ok(w.run(Opening, lines=lines))
    ok(w.run(Hold, sku="MILK", lot="L1", reason="supplier recall"))
    return w


def test_lots_expiring_within_n_days(dated: Warehouse, db_url: str, tmp_path: Path) -> None:
    data = json.loads(printed(report(db_url, "expiring", "--json")))
    assert data["report"] == f"Lots expired or expiring within 30 day(s) of {TODAY}"
    got = [
        (r["location"], r["lot"], r["days_left"], r["on_hand"], r["state"], r["held"])
        for r in data["rows"]
    ]
    assert got == [
        ("A-01-01", "L0", -3, 5, "expired", None),
        ("A-01-02", "L1", 10, 6, "expiring", "lot: supplier recall"),
        ("A-01-03", "L2", 30, 7, "expiring", None),
    ]
    assert data["notes"][1] == "18 unit(s) in 3 line(s); 5 unit(s) already expired."
    out = tmp_path / "expiring.csv"
    printed(report(db_url, "expiring", "--days", "10", "--csv", str(out)))
    with out.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows == [
        ["location", "sku", "lot", "expiry", "days_left", "on_hand", "reserved", "state", "held"],
        ["A-01-01", "MILK", "L0", str(TODAY - timedelta(days=3)), "-3", "5", "0", "expired", ""],
        [
            "A-01-02",
            "MILK",
            "L1",
            str(TODAY + timedelta(days=10)),
            "10",
            "6",
            "0",
            "expiring",
            "lot: supplier recall",
        ],
    ]
    assert "Invalid value for '--days'" in refusal(report(db_url, "expiring", "--days", "-1"))


# --- adjustments ------------------------------------------------------------------------------


@pytest.fixture
def adjusted(warehouse: Warehouse) -> Warehouse:
    """Adjustments on chosen days; unit values WIDGET 12.50, BOLT 0.20, MILK none."""
    w = warehouse
    ok(
        w.run(
            Opening,
            lines=(
                OpeningLine("WIDGET", "A-01-01", 10),
                OpeningLine("BOLT", "A-01-02", 100),
                OpeningLine("MILK", "B-01-02", 10, "L1", TODAY + timedelta(days=60)),
            ),
        )
    )
    s = table(SkuRow)
    with w.engine.begin() as c:
        for sku, value in (("WIDGET", 1250), ("BOLT", 20)):
            c.execute(update(s).where(s.c.code == sku).values(unit_value_cents=value))

    def adjust(
        sku: str, bin_: str, delta: int, reason: AdjustReason, day: date, **more: Any
    ) -> None:
        ok(
            w.run(
                Adjust,
                sku=sku,
                location=bin_,
                delta=delta,
                reason=reason,
                station_time=at(day, 0 if day == TODAY else 9),
                **{"operator": "C1", "approved_by": "S1", **more},
            )
        )

    adjust("WIDGET", "A-01-01", -1, AdjustReason.LOST, OLD)  # before the period
    adjust("WIDGET", "A-01-01", -3, AdjustReason.LOST, D0)
    adjust("BOLT", "A-01-02", 5, AdjustReason.FOUND, D1)
    adjust(
        "MILK", "B-01-02", -2, AdjustReason.DAMAGED, D1, lot="L1", operator="S1", approved_by="S2"
    )
    adjust("WIDGET", "A-01-01", 1, AdjustReason.COUNT, D2)
    return w


def test_adjustments_by_reason_and_by_operator(adjusted: Warehouse, db_url: str) -> None:
    data = json.loads(printed(report(db_url, "adjustments", "--json")))
    start = TODAY - timedelta(days=29)
    assert data["report"] == f"Adjustments by reason, {start} .. {TODAY}"
    figures = [
        "transactions",
        "units_in",
        "units_out",
        "net_units",
        "value_in",
        "value_out",
        "net_value",
    ]
    got = {r["reason"]: [r[k] for k in figures] for r in data["rows"]}
    assert got == {
        "count": [1, 1, 0, 1, 1250, 0, 1250],
        "damaged": [1, 0, 2, -2, 0, 0, 0],
        "found": [1, 5, 0, 5, 100, 0, 100],
        "lost": [1, 0, 3, -3, 0, 3750, -3750],
    }
    assert data["notes"][1:] == [
        "Total: 4 transaction(s), 6 unit(s) in, 5 out, net +1; value in 13.50, out 37.50, net -24.00.",
        "2 unit(s) of SKUs without a unit value count as 0: set their unit_value with "
        "`perpetua import skus FILE --update` to value them.",
    ]
    data = json.loads(printed(report(db_url, "adjustments", "--by", "operator", "--json")))
    got = {(r["operator"], r["name"]): [r[k] for k in figures] for r in data["rows"]}
    assert got == {
        ("C1", "Cam Counter"): [3, 6, 3, 3, 1350, 3750, -2400],
        ("S1", "Sue Supervisor"): [1, 0, 2, -2, 0, 0, 0],
    }
    text = printed(report(db_url, "adjustments", "--from", str(D1), "--to", str(D1)))
    assert text.splitlines()[:4] == [
        f"Adjustments by reason, {D1} .. {D1}",
        "  Reason   Transactions  Units in  Units out  Net units  Value in  Value out  Net value",
        "  damaged             1         0          2         -2      0.00       0.00       0.00",
        "  found               1         5          0          5      1.00       0.00       1.00",
    ]
    # The old loss is found by a period that includes its day.
    old = json.loads(
        printed(report(db_url, "adjustments", "--from", str(OLD), "--to", str(OLD), "--json"))
    )
    assert [(r["reason"], r["units_out"], r["value_out"]) for r in old["rows"]] == [
        ("lost", 1, 1250)
    ]


def test_adjustments_csv_and_bad_periods(adjusted: Warehouse, db_url: str, tmp_path: Path) -> None:
    out = tmp_path / "adjustments.csv"
    said = printed(report(db_url, "adjustments", "--from", str(D0), "--csv", str(out)))
    assert said.endswith(f"4 row(s) written to {out}\n")
    with out.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == [
        "reason",
        "transactions",
        "units_in",
        "units_out",
        "net_units",
        "value_in",
        "value_out",
        "net_value",
    ]
    assert rows[1:] == [
        ["count", "1", "1", "0", "1", "12.50", "0.00", "12.50"],
        ["damaged", "1", "0", "2", "-2", "0.00", "0.00", "0.00"],
        ["found", "1", "5", "0", "5", "1.00", "0.00", "1.00"],
        ["lost", "1", "0", "3", "-3", "0.00", "37.50", "-37.50"],
    ]
    assert f"--from {D1} is after --to {D0}: give the first day" in refusal(
        report(db_url, "adjustments", "--from", str(D1), "--to", str(D0))
    )
    assert "'2026-1-1' is not a date: write it YYYY-MM-DD" in refusal(
        report(db_url, "adjustments", "--from", "2026-1-1")
    )
    assert "'sku' is not one of 'reason', 'operator'" in refusal(
        report(db_url, "adjustments", "--by", "sku")
    )
