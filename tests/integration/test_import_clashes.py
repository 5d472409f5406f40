"""`perpetua import` on both databases: one namespace of codes, the characters a code may hold,
numbers within the database's range, no virtual dock, and a file imported whole or not at all.
Each refusal is asserted as the administrator reads it."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from app.adapters.db import catalogue
from app.adapters.db.catalogue_lookup import open_catalogue
from app.adapters.db.engine import make_engine
from app.cli import main
from app.domain.catalogue import SkuSpec
from app.domain.interpret import CodeMatch
from app.services.importing import parse_skus

SEED = {
    "locations": "code,kind,zone\nDOCK-1,dock,A\nA-01-01,bin,A\n",
    "skus": "sku,name,gtin,aliases\nSKU-1,Blue widget,96385074,SKU-1|SUP-1|4006381333931\n",
    "operators": "badge,name,role\nD001,Dana Dock,dock\n",
    "stations": "code,name,zone,dock\nST-1,Dock one,A,DOCK-1\n",
    "receipts": "receipt,sku,qty\nASN-1,SKU-1,5\n",
    "orders": "order,line,sku,qty\nSO-1,1,SKU-1,2\n",
}
TABLES = {
    "locations": "locations",
    "skus": "skus",
    "operators": "operators",
    "stations": "stations",
    "receipts": "receipt_lines",
    "orders": "order_lines",
}


def perpetua(db_url: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--db", db_url, *args], catch_exceptions=False)


def imported(db_url: str, tmp_path: Path, kind: str, content: str) -> tuple[Result, str]:
    path = tmp_path / f"{kind}.csv"
    path.write_text(content, encoding="utf-8")
    return perpetua(db_url, "import", kind, str(path)), str(path)


def count(db_url: str, table: str) -> int:
    engine = make_engine(db_url)
    try:
        with engine.connect() as c:
            return int(c.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


@pytest.fixture
def seeded(db_url: str, tmp_path: Path) -> str:
    for kind, content in SEED.items():
        result, _ = imported(db_url, tmp_path, kind, content)
        assert result.exit_code == 0, result.output
    return db_url


def assert_refused(
    db_url: str, result: Result, path: str, kind: str, before: int, *lines: str
) -> None:
    """Refused with exactly these problems, each after the file's name, and nothing written."""
    assert result.exit_code == 1, result.output
    shown = [line for line in result.output.splitlines() if line.startswith(f"{path}: ")]
    assert shown == [f"{path}: {line}" for line in lines]
    assert f"{len(lines)} problem(s) in {path}; nothing was imported" in result.output
    assert "Traceback" not in result.output
    assert count(db_url, TABLES[kind]) == before


# --- one namespace ----------------------------------------------------------------------------

