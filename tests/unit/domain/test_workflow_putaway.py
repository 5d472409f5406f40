"""Putaway mode as the worker sees it: what is on the dock, the suggested bin, the bin scan, and
the exact Putaway commands it submits, against the in-memory station (no database, no Qt)."""

from __future__ import annotations

import pytest

from app.domain.commands import Command, HoldBin, Putaway
from app.domain.interpret import CommandName, Interpretation, Kind, StationMode
from app.domain.ledger import Outcome
from app.domain.model import Tracking
from app.domain.ports import DatabaseUnavailable
from app.domain.workflow import Holding, Level, Putback, Reply, StationInfo, TagRead
from app.domain.workflows.putaway import PutawayWorkflow, lots_text, next_suggestion
from tests.support.fake_station import Answer, FakeStationData, context, meaning, outcome, play

GTIN = {
    "SKU-1": "09506000134352",
    "SKU-2": "09506000134369",
    "SKU-L": "09506000134376",
    "SKU-S": "09506000134383",
}


@pytest.fixture
def data() -> FakeStationData:
    data = FakeStationData()
    data.add_sku("SKU-1", GTIN["SKU-1"])
    data.add_sku("SKU-2", GTIN["SKU-2"])
    data.add_sku("SKU-L", GTIN["SKU-L"], Tracking.LOT)
    data.add_sku("SKU-S", GTIN["SKU-S"], Tracking.SERIAL)
    for code in ("A-01", "B-02", "C-03"):
        data.add_bin(code)
    data.holdings["DOCK-1"] = [
        Holding("SKU-1", None, 8),
        Holding("SKU-L", "L1", 3),
        Holding("SKU-L", "L2", 4),
        Holding("SKU-S", None, 2),
    ]
    data.suggestions = ["A-01"]
    return data


@pytest.fixture
def wf(data: FakeStationData) -> PutawayWorkflow:
    return PutawayWorkflow(context(data))


def item(sku: str, **fields: object) -> Interpretation:
    return meaning(Kind.ITEM, gtin=GTIN[sku], sku=sku, **fields)


def cmd(name: CommandName, arg: str | None = None) -> Interpretation:
    return meaning(Kind.COMMAND, command=name, command_arg=arg)


def location(code: str) -> Interpretation:
    return meaning(Kind.LOCATION, code=code)


def take(wf: PutawayWorkflow, scan: Interpretation, answer: Answer | None = None) -> Reply:
    """Scan what to put away; the bin suggestion it asks for is answered by the ledger (the
    fake's, unless `answer` stands in for it)."""
    return play(wf, wf.on_scan(scan), answer)


def only(reply: Reply) -> Putaway:
    assert len(reply.commands) == 1
    command = reply.commands[0]
    assert isinstance(command, Putaway)
    return command


def level(reply: Reply) -> Level | None:
    return reply.feedback.level if reply.feedback else None


def text(reply: Reply) -> str:
    return reply.feedback.text if reply.feedback else ""


IDLE = "Scan an item or licence plate on DOCK-1 to put it away."
ASK = "; QTY or the keypad changes how many."
"""The end of the bin step's prompt when the dock holds more than one unit: it asks how many."""


def test_start_asks_for_goods_on_the_dock(wf: PutawayWorkflow) -> None:
    reply = wf.start()
    assert wf.mode is StationMode.PUTAWAY
    assert reply.prompt == IDLE and reply.feedback is None
    assert not wf.busy and not wf.wants_badge


def test_put_everything_of_the_sku_into_the_suggested_bin(wf: PutawayWorkflow) -> None:
    taken = take(wf, item("SKU-1"))
    assert taken.prompt == f"Put 8 x SKU-1 into A-01 (suggested). Scan the bin{ASK}"
    assert taken.feedback is None and not taken.commands and wf.busy
    assert taken.lines == ("A-01: room for it",)

    reply = wf.on_scan(location("A-01"))
    command = only(reply)
    assert (command.sku, command.qty, command.lot, command.serials) == ("SKU-1", 8, None, ())
    assert (command.from_location, command.to_location, command.suggested) == (
        "DOCK-1",
        "A-01",
        "A-01",
    )
    assert (command.station, command.operator) == ("ST-1", "D001")

    done = wf.on_outcome(command, outcome(command, message="put 8 x SKU-1 into A-01"))
    assert level(done) is Level.OK and text(done) == "Put 8 x SKU-1 into A-01."
    assert done.prompt == IDLE and not wf.busy


