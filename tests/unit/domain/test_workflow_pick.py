"""Pick mode as the picker sees it: taking a pick list reserves it, lines walked in path order,
bin then items, shorts with a reason, and the exact Reserve and PostPick commands it submits,
against the in-memory station (no database, no Qt)."""

from __future__ import annotations

import pytest

from app.domain.commands import PostPick, Reserve
from app.domain.interpret import CommandName, Interpretation, Kind, StationMode
from app.domain.model import Tracking
from app.domain.workflow import Level, OrderLine, Reply, TagRead
from app.domain.workflows.pick import PickWorkflow
from app.domain.workflows.pick_walk import merge_in_path_order
from tests.support.fake_station import (
    FakeStationData,
    context,
    meaning,
    outcome,
    pick_line,
    posted,
    reserved,
)

GTIN = {"SKU-A": "09506000134352", "SKU-B": "09506000134369", "SKU-L": "09506000134376"}


@pytest.fixture
def data() -> FakeStationData:
    data = FakeStationData()
    data.add_sku("SKU-A", GTIN["SKU-A"])
    data.add_sku("SKU-B", GTIN["SKU-B"])
    data.add_sku("SKU-L", GTIN["SKU-L"], Tracking.LOT)
    data.add_sku("SKU-S", None, Tracking.SERIAL)
    for code in ("B-02", "B-05", "B-07", "B-09"):
        data.add_bin(code)
    data.locations["STG-1"] = "staging"
    data.orders["SO-1"] = [OrderLine(1, "SKU-A", 3), OrderLine(2, "SKU-B", 2)]
    return data


@pytest.fixture
def wf(data: FakeStationData) -> PickWorkflow:
    return PickWorkflow(context(data, "P001"))


def order(code: str) -> Interpretation:
    return meaning(Kind.ORDER, code=code)


def location(code: str) -> Interpretation:
    return meaning(Kind.LOCATION, code=code)


def item(sku: str, **fields: object) -> Interpretation:
    return meaning(Kind.ITEM, gtin=GTIN.get(sku), sku=sku, **fields)


def cmd(name: CommandName, arg: str | None = None) -> Interpretation:
    return meaning(Kind.COMMAND, command=name, command_arg=arg)


def level(reply: Reply) -> Level | None:
    return reply.feedback.level if reply.feedback else None


def text(reply: Reply) -> str:
    return reply.feedback.text if reply.feedback else ""


def only_post(reply: Reply) -> PostPick:
    assert len(reply.commands) == 1
    command = reply.commands[0]
    assert isinstance(command, PostPick)
    return command


def only_reserve(reply: Reply) -> Reserve:
    assert len(reply.commands) == 1
    command = reply.commands[0]
    assert isinstance(command, Reserve)
    return command


def take_list(wf: PickWorkflow, data: FakeStationData) -> Reply:
    """SO-1 taken and reserved: SKU-A 3 in B-07 (path 70), SKU-B 2 in B-02 (path 20); tote OUT-1."""
    reply = wf.on_scan(order("SO-1"))
    first, second = reply.commands
    wf.on_outcome(first, reserved(data, first, pick_line(11, "SO-1", 1, "SKU-A", "B-07", 3, 70)))
    wf.on_outcome(second, reserved(data, second, pick_line(12, "SO-1", 2, "SKU-B", "B-02", 2, 20)))
    return wf.on_scan(location("OUT-1"))


def test_start_lists_open_pick_lists(wf: PickWorkflow) -> None:
    reply = wf.start()
    assert wf.mode is StationMode.PICK and not wf.busy and not wf.wants_badge
    assert reply.prompt == "Scan a pick list (an order barcode), or choose one on screen."
    assert reply.lines == ("Open pick lists: SO-1",)


