"""Count mode as counters and supervisors see it: blind counts, tolerance, recount by another
operator, supervisor approval with badge, PIN and reason code, and the exact Adjust commands and
count-task states it writes, against the in-memory station (no database, no Qt)."""

from __future__ import annotations

import pytest

from app.domain.commands import Adjust, AdjustReason, CountLine, SaveCount
from app.domain.interpret import CommandName, Interpretation, Kind, StationMode
from app.domain.model import Tracking
from app.domain.workflow import CountState, Entry, Holding, Level, Reply, Tolerance
from app.domain.workflows.count import CountWorkflow
from app.domain.workflows.count_variance import beyond_tolerance, variances, with_posted
from tests.support.fake_station import FakeStationData, context, meaning, outcome, play

GTIN = {"SKU-A": "09506000134352", "SKU-L": "09506000134376"}
LEDGER = (Holding("SKU-A", None, 437), Holding("SKU-L", "L1", 923))
"""What the ledger says B-01 holds: numbers no count reply may show."""


def warehouse() -> FakeStationData:
    data = FakeStationData()
    data.add_sku("SKU-A", GTIN["SKU-A"])
    data.add_sku("SKU-L", GTIN["SKU-L"], Tracking.LOT)
    data.add_sku("SKU-S", None, Tracking.SERIAL)
    data.add_bin("B-01", *LEDGER)
    return data


@pytest.fixture
def data() -> FakeStationData:
    return warehouse()


def counter(data: FakeStationData, badge: str = "C001") -> CountWorkflow:
    return CountWorkflow(context(data, badge))


def location(code: str) -> Interpretation:
    return meaning(Kind.LOCATION, code=code)


def item(sku: str, **fields: object) -> Interpretation:
    return meaning(Kind.ITEM, gtin=GTIN.get(sku), sku=sku, **fields)


def badge(code: str) -> Interpretation:
    return meaning(Kind.BADGE, code=code)


def cmd(name: CommandName, arg: str | None = None) -> Interpretation:
    return meaning(Kind.COMMAND, command=name, command_arg=arg)


def level(reply: Reply) -> Level | None:
    return reply.feedback.level if reply.feedback else None


def text(reply: Reply) -> str:
    return reply.feedback.text if reply.feedback else ""


def shown(reply: Reply) -> str:
    return " | ".join([reply.prompt, text(reply), *reply.lines])


def adjusts(reply: Reply) -> list[Adjust]:
    assert all(isinstance(c, Adjust) for c in reply.commands)
    return [c for c in reply.commands if isinstance(c, Adjust)]


def count(wf: CountWorkflow, a: int, lot_units: int, bin_code: str = "B-01") -> list[Reply]:
    """Scan the bin, count `a` x SKU-A and `lot_units` x SKU-L lot L1, then DONE; the count
    task saves go to the ledger, the adjustments are left to the test."""
    replies = [wf.on_scan(location(bin_code))]
    for sku, qty, lot in (("SKU-A", a, None), ("SKU-L", lot_units, "L1")):
        if qty:
            replies.append(wf.on_scan(cmd(CommandName.QTY, str(qty))))
            replies.append(wf.on_scan(item(sku, lot=lot)))
    replies.append(play(wf, wf.on_scan(cmd(CommandName.DONE))))
    return replies


def posted(wf: CountWorkflow, reply: Reply) -> Reply:
    """The ledger confirms every adjustment of `reply`; what the station shows after the last."""
    for adjust in reply.commands:
        reply = play(wf, wf.on_outcome(adjust, outcome(adjust)))
    return reply


def test_variances_are_counted_minus_snapshot_per_sku_and_lot() -> None:
    snapshot = [Holding("A", None, 10), Holding("L", "L1", 5), Holding("L", "L2", 2)]
    counts = [Holding("A", None, 9), Holding("L", "L1", 5), Holding("L", "L3", 1)]
    assert variances(snapshot, counts) == {("A", None): -1, ("L", "L2"): -2, ("L", "L3"): 1}
    tolerance = Tolerance(units=1, percent=5)
    assert beyond_tolerance(tolerance, snapshot, counts) == [("L", "L2")]
    assert with_posted(snapshot, {("A", None): -1, ("L", "L3"): 1}) == (
        Holding("A", None, 9),
        Holding("L", "L1", 5),
        Holding("L", "L2", 2),
        Holding("L", "L3", 1),
    )


