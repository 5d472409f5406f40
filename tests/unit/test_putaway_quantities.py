"""Putaway quantities (issue 12, point 4) against the in-memory station: the item scan asks how
many (the default: what one suggested bin takes), QTY or the keypad at the bin step changes it,
what no single bin takes goes bin by bin until all is put away or no bin has room, and a
quantity set before a refused item scan goes with the refusal. Also the pure policy behind the
ledger's partial answer: how many units a bin takes, and the ranking of bins for part of a
quantity. No database, no Qt."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import pytest

from app.domain.commands import Command, HoldBin, Putaway
from app.domain.interpret import CommandName, Interpretation, Kind
from app.domain.ledger import Outcome
from app.domain.model import Sku, Tracking
from app.domain.stow import (
    Candidate,
    Content,
    Space,
    StowPolicy,
    StowRequest,
    rank_part,
    units_that_fit,
)
from app.domain.workflow import Entry, Holding, Level, Putback, Reply, StationInfo
from app.domain.workflows.putaway import PutawayWorkflow
from tests.support.fake_station import FakeStationData, context, meaning, outcome, play

GTIN = {
    "SKU-1": "09506000134352",
    "SKU-2": "09506000134369",
    "SKU-L": "09506000134376",
    "SKU-S": "09506000134383",
}
IDLE = "Scan an item or licence plate on DOCK-1 to put it away."
ASK = "; QTY or the keypad changes how many."


@dataclass
class Bins:
    """The ledger's answer to a HoldBin over bins with room for so many units, as
    app/services/work_ledger.py gives it: a bin that takes them all, else the bin that takes the
    most, held for what it takes ("units"); no bin with room for one unit: no location. A hold
    takes the room until the putaway uses it (the fake never lets one expire)."""

    room: dict[str, int]
    asked: list[int] = field(default_factory=list)

    def answer(self, command: Command) -> Outcome | None:
        assert isinstance(command, HoldBin)
        self.asked.append(command.qty)
        whole = [code for code, units in self.room.items() if units >= command.qty]
        roomy = sorted((c for c, u in self.room.items() if u > 0), key=lambda c: -self.room[c])
        if whole:
            held, units = whole[0], command.qty
        elif roomy:
            held, units = roomy[0], self.room[roomy[0]]
        else:
            result: dict[str, object] = {"location": None, "why": None, "also": [], "units": 0}
            return outcome(command, message=f"no bin has room for {command.qty}", result=result)
        self.room[held] -= units
        result = {"location": held, "why": "room for it", "also": [], "units": units}
        return outcome(command, message=f"{held} held for {units}", result=result)


def offline(command: Command) -> Outcome:
    """The session's own refusal of a bin suggestion while the database is out of reach."""
    message = "The database is out of reach since 10:02"
    return outcome(command, ok=False, message=message, reason="offline")


@pytest.fixture
def data() -> FakeStationData:
    data = FakeStationData()
    for sku, tracking in (
        ("SKU-1", Tracking.NONE),
        ("SKU-2", Tracking.NONE),
        ("SKU-L", Tracking.LOT),
        ("SKU-S", Tracking.SERIAL),
    ):
        data.add_sku(sku, GTIN[sku], tracking)
    for code in ("A-01", "B-02", "C-03", "D-04"):
        data.add_bin(code)
    data.holdings["DOCK-1"] = [
        Holding("SKU-1", None, 400),
        Holding("SKU-L", "L1", 3),
        Holding("SKU-L", "L2", 4),
        Holding("SKU-S", None, 2),
    ]
    return data


@pytest.fixture
def wf(data: FakeStationData) -> PutawayWorkflow:
    return PutawayWorkflow(context(data))


def item(sku: str, **fields: object) -> Interpretation:
    return meaning(Kind.ITEM, gtin=GTIN[sku], sku=sku, **fields)


def cmd(name: CommandName, arg: str | None = None) -> Interpretation:
    return meaning(Kind.COMMAND, command=name, command_arg=arg)


