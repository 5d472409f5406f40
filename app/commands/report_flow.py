"""`perpetua report age | turnover | receiving | picks | health`: how stock flows through the
warehouse, read from the ledger (app/adapters/db/reports_flow.py). Each prints through
report_output, so `--csv FILE` and `--json` work alike for all.

A period is `--from D --to D`, UTC days, both included: without --to it ends today, without
--from it is 90 days long.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from sqlalchemy import Connection

from app.adapters.db import reports_flow
from app.adapters.db.engine import READONLY
from app.commands.report_output import emit, output_options
from app.commands.report_output import iso_day as _day
from app.domain.report_table import ReportTable

if TYPE_CHECKING:
    from app.cli import Context

F = TypeVar("F", bound=Callable[..., Any])

PERIOD_DAYS = 90
"""The default period: this many days, today included."""


def period_options(command: F) -> F:
    """`--from` and `--to`, as every flow report with a period takes them."""
    command = click.option(
        "--to", "end", metavar="YYYY-MM-DD", callback=_day, help="Last day, UTC (default: today)."
    )(command)
    return click.option(
        "--from",
        "start",
        metavar="YYYY-MM-DD",
        callback=_day,
        help=f"First day, UTC (default: {PERIOD_DAYS} days up to --to).",
    )(command)


def period(start: date | None, end: date | None) -> tuple[date, date]:
    """The days asked for, or the defaults; a period that ends before it begins is refused."""
    if end is None:
        end = today()
    if start is None:
        start = end - timedelta(days=min(PERIOD_DAYS - 1, (end - date.min).days))
    if start > end:
        raise click.ClickException(
            f"--from {start} is after --to {end}: give the first day of the period first"
        )
    return start, end


def today() -> date:
    return datetime.now(UTC).date()


def _read(obj: Context, build: Callable[[Connection], ReportTable]) -> ReportTable:
    """Build a report on a read-only connection: it takes no write lock that stations wait on.
    The rows are read whole before the connection closes (these reports are per SKU, receipt or
    operator, not per bin)."""
    with obj.runtime() as rt, rt.engine.connect().execution_options(**{READONLY: True}) as c:
        report = build(c)
        return ReportTable(report.title, report.columns, list(report.rows), report.notes)


@click.command("age")
@output_options
@click.pass_obj
def age_command(obj: Context, csv_file: Path | None, as_json: bool) -> None:
    """Inventory age: the units on hand per SKU in buckets of days since receipt (0-30, 31-60,
    61-90, 91-180, over 180), first in, first out against the SKU's receipts, with their value
    and a total row."""
    now = today()
    emit(_read(obj, lambda c: reports_flow.age(c, now)), csv_file, as_json)


@click.command("turnover")
@period_options
@click.option(
    "--by",
    type=click.Choice(["sku", "abc"]),
    default="sku",
    show_default=True,
    help="One row per SKU, or per ABC class (a SKU without a class is C).",
)
@output_options
@click.pass_obj
def turnover_command(
    obj: Context,
    start: date | None,
    end: date | None,
    by: str,
    csv_file: Path | None,
    as_json: bool,
) -> None:
    """Turnover per SKU over the period: units shipped (picked, when nothing ships), average
    on hand (the mean of each day's closing stock), turnover = shipped / average on hand, and
    days of supply = on hand / daily demand."""
    first, last = period(start, end)
    report = _read(obj, lambda c: reports_flow.turnover_report(c, first, last, by == "abc"))
    emit(report, csv_file, as_json)


@click.command("receiving")
@period_options
@output_options
@click.pass_obj
def receiving_command(
    obj: Context, start: date | None, end: date | None, csv_file: Path | None, as_json: bool
) -> None:
    """Discrepancies per receipt received or closed in the period: units expected, received,
    over, short and damaged (received into quarantine), and who closed it when."""
    first, last = period(start, end)
    emit(_read(obj, lambda c: reports_flow.receiving(c, first, last)), csv_file, as_json)


@click.command("picks")
@period_options
@output_options
@click.pass_obj
def picks_command(
    obj: Context, start: date | None, end: date | None, csv_file: Path | None, as_json: bool
) -> None:
    """Per operator over the period: pick lines, units, hours worked (first to last pick of
    each day, less breaks over 30 minutes), lines and units per hour, and short picks."""
    first, last = period(start, end)
    emit(_read(obj, lambda c: reports_flow.picks(c, first, last)), csv_file, as_json)


@click.command("health")
@output_options
@click.pass_obj
def health_command(obj: Context, csv_file: Path | None, as_json: bool) -> None:
    """Inventory health, overall then per SKU: sell-through over the last 90 days, excess stock
    (beyond the policy's excess_days_of_supply days of demand), stranded stock (inactive, or no
    demand for the policy's stranded_days days) and the in-stock rate of active SKUs."""
    now = today()
    emit(_read(obj, lambda c: reports_flow.health_report(c, now)), csv_file, as_json)
