"""Expiry, the receipt's lot check and holds, enforced by the ledger on SQLite and PostgreSQL
whoever sends the transaction: refused receipts name their dates, allocation skips expired and
held stock, held stock cannot be picked, moved or shipped, and a supervisor's release moves it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text, update
from sqlalchemy.engine import make_url

from app.adapters.db import app_role, catalogue
from app.adapters.db.engine import make_engine
from app.adapters.db.replica_source import Source
from app.adapters.db.schema import HoldRow, LotRow, MoveRow, OperatorRow, SkuRow, table
from app.adapters.db.uow import SqlLedger
from app.adapters.replica import Replica
from app.domain.catalogue import LocationSpec, OrderLineSpec, ReceiptLineSpec
from app.domain.commands import (
    Adjust,
    AdjustReason,
    Command,
    Hold,
    Opening,
    OpeningLine,
    PostPick,
    Putaway,
    Receive,
    ReleaseHold,
    ReleaseHow,
    ReleaseList,
    ReleaseReason,
    Reserve,
    Scrap,
    Ship,
    ShipOrder,
    TakeList,
    Transfer,
)
from app.domain.errors import Reason
from app.domain.holds import RELEASE_NEEDED
from app.domain.ledger import Outcome
from app.domain.model import LocationKind
from app.domain.workflow import Holding
from tests.support.databases import PgServer
from tests.support.races import patient_warehouse, until, waiting
from tests.support.warehouse import Warehouse, seed

TODAY = date(2026, 12, 7)
AT = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
"""Every command carries this station time: the ledger judges shelf life on its day."""


def run(w: Warehouse, cls: type[Command], **fields: Any) -> Outcome:
    fields.setdefault("station_time", AT)
    return w.run(cls, **fields)


def ok(outcome: Outcome) -> Outcome:
    assert outcome.ok, outcome.message
    return outcome


def refused(outcome: Outcome, reason: Reason) -> str:
    assert not outcome.ok and outcome.reason == reason.value, outcome
    return outcome.message


def min_shelf_days(w: Warehouse, sku: str, days: int | None) -> None:
    s = table(SkuRow)
    with w.engine.begin() as c:
        c.execute(update(s).where(s.c.code == sku).values(min_shelf_days=days))


def lot_expiry(w: Warehouse, sku: str, lot: str) -> date | str | None:
    """The lot's expiry, or 'none' when the lot does not exist."""
    lt, s = table(LotRow), table(SkuRow)
    with w.engine.connect() as c:
        r = c.execute(
            select(lt.c.expiry)
            .join(s, s.c.id == lt.c.sku_id)
            .where(s.c.code == sku, lt.c.code == lot)
        ).first()
    return "none" if r is None else r.expiry


def opening(w: Warehouse, *lines: OpeningLine) -> None:
    ok(run(w, Opening, lines=lines))


def hold_rows(w: Warehouse) -> list[tuple[Any, ...]]:
    h, o = table(HoldRow), table(OperatorRow)
    placer, releaser = o.alias("placer"), o.alias("releaser")
    with w.engine.connect() as c:
        rows = c.execute(
            select(
                h.c.reason,
                placer.c.badge,
                h.c.released_at.is_not(None),
                releaser.c.badge,
                h.c.release_reason,
            )
            .select_from(
                h.join(placer, placer.c.id == h.c.placed_by_id).outerjoin(
                    releaser, releaser.c.id == h.c.released_by_id
                )
            )
            .order_by(h.c.id)
        )
        return [tuple(r) for r in rows]


def release(w: Warehouse, **fields: Any) -> Outcome:
    """A release by supervisor S1 at their own terminal (badge and PIN)."""
    fields.setdefault("operator", "S1")
    fields.setdefault("approved_by", "S1")
    return run(w, ReleaseHold, **fields)


# --- expiry at receipt ------------------------------------------------------------------------


def test_an_expired_lot_is_refused_with_both_dates_and_nothing_is_written(
    warehouse: Warehouse,
) -> None:
    outcome = run(
        warehouse,
        Receive,
        sku="MILK",
        qty=5,
        lot="L1",
        expiry=date(2025, 1, 1),
        to_location="DOCK-1",
    )
    assert refused(outcome, Reason.EXPIRED) == (
        "lot L1 of MILK expired on 2025-01-01 (705 days ago; today is 2026-12-07). Set the goods "
        "aside: a supervisor may accept them into quarantine with badge and PIN."
    )
    assert warehouse.on_hand("DOCK-1", "MILK") == 0
    assert lot_expiry(warehouse, "MILK", "L1") == "none"