def qty(n: int) -> Interpretation:
    return cmd(CommandName.QTY, str(n))


def location(code: str) -> Interpretation:
    return meaning(Kind.LOCATION, code=code)


def level(reply: Reply) -> Level | None:
    return reply.feedback.level if reply.feedback else None


def text(reply: Reply) -> str:
    return reply.feedback.text if reply.feedback else ""


def putaway(reply: Reply) -> Putaway:
    (command,) = reply.commands
    assert isinstance(command, Putaway)
    return command


def moved(data: FakeStationData, command: Putaway) -> None:
    """What the ledger's putaway does to the source the station reads."""
    source = data.holdings[command.from_location]
    for n, held in enumerate(source):
        if (held.sku, held.lot) == (command.sku, command.lot):
            source[n] = Holding(held.sku, held.lot, held.qty - command.qty)
    data.holdings[command.from_location] = [h for h in source if h.qty > 0]


def confirm(
    wf: PutawayWorkflow, data: FakeStationData, command: Putaway, bins: Bins | None = None
) -> Reply:
    """The ledger confirms the putaway; the next suggestion the station then asks for (the
    rest of a split) is answered by `bins`, the way the session runs a step."""
    moved(data, command)
    message = f"put {command.qty} x {command.sku} into {command.to_location}"
    reply = wf.on_outcome(command, outcome(command, message=message))
    return play(wf, reply, bins.answer if bins else data.answer)


# --- the item scan asks how many --------------------------------------------------------------


def test_the_item_scan_offers_what_one_suggested_bin_takes(wf: PutawayWorkflow) -> None:
    bins = Bins({"A-01": 150, "B-02": 150, "C-03": 150})
    asked = wf.on_scan(item("SKU-1"))
    (hold,) = asked.commands
    assert isinstance(hold, HoldBin) and hold.qty == 400  # everything on the dock, first

    taken = play(wf, asked, bins.answer)

    assert taken.prompt == f"Put 150 of 400 x SKU-1 into A-01 (suggested). Scan the bin{ASK}"
    assert taken.entry is Entry.QUANTITY and taken.feedback is None and wf.busy
    command = putaway(wf.on_scan(location("A-01")))
    assert (command.qty, command.to_location, command.suggested) == (150, "A-01", "A-01")


def test_goods_one_bin_takes_whole_are_offered_whole(
    wf: PutawayWorkflow, data: FakeStationData
) -> None:
    taken = play(wf, wf.on_scan(item("SKU-1")), Bins({"A-01": 1000}).answer)
    assert taken.prompt == f"Put 400 x SKU-1 into A-01 (suggested). Scan the bin{ASK}"
    data.holdings["DOCK-1"] = [Holding("SKU-2", None, 1)]
    wf.on_scan(cmd(CommandName.CANCEL))
    one = play(wf, wf.on_scan(item("SKU-2")), Bins({"B-02": 5}).answer)
    assert one.prompt == "Put 1 x SKU-2 into B-02 (suggested). Scan the bin."  # nothing to ask
    assert one.entry is None


def test_a_split_goes_bin_by_bin_until_all_is_put_away(
    wf: PutawayWorkflow, data: FakeStationData
) -> None:
    bins = Bins({"A-01": 150, "B-02": 150, "C-03": 150})
    play(wf, wf.on_scan(item("SKU-1")), bins.answer)

    second = confirm(wf, data, putaway(wf.on_scan(location("A-01"))), bins)

    assert level(second) is Level.OK
    assert text(second) == "Put 150 x SKU-1 into A-01. Next: the other 250 x SKU-1."
    assert second.prompt == f"Put 150 of 250 x SKU-1 into B-02 (suggested). Scan the bin{ASK}"
    assert wf.busy and bins.asked == [400, 250]  # a new suggestion for the rest, at once

    third = confirm(wf, data, putaway(wf.on_scan(location("B-02"))), bins)
    assert text(third) == "Put 150 x SKU-1 into B-02. Next: the other 100 x SKU-1."
    assert third.prompt == f"Put 100 x SKU-1 into C-03 (suggested). Scan the bin{ASK}"

    done = confirm(wf, data, putaway(wf.on_scan(location("C-03"))), bins)
    assert level(done) is Level.OK and text(done) == "Put 100 x SKU-1 into C-03."
    assert done.prompt == IDLE and not wf.busy and done.entry is None
    assert bins.asked == [400, 250, 100]
    assert [h for h in data.holdings["DOCK-1"] if h.sku == "SKU-1"] == []