AGAINST_THE_DATABASE = [
    pytest.param(
        "operators",
        "badge,name,role\nP001,Pat,picker\nDOCK-1,Dee,dock\n",
        "line 3: badge DOCK-1 is already a location's code; choose another badge",
        id="badge-vs-location",
    ),
    pytest.param(
        "operators",
        "badge,name,role\nSKU-1,Sam,picker\n",
        "line 2: badge SKU-1 is already a SKU's code and an alias of SKU SKU-1; "
        "choose another badge",
        id="badge-vs-sku",
    ),
    pytest.param(
        "operators",
        "badge,name,role\nVENDOR,Val,picker\n",
        "line 2: badge VENDOR is already a built-in location's code; choose another badge",
        id="badge-vs-virtual-location",
    ),
    pytest.param(
        "operators",
        "badge,name,role\nASN-1,Ann,dock\n",
        "line 2: badge ASN-1 is already a receipt's code; choose another badge",
        id="badge-vs-receipt",
    ),
    pytest.param(
        "locations",
        "code,kind\nD001,bin\n",
        "line 2: location D001 is already an operator's badge; choose another location code",
        id="location-vs-badge",
    ),
    pytest.param(
        "locations",
        "code,kind\nSUP-1,bin\n",
        "line 2: location SUP-1 is already an alias of SKU SKU-1; choose another location code",
        id="location-vs-alias",
    ),
    pytest.param(
        "skus",
        "sku,name,aliases\nSKU-2,Red widget,SKU-1\n",
        "line 2: alias SKU-1 of SKU SKU-2 is already a SKU's code and an alias of SKU SKU-1; "
        "choose another alias",
        id="alias-vs-sku",
    ),
    pytest.param(
        "skus",
        "sku,name\nSUP-1,Supplier code as a SKU\n",
        "line 2: SKU SUP-1 is already an alias of SKU SKU-1; choose another SKU code",
        id="sku-vs-alias",
    ),
    pytest.param(
        "skus",
        "sku,name\nD001,A badge as a SKU\n",
        "line 2: SKU D001 is already an operator's badge; choose another SKU code",
        id="sku-vs-badge",
    ),
    pytest.param(
        "skus",
        "sku,name,gtin\nSKU-3,Green widget,4006381333931\n",
        # SKU-1's alias 4006381333931 reads as a GTIN: it was stored as one (issue 12, point 3)
        "line 2: GTIN 04006381333931 of SKU SKU-3 is already the GTIN of SKU SKU-1; check the GTIN",
        id="gtin-vs-numeric-alias",
    ),
    pytest.param(
        "skus",
        "sku,name,aliases\nSKU-4,Grey widget,96385074\n",
        "line 2: alias 96385074 of SKU SKU-4 is already the GTIN of SKU SKU-1 (00000096385074); "
        "choose another alias",
        id="alias-vs-gtin",
    ),
    pytest.param(
        "skus",
        "sku,name,aliases\nSKU-5,Pink widget,DOCK-1\n",
        "line 2: alias DOCK-1 of SKU SKU-5 is already a location's code; choose another alias",
        id="alias-vs-location",
    ),
    pytest.param(
        "receipts",
        "receipt,sku,qty\nSO-1,SKU-1,5\n",
        "line 2: receipt SO-1 is already an order's code; choose another receipt code",
        id="receipt-vs-order",
    ),
    pytest.param(
        "orders",
        "order,line,sku,qty\nASN-1,1,SKU-1,2\n",
        "line 2: order ASN-1 is already a receipt's code; choose another order code",
        id="order-vs-receipt",
    ),
    pytest.param(
        "orders",
        "order,line,sku,qty\nA-01-01,1,SKU-1,2\n",
        "line 2: order A-01-01 is already a location's code; choose another order code",
        id="order-vs-location",
    ),
    pytest.param(
        "skus",
        "sku,name,gtin,aliases\nSKU-1,Blue widget,96385074,SKU-1|SUP-1\n",
        "line 2: SKU SKU-1 already exists; to change it, import the file with --update",  # not once more for each barcode
        id="sku-again",
    ),
]


@pytest.mark.parametrize(("kind", "content", "message"), AGAINST_THE_DATABASE)
def test_a_code_already_in_the_database_is_refused_with_what_holds_it(
    seeded: str, tmp_path: Path, kind: str, content: str, message: str
) -> None:
    before = count(seeded, TABLES[kind])
    result, path = imported(seeded, tmp_path, kind, content)
    assert_refused(seeded, result, path, kind, before, message)


def test_codes_that_clash_within_one_file_name_the_earlier_line(
    seeded: str, tmp_path: Path
) -> None:
    content = (
        "sku,name,gtin,aliases\n"
        "N-1,Nut,5901234123457,N-1|LABEL-7\n"
        "N-2,Nail,,N-1\n"
        "LABEL-7,Label,,\n"
        "N-3,Nib,,5901234123457\n"
    )
    result, path = imported(seeded, tmp_path, "skus", content)
    assert_refused(
        seeded,
        result,
        path,
        "skus",
        1,
        "line 3: alias N-1 of SKU N-2 is already a SKU's code on line 2; choose another alias",
        "line 4: SKU LABEL-7 is already an alias of SKU N-1 on line 2; choose another SKU code",
        "line 5: alias 5901234123457 of SKU N-3 is already the GTIN of SKU N-1 (05901234123457) "
        "on line 2; choose another alias",
    )


