"""`perpetua interpret` as a person or a script uses it: without a database (syntax alone) and with
one (badges, location labels, aliases and GTINs looked up), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, func, select

from app.adapters.db.catalogue import add_barcodes
from app.adapters.db.schema import LocationRow, SkuRow, table
from app.cli import main
from app.config import CONFIG_ENV, DATABASE_ENV
from app.domain.catalogue import BarcodeSpec
from app.domain.scan import GS
from tests.support.warehouse import Warehouse

KEYS = [
    "scan",
    "kind",
    "gtin",
    "lot",
    "expiry",
    "best_before",
    "serial",
    "count",
    "sscc",
    "content_gtin",
    "command",
    "error",
    "sku",
    "pack",
]
FULL = "]C101095060001343521726123110ABC123" + GS + "21SN42"
PALLET = "]C10010614141234567890802095060001343523712" + GS + "15270101"


@pytest.fixture
def no_configured_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config file naming a database that must not be touched; no PERPETUA_DATABASE_URL."""
    target = tmp_path / "configured.db"
    config = tmp_path / "config.toml"
    config.write_text(f'database_url = "sqlite:///{target}"\n', encoding="utf-8")
    monkeypatch.setenv(CONFIG_ENV, str(config))
    monkeypatch.delenv(DATABASE_ENV, raising=False)
    return target


def perpetua(*args: str, stdin: bytes | None = None, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=stdin, env=env, catch_exceptions=False)


def records(result: Result) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert all(list(row) == KEYS for row in rows)
    return rows


def test_syntax_alone_without_a_database(no_configured_database: Path) -> None:
    result = perpetua("interpret", "--json", FULL, PALLET, "@CMD:QTY:12", "A-01-01")
    assert result.exit_code == 1  # one scan was refused
    item, pallet, qty, label = records(result)
    assert item == {
        "scan": FULL,
        "kind": "item",
        "gtin": "09506000134352",
        "lot": "ABC123",
        "expiry": "2026-12-31",
        "best_before": None,
        "serial": "SN42",
        "count": None,
        "sscc": None,
        "content_gtin": None,
        "command": None,
        "error": None,
        "sku": None,
        "pack": 1,
    }
    assert (pallet["kind"], pallet["sscc"], pallet["content_gtin"]) == (
        "lpn",
        "106141412345678908",
        "09506000134352",
    )
    assert (pallet["count"], pallet["best_before"]) == (12, "2027-01-01")
    assert (qty["kind"], qty["command"]) == ("command", "QTY:12")
    assert label["kind"] == "invalid" and "without the warehouse catalogue" in label["error"]
    assert not no_configured_database.exists()  # the configured database was not even opened


def test_all_accepted_exits_zero_and_prints_readable_lines(no_configured_database: Path) -> None:
    result = perpetua("interpret", FULL, "@CMD:MODE:PICK", "5901234123457")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split()[0] == "item" and 'lot="ABC123"' in lines[0] and "<GS>" in lines[0]
    assert lines[1].split()[0] == "command" and "command=MODE:pick" in lines[1]
    assert 'gtin="05901234123457"' in lines[2]


def test_stdin_one_scan_per_line(no_configured_database: Path) -> None:
    lines = [
        b"5901234123457\r\n",  # CRLF: only the terminator goes
        FULL.encode() + b"\n",
        b"]C1010950600013435210LOT7<GS>1726123121XYZ\n",
        b"A-01\xe2\x80\xae-01\n",  # a bidi override
        b"\xff\xfeSKU\n",  # not UTF-8
        b"AB\tC\n",
        b"\n",
        b"5901234123458",  # last line without a terminator
    ]
    result = perpetua("interpret", "--stdin", "--json", stdin=b"".join(lines))
    rows = records(result)
    assert [r["kind"] for r in rows] == ["item", "item", "item"] + ["invalid"] * 5
    assert rows[2]["lot"] == "LOT7"
    assert "U+202E RIGHT-TO-LEFT OVERRIDE" in rows[3]["error"]
    assert "not UTF-8" in rows[4]["error"]
    assert "control character TAB" in rows[5]["error"]
    assert rows[6]["error"].startswith("Nothing was scanned")
    assert "wrong check digit" in rows[7]["error"]
    assert result.exit_code == 1