def test_what_no_bin_has_room_for_stays_on_the_dock_and_is_said(
    wf: PutawayWorkflow, data: FakeStationData
) -> None:
    bins = Bins({"A-01": 150, "B-02": 100})
    play(wf, wf.on_scan(item("SKU-1")), bins.answer)
    confirm(wf, data, putaway(wf.on_scan(location("A-01"))), bins)

    last = confirm(wf, data, putaway(wf.on_scan(location("B-02"))), bins)

    assert level(last) is Level.WARNING
    assert text(last) == (
        "Put 100 x SKU-1 into B-02. Next: the other 150 x SKU-1. No bin has room for the other "
        "150 x SKU-1: they stay on DOCK-1. Tell a supervisor."
    )
    assert last.prompt == IDLE and not wf.busy
    assert data.holdings["DOCK-1"][0] == Holding("SKU-1", None, 150)


def test_the_rest_is_at_most_what_the_dock_still_holds(
    wf: PutawayWorkflow, data: FakeStationData
) -> None:
    bins = Bins({"A-01": 150, "B-02": 150})
    play(wf, wf.on_scan(item("SKU-1")), bins.answer)
    data.holdings["DOCK-1"][0] = Holding("SKU-1", None, 200)  # someone took 200 meanwhile
    second = confirm(wf, data, putaway(wf.on_scan(location("A-01"))), bins)
    assert text(second) == "Put 150 x SKU-1 into A-01. Next: the other 50 x SKU-1."
    assert second.prompt.startswith("Put 50 x SKU-1 into B-02 (suggested)")

    command = putaway(wf.on_scan(location("B-02")))
    assert command.qty == 50
    data.holdings["DOCK-1"][0] = Holding("SKU-1", None, 100)  # and 50 more came
    assert confirm(wf, data, command, bins).prompt == IDLE  # no rest was left: done
    assert not wf.busy and bins.asked == [400, 50]

    play(wf, wf.on_scan(item("SKU-1")), Bins({"C-03": 30}).answer)
    data.holdings["DOCK-1"] = [h for h in data.holdings["DOCK-1"] if h.sku != "SKU-1"]
    data.holdings["DOCK-1"].append(Holding("SKU-1", None, 30))  # the other 20 went elsewhere
    done = confirm(wf, data, putaway(wf.on_scan(location("C-03"))), bins)
    assert text(done) == "Put 30 x SKU-1 into C-03." and not done.commands and not wf.busy


def test_a_quantity_set_before_the_item_scan_is_what_is_split(wf: PutawayWorkflow) -> None:
    bins = Bins({"A-01": 150, "B-02": 150})
    wf.on_scan(qty(200))
    taken = play(wf, wf.on_scan(item("SKU-1")), bins.answer)
    assert bins.asked == [200]
    assert taken.prompt == f"Put 150 of 200 x SKU-1 into A-01 (suggested). Scan the bin{ASK}"


# --- QTY or the keypad at the bin step ---------------------------------------------------------