def test_taking_a_pick_list_reserves_every_line(wf: PickWorkflow, data: FakeStationData) -> None:
    reply = wf.on_scan(order("SO-1"))
    assert [type(c) for c in reply.commands] == [Reserve, Reserve]
    first, second = reply.commands
    assert isinstance(first, Reserve) and isinstance(second, Reserve)
    assert (first.order, first.line, first.sku, first.qty) == ("SO-1", 1, "SKU-A", 3)
    assert (second.order, second.line, second.sku, second.qty) == ("SO-1", 2, "SKU-B", 2)
    assert first.allow_partial and second.allow_partial and first.avoid == ()
    assert (first.station, first.operator) == ("ST-1", "P001")
    assert first.tx_id != second.tx_id

    waiting = wf.on_outcome(
        first, reserved(data, first, pick_line(11, "SO-1", 1, "SKU-A", "B-07", 3, 70))
    )
    assert waiting.prompt == "Reserving SO-1: wait for the ledger."
    early = wf.on_scan(location("OUT-1"))
    assert level(early) is Level.ERROR and "wait until the ledger has answered" in text(early)
    done = wf.on_outcome(
        second, reserved(data, second, pick_line(12, "SO-1", 2, "SKU-B", "B-02", 2, 20))
    )
    assert done.prompt == "Scan the tote or outbound location that receives the picks for SO-1."
    assert level(done) is Level.OK and "SO-1: 2 line(s)" in text(done)


def test_lines_are_walked_in_path_order(wf: PickWorkflow, data: FakeStationData) -> None:
    reply = take_list(wf, data)
    assert reply.prompt == "Go to B-02: pick 2 x SKU-B. Scan the bin label."
    assert reply.lines == (
        "Pick list SO-1 into OUT-1",
        "Line 1 of 2: 2 x SKU-B from B-02",
        "Picked 0 of 2",
    )
    assert wf.busy


def test_an_already_reserved_list_resumes_without_reserving(
    wf: PickWorkflow, data: FakeStationData
) -> None:
    data.picks["SO-1"] = [pick_line(31, "SO-1", 1, "SKU-A", "B-05", 1, 50, None)]
    reply = wf.on_scan(order("SO-1"))
    assert reply.commands == ()
    assert level(reply) is Level.OK and text(reply) == "Resuming SO-1: 1 open pick line(s)."
    reply = wf.on_scan(location("STG-1"))
    assert reply.prompt == "Go to B-05: pick 1 x SKU-A. Scan the bin label."


def test_unknown_order_is_refused(wf: PickWorkflow) -> None:
    reply = wf.on_scan(order("SO-404"))
    assert level(reply) is Level.ERROR and reply.commands == ()
    assert "SO-404 is not an open order" in text(reply) and "Scan another pick list" in text(reply)


def test_the_tote_must_be_outbound_or_staging(wf: PickWorkflow, data: FakeStationData) -> None:
    wf.on_scan(order("SO-1"))
    for command in list(wf.answers.waiting.values()):
        wf.on_outcome(command, reserved(data, command, pick_line(9, "SO-1", 1, "SKU-A", "B-07", 3)))
    reply = wf.on_scan(location("B-02"))
    assert level(reply) is Level.ERROR
    assert "Scanned location B-02 (a bin)" in text(reply) and "tote" in text(reply)
    assert reply.prompt.startswith("Scan the tote")


def test_wrong_bin_names_the_right_one(wf: PickWorkflow, data: FakeStationData) -> None:
    take_list(wf, data)
    reply = wf.on_scan(location("B-07"))
    assert level(reply) is Level.ERROR
    assert text(reply) == (
        "Scanned location B-07, but this line is picked from B-02: go to B-02 and scan its label."
    )
    assert reply.prompt == "Go to B-02: pick 2 x SKU-B. Scan the bin label."
    early = wf.on_scan(item("SKU-B"))
    assert level(early) is Level.ERROR and "scan the bin B-02 first" in text(early)


def test_wrong_item_and_over_pick_are_refused(wf: PickWorkflow, data: FakeStationData) -> None:
    take_list(wf, data)
    wf.on_scan(location("B-02"))
    wrong = wf.on_scan(item("SKU-A"))
    assert level(wrong) is Level.ERROR and wrong.commands == ()
    assert "it is SKU-A, but this line is 2 x SKU-B: put it back, take SKU-B" in text(wrong)
    wf.on_scan(cmd(CommandName.QTY, "3"))
    over = wf.on_scan(item("SKU-B"))
    assert level(over) is Level.ERROR and over.commands == ()
    assert "that makes 3 x SKU-B, and the line needs 2. Put the extra 1 back." in text(over)
    one = wf.on_scan(item("SKU-B"))
    assert level(one) is Level.OK and "Picked 1 of 2 x SKU-B" in text(one)
    assert "Picked 1 of 2" in one.lines
    assert one.prompt == "At B-02: pick 1 more x SKU-B. Scan each item (QTY: several)."