def test_a_station_may_share_its_dock_code(seeded: str, tmp_path: Path) -> None:
    """Stations are never scanned: their codes are their own namespace."""
    result, _ = imported(seeded, tmp_path, "stations", "code,name,dock\nDOCK-1,Dock one,DOCK-1\n")
    assert result.exit_code == 0, result.output
    again, path = imported(seeded, tmp_path, "stations", "code,name\nST-1,Dock one again\n")
    assert_refused(
        seeded,
        again,
        path,
        "stations",
        2,
        "line 2: station ST-1 already exists; to change it, import the file with --update",
    )


def test_a_virtual_location_is_never_a_station_dock(seeded: str, tmp_path: Path) -> None:
    content = (
        "code,name,dock\nST-2,Dock two,DOCK-1\nST-3,Scrap desk,SCRAP\nST-4,Vendor desk,VENDOR\n"
    )
    result, path = imported(seeded, tmp_path, "stations", content)
    hint = (
        "is a virtual location (it stands for a partner or a correction, not a place); give the "
        "station the code of its dock location"
    )
    assert_refused(
        seeded,
        result,
        path,
        "stations",
        1,
        f"line 3: dock SCRAP {hint}",
        f"line 4: dock VENDOR {hint}",
    )


# --- characters -------------------------------------------------------------------------------


def test_invisible_characters_and_other_digits_are_refused_with_their_line(
    seeded: str, tmp_path: Path
) -> None:
    content = (
        "badge,name,role,pin\n"
        "P\u200b002,Zero width,picker,\n"
        "\ufeffP003,Byte order mark,picker,\n"
        "P004\u00a0,No-break space,picker,\n"
        "P\u0660\u0660\u0665,Arabic-Indic digits,picker,\n"
        "S009,Sal,supervisor,\u0661\u0662\u0663\u0664\u0665\u0666\n"
        "S010,Sid,supervisor,1234\n"
        "P006,Pat\u202eRTL,picker,\n"
    )
    result, path = imported(seeded, tmp_path, "operators", content)
    allowed = "a code holds only the letters A-Z and a-z, the digits 0-9 and - . _ /"
    assert_refused(
        seeded,
        result,
        path,
        "operators",
        1,
        f'line 2: badge "P\\u200b002" holds the invisible character U+200B ZERO WIDTH SPACE at '
        f"position 2; {allowed}",
        f'line 3: badge "\\ufeffP003" holds the invisible character U+FEFF ZERO WIDTH NO-BREAK '
        f"SPACE at position 1; {allowed}",
        f'line 4: badge "P004\\xa0" holds the invisible character U+00A0 NO-BREAK SPACE at '
        f"position 5; {allowed}",
        'line 5: badge "P\u0660\u0660\u0665" holds the digit \u0660 (U+0660 ARABIC-INDIC DIGIT '
        f"ZERO) at position 2, which is not one of 0-9; {allowed}",
        "line 6: pin: a PIN is made of the digits 0 to 9 only",
        "line 7: pin: a PIN has 6 to 12 digits, not 4",
        'line 8: name "Pat\\u202eRTL" holds the invisible character U+202E RIGHT-TO-LEFT '
        "OVERRIDE at position 4; retype it",
    )


# --- numbers ----------------------------------------------------------------------------------