def test_qty_at_the_bin_step_changes_how_many_go_into_the_bin(
    wf: PutawayWorkflow, data: FakeStationData
) -> None:
    bins = Bins({"A-01": 150, "B-02": 120, "C-03": 100})
    play(wf, wf.on_scan(item("SKU-1")), bins.answer)
    fewer = wf.on_scan(qty(100))
    assert level(fewer) is Level.OK and not fewer.commands  # the held bin takes 100 too
    assert text(fewer) == "Quantity 100: put 100 of 400 x SKU-1 into A-01."
    assert fewer.prompt == f"Put 100 of 400 x SKU-1 into A-01 (suggested). Scan the bin{ASK}"
    assert fewer.entry is Entry.QUANTITY

    typed = wf.on_entry("120")
    assert text(typed) == "Quantity 120: put 120 of 400 x SKU-1 into A-01."

    too_many = wf.on_entry("401")
    assert level(too_many) is Level.ERROR and not too_many.commands
    assert text(too_many) == (
        "Quantity 401 not taken: DOCK-1 holds 400 x SKU-1. Enter at most 400, or scan the bin "
        "for 120 x SKU-1."
    )
    assert too_many.prompt.startswith("Put 120 of 400 x SKU-1 into A-01")

    bad = wf.on_entry("0")
    assert level(bad) is Level.ERROR and "whole number" in text(bad)

    more = play(wf, wf.on_scan(qty(300)), bins.answer)  # more than A-01 was held for: ask again
    assert bins.asked == [400, 300]
    assert level(more) is Level.WARNING
    assert text(more) == (
        "Quantity 300 set for this bin. No bin has room for all 300 x SKU-1: B-02 takes 120, "
        "the rest follows bin by bin."
    )
    assert more.prompt == f"Put 120 of 400 x SKU-1 into B-02 (suggested). Scan the bin{ASK}"
    command = putaway(wf.on_scan(location("B-02")))
    assert (command.qty, command.suggested) == (120, "B-02")
    following = confirm(wf, data, command, bins)
    assert following.prompt.startswith("Put 100 of 280 x SKU-1 into C-03 (suggested)")


def test_a_smaller_quantity_leaves_the_rest_for_the_next_bin(
    wf: PutawayWorkflow, data: FakeStationData
) -> None:
    bins = Bins({"A-01": 150, "B-02": 400})
    play(wf, wf.on_scan(item("SKU-1")), bins.answer)  # B-02 takes all
    wf.on_entry("100")
    command = putaway(wf.on_scan(location("B-02")))
    assert command.qty == 100
    bins.room["B-02"] += 300  # the hold for the 300 not put goes back (the ledger's take_holds)
    following = confirm(wf, data, command, bins)
    assert bins.asked == [400, 300]
    assert following.prompt.startswith("Put 300 x SKU-1 into B-02 (suggested)")


def test_serial_tracked_units_stay_one_at_a_time(wf: PutawayWorkflow) -> None:
    play(wf, wf.on_scan(item("SKU-S", serial="SN-7")), Bins({"A-01": 10}).answer)
    refused = wf.on_scan(qty(2))
    assert level(refused) is Level.ERROR and "tracked by serial number" in text(refused)
    assert putaway(wf.on_scan(location("A-01"))).qty == 1


def test_cancel_and_confirm_at_a_split_task(wf: PutawayWorkflow) -> None:
    play(wf, wf.on_scan(item("SKU-1")), Bins({"A-01": 150}).answer)
    confirm_scan = wf.on_scan(cmd(CommandName.CONFIRM))
    assert level(confirm_scan) is Level.ERROR and not confirm_scan.commands
    assert text(confirm_scan) == (
        "CONFIRM is not a bin scan: scan the label of the bin you put 150 x SKU-1 into (A-01 is "
        "suggested), so the station knows where the goods are."
    )
    cancelled = wf.on_scan(cmd(CommandName.CANCEL))
    assert text(cancelled) == "Putaway of 150 of 400 x SKU-1 cancelled; nothing moved."
    assert cancelled.prompt == IDLE and not wf.busy


