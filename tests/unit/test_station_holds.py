"""Holds at the station: `@CMD:HOLD` from any mode puts a location or lot on hold; a transfer out
of held stock is not sent but released by a supervisor (badge, PIN, reason); the ledger's answers
are said in words. The shift and its real workflows against the in-memory station (no database,
no Qt); the ledger's answers are built the way it shapes them."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from app.domain.commands import Command, Hold, ReleaseHold, ReleaseReason, Transfer
from app.domain.interpret import CommandName, Interpretation, Kind, StationMode
from app.domain.model import Tracking
from app.domain.shift import Shift
from app.domain.workflow import Entry, Holding, Level, Reply, WorkContext, Workflow
from app.domain.workflows.pick import PickWorkflow
from app.domain.workflows.receive import ReceiveWorkflow
from app.domain.workflows.transfer import TransferWorkflow
from tests.support.fake_station import STATION, FakeStationData, meaning, outcome

GTIN = {"MILK": "09506000134352", "BOLT": "09506000134369"}
STILL = "Receiving, putaway from DOCK-1, counts and the lists you hold keep working."
OFFLINE_HOLD = f"The database is out of reach since 10:00: hold can't be done now. {STILL}"
OFFLINE_RELEASE = (
    f"The database is out of reach since 10:00: release hold can't be done now. {STILL}"
)
"""What the session answers for a hold or release it cannot send (domain/offline.py)."""


@pytest.fixture
def data() -> FakeStationData:
    data = FakeStationData()
    data.add_sku("MILK", GTIN["MILK"], Tracking.LOT)
    data.add_sku("BOLT", GTIN["BOLT"])
    data.add_bin("B-01", Holding("MILK", "L1", 5), Holding("MILK", "L2", 3))
    data.add_bin("B-02")
    return data


def shift_for(data: FakeStationData, badge_code: str, pin: str | None = None) -> Shift:
    workflows: dict[StationMode, Callable[[WorkContext], Workflow]] = {
        StationMode.RECEIVE: ReceiveWorkflow,
        StationMode.TRANSFER: TransferWorkflow,
        StationMode.PICK: PickWorkflow,
    }
    shift = Shift(STATION, data, None, workflows)
    shift.on_scan(badge(badge_code), 0)
    if pin is not None:
        shift.on_entry(pin)
    assert shift.operator is not None and shift.operator.badge == badge_code
    return shift


def badge(code: str) -> Interpretation:
    return meaning(Kind.BADGE, code=code)


def location(code: str) -> Interpretation:
    return meaning(Kind.LOCATION, code=code)


def cmd(name: CommandName, arg: str | None = None) -> Interpretation:
    return meaning(Kind.COMMAND, command=name, command_arg=arg)


def milk(lot: str | None = None, **fields: object) -> Interpretation:
    return meaning(Kind.ITEM, gtin=GTIN["MILK"], sku="MILK", lot=lot, **fields)


def level(reply: Reply) -> Level | None:
    return reply.feedback.level if reply.feedback else None


def text(reply: Reply) -> str:
    return reply.feedback.text if reply.feedback else ""


def one(reply: Reply) -> Command:
    assert len(reply.commands) == 1, reply
    return reply.commands[0]


def scans(shift: Shift, *inputs: Interpretation) -> Reply:
    reply = shift.last
    for scan in inputs:
        reply = shift.on_scan(scan, 0)
    return reply


# --- @CMD:HOLD -----------------------------------------------------------------------------------


def test_hold_a_location_from_receive_mode(data: FakeStationData) -> None:
    shift = shift_for(data, "D001")
    before = shift.last.prompt
    asked = shift.on_scan(cmd(CommandName.HOLD), 0)
    assert asked.prompt.startswith("Hold: scan the location to hold, or an item label with the")
    assert shift.busy
    sent = shift.on_scan(location("B-01"), 0)
    hold = one(sent)
    assert isinstance(hold, Hold)
    assert (hold.location, hold.sku, hold.lot) == ("B-01", None, None)
    assert hold.reason == "held at station ST-1 by D001"
    assert (hold.station, hold.operator) == ("ST-1", "D001")
    assert sent.prompt == before  # back to the mode's own step
    answered = shift.on_outcome(hold, outcome(hold))
    assert level(answered) is Level.OK
    assert text(answered) == (
        "Location B-01 is on hold (held at station ST-1 by D001): nothing of it is picked, "
        "moved or shipped until a supervisor releases it."
    )
    assert answered.prompt == before and not answered.commands and not shift.busy


def test_hold_a_lot_with_a_reason_from_pick_mode(data: FakeStationData) -> None:
    shift = shift_for(data, "P001")
    assert shift.mode is StationMode.PICK
    shift.on_scan(cmd(CommandName.HOLD), 0)
    reason = shift.on_scan(cmd(CommandName.REASON, "damaged"), 0)
    assert level(reason) is Level.OK and reason.prompt.startswith("Hold (reason: damaged):")
    hold = one(shift.on_scan(milk("L1"), 0))
    assert isinstance(hold, Hold)
    assert (hold.location, hold.sku, hold.lot, hold.reason) == (None, "MILK", "L1", "damaged")
    answered = shift.on_outcome(hold, outcome(hold))
    assert text(answered).startswith("Lot L1 of MILK is on hold (damaged):")


def test_what_a_hold_cannot_take_is_refused_and_the_step_goes_on(data: FakeStationData) -> None:
    shift = shift_for(data, "D001")
    shift.on_scan(cmd(CommandName.HOLD), 0)
    no_lot = shift.on_scan(milk(), 0)
    assert level(no_lot) is Level.ERROR and "carries no lot (10)" in text(no_lot)
    untracked = shift.on_scan(meaning(Kind.ITEM, gtin=GTIN["BOLT"], sku="BOLT", lot="X"), 0)
    assert "BOLT is not tracked by lot" in text(untracked)
    unknown = shift.on_scan(meaning(Kind.ITEM, gtin="00000000000017"), 0)
    assert "No item in the catalogue has barcode 00000000000017" in text(unknown)
    mode = shift.on_scan(cmd(CommandName.MODE, "transfer"), 0)
    assert level(mode) is Level.ERROR and shift.mode is StationMode.RECEIVE
    keypad = shift.on_entry("5")
    assert level(keypad) is Level.ERROR and "The keypad is not taken" in text(keypad)
    tags = shift.on_tags([])
    assert level(tags) is Level.ERROR
    assert not (no_lot.commands or untracked.commands or unknown.commands or keypad.commands)
    assert isinstance(one(shift.on_scan(location("B-02"), 0)), Hold)


def test_cancel_drops_the_hold(data: FakeStationData) -> None:
    shift = shift_for(data, "D001")
    before = shift.last.prompt
    shift.on_scan(cmd(CommandName.HOLD), 0)
    shift.on_scan(cmd(CommandName.REASON, "damaged"), 0)
    cancelled = shift.on_scan(cmd(CommandName.CANCEL), 0)
    assert level(cancelled) is Level.WARNING and not cancelled.commands
    assert text(cancelled) == "Hold cancelled: nothing was put on hold."
    assert cancelled.prompt == before and not shift.busy


def test_a_hold_already_in_place_is_said_as_the_ledger_says(data: FakeStationData) -> None:
    shift = shift_for(data, "D001")
    hold = one(scans(shift, cmd(CommandName.HOLD), location("QUAR-1")))
    answered = shift.on_outcome(
        hold,
        outcome(
            hold,
            message="QUAR-1 is already held: it is a quarantine location",
            result={"already": True},
        ),
    )
    assert level(answered) is Level.OK
    assert text(answered) == "QUAR-1 is already held: it is a quarantine location."


def test_a_hold_the_ledger_refuses_or_the_station_cannot_send_says_so(
    data: FakeStationData,
) -> None:
    shift = shift_for(data, "D001")
    hold = one(scans(shift, cmd(CommandName.HOLD), location("B-01")))
    refused = shift.on_outcome(
        hold, outcome(hold, False, "location B-01 is already on hold (damaged)", "bad_input")
    )
    assert level(refused) is Level.ERROR
    assert text(refused) == (
        "Putting location B-01 on hold was refused: location B-01 is already on hold "
        "(damaged). Nothing was put on hold; tell a supervisor."
    )
    hold = one(scans(shift, cmd(CommandName.HOLD), location("B-02")))
    offline = shift.on_outcome(hold, outcome(hold, False, OFFLINE_HOLD, "offline"))
    assert level(offline) is Level.ERROR
    assert text(offline) == (
        f"Putting location B-02 on hold was refused: {OFFLINE_HOLD} Nothing was put on hold; tell a "
        "supervisor."
    )


# --- a transfer out of held stock needs a supervisor's release ---------------------------------


def transfer_from_quarantine(data: FakeStationData, shift: Shift) -> Reply:
    """Five MILK of lot L1 stand in quarantine; the worker takes them to B-02."""
    data.holdings["QUAR-1"] = [Holding("MILK", "L1", 5)]
    shift.on_scan(cmd(CommandName.MODE, "transfer"), 0)
    source = shift.on_scan(location("QUAR-1"), 0)
    assert level(source) is Level.WARNING
    assert text(source) == (
        "Moving from QUAR-1. QUAR-1 is a quarantine location: its stock is held until a "
        "supervisor releases it: what you move from it needs a supervisor's release once you "
        "scan the target."
    )
    shift.on_scan(cmd(CommandName.QTY, "5"), 0)
    shift.on_scan(milk("L1"), 0)
    return shift.on_scan(location("B-02"), 0)


def test_a_transfer_out_of_quarantine_is_not_sent_and_asks_for_a_release(
    data: FakeStationData,
) -> None:
    shift = shift_for(data, "D001")
    held = transfer_from_quarantine(data, shift)
    assert not held.commands and level(held) is Level.ERROR
    assert text(held) == (
        "5 x MILK lot L1 cannot be moved from QUAR-1: QUAR-1 is a quarantine location: its "
        "stock is held until a supervisor releases it. Nothing was moved. Supervisor: scan your "
        "badge and enter your PIN, then the reason (INSPECTED_OK, RETURNED_TO_VENDOR, "
        "SCRAPPED), to release it; CANCEL leaves it held."
    )
    assert held.prompt.startswith("Supervisor: scan your badge to approve releasing 5 x MILK")
    assert held.lines == (
        "Held in QUAR-1: 5 x MILK lot L1 (QUAR-1 is a quarantine location: its stock is held "
        "until a supervisor releases it)",
    )
    assert shift.workflow is not None and shift.workflow.wants_badge


def test_a_supervisor_releases_quarantined_goods_inspected_ok_to_the_target(
    data: FakeStationData,
) -> None:
    shift = shift_for(data, "D001")
    transfer_from_quarantine(data, shift)
    not_supervisor = shift.on_scan(badge("P001"), 0)
    assert "not an active supervisor" in text(not_supervisor)
    asked = shift.on_scan(cmd(CommandName.REASON, "inspected_ok"), 0)
    assert level(asked) is Level.ERROR and "badge and PIN come first" in text(asked)
    pin = shift.on_scan(badge("S001"), 0)  # the shift hands the badge to the workflow
    assert pin.entry is Entry.PIN and shift.operator is not None
    assert shift.operator.badge == "D001"
    wrong = shift.on_entry("000000")
    assert level(wrong) is Level.WARNING and "Wrong PIN" in text(wrong)
    approved = shift.on_entry("123456")
    assert level(approved) is Level.OK and approved.entry is None
    assert approved.prompt.startswith("Supervisor S001: scan the reason. INSPECTED_OK moves")
    not_a_reason = shift.on_scan(location("B-01"), 0)
    assert level(not_a_reason) is Level.ERROR and "needs its reason" in text(not_a_reason)
    release = one(shift.on_scan(cmd(CommandName.REASON, "inspected_ok"), 0))
    assert isinstance(release, ReleaseHold)
    assert release.reason is ReleaseReason.INSPECTED_OK
    assert (release.sku, release.lot, release.qty) == ("MILK", "L1", 5)
    assert (release.location, release.to_location) == ("QUAR-1", "B-02")
    assert (release.approved_by, release.approver_pin, release.operator) == (
        "S001",
        "123456",
        "D001",
    )
    done = shift.on_outcome(release, outcome(release))
    assert level(done) is Level.OK
    assert text(done) == (
        "Released 5 x MILK lot L1 from QUAR-1 to B-02 (inspected ok, approved by S001)."
    )
    assert done.prompt == "Scan the location to move goods from." and not shift.busy


@pytest.mark.parametrize("reason", ["returned_to_vendor", "scrapped"])
def test_returned_or_scrapped_goods_leave_stock(data: FakeStationData, reason: str) -> None:
    shift = shift_for(data, "D001")
    transfer_from_quarantine(data, shift)
    shift.on_scan(badge("S002"), 0)
    shift.on_entry("567890")
    release = one(shift.on_scan(cmd(CommandName.REASON, reason), 0))
    assert isinstance(release, ReleaseHold)
    assert release.reason is ReleaseReason(reason) and release.to_location is None
    done = shift.on_outcome(release, outcome(release))
    words = reason.replace("_", " ")
    assert text(done) == (
        f"Released 5 x MILK lot L1 from QUAR-1 out of stock ({words}, approved by S002)."
    )


def test_a_logged_in_supervisor_releases_with_their_own_pin(data: FakeStationData) -> None:
    shift = shift_for(data, "S001", "123456")
    transfer_from_quarantine(data, shift)
    pin = shift.on_scan(badge("S001"), 0)
    assert pin.entry is Entry.PIN and level(pin) is None
    shift.on_entry("123456")
    release = one(shift.on_scan(cmd(CommandName.REASON, "inspected_ok"), 0))
    assert isinstance(release, ReleaseHold)
    assert (release.operator, release.approved_by) == ("S001", "S001")


def test_cancel_leaves_the_goods_held(data: FakeStationData) -> None:
    shift = shift_for(data, "D001")
    transfer_from_quarantine(data, shift)
    shift.on_scan(badge("S001"), 0)
    shift.on_entry("123456")
    kept = shift.on_scan(cmd(CommandName.CANCEL), 0)
    assert level(kept) is Level.WARNING and not kept.commands
    assert text(kept) == "Nothing released: 5 x MILK lot L1 stay held in QUAR-1."
    assert kept.prompt == "Scan the location to move goods from." and not shift.busy


def test_a_lot_on_hold_is_released_and_the_rest_moves_at_once(data: FakeStationData) -> None:
    data.held_lots[("MILK", "L1")] = "recall 12"
    shift = shift_for(data, "D001")
    scans(shift, cmd(CommandName.MODE, "transfer"), location("B-01"))
    moving = shift.on_scan(milk("L1", count=5), 0)
    assert level(moving) is Level.OK  # a lot hold is found when the target is known
    shift.on_scan(milk("L2", count=3), 0)
    target = shift.on_scan(location("B-02"), 0)
    transfer = one(target)
    assert isinstance(transfer, Transfer) and (transfer.lot, transfer.qty) == ("L2", 3)
    assert level(target) is Level.ERROR
    assert text(target).startswith(
        "5 x MILK lot L1 cannot be moved from B-01: lot L1 of MILK is on hold (recall 12)."
    )
    assert text(target).endswith("The rest is being moved.")
    moved = shift.on_outcome(transfer, outcome(transfer))
    assert "Moved 3 x MILK lot L2 from B-01 to B-02." in text(moved)
    assert moved.prompt.startswith("Supervisor: scan your badge to approve releasing 5 x MILK")
    shift.on_scan(badge("S002"), 0)
    shift.on_entry("567890")
    release = one(shift.on_scan(cmd(CommandName.REASON, "inspected_ok"), 0))
    assert isinstance(release, ReleaseHold)
    assert (release.location, release.lot, release.qty) == ("B-01", "L1", 5)
    assert release.to_location == "B-02"
    done = shift.on_outcome(release, outcome(release))
    assert level(done) is Level.OK
    assert text(done) == (
        "Released 5 x MILK lot L1 from B-01 to B-02 (inspected ok, approved by S002). Lot L1 of "
        "MILK is on hold (recall 12): the goods stay held there until that hold is lifted."
    )


def test_a_hold_only_the_ledger_knew_of_leads_to_the_same_release(
    data: FakeStationData,
) -> None:
    """A hold put on at another station minutes ago: the station's copy does not know it yet."""
    shift = shift_for(data, "D001")
    transfer = one(
        scans(
            shift,
            cmd(CommandName.MODE, "transfer"),
            location("B-01"),
            milk("L1", count=5),
            location("B-02"),
        )
    )
    assert isinstance(transfer, Transfer)
    refused = shift.on_outcome(
        transfer, outcome(transfer, False, "B-01 is on hold (damaged)", "held")
    )
    assert level(refused) is Level.ERROR
    assert text(refused) == (
        "Moving 5 x MILK lot L1 from B-01 to B-02 was refused: B-01 is on hold (damaged). "
        "Nothing of it moved. A supervisor may release it: scan your badge."
    )
    assert refused.lines == ("Held in B-01: 5 x MILK lot L1 (B-01 is on hold (damaged))",)
    shift.on_scan(badge("S001"), 0)
    shift.on_entry("123456")
    release = one(shift.on_scan(cmd(CommandName.REASON, "inspected_ok"), 0))
    assert isinstance(release, ReleaseHold)
    assert (release.location, release.to_location, release.qty) == ("B-01", "B-02", 5)


