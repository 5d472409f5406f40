"""The cycle-count planner on known inputs (no database): ABC classes by picked value, a bin's
class, events and their reasons, the bins due by class spread over the period, the daily random
sample, and the rules no plan breaks (a bin once, never one with an unfinished task)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from app.domain.commands import CountOrigin
from app.domain.cycle_counts import (
    BinState,
    CountEvent,
    EventKind,
    PlanInputs,
    SkuUsage,
    abc_classes,
    plan_counts,
)
from app.domain.policy import WarehousePolicy

DAY = date(2026, 12, 7)
NOON = datetime(2026, 12, 7, 12, tzinfo=UTC)
QUIET = WarehousePolicy(count_sample=0)
"""No random sample: what is planned is what the other rules plan."""


def at(days_ago: int, hour: int = 12) -> datetime:
    return datetime.combine(DAY - timedelta(days=days_ago), datetime.min.time(), UTC).replace(
        hour=hour
    )


def bins(n: int, zone: str = "A", **fields: object) -> list[BinState]:
    return [
        BinState(i, f"{zone}-{i:03d}", zone, i, **fields)  # type: ignore[arg-type]
        for i in range(1, n + 1)
    ]


# --- ABC classes ------------------------------------------------------------------------------


def test_abc_classes_by_cumulative_share_of_picked_value() -> None:
    # Ranked by value; the total is 100 000 cents.
    usage = [
        SkuUsage(3, 50, 98),  # 4 900: 95 % before it -> C
        SkuUsage(1, 100, 700),  # 70 000: first -> A
        SkuUsage(2, 10, 1_000),  # 10 000: 70 % before it, under 80 -> A (it crosses the line)
        SkuUsage(4, 100, 90),  # 9 000: 80 % before it -> B
        SkuUsage(5, 60, 100),  # 6 000: 89 % before it -> B
        SkuUsage(6, 1, 100),  # 100: 99.9 % before it -> C
        SkuUsage(7, 0, 5_000),  # never picked in the window: not classed (C)
    ]
    classes = abc_classes(usage, 80, 95)
    assert {k: v.abc for k, v in classes.items()} == {
        1: "A",
        2: "A",
        4: "B",
        5: "B",
        3: "C",
        6: "C",
    }
    assert classes[1].usage_value_cents == 70_000 and classes[1].picked_units == 100


def test_a_sku_without_a_value_counts_at_the_median_value() -> None:
    # Known values 100, 300, 500: median 300. SKU 9 (no value) picked 10 -> 3 000.
    usage = [
        SkuUsage(1, 10, 100),
        SkuUsage(2, 10, 300),
        SkuUsage(3, 10, 500),
        SkuUsage(9, 10, None),
    ]
    classes = abc_classes(usage, 80, 95)
    assert classes[9].usage_value_cents == 3_000
    # Without any value, units alone rank them (1 cent each).
    alone = abc_classes([SkuUsage(1, 90, None), SkuUsage(2, 10, None)], 80, 95)
    assert (alone[1].abc, alone[2].abc) == ("A", "B")


def test_a_bin_takes_the_best_class_of_what_it_holds_and_an_empty_bin_is_c() -> None:
    states = [
        BinState(1, "A-001", "A", 1, skus=(10, 30)),
        BinState(2, "A-002", "A", 2, skus=(30,)),
        BinState(3, "A-003", "A", 3),
    ]
    classes = {10: "A", 30: "C"}
    plan = plan_counts(PlanInputs(DAY, None, states, classes, policy=QUIET))
    assert dict(plan.bins_by_class) == {"A": 1, "B": 0, "C": 2}
    # One A bin over 30 days: counted today (never counted); one C bin of two over 180 days.
    assert [(p.location, p.abc) for p in plan.planned] == [("A-001", "A"), ("A-002", "C")]


# --- events -----------------------------------------------------------------------------------


def test_events_since_the_last_count_plan_a_bin_with_the_reason() -> None:
    states = [
        BinState(1, "A-001", "A", 1, last_counted=at(3)),
        BinState(2, "A-002", "A", 2, last_counted=at(3)),
        BinState(3, "A-003", "A", 3, last_counted=at(3)),
        BinState(4, "A-004", "A", 4, last_counted=at(3)),
        BinState(5, "A-005", "A", 5),  # never counted: only events of the last day
        BinState(6, "A-006", "A", 6),
        BinState(7, "A-007", "A", 7, last_counted=at(1)),
    ]
    events = [
        CountEvent(1, EventKind.SHORT_PICK, at(1), "P001"),
        CountEvent(2, EventKind.NEGATIVE_ADJUSTMENT, at(2), "S001", "lost"),
        CountEvent(3, EventKind.ZERO_BALANCE, at(1, 9), "P002"),
        CountEvent(4, EventKind.FOUND_EMPTY, at(0, 8), "P001"),
        CountEvent(5, EventKind.REFUSED_LATE, at(20), "D001", "12"),  # open: however old
        CountEvent(6, EventKind.SHORT_PICK, at(2), "P001"),  # before the last day: not counted
        CountEvent(7, EventKind.SHORT_PICK, at(2), "P001"),  # before its last count
    ]
    plan = plan_counts(
        PlanInputs(
            DAY,
            None,
            states,
            {},
            events,
            planned_today={"C": 10},  # the day's share is taken: events only
            policy=QUIET,
        )
    )
    assert {p.location: p.reason for p in plan.planned} == {
        "A-001": "short pick 2026-12-06 by P001",
        "A-002": "negative adjustment 2026-12-05 by S001 (lost)",
        "A-003": "zero-balance check: emptied 2026-12-06 by P002",
        "A-004": "found empty by a short pick 2026-12-07 by P001",
        "A-005": "refused after an outage 2026-11-17 by D001 (E-12)",
    }
    assert all(p.origin is CountOrigin.PLAN for p in plan.planned)


def test_the_most_telling_event_names_the_reason_and_a_bin_is_planned_once() -> None:
    states = [BinState(1, "A-001", "A", 1, last_counted=at(10))]
    events = [
        CountEvent(1, EventKind.ZERO_BALANCE, at(1), "P002"),
        CountEvent(1, EventKind.SHORT_PICK, at(2), "P001"),
        CountEvent(1, EventKind.SHORT_PICK, at(1), "P003"),
    ]
    plan = plan_counts(PlanInputs(DAY, None, states, {}, events, policy=WarehousePolicy()))
    assert [(p.location, p.reason) for p in plan.planned] == [
        ("A-001", "short pick 2026-12-06 by P003")
    ]


def test_a_bin_with_an_unfinished_task_is_listed_as_already_open_never_planned() -> None:
    states = [
        BinState(1, "A-001", "A", 1, last_counted=at(200), open_task=True),
        BinState(2, "A-002", "A", 2, last_counted=at(5), open_task=True),
        BinState(3, "A-003", "A", 3, open_task=True),
    ]
    events = [CountEvent(2, EventKind.SHORT_PICK, at(1), "P001")]
    plan = plan_counts(PlanInputs(DAY, None, states, {}, events, policy=WarehousePolicy()))
    assert plan.planned == ()
    assert [(p.location, p.reason) for p in plan.already_open] == [
        ("A-001", "class C, last counted 2026-05-21 (200 days ago)"),
        ("A-002", "short pick 2026-12-06 by P001"),
    ]


# --- due by class -----------------------------------------------------------------------------


def test_due_bins_are_spread_over_the_period_longest_uncounted_first() -> None:
    # 20 C bins over 180 days: 1 a day. Never counted first, then the oldest count.
    states = bins(20, last_counted=at(50))
    states[7] = replace(states[7], last_counted=None)
    states[3] = replace(states[3], last_counted=at(170))
    plan = plan_counts(PlanInputs(DAY, None, states, {}, policy=QUIET))
    assert [(p.location, p.reason) for p in plan.planned] == [("A-008", "class C, never counted")]
    tomorrow = replace(states[7], last_counted=NOON)
    states[7] = tomorrow
    plan = plan_counts(PlanInputs(DAY, None, states, {}, policy=QUIET))
    assert [(p.location, p.reason) for p in plan.planned] == [
        ("A-004", "class C, last counted 2026-06-20 (170 days ago)")
    ]


def test_a_bin_whose_period_ran_out_is_counted_whatever_the_days_share() -> None:
    states = bins(3, last_counted=at(10))
    states[1] = replace(states[1], skus=(5,), last_counted=at(30))  # class A, 30 days
    plan = plan_counts(
        PlanInputs(DAY, None, states, {5: "A"}, planned_today={"A": 9, "C": 9}, policy=QUIET)
    )
    assert [(p.location, p.abc) for p in plan.planned] == [("A-002", "A")]


def test_the_days_share_counts_what_was_planned_for_the_day_already() -> None:
    states = bins(360)  # 360 C bins: 2 a day
    first = plan_counts(PlanInputs(DAY, None, states, {}, policy=QUIET))
    assert len(first.planned) == 2
    again = plan_counts(PlanInputs(DAY, None, states, {}, planned_today={"C": 2}, policy=QUIET))
    assert again.planned == ()


def test_a_bin_counted_within_half_its_period_is_not_due_whatever_the_share() -> None:
    """A zone of one C bin has a share of one a day: counted 2 days ago, it is not counted
    again (it would be, day after day); counted 90 days ago, it is."""
    recent = plan_counts(PlanInputs(DAY, "A", bins(1, last_counted=at(2)), {}, policy=QUIET))
    assert recent.planned == ()
    half = plan_counts(PlanInputs(DAY, "A", bins(1, last_counted=at(90)), {}, policy=QUIET))
    assert [p.reason for p in half.planned] == [
        f"class C, last counted {(DAY - timedelta(days=90)).isoformat()} (90 days ago)"
    ]


# --- the random sample ------------------------------------------------------------------------


def test_the_sample_is_stable_per_day_and_zone_and_varies_between_days() -> None:
    states = bins(500, last_counted=at(1))
    policy = WarehousePolicy(count_sample=5)
    one = plan_counts(PlanInputs(DAY, "A", states, {}, policy=policy))
    two = plan_counts(PlanInputs(DAY, "A", list(reversed(states)), {}, policy=policy))
    samples = [p for p in one.planned if p.origin is CountOrigin.SAMPLE]
    assert len(samples) == 5 and all(p.reason == "random sample" for p in samples)
    assert one.planned == two.planned
    other_day = plan_counts(PlanInputs(DAY + timedelta(days=1), "A", states, {}, policy=policy))
    assert {p.location for p in other_day.planned} != {p.location for p in one.planned}
    # Sampled already today: none more.
    done = plan_counts(PlanInputs(DAY, "A", states, {}, sampled_today=5, policy=policy))
    assert not [p for p in done.planned if p.origin is CountOrigin.SAMPLE]


def test_the_sample_takes_only_bins_not_planned_otherwise_and_never_twice() -> None:
    states = bins(6)  # 6 C bins, 1 a day: the event takes the day's share; 5 left to sample
    events = [CountEvent(2, EventKind.SHORT_PICK, NOON, "P001")]
    plan = plan_counts(
        PlanInputs(DAY, None, states, {}, events, policy=WarehousePolicy(count_sample=10))
    )
    codes = [p.location for p in plan.planned]
    assert sorted(codes) == [b.code for b in states] and len(set(codes)) == len(codes)
    origins = {p.location: p.origin for p in plan.planned}
    assert origins["A-002"] is CountOrigin.PLAN
    assert sum(1 for o in origins.values() if o is CountOrigin.SAMPLE) == 5
