"""Printing, CSV and JSON for every `perpetua report NAME` (app/domain/report_table.py): one
place, so that every report takes `--csv FILE` and `--json` and writes them alike.

CSV: a header row of column names, then one row per line, UTF-8, money as 12.34, times in ISO
8601 (UTC); written row by row as the rows come, so a large report streams to its file. JSON:
one object {"report", "columns", "rows": [{name: value}], "notes"}, money in cents."""

from __future__ import annotations

import csv
import json
import re
import textwrap
from collections.abc import Callable, Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from app.domain.report_table import ColumnKind, ReportTable, Value, shown

F = TypeVar("F", bound=Callable[..., Any])

ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
"""A day as reports take it: YYYY-MM-DD (date.fromisoformat also takes 20261207)."""

WIDTH = 100
"""Notes are wrapped at this width; the table is as wide as its cells."""
RIGHT = (ColumnKind.INT, ColumnKind.MONEY, ColumnKind.PERCENT, ColumnKind.NUMBER)


def iso_day(ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    """A click callback: the day given as YYYY-MM-DD, or a usage error that says so."""
    if value is None:
        return None
    try:
        if not ISO_DAY.fullmatch(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date: write it YYYY-MM-DD, for example 2026-12-07", ctx, param
        ) from None


def output_options(command: F) -> F:
    """`--csv FILE` and `--json`, for every report command."""
    command = click.option(
        "--json", "as_json", is_flag=True, help="The report as one JSON object."
    )(command)
    return click.option(
        "--csv",
        "csv_file",
        type=click.Path(dir_okay=False, writable=True, path_type=Path),
        default=None,
        help="Write the rows to FILE as CSV (a header row, then one row per line).",
    )(command)


def emit(report: ReportTable, csv_file: Path | None, as_json: bool) -> None:
    """The report on standard output (a table, or JSON), or its rows into `csv_file`."""
    if csv_file is not None and as_json:
        raise click.UsageError("give --csv FILE or --json, not both")
    if csv_file is not None:
        written = write_csv(report, csv_file)
        click.echo(f"{report.title}: {written} row(s) written to {csv_file}")
        return
    if as_json:
        click.echo(json.dumps(as_dict(report), ensure_ascii=False))
        return
    print_table(report)


def write_csv(
    report: ReportTable, path: Path, progress: Callable[[int], None] | None = None
) -> int:
    """Write the report's rows to `path` as they come; the number of rows. `progress(n)` is
    called every 1000 rows (a progress bar, a cancel check that raises)."""
    kinds = [c.kind for c in report.columns]
    written = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow([c.name for c in report.columns])
        for row in report.rows:
            writer.writerow([shown(v, k) for v, k in zip(row, kinds, strict=True)])
            written += 1
            if progress is not None and written % 1000 == 0:
                progress(written)
    return written


def _json_value(value: Value) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def as_dict(report: ReportTable) -> dict[str, Any]:
    names = [c.name for c in report.columns]
    return {
        "report": report.title,
        "columns": [
            {"name": c.name, "title": c.title, "kind": c.kind.value} for c in report.columns
        ],
        "rows": [
            {n: _json_value(v) for n, v in zip(names, row, strict=True)} for row in report.rows
        ],
        "notes": list(report.notes),
    }


def print_table(report: ReportTable) -> None:
    rows = _cells(report.rows, [c.kind for c in report.columns])
    click.echo(report.title)
    if not rows:
        click.echo("  (nothing to show)")
    else:
        titles = [c.title for c in report.columns]
        widths = [max(len(t), *(len(r[i]) for r in rows)) for i, t in enumerate(titles)]
        right = [c.kind in RIGHT for c in report.columns]

        def line(values: Iterable[str]) -> str:
            cells = [
                v.rjust(w) if r else v.ljust(w)
                for v, w, r in zip(values, widths, right, strict=True)
            ]
            return ("  " + "  ".join(cells)).rstrip()

        click.echo(line(titles))
        for row in rows:
            click.echo(line(row))
    for note in report.notes:
        click.echo(textwrap.fill(note, WIDTH))


def _cells(rows: Iterable[tuple[Value, ...]], kinds: list[ColumnKind]) -> list[list[str]]:
    return [[shown(v, k) for v, k in zip(row, kinds, strict=True)] for row in rows]