def test_output_never_carries_raw_control_or_bidi_characters(no_configured_database: Path) -> None:
    result = perpetua("interpret", "A\u202eB", "C\x1bD", "@CMD:QTY:\u2066")
    assert result.output.isascii()
    assert "\\u202e" in result.output and "\\x1b" in result.output and "\\u2066" in result.output
    json_out = perpetua("interpret", "--json", "A\u202eB").output
    assert json_out.isascii() and json.loads(json_out)["scan"] == "A\u202eB"


def test_a_configured_gs_placeholder(no_configured_database: Path) -> None:
    text = "]C1010950600013435210LOT7~1726123121XYZ"
    assert records(perpetua("interpret", "--json", text))[0]["kind"] == "invalid"
    row = records(perpetua("interpret", "--json", "--gs-placeholder", "~", text))[0]
    assert (row["lot"], row["serial"]) == ("LOT7", "XYZ")


def test_usage_errors(no_configured_database: Path) -> None:
    nothing = perpetua("interpret")
    assert nothing.exit_code == 2 and "give TEXT to interpret, or --stdin" in nothing.output
    blank = perpetua("interpret", "--gs-placeholder", "", "X")
    assert blank.exit_code == 2 and "--gs-placeholder" in blank.output


def count(engine: Engine, row: type[SkuRow] | type[LocationRow]) -> int:
    with engine.connect() as c:
        return int(c.execute(select(func.count()).select_from(table(row))).scalar_one())


def test_with_a_database_badges_labels_and_aliases_resolve(warehouse: Warehouse) -> None:
    url = warehouse.engine.url.render_as_string(hide_password=False)
    skus_before = count(warehouse.engine, SkuRow)
    scans = [
        "A-01-01",
        "]C0DOCK-1",
        "D1",
        "BOLT-ALIAS",
        "5901234123457",
        "09506000134352",
        "VENDOR",
        "'; DROP TABLE skus; --",
        "@CMD:DONE",
        FULL,
    ]
    rows = records(perpetua("--db", url, "interpret", "--json", *scans))
    assert [(r["kind"], r["sku"]) for r in rows] == [
        ("location", None),
        ("location", None),
        ("badge", None),
        ("item", "BOLT"),
        ("item", "WIDGET"),
        ("item", None),  # a valid GTIN the catalogue does not have yet
        ("invalid", None),  # a virtual counterparty is not a label anyone can scan
        ("invalid", None),
        ("command", None),
        ("item", None),
    ]
    assert "not a command, a badge, a location label" in rows[7]["error"]
    assert {r["pack"] for r in rows} == {1}
    assert count(warehouse.engine, SkuRow) == skus_before
    assert warehouse.invariants().total == 0


def test_a_case_barcode_says_how_many_units_one_scan_is(warehouse: Warehouse) -> None:
    with warehouse.engine.begin() as c:
        add_barcodes(c, [BarcodeSpec("WIDGET", "WIDGET-CASE", "alias", 12)])
    url = warehouse.engine.url.render_as_string(hide_password=False)
    [row] = records(perpetua("--db", url, "interpret", "--json", "WIDGET-CASE"))
    assert (row["kind"], row["sku"], row["pack"]) == ("item", "WIDGET", 12)
    line = perpetua("--db", url, "interpret", "WIDGET-CASE").output
    assert 'sku="WIDGET"  pack=12' in line


def test_the_environment_variable_names_the_database(
    warehouse: Warehouse, no_configured_database: Path
) -> None:
    url = warehouse.engine.url.render_as_string(hide_password=False)
    rows = records(perpetua("interpret", "--json", "A-01-01", env={DATABASE_ENV: url}))
    assert rows[0]["kind"] == "location"


def test_a_database_without_the_schema_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    result = CliRunner().invoke(main, ["--db", f"sqlite:///{empty}", "interpret", "A-01-01"])
    assert result.exit_code == 1 and "run `perpetua db upgrade`" in result.output
