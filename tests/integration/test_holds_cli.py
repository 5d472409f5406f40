"""`perpetua hold`, `release`, `holds` and `expired` on both databases, as a supervisor at a
terminal uses them: through click's runner against a real database, every change a ledger
transaction."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import update

from app.adapters.db import catalogue
from app.adapters.db.schema import SkuRow, table
from app.cli import main
from app.domain.catalogue import SkuSpec
from app.domain.commands import Opening, OpeningLine
from app.domain.model import Tracking
from tests.support.warehouse import Warehouse

AT = ["--station", "ST-1"]


def perpetua(db_url: str, *args: str, **kwargs: Any) -> Result:
    return CliRunner().invoke(main, ["--db", db_url, *args], catch_exceptions=False, **kwargs)


def as_pin(pin: str) -> dict[str, Any]:
    return {"env": {"PERPETUA_PIN": pin}}


def lines(result: Result) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.output.splitlines()]


@pytest.fixture
def wh(warehouse: Warehouse) -> Warehouse:
    """WIDGET 5 in A-01-01 and 4 in QUAR-1; MILK lot L1 in A-01-02; CREAM (another lot-tracked
    item) also has a lot L1, in A-01-03."""
    with warehouse.engine.begin() as c:
        catalogue.add_skus(c, [SkuSpec("CREAM", "Cream 0.5 l", 500, 520, Tracking.LOT)])
    opened = warehouse.run(
        Opening,
        lines=(
            OpeningLine("WIDGET", "A-01-01", 5),
            OpeningLine("WIDGET", "QUAR-1", 4),
            OpeningLine("MILK", "A-01-02", 6, "L1", date(2030, 1, 1)),
            OpeningLine("CREAM", "A-01-03", 2, "L1", date(2030, 1, 1)),
        ),
    )
    assert opened.ok, opened.message
    return warehouse


def test_hold_a_bin_list_it_and_release_it(db_url: str, wh: Warehouse) -> None:
    held = perpetua(db_url, "hold", "A-01-01", "--reason", "water damage", "--badge", "D1", *AT)
    assert held.exit_code == 0, held.output
    assert held.output.startswith("A-01-01 is on hold (water damage): nothing of it is picked")
    again = perpetua(db_url, "hold", "A-01-01", "--reason", "wet", "--badge", "P1", *AT)
    assert again.exit_code == 0 and "already on hold since" in again.output
    listed = perpetua(db_url, "holds")
    assert listed.exit_code == 0
    assert "QUAR-1  quarantine location: its goods are held" in listed.output
    assert "A-01-01  on hold since " in listed.output and "by D1: water damage" in listed.output
    assert "    5 x WIDGET" in listed.output
    moved = perpetua(
        db_url,
        "release",
        "A-01-01",
        "--reason",
        "inspected_ok",
        "--badge",
        "S1",
        *AT,
        **as_pin("123456"),
    )
    assert moved.exit_code == 0, moved.output
    assert moved.output.startswith("hold on A-01-01 (water damage) lifted by S1")
    assert [h["target"] for h in lines(perpetua(db_url, "holds", "--json"))] == ["QUAR-1"]
    history = lines(perpetua(db_url, "holds", "--all", "--json"))
    released = next(h for h in history if h["target"] == "A-01-01")
    assert (released["active"], released["released_by"], released["release_reason"]) == (
        False,
        "S1",
        "inspected_ok",
    )
    text = perpetua(db_url, "holds", "--all").output
    assert "[released " in text and "by S1, inspected ok]" in text


def test_a_wrong_pin_releases_nothing(db_url: str, wh: Warehouse) -> None:
    perpetua(db_url, "hold", "A-01-01", "--reason", "damage", "--badge", "D1", *AT)
    args = ["release", "A-01-01", "--reason", "inspected_ok", "--badge", "S1", *AT]
    wrong = perpetua(db_url, *args, **as_pin("000000"))
    assert wrong.exit_code == 1 and "refused: " in wrong.output
    assert [h["active"] for h in lines(perpetua(db_url, "holds", "--json"))] == [True, True]
    # The PIN may come as one line of standard input too (not a terminal).
    right = perpetua(db_url, *args, input="123456\n")
    assert right.exit_code == 0, right.output


def test_a_lot_is_held_by_its_code_and_item(db_url: str, wh: Warehouse) -> None:
    shared = perpetua(db_url, "hold", "L1", "--reason", "recall", "--badge", "D1", *AT)
    assert shared.exit_code == 1
    assert "lot L1 is a lot of CREAM, MILK: say which with --sku. Nothing was done." in (
        shared.output
    )
    held = perpetua(
        db_url, "hold", "L1", "--sku", "MILK", "--reason", "recall", "--badge", "D1", *AT
    )
    assert held.exit_code == 0, held.output
    assert held.output.startswith("lot L1 of MILK is on hold (recall)")
    listed = lines(perpetua(db_url, "holds", "--json"))
    lot = next(h for h in listed if h["kind"] == "lot")
    assert lot["stock"] == [
        {"location": "A-01-02", "sku": "MILK", "lot": "L1", "on_hand": 6, "reserved": 0}
    ]
    assert "    6 x MILK lot L1 in A-01-02" in perpetua(db_url, "holds").output


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (
            ["hold", "ZZZ", "--reason", "x", "--badge", "D1"],
            "'ZZZ' is neither a location nor a lot",
        ),
        (
            ["hold", "L1", "--sku", "WIDGET", "--reason", "x", "--badge", "D1"],
            "WIDGET has no lot 'L1' (lot L1 is of CREAM, MILK)",
        ),
        (["hold", "VENDOR", "--reason", "x", "--badge", "D1"], "VENDOR is a virtual location"),
        (["hold", "A-01-01", "--reason", "x", "--badge", "NOBODY"], "badge 'NOBODY' is not known"),
        (
            ["release", "QUAR-1", "--reason", "scrapped", "--badge", "S1", "--qty", "2"],
            "a release by --qty names the item: give --sku",
        ),
        (
            ["release", "QUAR-1", "--reason", "inspected_ok", "--badge", "S1", "--to", "A-01-01"],
            "--to and --lot go with --sku and --qty",
        ),
        (
            ["release", "A-01-01", "--reason", "inspected_ok", "--badge", "S1"],
            "A-01-01 is not on hold: there is nothing to release",
        ),
    ],
)
def test_unknown_codes_and_bad_combinations_are_refused_and_nothing_is_written(
    db_url: str, wh: Warehouse, args: list[str], words: str
) -> None:
    result = perpetua(db_url, *args, *AT, **as_pin("123456"))
    assert result.exit_code == 1
    assert words in result.output
    assert [h["target"] for h in lines(perpetua(db_url, "holds", "--json"))] == ["QUAR-1"]
    assert wh.on_hand("QUAR-1", "WIDGET") == 4


def test_release_goods_out_of_quarantine(db_url: str, wh: Warehouse) -> None:
    base = ["release", "QUAR-1", "--badge", "S1", "--sku", "WIDGET", *AT]
    to_bin = perpetua(
        db_url, *base, "--reason", "inspected_ok", "--qty", "2", "--to", "A-01-01",
        **as_pin("123456"),
    )  # fmt: skip
    assert to_bin.exit_code == 0, to_bin.output
    assert to_bin.output == "released 2 x WIDGET from QUAR-1 to A-01-01, inspected ok, by S1\n"
    back = perpetua(
        db_url, *base, "--reason", "returned_to_vendor", "--qty", "1", "--json", **as_pin("123456")
    )
    assert json.loads(back.output)["result"]["to"] == "VENDOR"
    scrapped = perpetua(db_url, *base, "--reason", "scrapped", "--qty", "1", **as_pin("123456"))
    assert scrapped.exit_code == 0, scrapped.output
    assert wh.on_hand("QUAR-1", "WIDGET") == 0 and wh.on_hand("A-01-01", "WIDGET") == 7
    assert wh.on_hand("SCRAP", "WIDGET") == 1
    too_many = perpetua(db_url, *base, "--reason", "scrapped", "--qty", "1", **as_pin("123456"))
    assert too_many.exit_code == 1 and "refused: QUAR-1 holds 0 of WIDGET" in too_many.output
    checked = perpetua(db_url, "verify", "--json")
    assert checked.exit_code == 0 and json.loads(checked.output)["ok"] is True


def test_expired_lists_expired_short_dated_and_expiring_lots(db_url: str, wh: Warehouse) -> None:
    today = datetime.now(UTC).date()
    s = table(SkuRow)
    with wh.engine.begin() as c:
        c.execute(update(s).where(s.c.code == "MILK").values(min_shelf_days=10))
    opened = wh.run(
        Opening,
        lines=(
            OpeningLine("MILK", "A-02-01", 3, "OLD", today - timedelta(days=20)),
            OpeningLine("MILK", "B-01-01", 2, "SOON", today + timedelta(days=5)),
            OpeningLine("CREAM", "QUAR-1", 1, "LATER", today + timedelta(days=40)),
        ),
    )
    assert opened.ok, opened.message
    perpetua(db_url, "hold", "B-01-01", "--reason", "check dates", "--badge", "D1", *AT)
    found = lines(perpetua(db_url, "expired", "--json"))
    assert [(r["lot"], r["state"], r["days_left"], r["held"]) for r in found] == [
        ("OLD", "expired", -20, None),
        ("SOON", "short", 5, "location: check dates"),
    ]
    assert found[0] | {"expiry": None} == {
        "location": "A-02-01",
        "sku": "MILK",
        "lot": "OLD",
        "expiry": None,
        "on_hand": 3,
        "reserved": 0,
        "days_left": -20,
        "state": "expired",
        "min_shelf_days": 10,
        "held": None,
    }
    wider = lines(perpetua(db_url, "expired", "--days", "60", "--json"))
    assert [(r["lot"], r["state"], r["held"]) for r in wider] == [
        ("OLD", "expired", None),
        ("SOON", "short", "location: check dates"),
        ("LATER", "expiring", "quarantine"),
    ]
    table_text = perpetua(db_url, "expired").output
    assert table_text.splitlines()[0].split() == [
        "location", "sku", "lot", "expiry", "on_hand", "days_left", "state", "held",
    ]  # fmt: skip
    assert "A-02-01" in table_text and "LATER" not in table_text


def test_expired_says_so_when_nothing_is(db_url: str, wh: Warehouse) -> None:
    result = perpetua(db_url, "expired")
    assert result.exit_code == 0
    assert result.output.startswith("(no expired or short-dated lots in stock on ")


def test_stock_shows_held_stock_as_not_available(db_url: str, wh: Warehouse) -> None:
    """`perpetua stock` says which stock is held (quarantine, a location or a lot on hold) and
    counts none of it as available to pick."""
    assert (
        perpetua(
            db_url, "hold", "L1", "--sku", "MILK", "--reason", "recall", "--badge", "S1", *AT
        ).exit_code
        == 0
    )
    rows = {(r["location"], r["sku"]): r for r in lines(perpetua(db_url, "stock", "--json"))}
    assert (rows["QUAR-1", "WIDGET"]["held"], rows["QUAR-1", "WIDGET"]["available"]) == (
        "quarantine",
        0,
    )
    assert (rows["A-01-02", "MILK"]["held"], rows["A-01-02", "MILK"]["available"]) == ("lot", 0)
    assert (rows["A-01-01", "WIDGET"]["held"], rows["A-01-01", "WIDGET"]["available"]) == (None, 5)
    perpetua(db_url, "hold", "A-01-01", "--reason", "water damage", "--badge", "D1", *AT)
    text = perpetua(db_url, "stock", "--location", "A-01-01").output
    assert text.splitlines()[0].split() == [
        "location",
        "sku",
        "lot",
        "expiry",
        "on_hand",
        "reserved",
        "available",
        "held",
        "name",
    ]
    assert text.splitlines()[1].split()[:6] == ["A-01-01", "WIDGET", "5", "0", "0", "location"]
