"""Reorder points from real demand, the order to place, and a backtest of both (README
"Replenishment"): pure functions over a SKU's demand per day, so that the report, the supervisor's
screen and the backtest apply one rule.

- Demand per day: a forecast for intermittent demand (app/domain/forecast.py).
- Reorder point = demand per day x lead time + safety stock, rounded up to whole units. The lead
  time is skus.lead_time_days (0 counts as 1 day: nothing arrives the day it is ordered). Safety
  stock = z x the standard deviation of demand over the lead time, z being the standard normal
  quantile of the policy's service_level_percent; the deviation over the lead time is the daily
  one (population deviation of the history) times the square root of the lead time, days being
  taken as independent. An imported skus.reorder_point above 0 overrides the computed one.
- Order quantity: up to the reorder point plus one lead time's demand (an order-up-to level S =
  point + lead-time demand rounded up), less what is available and on order; at least 1 unit.
- Due: available (plus on order) at or below the point, and something to order for: a point above
  0, or demand expected over the lead time. A SKU without demand and without an imported point
  is never due, so that an empty slot of a dead item does not ask for stock.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from statistics import NormalDist, pstdev

from app.domain.forecast import DEFAULT_ALPHA, DEFAULT_BETA, Method, forecast

ROUNDING = 1e-9
"""Float noise below this is not a unit more: 2.0000000001 units round up to 2, not 3."""


class PointSource(StrEnum):
    COMPUTED = "computed"
    IMPORTED = "imported"


class DemandSource(StrEnum):
    """Where a SKU's demand was read from."""

    SHIPPED = "shipped"
    PICKED = "picked"
    """The SKU has no shipments in the period: its picks stand for its demand."""
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Forecasting:
    """How demand is forecast and how much of it stock should meet."""

    method: Method = Method.SBA
    service_level_percent: int = 95
    alpha: float = DEFAULT_ALPHA
    beta: float = DEFAULT_BETA

    @property
    def z(self) -> float:
        """Standard deviations of lead-time demand that the safety stock covers."""
        return NormalDist().inv_cdf(self.service_level_percent / 100)


@dataclass(frozen=True, slots=True)
class ReorderPoint:
    demand_per_day: float
    lead_time_days: int
    """The lead time used: skus.lead_time_days, 0 counting as 1."""
    lead_time_demand: float
    safety_stock: float
    computed: int
    imported: int
    """skus.reorder_point (0: none imported)."""

    @property
    def source(self) -> PointSource:
        return PointSource.IMPORTED if self.imported > 0 else PointSource.COMPUTED

    @property
    def point(self) -> int:
        """The point in force: the imported one when there is one."""
        return self.imported if self.imported > 0 else self.computed


def whole_up(x: float) -> int:
    """`x` units rounded up to whole units, float noise aside."""
    return max(0, math.ceil(x - ROUNDING))


def lead_time(days: int) -> int:
    """The lead time in days that planning uses: an order placed today arrives tomorrow at best."""
    return max(days, 1)


def reorder_point(
    history: Sequence[int], lead_time_days: int, imported: int, how: Forecasting
) -> ReorderPoint:
    """The reorder point of a SKU whose demand per day was `history` (oldest first)."""
    days = lead_time(lead_time_days)
    rate = forecast(how.method, history, how.alpha, how.beta) if any(history) else 0.0
    deviation = pstdev(history) if len(history) > 1 else 0.0
    lead_time_demand = rate * days
    safety = how.z * deviation * math.sqrt(days)
    return ReorderPoint(
        demand_per_day=rate,
        lead_time_days=days,
        lead_time_demand=lead_time_demand,
        safety_stock=safety,
        computed=whole_up(lead_time_demand + safety),
        imported=max(imported, 0),
    )


def due(point: int, lead_time_demand: float, position: int) -> bool:
    """Whether to order: stock available and on order at or below the point, with a point above
    0 or demand expected over the lead time."""
    return position <= point and (point > 0 or lead_time_demand > 0)


def order_quantity(point: int, lead_time_demand: float, position: int) -> int:
    """Units to order: up to the point plus one lead time's demand, at least 1."""
    return max(1, point + whole_up(lead_time_demand) - position)


@dataclass(frozen=True, slots=True)
class SkuDemand:
    """What the ledger and the master data say of one SKU."""

    sku: str
    name: str
    lead_time_days: int
    imported_point: int
    available: int
    """On hand less reserved, held stock and outbound lanes left out."""
    demand: tuple[int, ...]
    """Units per day, oldest first."""
    source: DemandSource


@dataclass(frozen=True, slots=True)
class ReplenishmentLine:
    sku: str
    name: str
    source: DemandSource
    point: ReorderPoint
    available: int
    suggested: int | None
    """Units to order now (None: not due)."""


