"""Receiving expired and short-dated lots at the station, a receipt line's expected lot, and the
quantity that never outlives a refusal or a receipt: the receive state machine against the
in-memory station (no database, no Qt). The station decides before the ledger does, so offline
the worker hears the same thing at once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from app.domain.commands import Receive
from app.domain.interpret import CommandName, Interpretation, Kind
from app.domain.model import Tracking
from app.domain.scan import Scan, Source
from app.domain.workflow import (
    Entry,
    Level,
    Receipt,
    ReceiptLine,
    Reply,
    SkuInfo,
    StationInfo,
)
from app.domain.workflows.receive import ReceiveWorkflow
from tests.support.fake_station import FakeStationData, context, meaning, outcome

TODAY = date(2026, 3, 10)
GTIN = {"MILK": "09506000134352", "CHEESE": "09506000134369", "BOLT": "09506000134376"}


@pytest.fixture
def data() -> FakeStationData:
    data = FakeStationData()
    data.add_sku("MILK", GTIN["MILK"], Tracking.LOT)
    data.skus["CHEESE"] = SkuInfo("CHEESE", "Cheese", Tracking.LOT, GTIN["CHEESE"], 30)
    data.add_sku("BOLT", GTIN["BOLT"])
    data.receipts["ASN-1"] = Receipt(
        "ASN-1",
        "open",
        (
            ReceiptLine(1, "MILK", 10, "L1"),
            ReceiptLine(2, "MILK", 10, "L2"),
            ReceiptLine(3, "CHEESE", 5, "C1", date(2026, 3, 1)),
            ReceiptLine(4, "BOLT", 5),
        ),
    )
    return data


@pytest.fixture
def wf(data: FakeStationData) -> ReceiveWorkflow:
    return ReceiveWorkflow(context(data))


def label(sku: str, day: date = TODAY, **fields: Any) -> Interpretation:
    """An item scan made at noon (UTC) on `day`."""
    at = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    return Interpretation(
        Scan(GTIN[sku], Source.WEDGE, at=at), Kind.ITEM, gtin=GTIN[sku], sku=sku, **fields
    )


def cmd(name: CommandName, arg: str | None = None) -> Interpretation:
    return meaning(Kind.COMMAND, command=name, command_arg=arg)


def badge(code: str) -> Interpretation:
    return meaning(Kind.BADGE, code=code)


def only(reply: Reply) -> Receive:
    assert len(reply.commands) == 1, reply
    command = reply.commands[0]
    assert isinstance(command, Receive)
    return command


def level(reply: Reply) -> Level | None:
    return reply.feedback.level if reply.feedback else None


def text(reply: Reply) -> str:
    return reply.feedback.text if reply.feedback else ""


# --- expired and short-dated lots --------------------------------------------------------------


def test_an_expired_lot_is_refused_with_its_dates_and_nothing_is_sent(wf: ReceiveWorkflow) -> None:
    reply = wf.on_scan(label("MILK", lot="L1", expiry=date(2025, 1, 1), count=6))
    assert not reply.commands and level(reply) is Level.ERROR
    assert text(reply) == (
        "Lot L1 of MILK expired on 2025-01-01 (433 days ago; today is 2026-03-10). Set it "
        "aside; a supervisor may accept it into quarantine: supervisor, scan your badge; "
        "CANCEL to drop it."
    )
    assert reply.prompt == (
        "Supervisor: scan your badge to approve accepting 6 x MILK lot L1 (expired) into "
        "quarantine QUAR-1. CANCEL to go back."
    )
    assert wf.wants_badge and wf.busy


def test_a_supervisor_accepts_the_expired_lot_into_quarantine(wf: ReceiveWorkflow) -> None:
    wf.on_scan(label("MILK", lot="L1", expiry=date(2026, 3, 9), count=6))
    pin = wf.on_scan(badge("S002"))
    assert pin.entry is Entry.PIN and "S002" in pin.prompt
    wrong = wf.on_entry("000000")
    assert level(wrong) is Level.WARNING and not wrong.commands
    accepted = only(wf.on_entry("567890"))
    assert (accepted.sku, accepted.lot, accepted.qty) == ("MILK", "L1", 6)
    assert accepted.expiry == date(2026, 3, 9)
    assert accepted.to_location == "QUAR-1"
    assert (accepted.approved_by, accepted.approver_pin) == ("S002", "567890")
    assert not wf.wants_badge
    done = wf.on_outcome(accepted, outcome(accepted))
    assert level(done) is Level.OK
    assert text(done) == (
        "Received 6 x MILK lot L1, expires 2026-03-09, into quarantine QUAR-1 (expired), "
        "approved by S002."
    )


def test_the_expiry_day_itself_is_still_good(wf: ReceiveWorkflow) -> None:
    reply = wf.on_scan(label("MILK", lot="L1", expiry=TODAY))
    assert only(reply).to_location == "DOCK-1"


def test_the_operator_cannot_accept_their_own_expired_lot(data: FakeStationData) -> None:
    wf = ReceiveWorkflow(context(data, badge="S001"))
    wf.on_scan(label("MILK", lot="L1", expiry=date(2025, 1, 1)))
    own = wf.on_scan(badge("S001"))
    assert level(own) is Level.ERROR and "own work" in text(own) and wf.wants_badge
    not_supervisor = wf.on_scan(badge("D001"))
    assert "not an active supervisor" in text(not_supervisor)


def test_too_little_shelf_life_left_is_refused_naming_the_minimum(wf: ReceiveWorkflow) -> None:
    short = wf.on_scan(label("CHEESE", lot="C1", expiry=TODAY + timedelta(days=29)))
    assert not short.commands and level(short) is Level.ERROR
    assert text(short).startswith(
        "Lot C1 of CHEESE expires on 2026-04-08 (in 29 day(s)), and CHEESE must have at least "
        "30 days of shelf life left: an expiry on or after 2026-04-09. Set it aside;"
    )
    assert "(too little shelf life left) into quarantine QUAR-1" in short.prompt
    wf.on_scan(cmd(CommandName.CANCEL))
    assert only(wf.on_scan(label("CHEESE", lot="C1", expiry=TODAY + timedelta(days=30))))


def test_cancel_drops_the_expired_lot_and_its_quantity(wf: ReceiveWorkflow) -> None:
    wf.on_scan(cmd(CommandName.QTY, "6"))
    wf.on_scan(label("MILK", lot="L1", expiry=date(2025, 1, 1)))
    dropped = wf.on_scan(cmd(CommandName.CANCEL))
    assert level(dropped) is Level.OK and not dropped.commands
    assert text(dropped) == (
        "Cancelled accepting 6 x MILK lot L1 (expired) into quarantine QUAR-1; nothing was "
        "sent. Set the goods aside."
    )
    assert not wf.wants_badge and not wf.busy
    assert only(wf.on_scan(label("MILK", lot="L2", expiry=date(2027, 3, 1)))).qty == 1


def test_a_station_without_quarantine_says_it_cannot_accept_the_lot(
    data: FakeStationData,
) -> None:
    data.stations["ST-2"] = StationInfo("ST-2", "A", "DOCK-2", None, None)
    wf = ReceiveWorkflow(context(data, station="ST-2"))
    wf.on_scan(cmd(CommandName.QTY, "6"))
    reply = wf.on_scan(label("MILK", lot="L1", expiry=date(2025, 1, 1)))
    assert not reply.commands and level(reply) is Level.ERROR and not wf.wants_badge
    assert text(reply) == (
        "Lot L1 of MILK expired on 2025-01-01 (433 days ago; today is 2026-03-10). Set it aside "
        "and call a supervisor: station ST-2 has no quarantine location, so it cannot take this "
        "lot in. The quantity 6 was dropped with it: set it again for the next item."
    )
    assert only(wf.on_scan(label("BOLT"))).qty == 1


def test_a_damaged_expired_lot_says_both(wf: ReceiveWorkflow) -> None:
    wf.on_scan(cmd(CommandName.DAMAGED))
    wf.on_scan(label("MILK", lot="L1", expiry=date(2025, 1, 1)))
    wf.on_scan(badge("S001"))
    accepted = only(wf.on_entry("123456"))
    done = wf.on_outcome(accepted, outcome(accepted))
    assert "into quarantine QUAR-1 (damaged, expired), approved by S001." in text(done)


def test_the_expiry_a_receipt_gives_a_lot_counts_for_a_label_without_one(
    wf: ReceiveWorkflow,
) -> None:
    wf.on_scan(meaning(Kind.RECEIPT, code="ASN-1"))
    reply = wf.on_scan(label("CHEESE", lot="C1"))
    assert not reply.commands and level(reply) is Level.ERROR
    assert text(reply).startswith("Lot C1 of CHEESE expired on 2026-03-01 (9 days ago;")
    wf.on_scan(badge("S001"))
    accepted = only(wf.on_entry("123456"))
    assert (accepted.expiry, accepted.to_location, accepted.receipt) == (
        date(2026, 3, 1),
        "QUAR-1",
        "ASN-1",
    )


def test_an_expired_lot_also_over_the_receipt_names_both_to_the_supervisor(
    wf: ReceiveWorkflow, data: FakeStationData
) -> None:
    data.receipts["ASN-1"] = Receipt("ASN-1", "open", data.receipts["ASN-1"].lines, {"MILK": 20})
    wf.on_scan(meaning(Kind.RECEIPT, code="ASN-1"))
    reply = wf.on_scan(label("MILK", lot="L1", expiry=date(2025, 1, 1), count=5))
    assert text(reply).endswith("It is also 5 over the expected 20 of MILK on receipt ASN-1.")
    assert "(expired) into quarantine QUAR-1 and receiving 5 over the expected 20" in reply.prompt
    wf.on_scan(badge("S001"))
    assert only(wf.on_entry("123456")).approved_by == "S001"


def test_offline_the_accepted_lot_is_queued_with_its_expiry(wf: ReceiveWorkflow) -> None:
    """Nothing above asked the ledger: the refusal and the approval (PIN checked against the
    station's copy) work offline, and the accepted receive waits in the outbox."""
    wf.on_scan(label("MILK", lot="L1", expiry=date(2025, 1, 1), count=2))
    wf.on_scan(badge("S001"))
    accepted = only(wf.on_entry("123456"))
    waiting = wf.on_outcome(accepted, None)
    assert level(waiting) is Level.WARNING
    assert text(waiting).startswith(
        "Receiving 2 x MILK lot L1, expires 2025-01-01, into quarantine QUAR-1 (expired) is queued"
    )


def test_a_lot_only_the_ledger_knows_expired_gets_the_same_approval(
    wf: ReceiveWorkflow,
) -> None:
    """A label without an expiry, of a lot the ledger knows with one: its refusal names the
    dates, and the station offers what it would have offered had it known."""
    sent = only(wf.on_scan(label("MILK", lot="L2", count=3)))
    assert sent.to_location == "DOCK-1" and sent.expiry is None
    why = "lot L2 of MILK expired on 2026-03-01 (9 days ago; today is 2026-03-10)"
    refused = wf.on_outcome(sent, outcome(sent, False, f"{why}. Set the goods aside.", "expired"))
    assert level(refused) is Level.ERROR and not refused.commands
    assert text(refused) == (
        f"Receiving 3 x MILK lot L2 was refused: {why}. Set the goods aside. Supervisor: scan "
        "your badge to accept it into quarantine QUAR-1; CANCEL to drop it."
    )
    assert "accepting 3 x MILK lot L2 (not sellable by its expiry) into quarantine" in (
        refused.prompt
    )
    wf.on_scan(badge("S001"))
    again = only(wf.on_entry("123456"))
    assert again.tx_id != sent.tx_id  # a new transaction: the refused one stays refused
    assert (again.to_location, again.approved_by, again.qty) == ("QUAR-1", "S001", 3)
    done = wf.on_outcome(again, outcome(again, result={"expiry": "2026-03-01"}))
    assert text(done) == (
        "Received 3 x MILK lot L2, expires 2026-03-01, into quarantine QUAR-1 (not sellable by "
        "its expiry), approved by S001."
    )


def test_a_ledger_refusal_for_expiry_at_a_station_without_quarantine(
    data: FakeStationData,
) -> None:
    data.stations["ST-2"] = StationInfo("ST-2", "A", "DOCK-2", None, None)
    wf = ReceiveWorkflow(context(data, station="ST-2"))
    sent = only(wf.on_scan(label("MILK", lot="L2")))
    refused = wf.on_outcome(sent, outcome(sent, False, "lot L2 of MILK expired", "expired"))
    assert level(refused) is Level.ERROR and not wf.wants_badge
    assert text(refused).endswith(
        "Set the goods aside and call a supervisor: station ST-2 has no quarantine location to "
        "accept them into."
    )


def test_a_wrong_lot_only_the_ledger_saw_gets_the_same_approval(wf: ReceiveWorkflow) -> None:
    """The receipt changed since the station's copy: the ledger's refusal, then the approval."""
    wf.on_scan(meaning(Kind.RECEIPT, code="ASN-1"))
    sent = only(wf.on_scan(label("MILK", lot="L1")))
    why = "receipt ASN-1 expects MILK lot L3, not L1: set the goods aside and call a supervisor"
    refused = wf.on_outcome(sent, outcome(sent, False, why, "wrong_lot"))
    assert text(refused) == (
        f"Receiving 1 x MILK lot L1 was refused: {why}. Supervisor: scan your badge to accept "
        "it; CANCEL to drop it."
    )
    wf.on_scan(badge("S001"))
    again = only(wf.on_entry("123456"))
    assert (again.to_location, again.approved_by, again.lot) == ("DOCK-1", "S001", "L1")


def test_other_ledger_refusals_are_shown_as_they_are(wf: ReceiveWorkflow) -> None:
    sent = only(wf.on_scan(label("BOLT")))
    refused = wf.on_outcome(sent, outcome(sent, False, "item BOLT is discontinued", "inactive_sku"))
    assert level(refused) is Level.ERROR and not wf.wants_badge
    assert text(refused) == (
        "Receiving 1 x BOLT was refused: item BOLT is discontinued. Nothing was received; set "
        "the goods aside and scan them again, or call a supervisor."
    )


# --- the banner of an accepted lot shows its expiry --------------------------------------------


def test_the_banner_of_an_accepted_lot_shows_its_expiry(wf: ReceiveWorkflow) -> None:
    sent = only(wf.on_scan(label("MILK", lot="L1", expiry=date(2027, 3, 1), count=6)))
    assert (sent.to_location, sent.expiry, sent.approved_by) == ("DOCK-1", date(2027, 3, 1), None)
    done = wf.on_outcome(sent, outcome(sent))
    assert text(done) == "Received 6 x MILK lot L1, expires 2027-03-01, into DOCK-1."
    undated = only(wf.on_scan(label("BOLT")))
    assert text(wf.on_outcome(undated, outcome(undated))) == "Received 1 x BOLT into DOCK-1."


# --- a receipt line's expected lot -------------------------------------------------------------


def test_a_lot_the_receipt_does_not_expect_is_refused_naming_the_expected_lots(
    wf: ReceiveWorkflow,
) -> None:
    wf.on_scan(meaning(Kind.RECEIPT, code="ASN-1"))
    wf.on_scan(cmd(CommandName.QTY, "4"))
    reply = wf.on_scan(label("MILK", lot="L9", expiry=date(2027, 1, 1)))
    assert not reply.commands and level(reply) is Level.ERROR
    assert text(reply) == (
        "Lot L9 of MILK is not expected on receipt ASN-1: it expects lot L1, L2. Set it aside; "
        "a supervisor may accept it: supervisor, scan your badge; CANCEL to drop it."
    )
    assert reply.prompt.startswith(
        "Supervisor: scan your badge to approve accepting 4 x MILK lot L9 (not on receipt ASN-1)."
    )
    dropped = wf.on_scan(cmd(CommandName.CANCEL))
    assert text(dropped) == (
        "Cancelled accepting 4 x MILK lot L9 (not on receipt ASN-1); nothing was sent. Set the "
        "goods aside."
    )
    expected = only(wf.on_scan(label("MILK", lot="L2", expiry=date(2027, 1, 1))))
    assert (expected.lot, expected.qty, expected.receipt) == ("L2", 1, "ASN-1")


def test_a_supervisor_accepts_a_lot_the_receipt_does_not_expect_onto_the_dock(
    wf: ReceiveWorkflow,
) -> None:
    wf.on_scan(meaning(Kind.RECEIPT, code="ASN-1"))
    wf.on_scan(label("MILK", lot="L9", expiry=date(2027, 1, 1), count=4))
    wf.on_scan(badge("S002"))
    accepted = only(wf.on_entry("567890"))
    assert (accepted.lot, accepted.qty, accepted.to_location) == ("L9", 4, "DOCK-1")
    assert (accepted.approved_by, accepted.receipt) == ("S002", "ASN-1")


def test_a_label_dated_otherwise_than_the_receipt_is_refused_naming_both_dates(
    wf: ReceiveWorkflow,
) -> None:
    wf.on_scan(meaning(Kind.RECEIPT, code="ASN-1"))
    reply = wf.on_scan(label("CHEESE", lot="C1", expiry=date(2027, 1, 1)))
    assert not reply.commands and level(reply) is Level.ERROR
    assert text(reply).startswith(
        "The label of lot C1 of CHEESE says it expires 2027-01-01, and receipt ASN-1 says "
        "2026-03-01. Set it aside; a supervisor may accept it:"
    )
    wf.on_scan(badge("S001"))
    accepted = only(wf.on_entry("123456"))
    assert (accepted.expiry, accepted.to_location, accepted.approved_by) == (
        date(2027, 1, 1),
        "DOCK-1",
        "S001",
    )


def test_a_receipt_line_without_a_lot_takes_any_lot(
    wf: ReceiveWorkflow, data: FakeStationData
) -> None:
    data.receipts["ASN-2"] = Receipt("ASN-2", "open", (ReceiptLine(1, "MILK", 5),))
    wf.on_scan(meaning(Kind.RECEIPT, code="ASN-2"))
    assert only(wf.on_scan(label("MILK", lot="ANY", expiry=date(2027, 1, 1)))).lot == "ANY"


def test_blind_receiving_checks_no_lot(wf: ReceiveWorkflow) -> None:
    assert only(wf.on_scan(label("MILK", lot="L9", expiry=date(2027, 1, 1)))).receipt is None


# --- a quantity never outlives a refusal or its receipt ----------------------------------------


def test_a_refused_scan_drops_the_quantity_and_damaged_mark_and_says_so(
    wf: ReceiveWorkflow,
) -> None:
    wf.on_scan(meaning(Kind.RECEIPT, code="ASN-1"))
    wf.on_scan(cmd(CommandName.QTY, "12"))
    wf.on_scan(cmd(CommandName.DAMAGED))
    unknown = wf.on_scan(meaning(Kind.ITEM, gtin="00000000000017"))
    assert level(unknown) is Level.ERROR
    assert text(unknown).endswith(
        "The quantity 12 and the damaged mark were dropped with it: set it again for the next item."
    )
    next_item = only(wf.on_scan(label("BOLT")))
    assert (next_item.qty, next_item.to_location) == (1, "DOCK-1")


def test_closing_a_receipt_drops_the_quantity_set_for_it(
    wf: ReceiveWorkflow, data: FakeStationData
) -> None:
    data.receipts["ASN-2"] = Receipt("ASN-2", "open", (ReceiptLine(1, "BOLT", 5),), {"BOLT": 5})
    wf.on_scan(meaning(Kind.RECEIPT, code="ASN-2"))
    wf.on_scan(cmd(CommandName.QTY, "7"))
    closed = wf.on_scan(cmd(CommandName.DONE))
    assert closed.commands and level(closed) is Level.OK
    assert text(closed) == (
        "Receipt ASN-2 closed: everything as expected. The quantity 7 set before was dropped."
    )
    assert "quantity" not in closed.prompt
    assert only(wf.on_scan(label("BOLT"))).qty == 1


def test_a_receipt_closed_elsewhere_drops_the_quantity_too(
    wf: ReceiveWorkflow, data: FakeStationData
) -> None:
    wf.on_scan(meaning(Kind.RECEIPT, code="ASN-1"))
    wf.on_entry("9")
    data.receipts["ASN-1"] = Receipt("ASN-1", "closed", data.receipts["ASN-1"].lines)
    done = wf.on_scan(cmd(CommandName.DONE))
    assert text(done) == (
        "Receipt ASN-1 is already closed; nothing to close. The quantity 9 set before was dropped."
    )
    assert only(wf.on_scan(label("BOLT"))).qty == 1