def test_the_count_is_blind_and_within_tolerance_posts_adjustments(data: FakeStationData) -> None:
    wf = counter(data)
    assert wf.mode is StationMode.COUNT and not wf.busy
    assert wf.start().prompt == "Scan the label of the bin to count."
    replies = count(wf, 430, 923)
    for reply in replies:
        assert "437" not in shown(reply) and "1360" not in shown(reply)
        assert "-7" not in shown(reply) and "variance" not in shown(reply).lower()
    assert replies[0].prompt.startswith("Count everything in B-01")
    assert replies[0].entry is Entry.QUANTITY
    assert "SKU-A: 430 counted" in replies[2].lines
    done = replies[-1]
    (adjust,) = adjusts(done)
    assert (adjust.sku, adjust.location, adjust.delta, adjust.lot) == ("SKU-A", "B-01", -7, None)
    assert (adjust.reason, adjust.approved_by) == (AdjustReason.COUNT, None)
    assert (adjust.station, adjust.operator) == ("ST-1", "C001")
    assert data.task_log == []

    reply = play(wf, wf.on_outcome(adjust, outcome(adjust)))
    assert level(reply) is Level.OK and text(reply) == "Count of B-01 posted: 1 adjustment(s)."
    task = data.task_log[-1]
    assert task.state is CountState.DONE and task.counted_by == "C001"
    assert task.snapshot == LEDGER and "437" not in shown(reply)
    assert not wf.busy


def test_a_count_that_matches_posts_nothing(data: FakeStationData) -> None:
    wf = counter(data)
    done = count(wf, 437, 923)[-1]
    assert done.commands == ()
    assert level(done) is Level.OK and text(done) == "Count of B-01 posted: 0 adjustment(s)."
    assert data.task_log[-1].state is CountState.DONE


def test_lot_tracked_items_need_their_lot_and_undo_takes_back(data: FakeStationData) -> None:
    wf = counter(data)
    wf.on_scan(location("B-01"))
    no_lot = wf.on_scan(item("SKU-L"))
    assert level(no_lot) is Level.ERROR and "tracked by lot" in text(no_lot)
    wf.on_scan(item("SKU-L", lot="L1", count=12))
    wf.on_scan(item("SKU-A"))
    undo = wf.on_scan(cmd(CommandName.UNDO))
    assert level(undo) is Level.OK and "Took back 1 x SKU-A" in text(undo)
    assert undo.lines == ("Count of B-01: 12 unit(s) counted", "SKU-L lot L1: 12 counted")


def test_beyond_tolerance_needs_a_recount_by_another_operator(data: FakeStationData) -> None:
    wf = counter(data)
    done = count(wf, 400, 923)[-1]
    assert done.commands == ()
    assert level(done) is Level.WARNING
    assert text(done) == "Variance beyond tolerance: another operator must recount B-01."
    assert "437" not in shown(done)
    task = data.tasks["B-01"]
    assert task.state is CountState.RECOUNT and task.counted_by == "C001"
    assert task.counts == (Holding("SKU-A", None, 400), Holding("SKU-L", "L1", 923))
    assert task.snapshot == LEDGER

    again = counter(data).on_scan(location("B-01"))
    assert level(again) is Level.ERROR
    assert "You counted B-01 first: another operator must recount it" in text(again)


def test_a_recount_within_tolerance_posts(data: FakeStationData) -> None:
    count(counter(data), 400, 923)
    wf = counter(data, "C002")
    start = wf.on_scan(location("B-01"))
    assert level(start) is Level.OK and text(start) == "Recounting B-01."
    wf.on_scan(cmd(CommandName.QTY, "436"))
    wf.on_scan(item("SKU-A"))
    wf.on_scan(cmd(CommandName.QTY, "923"))
    wf.on_scan(item("SKU-L", lot="L1"))
    (adjust,) = adjusts(wf.on_scan(cmd(CommandName.DONE)))
    assert (adjust.delta, adjust.reason, adjust.operator) == (-1, AdjustReason.COUNT, "C002")
    play(wf, wf.on_outcome(adjust, outcome(adjust)))
    assert data.tasks["B-01"].state is CountState.DONE


def test_a_count_beyond_tolerance_sends_the_count_to_save_for_a_recount(
    data: FakeStationData,
) -> None:
    wf = counter(data)
    wf.on_scan(location("B-01"))
    wf.on_scan(cmd(CommandName.QTY, "400"))
    wf.on_scan(item("SKU-A"))
    wf.on_scan(cmd(CommandName.QTY, "923"))
    wf.on_scan(item("SKU-L", lot="L1"))
    done = wf.on_scan(cmd(CommandName.DONE))
    (save,) = done.commands
    assert isinstance(save, SaveCount)
    assert (save.location, save.state, save.counter) == ("B-01", "recount", "C001")
    assert (save.station, save.operator) == ("ST-1", "C001")
    assert save.counts == (CountLine("SKU-A", 400), CountLine("SKU-L", 923, "L1"))
    assert save.snapshot == (CountLine("SKU-A", 437), CountLine("SKU-L", 923, "L1"))
    assert data.task_log == []  # nothing is written until the ledger takes the transaction


