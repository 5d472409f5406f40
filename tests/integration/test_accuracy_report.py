"""Inventory-record accuracy from counts posted through the ledger, on both databases: the
figures `accuracy` reads (the supervisor's screen calls it) and `perpetua report accuracy` prints,
as text and --json, for a period and a zone."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import insert, select, update

from app.adapters.db.accuracy import accuracy
from app.adapters.db.schema import SkuClassRow, SkuRow, table
from app.cli import main
from app.domain.accuracy import AccuracyRow, VarianceValue
from app.domain.commands import (
    Adjust,
    AdjustReason,
    CountLine,
    Putaway,
    Receive,
    SaveCount,
    SetPolicy,
)
from app.domain.ledger import Outcome
from app.domain.policy import WarehousePolicy
from tests.support.warehouse import Warehouse

TODAY = datetime.now(UTC).date()
D0, D1, D2 = TODAY - timedelta(days=2), TODAY - timedelta(days=1), TODAY
OLD = TODAY - timedelta(days=40)
"""A count before the default period of 30 days."""


def at(day: date, hour: int = 0) -> datetime:
    """A station time on `day` (today's at midnight: never in the future)."""
    return datetime.combine(day, time(hour), UTC)


def ok(outcome: Outcome) -> Outcome:
    assert outcome.ok, outcome.message
    return outcome


def stock(w: Warehouse, bin_: str, sku: str, qty: int, lot: str | None = None) -> None:
    """Received onto the dock and put away, as a dock does it."""
    expiry = TODAY + timedelta(days=60) if lot else None
    ok(w.run(Receive, sku=sku, qty=qty, to_location="DOCK-1", lot=lot, expiry=expiry))
    ok(w.run(Putaway, sku=sku, qty=qty, from_location="DOCK-1", to_location=bin_, lot=lot))


STOCKED: dict[str, tuple[tuple[str, str | None], ...]] = {
    "A-01-01": (("WIDGET", None),),
    "A-01-02": (("BOLT", None),),
    "B-01-01": (("BOLT", None),),
    "B-01-02": (("MILK", "L1"),),
}
"""The SKUs and lots each bin is stocked with."""


def position(w: Warehouse, bin_: str) -> tuple[CountLine, ...]:
    """What the ledger holds in `bin_` now: the snapshot a count starts from."""
    return tuple(
        CountLine(sku, w.on_hand(bin_, sku, lot), lot)
        for sku, lot in STOCKED.get(bin_, ())
        if w.on_hand(bin_, sku, lot)
    )


def count(
    w: Warehouse,
    bin_: str,
    when: datetime,
    counted: dict[tuple[str, str | None], int],
    state: str,
    *,
    counter: str = "C1",
    snapshot: tuple[CountLine, ...] | None = None,
) -> None:
    """A count of `bin_` saved at `when` against `snapshot` (default: the ledger now), as the
    counter's station saves it."""
    lines = tuple(CountLine(sku, qty, lot) for (sku, lot), qty in counted.items() if qty)
    ok(
        w.run(
            SaveCount,
            location=bin_,
            state=state,
            counter=counter,
            operator=counter,
            counts=lines,
            snapshot=position(w, bin_) if snapshot is None else snapshot,
            station_time=when,
        )
    )


def adjust(w: Warehouse, bin_: str, sku: str, delta: int, when: datetime, **fields: Any) -> None:
    """A count's posting: the station's Adjust with reason code COUNT."""
    ok(
        w.run(
            Adjust,
            sku=sku,
            location=bin_,
            delta=delta,
            reason=AdjustReason.COUNT,
            station_time=when,
            **{"operator": "C1", **fields},
        )
    )


@pytest.fixture
def counted(warehouse: Warehouse) -> Warehouse:
    """Counts on three days and one long before, through the ledger (numbered in the comments
    below), with ABC classes WIDGET A, BOLT B (MILK none: C) and unit values
    WIDGET 12.50, BOLT 0.20 (MILK none)."""
    w = warehouse
    stock(w, "A-01-01", "WIDGET", 10)
    stock(w, "A-01-02", "BOLT", 100)
    stock(w, "B-01-01", "BOLT", 20)
    stock(w, "B-01-02", "MILK", 5, lot="L1")
    s, k = table(SkuRow), table(SkuClassRow)
    with w.engine.begin() as c:
        ids = {code: id_ for code, id_ in c.execute(select(s.c.code, s.c.id))}
        for sku, value in (("WIDGET", 1250), ("BOLT", 20)):
            c.execute(update(s).where(s.c.code == sku).values(unit_value_cents=value))
        classes = (("WIDGET", "A"), ("BOLT", "B"))
        c.execute(
            insert(k),
            [
                {
                    "sku_id": ids[sku],
                    "abc": abc,
                    "picked_units": 0,
                    "usage_value_cents": 0,
                    "computed_on": TODAY,
                }
                for sku, abc in classes
            ],
        )
    # 0. long ago, B-01-01 (zone B, class B): 20 of 20, matched; done.
    count(w, "B-01-01", at(OLD), {("BOLT", None): 20}, "done")
    # 1. D0, A-01-01 (A, class A): 10 of 10, matched; done.
    count(w, "A-01-01", at(D0, 10), {("WIDGET", None): 10}, "done")
    # 2. D0, A-01-02 (A, class B): 105 of 100 is 5 %, within tolerance: matched; +5 BOLT
    #    posted, then done (the station posts first, then saves against the count's snapshot).
    before = position(w, "A-01-02")
    adjust(w, "A-01-02", "BOLT", 5, at(D0, 11))
    count(w, "A-01-02", at(D0, 11), {("BOLT", None): 105}, "done", snapshot=before)
    # 3. D1, B-01-01 (B, class B): 17 of 20, beyond tolerance: not matched (the first count
    #    decides); recounted 19 by S2, within tolerance: -1 BOLT posted, done.
    before = position(w, "B-01-01")
    count(w, "B-01-01", at(D1, 10), {("BOLT", None): 17}, "recount")
    adjust(w, "B-01-01", "BOLT", -1, at(D1, 11), operator="S2")
    count(w, "B-01-01", at(D1, 11), {("BOLT", None): 19}, "done", counter="S2", snapshot=before)
    # 4. D1, B-01-02 (B, class C: MILK has none): 4 of lot L1's 5, 1 unit off: matched; -1 MILK
    #    L1 (no unit value) posted, done.
    before = position(w, "B-01-02")
    adjust(w, "B-01-02", "MILK", -1, at(D1, 13), lot="L1")
    count(w, "B-01-02", at(D1, 13), {("MILK", "L1"): 4}, "done", snapshot=before)
    # 5. D2, A-02-01 (A, class C: empty): nothing counted, nothing expected: matched; done.
    count(w, "A-02-01", at(D2), {}, "done")
    # 6. D2, A-01-01 again (A, class A): 8 of 10, beyond tolerance: not matched; open.
    count(w, "A-01-01", at(D2), {("WIDGET", None): 8}, "recount")
    return w


def test_the_accuracy_of_counts_posted_through_the_ledger(counted: Warehouse) -> None:
    with counted.engine.connect() as c:
        report = accuracy(c, D0, D2)
    # matched 1, 2, 4, 5 of 1-6 (0 is before the period)
    assert report.overall == AccuracyRow("overall", 6, 4)
    assert report.by_day == (
        AccuracyRow(D0.isoformat(), 2, 2),
        AccuracyRow(D1.isoformat(), 2, 1),
        AccuracyRow(D2.isoformat(), 2, 1),
    )
    assert report.by_zone == (AccuracyRow("A", 4, 3), AccuracyRow("B", 2, 1))
    assert report.by_class == (
        AccuracyRow("A", 2, 1),  # 1, 6
        AccuracyRow("B", 2, 1),  # 2, 3
        AccuracyRow("C", 2, 2),  # 4, 5
    )
    # done 1-5, final count minus snapshot: +5 BOLT (+1.00), -1 BOLT (-0.20), -1 MILK (no value)
    assert report.variance == VarianceValue(
        done=5,
        units_abs=7,
        units_net=3,
        value_abs_cents=120,
        value_net_cents=80,
        unvalued_units=1,
    )
    assert counted.invariants().total == 0


def test_the_count_tolerance_is_the_warehouse_policy(counted: Warehouse) -> None:
    exact = WarehousePolicy(count_units=0, count_percent=0)
    with counted.engine.connect() as c:
        assert accuracy(c, D0, D2, policy=exact).overall == AccuracyRow("overall", 6, 2)  # 1, 5
    ok(counted.run(SetPolicy, key="count_percent", value=0, operator="S1", approver_pin="123456"))
    with counted.engine.connect() as c:
        # 105 of 100 (task 2) no longer matches; 4 of 5 (task 4) still does, by 1 unit
        assert accuracy(c, D0, D2).overall == AccuracyRow("overall", 6, 3)


def perpetua(engine_url: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--db", engine_url, "report", "accuracy", *args])


def test_the_report_as_a_supervisor_reads_it(counted: Warehouse, db_url: str) -> None:
    shown = perpetua(db_url)  # the last 30 days up to today: tasks 1-6
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert lines[0] == (
        f"Inventory-record accuracy {TODAY - timedelta(days=29)} .. {TODAY}: 66.7 % "
        "(4 of 6 locations matched within tolerance)"
    )
    paragraphs = shown.output.rstrip("\n").split("\n\n")
    assert " ".join(paragraphs[0].splitlines()[1:]) == (
        "A first count matches when every SKU and lot in it or in the ledger is within 1 unit or "
        "5 % of the ledger's quantity, whichever is larger."
    )
    assert max(len(line) for line in lines[1:]) <= 100  # sentences wrapped for a terminal
    text = shown.output
    assert (
        "By day (UTC)\n"
        "  day         counted  matched  accuracy\n"
        f"  {D0}        2        2   100.0 %\n"
        f"  {D1}        2        1    50.0 %\n"
        f"  {D2}        2        1    50.0 %\n"
    ) in text
    assert (
        "By zone\n"
        "  zone  counted  matched  accuracy\n"
        "  A           4        3    75.0 %\n"
        "  B           2        1    50.0 %\n"
    ) in text
    assert (
        "By ABC class\n"
        "  class  counted  matched  accuracy\n"
        "  A            2        1    50.0 %\n"
        "  B            2        1    50.0 %\n"
        "  C            2        2   100.0 %\n"
    ) in text
    assert " ".join(paragraphs[-1].splitlines()) == (
        "Value of variances of 5 finished counts: 1.20 (net +0.80), 7 units (net +3). 1 unit of "
        "SKUs without a unit value count as 0: set their unit_value with `perpetua import skus "
        "FILE --update` to value them."
    )

    since_old = perpetua(db_url, "--from", OLD.isoformat(), "--to", D2.isoformat())
    assert since_old.output.splitlines()[0] == (
        f"Inventory-record accuracy {OLD} .. {D2}: 71.4 % (5 of 7 locations matched within "
        "tolerance)"
    )


def test_the_report_of_one_zone_as_json(counted: Warehouse, db_url: str) -> None:
    shown = perpetua(db_url, "--from", D0.isoformat(), "--to", D2.isoformat(), "--zone", "B")
    assert shown.exit_code == 0, shown.output
    assert shown.output.splitlines()[0] == (
        f"Inventory-record accuracy {D0} .. {D2}, zone B: 50.0 % (1 of 2 locations matched "
        "within tolerance)"
    )
    assert "  A            0        0         -\n" in shown.output  # no class A bin counted in B
    as_json = perpetua(db_url, "--from", D0.isoformat(), "--zone", "B", "--json")
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.output) == {
        "from": D0.isoformat(),
        "to": TODAY.isoformat(),
        "zone": "B",
        "tolerance": {"units": 1, "percent": 5},
        "overall": {"group": "overall", "counted": 2, "matched": 1, "percent": 50.0},
        "by_day": [{"group": D1.isoformat(), "counted": 2, "matched": 1, "percent": 50.0}],
        "by_zone": [{"group": "B", "counted": 2, "matched": 1, "percent": 50.0}],
        "by_class": [
            {"group": "A", "counted": 0, "matched": 0, "percent": None},
            {"group": "B", "counted": 1, "matched": 0, "percent": 0.0},
            {"group": "C", "counted": 1, "matched": 1, "percent": 100.0},
        ],
        "variance": {
            "done": 2,
            "units_abs": 2,
            "units_net": -2,
            "value_abs_cents": 20,
            "value_net_cents": -20,
            "unvalued_units": 1,
        },
    }


def test_an_empty_period_and_bad_input(counted: Warehouse, db_url: str) -> None:
    none = perpetua(db_url, "--zone", "-")  # every bin of the test warehouse has a zone
    assert none.exit_code == 0, none.output
    assert none.output.splitlines()[0] == (
        f"Inventory-record accuracy {TODAY - timedelta(days=29)} .. {TODAY}, zone -: - "
        "(no location was counted)"
    )
    assert "By zone\n  (no counts)\n" in none.output
    assert (
        none.output.splitlines()[-1]
        == "Value of variances: no count of the period is finished yet."
    )
    unknown = perpetua(db_url, "--zone", "Q")
    assert unknown.exit_code == 1
    assert (
        "Error: no location is in zone 'Q'; the zones are: A, B (or - for locations without a zone)"
    ) in unknown.output
    backwards = perpetua(db_url, "--from", D2.isoformat(), "--to", D0.isoformat())
    assert backwards.exit_code == 1
    assert f"--from {D2} is after --to {D0}: give the first day of the period first" in (
        backwards.output
    )
    bad = perpetua(db_url, "--from", "7.12.2026")
    assert bad.exit_code == 2
    assert "'7.12.2026' is not a date: write it YYYY-MM-DD" in bad.output
