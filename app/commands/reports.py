"""`perpetua report ...`: figures for a supervisor, read from the ledger and its count tasks.

`perpetua report accuracy` prints the inventory-record accuracy (app/domain/accuracy.py): the
share of counted locations whose first count matched the ledger within the count tolerance,
overall, per day, zone and ABC class, and the value of the count variances.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

import click

from app.adapters.db import accuracy as accuracy_db
from app.adapters.db import count_planning
from app.adapters.db.engine import READONLY
from app.commands.report_output import iso_day as _day
from app.domain.accuracy import NO_ZONE, AccuracyReport, AccuracyRow, shown_percent
from app.domain.report_table import money

if TYPE_CHECKING:
    from app.cli import Context

DEFAULT_DAYS = 30
"""The default period: this many days, today included."""

WIDTH = 100
"""Sentences are wrapped at this width; the tables are as wide as their cells."""


@click.group("report")
def report_group() -> None:
    """Figures for a supervisor: `perpetua report accuracy`."""


@report_group.command("accuracy")
@click.option(
    "--from",
    "start",
    metavar="YYYY-MM-DD",
    callback=_day,
    help="First day (default: 30 days long).",
)
@click.option(
    "--to", "end", metavar="YYYY-MM-DD", callback=_day, help="Last day, UTC (default: today)."
)
@click.option("--zone", help='Only locations of this zone ("-": locations without a zone).')
@click.option("--json", "as_json", is_flag=True, help="The report as one JSON object.")
@click.pass_obj
def accuracy_command(
    obj: Context, start: date | None, end: date | None, zone: str | None, as_json: bool
) -> None:
    """Inventory-record accuracy: the share of counted locations whose first count matched the
    ledger within the count tolerance (policy count_units, count_percent), overall, per day,
    zone and ABC class, and the value of the variances of the finished counts. The period is
    --from .. --to (UTC days, both included): without --to it ends today, without --from it is
    30 days long."""
    if end is None:
        end = _today()
    if start is None:
        start = end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise click.ClickException(
            f"--from {start} is after --to {end}: give the first day of the period first"
        )
    with obj.runtime() as rt, rt.engine.connect().execution_options(**{READONLY: True}) as c:
        if zone is not None and zone != NO_ZONE:
            known = count_planning.zones(c)
            if zone not in known:
                raise click.ClickException(
                    f"no location is in zone {zone!r}; the zones are: "
                    f"{', '.join(known) or '(none)'} (or - for locations without a zone)"
                )
        report = accuracy_db.accuracy(c, start, end, zone)
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False))
        return
    _print(report)


def _today() -> date:
    return datetime.now(UTC).date()


def _print(report: AccuracyReport) -> None:
    click.echo(headline(report))
    t = report.tolerance
    click.echo(
        textwrap.fill(
            f"A first count matches when every SKU and lot in it or in the ledger is within "
            f"{_units(t.units)} or {t.percent} % of the ledger's quantity, whichever is larger.",
            WIDTH,
        )
    )
    for title, column, rows in (
        ("By day (UTC)", "day", report.by_day),
        ("By zone", "zone", report.by_zone),
        ("By ABC class", "class", report.by_class),
    ):
        click.echo("")
        click.echo(title)
        _table(column, rows)
    click.echo("")
    click.echo(textwrap.fill(variance_text(report), WIDTH))


def headline(report: AccuracyReport) -> str:
    """The overall figure in one line, as the report begins."""
    period = f"{report.start.isoformat()} .. {report.end.isoformat()}"
    if report.zone is not None:
        period += f", zone {report.zone}"
    row = report.overall
    if not row.counted:
        return f"Inventory-record accuracy {period}: - (no location was counted)"
    return (
        f"Inventory-record accuracy {period}: {shown_percent(row)} ({row.matched} of "
        f"{row.counted} locations matched within tolerance)"
    )


def variance_text(report: AccuracyReport) -> str:
    """The value of the variances of the period's finished counts, in a sentence or two."""
    v = report.variance
    if not v.done:
        return "Value of variances: no count of the period is finished yet."
    counts = "1 finished count" if v.done == 1 else f"{v.done} finished counts"
    text = (
        f"Value of variances of {counts}: {money(v.value_abs_cents)} "
        f"(net {_signed(money(v.value_net_cents))}), {_units(v.units_abs)} "
        f"(net {v.units_net:+d})."
    )
    if v.unvalued_units:
        text += (
            f" {_units(v.unvalued_units)} of SKUs without a unit value count as 0: set their "
            "unit_value with `perpetua import skus FILE --update` to value them."
        )
    return text


def _units(n: int) -> str:
    return "1 unit" if n == 1 else f"{n} units"


def _signed(amount: str) -> str:
    return amount if amount.startswith("-") or amount == money(0) else f"+{amount}"


def _table(column: str, rows: Sequence[AccuracyRow]) -> None:
    if not rows:
        click.echo("  (no counts)")
        return
    header = (column, "counted", "matched", "accuracy")
    cells = [(r.group, str(r.counted), str(r.matched), shown_percent(r)) for r in rows]
    widths = [max(len(h), *(len(cell[i]) for cell in cells)) for i, h in enumerate(header)]

    def line(values: Sequence[str]) -> str:
        first, *numbers = values  # the group's name to the left, the figures to the right
        right = [v.rjust(w) for v, w in zip(numbers, widths[1:], strict=True)]
        return "  " + "  ".join([first.ljust(widths[0]), *right])

    click.echo(line(header).rstrip())
    for cell in cells:
        click.echo(line(cell).rstrip())