def test_what_was_counted_stays_on_screen_after_the_count_is_saved(
    data: FakeStationData,
) -> None:
    done = count(counter(data), 400, 923)[-1]
    assert "SKU-A: 400 counted" in done.lines


def test_a_refused_count_save_says_so(data: FakeStationData) -> None:
    wf = counter(data)
    wf.on_scan(location("B-01"))
    wf.on_scan(cmd(CommandName.QTY, "400"))
    wf.on_scan(item("SKU-A"))
    del data.operators["C001"]  # the counter's badge was withdrawn meanwhile
    reply = play(wf, wf.on_scan(cmd(CommandName.DONE)))
    assert level(reply) is Level.ERROR
    assert text(reply) == (
        "Saving the count of B-01 was refused: badge 'C001' is not known. Call a supervisor."
    )
    assert data.tasks == {} and not wf.busy


def recount_beyond(
    data: FakeStationData, first: str = "C001", second: str = "C002"
) -> tuple[CountWorkflow, Reply]:
    count(counter(data, first), 400, 923)
    wf = counter(data, second)
    done = count(wf, 401, 920)[-1]
    assert level(done) is Level.WARNING and "a supervisor must approve" in text(done)
    return wf, done


def test_a_recount_beyond_tolerance_asks_a_supervisor_with_pin_and_reason(
    data: FakeStationData,
) -> None:
    wf, asked = recount_beyond(data)
    task = data.tasks["B-01"]
    assert task.state is CountState.APPROVAL and task.counted_by == "C002"
    assert task.counts == (Holding("SKU-A", None, 401), Holding("SKU-L", "L1", 920))
    assert wf.wants_badge and wf.busy and asked.commands == ()
    assert asked.prompt.startswith("Supervisor: scan your badge to approve the recount of B-01")
    assert "437" not in shown(asked) and "SKU-A: 401 counted" in asked.lines

    pin = wf.on_scan(badge("S001"))
    assert pin.entry is Entry.PIN and not wf.wants_badge
    wrong = wf.on_entry("0000")
    assert level(wrong) is Level.WARNING and "Wrong PIN for badge S001" in text(wrong)
    approved = wf.on_entry("123456")
    assert level(approved) is Level.OK and text(approved) == "Approved by S001."
    assert approved.prompt.startswith("Approve the recount of B-01: scan the reason code")
    assert "SKU-A: counted 401, ledger 437 (-36)" in approved.lines

    reply = wf.on_scan(cmd(CommandName.REASON, "lost"))
    by_key = {(a.sku, a.lot): a for a in adjusts(reply)}
    assert by_key[("SKU-A", None)].delta == -36 and by_key[("SKU-L", "L1")].delta == -3
    for adjust in by_key.values():
        assert (adjust.reason, adjust.approved_by, adjust.operator) == (
            AdjustReason.LOST,
            "S001",
            "C002",
        )
    assert data.tasks["B-01"].state is CountState.APPROVAL
    reply = posted(wf, reply)
    assert text(reply) == "Count of B-01 posted: 2 adjustment(s)."
    assert data.task_log[-1].state is CountState.DONE


def test_nobody_approves_a_count_they_made(data: FakeStationData) -> None:
    wf, _ = recount_beyond(data, first="S002", second="C002")
    refused = wf.on_scan(badge("S002"))
    assert level(refused) is Level.ERROR
    assert "S002 cannot approve their own work" in text(refused)
    assert wf.wants_badge

    wf, _ = recount_beyond(warehouse(), "C001", "S001")
    refused = wf.on_scan(badge("S001"))
    assert level(refused) is Level.ERROR and "cannot approve their own work" in text(refused)
    not_a_supervisor = wf.on_scan(badge("C002"))
    assert "not an active supervisor's badge" in text(not_a_supervisor)


def test_cancel_leaves_the_task_for_a_supervisor_who_approves_later(
    data: FakeStationData,
) -> None:
    wf, _ = recount_beyond(data)
    left = wf.on_scan(cmd(CommandName.CANCEL))
    assert level(left) is Level.WARNING and "waits for a supervisor's approval" in text(left)
    assert data.tasks["B-01"].state is CountState.APPROVAL and not wf.busy

    refused = counter(data, "C001").on_scan(location("B-01"))
    assert level(refused) is Level.ERROR and "a supervisor must log in here" in text(refused)

    # Stock moved since the recount: the saved counts still apply against the saved snapshot.
    data.holdings["B-01"] = [Holding("SKU-A", None, 430), Holding("SKU-L", "L1", 923)]
    supervisor = counter(data, "S002")
    review = supervisor.on_scan(location("B-01"))
    assert level(review) is Level.WARNING and "by C002 is beyond tolerance" in text(review)
    assert "SKU-A: counted 401, ledger 437 (-36)" in review.lines
    assert "SKU-L lot L1: counted 920, ledger 923 (-3)" in review.lines
    reply = supervisor.on_scan(cmd(CommandName.REASON, "damaged"))
    by_key = {(a.sku, a.lot): a for a in adjusts(reply)}
    assert by_key[("SKU-A", None)].delta == -36
    assert {(a.reason, a.approved_by, a.operator) for a in by_key.values()} == {
        (AdjustReason.DAMAGED, None, "S002")
    }
    posted(supervisor, reply)
    assert data.task_log[-1].state is CountState.DONE


