"""The count screen between bins: how many count tasks wait for the operator, blind for a counter
(no reason, which may name quantities), with each task's reason for a supervisor; a bin assigned
to someone else is still counted, with a warning; a counted task leaves the list. Against the
in-memory station (no database, no Qt)."""

from __future__ import annotations

import pytest

from app.domain.interpret import CommandName, Interpretation, Kind
from app.domain.workflow import CountState, CountTask, CountTaskChoice, Holding, Level, Reply
from app.domain.workflows.count import TASKS_SHOWN, CountWorkflow
from tests.support.fake_station import FakeStationData, context, meaning, play

SHORT = "short pick: 3 of 5 SKU-A found"
NONE_WAIT = "Scan the label of the bin to count."


def task(
    location: str,
    reason: str = "a doubt",
    state: CountState = CountState.OPEN,
    assigned_to: str | None = None,
    zone: str | None = None,
    counters: tuple[str, ...] = (),
) -> CountTask:
    return CountTask(
        0, location, state, reason, counters=counters, assigned_to=assigned_to, zone=zone
    )


@pytest.fixture
def data() -> FakeStationData:
    """Bins B-01 .. B-05 on the pick path in that order (B-05 first), SKU-A in each."""
    fake = FakeStationData()
    fake.add_sku("SKU-A", "09506000134352")
    for seq, code in enumerate(("B-05", "B-01", "B-02", "B-03", "B-04"), start=1):
        fake.add_bin(code, Holding("SKU-A", None, 5))
        fake.pick_sequences[code] = seq
    fake.tasks = {
        "B-02": task("B-02", SHORT),
        "B-05": task("B-05", "planned: class A, due"),
        "B-01": task("B-01", "a doubt", assigned_to="C001"),
        "B-03": task("B-03", "a doubt", assigned_to="C002"),
        "B-04": task("B-04", "a doubt", zone="B"),
    }
    return fake


def shown(reply: Reply) -> str:
    return " | ".join([reply.prompt, reply.feedback.text if reply.feedback else "", *reply.lines])


def scan_bin(code: str) -> Interpretation:
    return meaning(Kind.LOCATION, code=code)


def done() -> Interpretation:
    return meaning(Kind.COMMAND, command=CommandName.DONE)


def test_without_tasks_the_prompt_is_todays() -> None:
    wf = CountWorkflow(context(FakeStationData(), "C001"))
    reply = wf.start()
    assert (reply.prompt, reply.lines) == (NONE_WAIT, ())


def test_a_counter_is_told_how_many_wait_and_shown_no_reason(data: FakeStationData) -> None:
    reply = CountWorkflow(context(data, "C001")).start()
    assert reply.prompt == "3 count tasks for you: scan a bin or touch it below."
    assert reply.lines == ()
    assert "short" not in shown(reply) and "3 of 5" not in shown(reply)
    del data.tasks["B-01"], data.tasks["B-05"]
    assert CountWorkflow(context(data, "C001")).start().prompt == (
        "1 count task for you: scan a bin or touch it below."
    )


def test_a_supervisor_sees_why_each_task_exists_in_pick_path_order(
    data: FakeStationData,
) -> None:
    data.tasks["B-01"] = task("B-01", "a doubt", state=CountState.APPROVAL, counters=("C001",))
    reply = CountWorkflow(context(data, "S001")).start()
    assert reply.prompt == "3 count tasks for you: scan a bin or touch it below."
    assert reply.lines == (
        "B-05: planned: class A, due",
        "B-01 (approval): a doubt",
        f"B-02: {SHORT}",
    )


def test_more_tasks_than_tiles_are_said_so(data: FakeStationData) -> None:
    for n in range(TASKS_SHOWN + 1):
        data.add_bin(f"C-{n:02}")
        data.tasks[f"C-{n:02}"] = task(f"C-{n:02}")
    reply = CountWorkflow(context(data, "S001")).start()
    assert (
        reply.prompt
        == f"More than {TASKS_SHOWN} count tasks for you: scan a bin or touch it below."
    )
    assert len(reply.lines) == TASKS_SHOWN