def test_another_bin_than_the_suggested_one_is_an_override(wf: PutawayWorkflow) -> None:
    take(wf, item("SKU-1"))
    command = only(wf.on_scan(location("B-02")))
    assert (command.to_location, command.suggested) == ("B-02", "A-01")
    done = wf.on_outcome(command, outcome(command))
    assert text(done) == "Put 8 x SKU-1 into B-02 instead of the suggested A-01."


def test_qty_and_keypad_set_how_many(wf: PutawayWorkflow, data: FakeStationData) -> None:
    data.suggestions = ["A-01", "B-02", "C-03"]
    set_qty = wf.on_scan(cmd(CommandName.QTY, "5"))
    assert level(set_qty) is Level.OK and set_qty.prompt.endswith("(quantity 5).")
    assert take(wf, item("SKU-1")).prompt.startswith("Put 5 x SKU-1 into A-01")
    first = only(wf.on_scan(location("A-01")))
    assert first.qty == 5
    wf.on_outcome(first, outcome(first))

    assert level(wf.on_entry("3")) is Level.OK
    take(wf, item("SKU-1"))
    second = only(wf.on_scan(location("B-02")))
    assert second.qty == 3
    wf.on_outcome(second, outcome(second))

    bad = wf.on_entry("0")
    assert level(bad) is Level.ERROR and "whole number" in text(bad)
    # A count on the label overrides the quantity.
    wf.on_entry("2")
    assert take(wf, item("SKU-1", count=4)).prompt.startswith("Put 4 x SKU-1")


def test_more_than_the_dock_holds_is_refused(wf: PutawayWorkflow) -> None:
    wf.on_scan(cmd(CommandName.QTY, "9"))
    reply = wf.on_scan(item("SKU-1"))
    assert level(reply) is Level.ERROR and not wf.busy
    assert "DOCK-1 holds 8 x SKU-1" in text(reply) and "9 units" in text(reply)
    assert reply.prompt == IDLE


def test_goods_not_on_the_dock_are_refused(wf: PutawayWorkflow) -> None:
    reply = wf.on_scan(item("SKU-2"))
    assert level(reply) is Level.ERROR and not reply.commands
    assert "SKU-2 is not on DOCK-1" in text(reply)
    assert reply.prompt == IDLE


def test_several_lots_on_the_dock_need_the_lot_label(wf: PutawayWorkflow) -> None:
    ask = wf.on_scan(item("SKU-L"))
    assert level(ask) is Level.WARNING and "lots L1, L2" in text(ask)
    assert ask.prompt == "Scan the lot label of the SKU-L you are putting away."
    assert not wf.busy

    wrong = wf.on_scan(item("SKU-L", lot="L9"))
    assert level(wrong) is Level.ERROR and "SKU-L lot L9 is not on DOCK-1" in text(wrong)

    taken = take(wf, item("SKU-L", lot="L2"))
    assert taken.prompt == f"Put 4 x SKU-L lot L2 into A-01 (suggested). Scan the bin{ASK}"
    command = only(wf.on_scan(location("A-01")))
    assert (command.sku, command.lot, command.qty) == ("SKU-L", "L2", 4)


def test_one_lot_on_the_dock_needs_no_lot_label(wf: PutawayWorkflow, data: FakeStationData) -> None:
    data.holdings["DOCK-1"] = [Holding("SKU-L", "L1", 3)]
    take(wf, item("SKU-L"))
    assert only(wf.on_scan(location("A-01"))).lot == "L1"