def test_a_release_refused_or_not_sent_offline_says_the_goods_stay_held(
    data: FakeStationData,
) -> None:
    """Offline the supervisor's PIN is checked against the station's copy, and the release,
    which needs the ledger now, is refused by the station itself."""
    shift = shift_for(data, "D001")
    transfer_from_quarantine(data, shift)
    shift.on_scan(badge("S001"), 0)
    shift.on_entry("123456")
    release = one(shift.on_scan(cmd(CommandName.REASON, "inspected_ok"), 0))
    assert isinstance(release, ReleaseHold)
    offline = shift.on_outcome(release, outcome(release, False, OFFLINE_RELEASE, "offline"))
    assert level(offline) is Level.ERROR
    assert text(offline) == (
        f"Releasing 5 x MILK lot L1 from QUAR-1 to B-02 (inspected ok, approved by S001) was "
        f"refused: {OFFLINE_RELEASE} Nothing of it moved; it stays held."
    )


def test_a_transfer_between_free_bins_asks_nobody(data: FakeStationData) -> None:
    shift = shift_for(data, "D001")
    source = scans(shift, cmd(CommandName.MODE, "transfer"), location("B-01"))
    assert text(source) == "Moving from B-01."
    transfer = one(scans(shift, milk("L2", count=3), location("B-02")))
    assert isinstance(transfer, Transfer) and not shift.busy
