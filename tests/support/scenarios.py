"""One scenario per station mode, each a list of scans as a scanner sends them, with the stock it
must leave behind. The same scenarios run through the station session, through `perpetua
replay`, and through the real window with key events at scanner speed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlalchemy import select

from app.adapters.db import catalogue
from app.adapters.db.schema import CountTaskRow, ReceiptRow, ReservationRow, table
from app.domain.catalogue import OrderLineSpec, ReceiptLineSpec
from app.domain.commands import (
    Opening,
    OpeningLine,
    PostPick,
    Receive,
    ReleaseHow,
    ReleaseList,
    ShipOrder,
    TakeList,
)
from tests.support.shipping import order_status, pick_order, stock_at
from tests.support.warehouse import Warehouse

WIDGET_GTIN = "05901234123457"


@dataclass(frozen=True)
class Scenario:
    name: str
    operator: str
    mode: str
    scans: tuple[str, ...]
    setup: Callable[[Warehouse], None]
    check: Callable[[Warehouse], None]


def _receipt_and_order(wh: Warehouse) -> None:
    with wh.engine.begin() as c:
        catalogue.add_receipts(
            c, [ReceiptLineSpec("ASN-1", 1, "WIDGET", 10), ReceiptLineSpec("ASN-1", 2, "BOLT", 4)]
        )
        catalogue.add_orders(c, [OrderLineSpec("SO-1", 1, "BOLT", 3)])


def _opening(wh: Warehouse, *lines: OpeningLine) -> None:
    outcome = wh.run(Opening, lines=lines)
    assert outcome.ok, outcome.message


def _status(wh: Warehouse, row: type, code: str) -> str:
    t = table(row)
    with wh.engine.connect() as c:
        return str(c.execute(select(t.c.status).where(t.c.code == code)).scalar_one())


# --- receive ---


def _receive_setup(wh: Warehouse) -> None:
    _receipt_and_order(wh)


def _receive_check(wh: Warehouse) -> None:
    assert wh.on_hand("DOCK-1", "WIDGET") == 10
    assert wh.on_hand("DOCK-1", "BOLT") == 4
    assert _status(wh, ReceiptRow, "ASN-1") == "closed"


RECEIVE = Scenario(
    "receive",
    "D1",
    "receive",
    ("ASN-1", "@CMD:QTY:10", WIDGET_GTIN, "@CMD:QTY:4", "BOLT-ALIAS", "@CMD:DONE"),
    _receive_setup,
    _receive_check,
)


# --- putaway ---


def _putaway_setup(wh: Warehouse) -> None:
    _receipt_and_order(wh)
    outcome = wh.run(Receive, sku="WIDGET", qty=10, to_location="DOCK-1")
    assert outcome.ok, outcome.message


def _putaway_check(wh: Warehouse) -> None:
    assert wh.on_hand("DOCK-1", "WIDGET") == 0
    assert wh.on_hand("A-01-02", "WIDGET") == 10


PUTAWAY = Scenario(
    "putaway", "D1", "putaway", (WIDGET_GTIN, "A-01-02"), _putaway_setup, _putaway_check
)


# --- pick ---


def _pick_setup(wh: Warehouse) -> None:
    _receipt_and_order(wh)
    _opening(wh, OpeningLine("BOLT", "A-01-03", 20))


def _pick_check(wh: Warehouse) -> None:
    assert wh.on_hand("OUT-1", "BOLT") == 3
    assert wh.on_hand("A-01-03", "BOLT") == 17
    assert wh.reserved("A-01-03", "BOLT") == 0
    t = table(ReservationRow)
    with wh.engine.connect() as c:
        states = list(c.execute(select(t.c.state).where(t.c.order_ref == "SO-1")).scalars())
    assert states == ["posted"]


PICK = Scenario(
    "pick",
    "P1",
    "pick",
    ("SO-1", "OUT-1", "A-01-03", "@CMD:QTY:3", "BOLT-ALIAS"),
    _pick_setup,
    _pick_check,
)


# --- count ---


def _count_setup(wh: Warehouse) -> None:
    _opening(wh, OpeningLine("BOLT", "B-01-01", 10))


def _count_check(wh: Warehouse) -> None:
    assert wh.on_hand("B-01-01", "BOLT") == 9
    t = table(CountTaskRow)
    with wh.engine.connect() as c:
        states = list(c.execute(select(t.c.state)).scalars())
    assert states == ["done"]


COUNT = Scenario(
    "count",
    "C1",
    "count",
    ("B-01-01", "@CMD:QTY:9", "BOLT-ALIAS", "@CMD:DONE"),
    _count_setup,
    _count_check,
)


# --- transfer ---


def _transfer_setup(wh: Warehouse) -> None:
    _opening(wh, OpeningLine("WIDGET", "A-01-01", 5))


def _transfer_check(wh: Warehouse) -> None:
    assert wh.on_hand("A-01-01", "WIDGET") == 0
    assert wh.on_hand("A-02-01", "WIDGET") == 5


TRANSFER = Scenario(
    "transfer",
    "D1",
    "transfer",
    ("A-01-01", "@CMD:QTY:5", WIDGET_GTIN, "A-02-01"),
    _transfer_setup,
    _transfer_check,
)


# --- return ---


def ship_order(wh: Warehouse, order: str, outbound: str = "OUT-1") -> None:
    """Pick every line of an imported order in full and ship it, through the ledger alone: a
    picker at ST-2 takes the list, picks each open reservation into `outbound` and finishes; the
    dock ships it."""
    picker = replace(wh, station="ST-2", operator="P1")
    taken = picker.run(TakeList, order=order)
    assert taken.ok, taken.message
    t = table(ReservationRow)
    with wh.engine.connect() as c:
        open_ = c.execute(
            select(t.c.id, t.c.qty).where(t.c.order_ref == order, t.c.state == "open")
        ).all()
    for reservation, qty in open_:
        picked = picker.run(PostPick, reservation=reservation, qty=qty, to_location=outbound)
        assert picked.ok, picked.message
    released = picker.run(ReleaseList, order=order, how=ReleaseHow.FINISHED)
    assert released.ok, released.message
    shipped = wh.run(ShipOrder, order=order)
    assert shipped.ok, shipped.message


def _return_setup(wh: Warehouse) -> None:
    _receipt_and_order(wh)
    _opening(wh, OpeningLine("WIDGET", "A-01-02", 2), OpeningLine("BOLT", "A-01-03", 1))
    with wh.engine.begin() as c:
        catalogue.add_orders(
            c, [OrderLineSpec("SO-2", 1, "WIDGET", 2), OrderLineSpec("SO-2", 2, "BOLT", 1)]
        )
    ship_order(wh, "SO-2")


def _return_check(wh: Warehouse) -> None:
    assert wh.on_hand("RET-1", "WIDGET") == 0
    assert wh.on_hand("A-01-01", "WIDGET") == 2
    assert wh.on_hand("RET-1", "BOLT") == 0
    assert wh.on_hand("SCRAP", "BOLT") == 1


RETURN = Scenario(
    "return",
    "D1",
    "return",
    (
        "SO-2",
        "@CMD:QTY:2",
        WIDGET_GTIN,
        "@CMD:REASON:NOT_WANTED",
        "A-01-01",
        "BOLT-ALIAS",
        "@CMD:REASON:DAMAGED",
        "@CMD:DAMAGED",
        "@CMD:CONFIRM",
    ),
    _return_setup,
    _return_check,
)


# --- ship ---


def _ship_setup(wh: Warehouse) -> None:
    _receipt_and_order(wh)
    _opening(wh, OpeningLine("BOLT", "A-01-03", 20))
    pick_order(wh, "SO-1", into="OUT-1")


def _ship_check(wh: Warehouse) -> None:
    assert order_status(wh, "SO-1") == "shipped"
    assert stock_at(wh, "OUT-1") == []  # the outbound lane is empty
    assert wh.on_hand("CUSTOMER", "BOLT") == 3
    assert wh.on_hand("A-01-03", "BOLT") == 17


SHIP = Scenario("ship", "D1", "ship", ("SO-1", "@CMD:CONFIRM"), _ship_setup, _ship_check)

SCENARIOS = (RECEIVE, PUTAWAY, PICK, COUNT, TRANSFER, RETURN, SHIP)
