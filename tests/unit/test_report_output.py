"""Every report prints, writes CSV and JSON through one place (app/commands/report_output.py):
a CSV file reads back to the same values, money is 12.34 in text and CSV and cents in JSON, a
missing percent is "-", and rows stream (an iterator is written without being held whole)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from app.commands.report_output import emit, output_options, write_csv
from app.domain.report_table import Column, ColumnKind, ReportTable, Value, money

COLUMNS = (
    Column("sku", "SKU"),
    Column("units", "units", ColumnKind.INT),
    Column("value", "value", ColumnKind.MONEY),
    Column("share", "share", ColumnKind.PERCENT),
    Column("day", "day", ColumnKind.DATE),
    Column("at", "at", ColumnKind.TIME),
)
ROWS: tuple[tuple[Value, ...], ...] = (
    ("WIDGET", 12, 123456, 50.0, date(2026, 12, 1), datetime(2026, 12, 1, 9, 30, tzinfo=UTC)),
    ("BOLT, M8", -3, -5, None, date(2026, 12, 2), None),
)


def report(rows: object = ROWS) -> ReportTable:
    return ReportTable("Test report", COLUMNS, rows, ("A note.",))  # type: ignore[arg-type]


@click.command()
@output_options
def command(csv_file: Path | None, as_json: bool) -> None:
    emit(report(), csv_file, as_json)


def test_money_has_two_decimals_and_a_sign() -> None:
    assert [money(c) for c in (123456, -5, 0, 7)] == ["1234.56", "-0.05", "0.00", "0.07"]


def test_a_csv_file_reads_back_to_the_same_values(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    result = CliRunner().invoke(command, ["--csv", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output == f"Test report: 2 row(s) written to {path}\n"
    with path.open(encoding="utf-8", newline="") as f:
        back = list(csv.reader(f))
    assert back == [
        ["sku", "units", "value", "share", "day", "at"],
        ["WIDGET", "12", "1234.56", "50.0 %", "2026-12-01", "2026-12-01T09:30:00+00:00"],
        ["BOLT, M8", "-3", "-0.05", "-", "2026-12-02", ""],
    ]


def test_json_keeps_cents_and_names_every_column() -> None:
    result = CliRunner().invoke(command, ["--json"])
    data = json.loads(result.output)
    assert data["report"] == "Test report" and data["notes"] == ["A note."]
    assert [c["kind"] for c in data["columns"]] == [
        "text",
        "int",
        "money",
        "percent",
        "date",
        "time",
    ]
    assert data["rows"][0] == {
        "sku": "WIDGET",
        "units": 12,
        "value": 123456,
        "share": 50.0,
        "day": "2026-12-01",
        "at": "2026-12-01T09:30:00+00:00",
    }
    assert data["rows"][1]["share"] is None


def test_the_table_aligns_figures_right() -> None:
    result = CliRunner().invoke(command, [])
    assert result.output.splitlines() == [
        "Test report",
        "  SKU       units    value   share  day         at",
        "  WIDGET       12  1234.56  50.0 %  2026-12-01  2026-12-01T09:30:00+00:00",
        "  BOLT, M8     -3    -0.05       -  2026-12-02",
        "A note.",
    ]


def test_csv_and_json_together_are_refused() -> None:
    result = CliRunner().invoke(command, ["--json", "--csv", "x.csv"])
    assert result.exit_code == 2 and "give --csv FILE or --json, not both" in result.output


def test_rows_stream_to_the_file(tmp_path: Path) -> None:
    taken: list[int] = []

    def rows() -> Iterator[tuple[Value, ...]]:
        for n in range(2500):
            taken.append(n)
            yield (f"S{n}", n, n, None, None, None)

    seen: list[int] = []

    def progress(written: int) -> None:
        seen.append(written)
        assert len(taken) == written  # produced one by one, as the file is written

    assert write_csv(report(rows()), tmp_path / "big.csv", progress) == 2500
    assert seen == [1000, 2000]


def test_a_row_of_the_wrong_width_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_csv(report((("ONLY", 1),)), tmp_path / "bad.csv")
