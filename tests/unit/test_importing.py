"""CSV parsing for `perpetua import`: every problem with its line, nothing partial."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from app.domain.import_rules import CodeKind, Holder
from app.domain.model import LocationKind, Tracking
from app.services.importing import parse_locations, parse_orders, parse_receipts, parse_skus


def nothing_known(codes: Collection[str]) -> list[Holder]:
    return []


def skus_known(codes: Collection[str]) -> list[Holder]:
    """A database where A and B are SKUs."""
    return [Holder(CodeKind.SKU, code, code) for code in codes if code in ("A", "B")]


def test_skus_with_gtins_aliases_and_tracking() -> None:
    text = "sku,name,gtin,tracking,aliases\nA,Apple,96385074,lot,SUP-1|SUP-2\nB,Bean,,,\n"
    result = parse_skus(text, nothing_known)
    assert result.ok
    apple, bean = result.rows
    assert apple.barcodes == (("00000096385074", "gtin"), ("SUP-1", "alias"), ("SUP-2", "alias"))
    assert apple.tracking is Tracking.LOT and bean.tracking is Tracking.NONE


def test_a_barcode_used_twice_in_one_file_is_refused() -> None:
    result = parse_skus("sku,name,aliases\nA,Apple,X\nB,Bean,X\n", nothing_known)
    assert result.errors == [
        "line 3: alias X of SKU B is already an alias of SKU A on line 2; choose another alias"
    ]


def test_virtual_locations_cannot_be_imported() -> None:
    result = parse_locations("code,kind\nVENDOR2,virtual\nA,BIN\n", nothing_known)
    assert result.errors == [
        "line 2: virtual locations are built in (VENDOR, CUSTOMER, ADJUSTMENT, SCRAP)"
    ]
    assert result.rows[0].kind is LocationKind.BIN


def test_receipt_lines_are_numbered_per_receipt() -> None:
    text = "receipt,sku,qty\nR1,A,1\nR2,A,1\nR1,B,2\n"
    result = parse_receipts(text, skus_known)
    assert [(r.receipt, r.line) for r in result.rows] == [("R1", 1), ("R2", 1), ("R1", 2)]


def test_an_empty_file_and_extra_values_are_errors() -> None:
    assert parse_skus("sku,name\n", nothing_known).errors == ["the file has no rows"]
    assert (
        parse_skus("sku,name\nA,B,C\n", nothing_known).errors[0]
        == "line 2: more values than columns"
    )


def test_orders_take_an_optional_priority_and_due_date() -> None:
    text = (
        "order,line,sku,qty,priority,due_date\n"
        "SO-1,1,A,2,5,2030-01-31\nSO-1,2,B,1,,\nSO-2,1,A,1,,\n"
    )
    result = parse_orders(text, skus_known)
    assert result.ok, result.errors
    first, second, other = result.rows
    assert (first.priority, first.due_date) == (5, date(2030, 1, 31))
    assert (second.priority, second.due_date) == (0, None)
    assert (other.priority, other.due_date) == (0, None)
    plain = parse_orders("order,line,sku,qty\nSO-3,1,A,1\n", skus_known)
    assert plain.ok and plain.rows[0].priority == 0


def test_order_priority_and_due_date_are_checked() -> None:
    text = (
        "order,line,sku,qty,priority,due_date\n"
        "SO-1,1,A,2,high,\nSO-2,1,A,1,,31/01/2030\nSO-3,1,A,1,1,\nSO-3,2,A,1,2,\n"
    )
    assert parse_orders(text, skus_known).errors == [
        "line 2: priority must be a whole number, not 'high'",
        "line 3: due_date must be a date YYYY-MM-DD, not '31/01/2030'",
        "line 5: order SO-3 has priority 1 on an earlier line, not 2",
    ]
