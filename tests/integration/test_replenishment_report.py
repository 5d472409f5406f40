"""Replenishment from a ledger built through real transactions, on both databases: the demand
`sku_demand` reads (shipments, else picks; only the days of the window), `perpetua report
replenishment` as a supervisor reads it, as CSV and JSON, and `perpetua replenishment backtest`.

The ledger (days before today, UTC; a 10-day window is days 0-9, today - 10 .. today - 1):
- WIDGET, lead time 2: 20 received; shipped 4 on day 0, 6 on day 2, 2 on day 6 (12), plus 1
  shipped 30 days ago and 1 today, both outside the window: 6 left in A-01-01.
- BOLT, lead time 0, imported reorder_point 50: 40 received, 3 picked on day 5 into OUT-1 and
  never shipped: 37 available (OUT-1 holds picked stock, not available).
- SCREW-4: 5 received, no demand. MILK, PHONE, SCREW-5: nothing.
"""

from __future__ import annotations

import csv
import json
import math
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import update

from app.adapters.db.reports_replenishment import sku_demand
from app.adapters.db.schema import SkuRow, table
from app.cli import main
from app.domain.commands import PostPick, Putaway, Receive, Reserve, Ship, Transfer
from app.domain.ledger import Outcome
from app.domain.replenishment import DemandSource
from tests.support.warehouse import Warehouse

TODAY = datetime.now(UTC).date()
HISTORY = 10
FIRST = TODAY - timedelta(days=HISTORY)
Z95 = 1.6448536269514722


def day(n: int) -> datetime:
    """Noon of day `n` of the window (negative: before it)."""
    return datetime.combine(FIRST + timedelta(days=n), time(12), UTC)


def ok(outcome: Outcome) -> Outcome:
    assert outcome.ok, outcome.message
    return outcome


def ship(w: Warehouse, qty: int, when: datetime) -> None:
    """WIDGET taken to the outbound lane and shipped at `when`."""
    ok(w.run(Transfer, sku="WIDGET", qty=qty, from_location="A-01-01", to_location="OUT-1"))
    ok(w.run(Ship, sku="WIDGET", qty=qty, from_location="OUT-1", station_time=when))


@pytest.fixture
def ledger(warehouse: Warehouse) -> Warehouse:
    w = warehouse
    s = table(SkuRow)
    with w.engine.begin() as c:
        c.execute(update(s).where(s.c.code == "WIDGET").values(lead_time_days=2))
        c.execute(update(s).where(s.c.code == "BOLT").values(lead_time_days=0, reorder_point=50))
    for sku, qty, bin_ in (
        ("WIDGET", 20, "A-01-01"),
        ("BOLT", 40, "A-01-02"),
        ("SCREW-4", 5, "A-01-03"),
    ):
        ok(w.run(Receive, sku=sku, qty=qty, to_location="DOCK-1", station_time=day(-40)))
        ok(w.run(Putaway, sku=sku, qty=qty, from_location="DOCK-1", to_location=bin_))
    ship(w, 1, day(-20))
    ship(w, 4, day(0))
    ship(w, 6, day(2))
    ship(w, 2, day(6))
    ship(w, 1, datetime.combine(TODAY, time(0), UTC))
    reserved = ok(w.run(Reserve, order="SO-9", line=1, sku="BOLT", qty=3, station_time=day(5)))
    rid = reserved.result["lines"][0]["reservation"]
    ok(w.run(PostPick, reservation=rid, qty=3, to_location="OUT-1", station_time=day(5)))
    return w


def test_demand_per_day_from_shipments_else_picks(ledger: Warehouse) -> None:
    with ledger.engine.connect() as c:
        skus = {s.sku: s for s in sku_demand(c, FIRST, HISTORY)}
    widget, bolt, screw = skus["WIDGET"], skus["BOLT"], skus["SCREW-4"]
    assert widget.demand == (4, 0, 6, 0, 0, 0, 2, 0, 0, 0)
    assert (widget.source, widget.available, widget.lead_time_days) == (DemandSource.SHIPPED, 6, 2)
    assert bolt.demand == (0, 0, 0, 0, 0, 3, 0, 0, 0, 0)
    assert (bolt.source, bolt.available, bolt.imported_point) == (DemandSource.PICKED, 37, 50)
    assert (screw.source, screw.available, sum(screw.demand)) == (DemandSource.NONE, 5, 0)
    assert sorted(skus) == ["BOLT", "MILK", "PHONE", "SCREW-4", "SCREW-5", "WIDGET"]
    assert ledger.invariants().total == 0


