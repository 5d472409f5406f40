"""Receive mode as the dock worker sees it: prompts, feedback, receipt lines and the exact Receive
commands it submits, against the in-memory station (no database, no Qt)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.domain.commands import CloseReceipt, Command, Receive
from app.domain.interpret import CommandName, Interpretation, Kind, StationMode
from app.domain.ledger import Outcome
from app.domain.model import Tracking
from app.domain.workflow import (
    Entry,
    Level,
    Receipt,
    ReceiptLine,
    Reply,
    StationInfo,
    StationPolicy,
    TagRead,
    Tolerance,
)
from app.domain.workflows.receipts import (
    LineCheck,
    check_receipt,
    discrepancy_lines,
    progress_lines,
    short_beyond,
)
from app.domain.workflows.receive import ReceiveWorkflow
from tests.support.fake_station import FakeStationData, context, meaning, outcome, play

GTIN = {
    "SKU-1": "09506000134352",
    "SKU-2": "09506000134369",
    "SKU-L": "09506000134376",
    "SKU-S": "09506000134383",
    "SKU-9": "09506000134390",
}


@pytest.fixture
def data() -> FakeStationData:
    data = FakeStationData()
    data.add_sku("SKU-1", GTIN["SKU-1"])
    data.add_sku("SKU-2", GTIN["SKU-2"])
    data.add_sku("SKU-L", GTIN["SKU-L"], Tracking.LOT)
    data.add_sku("SKU-S", GTIN["SKU-S"], Tracking.SERIAL)
    data.add_sku("SKU-9", GTIN["SKU-9"])
    data.receipts["R1"] = Receipt(
        "R1", "open", (ReceiptLine(1, "SKU-1", 10), ReceiptLine(2, "SKU-2", 5))
    )
    data.receipts["R-OLD"] = Receipt("R-OLD", "closed", (ReceiptLine(1, "SKU-1", 1),))
    return data


@pytest.fixture
def wf(data: FakeStationData) -> ReceiveWorkflow:
    return ReceiveWorkflow(context(data))


def item(sku: str, **fields: object) -> Interpretation:
    return meaning(Kind.ITEM, gtin=GTIN[sku], sku=sku, **fields)


def cmd(name: CommandName, arg: str | None = None) -> Interpretation:
    return meaning(Kind.COMMAND, command=name, command_arg=arg)


def receipt(code: str) -> Interpretation:
    return meaning(Kind.RECEIPT, code=code)


def badge(code: str) -> Interpretation:
    return meaning(Kind.BADGE, code=code)


def only(reply: Reply) -> Receive:
    assert len(reply.commands) == 1
    command = reply.commands[0]
    assert isinstance(command, Receive)
    return command


def closing(reply: Reply) -> CloseReceipt:
    """The one transaction a DONE (or a supervisor's approval of a short close) sends."""
    assert len(reply.commands) == 1
    command = reply.commands[0]
    assert isinstance(command, CloseReceipt)
    return command


def confirm(wf: ReceiveWorkflow, reply: Reply) -> Reply:
    """The ledger confirms every command of `reply`; the answer to the last one."""
    last = reply
    for command in reply.commands:
        last = wf.on_outcome(command, outcome(command))
    return last


def level(reply: Reply) -> Level | None:
    return reply.feedback.level if reply.feedback else None


def text(reply: Reply) -> str:
    return reply.feedback.text if reply.feedback else ""


# --- blind and against a receipt ---------------------------------------------------------------


def test_start_asks_for_a_receipt_or_an_item(wf: ReceiveWorkflow) -> None:
    reply = wf.start()
    assert wf.mode is StationMode.RECEIVE
    assert "Scan a receipt" in reply.prompt and "blind" in reply.prompt
    assert reply.feedback is None and not wf.busy and not wf.wants_badge


def test_blind_receive_goes_to_the_station_dock(wf: ReceiveWorkflow) -> None:
    reply = wf.on_scan(item("SKU-1"))
    command = only(reply)
    assert (command.sku, command.qty, command.lot, command.serials) == ("SKU-1", 1, None, ())
    assert (command.to_location, command.receipt, command.approved_by) == ("DOCK-1", None, None)
    assert (command.station, command.operator) == ("ST-1", "D001")
    done = confirm(wf, reply)
    assert level(done) is Level.OK
    assert text(done) == "Received 1 x SKU-1 into DOCK-1."
    assert "Scan a receipt" in done.prompt


def test_receipt_lines_show_progress_and_update_at_once(
    wf: ReceiveWorkflow, data: FakeStationData
) -> None:
    opened = wf.on_scan(receipt("R1"))
    assert level(opened) is Level.OK and "R1" in text(opened)
    assert opened.lines == (
        "SKU-1 SKU-1 name: received 0 of 10",
        "SKU-2 SKU-2 name: received 0 of 5",
    )
    assert "Receipt R1: scan the next item" in opened.prompt and wf.busy

    wf.on_scan(cmd(CommandName.QTY, "4"))
    reply = wf.on_scan(item("SKU-1"))
    command = only(reply)
    assert (command.qty, command.receipt, command.to_location) == (4, "R1", "DOCK-1")
    done = confirm(wf, reply)
    assert done.lines[0] == "SKU-1 SKU-1 name: received 4 of 10"

    # Scanning the receipt again reloads it, and the database's figures win.
    data.receipts["R1"] = Receipt("R1", "open", data.receipts["R1"].lines, {"SKU-1": 7})
    assert wf.on_scan(receipt("R1")).lines[0] == "SKU-1 SKU-1 name: received 7 of 10"


def test_unknown_and_closed_receipts_are_refused(wf: ReceiveWorkflow) -> None:
    unknown = wf.on_scan(receipt("R-404"))
    assert level(unknown) is Level.ERROR and "R-404" in text(unknown)
    assert "not an expected receipt" in text(unknown)
    closed = wf.on_scan(receipt("R-OLD"))
    assert level(closed) is Level.ERROR and "is closed" in text(closed)
    assert not wf.busy


def test_another_receipt_waits_until_the_open_one_is_left(wf: ReceiveWorkflow) -> None:
    wf.on_scan(receipt("R1"))
    other = wf.on_scan(receipt("R2"))
    assert level(other) is Level.ERROR
    assert "R1 is open" in text(other) and "DONE" in text(other) and "CANCEL" in text(other)


def test_gs1_lot_expiry_serial_and_count(wf: ReceiveWorkflow) -> None:
    lot = only(wf.on_scan(item("SKU-L", lot="L7", expiry=date(2027, 3, 31), count=12)))
    assert (lot.sku, lot.qty, lot.lot, lot.expiry) == ("SKU-L", 12, "L7", date(2027, 3, 31))
    later = date.today() + timedelta(days=400)
    best_before = only(wf.on_scan(item("SKU-L", lot="L8", best_before=later)))
    assert best_before.expiry == later
    serial = only(wf.on_scan(item("SKU-S", serial="SN-1")))
    assert (serial.qty, serial.serials) == (1, ("SN-1",))


def test_label_count_overrides_qty_and_the_quantity_is_used_once(wf: ReceiveWorkflow) -> None:
    set_qty = wf.on_scan(cmd(CommandName.QTY, "3"))
    assert level(set_qty) is Level.OK and "quantity 3" in set_qty.prompt
    assert only(wf.on_scan(item("SKU-1", count=20))).qty == 20
    assert only(wf.on_scan(item("SKU-1"))).qty == 1


def test_keypad_quantity(wf: ReceiveWorkflow) -> None:
    assert level(wf.on_entry("6")) is Level.OK
    assert only(wf.on_scan(item("SKU-1"))).qty == 6
    assert only(wf.on_scan(item("SKU-1"))).qty == 1
    bad = wf.on_entry("six")
    assert level(bad) is Level.ERROR and "whole number" in text(bad)


def test_labels_missing_what_tracking_needs_are_refused(wf: ReceiveWorkflow) -> None:
    no_lot = wf.on_scan(item("SKU-L"))
    assert level(no_lot) is Level.ERROR and "lot" in text(no_lot) and not no_lot.commands
    wf.on_scan(cmd(CommandName.QTY, "2"))
    two = wf.on_scan(item("SKU-S", serial="SN-1"))
    assert level(two) is Level.ERROR and "each unit alone" in text(two) and not two.commands
    # The quantity went with the refusal, and the refusal says so: nothing is left to undo.
    assert "The quantity 2 was dropped with it" in text(two)
    undo = wf.on_scan(cmd(CommandName.UNDO))
    assert level(undo) is Level.ERROR and "Nothing to undo" in text(undo)
    assert only(wf.on_scan(item("SKU-S", serial="SN-1"))).qty == 1


def test_unknown_barcode_is_refused(wf: ReceiveWorkflow) -> None:
    reply = wf.on_scan(meaning(Kind.ITEM, gtin="00000000000017"))
    assert level(reply) is Level.ERROR and "00000000000017" in text(reply)
    assert not reply.commands


def test_item_not_on_the_receipt_is_refused(wf: ReceiveWorkflow) -> None:
    wf.on_scan(receipt("R1"))
    reply = wf.on_scan(item("SKU-9"))
    assert level(reply) is Level.ERROR and not reply.commands
    assert "SKU-9 is not on receipt R1" in text(reply)
    assert "Set it aside" in text(reply) and "CANCEL the receipt and receive it blind" in text(
        reply
    )


def test_cancel_leaves_the_receipt_and_receives_blind(
    wf: ReceiveWorkflow, data: FakeStationData
) -> None:
    wf.on_scan(receipt("R1"))
    left = wf.on_scan(cmd(CommandName.CANCEL))
    assert level(left) is Level.OK and "stays open" in text(left)
    assert "Scan a receipt" in left.prompt and left.lines == ()
    assert only(wf.on_scan(item("SKU-9"))).receipt is None
    assert data.receipts["R1"].status == "open"


# --- over-receipt and supervisor approval ------------------------------------------------------


def test_over_receipt_within_tolerance_needs_no_supervisor(wf: ReceiveWorkflow) -> None:
    wf.on_scan(receipt("R1"))
    confirm(wf, wf.on_scan(item("SKU-1", count=10)))
    reply = wf.on_scan(item("SKU-1"))  # 11 of 10: within 10 %
    assert only(reply).approved_by is None and not wf.wants_badge


def over_receipt(wf: ReceiveWorkflow) -> Reply:
    """Open R1 and scan 12 of the 10 expected SKU-1: beyond the 10 % tolerance."""
    wf.on_scan(receipt("R1"))
    confirm(wf, wf.on_scan(item("SKU-1", count=10)))
    return wf.on_scan(item("SKU-1", count=2))


def test_over_receipt_beyond_tolerance_asks_for_a_supervisor(wf: ReceiveWorkflow) -> None:
    reply = over_receipt(wf)
    assert not reply.commands and level(reply) is Level.WARNING
    assert "2 over the expected 10 of SKU-1" in text(reply)
    assert reply.prompt.startswith("Supervisor: scan your badge to approve receiving 2 over")
    assert wf.wants_badge and wf.busy
    assert reply.lines[0] == "SKU-1 SKU-1 name: received 10 of 10"

    pin = wf.on_scan(badge("S001"))
    assert pin.entry is Entry.PIN and "S001" in pin.prompt and not wf.wants_badge
    wrong = wf.on_entry("0000")
    assert level(wrong) is Level.WARNING and "Wrong PIN" in text(wrong) and not wrong.commands
    approved = wf.on_entry("123456")
    command = only(approved)
    assert (command.sku, command.qty, command.receipt) == ("SKU-1", 2, "R1")
    assert command.approved_by == "S001"
    assert not wf.wants_badge and approved.entry is None
    done = confirm(wf, approved)
    assert text(done) == "Received 2 x SKU-1 into DOCK-1, approved by S001."
    assert done.lines[0] == "SKU-1 SKU-1 name: received 12 of 10"


def test_wrong_pins_lock_the_badge_out(data: FakeStationData) -> None:
    wf = ReceiveWorkflow(context(data, policy=StationPolicy(pin_attempts=2)))
    over_receipt(wf)
    wf.on_scan(badge("S001"))
    assert level(wf.on_entry("1")) is Level.WARNING
    locked = wf.on_entry("2")
    assert level(locked) is Level.ERROR and "locked" in text(locked)
    assert wf.wants_badge  # back to the badge step
    wf.on_scan(badge("S001"))
    still = wf.on_entry("123456")  # the right PIN, but the badge is locked
    assert level(still) is Level.ERROR and "locked" in text(still) and not still.commands
    wf.on_scan(badge("S002"))
    assert only(wf.on_entry("567890")).approved_by == "S002"


def test_nobody_approves_their_own_over_receipt(data: FakeStationData) -> None:
    wf = ReceiveWorkflow(context(data, badge="S001"))
    over_receipt(wf)
    own = wf.on_scan(badge("S001"))
    assert level(own) is Level.ERROR and "own work" in text(own) and wf.wants_badge
    not_supervisor = wf.on_scan(badge("D001"))
    assert level(not_supervisor) is Level.ERROR and "not an active supervisor" in text(
        not_supervisor
    )
    wf.on_scan(badge("S002"))
    assert only(wf.on_entry("567890")).approved_by == "S002"


def test_other_input_while_waiting_for_approval_is_refused(wf: ReceiveWorkflow) -> None:
    over_receipt(wf)
    qty = wf.on_scan(cmd(CommandName.QTY, "5"))
    assert level(qty) is Level.ERROR and "supervisor" in text(qty) and wf.wants_badge
    tags = wf.on_tags([TagRead("E1", GTIN["SKU-1"], "1")])
    assert level(tags) is Level.ERROR and "ignored" in text(tags)


def test_cancel_drops_the_over_receipt(wf: ReceiveWorkflow) -> None:
    over_receipt(wf)
    dropped = wf.on_scan(cmd(CommandName.CANCEL))
    assert level(dropped) is Level.OK
    assert text(dropped) == "Cancelled receiving 2 over the expected 10 of SKU-1; nothing was sent."
    assert not dropped.commands and not wf.wants_badge
    assert dropped.prompt.startswith("Receipt R1: scan the next item")
    assert dropped.lines[0] == "SKU-1 SKU-1 name: received 10 of 10"


# --- damaged goods -----------------------------------------------------------------------------


def test_damaged_goes_to_quarantine_and_counts_against_the_receipt(wf: ReceiveWorkflow) -> None:
    wf.on_scan(receipt("R1"))
    marked = wf.on_scan(cmd(CommandName.DAMAGED))
    assert level(marked) is Level.OK and "quarantine QUAR-1" in text(marked)
    assert "damaged item" in marked.prompt
    reply = wf.on_scan(item("SKU-2"))
    command = only(reply)
    assert (command.to_location, command.receipt, command.qty) == ("QUAR-1", "R1", 1)
    done = confirm(wf, reply)
    assert text(done) == "Received 1 x SKU-2 into quarantine QUAR-1 (damaged)."
    assert done.lines[1] == "SKU-2 SKU-2 name: received 1 of 5"
    assert only(wf.on_scan(item("SKU-2"))).to_location == "DOCK-1"


def test_damaged_at_a_station_without_quarantine_is_refused(data: FakeStationData) -> None:
    data.stations["ST-2"] = StationInfo("ST-2", "A", "DOCK-2", None, None)
    wf = ReceiveWorkflow(context(data, station="ST-2"))
    reply = wf.on_scan(cmd(CommandName.DAMAGED))
    assert level(reply) is Level.ERROR and "no quarantine" in text(reply)
    assert only(wf.on_scan(item("SKU-1"))).to_location == "DOCK-2"


# --- closing a receipt -------------------------------------------------------------------------


def received(data: FakeStationData, **units: int) -> None:
    old = data.receipts["R1"]
    data.receipts["R1"] = Receipt(
        "R1", "open", old.lines, {k.replace("_", "-"): v for k, v in units.items()}
    )


def test_done_reports_over_and_unexpected(wf: ReceiveWorkflow, data: FakeStationData) -> None:
    wf.on_scan(receipt("R1"))
    received(data, SKU_1=11, SKU_2=5, SKU_9=2)
    done = wf.on_scan(cmd(CommandName.DONE))
    assert (closing(done).receipt, closing(done).approved_by) == ("R1", None)
    assert done.lines == (
        "SKU-1 SKU-1 name: expected 10, received 11, 1 over",
        "SKU-2 SKU-2 name: expected 5, received 5, ok",
        "SKU-9 SKU-9 name: received 2, not expected",
    )
    reply = play(wf, done)
    assert data.closed_receipts == ["R1"]
    assert level(reply) is Level.WARNING
    assert text(reply) == "Receipt R1 closed with discrepancies: 0 short, 2 over."
    assert "Scan a receipt" in reply.prompt and not wf.busy


def test_the_discrepancy_report_stays_on_screen_after_the_close_is_confirmed(
    wf: ReceiveWorkflow, data: FakeStationData
) -> None:
    wf.on_scan(receipt("R1"))
    received(data, SKU_1=11, SKU_2=5, SKU_9=2)
    reply = play(wf, wf.on_scan(cmd(CommandName.DONE)))
    assert reply.lines == (
        "SKU-1 SKU-1 name: expected 10, received 11, 1 over",
        "SKU-2 SKU-2 name: expected 5, received 5, ok",
        "SKU-9 SKU-9 name: received 2, not expected",
    )


def test_done_short_within_tolerance_closes(wf: ReceiveWorkflow, data: FakeStationData) -> None:
    wf.on_scan(receipt("R1"))
    received(data, SKU_1=9, SKU_2=5)
    done = wf.on_scan(cmd(CommandName.DONE))
    assert done.lines[0] == "SKU-1 SKU-1 name: expected 10, received 9, 1 short"
    reply = play(wf, done)
    assert data.closed_receipts == ["R1"] and level(reply) is Level.WARNING
    assert "1 short" in text(reply)


def test_done_short_beyond_tolerance_needs_a_supervisor(
    wf: ReceiveWorkflow, data: FakeStationData
) -> None:
    wf.on_scan(receipt("R1"))
    received(data, SKU_1=5, SKU_2=5)
    reply = play(wf, wf.on_scan(cmd(CommandName.DONE)))
    assert data.closed_receipts == [] and wf.wants_badge and not reply.commands
    assert level(reply) is Level.WARNING and "SKU-1: 5 of 10" in text(reply)
    assert "approve closing receipt R1 short (SKU-1: 5 of 10)" in reply.prompt
    assert reply.lines[0] == "SKU-1 SKU-1 name: expected 10, received 5, 5 short"

    kept = wf.on_scan(cmd(CommandName.CANCEL))
    assert data.closed_receipts == [] and "Receipt R1" in kept.prompt and not kept.commands

    wf.on_scan(cmd(CommandName.DONE))
    wf.on_scan(badge("S002"))
    approved = wf.on_entry("567890")
    assert (closing(approved).receipt, closing(approved).approved_by) == ("R1", "S002")
    assert approved.lines[0] == "SKU-1 SKU-1 name: expected 10, received 5, 5 short"
    closed = play(wf, approved)
    assert data.closed_receipts == ["R1"] and not closed.commands
    assert level(closed) is Level.WARNING and "approved by S002" in text(closed)
    assert "Scan a receipt" in closed.prompt and not wf.busy


def test_done_all_as_expected(wf: ReceiveWorkflow, data: FakeStationData) -> None:
    wf.on_scan(receipt("R1"))
    received(data, SKU_1=10, SKU_2=5)
    reply = play(wf, wf.on_scan(cmd(CommandName.DONE)))
    assert level(reply) is Level.OK and "everything as expected" in text(reply)
    assert data.closed_receipts == ["R1"]


def test_a_refused_close_shows_why_and_closes_nothing(
    wf: ReceiveWorkflow, data: FakeStationData
) -> None:
    wf.on_scan(receipt("R1"))
    received(data, SKU_1=10, SKU_2=5)

    def closed_meanwhile(command: Command) -> Outcome:
        """Another station closes R1 between this station's read and its CloseReceipt."""
        data.receipts["R1"] = Receipt("R1", "closed", data.receipts["R1"].lines)
        return data.answer(command)

    reply = play(wf, wf.on_scan(cmd(CommandName.DONE)), closed_meanwhile)
    assert level(reply) is Level.ERROR
    assert text(reply) == "Closing receipt R1 was refused: receipt R1 was already closed."
    assert data.closed_receipts == [] and not wf.busy


def test_a_close_kept_in_the_queue_says_so(wf: ReceiveWorkflow, data: FakeStationData) -> None:
    wf.on_scan(receipt("R1"))
    received(data, SKU_1=10, SKU_2=5)
    reply = play(wf, wf.on_scan(cmd(CommandName.DONE)), lambda command: None)
    assert level(reply) is Level.WARNING
    assert "Closing receipt R1 is queued: the database cannot be reached" in text(reply)
    assert data.closed_receipts == [] and "Scan a receipt" in reply.prompt


def test_done_without_a_receipt_closes_nothing(wf: ReceiveWorkflow, data: FakeStationData) -> None:
    reply = wf.on_scan(cmd(CommandName.DONE))
    assert level(reply) is Level.OK and "nothing to close" in text(reply)
    assert not reply.commands


def test_receipt_figures_as_pure_functions() -> None:
    lines = (ReceiptLine(1, "A", 100), ReceiptLine(2, "B", 10), ReceiptLine(3, "A", 20))
    checks = check_receipt(Receipt("R", "open", lines, {"A": 110, "C": 3}), {"B": 2})
    assert checks == (LineCheck("A", 120, 110), LineCheck("B", 10, 2), LineCheck("C", 0, 3))
    assert [(c.short, c.over) for c in checks] == [(10, 0), (8, 0), (0, 3)]
    assert short_beyond(checks, Tolerance(percent=10)) == (LineCheck("B", 10, 2),)
    assert short_beyond(checks, Tolerance(units=9)) == (LineCheck("A", 120, 110),)
    assert short_beyond(checks, Tolerance(percent=80)) == ()
    names = {"A": "Apple", "B": ""}
    assert progress_lines(checks, names) == (
        "A Apple: received 110 of 120",
        "B: received 2 of 10",
        "C: received 3, not on the receipt",
    )
    assert discrepancy_lines(checks, names)[1] == "B: expected 10, received 2, 8 short"


# --- RFID ---------------------------------------------------------------------------------------


def test_rfid_tags_are_deduped_across_bursts_and_confirmed_at_once(wf: ReceiveWorkflow) -> None:
    first = wf.on_tags(
        [
            TagRead("E-S1", GTIN["SKU-S"], "101"),
            TagRead("E-S2", GTIN["SKU-S"], "102"),
            TagRead("E-11", GTIN["SKU-1"], "7001"),
            TagRead("E-11", GTIN["SKU-1"], "7001"),
        ]
    )
    assert level(first) is Level.OK and text(first).startswith("3 new tag(s)")
    second = wf.on_tags(
        [
            TagRead("E-S1", GTIN["SKU-S"], "101"),
            TagRead("E-S3", GTIN["SKU-S"], "103"),
            TagRead("E-12", GTIN["SKU-1"], "7002"),
            TagRead("E-SSCC", sscc="006141411234567890"),
        ]
    )
    assert level(second) is Level.WARNING and "3 new tag(s), 1 already read" in text(second)
    assert second.prompt == (
        "6 tags in the field: 3 x SKU-S, 2 x SKU-1, 1 not receivable. "
        "CONFIRM receives them, CANCEL clears them."
    )
    assert second.lines == (
        "SKU-S SKU-S name: 3 tag(s)",
        "SKU-1 SKU-1 name: 2 tag(s)",
        "Tag E-SSCC: not an item tag (no GTIN)",
    )
    assert wf.busy

    reply = wf.on_scan(cmd(CommandName.CONFIRM))
    by_sku = {c.sku: c for c in reply.commands if isinstance(c, Receive)}
    assert len(reply.commands) == 2
    assert (by_sku["SKU-S"].qty, by_sku["SKU-S"].serials) == (3, ("101", "102", "103"))
    assert (by_sku["SKU-1"].qty, by_sku["SKU-1"].serials) == (2, ())
    assert {c.to_location for c in by_sku.values()} == {"DOCK-1"}
    assert {c.receipt for c in by_sku.values()} == {None}
    assert level(reply) is Level.WARNING and "1 tag(s) not received" in text(reply)
    confirm(wf, reply)

    # The same tags, still in the field, are not received twice.
    again = wf.on_tags([TagRead("E-S1", GTIN["SKU-S"], "101")])
    assert "received already" in text(again) and not wf.busy
    assert "Scan a receipt" in again.prompt


def test_rfid_against_a_receipt(wf: ReceiveWorkflow) -> None:
    wf.on_scan(receipt("R1"))
    reply = wf.on_tags(
        [
            TagRead("E-1", GTIN["SKU-2"], "1"),
            TagRead("E-2", GTIN["SKU-2"], "2"),
            TagRead("E-3", GTIN["SKU-9"], "3"),
            TagRead("E-4", GTIN["SKU-L"], "4"),
            TagRead("E-5", "00000000000017", "5"),
        ]
    )
    assert "Tag E-3: SKU-9 is not on receipt R1" in reply.lines
    assert "Tag E-4: SKU-L is tracked by lot: scan its GS1 label" in reply.lines
    assert "Tag E-5: GTIN 00000000000017 is not in the catalogue" in reply.lines
    assert "SKU-2 SKU-2 name: received 0 of 5" in reply.lines
    done = confirm(wf, wf.on_scan(cmd(CommandName.CONFIRM)))
    assert "SKU-2 SKU-2 name: received 2 of 5" in done.lines


def test_rfid_over_receipt_needs_a_supervisor(wf: ReceiveWorkflow) -> None:
    wf.on_scan(receipt("R1"))
    wf.on_tags([TagRead(f"E-{n}", GTIN["SKU-2"], str(n)) for n in range(7)])
    held = wf.on_scan(cmd(CommandName.CONFIRM))
    assert not held.commands and wf.wants_badge
    assert "2 over the expected 5 of SKU-2" in held.prompt
    wf.on_scan(badge("S001"))
    command = only(wf.on_entry("123456"))
    assert (command.qty, command.approved_by, command.receipt) == (7, "S001", "R1")


def test_cancel_clears_collected_tags(wf: ReceiveWorkflow) -> None:
    wf.on_tags([TagRead("E-1", GTIN["SKU-1"], "1"), TagRead("E-2", GTIN["SKU-1"], "2")])
    blocked = wf.on_scan(item("SKU-1"))
    assert level(blocked) is Level.ERROR and "2 RFID tag(s) are waiting" in text(blocked)
    cleared = wf.on_scan(cmd(CommandName.CANCEL))
    assert level(cleared) is Level.OK and "2 RFID tag(s) cleared" in text(cleared)
    assert not wf.busy and "Scan a receipt" in cleared.prompt
    # Cleared, not received: the same tags can be read again.
    assert text(wf.on_tags([TagRead("E-1", GTIN["SKU-1"], "1")])).startswith("1 new tag")


def test_refused_rfid_receive_lets_the_tags_be_read_again(wf: ReceiveWorkflow) -> None:
    wf.on_tags([TagRead("E-1", GTIN["SKU-S"], "1")])
    reply = wf.on_scan(cmd(CommandName.CONFIRM))
    command = only(reply)
    wf.on_outcome(command, outcome(command, ok=False, message="serial 1 is already in stock"))
    assert text(wf.on_tags([TagRead("E-1", GTIN["SKU-S"], "1")])).startswith("1 new tag")


def test_confirm_without_tags_is_refused(wf: ReceiveWorkflow) -> None:
    reply = wf.on_scan(cmd(CommandName.CONFIRM))
    assert level(reply) is Level.ERROR and "RFID" in text(reply) and not reply.commands


# --- the ledger's answers ----------------------------------------------------------------------


def test_offline_receive_is_queued_and_counted(wf: ReceiveWorkflow) -> None:
    wf.on_scan(receipt("R1"))
    command = only(wf.on_scan(item("SKU-1", count=3)))
    reply = wf.on_outcome(command, None)
    assert level(reply) is Level.WARNING
    assert "cannot be reached" in text(reply) and "queued" in text(reply)
    assert "Receiving 3 x SKU-1 into DOCK-1 is queued" in text(reply)
    assert reply.lines[0] == "SKU-1 SKU-1 name: received 3 of 10"
    assert reply.prompt.startswith("Receipt R1: scan the next item")


def test_refused_receive_shows_the_ledger_message_and_is_not_counted(
    wf: ReceiveWorkflow,
) -> None:
    wf.on_scan(receipt("R1"))
    command = only(wf.on_scan(item("SKU-1", count=3)))
    message = "lot L1 of SKU-1 expires 2026-01-01, the label says 2027-01-01"
    reply = wf.on_outcome(command, outcome(command, ok=False, message=message, reason="x"))
    assert level(reply) is Level.ERROR and message in text(reply)
    assert "Receiving 3 x SKU-1 was refused" in text(reply)
    assert reply.lines[0] == "SKU-1 SKU-1 name: received 0 of 10"


def test_done_waits_for_receives_still_on_their_way(
    wf: ReceiveWorkflow, data: FakeStationData
) -> None:
    wf.on_scan(receipt("R1"))
    reply = wf.on_scan(item("SKU-1"))
    early = wf.on_scan(cmd(CommandName.DONE))
    assert level(early) is Level.ERROR and not early.commands
    confirm(wf, reply)
    received(data, SKU_1=10, SKU_2=5)
    assert level(play(wf, wf.on_scan(cmd(CommandName.DONE)))) is Level.OK
    assert data.closed_receipts == ["R1"]


# --- what does not apply -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scan", "expected"),
    [
        (cmd(CommandName.SHORT), "does not apply when receiving"),
        (cmd(CommandName.CANCEL), "Nothing to cancel"),
        (cmd(CommandName.UNDO), "Nothing to undo"),
        (meaning(Kind.LOCATION, code="A-01"), "Scanned location A-01, but this step needs"),
        (meaning(Kind.ORDER, code="O-1"), "Scanned order O-1"),
    ],
)
def test_inputs_that_do_not_apply_are_errors(
    wf: ReceiveWorkflow, scan: Interpretation, expected: str
) -> None:
    reply = wf.on_scan(scan)
    assert level(reply) is Level.ERROR and expected in text(reply)
    assert "Scan a receipt" in reply.prompt and not reply.commands


def test_station_without_a_dock_cannot_receive(data: FakeStationData) -> None:
    data.stations["ST-9"] = StationInfo("ST-9", "A", None, "QUAR-1", None)
    wf = ReceiveWorkflow(context(data, station="ST-9"))
    start = wf.start()
    assert level(start) is Level.ERROR and "no dock lane" in text(start)
    reply = wf.on_scan(item("SKU-1"))
    assert level(reply) is Level.ERROR and "no dock lane" in text(reply) and not reply.commands
    assert level(wf.on_tags([TagRead("E-1", GTIN["SKU-1"], "1")])) is Level.ERROR