def test_numbers_beyond_the_database_are_refused_by_line_on_both_databases(
    seeded: str, tmp_path: Path
) -> None:
    result, path = imported(
        seeded,
        tmp_path,
        "receipts",
        "receipt,sku,qty\nASN-2,SKU-1,2147483648\nASN-2,SKU-1,-1\nASN-2,SKU-1,\u0663\n",
    )
    assert_refused(
        seeded,
        result,
        path,
        "receipts",
        1,
        "line 2: qty 2147483648 is above the largest quantity 2147483647",
        "line 3: qty must be at least 1, not -1",
        'line 4: qty "\u0663" holds the digit \u0663 (U+0663 ARABIC-INDIC DIGIT THREE) at '
        "position 1, which is not one of 0-9; write numbers with the digits 0-9",
    )
    locations = count(seeded, "locations")
    capacity, path = imported(
        seeded, tmp_path, "locations", "code,kind,max_units\nB-1,bin,2147483648\nB-2,bin,0\n"
    )
    assert_refused(
        seeded,
        capacity,
        path,
        "locations",
        locations,
        "line 2: max_units 2147483648 is above the largest capacity 2147483647",
        "line 3: max_units must be at least 1, not 0",
    )


def test_the_largest_number_is_stored_as_written(seeded: str, tmp_path: Path) -> None:
    result, _ = imported(seeded, tmp_path, "receipts", "receipt,sku,qty\nASN-3,SKU-1,2147483647\n")
    assert result.exit_code == 0, result.output
    engine = make_engine(seeded)
    with engine.connect() as c:
        stored = c.execute(text("SELECT max(qty) FROM receipt_lines")).scalar_one()
    engine.dispose()
    assert stored == 2_147_483_647


# --- all or nothing ---------------------------------------------------------------------------


def sku_rows(first: int, last: int) -> str:
    """Rows of `sku,name,unit_volume_cm3,unit_weight_g,aliases`."""
    return "".join(
        f"BULK-{n:05d},Bulk item {n},{n % 500 + 1},{n % 900 + 1},BULK-{n:05d}|SUP-{n:05d}\n"
        for n in range(first, last + 1)
    )


def test_one_bad_row_among_5000_writes_nothing_and_the_fixed_file_writes_all(
    seeded: str, tmp_path: Path
) -> None:
    header = "sku,name,unit_volume_cm3,unit_weight_g,aliases\n"
    bad = header + sku_rows(1, 4999) + "BULK-05000,Bulk item 5000,1,1,BULK-05000|D001\n"
    result, path = imported(seeded, tmp_path, "skus", bad)
    assert_refused(
        seeded,
        result,
        path,
        "skus",
        1,
        "line 5001: alias D001 of SKU BULK-05000 is already an operator's badge; "
        "choose another alias",
    )
    assert count(seeded, "barcodes") == 4  # the seed's GTIN and three aliases, nothing more

    good, _ = imported(seeded, tmp_path, "skus", header + sku_rows(1, 5000))
    assert good.exit_code == 0, good.output
    assert "imported 5000 skus" in good.output
    assert count(seeded, "skus") == 5001 and count(seeded, "barcodes") == 4 + 2 * 5000
    engine = make_engine(seeded)
    with open_catalogue(engine) as catalogue:  # a station scans the new labels
        assert catalogue.identify("SUP-05000") == CodeMatch(alias_sku="BULK-05000")
        assert catalogue.identify("BULK-00001") == CodeMatch(alias_sku="BULK-00001")
    engine.dispose()


def test_a_supervisor_with_a_good_pin_is_imported(seeded: str, tmp_path: Path) -> None:
    result, _ = imported(
        seeded,
        tmp_path,
        "operators",
        "badge,name,role,pin\nS001,Sue Supervisor,supervisor,864213\n",
    )
    assert result.exit_code == 0, result.output
    assert count(seeded, "operators") == 2


