"""Reorder points, order quantities and the backtest's simulation (app/domain/replenishment.py)
on synthetic demand whose answers are worked out by hand in the comments."""

from __future__ import annotations

import math

import pytest

from app.domain.forecast import Method
from app.domain.replenishment import (
    DemandSource,
    Forecasting,
    PointSource,
    Simulation,
    SkuDemand,
    backtest,
    backtests,
    due,
    order_quantity,
    overall,
    reorder_point,
    replenishment,
    simulate,
)

CROSTON = Forecasting(Method.CROSTON, 95)
Z95 = 1.6448536269514722
"""The standard normal quantile of 0.95, from statistical tables."""


def test_z_is_the_normal_quantile_of_the_service_level() -> None:
    assert CROSTON.z == pytest.approx(Z95)
    assert Forecasting(service_level_percent=50).z == pytest.approx(0.0, abs=1e-12)
    assert Forecasting(service_level_percent=99).z == pytest.approx(2.326348, abs=1e-6)


def test_steady_demand_needs_no_safety_stock() -> None:
    # 2 a day every day: Croston 2 / 1 = 2 a day; deviation 0; lead time 3: point 2 x 3 = 6
    p = reorder_point([2] * 10, 3, 0, CROSTON)
    assert (p.demand_per_day, p.lead_time_days, p.lead_time_demand) == (2.0, 3, 6.0)
    assert p.safety_stock == 0.0
    assert (p.point, p.computed, p.source) == (6, 6, PointSource.COMPUTED)
    # order up to 6 + 6 with 4 available: 8
    assert order_quantity(p.point, p.lead_time_demand, 4) == 8


def test_variable_demand_adds_safety_stock_for_the_service_level() -> None:
    # 0, 4, 0, 4 ... ten days: Croston size 4 every 2 days: 2 a day; deviation of 0s and 4s
    # around 2: 2. Lead time 4: demand 8; safety 1.6449 x 2 x sqrt(4) = 6.5794; point
    # 14.5794 rounded up: 15. Order up to 15 + 8 = 23, with 3 available: 20.
    p = reorder_point([0, 4] * 5, 4, 0, CROSTON)
    assert p.demand_per_day == pytest.approx(2.0)
    assert p.lead_time_demand == pytest.approx(8.0)
    assert p.safety_stock == pytest.approx(Z95 * 2 * 2)
    assert p.point == 15
    assert order_quantity(p.point, p.lead_time_demand, 3) == 20
    # a higher service level holds more: z(99) 2.3263 x 4 = 9.305; 17.305 -> 18
    assert reorder_point([0, 4] * 5, 4, 0, Forecasting(Method.CROSTON, 99)).point == 18


def test_sba_and_tsb_give_their_own_demand() -> None:
    # SBA: Croston's 2 x 0.95 = 1.9 a day; lead time 4: 7.6 + 6.5794 = 14.18 -> 15
    p = reorder_point([0, 4] * 5, 4, 0, Forecasting(Method.SBA, 95))
    assert p.demand_per_day == pytest.approx(1.9)
    assert p.point == 15
    # TSB ends on a day without demand: probability 0.5 ... decays to below 0.5 on day 10
    t = reorder_point([0, 4] * 5 + [0], 4, 0, Forecasting(Method.TSB, 95))
    assert t.demand_per_day < 2.0


def test_an_imported_reorder_point_overrides_the_computed_one() -> None:
    p = reorder_point([0, 4] * 5, 4, 30, CROSTON)
    assert (p.point, p.computed, p.source) == (30, 15, PointSource.IMPORTED)


def test_a_lead_time_of_0_counts_as_one_day() -> None:
    p = reorder_point([2] * 10, 0, 0, CROSTON)
    assert (p.lead_time_days, p.point) == (1, 2)


def test_due_at_or_below_the_point_with_something_to_order_for() -> None:
    assert due(5, 3.0, 5) and due(5, 3.0, 4)
    assert not due(5, 3.0, 6)
    assert due(0, 0.5, 0)  # point 0 but demand expected: out of stock is due
    assert not due(0, 0.0, 0)  # no point, no demand: a dead item asks for nothing
    assert order_quantity(5, 0.0, 10) == 1  # at least 1


def sku(
    code: str, demand: list[int], *, available: int, lead: int = 4, imported: int = 0
) -> SkuDemand:
    return SkuDemand(
        code, code.title(), lead, imported, available, tuple(demand), DemandSource.SHIPPED
    )


