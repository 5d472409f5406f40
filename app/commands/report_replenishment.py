"""`perpetua report replenishment` (the SKUs to order now, and how many) and `perpetua
replenishment backtest` (how the computed reorder points would have done against the imported
ones over the ledger's own history). The rules are in app/domain/replenishment.py; both print a
ReportTable through `emit`, so that --csv and --json work as for every report."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

import click

from app.adapters.db import authority
from app.adapters.db.engine import READONLY
from app.adapters.db.reports_replenishment import sku_demand
from app.commands.report_output import emit, output_options
from app.domain.forecast import Method
from app.domain.replenishment import (
    Backtest,
    Forecasting,
    ReplenishmentLine,
    Simulation,
    SkuDemand,
    backtests,
    overall,
    replenishment,
)
from app.domain.report_table import Column, ColumnKind, ReportTable, Value

if TYPE_CHECKING:
    from pathlib import Path

    from app.cli import Context

DEFAULT_HISTORY = 180
"""Days of demand a forecast is made from."""
DEFAULT_BACKTEST_DAYS = 90
"""Days the backtest replays."""
MOST_DAYS = 3650

ALL = "(all)"
"""The backtest's overall row."""

REPORT_COLUMNS = (
    Column("sku", "SKU"),
    Column("demand_from", "source"),
    Column("demand_per_day", "demand/day"),
    Column("lead_time_days", "lead days", ColumnKind.INT),
    Column("lead_time_demand", "LT demand", ColumnKind.NUMBER),
    Column("safety_stock", "safety", ColumnKind.NUMBER),
    Column("reorder_point", "point", ColumnKind.INT),
    Column("point_from", "from"),
    Column("computed_point", "computed", ColumnKind.INT),
    Column("available", "available", ColumnKind.INT),
    Column("suggested_qty", "order qty", ColumnKind.INT),
)
BACKTEST_COLUMNS = (
    Column("sku", "SKU"),
    Column("demanded", "demanded", ColumnKind.INT),
    Column("computed_fill_rate", "computed: fill rate", ColumnKind.PERCENT),
    Column("computed_average_stock", "avg stock", ColumnKind.NUMBER),
    Column("static_point", "static point", ColumnKind.INT),
    Column("static_fill_rate", "static: fill rate", ColumnKind.PERCENT),
    Column("static_average_stock", "avg stock", ColumnKind.NUMBER),
)

method_option = click.option(
    "--method",
    type=click.Choice([m.value for m in Method]),
    default=Method.SBA.value,
    show_default=True,
    help="Forecast of intermittent demand: Croston, SBA (Syntetos-Boylan) or TSB.",
)
history_option = click.option(
    "--history",
    type=click.IntRange(1, MOST_DAYS),
    default=DEFAULT_HISTORY,
    show_default=True,
    metavar="DAYS",
    help="Days of demand each forecast is made from.",
)


def _today() -> date:
    return datetime.now(UTC).date()


def _read(obj: Context, first: date, days: int) -> tuple[list[SkuDemand], int]:
    """The SKUs' demand from `first` for `days` days, and the policy's service level."""
    with obj.runtime() as rt, rt.engine.connect().execution_options(**{READONLY: True}) as c:
        return sku_demand(c, first, days), authority.policy(c).service_level_percent


@click.command("replenishment")
@method_option
@click.option("--all", "everything", is_flag=True, help="List every active SKU, due or not.")
@history_option
@output_options
@click.pass_obj
def replenishment_command(
    obj: Context,
    method: str,
    everything: bool,
    history: int,
    csv_file: Path | None,
    as_json: bool,
) -> None:
    """The SKUs at or below their reorder point, with the quantity to order. The reorder point
    is the demand forecast over the lead time plus safety stock for the policy's
    service_level_percent, unless an imported reorder_point overrides it. Demand: the units
    shipped to customers on each of the last DAYS days before today (UTC)."""
    today = _today()
    first = today - timedelta(days=history)
    skus, service_level = _read(obj, first, history)
    how = Forecasting(Method(method), service_level)
    lines = replenishment(skus, how, everything)
    emit(replenishment_table(lines, len(skus), how, first, today, everything), csv_file, as_json)