def test_a_complete_line_posts_the_pick_into_the_tote(
    wf: PickWorkflow, data: FakeStationData
) -> None:
    take_list(wf, data)
    wf.on_scan(location("B-02"))
    assert wf.on_entry("2").feedback is not None
    reply = wf.on_scan(item("SKU-B"))
    post = only_post(reply)
    assert (post.reservation, post.qty, post.to_location) == (12, 2, "OUT-1")
    assert (post.serials, post.short_reason, post.operator) == ((), None, "P001")
    assert reply.prompt == "Go to B-07: pick 3 x SKU-A. Scan the bin label."
    assert "Line 2 of 2: 3 x SKU-A from B-07" in reply.lines
    answered = wf.on_outcome(post, posted(data, post))
    assert level(answered) is Level.OK and "Picked 2 x SKU-B from B-02 into OUT-1" in text(answered)


def test_gs1_count_overrides_qty_and_the_list_completes(
    wf: PickWorkflow, data: FakeStationData
) -> None:
    take_list(wf, data)
    wf.on_scan(location("B-02"))
    wf.on_scan(cmd(CommandName.QTY, "1"))
    post = only_post(wf.on_scan(item("SKU-B", count=2)))
    wf.on_outcome(post, posted(data, post))
    wf.on_scan(location("B-07"))
    wf.on_scan(item("SKU-A"))
    wf.on_scan(item("SKU-A"))
    last = only_post(wf.on_scan(item("SKU-A")))
    assert (last.reservation, last.qty) == (11, 3)
    reply = wf.on_outcome(last, posted(data, last))
    assert level(reply) is Level.OK and "Pick list SO-1 complete." in text(reply)
    assert "line 1 SKU-A: 3 picked" in reply.lines and "line 2 SKU-B: 2 picked" in reply.lines
    assert reply.prompt.startswith("Scan a pick list") and not wf.busy


def test_lot_must_match_the_reserved_lot(wf: PickWorkflow, data: FakeStationData) -> None:
    data.picks["SO-2"] = [pick_line(40, "SO-2", 1, "SKU-L", "B-09", 2, 90, "L7")]
    data.orders["SO-2"] = [OrderLine(1, "SKU-L", 2)]
    wf.on_scan(order("SO-2"))
    reply = wf.on_scan(location("OUT-1"))
    assert reply.prompt == "Go to B-09: pick 2 x SKU-L (lot L7). Scan the bin label."
    wf.on_scan(location("B-09"))
    wrong = wf.on_scan(item("SKU-L", lot="L8"))
    assert level(wrong) is Level.ERROR and "this line is lot L7" in text(wrong)
    no_lot = wf.on_scan(item("SKU-L"))
    assert level(no_lot) is Level.ERROR and "tracked by lot" in text(no_lot)
    wf.on_scan(item("SKU-L", lot="L7"))
    assert only_post(wf.on_scan(item("SKU-L", lot="L7"))).qty == 2


def test_serial_tracked_units_carry_their_serials(wf: PickWorkflow, data: FakeStationData) -> None:
    data.picks["SO-3"] = [pick_line(50, "SO-3", 1, "SKU-S", "B-05", 2, 50)]
    data.orders["SO-3"] = [OrderLine(1, "SKU-S", 2)]
    wf.on_scan(order("SO-3"))
    wf.on_scan(location("OUT-1"))
    wf.on_scan(location("B-05"))
    wf.on_scan(item("SKU-S", serial="SN1"))
    again = wf.on_scan(item("SKU-S", serial="SN1"))
    assert level(again) is Level.ERROR and "SN1 is already picked" in text(again)
    post = only_post(wf.on_scan(item("SKU-S", serial="SN2")))
    assert post.serials == ("SN1", "SN2") and post.qty == 2


