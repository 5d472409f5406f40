"""Inventory-record accuracy on a hand-computed set of counts (app/domain/accuracy.py): the
figures per day, zone and ABC class and overall, the value of the variances, the tolerance's edge
(exactly at it matches, one unit beyond does not) and an empty period (no division by zero)."""

from __future__ import annotations

from datetime import date

import pytest

from app.domain.accuracy import (
    AccuracyRow,
    CountedLocation,
    VarianceValue,
    accuracy_report,
    location_class,
    matches,
    shown_percent,
    variance_lines,
)
from app.domain.report_table import money
from app.domain.workflow import Holding, Tolerance

POLICY = Tolerance(units=1, percent=5)
"""The warehouse policy's default count tolerance: 1 unit or 5 %, whichever is larger."""
CLASSES = {"WIDGET": "A", "BOLT": "B", "SCREW-4": "C"}
"""MILK has no class row: it is C."""
VALUES: dict[str, int | None] = {"WIDGET": 1250, "BOLT": 20, "SCREW-4": 3, "MILK": None}
DEC = (date(2026, 12, 1), date(2026, 12, 2), date(2026, 12, 3))


def counted(
    day: date,
    zone: str | None,
    first: list[Holding],
    ledger: list[Holding],
    final: list[Holding] | None = None,
) -> CountedLocation:
    """A counted location; `final` is its last count when the task is done (against the same
    ledger position)."""
    return CountedLocation(
        day=day,
        zone=zone,
        abc=location_class((h.sku for h in (*first, *ledger)), CLASSES),
        first_counts=tuple(first),
        first_snapshot=tuple(ledger),
        variance=None if final is None else variance_lines(ledger, final, VALUES),
    )


def W(qty: int) -> Holding:
    return Holding("WIDGET", None, qty)


def B(qty: int) -> Holding:
    return Holding("BOLT", None, qty)


def S(qty: int) -> Holding:
    return Holding("SCREW-4", None, qty)


def M(lot: str, qty: int) -> Holding:
    return Holding("MILK", lot, qty)


# task: day, zone, class, first count vs ledger -> matched?; final count when done
TASKS = [
    # 1. Dec 1, A, class A: 10 = 10, matched; done, no variance.
    counted(DEC[0], "A", [W(10)], [W(10)], final=[W(10)]),
    # 2. Dec 1, A, class B: 105 of 100 is 5 % exactly, matched; done, +5 BOLT at 0.20 = +1.00.
    counted(DEC[0], "A", [B(105)], [B(100)], final=[B(105)]),
    # 3. Dec 1, B, class C: 106 of 100 is beyond 5 %, not matched; recounted 104 and done:
    #    +4 SCREW-4 at 0.03 = +0.12.
    counted(DEC[0], "B", [S(106)], [S(100)], final=[S(104)]),
    # 4. Dec 2, B, class C (MILK has no class): 4 of 5 is 1 unit off, matched; done, -1 MILK
    #    with no unit value.
    counted(DEC[1], "B", [M("L1", 4)], [M("L1", 5)], final=[M("L1", 4)]),
    # 5. Dec 2, no zone, class A (WIDGET A beats BOLT B): WIDGET 0 of 2 is 2 units off, not
    #    matched; done: -2 WIDGET at 12.50 = -25.00, BOLT no variance.
    counted(DEC[1], None, [W(0), B(3)], [W(2), B(3)], final=[B(3)]),
    # 6. Dec 3, A, class C (an empty bin): nothing counted, nothing expected, matched; open.
    counted(DEC[2], "A", [], []),
    # 7. Dec 3, A, class C: 3 of lot L1 where the ledger has 3 of lot L2: each lot is 3 off,
    #    not matched; open.
    counted(DEC[2], "A", [M("L1", 3)], [M("L2", 3)]),
]