def replenishment(
    skus: Sequence[SkuDemand], how: Forecasting, everything: bool = False
) -> list[ReplenishmentLine]:
    """The SKUs due for an order (every SKU with `everything`), in SKU order. There are no
    purchase orders in Perpetua, so nothing is on order: the position is what is available."""
    lines = []
    for s in sorted(skus, key=lambda s: s.sku):
        point = reorder_point(s.demand, s.lead_time_days, s.imported_point, how)
        is_due = due(point.point, point.lead_time_demand, s.available)
        if not (is_due or everything):
            continue
        suggested = (
            order_quantity(point.point, point.lead_time_demand, s.available) if is_due else None
        )
        lines.append(ReplenishmentLine(s.sku, s.name, s.source, point, s.available, suggested))
    return lines


@dataclass(frozen=True, slots=True)
class Simulation:
    """One replay of a SKU's demand under one reorder point rule."""

    demanded: int
    served: int
    stock_days: int
    """Simulated stock at the end of each day, added up."""
    days: int

    @property
    def fill_rate(self) -> float | None:
        """Percent of the units demanded that stock served (None: nothing was demanded)."""
        return 100 * self.served / self.demanded if self.demanded else None

    @property
    def average_stock(self) -> float:
        return self.stock_days / self.days if self.days else 0.0


def simulate(
    demand: Sequence[int], points: Sequence[int], lead_time_demand: Sequence[float], days: int
) -> Simulation:
    """Stock through the days of `demand`, starting at the first day's point. Each day: what was
    ordered `days` (the lead time) days before arrives first; demand is served from stock (what
    stock cannot serve is lost, not back-ordered); then, when stock plus what is on order is at
    or below that day's point, the order quantity is ordered."""
    stock = points[0] if points else 0
    arriving: dict[int, int] = {}
    on_order = served = stock_days = 0
    for day, wanted in enumerate(demand):
        received = arriving.pop(day, 0)
        stock += received
        on_order -= received
        taken = min(stock, wanted)
        stock -= taken
        served += taken
        position = stock + on_order
        if due(points[day], lead_time_demand[day], position):
            qty = order_quantity(points[day], lead_time_demand[day], position)
            arriving[day + days] = arriving.get(day + days, 0) + qty
            on_order += qty
        stock_days += stock
    return Simulation(sum(demand), served, stock_days, len(demand))


@dataclass(frozen=True, slots=True)
class Backtest:
    sku: str
    static_point: int
    computed: Simulation
    static: Simulation


def backtest(
    series: Sequence[int],
    replayed: int,
    history: int,
    lead_time_days: int,
    static_point: int,
    how: Forecasting,
) -> tuple[Simulation, Simulation]:
    """Replay the last `replayed` days of `series` (demand per day, oldest first) twice: with the
    reorder point computed each day from the `history` days before it only, and with the static
    `static_point` (0: order only when out). Both order the same quantity rule with the same
    lead-time demand forecast, so that they differ by the point alone."""
    first = max(len(series) - replayed, 0)
    days = lead_time(lead_time_days)
    points = [
        reorder_point(series[max(0, t - history) : t], lead_time_days, 0, how)
        for t in range(first, len(series))
    ]
    replay = series[first:]
    demand_over_lead_time = [p.lead_time_demand for p in points]
    computed = simulate(replay, [p.computed for p in points], demand_over_lead_time, days)
    static = simulate(replay, [max(static_point, 0)] * len(replay), demand_over_lead_time, days)
    return computed, static


def backtests(
    skus: Sequence[SkuDemand], replayed: int, history: int, how: Forecasting
) -> list[Backtest]:
    """The backtest of every SKU with demand in the replayed days, in SKU order."""
    results = []
    for s in sorted(skus, key=lambda s: s.sku):
        if not any(s.demand[-replayed:]):
            continue
        computed, static = backtest(
            s.demand, replayed, history, s.lead_time_days, s.imported_point, how
        )
        results.append(Backtest(s.sku, max(s.imported_point, 0), computed, static))
    return results


def overall(results: Sequence[Backtest]) -> tuple[Simulation, Simulation]:
    """Both rules over all SKUs: units served of units demanded, and the average units held
    (the per-SKU averages added up)."""

    def total(sims: Sequence[Simulation]) -> Simulation:
        days = max((s.days for s in sims), default=0)
        return Simulation(
            sum(s.demanded for s in sims),
            sum(s.served for s in sims),
            sum(s.stock_days for s in sims),
            days,
        )

    return total([r.computed for r in results]), total([r.static for r in results])