def test_skip_moves_the_line_to_the_end(wf: PickWorkflow, data: FakeStationData) -> None:
    take_list(wf, data)
    reply = wf.on_scan(cmd(CommandName.SKIP))
    assert level(reply) is Level.OK and "Skipped 2 x SKU-B at B-02" in text(reply)
    assert reply.prompt == "Go to B-07: pick 3 x SKU-A. Scan the bin label."
    assert "Line 1 of 2: 3 x SKU-A from B-07" in reply.lines
    wf.on_scan(location("B-07"))
    wf.on_scan(cmd(CommandName.QTY, "3"))
    post = only_post(wf.on_scan(item("SKU-A")))
    reply = wf.on_outcome(post, posted(data, post))
    assert reply.prompt == "Go to B-02: pick 2 x SKU-B. Scan the bin label."
    assert "Line 2 of 2: 2 x SKU-B from B-02" in reply.lines


def test_short_pick_posts_raises_a_count_and_reallocates_elsewhere(
    wf: PickWorkflow, data: FakeStationData
) -> None:
    take_list(wf, data)
    early = wf.on_scan(cmd(CommandName.SHORT))
    assert level(early) is Level.ERROR and "Scan the bin B-02 first" in text(early)
    wf.on_scan(location("B-02"))
    wf.on_scan(item("SKU-B"))
    asked = wf.on_scan(cmd(CommandName.SHORT))
    assert asked.prompt.startswith("Short pick at B-02: scan the reason code (COUNT, DAMAGED")
    assert asked.commands == ()

    reply = wf.on_scan(cmd(CommandName.REASON, "lost"))
    post = only_post(reply)
    assert (post.reservation, post.qty, post.to_location, post.short_reason) == (
        12,
        1,
        "OUT-1",
        "lost",
    )
    assert level(reply) is Level.WARNING
    assert data.tasks == {}

    reply = wf.on_outcome(post, posted(data, post))
    task = data.tasks["B-02"]
    assert task.reason.startswith("short pick") and "1 x SKU-B" in task.reason
    reserve = only_reserve(reply)
    assert (reserve.order, reserve.line, reserve.sku, reserve.qty) == ("SO-1", 2, "SKU-B", 1)
    assert reserve.allow_partial and reserve.avoid == ("B-02",)
    assert "B-02 will be counted" in text(reply)

    reply = wf.on_outcome(
        reserve, reserved(data, reserve, pick_line(13, "SO-1", 2, "SKU-B", "B-05", 1, 50))
    )
    assert level(reply) is Level.OK and "Found 1 x SKU-B elsewhere: 1 line(s) added (B-05)" in text(
        reply
    )
    # B-05 (path 50) comes before B-07 (path 70).
    assert reply.prompt == "Go to B-05: pick 1 x SKU-B. Scan the bin label."
    assert "Line 2 of 3: 1 x SKU-B from B-05" in reply.lines


def test_short_pick_with_nothing_picked_and_no_other_stock(
    wf: PickWorkflow, data: FakeStationData
) -> None:
    take_list(wf, data)
    wf.on_scan(location("B-02"))
    wf.on_scan(cmd(CommandName.SHORT))
    post = only_post(wf.on_scan(cmd(CommandName.REASON, "damaged")))
    assert (post.qty, post.short_reason) == (0, "damaged")
    reserve = only_reserve(wf.on_outcome(post, posted(data, post)))
    assert reserve.qty == 2 and reserve.avoid == ("B-02",)
    reply = wf.on_outcome(reserve, reserved(data, reserve))
    assert level(reply) is Level.WARNING
    assert "No other stock: line 2 (SKU-B) short by 2." in text(reply)
    assert reply.prompt == "Go to B-07: pick 3 x SKU-A. Scan the bin label."
    wf.on_scan(location("B-07"))
    wf.on_scan(cmd(CommandName.QTY, "3"))
    last = only_post(wf.on_scan(item("SKU-A")))
    done = wf.on_outcome(last, posted(data, last))
    assert "Pick list SO-1 complete." in text(done)
    assert "line 2 SKU-B: 0 picked, 2 short" in done.lines


def test_cancel_backs_out_of_a_short_and_of_the_line(
    wf: PickWorkflow, data: FakeStationData
) -> None:
    take_list(wf, data)
    wf.on_scan(location("B-02"))
    wf.on_scan(item("SKU-B"))
    wf.on_scan(cmd(CommandName.SHORT))
    back = wf.on_scan(cmd(CommandName.CANCEL))
    assert back.prompt.startswith("At B-02: pick 1 more")
    line = wf.on_scan(cmd(CommandName.CANCEL))
    assert level(line) is Level.WARNING and "Put the 1 scanned back" in text(line)
    assert line.prompt == "Go to B-02: pick 2 x SKU-B. Scan the bin label."
    left = wf.on_scan(cmd(CommandName.CANCEL))
    assert "stay reserved" in text(left) and not wf.busy


