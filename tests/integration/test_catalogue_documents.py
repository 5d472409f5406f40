"""Receipts and orders are scannable documents: the SQL catalogue knows their codes on both
databases, and the interpreter turns a scan of one into a receipt or an order to work on."""

from __future__ import annotations

from app.adapters.db import catalogue as reference
from app.adapters.db.catalogue_lookup import open_catalogue
from app.domain.catalogue import OrderLineSpec, ReceiptLineSpec
from app.domain.interpret import CodeMatch, Kind, interpret
from app.domain.scan import Scan, Source
from tests.support.warehouse import Warehouse


def test_receipt_and_order_codes_are_recognised(warehouse: Warehouse) -> None:
    with warehouse.engine.begin() as c:
        reference.add_receipts(c, [ReceiptLineSpec("ASN-0001", 1, "WIDGET", 10)])
        reference.add_orders(c, [OrderLineSpec("SO-0001", 1, "BOLT", 2)])

    with open_catalogue(warehouse.engine) as catalogue:
        assert catalogue.identify("ASN-0001") == CodeMatch(receipt=True)
        assert catalogue.identify("SO-0001") == CodeMatch(order=True)
        assert catalogue.identify("asn-0001") == CodeMatch()  # exact, case and all
        assert catalogue.identify("ASN-0002") == CodeMatch()

        receipt = interpret(Scan("ASN-0001", Source.WEDGE), catalogue)
        assert (receipt.kind, receipt.code) == (Kind.RECEIPT, "ASN-0001")
        order = interpret(Scan("]C0SO-0001", Source.CAMERA), catalogue)  # Code 128
        assert (order.kind, order.code, order.symbology) == (Kind.ORDER, "SO-0001", "]C0")
        unknown = interpret(Scan("ASN-0002", Source.WEDGE), catalogue)
        assert unknown.kind is Kind.INVALID
        # A badge still wins over a document of the same code: logging in comes first.
        assert interpret(Scan("D1", Source.WEDGE), catalogue).kind is Kind.BADGE