def test_no_bin_with_room_lets_the_worker_choose(
    wf: PutawayWorkflow, data: FakeStationData
) -> None:
    data.suggestions = []
    taken = take(wf, item("SKU-1"))
    assert level(taken) is Level.WARNING
    assert "No bin suggestion: no bin has room for 8 x SKU-1" in text(taken)
    assert taken.prompt == f"Put 8 x SKU-1 into any bin with room. Scan the bin{ASK}"
    command = only(wf.on_scan(location("C-03")))
    assert (command.to_location, command.suggested) == ("C-03", None)
    assert text(wf.on_outcome(command, outcome(command))) == "Put 8 x SKU-1 into C-03."


def test_the_item_scan_asks_the_ledger_to_hold_a_bin(wf: PutawayWorkflow) -> None:
    asked = wf.on_scan(item("SKU-L", lot="L2"))
    (hold,) = asked.commands
    assert isinstance(hold, HoldBin)
    assert (hold.sku, hold.qty, hold.lot) == ("SKU-L", 4, "L2")
    assert (hold.station, hold.operator) == ("ST-1", "D001")
    assert asked.feedback is None and wf.busy


def test_the_suggestion_names_the_other_bins_with_room(wf: PutawayWorkflow) -> None:
    def near(command: Command) -> Outcome:
        result = {"location": "B-02", "why": "in your zone", "also": ["C-03", "A-01"]}
        return outcome(command, message="B-02 held for 8 x SKU-1", result=result)

    taken = take(wf, item("SKU-1"), near)
    assert taken.prompt == f"Put 8 x SKU-1 into B-02 (suggested). Scan the bin{ASK}"
    assert taken.lines == ("B-02: in your zone (also: C-03, A-01)",)


def offline(command: Command) -> Outcome:
    """The session's own refusal of a bin suggestion while the database is out of reach."""
    message = "The database is out of reach since 10:02"
    return outcome(command, ok=False, message=message, reason="offline")


@pytest.mark.parametrize("answer", [offline, lambda command: None], ids=["offline", "queued"])
def test_without_a_suggestion_any_bin_with_room_will_do(
    wf: PutawayWorkflow, answer: Answer
) -> None:
    taken = take(wf, item("SKU-1"), answer)
    assert level(taken) is Level.WARNING
    assert text(taken) == (
        "No bin suggestion: the database is out of reach. Put the goods into any bin with room "
        "and scan its label."
    )
    assert taken.prompt == f"Put 8 x SKU-1 into any bin with room. Scan the bin{ASK}"
    command = only(wf.on_scan(location("C-03")))
    assert (command.to_location, command.suggested) == ("C-03", None)


def test_offline_a_bin_the_station_knows_is_full_is_refused(
    wf: PutawayWorkflow, data: FakeStationData
) -> None:
    data.no_room["A-01"] = "A-01 has room for at most 10 units; it would hold 12"
    take(wf, item("SKU-1"), offline)
    full = wf.on_scan(location("A-01"))
    assert level(full) is Level.ERROR and not full.commands
    assert text(full) == (
        "A-01 has room for at most 10 units; it would hold 12. Take 8 x SKU-1 to another bin "
        "and scan its label."
    )
    assert full.prompt == f"Put 8 x SKU-1 into any bin with room. Scan the bin{ASK}" and wf.busy
    command = only(wf.on_scan(location("B-02")))
    assert (command.to_location, command.qty) == ("B-02", 8)


def test_full_bin_keeps_the_worker_at_the_bin_step(wf: PutawayWorkflow) -> None:
    take(wf, item("SKU-1"))
    command = only(wf.on_scan(location("A-01")))
    message = (
        "A-01 has room for 2 more units, not 8. Put them in B-02 (zone A, room for 40) instead"
    )
    full = outcome(
        command,
        ok=False,
        message=message,
        reason="bin_full",
        result={"suggestions": [{"location": "B-02", "zone": "A", "why": "room for 40"}]},
    )
    reply = wf.on_outcome(command, full)
    assert level(reply) is Level.ERROR and message in text(reply)
    assert "Scan another bin" in text(reply)
    assert reply.prompt == f"Put 8 x SKU-1 into B-02 (suggested). Scan the bin{ASK}"
    assert wf.busy

    retry = only(wf.on_scan(location("B-02")))
    assert (retry.to_location, retry.suggested, retry.qty) == ("B-02", "B-02", 8)
    assert retry.tx_id != command.tx_id
    done = wf.on_outcome(retry, outcome(retry))
    assert text(done) == "Put 8 x SKU-1 into B-02." and done.prompt == IDLE