def test_a_lot_short_of_the_minimum_shelf_life_is_refused(warehouse: Warehouse) -> None:
    min_shelf_days(warehouse, "MILK", 14)
    short = run(
        warehouse,
        Receive,
        sku="MILK",
        qty=5,
        lot="L1",
        expiry=date(2026, 12, 15),
        to_location="DOCK-1",
    )
    assert refused(short, Reason.EXPIRED).startswith(
        "lot L1 of MILK expires on 2026-12-15 (in 8 day(s)), and MILK must have at least 14 days "
        "of shelf life left: an expiry on or after 2026-12-21. Set the goods aside"
    )
    enough = run(
        warehouse,
        Receive,
        sku="MILK",
        qty=5,
        lot="L2",
        expiry=date(2026, 12, 21),
        to_location="DOCK-1",
    )
    assert ok(enough).message == "received 5 x MILK lot L2 (expires 2026-12-21) into DOCK-1"
    assert enough.result["expiry"] == "2026-12-21"


def test_a_supervisor_accepts_an_expired_lot_into_quarantine_only(warehouse: Warehouse) -> None:
    expired = {"sku": "MILK", "qty": 5, "lot": "L1", "expiry": date(2025, 1, 1)}
    dock = run(warehouse, Receive, to_location="DOCK-1", approved_by="S1", **expired)
    assert refused(dock, Reason.EXPIRED).startswith(
        "an expired lot is accepted into quarantine only: lot L1 of MILK expired on 2025-01-01"
    )
    accepted = ok(run(warehouse, Receive, to_location="QUAR-1", approved_by="S1", **expired))
    assert accepted.message == (
        "received 5 x MILK lot L1 (expired 2025-01-01) into QUAR-1, accepted into quarantine by S1"
    )
    assert accepted.result["expiry"] == "2025-01-01"
    assert warehouse.on_hand("QUAR-1", "MILK", "L1") == 5
    # Without an approval even quarantine is refused: the supervisor decides.
    alone = run(warehouse, Receive, to_location="QUAR-1", **expired)
    refused(alone, Reason.EXPIRED)
    assert warehouse.invariants().total == 0


def test_a_wrong_pin_accepts_nothing(warehouse: Warehouse) -> None:
    outcome = run(
        warehouse,
        Receive,
        sku="MILK",
        qty=5,
        lot="L1",
        expiry=date(2025, 1, 1),
        to_location="QUAR-1",
        approved_by="S1",
        approver_pin="000000",
    )
    refused(outcome, Reason.PIN_REFUSED)
    assert warehouse.on_hand("QUAR-1", "MILK") == 0


def test_the_day_is_the_scans_not_the_servers(warehouse: Warehouse) -> None:
    """A receipt queued at a station before the lot expired is judged on the day of its scan."""
    before = datetime(2024, 12, 30, 15, 0, tzinfo=UTC)
    outcome = warehouse.run(
        Receive,
        sku="MILK",
        qty=1,
        lot="L1",
        expiry=date(2025, 1, 1),
        to_location="DOCK-1",
        station_time=before,
    )
    assert ok(outcome).message == "received 1 x MILK lot L1 (expires 2025-01-01) into DOCK-1"


# --- the receipt's lots -----------------------------------------------------------------------


@pytest.fixture
def asn(warehouse: Warehouse) -> Warehouse:
    """ASN-1 expects MILK lots L1 (expiring 2027-03-01) and L2; ASN-2 expects MILK of any lot."""
    with warehouse.engine.begin() as c:
        catalogue.add_receipts(
            c,
            [
                ReceiptLineSpec("ASN-1", 1, "MILK", 5, "L1", date(2027, 3, 1)),
                ReceiptLineSpec("ASN-1", 2, "MILK", 5, "L2"),
                ReceiptLineSpec("ASN-1", 3, "WIDGET", 5),
                ReceiptLineSpec("ASN-2", 1, "MILK", 5, "L1"),
                ReceiptLineSpec("ASN-2", 2, "MILK", 5),
            ],
        )
    return warehouse