def test_an_override_bin_takes_the_task_and_the_rest_follows(
    wf: PutawayWorkflow, data: FakeStationData
) -> None:
    bins = Bins({"A-01": 150, "B-02": 150, "C-03": 150})
    play(wf, wf.on_scan(item("SKU-1")), bins.answer)
    command = putaway(wf.on_scan(location("D-04")))
    assert (command.qty, command.to_location, command.suggested) == (150, "D-04", "A-01")
    bins.room["A-01"] += 150  # the ledger gives the unused hold back at once
    following = confirm(wf, data, command, bins)
    assert text(following).startswith("Put 150 x SKU-1 into D-04 instead of the suggested A-01.")
    assert following.prompt.startswith("Put 150 of 250 x SKU-1 into A-01 (suggested)")


def test_a_full_bin_keeps_the_split_task(wf: PutawayWorkflow, data: FakeStationData) -> None:
    bins = Bins({"A-01": 150, "B-02": 150, "C-03": 150})
    play(wf, wf.on_scan(item("SKU-1")), bins.answer)
    command = putaway(wf.on_scan(location("D-04")))
    full = outcome(
        command,
        ok=False,
        message="150 x SKU-1 do not fit in D-04",
        reason="bin_full",
        result={"suggestions": [{"location": "C-03"}]},
    )
    reply = wf.on_outcome(command, full)
    assert level(reply) is Level.ERROR
    assert reply.prompt == f"Put 150 of 400 x SKU-1 into A-01 (suggested). Scan the bin{ASK}"
    again = putaway(wf.on_scan(location("A-01")))
    assert (again.qty, again.suggested) == (150, "A-01")
    assert confirm(wf, data, again, bins).prompt.startswith("Put 150 of 250 x SKU-1 into B-02")


def test_no_bin_with_room_for_even_one_says_what_to_do(wf: PutawayWorkflow) -> None:
    taken = play(wf, wf.on_scan(item("SKU-1")), Bins({"A-01": 0}).answer)
    assert level(taken) is Level.WARNING
    assert text(taken) == (
        "No bin suggestion: no bin has room for 400. If you know a bin with room, put them "
        "there and scan its label; else leave them on DOCK-1 and tell a supervisor."
    )
    assert taken.prompt == f"Put 400 x SKU-1 into any bin with room. Scan the bin{ASK}"


# --- offline: no suggestion, any bin with room ------------------------------------------------


def test_offline_the_worker_puts_everything_into_any_bin(wf: PutawayWorkflow) -> None:
    taken = play(wf, wf.on_scan(item("SKU-1")), offline)
    assert level(taken) is Level.WARNING
    assert text(taken) == (
        "No bin suggestion: the database is out of reach. Put the goods into any bin with room "
        "and scan its label."
    )
    assert taken.prompt == f"Put 400 x SKU-1 into any bin with room. Scan the bin{ASK}"
    changed = play(wf, wf.on_entry("40"), offline)  # asked again: still out of reach
    assert changed.prompt == f"Put 40 of 400 x SKU-1 into any bin with room. Scan the bin{ASK}"
    command = putaway(wf.on_scan(location("C-03")))
    assert (command.qty, command.suggested) == (40, None)


def test_a_queued_split_goes_on_with_the_rest_into_any_bin(
    wf: PutawayWorkflow, data: FakeStationData
) -> None:
    play(wf, wf.on_scan(item("SKU-1")), Bins({"A-01": 150}).answer)
    command = putaway(wf.on_scan(location("A-01")))
    moved(data, command)  # the station's copy shows its queued putaway
    following = play(wf, wf.on_outcome(command, None), offline)
    assert level(following) is Level.WARNING
    assert text(following).startswith(
        "Putting 150 x SKU-1 into A-01 is queued: the database cannot be reached."
    )
    assert text(following).endswith(
        "Next: the other 250 x SKU-1. No bin suggestion: the database is out of reach. Put the "
        "goods into any bin with room and scan its label."
    )
    assert following.prompt == f"Put 250 x SKU-1 into any bin with room. Scan the bin{ASK}"