def perpetua(db_url: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--db", db_url, *args])


# WIDGET by SBA (alpha = beta = 0.1) over [4, 0, 6, 0, 0, 0, 2, 0, 0, 0]:
# size 4, interval 1 -> day 2: size 4.2, interval 1.1 -> day 6: size 3.98, interval 1.39;
# Croston 3.98 / 1.39 = 2.8633, SBA x 0.95 = 2.7201 a day; lead time 2: 5.4403.
# Deviation: mean 1.2, squares 7.84 + 23.04 + 0.64 + 7 x 1.44 = 41.6, / 10 = 4.16, sd 2.0396;
# safety 1.6449 x 2.0396 x sqrt(2) = 4.7446; point 10.1849 -> 11; 6 available: due,
# order up to 11 + 6 = 17: 11.
WIDGET_RATE = 0.95 * 3.98 / 1.39
WIDGET_SAFETY = Z95 * math.sqrt(4.16) * math.sqrt(2)
# BOLT by SBA over its picks (3 on day 5): size 3, interval 6: 0.5, x 0.95 = 0.475 a day; lead
# time 0 counts as 1; imported point 50 in force; 37 available: order up to 50 + 1: 14.


def test_the_report_lists_the_skus_due(ledger: Warehouse, db_url: str) -> None:
    shown = perpetua(db_url, "report", "replenishment", "--history", str(HISTORY), "--json")
    assert shown.exit_code == 0, shown.output
    report = json.loads(shown.output)
    rows = {r["sku"]: r for r in report["rows"]}
    assert sorted(rows) == ["BOLT", "WIDGET"]
    w, b = rows["WIDGET"], rows["BOLT"]
    assert w["demand_per_day"] == f"{WIDGET_RATE:.2f}" == "2.72"
    assert (w["demand_from"], w["lead_time_days"]) == ("shipped", 2)
    assert w["lead_time_demand"] == pytest.approx(2 * WIDGET_RATE)
    assert w["safety_stock"] == pytest.approx(WIDGET_SAFETY)
    assert (w["reorder_point"], w["point_from"], w["computed_point"]) == (11, "computed", 11)
    assert (w["available"], w["suggested_qty"]) == (6, 11)
    assert (b["demand_from"], b["demand_per_day"], b["lead_time_days"]) == ("picked", "0.47", 1)
    assert (b["reorder_point"], b["point_from"], b["available"], b["suggested_qty"]) == (
        50,
        "imported",
        37,
        14,
    )
    notes = " ".join(report["notes"])
    assert "nothing counts as on order" in notes
    assert "2 of 6 active SKUs are at or below their reorder point; --all lists every SKU" in notes

    text = perpetua(db_url, "report", "replenishment", "--history", str(HISTORY)).output
    assert text.splitlines()[0] == "Replenishment (SBA (alpha 0.1, beta 0.1), service level 95 %)"
    assert (
        "  SKU     source   demand/day  lead days  LT demand  safety  point  from      computed  available  order qty\n"
        "  BOLT    picked   0.47                1        0.5     1.5     50  imported         2         37         14\n"
        "  WIDGET  shipped  2.72                2        5.4     4.7     11  computed        11          6         11\n"
    ) in text


def test_every_sku_and_another_method(ledger: Warehouse, db_url: str) -> None:
    shown = perpetua(
        db_url,
        "report",
        "replenishment",
        "--history",
        str(HISTORY),
        "--all",
        "--method",
        "croston",
        "--json",
    )
    rows = {r["sku"]: r for r in json.loads(shown.output)["rows"]}
    assert sorted(rows) == ["BOLT", "MILK", "PHONE", "SCREW-4", "SCREW-5", "WIDGET"]
    assert rows["SCREW-4"]["suggested_qty"] is None
    assert (rows["SCREW-4"]["available"], rows["SCREW-4"]["reorder_point"]) == (5, 0)
    # Croston 2.8633 a day: 5.7266 + 4.7446 = 10.47 -> 11 still
    assert rows["WIDGET"]["demand_per_day"] == "2.86"
    assert rows["WIDGET"]["suggested_qty"] == 11 + math.ceil(2 * 3.98 / 1.39) - 6


def test_the_report_as_csv(ledger: Warehouse, db_url: str, tmp_path: Path) -> None:
    out = tmp_path / "order.csv"
    written = perpetua(
        db_url, "report", "replenishment", "--history", str(HISTORY), "--csv", str(out)
    )
    assert written.exit_code == 0, written.output
    assert "2 row(s) written" in written.output
    with out.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [
        (r["sku"], r["reorder_point"], r["point_from"], r["available"], r["suggested_qty"])
        for r in rows
    ] == [
        ("BOLT", "50", "imported", "37", "14"),
        ("WIDGET", "11", "computed", "6", "11"),
    ]
    assert rows[1]["safety_stock"] == f"{WIDGET_SAFETY:.1f}"


def test_bad_input_is_refused(db_url: str, ledger: Warehouse) -> None:
    bad = perpetua(db_url, "report", "replenishment", "--method", "ses")
    assert bad.exit_code == 2 and "'ses' is not one of 'croston', 'sba', 'tsb'" in bad.output
    bad = perpetua(db_url, "replenishment", "backtest", "--days", "0")
    assert bad.exit_code == 2 and "0 is not in the range 1<=x<=3650" in bad.output


# The backtest, --days 5 --history 5 --method croston: days 5-9 replayed, each day's point from
# the 5 days before it. Lead time 2 (WIDGET), 1 (BOLT). WIDGET, demand 0, 2, 0, 0, 0 on days 5-9:
# day 5: history [4, 0, 6, 0, 0]: Croston 4.2 / 1.1 = 3.8182 a day, x 2 = 7.6364; sd of the
#   history sqrt(6.4) = 2.5298; safety 1.6449 x 2.5298 x 1.4142 = 5.8848; point 13.52 -> 14.
#   Starts with 14, no demand; 14 at the point: order up to 14 + 8 = 22: 8, arriving day 7.
# day 6: history [0, 6, 0, 0, 0]: size 6, interval 2: 3 a day, x 2 = 6; sd sqrt(5.76) = 2.4;
#   safety 5.5827; point 11.58 -> 12. Sells 2: 12; 12 + 8 on order > 12: no order.
# day 7: 8 arrive: 20. History [6, 0, 0, 0, 2]: size 5.6, interval 2.2: 2.5455, x 2 = 5.0909;
#   sd of [6, 0, 0, 0, 2] (mean 1.6): sqrt((19.36 + 3 x 2.56 + 0.16) / 5) = 2.3324; safety
#   5.4266; point 10.52 -> 11. 20 > 11.
# days 8, 9: 20 > any point (the same history shifted, at most 11). Ends 14, 12, 20, 20, 20:
#   average 17.2; 2 of 2 served.
# Static point 0 (WIDGET has none imported): starts empty, no demand on day 5; expected demand
#   7.6364 > 0 and out: order up to 0 + 8: 8, arriving day 7. Day 6: 2 demanded, none served.
#   Day 7: 8 arrive, ends 8, 8, 8: average 24 / 5 = 4.8; 0 of 2 served.
# BOLT, demand 3 on day 5 (its picks): day 5's history [0, 0, 0, 0, 0]: point 0, nothing
#   expected: starts empty, 0 of 3 served, no order (0 demand forecast). Days 6-9 points from
#   histories with the 3, no demand left: ends at what arrives. Computed served 0 of 3.
#   Static 50: starts with 50, serves 3: 100 %.


def test_the_backtest(ledger: Warehouse, db_url: str) -> None:
    shown = perpetua(
        db_url,
        "replenishment",
        "backtest",
        "--days",
        "5",
        "--history",
        "5",
        "--method",
        "croston",
        "--json",
    )
    assert shown.exit_code == 0, shown.output
    report = json.loads(shown.output)
    rows = {r["sku"]: r for r in report["rows"]}
    assert list(rows) == ["BOLT", "WIDGET", "(all)"]
    w = rows["WIDGET"]
    assert (w["demanded"], w["computed_fill_rate"], w["computed_average_stock"]) == (
        2,
        100.0,
        pytest.approx(17.2),
    )
    assert (w["static_point"], w["static_fill_rate"], w["static_average_stock"]) == (
        0,
        0.0,
        pytest.approx(4.8),
    )
    b = rows["BOLT"]
    assert (b["demanded"], b["computed_fill_rate"], b["static_point"], b["static_fill_rate"]) == (
        3,
        0.0,
        50,
        100.0,
    )
    total = rows["(all)"]
    assert (total["demanded"], total["static_point"]) == (5, None)
    assert total["computed_fill_rate"] == pytest.approx(40.0)  # 2 of 5
    assert total["static_fill_rate"] == pytest.approx(60.0)  # 3 of 5
    assert total["computed_average_stock"] == pytest.approx(17.2 + b["computed_average_stock"])
    first, last = TODAY - timedelta(days=5), TODAY - timedelta(days=1)
    assert (
        report["report"]
        == f"Replenishment backtest {first} .. {last}: computed vs static reorder points"
    )
    assert any("computed points served 40.0 % of 5 units demanded" in n for n in report["notes"])