def test_a_lot_the_receipt_does_not_name_is_refused_unless_approved(asn: Warehouse) -> None:
    line = {"sku": "MILK", "qty": 2, "lot": "L9", "to_location": "DOCK-1", "receipt": "ASN-1"}
    assert refused(run(asn, Receive, **line), Reason.WRONG_LOT) == (
        "receipt ASN-1 expects MILK lot L1 or L2, not L9: set the goods aside and call a supervisor"
    )
    assert asn.on_hand("DOCK-1", "MILK") == 0
    ok(run(asn, Receive, approved_by="S1", **line))
    assert asn.on_hand("DOCK-1", "MILK", "L9") == 2
    # A receipt that leaves a line's lot open takes any lot.
    ok(run(asn, Receive, **(line | {"receipt": "ASN-2", "lot": "L7"})))


def test_a_label_expiry_other_than_the_receipts_is_refused(asn: Warehouse) -> None:
    line = {"sku": "MILK", "qty": 2, "lot": "L1", "to_location": "DOCK-1", "receipt": "ASN-1"}
    other = run(asn, Receive, expiry=date(2027, 4, 1), **line)
    assert refused(other, Reason.EXPIRY_MISMATCH) == (
        "receipt ASN-1 expects MILK lot L1 to expire 2027-03-01, the label says 2027-04-01: set "
        "the goods aside and call a supervisor"
    )
    # A lot typed without its label's date takes the receipt's, and is named with it.
    typed = ok(run(asn, Receive, **line))
    assert typed.message == "received 2 x MILK lot L1 (expires 2027-03-01) into DOCK-1"
    assert lot_expiry(asn, "MILK", "L1") == date(2027, 3, 1)


def test_an_expired_lot_the_receipt_names_is_still_refused(asn: Warehouse) -> None:
    with asn.engine.begin() as c:
        catalogue.add_receipts(c, [ReceiptLineSpec("ASN-3", 1, "MILK", 5, "OLD", date(2026, 1, 1))])
    outcome = run(asn, Receive, sku="MILK", qty=2, lot="OLD", to_location="DOCK-1", receipt="ASN-3")
    assert "expired on 2026-01-01" in refused(outcome, Reason.EXPIRED)


# --- allocation -------------------------------------------------------------------------------


@pytest.fixture
def milk(warehouse: Warehouse) -> Warehouse:
    """MILK: L0 expired in A-01-01, L1 (13 days left) in A-01-02, L2 in A-01-03, L3 in B-01-01."""
    opening(
        warehouse,
        OpeningLine("MILK", "A-01-01", 5, "L0", date(2026, 12, 1)),
        OpeningLine("MILK", "A-01-02", 5, "L1", date(2026, 12, 20)),
        OpeningLine("MILK", "A-01-03", 5, "L2", date(2027, 1, 10)),
        OpeningLine("MILK", "B-01-01", 5, "L3", date(2027, 3, 1)),
    )
    return warehouse


def reserved_lots(outcome: Outcome) -> list[tuple[str, str, int]]:
    return [(r["location"], r["lot"], r["qty"]) for r in outcome.result["lines"]]


def test_first_expiry_first_out_skips_expired_and_short_dated_lots(milk: Warehouse) -> None:
    first = ok(run(milk, Reserve, order="SO-1", line=1, sku="MILK", qty=3))
    assert reserved_lots(first) == [("A-01-02", "L1", 3)]
    min_shelf_days(milk, "MILK", 14)
    second = ok(run(milk, Reserve, order="SO-1", line=2, sku="MILK", qty=7))
    assert reserved_lots(second) == [("A-01-03", "L2", 5), ("B-01-01", "L3", 2)]
    asked = run(milk, Reserve, order="SO-1", line=3, sku="MILK", qty=1, lot="L0")
    assert "only 0 of 1 x MILK can be allocated" in refused(asked, Reason.NOT_ENOUGH_STOCK)
    assert milk.reserved("A-01-01", "MILK") == 0
    assert milk.invariants().total == 0


def test_allocation_skips_held_stock(milk: Warehouse) -> None:
    ok(run(milk, Hold, location="A-01-02", reason="leaking cases"))
    ok(run(milk, Hold, sku="MILK", lot="L2", reason="supplier recall"))
    ok(run(milk, Opening, lines=(OpeningLine("MILK", "QUAR-1", 5, "L4", date(2026, 12, 10)),)))
    outcome = ok(run(milk, Reserve, order="SO-1", line=1, sku="MILK", qty=5))
    assert reserved_lots(outcome) == [("B-01-01", "L3", 5)]


