"""Inventory-record accuracy (IRA): the share of counted locations whose count matched the ledger,
the figure a perpetual inventory exists for (issue 13 point 6), and the value of the variances.

A counted location is one count task with a first count. It *matches* when, for every SKU and lot
in its first count or in the ledger position that count was made against (its snapshot), the
count is within the warehouse policy's count tolerance of the snapshot: the same rule
(`count_variance.beyond_tolerance`) by which the station sends a count to be counted again. Only
the first count decides: a recount that agrees with the ledger does not make the record accurate.

Accuracy = matched / counted, in percent, overall and grouped by the UTC day of the first count,
by the location's zone and by the location's ABC class (the best class among the SKUs of its
first count and snapshot; a SKU without a class is C). The value of variances is taken over the
tasks that are done: their final count minus its snapshot, per SKU and lot, times the SKU's unit
value (an unknown value counts 0, and the units without one are reported).

Pure values and functions: the database query that feeds them is app/adapters/db/accuracy.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from app.domain.workflow import Holding, Tolerance
from app.domain.workflows.count_variance import beyond_tolerance, variances

CLASSES = ("A", "B", "C")
"""ABC classes, best first: A is counted most often."""

NO_CLASS = "C"
"""The class of a SKU that has none (no `sku_classes` row)."""

NO_ZONE = "-"
"""How a location without a zone is grouped and shown."""


@dataclass(frozen=True, slots=True)
class Variance:
    """A done count's final difference for one SKU and lot: counted minus the ledger, in units,
    and what one unit is worth in cents (None: not known)."""

    sku: str
    lot: str | None
    units: int
    unit_value_cents: int | None


@dataclass(frozen=True, slots=True)
class CountedLocation:
    """One count task with a first count, as the accuracy needs it."""

    day: date
    """The UTC date of the first count."""
    zone: str | None
    abc: str
    """The location's class: `location_class` of the SKUs counted or expected there."""
    first_counts: tuple[Holding, ...]
    first_snapshot: tuple[Holding, ...]
    variance: tuple[Variance, ...] | None = None
    """The final variance lines when the task is done (None: not done yet)."""


@dataclass(frozen=True, slots=True)
class AccuracyRow:
    """Counted and matched locations of one group (a day, a zone, a class, or all)."""

    group: str
    counted: int
    matched: int

    @property
    def percent(self) -> float | None:
        """Matched as a share of counted, in percent; None when nothing was counted."""
        return 100 * self.matched / self.counted if self.counted else None

    def as_dict(self) -> dict[str, Any]:
        percent = self.percent
        return {
            "group": self.group,
            "counted": self.counted,
            "matched": self.matched,
            "percent": None if percent is None else round(percent, 1),
        }


@dataclass(frozen=True, slots=True)
class VarianceValue:
    """The variances of the done counts: units and value, as absolute and net sums."""

    done: int
    """Count tasks done (whose variances these are)."""
    units_abs: int = 0
    units_net: int = 0
    value_abs_cents: int = 0
    value_net_cents: int = 0
    unvalued_units: int = 0
    """Units of variance (absolute) of SKUs whose unit value is not known: counted as 0."""

    def as_dict(self) -> dict[str, int]:
        return {
            "done": self.done,
            "units_abs": self.units_abs,
            "units_net": self.units_net,
            "value_abs_cents": self.value_abs_cents,
            "value_net_cents": self.value_net_cents,
            "unvalued_units": self.unvalued_units,
        }


@dataclass(frozen=True, slots=True)
class AccuracyReport:
    """The inventory-record accuracy of a period (inclusive dates), optionally of one zone."""

    start: date
    end: date
    zone: str | None
    tolerance: Tolerance
    overall: AccuracyRow
    by_day: tuple[AccuracyRow, ...]
    """Only the days with a count, oldest first."""
    by_zone: tuple[AccuracyRow, ...]
    """Only the zones with a count, by name ("-" for locations without a zone)."""
    by_class: tuple[AccuracyRow, ...]
    """Always A, B and C, counted or not."""
    variance: VarianceValue

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "zone": self.zone,
            "tolerance": {"units": self.tolerance.units, "percent": self.tolerance.percent},
            "overall": self.overall.as_dict(),
            "by_day": [row.as_dict() for row in self.by_day],
            "by_zone": [row.as_dict() for row in self.by_zone],
            "by_class": [row.as_dict() for row in self.by_class],
            "variance": self.variance.as_dict(),
        }


def location_class(skus: Iterable[str], classes: Mapping[str, str]) -> str:
    """The best class among `skus` (A before B before C); C when there are none or none has a
    class: an empty bin is counted as seldom as the slowest item."""
    return min((classes.get(sku, NO_CLASS) for sku in skus), key=CLASSES.index, default=NO_CLASS)


def variance_lines(
    snapshot: Iterable[Holding], counts: Iterable[Holding], unit_values: Mapping[str, int | None]
) -> tuple[Variance, ...]:
    """A done count's variance lines: counted minus snapshot per SKU and lot (the lines that
    differ), each with its SKU's unit value (None when not known)."""
    return tuple(
        Variance(sku, lot, units, unit_values.get(sku))
        for (sku, lot), units in variances(snapshot, counts).items()
    )


def matches(tolerance: Tolerance, location: CountedLocation) -> bool:
    """Whether the location's first count is within `tolerance` of the ledger, for every SKU
    and lot in either (the station's own rule)."""
    return not beyond_tolerance(tolerance, location.first_snapshot, location.first_counts)


def accuracy_report(
    locations: Iterable[CountedLocation],
    tolerance: Tolerance,
    start: date,
    end: date,
    zone: str | None = None,
) -> AccuracyReport:
    """The accuracy of `locations` (the period's counted locations, already chosen by the
    caller) under the count `tolerance`."""
    located = [(location, matches(tolerance, location)) for location in locations]
    return AccuracyReport(
        start=start,
        end=end,
        zone=zone,
        tolerance=tolerance,
        overall=_row("overall", [m for _, m in located]),
        by_day=_grouped(located, lambda loc: loc.day.isoformat()),
        by_zone=_grouped(located, lambda loc: loc.zone or NO_ZONE),
        by_class=tuple(_row(abc, [m for loc, m in located if loc.abc == abc]) for abc in CLASSES),
        variance=_value(loc.variance for loc, _ in located if loc.variance is not None),
    )


def _row(group: str, matched: list[bool]) -> AccuracyRow:
    return AccuracyRow(group, len(matched), sum(matched))


def _grouped(
    located: list[tuple[CountedLocation, bool]], key: Callable[[CountedLocation], str]
) -> tuple[AccuracyRow, ...]:
    groups: dict[str, list[bool]] = {}
    for location, matched in located:
        groups.setdefault(key(location), []).append(matched)
    return tuple(_row(group, groups[group]) for group in sorted(groups))


def _value(done: Iterable[tuple[Variance, ...]]) -> VarianceValue:
    tasks = units_abs = units_net = value_abs = value_net = unvalued = 0
    for lines in done:
        tasks += 1
        for line in lines:
            units_abs += abs(line.units)
            units_net += line.units
            if line.unit_value_cents is None:
                unvalued += abs(line.units)
                continue
            value_abs += abs(line.units) * line.unit_value_cents
            value_net += line.units * line.unit_value_cents
    return VarianceValue(tasks, units_abs, units_net, value_abs, value_net, unvalued)


def shown_percent(row: AccuracyRow) -> str:
    """A row's accuracy as shown: "94.1 %", or "-" when nothing was counted."""
    percent = row.percent
    return "-" if percent is None else f"{percent:.1f} %"
