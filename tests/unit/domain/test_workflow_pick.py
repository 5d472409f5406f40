"""Pick mode as the picker sees it: taking a pick list reserves it, lines walked in path order,
bin then items, shorts with a reason, and the exact Reserve and PostPick commands it submits,
against the in-memory station (no database, no Qt)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.domain.commands import PostPick, ReleaseHow, ReleaseList, Reserve, TakeList
from app.domain.interpret import CommandName, Interpretation, Kind, StationMode
from app.domain.model import Tracking
from app.domain.orders import Claim, Person
from app.domain.workflow import Level, Reply, TagRead
from app.domain.workflows.pick import PickWorkflow
from app.domain.workflows.pick_walk import merge_in_path_order
from tests.support.fake_station import (
    FakeStationData,
    OrderLine,
    context,
    meaning,
    outcome,
    pick_line,
    play,
    posted,
    reserved,
    taken,
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


def only_take(reply: Reply) -> TakeList:
    assert len(reply.commands) == 1
    command = reply.commands[0]
    assert isinstance(command, TakeList)
    return command


def take_list(wf: PickWorkflow, data: FakeStationData) -> Reply:
    """SO-1 taken and reserved: SKU-A 3 in B-07 (path 70), SKU-B 2 in B-02 (path 20); tote OUT-1."""
    command = only_take(wf.on_scan(order("SO-1")))
    wf.on_outcome(
        command,
        taken(
            data,
            command,
            pick_line(11, "SO-1", 1, "SKU-A", "B-07", 3, 70),
            pick_line(12, "SO-1", 2, "SKU-B", "B-02", 2, 20),
        ),
    )
    return wf.on_scan(location("OUT-1"))


def test_start_lists_open_pick_lists(wf: PickWorkflow) -> None:
    reply = wf.start()
    assert wf.mode is StationMode.PICK and not wf.busy and not wf.wants_badge
    assert reply.prompt == "Scan a pick list (an order barcode), or choose one on screen."
    assert reply.lines == ("Open pick lists: SO-1",)


def test_taking_a_pick_list_claims_and_reserves_it_in_one_transaction(
    wf: PickWorkflow, data: FakeStationData
) -> None:
    reply = wf.on_scan(order("SO-1"))
    command = only_take(reply)
    assert (command.order, command.takeover_by) == ("SO-1", None)
    assert (command.station, command.operator) == ("ST-1", "P001")
    assert wf.busy and reply.prompt == "Taking SO-1: wait for the ledger."
    early = wf.on_scan(location("OUT-1"))
    assert level(early) is Level.ERROR and "wait until the ledger has answered" in text(early)
    done = wf.on_outcome(
        command,
        taken(
            data,
            command,
            pick_line(11, "SO-1", 1, "SKU-A", "B-07", 3, 70),
            pick_line(12, "SO-1", 2, "SKU-B", "B-02", 2, 20),
        ),
    )
    assert done.prompt == "Scan the tote or outbound location that receives the picks for SO-1."
    assert level(done) is Level.OK and "SO-1: 2 line(s) to pick" in text(done)


def test_a_list_held_elsewhere_is_refused_and_a_supervisor_takes_it_over(
    wf: PickWorkflow, data: FakeStationData
) -> None:
    command = only_take(wf.on_scan(order("SO-1")))
    holder = "SO-1 is being picked by Pia Picker at ST-2 since 10:02."
    refused = wf.on_outcome(
        command,
        outcome(
            command,
            ok=False,
            reason="order_claimed",
            message=f"{holder} Scan another order; a supervisor can take it over.",
        ),
    )
    assert level(refused) is Level.ERROR and holder in text(refused)
    assert "a supervisor can take it over" in text(refused) and not wf.busy
    ask = wf.on_scan(cmd(CommandName.TAKEOVER))
    assert "Supervisor: scan your badge to approve taking over SO-1" in ask.prompt
    assert level(ask) is Level.WARNING and "needs a supervisor" in text(ask)
    assert wf.wants_badge
    wf.on_scan(meaning(Kind.BADGE, code="S001"))
    wrong = wf.on_entry("0000")
    assert level(wrong) is Level.WARNING and wrong.commands == ()
    again = only_take(wf.on_entry("123456"))
    assert (again.order, again.takeover_by) == ("SO-1", "S001") and again.tx_id != command.tx_id
    reply = wf.on_outcome(
        again, taken(data, again, pick_line(11, "SO-1", 1, "SKU-A", "B-07", 3, 70))
    )
    assert reply.prompt.startswith("Scan the tote")


def test_takeover_needs_a_refused_order_first(wf: PickWorkflow) -> None:
    reply = wf.on_scan(cmd(CommandName.TAKEOVER))
    assert level(reply) is Level.ERROR and "scan that order first" in text(reply)
    assert not wf.wants_badge


def test_the_first_picker_learns_on_the_next_scan_that_the_list_was_taken_over(
    wf: PickWorkflow, data: FakeStationData
) -> None:
    take_list(wf, data)
    wf.on_scan(location("B-02"))
    wf.on_scan(cmd(CommandName.QTY, "2"))
    post = only_post(wf.on_scan(item("SKU-B")))
    wf.on_outcome(post, posted(data, post))
    wf.on_scan(location("B-07"))
    wf.on_scan(item("SKU-A"))
    other = Claim(Person("P009", "Bo Picker", "ST-3"), datetime.now(UTC), datetime.now(UTC))
    data.claims["SO-1"] = other
    reply = wf.on_scan(item("SKU-A"))
    assert level(reply) is Level.ERROR and reply.commands == ()
    assert "SO-1 was taken over by Bo Picker at ST-3 at" in text(reply)
    assert "Put the 1 x SKU-A you scanned back in B-07" in text(reply)
    assert "What you picked stays in OUT-1" in text(reply)
    assert "Already picked:" in reply.lines and "line 2 SKU-B: 2 picked" in reply.lines
    assert not wf.busy and reply.prompt.startswith("Scan a pick list")


def test_a_post_refused_for_a_takeover_ends_the_walk(
    wf: PickWorkflow, data: FakeStationData
) -> None:
    take_list(wf, data)
    wf.on_scan(location("B-02"))
    wf.on_scan(cmd(CommandName.QTY, "2"))
    post = only_post(wf.on_scan(item("SKU-B")))
    reply = wf.on_outcome(
        post,
        outcome(post, ok=False, reason="order_claimed", message="SO-1 was taken over by Bo Picker"),
    )
    assert level(reply) is Level.ERROR and "taken over by Bo Picker" in text(reply)
    assert not wf.busy


def test_cancel_asks_to_keep_or_give_back_the_reservations(
    wf: PickWorkflow, data: FakeStationData
) -> None:
    take_list(wf, data)
    ask = wf.on_scan(cmd(CommandName.CANCEL))
    assert level(ask) is Level.WARNING and ask.commands == ()
    assert "CANCEL again keeps its reservations" in text(ask) and "RELEASE" in text(ask)
    back = wf.on_scan(location("B-02"))
    assert back.prompt.startswith("At B-02")
    wf.on_scan(cmd(CommandName.CANCEL))  # the line: back to the bin step
    wf.on_scan(cmd(CommandName.CANCEL))  # the list: keep or give back?
    reply = wf.on_scan(cmd(CommandName.RELEASE))
    release = reply.commands[0]
    assert isinstance(release, ReleaseList) and release.how is ReleaseHow.GIVE_BACK
    assert "reservations go back to stock" in text(reply) and not wf.busy


def test_cancel_twice_keeps_the_reservations(wf: PickWorkflow, data: FakeStationData) -> None:
    take_list(wf, data)
    wf.on_scan(cmd(CommandName.CANCEL))
    reply = wf.on_scan(cmd(CommandName.CANCEL))
    release = reply.commands[0]
    assert isinstance(release, ReleaseList) and release.how is ReleaseHow.KEEP
    assert "stay reserved" in text(reply) and not wf.busy


def test_the_last_line_done_releases_the_list_as_finished(
    wf: PickWorkflow, data: FakeStationData
) -> None:
    command = only_take(wf.on_scan(order("SO-1")))
    wf.on_outcome(command, taken(data, command, pick_line(12, "SO-1", 2, "SKU-B", "B-02", 2, 20)))
    wf.on_scan(location("OUT-1"))
    wf.on_scan(location("B-02"))
    wf.on_scan(cmd(CommandName.QTY, "2"))
    post = only_post(wf.on_scan(item("SKU-B")))
    reply = wf.on_outcome(post, posted(data, post))
    assert "Pick list SO-1 complete" in text(reply)
    release = reply.commands[-1]
    assert isinstance(release, ReleaseList) and release.how is ReleaseHow.FINISHED


def test_the_list_of_open_orders_says_how_many_more_there_are(
    wf: PickWorkflow, data: FakeStationData
) -> None:
    for n in range(2, 14):
        data.orders[f"SO-{n}"] = [OrderLine(1, "SKU-A", 1)]
    reply = wf.start()
    assert reply.lines[0].endswith("(and 3 more)")


def test_lines_are_walked_in_path_order(wf: PickWorkflow, data: FakeStationData) -> None:
    reply = take_list(wf, data)
    assert reply.prompt == "Go to B-02: pick 2 x SKU-B. Scan the bin label."
    assert reply.lines == (
        "Pick list SO-1 into OUT-1",
        "Line 1 of 2: 2 x SKU-B from B-02",
        "Picked 0 of 2",
    )
    assert wf.busy


def test_a_list_held_here_resumes_its_open_lines(wf: PickWorkflow, data: FakeStationData) -> None:
    data.picks["SO-1"] = [pick_line(31, "SO-1", 1, "SKU-A", "B-05", 1, 50, None)]
    command = only_take(wf.on_scan(order("SO-1")))
    reply = wf.on_outcome(command, taken(data, command))
    assert level(reply) is Level.OK and "SO-1: 1 line(s) to pick" in text(reply)
    reply = wf.on_scan(location("STG-1"))
    assert reply.prompt == "Go to B-05: pick 1 x SKU-A. Scan the bin label."


def test_unknown_order_is_refused_by_the_ledger(wf: PickWorkflow) -> None:
    command = only_take(wf.on_scan(order("SO-404")))
    message = "order 'SO-404' is not known. Check the order number on the paperwork"
    reply = wf.on_outcome(
        command, outcome(command, ok=False, reason="unknown_order", message=message)
    )
    assert level(reply) is Level.ERROR and message in text(reply) and not wf.busy


def test_the_tote_must_be_outbound_or_staging(wf: PickWorkflow, data: FakeStationData) -> None:
    command = only_take(wf.on_scan(order("SO-1")))
    wf.on_outcome(command, taken(data, command, pick_line(9, "SO-1", 1, "SKU-A", "B-07", 3)))
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
    command = only_take(wf.on_scan(order("SO-2")))
    wf.on_outcome(command, taken(data, command))
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
    command = only_take(wf.on_scan(order("SO-3")))
    wf.on_outcome(command, taken(data, command))
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

    reply = play(wf, wf.on_outcome(post, posted(data, post)))
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
    reserve = only_reserve(play(wf, wf.on_outcome(post, posted(data, post))))
    assert reserve.qty == 2 and reserve.avoid == ("B-02",)
    assert data.tasks["B-02"].reason == "short pick: 2 x SKU-B missing for SO-1/2 (damaged)"
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
    wf.on_scan(cmd(CommandName.CANCEL))
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
    command = only_take(wf.on_scan(order("SO-1")))
    picks = pick_line(11, "SO-1", 1, "SKU-A", "B-07", 1, 70)
    reply = wf.on_outcome(command, taken(data, command, picks, asked={1: 3, 2: 2}))
    assert level(reply) is Level.WARNING
    assert "line 1 SKU-A: only 1 of 3 in stock" in text(reply)
    assert "line 2 SKU-B: only 0 of 2 in stock" in text(reply)


def test_nothing_in_stock_releases_the_list(wf: PickWorkflow, data: FakeStationData) -> None:
    command = only_take(wf.on_scan(order("SO-1")))
    reply = wf.on_outcome(command, taken(data, command, asked={1: 3, 2: 2}))
    assert level(reply) is Level.ERROR and "Nothing of SO-1 can be picked now" in text(reply)
    release = reply.commands[0]
    assert isinstance(release, ReleaseList) and release.how is ReleaseHow.FINISHED
    assert not wf.busy


def test_offline_take_leaves_nothing_to_pick(wf: PickWorkflow) -> None:
    command = only_take(wf.on_scan(order("SO-1")))
    reply = wf.on_outcome(command, None)
    assert level(reply) is Level.WARNING and "queued" in text(reply)
    assert "Nothing of it can be picked until it is reserved" in text(reply)
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