def test_a_pick_list_comes_up_short_of_expired_and_held_stock(milk: Warehouse) -> None:
    with milk.engine.begin() as c:
        catalogue.add_orders(c, [OrderLineSpec("SO-9", 1, "MILK", 12)])
    ok(run(milk, Hold, sku="MILK", lot="L3", reason="supplier recall"))
    taken = ok(run(milk, TakeList, order="SO-9", operator="P1"))
    assert taken.result["lines"][0]["reserved"] == 10  # L1 and L2; not L0 (expired) nor L3
    assert {(r["lot"], r["qty"]) for r in taken.result["lines"][0]["reservations"]} == {
        ("L1", 5),
        ("L2", 5),
    }


def test_a_lot_that_expired_since_it_was_reserved_is_not_picked(milk: Warehouse) -> None:
    days_ago = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    reserved = ok(milk.run(Reserve, order="SO-1", line=1, sku="MILK", qty=2, station_time=days_ago))
    assert reserved_lots(reserved) == [("A-01-01", "L0", 2)]
    pick = reserved.result["lines"][0]["reservation"]
    late = run(milk, PostPick, reservation=pick, qty=2, to_location="OUT-1")
    assert refused(late, Reason.EXPIRED) == (
        "lot L0 of MILK expired on 2026-12-01 (6 days ago; today is 2026-12-07): leave it in "
        "A-01-01 and pick this line short; it is reported to the supervisors (perpetua expired)"
    )
    assert milk.on_hand("OUT-1", "MILK") == 0
    # Picked short (none): the reservation goes back, the expired lot stays in its bin.
    ok(run(milk, PostPick, reservation=pick, qty=0, to_location="OUT-1", short_reason="expired"))
    assert milk.reserved("A-01-01", "MILK") == 0 and milk.on_hand("A-01-01", "MILK") == 5
    assert milk.invariants().total == 0


def test_a_bin_put_on_hold_after_its_reservation_is_not_picked(milk: Warehouse) -> None:
    reserved = ok(run(milk, Reserve, order="SO-1", line=1, sku="MILK", qty=2))
    pick = reserved.result["lines"][0]["reservation"]
    ok(run(milk, Hold, location="A-01-02", reason="shelf collapsed"))
    message = refused(
        run(milk, PostPick, reservation=pick, qty=2, to_location="OUT-1"), Reason.HELD
    )
    assert message.startswith(
        "A-01-02 is on hold (shelf collapsed); leave it in A-01-02 and pick this line short"
    )


# --- held stock stays where it is -------------------------------------------------------------


def test_goods_in_quarantine_are_not_put_away_or_transferred(warehouse: Warehouse) -> None:
    ok(run(warehouse, Receive, sku="WIDGET", qty=4, to_location="QUAR-1"))
    held = (
        "QUAR-1 is a quarantine location: its stock is held until a supervisor releases it; "
        + RELEASE_NEEDED
    )
    putaway = run(
        warehouse, Putaway, sku="WIDGET", qty=4, from_location="QUAR-1", to_location="A-01-01"
    )
    assert refused(putaway, Reason.HELD) == held
    transfer = run(
        warehouse, Transfer, sku="WIDGET", qty=4, from_location="QUAR-1", to_location="A-01-01"
    )
    assert refused(transfer, Reason.HELD) == held
    assert warehouse.on_hand("QUAR-1", "WIDGET") == 4
    # Scrapping and counting still may.
    ok(run(warehouse, Scrap, sku="WIDGET", qty=1, from_location="QUAR-1", reason="crushed"))
    ok(
        run(
            warehouse,
            Adjust,
            sku="WIDGET",
            location="QUAR-1",
            delta=-1,
            reason=AdjustReason.DAMAGED,
            operator="C1",
        )
    )
    assert warehouse.on_hand("QUAR-1", "WIDGET") == 2
    assert warehouse.invariants().total == 0


def test_a_held_bin_and_a_held_lot_are_not_moved(warehouse: Warehouse) -> None:
    opening(
        warehouse,
        OpeningLine("WIDGET", "A-01-01", 5),
        OpeningLine("WIDGET", "A-02-01", 2),
        OpeningLine("MILK", "DOCK-1", 5, "L1", date(2027, 3, 1)),
    )
    ok(run(warehouse, Hold, location="A-01-01", reason="water damage"))
    moved = run(
        warehouse, Transfer, sku="WIDGET", qty=1, from_location="A-01-01", to_location="A-01-02"
    )
    assert refused(moved, Reason.HELD).startswith("A-01-01 is on hold (water damage); ")
    ok(run(warehouse, Hold, sku="MILK", lot="L1", reason="recall 2026-17"))
    putaway = run(
        warehouse,
        Putaway,
        sku="MILK",
        qty=5,
        lot="L1",
        from_location="DOCK-1",
        to_location="B-01-01",
    )
    assert refused(putaway, Reason.HELD).startswith("lot L1 of MILK is on hold (recall 2026-17); ")
    # Moving goods into a held location takes nothing held: damaged goods go there.
    ok(
        run(
            warehouse, Transfer, sku="WIDGET", qty=2, from_location="A-02-01", to_location="A-01-01"
        )
    )
    assert warehouse.on_hand("A-01-01", "WIDGET") == 7