def replenishment_table(
    lines: list[ReplenishmentLine],
    active: int,
    how: Forecasting,
    first: date,
    today: date,
    everything: bool,
) -> ReportTable:
    last = today - timedelta(days=1)
    due = sum(1 for line in lines if line.suggested is not None)
    notes = [
        f"Demand per day: the {_method(how)} forecast of the units shipped to customers each day "
        f"from {first} to {last} (UTC); a SKU without shipments then is forecast from its picks "
        "(source: picked).",
        f"Reorder point = demand per day x lead time (0 days counts as 1) + safety stock "
        f"(z = {how.z:.2f} for a service level of {how.service_level_percent} % x the standard "
        "deviation of daily demand x the square root of the lead time), rounded up; an imported "
        "reorder_point above 0 is used instead (from: imported).",
        "Order qty: up to the reorder point plus one lead time's demand, less what is available; "
        "at least 1.",
        "Available: on hand less reserved, without held stock, quarantine and outbound lanes. "
        "Perpetua keeps no purchase orders, so nothing counts as on order: check what is already "
        "ordered before ordering again.",
    ]
    if everything:
        notes.append(f"{due} of {active} active SKUs are at or below their reorder point.")
    else:
        notes.append(
            f"{due} of {active} active SKUs are at or below their reorder point; "
            "--all lists every SKU."
        )
    return ReportTable(
        title=f"Replenishment ({_method(how)}, service level {how.service_level_percent} %)",
        columns=REPORT_COLUMNS,
        rows=[_report_row(line) for line in lines],
        notes=tuple(notes),
    )


def _report_row(line: ReplenishmentLine) -> tuple[Value, ...]:
    p = line.point
    return (
        line.sku,
        line.source.value,
        f"{p.demand_per_day:.2f}",
        p.lead_time_days,
        p.lead_time_demand,
        p.safety_stock,
        p.point,
        p.source.value,
        p.computed,
        line.available,
        line.suggested,
    )


def _method(how: Forecasting) -> str:
    return f"{how.method.value.upper()} (alpha {how.alpha:g}, beta {how.beta:g})"


@click.group("replenishment")
def replenishment_group() -> None:
    """Replenishment from real demand: `perpetua replenishment backtest`."""


@replenishment_group.command("backtest")
@click.option(
    "--days",
    type=click.IntRange(1, MOST_DAYS),
    default=DEFAULT_BACKTEST_DAYS,
    show_default=True,
    help="Days to replay, ending yesterday (UTC).",
)
@method_option
@history_option
@output_options
@click.pass_obj
def backtest_command(
    obj: Context, days: int, method: str, history: int, csv_file: Path | None, as_json: bool
) -> None:
    """Replay the ledger's demand of the last DAYS days, SKU by SKU, and print the fill rate
    and the average stock that the computed reorder points would have reached, beside the
    static imported ones (a SKU without one: 0, ordering only when out)."""
    today = _today()
    first = today - timedelta(days=days + history)
    skus, service_level = _read(obj, first, days + history)
    how = Forecasting(Method(method), service_level)
    results = backtests(skus, days, history, how)
    emit(_backtest_report(results, how, today, days, history), csv_file, as_json)


def _backtest_report(
    results: list[Backtest], how: Forecasting, today: date, days: int, history: int
) -> ReportTable:
    first, last = today - timedelta(days=days), today - timedelta(days=1)
    computed, static = overall(results)
    rows = [_backtest_row(r.sku, r.static_point, r.computed, r.static) for r in results] + [
        _backtest_row(ALL, None, computed, static)
    ]
    notes = (
        f"Each SKU's demand of {first} .. {last} (UTC) replayed day by day, twice. Computed: the "
        f"reorder point of each day from the {history} days before it only ({_method(how)}, "
        f"service level {how.service_level_percent} %). Static: the imported reorder_point "
        "(0 where none: ordering only when out).",
        "Both start with the stock at their first day's point; each day what was ordered one "
        "lead time before arrives, demand is served from stock (what is missing is lost), and "
        "when stock plus what is on order is at or below the point, the day's order quantity is "
        "ordered (up to the point plus the lead time's demand forecast, at least 1).",
        "Fill rate: the units stock served of the units demanded. Avg stock: the simulated stock "
        f"at the end of each day, averaged; on the {ALL} row, added up over the SKUs. SKUs "
        "without demand in these days are left out.",
        f"Overall: computed points {_outcome(computed)}; static points {_outcome(static)}.",
    )
    return ReportTable(
        title=f"Replenishment backtest {first} .. {last}: computed vs static reorder points",
        columns=BACKTEST_COLUMNS,
        rows=rows,
        notes=notes,
    )


def _backtest_row(
    sku: str, static_point: int | None, computed: Simulation, static: Simulation
) -> tuple[Value, ...]:
    return (
        sku,
        computed.demanded,
        computed.fill_rate,
        computed.average_stock,
        static_point,
        static.fill_rate,
        static.average_stock,
    )


def _outcome(sim: Simulation) -> str:
    if sim.fill_rate is None:
        return "had no demand to serve"
    return (
        f"served {sim.fill_rate:.1f} % of {sim.demanded} units demanded, "
        f"holding {sim.average_stock:.1f} units on average"
    )
