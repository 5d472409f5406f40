"""`perpetua receipts` and `perpetua receipt CODE` on both databases (issue 12, point 6): what
was expected and received, and for a closed receipt who closed it, when, the approver of its
short close and the discrepancy lines the close stored."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from app.cli import main
from app.domain.commands import CloseReceipt, Receive
from tests.support.warehouse import Warehouse


def perpetua(db_url: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--db", db_url, *args], catch_exceptions=False)


def lines(result: Result) -> list[dict[str, Any]]:
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


@pytest.fixture
def received(db_url: str, warehouse: Warehouse, tmp_path: Path) -> Warehouse:
    """ASN-1: WIDGET 12 over two lines and MILK 5 (lot L1, expiring 2031-01-01); 12 WIDGET and 3
    MILK received, then closed short with S1's approval by D1. ASN-2: BOLT 7, open, none yet."""
    path = tmp_path / "receipts.csv"
    path.write_text(
        "receipt,sku,qty,lot,expiry\n"
        "ASN-1,WIDGET,10,,\n"
        "ASN-1,MILK,5,L1,2031-01-01\n"
        "ASN-1,WIDGET,2,,\n"
        "ASN-2,BOLT,7,,\n",
        encoding="utf-8",
    )
    assert perpetua(db_url, "import", "receipts", str(path)).exit_code == 0
    for fields in (
        {"sku": "WIDGET", "qty": 10, "to_location": "DOCK-1"},
        {"sku": "WIDGET", "qty": 2, "to_location": "QUAR-1"},
        {"sku": "MILK", "qty": 3, "lot": "L1", "expiry": date(2031, 1, 1), "to_location": "DOCK-1"},
    ):
        done = warehouse.run(Receive, receipt="ASN-1", **fields)
        assert done.ok, done.message
    closed = warehouse.run(CloseReceipt, receipt="ASN-1", approved_by="S1")
    assert closed.ok, closed.message
    return warehouse


def test_receipts_list_what_was_expected_received_and_how_each_was_closed(
    db_url: str, received: Warehouse
) -> None:
    rows = lines(perpetua(db_url, "receipts", "--json"))
    closed_at = rows[0].pop("closed_at")
    assert closed_at is not None
    assert rows == [
        {
            "receipt": "ASN-1",
            "state": "closed",
            "lines": 3,
            "expected": 17,
            "received": 15,
            "closed_by": "D1",
            "approved_by": "S1",
            "discrepancies": 1,
        },
        {
            "receipt": "ASN-2",
            "state": "open",
            "lines": 1,
            "expected": 7,
            "received": 0,
            "closed_at": None,
            "closed_by": None,
            "approved_by": None,
            "discrepancies": 0,
        },
    ]
    assert [
        r["receipt"] for r in lines(perpetua(db_url, "receipts", "--state", "open", "--json"))
    ] == ["ASN-2"]
    closed = lines(perpetua(db_url, "receipts", "--state", "closed", "--json"))
    assert [(r["receipt"], r["received"]) for r in closed] == [("ASN-1", 15)]
    table = perpetua(db_url, "receipts").output.splitlines()
    assert table[0].split() == [
        "receipt",
        "state",
        "lines",
        "expected",
        "received",
        "closed_at",
        "closed_by",
        "approved_by",
        "discrepancies",
    ]
    assert table[1].split()[:5] == ["ASN-1", "closed", "3", "17", "15"]
    assert table[1].split()[-3:] == ["D1", "S1", "1"]


def test_one_receipt_shows_its_lines_what_arrived_and_its_stored_discrepancies(
    db_url: str, received: Warehouse
) -> None:
    (found,) = lines(perpetua(db_url, "receipt", "ASN-1", "--json"))
    assert found["lines_detail"] == [
        {"line": 1, "sku": "WIDGET", "expected": 10, "lot": None, "expiry": None},
        {"line": 2, "sku": "MILK", "expected": 5, "lot": "L1", "expiry": "2031-01-01"},
        {"line": 3, "sku": "WIDGET", "expected": 2, "lot": None, "expiry": None},
    ]
    assert found["received_per_sku"] == [
        {"sku": "WIDGET", "expected": 12, "received": 12},
        {"sku": "MILK", "expected": 5, "received": 3},
    ]
    assert found["discrepancy_lines"] == [{"sku": "MILK", "expected": 5, "received": 3}]
    assert (found["closed_by"], found["approved_by"]) == ("D1", "S1")
    shown = perpetua(db_url, "receipt", "ASN-1").output
    assert shown.startswith("receipt ASN-1: closed, 3 lines, 15 of 17 units received\n")
    assert "by D1, approved by S1\ndiscrepancies:\n" in shown
    assert "MILK  5         3" in shown
    still_open = perpetua(db_url, "receipt", "ASN-2").output
    assert "closed at" not in still_open and "BOLT  7         0" in still_open


def test_an_unknown_receipt_says_how_to_find_one(db_url: str, received: Warehouse) -> None:
    result = perpetua(db_url, "receipt", "ASN-9")
    assert result.exit_code == 1
    assert "no receipt has the code ASN-9; `perpetua receipts` lists them" in result.output