def test_held_goods_in_an_outbound_lane_are_not_shipped(warehouse: Warehouse) -> None:
    opening(warehouse, OpeningLine("WIDGET", "OUT-1", 3))
    ok(run(warehouse, Hold, location="OUT-1", reason="wrong labels"))
    shipped = run(warehouse, Ship, sku="WIDGET", qty=3, from_location="OUT-1")
    assert refused(shipped, Reason.HELD).startswith("OUT-1 is on hold (wrong labels); ")
    assert warehouse.on_hand("OUT-1", "WIDGET") == 3


def test_an_order_picked_into_a_held_lane_is_not_shipped_until_released(
    warehouse: Warehouse,
) -> None:
    with warehouse.engine.begin() as c:
        catalogue.add_orders(c, [OrderLineSpec("SO-7", 1, "WIDGET", 2)])
    opening(warehouse, OpeningLine("WIDGET", "A-01-01", 5))
    taken = ok(run(warehouse, TakeList, order="SO-7", operator="P1"))
    pick = taken.result["lines"][0]["reservations"][0]["reservation"]
    ok(run(warehouse, PostPick, reservation=pick, qty=2, to_location="OUT-1", operator="P1"))
    ok(run(warehouse, ReleaseList, order="SO-7", how=ReleaseHow.FINISHED, operator="P1"))
    ok(run(warehouse, Hold, location="OUT-1", reason="carrier damaged the pallet"))
    blocked = run(warehouse, ShipOrder, order="SO-7")
    assert refused(blocked, Reason.HELD).startswith("OUT-1 is on hold (carrier damaged the pallet)")
    assert warehouse.on_hand("OUT-1", "WIDGET") == 2
    ok(release(warehouse, location="OUT-1", reason=ReleaseReason.INSPECTED_OK))
    ok(run(warehouse, ShipOrder, order="SO-7"))
    assert warehouse.on_hand("OUT-1", "WIDGET") == 0
    assert warehouse.invariants().total == 0


# --- holds ------------------------------------------------------------------------------------


def test_a_hold_is_placed_once(warehouse: Warehouse) -> None:
    first = ok(run(warehouse, Hold, location="A-01-01", reason="water damage", operator="P1"))
    assert first.message == (
        "A-01-01 is on hold (water damage): nothing of it is picked, moved or shipped until a "
        "supervisor releases it"
    )
    again = ok(run(warehouse, Hold, location="A-01-01", reason="still wet", operator="D1"))
    assert "A-01-01 is already on hold since " in again.message
    assert "(water damage), placed by P1; nothing changed" in again.message
    assert again.result["already"] is True
    assert hold_rows(warehouse) == [("water damage", "P1", False, None, None)]
    quarantine = ok(run(warehouse, Hold, location="QUAR-1", reason="x"))
    assert quarantine.message == "QUAR-1 is already held: it is a quarantine location"
    assert len(hold_rows(warehouse)) == 1


@pytest.mark.parametrize(
    ("fields", "reason", "words"),
    [
        ({"location": "VENDOR"}, Reason.WRONG_LOCATION_KIND, "VENDOR is a virtual location"),
        ({"location": "NOPE"}, Reason.UNKNOWN_LOCATION, "location 'NOPE' does not exist"),
        ({"sku": "WIDGET", "lot": "L1"}, Reason.LOT_NOT_TRACKED, "WIDGET is not tracked by lot"),
        ({"sku": "MILK", "lot": "L404"}, Reason.BAD_INPUT, "MILK has no lot L404"),
        ({"location": "A-01-01", "reason": "  "}, Reason.REASON_REQUIRED, "needs a reason"),
    ],
)
def test_a_hold_on_what_cannot_be_held_is_refused(
    warehouse: Warehouse, fields: dict[str, Any], reason: Reason, words: str
) -> None:
    fields.setdefault("reason", "damaged")
    assert words in refused(run(warehouse, Hold, **fields), reason)
    assert hold_rows(warehouse) == []