def test_full_override_bin_keeps_the_station_suggestion(wf: PutawayWorkflow) -> None:
    take(wf, item("SKU-1"))
    command = only(wf.on_scan(location("C-03")))
    full = outcome(
        command,
        ok=False,
        message="C-03 is full. Put them in B-02 (zone A) instead",
        reason="bin_full",
        result={"suggestions": [{"location": "B-02"}]},
    )
    assert wf.on_outcome(command, full).prompt.startswith("Put 8 x SKU-1 into A-01 (suggested)")


def test_other_refusals_go_back_to_idle(wf: PutawayWorkflow) -> None:
    take(wf, item("SKU-1"))
    command = only(wf.on_scan(location("A-01")))
    refused = outcome(
        command,
        ok=False,
        message="DOCK-1 holds 5 of SKU-1; 5 can be taken, not 8",
        reason="not_enough_stock",
    )
    reply = wf.on_outcome(command, refused)
    assert level(reply) is Level.ERROR
    assert "Putting 8 x SKU-1 into A-01 was refused: DOCK-1 holds 5" in text(reply)
    assert reply.prompt == IDLE and not wf.busy


def test_offline_putaway_is_queued(wf: PutawayWorkflow) -> None:
    take(wf, item("SKU-1"))
    command = only(wf.on_scan(location("A-01")))
    reply = wf.on_outcome(command, None)
    assert level(reply) is Level.WARNING
    assert "cannot be reached" in text(reply) and "queued" in text(reply)
    assert "8 x SKU-1 into A-01" in text(reply)
    assert reply.prompt == IDLE and not wf.busy


def test_confirm_is_not_a_bin_scan(wf: PutawayWorkflow) -> None:
    take(wf, item("SKU-1"))
    reply = wf.on_scan(cmd(CommandName.CONFIRM))
    assert level(reply) is Level.ERROR and not reply.commands
    assert "CONFIRM is not a bin scan" in text(reply) and "A-01 is suggested" in text(reply)
    assert reply.prompt.startswith("Put 8 x SKU-1 into A-01")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("DOCK-1", "that is the dock the goods come from"),
        ("QUAR-1", "it is a quarantine, not a bin"),
        ("Z-99", "it is not known, not a bin"),
    ],
)
def test_only_a_bin_is_taken_at_the_bin_step(wf: PutawayWorkflow, code: str, expected: str) -> None:
    take(wf, item("SKU-1"))
    reply = wf.on_scan(location(code))
    assert level(reply) is Level.ERROR and expected in text(reply)
    assert f"Scanned location {code}" in text(reply) and not reply.commands
    assert reply.prompt.startswith("Put 8 x SKU-1 into A-01")


def test_serial_tracked_units_go_one_scan_each(wf: PutawayWorkflow) -> None:
    no_serial = wf.on_scan(item("SKU-S"))
    assert level(no_serial) is Level.ERROR and "serial" in text(no_serial)
    take(wf, item("SKU-S", serial="SN-7"))
    command = only(wf.on_scan(location("A-01")))
    assert (command.qty, command.serials) == (1, ("SN-7",))


def test_licence_plate_with_its_content(wf: PutawayWorkflow) -> None:
    plate = meaning(
        Kind.LPN, sscc="006141411234567890", content_gtin=GTIN["SKU-1"], count=6, code="LPN"
    )
    assert take(wf, plate).prompt.startswith("Put 6 x SKU-1 into A-01")


def test_cancel_and_undo(wf: PutawayWorkflow) -> None:
    take(wf, item("SKU-1"))
    cancelled = wf.on_scan(cmd(CommandName.CANCEL))
    assert level(cancelled) is Level.OK and "cancelled; nothing moved" in text(cancelled)
    assert cancelled.prompt == IDLE and not wf.busy
    wf.on_scan(cmd(CommandName.QTY, "2"))
    undone = wf.on_scan(cmd(CommandName.UNDO))
    assert level(undone) is Level.OK and undone.prompt == IDLE
    nothing = wf.on_scan(cmd(CommandName.UNDO))
    assert level(nothing) is Level.ERROR and "Nothing to undo" in text(nothing)


