"""The `perpetua` command as an administrator uses it, on both databases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from app.cli import main


def perpetua(db_url: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--db", db_url, *args], catch_exceptions=False)


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_demo_then_verify_reports_zero_violations(db_url: str) -> None:
    made = perpetua(db_url, "demo", "--bins", "300", "--skus", "120", "--seed", "7")
    assert made.exit_code == 0, made.output
    assert "demo warehouse: 311 locations, 120 SKUs" in made.output
    checked = perpetua(db_url, "verify", "--json")
    assert checked.exit_code == 0
    assert json.loads(checked.output) == {
        "violations": {
            "sum_not_zero": 0,
            "negative_or_over_reserved": 0,
            "balance_not_replay": 0,
            "move_without_provenance": 0,
            "order_line_over": 0,
            "total": 0,
        },
        "order_lines": [],
        "ok": True,
    }
    from sqlalchemy import text

    from app.adapters.db.engine import make_engine

    engine = make_engine(db_url)
    with engine.connect() as c:
        over = c.execute(
            text(
                "SELECT count(*) FROM bin_space WHERE free_units < 0 OR free_volume_cm3 < 0 OR free_weight_g < 0"
            )
        ).scalar()
        used = c.execute(text("SELECT sum(used_units) FROM bin_space")).scalar()
    engine.dispose()
    assert over == 0 and (used or 0) > 0  # opening stock respects every bin's limits
    again = perpetua(db_url, "demo", "--if-empty")
    assert again.exit_code == 0 and "no demo data added" in again.output
    refused = perpetua(db_url, "demo")
    assert refused.exit_code == 1 and "fills only an empty one" in refused.output


def test_stock_and_moves_as_json(db_url: str) -> None:
    # Without the past picks: every unit of the demo is its opening stock, loaded by S001.
    assert perpetua(db_url, "demo", "--bins", "50", "--skus", "20", "--no-history").exit_code == 0
    rows = [json.loads(line) for line in perpetua(db_url, "stock", "--json").output.splitlines()]
    assert rows and all(r["on_hand"] > 0 and r["kind"] == "bin" for r in rows)
    one = rows[0]
    by_sku = perpetua(db_url, "stock", "--sku", one["sku"], "--location", one["location"], "--json")
    assert [json.loads(x) for x in by_sku.output.splitlines()] == [one]
    moves = [
        json.loads(x)
        for x in perpetua(db_url, "moves", "--json", "--limit", "0").output.splitlines()
    ]
    assert (
        sum(m["qty"] for m in moves if m["to"] == one["location"] and m["sku"] == one["sku"])
        == one["on_hand"]
    )
    assert {m["station"] for m in moves} == {"DEMO"} and {m["operator"] for m in moves} == {"S001"}
    table = perpetua(db_url, "stock", "--limit", "2")
    assert table.output.splitlines()[0].split()[:3] == ["location", "sku", "lot"]
    assert "more rows (use --limit 0 for all)" in table.output


def test_verify_exits_non_zero_on_a_broken_ledger(sqlite_url: str) -> None:
    assert perpetua(sqlite_url, "demo", "--bins", "20", "--skus", "10").exit_code == 0
    from sqlalchemy import text

    from app.adapters.db.engine import make_engine

    engine = make_engine(sqlite_url)
    with engine.begin() as c:  # SQLite has no append-only triggers; tamper with a balance
        c.execute(
            text(
                "UPDATE quants SET on_hand = on_hand + 1 WHERE id = (SELECT min(id) FROM quants WHERE NOT is_virtual)"
            )
        )
    engine.dispose()
    result = perpetua(sqlite_url, "verify")
    assert result.exit_code == 1
    assert "1  1. per SKU and lot, the sum over all locations is 0" in result.output
    assert "1  3. balances equal a replay" in result.output


def test_import_all_kinds_then_stock_them(db_url: str, tmp_path: Path) -> None:
    files = {
        "locations": "code,kind,zone,aisle,bay,level,pick_sequence,max_units,max_volume_cm3,max_weight_g\n"
        "DK-1,dock,A,,,,,,,\nA-1,bin,A,01,01,A,1,100,50000,20000\n",
        "skus": "sku,name,gtin,unit_volume_cm3,unit_weight_g,tracking,lookalike_group\n"
        "W1,Widget,5901234123457,100,50,none,\nM1,Milk,,1000,1030,lot,dairy\n",
        "operators": "badge,name,role,pin\nD9,Dee,dock,\nS9,Sal,supervisor,432105\n",
        "stations": "code,name,zone,dock\nST-9,Dock nine,A,DK-1\n",
        "receipts": "receipt,sku,qty,lot,expiry\nASN-9,W1,10,,\nASN-9,M1,5,L7,2027-05-01\n",
        "orders": "order,line,sku,qty\nSO-9,1,W1,3\n",
    }
    assert perpetua(db_url, "db", "upgrade").exit_code == 0
    for kind in ("locations", "skus", "operators", "stations", "receipts", "orders"):
        result = perpetua(db_url, "import", kind, write(tmp_path, f"{kind}.csv", files[kind]))
        assert result.exit_code == 0, result.output
        noun = {"receipts": "receipt lines", "orders": "order lines"}.get(kind, kind)
        assert f"imported {files[kind].count(chr(10)) - 1} {noun}" in result.output


@pytest.mark.parametrize(
    ("kind", "text", "expected"),
    [
        (
            "skus",
            "sku,name,gtin\nA,Apple,5901234123458\nB,,\n",
            ["line 2: gtin: Invalid GTIN check digit", "line 3: name is empty"],
        ),
        ("skus", "sku,name,colour\nA,Apple,red\n", ["line 1: unknown column(s) colour"]),
        (
            "locations",
            "code,kind,max_units\nA,bin,5\nC,bin,-1\nB,shelf,\nA,bin,\n",
            [
                "line 3: max_units must be at least 1",
                "line 4: kind must be one of",
                "line 5: A repeats line 2",
            ],
        ),
        (
            "operators",
            "badge,name,role,pin\nS,Sue,supervisor,\nD,Dan,dock,12\n",
            ["line 2: a supervisor needs a pin", "line 3: pin: a PIN has 6 to 12 digits, not 2"],
        ),
        (
            "receipts",
            "receipt,sku,qty,expiry\nR,NOPE,1,\nR,NOPE,0,31/12/2026\n",
            ["line 2: SKU NOPE is not in the catalogue", "line 3: qty must be at least 1"],
        ),
        ("orders", "order,line,sku,qty\nO,x,S,1\n", ["line 2: line must be a whole number"]),
    ],
)
def test_a_bad_file_is_reported_by_line_and_nothing_is_imported(
    sqlite_url: str, tmp_path: Path, kind: str, text: str, expected: list[str]
) -> None:
    assert perpetua(sqlite_url, "db", "upgrade").exit_code == 0
    result = perpetua(sqlite_url, "import", kind, write(tmp_path, "bad.csv", text))
    assert result.exit_code == 1
    assert "nothing was imported" in result.output
    for words in expected:
        assert words in result.output
    assert "(none)" in perpetua(sqlite_url, "stock").output


def test_an_existing_code_is_refused_with_its_line(sqlite_url: str, tmp_path: Path) -> None:
    good = write(tmp_path, "skus.csv", "sku,name\nA,Apple\nB,Pear\n")
    assert perpetua(sqlite_url, "db", "upgrade").exit_code == 0
    assert perpetua(sqlite_url, "import", "skus", good).exit_code == 0
    again = perpetua(sqlite_url, "import", "skus", good)
    assert (
        "line 2: SKU A already exists" in again.output
        and "line 3: SKU B already exists" in again.output
    )


def test_a_database_without_schema_asks_for_upgrade(sqlite_url: str, tmp_path: Path) -> None:
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    result = perpetua(empty, "stock")
    assert result.exit_code == 1
    assert "run `perpetua db upgrade`" in result.output
    assert "database at revision " in perpetua(empty, "db", "upgrade").output
    assert 'total": 0' in perpetua(empty, "verify", "--json").output


def test_the_database_url_comes_from_env_then_config_then_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.config import load_settings

    monkeypatch.delenv("PERPETUA_DATABASE_URL", raising=False)
    config = tmp_path / "config.toml"
    monkeypatch.setenv("PERPETUA_CONFIG", str(config))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert (
        load_settings().database_url
        == f"sqlite:///{tmp_path / 'data' / 'perpetua' / 'perpetua.db'}"
    )
    config.write_text('database_url = "sqlite:///from-config.db"\nstation = "ST-7"\n')
    assert load_settings().database_url == "sqlite:///from-config.db"
    assert load_settings().station == "ST-7"
    monkeypatch.setenv("PERPETUA_DATABASE_URL", "sqlite:///from-env.db")
    assert load_settings().database_url == "sqlite:///from-env.db"
    assert load_settings("sqlite:///from-flag.db").source == "--db"
    config.write_text("database_url = [")
    monkeypatch.delenv("PERPETUA_DATABASE_URL")
    with pytest.raises(Exception, match="not valid TOML"):
        load_settings()