def test_a_supervisor_lifts_a_hold_once_inspected_ok(warehouse: Warehouse) -> None:
    opening(warehouse, OpeningLine("WIDGET", "A-01-01", 5))
    ok(run(warehouse, Hold, location="A-01-01", reason="water damage"))
    scrapped = release(warehouse, location="A-01-01", reason=ReleaseReason.SCRAPPED)
    assert "by item and quantity" in refused(scrapped, Reason.BAD_INPUT)
    wrong_pin = release(
        warehouse, location="A-01-01", reason=ReleaseReason.INSPECTED_OK, approver_pin="111111"
    )
    refused(wrong_pin, Reason.PIN_REFUSED)
    not_a_supervisor = release(
        warehouse, location="A-01-01", reason=ReleaseReason.INSPECTED_OK, approved_by="C1"
    )
    refused(not_a_supervisor, Reason.NOT_ALLOWED)
    # A picker may send it, with a supervisor's badge and PIN.
    lifted = ok(
        release(warehouse, location="A-01-01", reason=ReleaseReason.INSPECTED_OK, operator="P1")
    )
    assert lifted.message == (
        "hold on A-01-01 (water damage) lifted by S1, inspected ok: its stock may be picked and "
        "moved again"
    )
    assert hold_rows(warehouse) == [("water damage", "D1", True, "S1", "inspected_ok")]
    ok(
        run(
            warehouse, Transfer, sku="WIDGET", qty=5, from_location="A-01-01", to_location="A-01-02"
        )
    )
    again = release(warehouse, location="A-01-01", reason=ReleaseReason.INSPECTED_OK)
    assert refused(again, Reason.BAD_INPUT) == "A-01-01 is not on hold: there is nothing to release"
    # A new hold may be placed after the release.
    ok(run(warehouse, Hold, location="A-01-01", reason="again"))
    assert len(hold_rows(warehouse)) == 2


def test_a_lot_hold_is_lifted_by_lot(warehouse: Warehouse) -> None:
    opening(warehouse, OpeningLine("MILK", "A-01-01", 5, "L1", date(2027, 3, 1)))
    ok(run(warehouse, Hold, sku="MILK", lot="L1", reason="recall"))
    lifted = ok(release(warehouse, sku="MILK", lot="L1", reason=ReleaseReason.INSPECTED_OK))
    assert lifted.message.startswith("hold on lot L1 of MILK (recall) lifted by S1")
    ok(run(warehouse, Reserve, order="SO-1", line=1, sku="MILK", qty=5))


def test_quarantine_has_no_hold_to_lift(warehouse: Warehouse) -> None:
    outcome = release(warehouse, location="QUAR-1", reason=ReleaseReason.INSPECTED_OK)
    assert refused(outcome, Reason.BAD_INPUT).startswith(
        "QUAR-1 is a quarantine location: it has no hold to lift. Release its goods by item and "
        "quantity"
    )


def test_goods_released_from_quarantine_go_to_a_bin_the_vendor_or_scrap(
    warehouse: Warehouse,
) -> None:
    ok(run(warehouse, Receive, sku="WIDGET", qty=10, to_location="QUAR-1"))
    opening(warehouse, OpeningLine("BOLT", "A-01-02", 3))
    line = {"location": "QUAR-1", "sku": "WIDGET"}
    to_bin = ok(
        release(warehouse, qty=4, to_location="A-01-01", reason=ReleaseReason.INSPECTED_OK, **line)
    )
    assert to_bin.message == ("released 4 x WIDGET from QUAR-1 to A-01-01, inspected ok, by S1")
    back = ok(release(warehouse, qty=3, reason=ReleaseReason.RETURNED_TO_VENDOR, **line))
    assert back.message == "released 3 x WIDGET from QUAR-1: returned to vendor, by S1"
    scrapped = ok(release(warehouse, qty=2, reason=ReleaseReason.SCRAPPED, **line))
    assert scrapped.result["to"] == "SCRAP"
    assert warehouse.on_hand("QUAR-1", "WIDGET") == 1
    assert warehouse.on_hand("A-01-01", "WIDGET") == 4
    assert warehouse.on_hand("VENDOR", "WIDGET") == -10 + 3
    assert warehouse.on_hand("SCRAP", "WIDGET") == 2
    m = table(MoveRow)
    with warehouse.engine.connect() as c:
        reasons = [r[0] for r in c.execute(select(m.c.reason).order_by(m.c.id))]
    assert reasons[-3:] == [
        "release: inspected_ok",
        "release: returned_to_vendor",
        "release: scrapped",
    ]
    # More than is there, a target that is held, and goods that are not held are refused.
    too_many = release(warehouse, qty=5, reason=ReleaseReason.SCRAPPED, **line)
    refused(too_many, Reason.NOT_ENOUGH_STOCK)
    ok(run(warehouse, Hold, location="A-01-03", reason="racking inspection"))
    into_held = release(
        warehouse, qty=1, to_location="A-01-03", reason=ReleaseReason.INSPECTED_OK, **line
    )
    assert refused(into_held, Reason.HELD).startswith("A-01-03 is on hold (racking inspection)")
    no_target = release(warehouse, qty=1, reason=ReleaseReason.INSPECTED_OK, **line)
    assert "name where they go" in refused(no_target, Reason.BAD_INPUT)
    free = release(
        warehouse,
        location="A-01-02",
        sku="BOLT",
        qty=1,
        reason=ReleaseReason.SCRAPPED,
    )
    assert refused(free, Reason.BAD_INPUT) == "BOLT in A-01-02 is not held: move it with a transfer"
    assert warehouse.invariants().total == 0