def test_done_before_the_end_says_what_is_left(wf: PickWorkflow, data: FakeStationData) -> None:
    take_list(wf, data)
    reply = wf.on_scan(cmd(CommandName.DONE))
    assert level(reply) is Level.ERROR and reply.commands == ()
    assert "SO-1 is not finished: 2 line(s) left (2 x SKU-B at B-02; 3 x SKU-A at B-07)" in text(
        reply
    )
    assert "Left: 3 x SKU-A at B-07" in reply.lines


def test_a_refused_pick_is_reported_and_the_walk_moves_on(
    wf: PickWorkflow, data: FakeStationData
) -> None:
    take_list(wf, data)
    wf.on_scan(location("B-02"))
    wf.on_scan(cmd(CommandName.QTY, "2"))
    post = only_post(wf.on_scan(item("SKU-B")))
    refused = outcome(
        post, ok=False, reason="reservation_resolved", message="pick task 12 is already voided"
    )
    reply = wf.on_outcome(post, refused)
    assert level(reply) is Level.ERROR
    assert "refused: pick task 12 is already voided" in text(reply)
    assert reply.prompt == "Go to B-07: pick 3 x SKU-A. Scan the bin label."


def test_offline_pick_is_queued_and_counts(wf: PickWorkflow, data: FakeStationData) -> None:
    take_list(wf, data)
    wf.on_scan(location("B-02"))
    wf.on_scan(cmd(CommandName.QTY, "2"))
    post = only_post(wf.on_scan(item("SKU-B")))
    reply = wf.on_outcome(post, None)
    assert level(reply) is Level.WARNING and "queued" in text(reply)
    assert "database cannot be reached" in text(reply)
    assert reply.prompt == "Go to B-07: pick 3 x SKU-A. Scan the bin label."


def test_partly_reserved_and_unstocked_lines_are_reported(
    wf: PickWorkflow, data: FakeStationData
) -> None:
    reply = wf.on_scan(order("SO-1"))
    first, second = reply.commands
    wf.on_outcome(first, reserved(data, first, pick_line(11, "SO-1", 1, "SKU-A", "B-07", 1, 70)))
    reply = wf.on_outcome(second, reserved(data, second))
    assert level(reply) is Level.WARNING
    assert "line 1 SKU-A: only 1 of 3 in stock" in text(reply)
    assert "line 2 SKU-B: none in stock, short 2" in text(reply)


def test_offline_reservation_leaves_nothing_to_pick(wf: PickWorkflow) -> None:
    reply = wf.on_scan(order("SO-1"))
    first, second = reply.commands
    wf.on_outcome(first, None)
    reply = wf.on_outcome(second, None)
    assert level(reply) is Level.WARNING and "queued" in text(reply)
    assert "Nothing of SO-1 can be picked until it is reserved" in text(reply)
    assert not wf.busy


def test_rfid_is_not_used(wf: PickWorkflow) -> None:
    reply = wf.on_tags([TagRead("3034")])
    assert level(reply) is Level.ERROR and "does not take RFID" in text(reply)
    assert reply.prompt.startswith("Scan a pick list")


def test_merge_in_path_order_keeps_the_current_line_and_skipped_ones_last() -> None:
    current = pick_line(1, "SO", 1, "A", "B-50", 1, 50)
    later = pick_line(2, "SO", 2, "B", "B-90", 1, 90)
    skipped = pick_line(3, "SO", 3, "C", "B-10", 1, 10)
    new = [pick_line(4, "SO", 1, "A", "B-20", 1, 20), pick_line(5, "SO", 1, "A", "B-60", 1, 60)]
    merged = merge_in_path_order([current, later, skipped], new, {3}, keep_first=True)
    assert [p.reservation for p in merged] == [1, 4, 5, 2, 3]
    merged = merge_in_path_order([current, later, skipped], new, {3}, keep_first=False)
    assert [p.reservation for p in merged] == [4, 1, 5, 2, 3]