# --- a quantity set before a refused item scan goes with the refusal ---------------------------


REFUSED = [
    pytest.param(
        meaning(Kind.ITEM, gtin="09506000134390"), "No item in the catalogue", id="unknown"
    ),
    pytest.param(item("SKU-2"), "SKU-2 is not on DOCK-1", id="not-on-dock"),
    pytest.param(item("SKU-L", lot="L9"), "lot L9 is not on DOCK-1", id="wrong-lot"),
    pytest.param(item("SKU-L"), "this label has no lot", id="no-lot"),
    pytest.param(item("SKU-S"), "tracked by serial number", id="no-serial"),
    pytest.param(location("A-01"), "the item comes before the bin", id="bin-first"),
    pytest.param(meaning(Kind.RECEIPT, code="ASN-1"), "this step needs an item", id="receipt"),
    pytest.param(cmd(CommandName.DAMAGED), "it does not apply here", id="command"),
]


@pytest.mark.parametrize(("scan", "why"), REFUSED)
def test_a_refused_item_scan_clears_the_quantity_set_for_it(
    wf: PutawayWorkflow, scan: Interpretation, why: str
) -> None:
    assert wf.on_scan(qty(5)).prompt == f"{IDLE[:-1]} (quantity 5)."
    refused = wf.on_scan(scan)
    assert level(refused) in (Level.ERROR, Level.WARNING) and why in text(refused)
    assert text(refused).endswith(
        "Quantity 5 cleared with it: set it again before the next item scan."
    )
    assert "(quantity" not in refused.prompt and not wf.busy
    # The next item is taken without it: everything on the dock.
    assert play(wf, wf.on_scan(item("SKU-1")), Bins({"A-01": 999}).answer).prompt.startswith(
        "Put 400 x SKU-1"
    )


def test_more_than_the_dock_holds_is_refused_and_cleared(wf: PutawayWorkflow) -> None:
    wf.on_entry("401")
    refused = wf.on_scan(item("SKU-1"))
    assert level(refused) is Level.ERROR and "DOCK-1 holds 400 x SKU-1" in text(refused)
    assert "Quantity 401 cleared with it" in text(refused) and not wf.busy


def test_a_station_without_a_dock_clears_the_quantity(data: FakeStationData) -> None:
    data.stations["ST-9"] = StationInfo("ST-9", "A", None, None, None)
    wf = PutawayWorkflow(context(data, station="ST-9"))
    wf.on_scan(qty(2))
    refused = wf.on_scan(item("SKU-1"))
    assert "no dock lane" in text(refused) and "Quantity 2 cleared with it" in text(refused)
    assert not wf.busy


def test_a_quantity_survives_an_accepted_choice_of_source(data: FakeStationData) -> None:
    data.cancelled = [Putback("SO-7", "OUT-1", "SKU-1", None, 5)]
    wf = PutawayWorkflow(context(data))
    wf.start()
    wf.on_scan(qty(3))
    chosen = wf.on_scan(location("OUT-1"))
    assert level(chosen) is Level.OK and chosen.prompt.endswith("(quantity 3); DONE to stop.")


# --- a cancelled order's goods split the same way ---------------------------------------------