def test_a_release_into_a_bin_needs_room_there(warehouse: Warehouse) -> None:
    with warehouse.engine.begin() as c:
        catalogue.add_locations(c, [LocationSpec("TINY", LocationKind.BIN, zone="A", max_units=2)])
    ok(run(warehouse, Receive, sku="WIDGET", qty=5, to_location="QUAR-1"))
    full = release(
        warehouse,
        location="QUAR-1",
        sku="WIDGET",
        qty=3,
        to_location="TINY",
        reason=ReleaseReason.INSPECTED_OK,
    )
    refused(full, Reason.BIN_FULL)
    assert warehouse.on_hand("QUAR-1", "WIDGET") == 5


def test_a_held_lot_moved_out_of_a_held_bin_stays_held(warehouse: Warehouse) -> None:
    opening(warehouse, OpeningLine("MILK", "A-01-01", 5, "L1", date(2027, 3, 1)))
    ok(run(warehouse, Hold, sku="MILK", lot="L1", reason="recall"))
    moved = ok(
        release(
            warehouse,
            location="A-01-01",
            sku="MILK",
            lot="L1",
            qty=2,
            to_location="A-01-02",
            reason=ReleaseReason.INSPECTED_OK,
        )
    )
    assert "lot L1 stays on hold wherever it is" in moved.message
    again = run(
        warehouse,
        Transfer,
        sku="MILK",
        lot="L1",
        qty=2,
        from_location="A-01-02",
        to_location="A-01-03",
    )
    refused(again, Reason.HELD)
    assert warehouse.invariants().total == 0


# --- two holds at once ------------------------------------------------------------------------


@pytest.fixture
def pg_warehouse(postgres_url: str) -> Iterator[Warehouse]:
    with patient_warehouse(postgres_url) as warehouse:
        yield warehouse


@pytest.mark.postgres
def test_two_holds_on_one_bin_at_once_make_one_hold(pg_warehouse: Warehouse) -> None:
    """Another transaction has placed a hold on A-01-01 and not committed yet: this Hold's
    insert waits for it on the one-active-hold index, then answers with the hold it placed."""
    engine = pg_warehouse.engine
    other = engine.connect()
    other.begin()
    other.execute(
        text(
            "INSERT INTO holds (location_id, reason, placed_tx_id, placed_by_id) SELECT l.id, "
            "'found first', :tx, o.id FROM locations l, operators o "
            "WHERE l.code = 'A-01-01' AND o.badge = 'P1'"
        ),
        {"tx": uuid.uuid4()},
    )
    committed = False
    try:
        with ThreadPoolExecutor(1) as pool:
            second = pool.submit(run, pg_warehouse, Hold, location="A-01-01", reason="later")
            until(lambda: waiting(engine, "INSERT INTO holds%"), "the second hold wait")
            other.commit()
            committed = True
            outcome = ok(second.result())
    finally:
        if not committed:
            other.rollback()
        other.close()
    assert "A-01-01 is already on hold since " in outcome.message
    assert "(found first), placed by P1" in outcome.message
    assert hold_rows(pg_warehouse) == [("found first", "P1", False, None, None)]


