"""The flow reports' arithmetic (app/domain/reports_flow.py) on figures worked out by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from app.domain.reports_flow import (
    HealthLimits,
    Pick,
    Receipt,
    SkuStock,
    Turnover,
    age_on_hand,
    all_pickers,
    average_on_hand,
    bucket_of,
    combined,
    health,
    over_and_short,
    overall,
    pick_rates,
    worked_seconds,
)

TODAY = date(2026, 12, 7)


def ago(days: int) -> date:
    return TODAY - timedelta(days=days)


@pytest.mark.parametrize(
    ("days", "bucket"),
    [(-2, 0), (0, 0), (30, 0), (31, 1), (60, 1), (61, 2), (90, 2), (91, 3), (180, 3), (181, 4)],
)
def test_each_age_falls_in_its_bucket(days: int, bucket: int) -> None:
    assert bucket_of(days) == bucket


def test_the_stock_on_hand_is_the_newest_receipts() -> None:
    # Received 10 (200 days ago), 5 (100 days), 4 (45 days), 3 (today); 9 on hand: the 3 of
    # today, the 4 of 45 days ago and 2 of the 5 of 100 days ago. The oldest 10 went first.
    receipts = [
        Receipt(ago(200), 10),
        Receipt(ago(0), 3),
        Receipt(ago(100), 5),
        Receipt(ago(45), 4),
    ]
    aged = age_on_hand(9, receipts, TODAY)
    assert aged.buckets == (3, 4, 0, 2, 0)
    assert (aged.unaged, aged.on_hand) == (0, 9)


def test_stock_beyond_every_receipt_has_no_age() -> None:
    aged = age_on_hand(12, [Receipt(ago(200), 10)], TODAY)
    assert aged.buckets == (0, 0, 0, 0, 10)
    assert aged.unaged == 2
    assert age_on_hand(0, [Receipt(ago(1), 4)], TODAY).buckets == (0, 0, 0, 0, 0)


def test_the_average_of_each_days_closing_stock_replayed_back_from_now() -> None:
    # 10 on hand now. Changes: day 1 +5, day 3 -2, and +4 the day after the period.
    start, end = date(2026, 12, 1), date(2026, 12, 3)
    changes = {date(2026, 12, 1): 5, date(2026, 12, 3): -2, date(2026, 12, 4): 4}
    # End of day 3: 10 - 4 = 6; day 2: 6 + 2 = 8; day 1: 8 (no change on day 2).
    assert average_on_hand(10, changes, start, end) == ((8 + 8 + 6) / 3, 6)
    # From the day before: it closed at 8 - 5 = 3.
    assert average_on_hand(10, changes, start - timedelta(days=1), end) == ((3 + 22) / 4, 6)


def test_a_long_period_costs_its_changes_not_its_days() -> None:
    # 5 on hand every day of 3,652,059 days: done at once, and exact.
    assert average_on_hand(5, {}, date.min, date.max) == (5.0, 5)


def test_a_replay_below_nothing_counts_as_nothing() -> None:
    # An opening balance of 5 today, after 3 shipped yesterday: yesterday replays to -3.
    day = date(2026, 12, 6)
    assert average_on_hand(2, {day: -3, day + timedelta(days=1): 5}, day, day) == (0.0, 0)


def test_turnover_and_days_of_supply() -> None:
    t = Turnover(12, 6.0, 2, 4)  # 12 shipped in 4 days; average on hand 6, 2 at the end
    assert t.turnover == 2.0
    assert t.days_of_supply == pytest.approx(2 * 4 / 12)  # 2 on hand, 3 a day
    idle = Turnover(0, 0.0, 0, 2)
    assert (idle.turnover, idle.days_of_supply) == (None, None)


def test_a_class_turns_over_on_its_sums() -> None:
    group = combined([Turnover(12, 6.0, 2, 4), Turnover(0, 4.0, 4, 4)], 4)
    assert (group.demand, group.average_on_hand, group.on_hand) == (12, 10.0, 6)
    assert group.turnover == 1.2
    assert group.days_of_supply == 2.0  # 6 on hand at 3 a day


def test_over_and_short_are_counted_sku_by_sku() -> None:
    expected = {"WIDGET": 10, "BOLT": 5}
    received = {"WIDGET": 12, "BOLT": 3, "MILK": 1}
    assert over_and_short(expected, received) == (3, 2)
    assert over_and_short(expected, expected) == (0, 0)


def at(hour: int, minute: int = 0, day: int = 7) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)


def test_hours_worked_leave_out_breaks_and_days_apart() -> None:
    times = [at(8), at(8, 20), at(8, 50), at(10), at(10, 15), at(9, day=8)]
    # 8:00-8:50 is 50 minutes (two gaps of 20 and 30 minutes: 30 is not yet a break), the
    # 70 minutes to 10:00 are a break, 10:00-10:15 is 15 more; the pick of the 8th is alone.
    assert worked_seconds(times) == 65 * 60
    assert worked_seconds([at(8)]) == 0


def test_pick_rates_per_operator() -> None:
    picks = [
        Pick("P1", at(8), 4, False),
        Pick("P1", at(8, 30), 0, True),
        Pick("P1", at(9), 6, False),
        Pick("P2", at(8), 3, True),
    ]
    p1, p2 = pick_rates(picks)
    assert (p1.operator, p1.lines, p1.units, p1.seconds, p1.shorts) == ("P1", 3, 10, 3600, 1)
    assert (p1.lines_per_hour, p1.units_per_hour) == (3.0, 10.0)
    assert (p2.lines, p2.units, p2.shorts, p2.lines_per_hour) == (1, 3, 1, None)
    total = all_pickers([p1, p2])
    assert (total.lines, total.units, total.hours, total.shorts) == (4, 13, 1.0, 2)


LIMITS = HealthLimits(window_days=90, excess_days=30, stranded_days=60, today=TODAY)


def stock(**fields: object) -> SkuStock:
    base: dict[str, object] = {
        "sku": "WIDGET",
        "active": True,
        "on_hand": 50,
        "available": 40,
        "demand": 90,
        "last_demand": ago(3),
        "unit_value_cents": 250,
    }
    base.update(fields)
    return SkuStock(**base)  # type: ignore[arg-type]


def test_health_of_a_selling_sku() -> None:
    h = health(stock(), LIMITS)
    # 90 over 90 days is 1 a day; 30 days of it is 30 units; 20 of the 50 are excess.
    assert h.sell_through == pytest.approx(100 * 90 / 140)
    assert (h.excess_units, h.excess_value_cents) == (20, 5000)
    assert (h.stranded_units, h.in_stock) == (0, 100.0)


def test_stranded_when_inactive_or_no_demand_for_the_policys_days() -> None:
    # The 60 days are today and the 59 before: demand 59 days ago keeps it; 60 days ago not.
    assert health(stock(last_demand=ago(59)), LIMITS).stranded_units == 0
    assert health(stock(last_demand=ago(60)), LIMITS).stranded_units == 50
    assert health(stock(last_demand=None, demand=0), LIMITS).stranded_value_cents == 12500
    inactive = health(stock(active=False), LIMITS)
    assert (inactive.stranded_units, inactive.in_stock) == (50, None)


def test_the_overall_row() -> None:
    rows = [
        health(stock(), LIMITS),
        health(stock(sku="BOLT", on_hand=10, available=0, demand=0, last_demand=None), LIMITS),
        health(stock(sku="OLD", active=False, on_hand=5, available=5, demand=0), LIMITS),
    ]
    o = overall(rows)
    assert (o.sku, o.demand, o.on_hand, o.available) == ("overall", 90, 65, 45)
    assert o.sell_through == pytest.approx(100 * 90 / 155)
    # Excess: WIDGET 20, BOLT 10 (no demand: all of it), OLD 5. Stranded: BOLT 10, OLD 5.
    assert (o.excess_units, o.stranded_units) == (35, 15)
    assert o.in_stock == 50.0  # of the 2 active SKUs, WIDGET has stock available