def test_quantity_after_the_item_scan_changes_the_task(wf: PutawayWorkflow) -> None:
    take(wf, item("SKU-1"))
    for reply in (wf.on_scan(cmd(CommandName.QTY, "2")), wf.on_entry("3")):
        assert level(reply) is Level.OK and reply.prompt.startswith("Put ")
    assert only(wf.on_scan(location("A-01"))).qty == 3


@pytest.mark.parametrize(
    "scan",
    [cmd(CommandName.DAMAGED), cmd(CommandName.SHORT), meaning(Kind.RECEIPT, code="R1")],
)
def test_inputs_that_do_not_apply_are_errors(wf: PutawayWorkflow, scan: Interpretation) -> None:
    reply = wf.on_scan(scan)
    assert level(reply) is Level.ERROR and reply.prompt == IDLE and not reply.commands


def test_item_scan_at_the_bin_step_asks_for_the_bin(wf: PutawayWorkflow) -> None:
    take(wf, item("SKU-1"))
    reply = wf.on_scan(item("SKU-L", lot="L1"))
    assert level(reply) is Level.ERROR and "the label of the bin for 8 x SKU-1" in text(reply)


def test_rfid_is_not_used(wf: PutawayWorkflow) -> None:
    reply = wf.on_tags([TagRead("E-1", GTIN["SKU-1"], "1")])
    assert level(reply) is Level.ERROR and "RFID" in text(reply) and reply.prompt == IDLE


def test_station_without_a_dock(data: FakeStationData) -> None:
    data.stations["ST-9"] = StationInfo("ST-9", "A", None, None, None)
    wf = PutawayWorkflow(context(data, station="ST-9"))
    assert level(wf.start()) is Level.ERROR and "no dock lane" in text(wf.start())
    reply = wf.on_scan(item("SKU-1"))
    assert level(reply) is Level.ERROR and "no dock lane" in text(reply) and not reply.commands


def test_pure_helpers() -> None:
    held = [Holding("X", "L2", 1), Holding("X", None, 1), Holding("X", "L1", 1)]
    assert lots_text(held) == "no lot, L1, L2"
    assert next_suggestion({"suggestions": [{"location": "B-02"}]}) == "B-02"
    assert next_suggestion({"suggestions": []}) is None
    assert next_suggestion({}) is None


# --- a cancelled order's picked goods back from the outbound lane (issue 9) ---


def cancelled_goods(data: FakeStationData) -> None:
    data.cancelled = [
        Putback("SO-7", "OUT-1", "SKU-1", None, 3),
        Putback("SO-7", "OUT-1", "SKU-L", "L1", 2),
        Putback("SO-8", "OUT-1", "SKU-L", "L1", 5),
    ]


def test_the_screen_lists_cancelled_orders_goods(data: FakeStationData) -> None:
    cancelled_goods(data)
    reply = PutawayWorkflow(context(data)).start()
    assert reply.prompt == IDLE and reply.feedback is None
    assert reply.lines == (
        "Cancelled SO-7: 3 x SKU-1 in OUT-1",
        "Cancelled SO-7: 2 x SKU-L lot L1 in OUT-1",
        "Cancelled SO-8: 5 x SKU-L lot L1 in OUT-1",
    )