# --- the station's copy -----------------------------------------------------------------------


def test_a_stations_queued_releases_show_in_its_copy(
    warehouse: Warehouse, engine: Engine, tmp_path: Path
) -> None:
    """Before the ledger's figures come back, the station's copy shows goods released out of
    quarantine where they went (a bin) or gone (scrap); a queued lift moves nothing."""
    ok(run(warehouse, Receive, sku="WIDGET", qty=10, to_location="QUAR-1"))
    ok(run(warehouse, Hold, location="A-01-02", reason="racking check"))
    replica = Replica(tmp_path / "replica.sqlite")
    try:
        replica.refresh(Source(engine), "ST-1")
        assert replica.held("A-01-02") == "A-01-02 is on hold (racking check)"
        line = {"location": "QUAR-1", "sku": "WIDGET", "operator": "S1", "approved_by": "S1"}
        for fields in (
            {"qty": 4, "to_location": "A-01-01", "reason": ReleaseReason.INSPECTED_OK, **line},
            {"qty": 2, "reason": ReleaseReason.SCRAPPED, **line},
            {"location": "A-01-02", "reason": ReleaseReason.INSPECTED_OK, "operator": "S1",
             "approved_by": "S1"},
        ):  # fmt: skip
            replica.add_effect(warehouse.command(ReleaseHold, station_time=AT, **fields))
        assert replica.contents("QUAR-1") == [Holding("WIDGET", None, 4)]
        assert replica.contents("A-01-01") == [Holding("WIDGET", None, 4)]
    finally:
        replica.close()


# --- as the stations' database role -----------------------------------------------------------


@pytest.fixture
def as_stations_role(
    pg_server: PgServer, postgres_url: str, request: pytest.FixtureRequest
) -> Iterator[tuple[Warehouse, Warehouse]]:
    """The owner's warehouse and one connected as the stations' role (`db create-app-role`)."""
    role = f"perpetua_ta_{pg_server.run_tag}_{abs(hash(request.node.nodeid)) % 10**8}"
    owner = make_engine(postgres_url)
    seed(owner)
    with owner.begin() as c:
        app_role.apply(c, role)
    app = make_engine(make_url(postgres_url).set(username=role).render_as_string(False))
    try:
        yield Warehouse(owner, SqlLedger(owner)), Warehouse(app, SqlLedger(app))
    finally:
        app.dispose()
        with owner.begin() as c:
            c.exec_driver_sql(f"DROP OWNED BY {role}")
            c.exec_driver_sql(f"DROP ROLE {role}")
        owner.dispose()


@pytest.mark.postgres
def test_holds_and_releases_work_as_the_stations_role(
    as_stations_role: tuple[Warehouse, Warehouse],
) -> None:
    owner, app = as_stations_role
    ok(run(app, Receive, sku="WIDGET", qty=5, to_location="QUAR-1"))
    ok(run(app, Hold, location="A-01-01", reason="water damage"))
    assert "already on hold" in ok(run(app, Hold, location="A-01-01", reason="x")).message
    ok(release(app, location="A-01-01", reason=ReleaseReason.INSPECTED_OK))
    ok(release(app, location="QUAR-1", sku="WIDGET", qty=2, reason=ReleaseReason.SCRAPPED))
    assert owner.on_hand("QUAR-1", "WIDGET") == 3
    assert hold_rows(owner) == [("water damage", "D1", True, "S1", "inspected_ok")]


def test_goods_moved_into_a_held_location_go_and_are_said_to_be_held_there(
    warehouse: Warehouse,
) -> None:
    """Moving goods into a held bin is not refused (damaged goods go where they are held), but
    the answer says they cannot be picked there."""
    ok(run(warehouse, Hold, location="A-01-01", reason="water damage"))
    ok(run(warehouse, Receive, sku="WIDGET", qty=3, to_location="DOCK-1"))
    put = ok(
        run(warehouse, Putaway, sku="WIDGET", qty=3, from_location="DOCK-1", to_location="A-01-01")
    )
    assert put.message == (
        "put 3 x WIDGET into A-01-01; A-01-01 is on hold (water damage): these goods are held "
        "there too"
    )
    moved_on = run(
        warehouse, Transfer, sku="WIDGET", qty=1, from_location="A-01-01", to_location="A-01-02"
    )
    assert refused(moved_on, Reason.HELD).startswith("A-01-01 is on hold (water damage)")
    assert warehouse.on_hand("A-01-01", "WIDGET") == 3