def test_the_figures_equal_the_hand_computed_ones() -> None:
    report = accuracy_report(TASKS, POLICY, DEC[0], DEC[2])
    # matched: tasks 1, 2, 4, 6 of 7 -> 57.1 %
    assert report.overall == AccuracyRow("overall", 7, 4)
    assert shown_percent(report.overall) == "57.1 %"
    # Dec 1: tasks 1, 2 of 1-3; Dec 2: task 4 of 4-5; Dec 3: task 6 of 6-7
    assert report.by_day == (
        AccuracyRow("2026-12-01", 3, 2),
        AccuracyRow("2026-12-02", 2, 1),
        AccuracyRow("2026-12-03", 2, 1),
    )
    assert [shown_percent(r) for r in report.by_day] == ["66.7 %", "50.0 %", "50.0 %"]
    # no zone: task 5 (0 of 1); A: 1, 2, 6 of 1, 2, 6, 7; B: 4 of 3, 4
    assert report.by_zone == (
        AccuracyRow("-", 1, 0),
        AccuracyRow("A", 4, 3),
        AccuracyRow("B", 2, 1),
    )
    assert [shown_percent(r) for r in report.by_zone] == ["0.0 %", "75.0 %", "50.0 %"]
    # A: task 1 of 1, 5; B: task 2 of 2; C: tasks 4, 6 of 3, 4, 6, 7
    assert report.by_class == (
        AccuracyRow("A", 2, 1),
        AccuracyRow("B", 1, 1),
        AccuracyRow("C", 4, 2),
    )
    assert [shown_percent(r) for r in report.by_class] == ["50.0 %", "100.0 %", "50.0 %"]
    # done: tasks 1-5. Units: +5 +4 -1 -2 -> 12 absolute, net +6 (1 of them, MILK's, unvalued).
    # Value: 1.00 + 0.12 + 25.00 = 26.12 absolute; 1.00 + 0.12 - 25.00 = -23.88 net.
    assert report.variance == VarianceValue(
        done=5,
        units_abs=12,
        units_net=6,
        value_abs_cents=2612,
        value_net_cents=-2388,
        unvalued_units=1,
    )
    assert money(report.variance.value_abs_cents) == "26.12"
    assert money(report.variance.value_net_cents) == "-23.88"


def test_a_location_takes_the_best_class_of_its_skus() -> None:
    assert location_class(["BOLT", "WIDGET"], CLASSES) == "A"
    assert location_class(["SCREW-4", "BOLT"], CLASSES) == "B"
    assert location_class(["MILK"], CLASSES) == "C"  # no class row
    assert location_class([], CLASSES) == "C"  # an empty bin


@pytest.mark.parametrize(
    ("ledger", "first", "matched"),
    [
        (100, 105, True),  # 5 % of 100, exactly
        (100, 106, False),
        (100, 95, True),
        (100, 94, False),
        (0, 1, True),  # 1 unit, exactly: the larger of 1 unit and 5 % of nothing
        (0, 2, False),
        (10, 11, True),  # 5 % of 10 is less than 1 unit
        (10, 12, False),
    ],
)
def test_a_count_exactly_at_the_tolerance_matches_and_one_beyond_does_not(
    ledger: int, first: int, matched: bool
) -> None:
    location = counted(DEC[0], "A", [B(first)], [B(ledger)])
    assert matches(POLICY, location) is matched
    report = accuracy_report([location], POLICY, DEC[0], DEC[0])
    assert report.overall == AccuracyRow("overall", 1, int(matched))


def test_a_lot_counted_but_not_in_the_ledger_is_checked_too() -> None:
    """Every SKU and lot in either list: a lot the ledger does not know, counted with more
    units than the tolerance, does not match even when the expected lot is right."""
    extra = counted(DEC[0], "A", [M("L1", 5), M("L9", 2)], [M("L1", 5)])
    assert not matches(POLICY, extra)
    assert matches(POLICY, counted(DEC[0], "A", [M("L1", 5), M("L9", 1)], [M("L1", 5)]))


def test_the_policy_tolerance_decides() -> None:
    strict = Tolerance(units=0, percent=0)
    assert not matches(strict, TASKS[1])  # 105 of 100
    report = accuracy_report(TASKS, strict, DEC[0], DEC[2])
    assert report.overall == AccuracyRow("overall", 7, 2)  # tasks 1 and 6 only


def test_an_empty_period_has_no_percent() -> None:
    report = accuracy_report([], POLICY, DEC[0], DEC[2], zone="A")
    assert report.overall == AccuracyRow("overall", 0, 0)
    assert report.overall.percent is None
    assert shown_percent(report.overall) == "-"
    assert report.by_day == () and report.by_zone == ()
    assert report.by_class == tuple(AccuracyRow(abc, 0, 0) for abc in "ABC")
    assert report.variance == VarianceValue(done=0)
    data = report.as_dict()
    assert data["overall"] == {"group": "overall", "counted": 0, "matched": 0, "percent": None}
    assert data["zone"] == "A" and data["from"] == "2026-12-01" and data["to"] == "2026-12-03"


def test_money_has_two_decimals() -> None:
    assert [money(c) for c in (0, 5, -5, 100, 123456, -2388)] == [
        "0.00",
        "0.05",
        "-0.05",
        "1.00",
        "1234.56",
        "-23.88",
    ]