def test_a_counted_task_leaves_the_list(data: FakeStationData) -> None:
    wf = CountWorkflow(context(data, "C001"))
    assert wf.on_scan(scan_bin("B-02")).prompt.startswith("Count everything in B-02")
    for _ in range(5):
        wf.on_scan(meaning(Kind.ITEM, gtin="09506000134352", sku="SKU-A"))
    reply = play(wf, wf.on_scan(done()))
    assert reply.feedback is not None and reply.feedback.text.startswith("Count of B-02 posted")
    assert data.tasks["B-02"].state is CountState.DONE
    assert reply.prompt == "2 count tasks for you: scan a bin or touch it below."
    # What was counted stays on screen.
    assert reply.lines == ("Count of B-02: 5 unit(s) counted", "SKU-A: 5 counted")


def test_a_recount_leaves_the_first_counters_list(data: FakeStationData) -> None:
    wf = CountWorkflow(context(data, "C001"))
    wf.on_scan(scan_bin("B-02"))
    reply = play(wf, wf.on_scan(done()))  # nothing counted: beyond tolerance, another recounts
    assert reply.feedback is not None and reply.feedback.level is Level.WARNING
    assert data.tasks["B-02"].state is CountState.RECOUNT
    assert reply.prompt == "2 count tasks for you: scan a bin or touch it below."
    assert [t.location for t in data.count_tasks_for("C002", "A", 12)] == ["B-05", "B-02", "B-03"]


def test_a_bin_assigned_to_someone_else_is_counted_with_a_warning(data: FakeStationData) -> None:
    reply = CountWorkflow(context(data, "C001")).on_scan(scan_bin("B-03"))
    assert reply.feedback is not None and reply.feedback.level is Level.WARNING
    assert reply.feedback.text == "B-03 is assigned to C002; counting it anyway."
    assert reply.prompt.startswith("Count everything in B-03")
    reply = CountWorkflow(context(data, "C001")).on_scan(scan_bin("B-04"))
    assert reply.feedback is not None
    assert reply.feedback.text == "B-04 is assigned to the counters of zone B; counting it anyway."
    reply = CountWorkflow(context(data, "C001")).on_scan(scan_bin("B-01"))
    assert reply.feedback is not None and reply.feedback.text == "Counting B-01."


@pytest.mark.parametrize(
    ("choice", "badge", "zone", "supervisor", "may"),
    [
        (CountTaskChoice("B", CountState.OPEN, 1, "r"), "C1", None, False, True),
        (CountTaskChoice("B", CountState.OPEN, 1, "r", zone="A"), "C1", "A", False, True),
        (CountTaskChoice("B", CountState.OPEN, 1, "r", zone="A"), "C1", "B", False, False),
        (CountTaskChoice("B", CountState.OPEN, 1, "r", zone="A"), "C1", None, False, False),
        (CountTaskChoice("B", CountState.OPEN, 1, "r", "C1", "B"), "C1", "A", False, True),
        (CountTaskChoice("B", CountState.OPEN, 1, "r", "C2"), "C1", None, True, False),
        (
            CountTaskChoice("B", CountState.RECOUNT, 1, "r", counters=("C1",)),
            "C1",
            None,
            False,
            False,
        ),
        (
            CountTaskChoice("B", CountState.RECOUNT, 1, "r", counters=("C1",)),
            "C2",
            None,
            False,
            True,
        ),
        (
            CountTaskChoice("B", CountState.RECOUNT, 1, "r", "C1", counters=("C1",)),
            "C2",
            None,
            False,
            True,
        ),
        (
            CountTaskChoice("B", CountState.RECOUNT, 1, "r", "C3", counters=("C1",)),
            "C2",
            None,
            False,
            False,
        ),
        (
            CountTaskChoice("B", CountState.APPROVAL, 1, "r", counters=("C1", "C2")),
            "S1",
            None,
            True,
            True,
        ),
        (
            CountTaskChoice("B", CountState.APPROVAL, 1, "r", counters=("S1", "C2")),
            "S1",
            None,
            True,
            False,
        ),
        (
            CountTaskChoice("B", CountState.APPROVAL, 1, "r", counters=("C1", "C2")),
            "C3",
            None,
            False,
            False,
        ),
        (CountTaskChoice("B", CountState.DONE, 1, "r"), "S1", None, True, False),
    ],
)
def test_who_may_do_a_task(
    choice: CountTaskChoice, badge: str, zone: str | None, supervisor: bool, may: bool
) -> None:
    assert choice.open_to(badge, zone, supervisor) is may
