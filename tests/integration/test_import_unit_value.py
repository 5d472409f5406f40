"""`perpetua import skus` with the optional `unit_value` column (money, kept as cents in
skus.unit_value_cents), on both databases: new SKUs, `--update` of a value, and bad values
refused with their line, nothing written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from sqlalchemy import text

from app.cli import main
from tests.support.warehouse import Warehouse


def imported(db_url: str, tmp: Path, content: str, *options: str) -> Result:
    path = tmp / "skus.csv"
    path.write_text(content, encoding="utf-8")
    return CliRunner().invoke(
        main, ["--db", db_url, "import", "skus", str(path), *options], catch_exceptions=False
    )


def values(wh: Warehouse) -> dict[str, Any]:
    with wh.engine.connect() as c:
        rows = c.execute(text("SELECT code, unit_value_cents FROM skus WHERE code LIKE 'V-%'"))
        return dict(rows.all())


def test_unit_values_are_imported_as_cents(
    db_url: str, warehouse: Warehouse, tmp_path: Path
) -> None:
    done = imported(
        db_url,
        tmp_path,
        "sku,name,unit_value\nV-1,Valued one,12.50\nV-2,Valued two,3\nV-3,Valued three,0.5\n"
        "V-4,No value,\n",
    )
    assert done.exit_code == 0, done.output
    assert values(warehouse) == {"V-1": 1250, "V-2": 300, "V-3": 50, "V-4": None}
    updated = imported(db_url, tmp_path, "sku,name,unit_value\nV-1,Valued one,13.05\n", "--update")
    assert updated.exit_code == 0, updated.output
    assert values(warehouse)["V-1"] == 1305
    # A file without the column leaves the values as they are.
    renamed = imported(db_url, tmp_path, "sku,name\nV-2,Valued two renamed\n", "--update")
    assert renamed.exit_code == 0, renamed.output
    assert values(warehouse)["V-2"] == 300


def test_bad_unit_values_are_refused_by_line_and_nothing_is_written(
    db_url: str, warehouse: Warehouse, tmp_path: Path
) -> None:
    refused = imported(
        db_url,
        tmp_path,
        'sku,name,unit_value\nV-1,Fine,1.00\nV-2,Comma,"12,50"\nV-3,Negative,-1\n'
        "V-4,Three decimals,1.005\nV-5,Currency,$4\nV-6,Huge,99999999999999999\n",
    )
    assert refused.exit_code != 0
    out = refused.output
    for line, value in ((3, "12,50"), (4, "-1"), (5, "1.005"), (6, "$4")):
        assert (
            f"line {line}: unit_value must be an amount such as 12.50 (digits 0-9, a point and at "
            f"most two decimals, no currency sign), not {value!r}"
        ) in out, out
    assert "line 7: unit_value 99999999999999999 is above the largest amount" in out
    assert "line 2" not in out
    assert values(warehouse) == {}
