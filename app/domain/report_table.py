"""What every report is (README "Reports"): a title, typed columns and rows of plain values, and
notes. The command line prints it as a table, writes it as CSV or JSON (app/commands/
report_output.py); the supervisor's screen shows the same value. A report's rows may be an
iterator, so that a large one streams to its CSV file instead of being held whole."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum


class ColumnKind(StrEnum):
    TEXT = "text"
    INT = "int"
    MONEY = "money"
    """Whole cents: shown and written as 12.34; in JSON as cents (an int)."""
    PERCENT = "percent"
    """A float, shown with one decimal and "%"; None as "-"."""
    NUMBER = "number"
    """A float, shown with one decimal; None as "-"."""
    DATE = "date"
    TIME = "time"
    """An aware datetime, shown in UTC to the minute, written in ISO 8601."""


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    """The CSV header and the JSON key: lower case, underscores."""
    title: str
    """What the printed table shows above it."""
    kind: ColumnKind = ColumnKind.TEXT


Value = str | int | float | date | datetime | None


@dataclass(frozen=True)
class ReportTable:
    title: str
    columns: tuple[Column, ...]
    rows: Iterable[tuple[Value, ...]]
    notes: tuple[str, ...] = ()
    """Sentences printed after the table (what the figures mean, what was left out)."""


def money(cents: int) -> str:
    """Cents as money with 2 decimals: 123456 -> "1234.56", -5 -> "-0.05"."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole}.{part:02d}"


def shown(value: Value, kind: ColumnKind) -> str:
    """A value as the printed table and the CSV file show it."""
    if value is None:
        return "-" if kind in (ColumnKind.PERCENT, ColumnKind.NUMBER) else ""
    if kind is ColumnKind.MONEY and isinstance(value, int):
        return money(value)
    if kind is ColumnKind.PERCENT and isinstance(value, int | float):
        return f"{value:.1f} %"
    if kind is ColumnKind.NUMBER and isinstance(value, int | float):
        return f"{value:.1f}"
    if kind is ColumnKind.TIME and isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