def test_replenishment_lists_the_skus_due_with_their_quantity() -> None:
    skus = [
        sku("B", [0, 4] * 5, available=15),  # at the point 15: due, 15 + 8 - 15 = 8
        sku("A", [0, 4] * 5, available=16),  # above: not due
        sku("C", [0] * 10, available=0),  # no demand, no point: not due
        sku("D", [0] * 10, available=7, imported=10),  # imported 10: due, 10 + 0 - 7 = 3
    ]
    lines = replenishment(skus, CROSTON)
    assert [(x.sku, x.point.point, x.available, x.suggested) for x in lines] == [
        ("B", 15, 15, 8),
        ("D", 10, 7, 3),
    ]
    every = replenishment(skus, CROSTON, everything=True)
    assert [(x.sku, x.suggested) for x in every] == [("A", None), ("B", 8), ("C", None), ("D", 3)]


def test_simulation_with_a_point_meets_all_demand() -> None:
    # demand 3 a day, point 5, lead-time demand 3, lead time 1 day; starts with 5
    # day 0: 5 - 3 = 2, at or below 5: order up to 5 + 3: 6, in tomorrow; ends with 2
    # day 1: 2 + 6 = 8 - 3 = 5, at the point: order 3; ends with 5; days 2, 3 alike
    sim = simulate([3, 3, 3, 3], [5] * 4, [3.0] * 4, 1)
    assert sim == Simulation(demanded=12, served=12, stock_days=2 + 5 + 5 + 5, days=4)
    assert sim.fill_rate == 100.0
    assert sim.average_stock == 4.25


def test_simulation_ordering_only_when_out_loses_the_first_day() -> None:
    # point 0: starts empty, serves nothing on day 0, orders 3 for day 1; from day 1 the 3
    # that arrive are all sold and 3 more are ordered: 9 of 12 served, never any stock at night
    sim = simulate([3, 3, 3, 3], [0] * 4, [3.0] * 4, 1)
    assert (sim.served, sim.stock_days) == (9, 0)
    assert sim.fill_rate == 75.0


def test_simulation_counts_what_is_on_order() -> None:
    # lead time 3, demand 3 a day, point 5, lead-time demand 3:
    # day 0: 5 - 3 = 2, orders up to 5 + 3 = 8: 6, arriving on day 3
    # day 1: sells 2 of 3, ends 0; 0 + 6 on order is above 5: no second order; day 2: nothing
    # day 3: 6 arrive, 3 sold, ends 3: 3 at or below 5: orders 5 + 3 - 3 = 5 (day 6)
    # day 4: 3 sold, ends 0; 0 + 5 on order at the point: orders 3 (day 7); day 5: nothing
    sim = simulate([3] * 6, [5] * 6, [3.0] * 6, 3)
    assert (sim.demanded, sim.served) == (18, 3 + 2 + 0 + 3 + 3 + 0)
    assert sim.stock_days == 2 + 0 + 0 + 3 + 0 + 0


def test_backtest_points_come_only_from_the_days_before() -> None:
    # four days of 2, then 20: day 4's point from [2, 2, 2, 2] is 2 x 1 day = 2 (no deviation);
    # 2 of the 20 are served. Had day 4 seen its own 20, the point would be far higher.
    computed, static = backtest([2, 2, 2, 2, 20], 1, 4, 1, 0, CROSTON)
    assert (computed.demanded, computed.served, computed.fill_rate) == (20, 2, 10.0)
    # static 0 starts empty: nothing served; ends at 0
    assert (static.served, static.stock_days) == (0, 0)


def test_backtest_uses_a_rolling_history() -> None:
    # history 2: day 3's point comes from days 1 and 2 only ([0, 0]): 0 and no demand expected
    computed, _ = backtest([9, 0, 0, 5], 1, 2, 1, 0, CROSTON)
    assert computed.served == 0
    # with history 3 day 0's 9 counts: Croston 9 / 1 = 9 a day -> point 9 + safety
    computed, _ = backtest([9, 0, 0, 5], 1, 3, 1, 0, CROSTON)
    assert computed.served == 5


def test_backtests_over_skus_and_overall() -> None:
    skus = [
        sku("X", [3] * 8, available=0, lead=1, imported=5),
        sku("Y", [0] * 8, available=0, lead=1),  # no demand in the replayed days: left out
    ]
    results = backtests(skus, 4, 4, CROSTON)
    assert [r.sku for r in results] == ["X"]
    (x,) = results
    # computed: point from [3, 3, 3, 3]: 3 a day x 1 day, no deviation: 3; starts with 3,
    # sells 3, ends at 0, orders up to 3 + 3 = 6 for tomorrow; day 1: 6 - 3 = 3, orders 3 ...
    assert (x.computed.served, x.computed.stock_days) == (12, 0 + 3 + 3 + 3)
    # static 5 as in test_simulation_with_a_point_meets_all_demand
    assert (x.static_point, x.static.served, x.static.stock_days) == (5, 12, 17)
    computed, static = overall(results)
    assert (computed.demanded, computed.served, static.served) == (12, 12, 12)
    assert static.average_stock == pytest.approx(17 / 4)
    assert math.isclose(computed.average_stock, 9 / 4)