def test_a_cancelled_orders_goods_split_over_bins(data: FakeStationData) -> None:
    data.cancelled = [Putback("SO-7", "OUT-1", "SKU-1", None, 5)]
    data.holdings["OUT-1"] = [Holding("SKU-1", None, 5)]
    wf = PutawayWorkflow(context(data))
    wf.start()
    wf.on_scan(location("OUT-1"))
    bins = Bins({"A-01": 3, "B-02": 3})
    taken = play(wf, wf.on_scan(item("SKU-1")), bins.answer)
    assert taken.prompt.startswith("Put 3 of 5 x SKU-1 into A-01 (suggested)")
    command = putaway(wf.on_scan(location("A-01")))
    assert (command.order, command.from_location, command.qty) == ("SO-7", "OUT-1", 3)
    data.cancelled = [Putback("SO-7", "OUT-1", "SKU-1", None, 2)]
    following = confirm(wf, data, command, bins)
    assert following.prompt.startswith("Put 2 x SKU-1 into B-02 (suggested)")
    last = putaway(wf.on_scan(location("B-02")))
    assert (last.order, last.qty) == ("SO-7", 2)
    data.cancelled = []
    done = confirm(wf, data, last, bins)
    assert text(done).endswith("Nothing of cancelled orders is left in OUT-1: back to DOCK-1.")


# --- the policy behind the ledger's partial answer --------------------------------------------

WIDGET = Sku(1, "WIDGET", "Blue widget", 100, 50, Tracking.NONE)
AIR = Sku(2, "AIR", "Weightless", 0, 0, Tracking.NONE)
MILK = Sku(4, "MILK", "Milk 1 l", 1000, 1030, Tracking.LOT)


def space(
    location_id: int,
    zone: str = "A",
    limits: tuple[int, int, int] = (1000, 1_000_000, 1_000_000),
    used: tuple[int, int, int] = (0, 0, 0),
) -> Space:
    return Space(location_id, f"{zone}-{location_id:02d}", zone, location_id, *limits, *used)


@pytest.mark.parametrize(
    ("limits", "used", "units"),
    [
        ((150, 1_000_000, 1_000_000), (0, 0, 0), 150),  # units
        ((1000, 15_050, 1_000_000), (0, 0, 0), 150),  # volume: 150 of 100 cm3, not 151
        ((1000, 1_000_000, 7_549), (0, 0, 0), 150),  # weight: 150 of 50 g
        ((150, 1_000_000, 1_000_000), (40, 4_000, 2_000), 110),  # what is in it counts
        ((150, 1_000_000, 1_000_000), (160, 16_000, 8_000), 0),  # overfull: none
    ],
)
def test_units_that_fit_go_by_units_volume_and_weight(
    limits: tuple[int, int, int], used: tuple[int, int, int], units: int
) -> None:
    assert units_that_fit(space(1, limits=limits, used=used), WIDGET) == units


def test_weightless_goods_fit_by_units_unless_the_bin_is_overfull() -> None:
    assert units_that_fit(space(1, limits=(7, 0, 0)), AIR) == 7
    assert units_that_fit(space(1, limits=(7, 10, 10), used=(0, 20, 0)), AIR) == 0


def test_a_split_ranks_the_bins_that_take_the_most_first() -> None:
    candidates = [
        Candidate(space(1, "A", (100, 10**9, 10**9))),
        Candidate(space(2, "B", (150, 10**9, 10**9))),
        Candidate(space(3, "A", (150, 10**9, 10**9))),
        Candidate(space(4, "A", (500, 10**9, 10**9)), (Content(1, 7, 1, None),)),  # other lot
        Candidate(space(5, "A", (10, 10**9, 10**9), (10, 0, 0))),  # full
    ]
    request = StowRequest(WIDGET, 0, 400, near_zone="A")
    ranked = rank_part(candidates, request, StowPolicy(), random.Random(1))
    assert [(s.code, s.units) for s in ranked] == [("A-03", 150), ("B-02", 150), ("A-01", 100)]
    assert ranked[0].why == "in your zone, room for 150 of the 400"
    capped = rank_part(candidates, request, StowPolicy(cap_per_bin=120), random.Random(1))
    assert [s.units for s in capped] == [120, 120, 100]
    zoned = rank_part(candidates, request, StowPolicy(cap_per_zone=50), random.Random(1))
    assert {s.units for s in zoned} == {50}
    assert (
        rank_part(candidates[:3], StowRequest(WIDGET, 0, 60), StowPolicy(), random.Random(1))[
            0
        ].units
        == 60
    )