def test_a_supervisor_who_recounted_may_not_approve_later(data: FakeStationData) -> None:
    wf, _ = recount_beyond(data, "C001", "S001")
    wf.on_scan(cmd(CommandName.CANCEL))
    reply = counter(data, "S001").on_scan(location("B-01"))
    assert level(reply) is Level.ERROR
    assert "You counted B-01: another supervisor must approve" in text(reply)


def test_a_supervisor_who_counted_first_may_not_approve_later(data: FakeStationData) -> None:
    wf, _ = recount_beyond(data, "S001", "C002")
    wf.on_scan(cmd(CommandName.CANCEL))
    task = data.tasks["B-01"]
    assert (task.counted_by, task.counters) == ("C002", ("S001", "C002"))

    refused = counter(data, "S001").on_scan(location("B-01"))
    assert level(refused) is Level.ERROR
    assert "You counted B-01: another supervisor must approve" in text(refused)
    assert refused.commands == () and data.tasks["B-01"].state is CountState.APPROVAL

    other = counter(data, "S002")
    review = other.on_scan(location("B-01"))
    assert level(review) is Level.WARNING and "by C002 is beyond tolerance" in text(review)
    reply = other.on_scan(cmd(CommandName.REASON, "lost"))
    assert {a.delta for a in adjusts(reply)} == {-36, -3}
    reply = posted(other, reply)
    assert text(reply) == "Count of B-01 posted: 2 adjustment(s)."
    assert data.task_log[-1].state is CountState.DONE


def test_moves_during_the_count_are_accounted_for(data: FakeStationData) -> None:
    wf = counter(data)
    wf.on_scan(location("B-01"))
    # A picker takes 7 of SKU-A while the counter counts: the ledger now says 430.
    data.holdings["B-01"] = [Holding("SKU-A", None, 430), Holding("SKU-L", "L1", 923)]
    wf.on_scan(cmd(CommandName.QTY, "436"))
    wf.on_scan(item("SKU-A"))
    wf.on_scan(cmd(CommandName.QTY, "923"))
    wf.on_scan(item("SKU-L", lot="L1"))
    (adjust,) = adjusts(wf.on_scan(cmd(CommandName.DONE)))
    # Against the start position (437), one is missing; the pick of 7 stays in the ledger.
    assert adjust.delta == -1


def test_a_refused_adjustment_leaves_the_task_unfinished(data: FakeStationData) -> None:
    wf = counter(data)
    (adjust,) = adjusts(count(wf, 430, 923)[-1])
    refused = outcome(adjust, ok=False, reason="not_allowed", message="not allowed here")
    reply = play(wf, wf.on_outcome(adjust, refused))
    assert level(reply) is Level.ERROR and "refused: not allowed here" in text(reply)
    assert data.task_log == []


def test_a_refused_approved_adjustment_leaves_only_it_to_approve(data: FakeStationData) -> None:
    wf, _ = recount_beyond(data)
    wf.on_scan(badge("S001"))
    wf.on_entry("123456")
    reply = wf.on_scan(cmd(CommandName.REASON, "lost"))
    first, second = reply.commands
    wf.on_outcome(first, outcome(first))
    play(wf, wf.on_outcome(second, outcome(second, ok=False, message="lot L1 is blocked")))
    task = data.tasks["B-01"]
    assert task.state is CountState.APPROVAL and task.counted_by == "C002"
    assert variances(task.snapshot, task.counts) == {("SKU-L", "L1"): -3}


def test_offline_adjustments_are_queued(data: FakeStationData) -> None:
    wf = counter(data)
    (adjust,) = adjusts(count(wf, 430, 923)[-1])
    reply = wf.on_outcome(adjust, None)
    assert level(reply) is Level.WARNING and "queued" in text(reply)
    assert "Count of B-01 posted: 1 adjustment(s)." in text(reply)


def test_only_bins_are_counted_and_rfid_is_not_used(data: FakeStationData) -> None:
    wf = counter(data)
    reply = wf.on_scan(location("DOCK-1"))
    assert level(reply) is Level.ERROR and "counts are of bins" in text(reply)
    assert level(wf.on_tags([])) is Level.ERROR
