"""`perpetua import barcodes` and the barcodes of `perpetua import skus`, on both databases: a
supplier's EAN resolves when scanned, a case GTIN stands for its pack quantity, any number of
barcodes a SKU, and a barcode already used or a pack of 0 is refused by line with nothing
written (issue 12, point 3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text

from app.adapters.db.catalogue_lookup import open_catalogue
from app.adapters.db.engine import make_engine
from app.cli import main
from app.domain.interpret import Kind, interpret
from app.domain.scan import Scan, Source

SEED = {
    "locations": "code,kind,zone\nDOCK-1,dock,A\nA-01-01,bin,A\n",
    "skus": "sku,name,gtin,aliases\nSKU-1,Blue widget,96385074,SKU-1|SUP-1\nSKU-2,Red widget,,\n",
    "operators": "badge,name,role\nD001,Dana Dock,dock\n",
    "receipts": "receipt,sku,qty\nASN-1,SKU-1,5\n",
    "orders": "order,line,sku,qty\nSO-1,1,SKU-1,2\n",
}


def perpetua(db_url: str, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, ["--db", db_url, *args], catch_exceptions=False, env=env)


def imported(db_url: str, tmp_path: Path, kind: str, content: str, *options: str) -> Result:
    path = tmp_path / f"{kind}.csv"
    path.write_text(content, encoding="utf-8")
    return perpetua(db_url, "import", kind, str(path), *options)


def rows(db_url: str, query: str) -> list[tuple[object, ...]]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as c:
            return [tuple(r) for r in c.execute(text(query))]
    finally:
        engine.dispose()


@pytest.fixture
def seeded(db_url: str, tmp_path: Path) -> str:
    for kind, content in SEED.items():
        result = imported(db_url, tmp_path, kind, content)
        assert result.exit_code == 0, result.output
    return db_url


def scanned(db_url: str, code: str) -> tuple[Kind, str | None]:
    engine = make_engine(db_url)
    try:
        with open_catalogue(engine) as catalogue:
            found = interpret(Scan(code, Source.WEDGE), catalogue)
    finally:
        engine.dispose()
    return found.kind, found.sku


def test_a_supplier_ean_and_a_case_label_resolve_to_their_sku_with_their_pack(
    seeded: str, tmp_path: Path
) -> None:
    result = imported(
        seeded,
        tmp_path,
        "barcodes",
        "sku,barcode,pack_qty,kind\n"
        "SKU-2,4006381333962,1,\n"  # the EAN: 13 digits, a valid check digit
        "SKU-2,14006381333969,12,\n"  # its case
        "SKU-2,CASE/RED,6,alias\n"
        "SKU-2,12345,1,\n"  # numeric, not a GTIN: an alias as written
        "SKU-1,4006381333931,24,alias\n",  # written as an alias, read by stations as a GTIN
    )
    assert result.exit_code == 0, result.output
    assert "imported 5 barcodes" in result.output
    stored = rows(
        seeded,
        "SELECT b.code, s.code, b.kind, b.pack_qty FROM barcodes b "
        "JOIN skus s ON s.id = b.sku_id WHERE s.code = 'SKU-2' OR b.pack_qty > 1 ORDER BY b.code",
    )
    assert stored == [
        ("04006381333931", "SKU-1", "gtin", 24),
        ("04006381333962", "SKU-2", "gtin", 1),
        ("12345", "SKU-2", "alias", 1),
        ("14006381333969", "SKU-2", "gtin", 12),
        ("CASE/RED", "SKU-2", "alias", 6),
    ]
    assert scanned(seeded, "4006381333962") == (Kind.ITEM, "SKU-2")
    assert scanned(seeded, "14006381333969") == (Kind.ITEM, "SKU-2")
    assert scanned(seeded, "CASE/RED") == (Kind.ITEM, "SKU-2")
    assert scanned(seeded, "4006381333931") == (Kind.ITEM, "SKU-1")


def test_a_numeric_alias_of_a_sku_file_resolves_as_the_gtin_it_is(
    seeded: str, tmp_path: Path
) -> None:
    """The issue: a supplier EAN imported as an alias never resolved."""
    result = imported(
        seeded,
        tmp_path,
        "skus",
        "sku,name,aliases,min_shelf_days\nSKU-3,Green widget,4006381333962|SUP-3,30\n",
    )
    assert result.exit_code == 0, result.output
    assert scanned(seeded, "4006381333962") == (Kind.ITEM, "SKU-3")
    assert rows(seeded, "SELECT min_shelf_days FROM skus WHERE code = 'SKU-3'") == [(30,)]
    assert rows(
        seeded,
        "SELECT b.code, b.kind FROM barcodes b JOIN skus s ON s.id = b.sku_id "
        "WHERE s.code = 'SKU-3' ORDER BY b.code",
    ) == [("04006381333962", "gtin"), ("SUP-3", "alias")]


def test_a_barcode_already_used_or_a_pack_of_0_is_refused_by_line_and_nothing_written(
    seeded: str, tmp_path: Path
) -> None:
    before = rows(seeded, "SELECT count(*) FROM barcodes")
    audited = rows(seeded, "SELECT count(*) FROM master_changes")
    path = tmp_path / "barcodes.csv"
    result = imported(
        seeded,
        tmp_path,
        "barcodes",
        "sku,barcode,pack_qty\n"
        "SKU-2,GOOD-1,1\n"
        "SKU-2,CASE-2,0\n"
        "SKU-2,96385074,1\n"
        "SKU-2,SUP-1,1\n"
        "SKU-2,D001,1\n"
        "SKU-2,A-01-01,1\n"
        "SKU-2,SO-1,1\n"
        "SKU-2,ASN-1,1\n"
        "SKU-1,SUP-1,1\n"
        "SKU-9,GOOD-2,1\n",
    )
    assert result.exit_code == 1
    assert [line for line in result.output.splitlines() if line.startswith(f"{path}: ")] == [
        f"{path}: {line}"
        for line in (
            "line 3: pack_qty is 0: write how many units one scan of this barcode stands for "
            "(1 for a single item, 12 for a case of 12)",
            "line 4: GTIN 00000096385074 of SKU SKU-2 is already the GTIN of SKU SKU-1; "
            "check the GTIN",
            "line 5: alias SUP-1 of SKU SKU-2 is already an alias of SKU SKU-1; choose another "
            "alias",
            "line 6: alias D001 of SKU SKU-2 is already an operator's badge; choose another alias",
            "line 7: alias A-01-01 of SKU SKU-2 is already a location's code; choose another alias",
            "line 8: alias SO-1 of SKU SKU-2 is already an order's code; choose another alias",
            "line 9: alias ASN-1 of SKU SKU-2 is already a receipt's code; choose another alias",
            "line 10: barcode SUP-1 repeats line 5",
            "line 11: SKU SKU-9 is not in the catalogue (import skus first)",
        )
    ]
    assert f"9 problem(s) in {path}; nothing was imported" in result.output
    assert rows(seeded, "SELECT count(*) FROM barcodes") == before
    assert rows(seeded, "SELECT count(*) FROM master_changes") == audited


def test_barcodes_added_are_in_the_audit_with_who_added_them(seeded: str, tmp_path: Path) -> None:
    result = imported(
        seeded, tmp_path, "barcodes", "sku,barcode,pack_qty\nSKU-2,CASE-2,12\n", "--by", "D001"
    )
    assert result.exit_code == 0, result.output
    audit = perpetua(seeded, "audit", "--kind", "barcodes", "--json")
    assert audit.exit_code == 0, audit.output
    *seed, row = [json.loads(line) for line in audit.output.splitlines()]
    # The seed's skus file added SKU-1's GTIN and aliases: each is recorded as a barcode too.
    assert [(r["code"], r["action"], r["changes"]["sku"]) for r in seed] == [
        ("00000096385074", "added", [None, "SKU-1"]),
        ("SKU-1", "added", [None, "SKU-1"]),
        ("SUP-1", "added", [None, "SKU-1"]),
    ]
    assert (row["actor"], row["actor_kind"], row["code"], row["action"]) == (
        "D001",
        "badge",
        "CASE-2",
        "added",
    )
    assert row["changes"] == {
        "sku": [None, "SKU-2"],
        "kind": [None, "alias"],
        "pack_qty": [None, 12],
    }
