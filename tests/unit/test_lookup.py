"""Stock lookup at the station (`@CMD:LOOKUP`, domain/workflows/lookup.py): from any mode, a
location label shows what it holds (per SKU and lot, expiry, on hand, reserved, held), an item
barcode every location holding it in pick-path order (capped); a counter sees no quantities;
nothing is sent; DONE or CANCEL goes back to the mode's step. The shift and its real workflows
against the in-memory station (no database, no Qt)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from app.domain.commands import Transfer
from app.domain.interpret import COMMAND_MEANINGS, CommandName, Interpretation, Kind, StationMode
from app.domain.model import Tracking
from app.domain.shift import Shift
from app.domain.workflow import Freshness, Holding, Level, Reply, WorkContext, Workflow
from app.domain.workflows.count import CountWorkflow
from app.domain.workflows.lookup import LOCATIONS_SHOWN, age_text
from app.domain.workflows.pick import PickWorkflow
from app.domain.workflows.receive import ReceiveWorkflow
from app.domain.workflows.transfer import TransferWorkflow
from tests.support.fake_station import STATION, FakeStationData, meaning, outcome

GTIN = {"MILK": "09506000134352", "BOLT": "09506000134369"}
NOW = datetime.now(UTC)
TODAY = NOW.date()
SOON = TODAY + timedelta(days=30)
GONE = TODAY - timedelta(days=2)


@pytest.fixture
def data() -> FakeStationData:
    data = FakeStationData(copied_at=datetime.now(UTC) - timedelta(minutes=42, seconds=20))
    data.add_sku("MILK", GTIN["MILK"], Tracking.LOT)
    data.add_sku("BOLT", GTIN["BOLT"])
    data.add_bin("B-01", Holding("MILK", "L1", 5), Holding("MILK", "L2", 3))
    data.add_bin("B-02", Holding("BOLT", None, 40))
    data.add_bin("B-03")
    data.expiries[("MILK", "L1")] = SOON
    data.expiries[("MILK", "L2")] = GONE
    data.reservations[("B-01", "MILK", "L1")] = 2
    data.pick_sequences.update({"B-01": 20, "B-02": 10, "B-03": 30})
    return data


def shift_for(data: FakeStationData, badge_code: str) -> Shift:
    workflows: dict[StationMode, Callable[[WorkContext], Workflow]] = {
        StationMode.RECEIVE: ReceiveWorkflow,
        StationMode.TRANSFER: TransferWorkflow,
        StationMode.PICK: PickWorkflow,
        StationMode.COUNT: CountWorkflow,
    }
    shift = Shift(STATION, data, None, workflows)
    shift.on_scan(meaning(Kind.BADGE, code=badge_code), 0)
    assert shift.operator is not None and shift.operator.badge == badge_code
    return shift


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


def test_a_dock_worker_looks_up_a_bin_from_receive_mode(data: FakeStationData) -> None:
    shift = shift_for(data, "D001")
    before = shift.last.prompt
    asked = shift.on_scan(cmd(CommandName.LOOKUP), 0)
    assert asked.prompt.startswith("Lookup: scan a location label")
    looked = shift.on_scan(location("B-01"), 0)
    assert level(looked) is Level.OK and not looked.commands
    assert looked.prompt == (
        "B-01 holds 8 unit(s) of 2 SKUs and lots (station's copy, 42 min old). Scan another "
        "location or item to look it up; DONE or CANCEL goes back."
    )
    assert looked.lines == (
        f"MILK MILK name, lot L1, expires {SOON.isoformat()}: on hand 5, reserved 2, available 3",
        f"MILK MILK name, lot L2, EXPIRED {GONE.isoformat()}: on hand 3, reserved 0, available 3",
    )
    back = shift.on_scan(cmd(CommandName.DONE), 0)
    assert back.prompt == before and text(back) == "Lookup closed: nothing was changed."
    assert not back.commands and not back.lines and not shift.busy
    assert shift.mode is StationMode.RECEIVE


def test_an_item_is_found_in_every_location_in_pick_path_order(data: FakeStationData) -> None:
    data.add_bin("B-04", Holding("MILK", "L1", 4))
    data.pick_sequences["B-04"] = 5
    shift = shift_for(data, "P001")
    assert shift.mode is StationMode.PICK
    shift.on_scan(cmd(CommandName.LOOKUP), 0)
    found = shift.on_scan(milk("L1"), 0)
    assert level(found) is Level.OK and not found.commands
    assert found.prompt.startswith(
        "MILK MILK name: 10 available, 12 on hand in 2 locations, 2 reserved (station's copy"
    )
    assert found.lines == (
        f"B-04: lot L1, expires {SOON}: available 4 (on hand 4, reserved 0)",
        f"B-01: lot L2, EXPIRED {GONE}: available 3 (on hand 3, reserved 0)",
        f"B-01: lot L1, expires {SOON}: available 3 (on hand 5, reserved 2)",
    )


def test_an_item_in_many_locations_lists_the_first_and_counts_the_rest(
    data: FakeStationData,
) -> None:
    for n in range(LOCATIONS_SHOWN + 3):
        data.add_bin(f"C-{n:02d}", Holding("BOLT", None, 1))
        data.pick_sequences[f"C-{n:02d}"] = 100 - n  # the path runs backwards through C
    shift = shift_for(data, "D001")
    found = scan_all(shift, cmd(CommandName.LOOKUP), meaning(Kind.ITEM, gtin=GTIN["BOLT"]))
    assert found.prompt.startswith("BOLT BOLT name: 53 available, 53 on hand in 14 locations")
    assert found.lines[0].startswith("B-02: no lot: available 40")
    assert found.lines[1].startswith("C-12: no lot")  # pick sequence 88
    assert len(found.lines) == LOCATIONS_SHOWN + 1
    assert found.lines[-1] == "... and 4 more locations."


def test_a_counter_sees_where_things_are_but_no_quantities(data: FakeStationData) -> None:
    shift = shift_for(data, "C001")
    assert shift.mode is StationMode.COUNT
    looked = scan_all(shift, cmd(CommandName.LOOKUP), location("B-01"))
    assert looked.prompt.startswith("B-01 holds 2 SKUs and lots (station's copy, 42 min old).")
    assert looked.lines == (
        f"MILK MILK name, lot L1, expires {SOON.isoformat()}",
        f"MILK MILK name, lot L2, EXPIRED {GONE.isoformat()}",
    )
    found = shift.on_scan(milk(), 0)
    assert found.prompt.startswith("MILK MILK name stands in 1 location (station's copy")
    # within a location, the lot that expires first comes first
    assert found.lines == (f"B-01: lot L2, EXPIRED {GONE}", f"B-01: lot L1, expires {SOON}")
    shown = " ".join((looked.prompt, found.prompt, *looked.lines, *found.lines))
    for word in ("on hand", "reserved", "available", "unit"):
        assert word not in shown


def test_held_stock_is_marked(data: FakeStationData) -> None:
    data.held_lots[("MILK", "L2")] = "damaged"
    shift = shift_for(data, "D001")
    looked = scan_all(shift, cmd(CommandName.LOOKUP), location("B-01"))
    assert level(looked) is Level.OK
    assert looked.lines[1].endswith(". HELD: lot L2 of MILK is on hold (damaged)")
    assert "HELD" not in looked.lines[0]
    data.held_locations["B-02"] = "water damage"
    held = shift.on_scan(location("B-02"), 0)
    assert level(held) is Level.WARNING and text(held) == "B-02 is on hold (water damage)."
    assert held.lines[0] == "ON HOLD: B-02 is on hold (water damage)."
    quarantine = shift.on_scan(location("QUAR-1"), 0)
    assert quarantine.prompt.startswith("QUAR-1 (quarantine) holds nothing")
    assert "quarantine location" in quarantine.lines[0]


def test_each_scan_looks_up_again_and_wrong_inputs_are_refused(data: FakeStationData) -> None:
    shift = shift_for(data, "D001")
    shift.on_scan(cmd(CommandName.LOOKUP), 0)
    first = shift.on_scan(location("B-01"), 0)
    second = shift.on_scan(location("B-03"), 0)
    assert second.prompt.startswith("B-03 holds nothing") and first.lines != second.lines
    assert second.lines == ("Nothing stands in B-03 as far as the station knows.",)
    unknown = shift.on_scan(meaning(Kind.ITEM, gtin="00000000000017"), 0)
    assert level(unknown) is Level.ERROR
    assert "No item in the catalogue has barcode 00000000000017" in text(unknown)
    assert unknown.lines == second.lines  # the last answer stays on screen
    order = shift.on_scan(meaning(Kind.ORDER, code="SO-1"), 0)
    assert level(order) is Level.ERROR and "a lookup needs a location label" in text(order)
    mode = shift.on_scan(cmd(CommandName.MODE, "transfer"), 0)
    assert level(mode) is Level.ERROR and shift.mode is StationMode.RECEIVE
    keypad = shift.on_entry("5")
    assert level(keypad) is Level.ERROR and "The keypad is not taken during a lookup" in text(
        keypad
    )
    assert level(shift.on_tags([])) is Level.ERROR
    again = shift.on_scan(cmd(CommandName.LOOKUP), 0)
    assert level(again) is Level.OK
    cancelled = shift.on_scan(cmd(CommandName.CANCEL), 0)
    assert text(cancelled) == "Lookup closed: nothing was changed." and not shift.busy


def test_a_lookup_in_the_middle_of_a_task_goes_back_to_it(data: FakeStationData) -> None:
    shift = shift_for(data, "D001")
    moving = scan_all(shift, cmd(CommandName.MODE, "transfer"), location("B-01"))
    scan_all(shift, cmd(CommandName.LOOKUP), location("B-03"))
    back = shift.on_scan(cmd(CommandName.DONE), 0)
    assert back.prompt == moving.prompt
    transfer = scan_all(shift, milk("L1", count=2), location("B-03")).commands[0]
    assert isinstance(transfer, Transfer)
    # The ledger answers while the worker looks something up: the lookup stays on screen with
    # the answer's feedback; DONE goes back to the transfer's next step.
    looking = scan_all(shift, cmd(CommandName.LOOKUP), location("B-03"))
    answered = shift.on_outcome(transfer, outcome(transfer, message="moved"))
    assert answered.prompt == looking.prompt and answered.lines == looking.lines
    assert answered.feedback is not None and not answered.commands
    done = shift.on_scan(cmd(CommandName.DONE), 0)
    assert done.prompt.startswith("Scan the location to move goods from")
    assert not shift.busy


def test_the_age_of_the_answer_is_said() -> None:
    now = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    assert age_text(Freshness(live=True), now) == "live from the database"
    assert age_text(Freshness(False, None), now) == "the station has no copy of the warehouse yet"
    assert age_text(Freshness(False, now - timedelta(seconds=5)), now) == "station's copy, 5 s old"
    old = Freshness(False, now - timedelta(minutes=7))
    assert age_text(old, now) == "station's copy, 7 min old"
    older = Freshness(False, now - timedelta(hours=3))
    assert age_text(older, now).startswith("station's copy of ")


def test_lookup_is_a_command_on_the_sheet() -> None:
    assert CommandName("LOOKUP") is CommandName.LOOKUP
    assert "look up stock" in COMMAND_MEANINGS[CommandName.LOOKUP]


def scan_all(shift: Shift, *inputs: Interpretation) -> Reply:
    reply = shift.last
    for scan in inputs:
        reply = shift.on_scan(scan, 0)
    return reply