def test_a_clash_written_meanwhile_is_refused_by_the_database_and_leaves_nothing(
    seeded: str, tmp_path: Path
) -> None:
    """The file is checked, then another import writes one of its aliases before this one
    writes: the database's unique index refuses it, and the SKUs already sent go with it."""
    engine = make_engine(seeded)
    with engine.connect() as c:
        checked = parse_skus(
            "sku,name,unit_volume_cm3,unit_weight_g,aliases\n" + sku_rows(1, 300),
            lambda codes: catalogue.holders(c, codes),
        )
    assert checked.ok
    meanwhile, _ = imported(seeded, tmp_path, "skus", "sku,name,aliases\nOTHER,Other,SUP-00300\n")
    assert meanwhile.exit_code == 0, meanwhile.output
    with pytest.raises(IntegrityError), catalogue.bulk_transaction(engine) as c:
        catalogue.add_skus(c, checked.rows)
    engine.dispose()
    assert count(seeded, "skus") == 2 and count(seeded, "barcodes") == 5


def test_a_race_with_another_writer_on_postgresql_ends_in_words(
    postgres_url: str, tmp_path: Path
) -> None:
    """Another session adds a SKU with one of the file's aliases and commits while the import
    waits on it: the database refuses the import, which says so plainly and leaves nothing."""
    header = "sku,name,unit_volume_cm3,unit_weight_g,aliases\n"
    path = tmp_path / "skus.csv"
    path.write_text(header + sku_rows(1, 300), encoding="utf-8")
    engine = make_engine(postgres_url)
    other = engine.connect()
    transaction = other.begin()
    catalogue.add_skus(other, [SkuSpec("OTHER", "Other", barcodes=(("SUP-00300", "alias"),))])
    outcome: list[Result] = []
    worker = threading.Thread(
        target=lambda: outcome.append(perpetua(postgres_url, "import", "skus", str(path)))
    )
    worker.start()
    with engine.connect() as watcher:
        waiting = text(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        for _ in range(400):  # the import's COPY waits on the other session's new alias
            if watcher.execute(waiting).scalar_one():
                break
            watcher.rollback()
            worker.join(0.05)
    transaction.commit()
    other.close()
    worker.join()
    result = outcome[0]
    assert result.exit_code == 1, result.output
    assert (
        f"{path}: the database refused the file (duplicate key value violates unique constraint "
        '"uq_barcodes_code"); if another import ran at the same time, run this one again to see '
        "which"
    ) in result.output
    assert "Traceback" not in result.output
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM skus WHERE code LIKE 'BULK-%'")).scalar() == 0
    engine.dispose()


REFUSE_ONE_BARCODE = {
    "sqlite": [
        "CREATE TRIGGER refuse_one BEFORE INSERT ON barcodes WHEN NEW.code = 'SUP-00300' "
        "BEGIN SELECT RAISE(ABORT, 'SUP-00300 is refused by a rule of this database'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_one() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.code = 'SUP-00300' THEN "
        "RAISE EXCEPTION 'SUP-00300 is refused by a rule of this database'; END IF; "
        "RETURN NEW; END $$",
        "CREATE TRIGGER refuse_one BEFORE INSERT ON barcodes FOR EACH ROW "
        "EXECUTE FUNCTION refuse_one()",
    ],
}


def test_a_row_the_database_refuses_while_writing_takes_the_whole_file_back(
    seeded: str, tmp_path: Path
) -> None:
    """The SKUs are written before their barcodes: when the database refuses the last barcode,
    none of the SKUs stays."""
    engine = make_engine(seeded)
    with engine.begin() as c:
        for statement in REFUSE_ONE_BARCODE[engine.dialect.name]:
            c.exec_driver_sql(statement)
    engine.dispose()
    header = "sku,name,unit_volume_cm3,unit_weight_g,aliases\n"
    result, path = imported(seeded, tmp_path, "skus", header + sku_rows(1, 300))
    assert_refused(
        seeded,
        result,
        path,
        "skus",
        1,
        "the database refused the file (SUP-00300 is refused by a rule of this database); if "
        "another import ran at the same time, run this one again to see which",
    )
    assert count(seeded, "barcodes") == 4
