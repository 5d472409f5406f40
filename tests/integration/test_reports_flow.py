"""The flow reports (`perpetua report age | turnover | receiving | picks | health`) on a ledger
built through the ledger services on both databases, with station times on chosen days; every
figure is checked against the one worked out by hand in the comments of `flowed`."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import insert, update

from app.adapters.db import catalogue
from app.adapters.db.schema import SkuClassRow, SkuRow, table
from app.cli import main
from app.domain.catalogue import OrderLineSpec, ReceiptLineSpec
from app.domain.commands import (
    Adjust,
    AdjustReason,
    CloseReceipt,
    PostPick,
    Putaway,
    Receive,
    ReleaseHow,
    ReleaseList,
    SetPolicy,
    ShipOrder,
    TakeList,
    Void,
)
from app.domain.ledger import Outcome
from tests.support.warehouse import Warehouse

TODAY = datetime.now(UTC).date()
PICKER = {"station": "ST-1", "operator": "P1"}


def ago(days: int, hour: int = 9, minute: int = 0) -> datetime:
    """A station time `days` days before today (today's at 00:00 at the latest: never ahead)."""
    moment = datetime.combine(TODAY - timedelta(days=days), time(hour, minute), UTC)
    return min(moment, datetime.combine(TODAY, time(), UTC))


def ok(outcome: Outcome) -> Outcome:
    assert outcome.ok, outcome.message
    return outcome


def received(w: Warehouse, sku: str, qty: int, days: int, bin_: str, **fields: Any) -> None:
    """Received onto DOCK-1 and put away into `bin_` on the day `days` ago."""
    when = ago(days)
    ok(w.run(Receive, sku=sku, qty=qty, to_location="DOCK-1", station_time=when, **fields))
    ok(
        w.run(
            Putaway, sku=sku, qty=qty, from_location="DOCK-1", to_location=bin_, station_time=when
        )
    )


def reservations(taken: Outcome) -> dict[int, dict[str, Any]]:
    """Order line -> its one reservation."""
    return {line["line"]: line["reservations"][0] for line in taken.result["lines"]}


@pytest.fixture
def flowed(warehouse: Warehouse) -> Warehouse:
    """The ledger every test reads (Dn: n days ago; unit values WIDGET 2.50, BOLT 0.10,
    SCREW-5 1.00; WIDGET is class A, the others have no class: C):

    WIDGET: D200 received 10, D100 5 (against ASN-2), D75 4 (against ASN-1), all put away in
        A-01-01; D5 8 picked for SO-1 (08:00) and shipped; D2 1 lost. On hand 10, all available.
    BOLT: D20 received against ASN-1 6 onto DOCK-1 (put away in A-01-02) and 2 damaged into
        QUAR-1; D5 1 picked for SO-1 (08:12) and shipped; D3 3 of SO-2's 4 picked (10:20, short)
        into OUT-1; D1 SO-3's reservation of 1 voided, not picked. On hand 7: A-01-02 2
        (available), OUT-1 3, QUAR-1 2.
    SCREW-5: D150 received 3 into B-01-01, then made inactive.
    MILK, PHONE, SCREW-4: active, never stocked.

    ASN-1 expects WIDGET 5 and BOLT 5; got WIDGET 4 (1 short) and BOLT 8 (3 over, 2 of them
    damaged); closed today by D1, the short close approved by S1. ASN-2 expects WIDGET 5, got 5
    on D100, and stays open. ASN-3 expects 2 BOLT, gets none, and is closed today."""
    w = warehouse
    with w.engine.begin() as c:
        catalogue.add_receipts(
            c,
            [
                ReceiptLineSpec("ASN-1", 1, "WIDGET", 5),
                ReceiptLineSpec("ASN-1", 2, "BOLT", 5),
                ReceiptLineSpec("ASN-2", 1, "WIDGET", 5),
                ReceiptLineSpec("ASN-3", 1, "BOLT", 2),
            ],
        )
        catalogue.add_orders(
            c,
            [
                OrderLineSpec("SO-1", 1, "WIDGET", 8),
                OrderLineSpec("SO-1", 2, "BOLT", 1),
                OrderLineSpec("SO-2", 1, "BOLT", 4),
                OrderLineSpec("SO-3", 1, "BOLT", 1),
            ],
        )
        s = table(SkuRow)
        for code, cents in (("WIDGET", 250), ("BOLT", 10), ("SCREW-5", 100)):
            c.execute(update(s).where(s.c.code == code).values(unit_value_cents=cents))
        widget = c.execute(s.select().where(s.c.code == "WIDGET")).one().id
        c.execute(
            insert(table(SkuClassRow)).values(
                sku_id=widget, abc="A", picked_units=8, usage_value_cents=2000, computed_on=TODAY
            )
        )
    received(w, "WIDGET", 10, 200, "A-01-01")
    received(w, "WIDGET", 5, 100, "A-01-01", receipt="ASN-2")
    received(w, "WIDGET", 4, 75, "A-01-01", receipt="ASN-1")
    received(w, "SCREW-5", 3, 150, "B-01-01")
    received(w, "BOLT", 6, 20, "A-01-02", receipt="ASN-1", approved_by="S1")
    ok(
        w.run(
            Receive,
            sku="BOLT",
            qty=2,
            to_location="QUAR-1",
            receipt="ASN-1",
            approved_by="S1",
            station_time=ago(20),
        )
    )
    so1 = reservations(ok(w.run(TakeList, order="SO-1", station_time=ago(5, 8), **PICKER)))
    for line, minute in ((1, 0), (2, 12)):
        r = so1[line]
        ok(
            w.run(
                PostPick,
                reservation=r["reservation"],
                qty=r["qty"],
                to_location="OUT-1",
                station_time=ago(5, 8, minute),
                **PICKER,
            )
        )
    ok(
        w.run(
            ReleaseList, order="SO-1", how=ReleaseHow.FINISHED, station_time=ago(5, 8, 13), **PICKER
        )
    )
    ok(w.run(ShipOrder, order="SO-1", station_time=ago(5, 8, 30), operator="D1"))
    so2 = reservations(ok(w.run(TakeList, order="SO-2", station_time=ago(3, 10), **PICKER)))
    ok(
        w.run(
            PostPick,
            reservation=so2[1]["reservation"],
            qty=3,
            to_location="OUT-1",
            short_reason="bin short",
            station_time=ago(3, 10, 20),
            **PICKER,
        )
    )
    so3 = reservations(ok(w.run(TakeList, order="SO-3", station_time=ago(1, 11), **PICKER)))
    ok(w.run(Void, reservation=so3[1]["reservation"], station_time=ago(1, 11, 5), **PICKER))
    ok(
        w.run(
            Adjust,
            sku="WIDGET",
            location="A-01-01",
            delta=-1,
            reason=AdjustReason.LOST,
            station_time=ago(2),
            operator="C1",
        )
    )
    ok(w.run(CloseReceipt, receipt="ASN-1", approved_by="S1", operator="D1"))
    ok(w.run(CloseReceipt, receipt="ASN-3", approved_by="S1", operator="D1"))
    with w.engine.begin() as c:
        s = table(SkuRow)
        c.execute(update(s).where(s.c.code == "SCREW-5").values(active=False))
    assert w.invariants().total == 0
    return w


def report(url: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--db", url, "report", *args])


def rows(url: str, *args: str) -> list[dict[str, Any]]:
    result = report(url, *args, "--json")
    assert result.exit_code == 0, result.output
    return list(json.loads(result.output)["rows"])


def test_age_buckets_first_in_first_out(flowed: Warehouse, db_url: str) -> None:
    got = {r["sku"]: r for r in rows(db_url, "age")}
    assert list(got) == ["BOLT", "SCREW-5", "WIDGET", "total"]
    keys = ["on_hand", "days_0_30", "days_31_60", "days_61_90", "days_91_180", "days_over_180"]
    figures = {
        sku: [r[k] for k in [*keys, "no_receipt", "value", "value_over_90"]]
        for sku, r in got.items()
    }
    # WIDGET 10: the 4 of D75, the 5 of D100, 1 of the 10 of D200; 6 over 90 days at 2.50.
    assert figures["WIDGET"] == [10, 0, 0, 4, 5, 1, 0, 2500, 1500]
    assert figures["BOLT"] == [7, 7, 0, 0, 0, 0, 0, 70, 0]  # 7 of the 8 of D20
    assert figures["SCREW-5"] == [3, 0, 0, 0, 3, 0, 0, 300, 300]
    assert figures["total"] == [20, 7, 0, 4, 8, 1, 0, 2870, 1800]


def test_turnover_per_sku_over_the_last_90_days(flowed: Warehouse, db_url: str) -> None:
    got = {r["sku"]: r for r in rows(db_url, "turnover")}
    assert list(got) == ["BOLT", "SCREW-5", "WIDGET", "total"]
    # WIDGET: days D89..D76 close at 15, D75..D6 at 19, D5..D3 at 11, D2..D0 at 10.
    widget_average = (15 * 14 + 19 * 70 + 11 * 3 + 10 * 3) / 90
    # BOLT: D89..D21 at 0, D20..D6 at 8, D5..D0 at 7.  SCREW-5: 3 every day.
    bolt_average = (8 * 15 + 7 * 6) / 90
    expected = {
        "WIDGET": (8, widget_average, 10, 8 / widget_average, 10 * 90 / 8),
        "BOLT": (1, bolt_average, 7, 1 / bolt_average, 7 * 90 / 1),
        "SCREW-5": (0, 3.0, 3, 0.0, None),
        "total": (
            9,
            widget_average + bolt_average + 3,
            20,
            9 / (widget_average + bolt_average + 3),
            200.0,
        ),
    }
    for sku, (shipped, average, on_hand, turns, supply) in expected.items():
        r = got[sku]
        assert (r["shipped"], r["on_hand"]) == (shipped, on_hand), sku
        assert r["average_on_hand"] == pytest.approx(average), sku
        assert r["turnover"] == pytest.approx(turns), sku
        assert r["days_of_supply"] == (None if supply is None else pytest.approx(supply)), sku


def test_turnover_by_abc_class(flowed: Warehouse, db_url: str) -> None:
    got = {r["class"]: r for r in rows(db_url, "turnover", "--by", "abc")}
    assert list(got) == ["A", "B", "C", "total"]
    assert (got["A"]["shipped"], got["A"]["on_hand"]) == (8, 10)
    assert got["B"] == {
        "class": "B",
        "shipped": 0,
        "average_on_hand": 0.0,
        "on_hand": 0,
        "turnover": None,
        "days_of_supply": None,
    }
    c_average = (8 * 15 + 7 * 6) / 90 + 3  # BOLT and SCREW-5
    assert (got["C"]["shipped"], got["C"]["on_hand"]) == (1, 10)
    assert got["C"]["turnover"] == pytest.approx(1 / c_average)
    assert got["C"]["days_of_supply"] == pytest.approx(10 * 90)


def test_a_period_of_one_day(flowed: Warehouse, db_url: str) -> None:
    day = (TODAY - timedelta(days=5)).isoformat()
    got = {r["sku"]: r for r in rows(db_url, "turnover", "--from", day, "--to", day)}
    # D5 closes at 11 WIDGET and 7 BOLT; 8 and 1 shipped that day.
    assert got["WIDGET"]["average_on_hand"] == 11.0
    assert got["WIDGET"]["days_of_supply"] == pytest.approx(11 / 8)
    assert got["BOLT"]["turnover"] == pytest.approx(1 / 7)


def test_receiving_per_receipt(flowed: Warehouse, db_url: str) -> None:
    got = rows(db_url, "receiving")
    # ASN-2's only receive was 100 days ago; ASN-3 received nothing but was closed today.
    assert [r["receipt"] for r in got] == ["ASN-1", "ASN-3"]
    asn1, asn3 = got
    closed_at = asn1.pop("closed_at")
    assert asn1 == {
        "receipt": "ASN-1",
        "state": "closed",
        "expected": 10,
        "received": 12,
        "over": 3,
        "short": 1,
        "damaged": 2,
        "closed_by": "D1",
    }
    assert [asn3[k] for k in ("expected", "received", "over", "short", "damaged")] == [
        2,
        0,
        0,
        2,
        0,
    ]
    assert datetime.fromisoformat(closed_at).date() == TODAY
    day = (TODAY - timedelta(days=100)).isoformat()
    old = rows(db_url, "receiving", "--from", day, "--to", day)
    assert [
        (
            r["receipt"],
            r["state"],
            r["expected"],
            r["received"],
            r["over"],
            r["short"],
            r["closed_by"],
        )
        for r in old
    ] == [("ASN-2", "open", 5, 5, 0, 0, None)]
    text = report(db_url, "receiving").output
    assert "Receipts carry no supplier" in text


def test_picks_per_operator(flowed: Warehouse, db_url: str) -> None:
    got = rows(db_url, "picks")
    # P1: 08:00 and 08:12 on D5 (12 minutes worked), 10:20 on D3 alone (short: 3 of 4).
    p1 = {"operator": "P1", "lines": 3, "units": 12, "hours": 0.2, "short_picks": 1}
    assert [{k: r[k] for k in p1} for r in got] == [p1, {**p1, "operator": "total"}]
    assert got[0]["lines_per_hour"] == pytest.approx(15.0)
    assert got[0]["units_per_hour"] == pytest.approx(60.0)
    day = (TODAY - timedelta(days=3)).isoformat()
    alone = rows(db_url, "picks", "--from", day, "--to", day)[0]
    assert (alone["lines"], alone["units"], alone["hours"], alone["lines_per_hour"]) == (
        1,
        3,
        0.0,
        None,
    )


def test_health_overall_first_then_per_sku(flowed: Warehouse, db_url: str) -> None:
    got = rows(db_url, "health")
    assert [r["sku"] for r in got] == [
        "overall",
        "BOLT",
        "MILK",
        "PHONE",
        "SCREW-4",
        "SCREW-5",
        "WIDGET",
    ]
    by = {r["sku"]: r for r in got}
    keys = [
        "active",
        "shipped",
        "on_hand",
        "available",
        "excess_units",
        "excess_value",
        "stranded_units",
        "stranded_value",
        "in_stock",
    ]
    # 90 days of demand (policy 90) allow as many units as shipped in the 90 days.
    assert [by["WIDGET"][k] for k in keys] == ["yes", 8, 10, 10, 2, 500, 0, 0, 100.0]
    assert [by["BOLT"][k] for k in keys] == ["yes", 1, 7, 2, 6, 60, 0, 0, 100.0]
    assert [by["SCREW-5"][k] for k in keys] == ["no", 0, 3, 3, 3, 300, 3, 300, None]
    assert [by["MILK"][k] for k in keys] == ["yes", 0, 0, 0, 0, 0, 0, 0, 0.0]
    assert [by["overall"][k] for k in keys] == ["", 9, 20, 15, 11, 860, 3, 300, 40.0]
    assert by["WIDGET"]["sell_through"] == pytest.approx(100 * 8 / 18)
    assert by["BOLT"]["sell_through"] == pytest.approx(100 * 1 / 8)
    assert by["SCREW-5"]["sell_through"] == 0.0
    assert by["MILK"]["sell_through"] is None
    assert by["overall"]["sell_through"] == pytest.approx(100 * 9 / 29)


def test_health_follows_the_policy(flowed: Warehouse, db_url: str) -> None:
    for key, value in (("stranded_days", 5), ("excess_days_of_supply", 180)):
        ok(flowed.run(SetPolicy, key=key, value=value, operator="S1", approver_pin="123456"))
    by = {r["sku"]: r for r in rows(db_url, "health")}
    # The last shipment, D5, is outside the 5 days D4..D0: everything in stock is stranded.
    assert (by["WIDGET"]["stranded_units"], by["BOLT"]["stranded_units"]) == (10, 7)
    # 180 days of demand allow twice the 90 days' shipments: WIDGET 16, BOLT 2.
    assert (by["WIDGET"]["excess_units"], by["BOLT"]["excess_units"]) == (0, 5)
    assert by["overall"]["stranded_value"] == 2500 + 70 + 300


def test_csv_round_trip(flowed: Warehouse, db_url: str, tmp_path: Path) -> None:
    for name in ("age", "turnover", "receiving", "picks", "health"):
        path = tmp_path / f"{name}.csv"
        result = report(db_url, name, "--csv", str(path))
        assert result.exit_code == 0, result.output
        shown = json.loads(report(db_url, name, "--json").output)
        with path.open(encoding="utf-8", newline="") as f:
            read = list(csv.reader(f))
        assert read[0] == [c["name"] for c in shown["columns"]]
        assert len(read) == len(shown["rows"]) + 1
        assert f"{len(shown['rows'])} row(s) written to {path}" in result.output
    with (tmp_path / "age.csv").open(encoding="utf-8", newline="") as f:
        widget = next(r for r in csv.DictReader(f) if r["sku"] == "WIDGET")
    assert (widget["days_91_180"], widget["value"], widget["value_over_90"]) == (
        "5",
        "25.00",
        "15.00",
    )
    with (tmp_path / "health.csv").open(encoding="utf-8", newline="") as f:
        overall = next(csv.DictReader(f))
    assert (overall["sku"], overall["sell_through"], overall["in_stock"]) == (
        "overall",
        "31.0 %",
        "40.0 %",
    )


def test_the_printed_table(flowed: Warehouse, db_url: str) -> None:
    result = report(db_url, "picks")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"Picks {TODAY - timedelta(days=89)} .. {TODAY}"
    assert lines[1].split() == [
        "operator",
        "lines",
        "units",
        "hours",
        "lines/hour",
        "units/hour",
        "short",
        "picks",
    ]
    assert lines[2].split() == ["P1", "3", "12", "0.2", "15.0", "60.0", "1"]


@pytest.mark.parametrize("name", ["turnover", "receiving", "picks"])
def test_bad_dates_are_refused(flowed: Warehouse, db_url: str, name: str) -> None:
    bad = report(db_url, name, "--from", "2026-13-01")
    assert bad.exit_code == 2
    assert "'2026-13-01' is not a date: write it YYYY-MM-DD" in bad.output
    compact = report(db_url, name, "--to", "20261207")
    assert compact.exit_code == 2 and "is not a date" in compact.output
    backwards = report(db_url, name, "--from", "2026-12-07", "--to", "2026-12-01")
    assert backwards.exit_code == 1
    assert "--from 2026-12-07 is after --to 2026-12-01: give the first day" in backwards.output
    both = report(db_url, name, "--csv", "x.csv", "--json")
    assert both.exit_code == 2 and "give --csv FILE or --json, not both" in both.output


def test_an_empty_warehouse(warehouse: Warehouse, db_url: str) -> None:
    assert rows(db_url, "age") == [
        {
            "sku": "total",
            "on_hand": 0,
            "days_0_30": 0,
            "days_31_60": 0,
            "days_61_90": 0,
            "days_91_180": 0,
            "days_over_180": 0,
            "no_receipt": 0,
            "value": 0,
            "value_over_90": 0,
        }
    ]
    assert [r["operator"] for r in rows(db_url, "picks")] == ["total"]
    assert rows(db_url, "receiving") == []
    text = report(db_url, "turnover").output
    assert "Nothing was shipped in the period, so demand is the units picked" in text


def test_a_day_far_in_the_past_and_future(flowed: Warehouse, db_url: str) -> None:
    far = rows(db_url, "turnover", "--from", "0001-01-01", "--to", "9999-12-31")
    assert far[-1]["shipped"] == 9