def test_put_back_a_cancelled_orders_goods(data: FakeStationData) -> None:
    cancelled_goods(data)
    wf = PutawayWorkflow(context(data))
    wf.start()
    reply = wf.on_scan(location("OUT-1"))
    assert level(reply) is Level.OK
    assert text(reply) == (
        "OUT-1 holds picked goods of cancelled SO-7, SO-8: scan an item to put it back into a bin."
    )
    assert reply.prompt == "Scan an item in OUT-1 to put it back into a bin; DONE to stop."
    taken = take(wf, item("SKU-1"))
    assert taken.prompt == f"Put 3 x SKU-1 into A-01 (suggested). Scan the bin{ASK}"
    assert "OUT-1" in text(wf.on_scan(location("OUT-1"))) and wf.busy
    command = only(wf.on_scan(location("A-01")))
    assert (command.sku, command.qty, command.order) == ("SKU-1", 3, "SO-7")
    assert (command.from_location, command.to_location) == ("OUT-1", "A-01")

    data.cancelled = data.cancelled[1:]
    done = wf.on_outcome(command, outcome(command))
    assert text(done) == "Put 3 x SKU-1 into A-01, back from cancelled SO-7."
    assert done.prompt.startswith("Scan an item in OUT-1")  # more is left there

    # One cancelled order per putaway: SO-7's 2 first, at most that many.
    data.suggestions = ["B-02"]
    wf.on_scan(cmd(CommandName.QTY, "4"))
    refused = wf.on_scan(item("SKU-L", lot="L1"))
    assert level(refused) is Level.ERROR and "OUT-1 holds 2 x SKU-L lot L1" in text(refused)
    take(wf, item("SKU-L", lot="L1"))
    command = only(wf.on_scan(location("B-02")))
    assert (command.qty, command.lot, command.order) == (2, "L1", "SO-7")

    data.cancelled = []
    done = wf.on_outcome(command, outcome(command))
    assert text(done).endswith("Nothing of cancelled orders is left in OUT-1: back to DOCK-1.")
    assert done.prompt == IDLE and done.lines == ("confirmed",)
    data.suggestions = ["A-01"]
    take(wf, item("SKU-1"))
    command = only(wf.on_scan(location("A-01")))
    assert (command.from_location, command.qty, command.order) == ("DOCK-1", 8, None)


def test_put_back_refusals_and_going_back_to_the_dock(data: FakeStationData) -> None:
    cancelled_goods(data)
    wf = PutawayWorkflow(context(data))
    wf.start()
    reply = wf.on_scan(location("A-01"))
    assert level(reply) is Level.ERROR and "no goods of a cancelled order wait there" in text(reply)
    wf.on_scan(location("OUT-1"))
    reply = wf.on_scan(item("SKU-2"))
    assert level(reply) is Level.ERROR
    assert "SKU-2 is not among the cancelled orders' goods in OUT-1" in text(reply)
    take(wf, item("SKU-1"))
    reply = wf.on_scan(location("OUT-1"))
    assert "that is the location the goods come from" in text(reply)
    wf.on_scan(cmd(CommandName.CANCEL))
    reply = wf.on_scan(cmd(CommandName.DONE))
    assert text(reply) == "Stopped putting back from OUT-1: scan an item on DOCK-1."
    assert reply.prompt == IDLE
    wf.on_scan(location("OUT-1"))
    reply = wf.on_scan(location("DOCK-1"))
    assert text(reply) == "Putting away from DOCK-1: scan an item on it." and reply.prompt == IDLE


def test_a_station_without_a_dock_can_put_back(data: FakeStationData) -> None:
    cancelled_goods(data)
    data.stations["ST-9"] = StationInfo("ST-9", "A", None, None, None)
    wf = PutawayWorkflow(context(data, station="ST-9"))
    start = wf.start()
    assert start.feedback is None
    assert start.prompt == "Scan an outbound location listed below to put its goods back."
    wf.on_scan(location("OUT-1"))
    take(wf, item("SKU-1"))
    assert only(wf.on_scan(location("A-01"))).order == "SO-7"


def test_offline_the_dock_putaway_goes_on(data: FakeStationData) -> None:
    class Offline(FakeStationData):
        def putbacks(self, limit: int) -> list[Putback]:
            raise DatabaseUnavailable("connection refused")

    offline = Offline(skus=data.skus, locations=data.locations, holdings=data.holdings)
    offline.suggestions = ["A-01"]
    wf = PutawayWorkflow(context(offline))
    assert wf.start().prompt == IDLE
    take(wf, item("SKU-1"))
    assert only(wf.on_scan(location("A-01"))).from_location == "DOCK-1"
