"""Cycle-count planning and task assignment as ledger transactions (README "A supervisor's
day"), and the supervisor's list of count tasks.

`PlanCounts` reads the ledger in a few set-based queries (adapters/db/count_planning.py), runs
the pure planner (domain/cycle_counts.py), writes the SKUs' ABC classes and the day's tasks, and
answers with the plan: what it planned and why, and what was already open. Planning the same day
again plans only what is new (the day's share counts the tasks planned for it already).
`AssignCount` gives unfinished tasks to a counter, to a zone's counters, or back to anyone. Both
are a supervisor's (rules.py); their handlers join `ledger.HANDLERS`. The supervisor's list of
count tasks is `app.adapters.db.count_planning.count_tasks` (a read, outside any transaction).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from app.domain.commands import AssignCount, CountOrigin, PlanCounts
from app.domain.cycle_counts import (
    CountPlan,
    PlanInputs,
    PlannedCount,
    abc_classes,
    plan_counts,
)
from app.domain.errors import Reason, Rejection
from app.domain.interpret import StationMode
from app.domain.model import LocationKind
from app.domain.workflow import MODES_BY_ROLE
from app.services.ledger_steps import Context, Handler

SHOWN = 5
"""Locations named in a message before "and N more"."""


def _named(codes: list[str]) -> str:
    more = len(codes) - SHOWN
    return ", ".join(codes[:SHOWN]) + (f" and {more} more" if more > 0 else "")


def _unknown_zone(zone: str, ctx: Context) -> Rejection:
    known = ", ".join(ctx.store.zones()) or "none"
    return Rejection(
        Reason.BAD_INPUT,
        f"no location is in zone {zone!r} (the zones are: {known}; upper and lower case "
        "differ). Nothing was done.",
    )


# --- planning ---------------------------------------------------------------------------------


PLAN_AHEAD_DAYS = 7
"""How far ahead a day's counts may be planned (its ABC classes are computed as of that day)."""


def _plan_counts(cmd: PlanCounts, ctx: Context) -> tuple[str, dict[str, Any]]:
    store, policy = ctx.store, ctx.policy
    # Today, or a few days ahead; a day earlier for a station whose local date is behind UTC.
    first, last = ctx.day - timedelta(days=1), ctx.day + timedelta(days=PLAN_AHEAD_DAYS)
    if not first <= cmd.day <= last:
        raise Rejection(
            Reason.BAD_INPUT,
            f"counts are planned for today or up to {PLAN_AHEAD_DAYS} days ahead "
            f"({first.isoformat()} to {last.isoformat()}), not for {cmd.day.isoformat()}",
        )
    if cmd.zone is not None and not store.zone_known(cmd.zone):
        raise _unknown_zone(cmd.zone, ctx)
    store.lock_count_planning()
    usage = store.sku_usage(cmd.day - timedelta(days=policy.abc_days - 1), cmd.day)
    classes = abc_classes(usage, policy.abc_a_percent, policy.abc_b_percent)
    store.save_sku_classes(classes.values(), cmd.day)
    inputs: PlanInputs = store.count_plan_inputs(
        cmd.day, cmd.zone, {k.sku_id: k.abc for k in classes.values()}, policy
    )
    plan = plan_counts(inputs)
    opened = store.add_planned_counts(cmd.day, plan.planned, ctx.station.id, ctx.operator.id)
    if len(opened) < len(plan.planned):  # a station raised a task there meanwhile
        raced = tuple(p for p in plan.planned if p.location_id not in opened)
        plan = CountPlan(
            plan.day,
            plan.zone,
            tuple(p for p in plan.planned if p.location_id in opened),
            tuple(
                sorted((*plan.already_open, *raced), key=lambda p: (p.pick_sequence, p.location))
            ),
            plan.bins_by_class,
        )
    return plan_text(plan), plan_result(plan)


def plan_text(plan: CountPlan) -> str:
    """What a planning did, in one line."""
    where = f" in zone {plan.zone}" if plan.zone else ""
    day = plan.day.isoformat()
    by = plan.counts_by_origin()
    events = sum(1 for p in plan.planned if p.origin is CountOrigin.PLAN and _for_event(p))
    due = by.get(CountOrigin.PLAN.value, 0) - events
    parts = [f"{events} for events", f"{due} due by class", f"{by.get('sample', 0)} at random"]
    already = f"; {len(plan.already_open)} already open" if plan.already_open else ""
    if not plan.planned:
        return f"nothing new to count on {day}{where}{already}"
    counts = "1 count" if len(plan.planned) == 1 else f"{len(plan.planned)} counts"
    return f"planned {counts} for {day}{where}: {', '.join(parts)}{already}"


def _for_event(p: PlannedCount) -> bool:
    return not p.reason.startswith("class ")


def _line(p: PlannedCount) -> dict[str, Any]:
    return {
        "location": p.location,
        "zone": p.zone,
        "abc": p.abc,
        "origin": p.origin.value,
        "reason": p.reason,
    }


def plan_result(plan: CountPlan) -> dict[str, Any]:
    """The plan as the transaction's result (JSON), for the CLI and the supervisor's screen."""
    return {
        "day": plan.day.isoformat(),
        "zone": plan.zone,
        "planned": [_line(p) for p in plan.planned],
        "already_open": [_line(p) for p in plan.already_open],
        "bins_by_class": dict(plan.bins_by_class),
    }


# --- assignment -------------------------------------------------------------------------------


def _assign_count(cmd: AssignCount, ctx: Context) -> tuple[str, dict[str, Any]]:
    store = ctx.store
    to_whom = "anyone"
    if cmd.to:
        counter = store.operator(cmd.to)
        if counter is None:
            raise Rejection(
                Reason.UNKNOWN_OPERATOR, f"badge {cmd.to!r} is not known: nothing was assigned"
            )
        if not counter.active:
            raise Rejection(
                Reason.INACTIVE_OPERATOR,
                f"badge {cmd.to} is deactivated: assign the tasks to an active counter",
            )
        if StationMode.COUNT not in MODES_BY_ROLE[counter.role]:
            counting = sorted(
                r.value for r, modes in MODES_BY_ROLE.items() if StationMode.COUNT in modes
            )
            raise Rejection(
                Reason.NOT_ALLOWED,
                f"{counter.badge} ({counter.name}) is a {counter.role.value}, who does not count: "
                f"assign count tasks to a {' or '.join(counting)}. Nothing was assigned.",
            )
        to_whom = f"{counter.badge} ({counter.name})"
    elif cmd.zone:
        if not store.zone_known(cmd.zone):
            raise _unknown_zone(cmd.zone, ctx)
        to_whom = f"the counters of zone {cmd.zone}"
    codes = list(dict.fromkeys(cmd.locations))
    found = store.locations_by_code(codes)
    unknown = [code for code in codes if code not in found]
    if unknown:
        raise Rejection(
            Reason.UNKNOWN_LOCATION,
            f"no location {_named(unknown)}: check the code(s). Nothing was assigned.",
        )
    not_bins = [code for code in codes if found[code].kind is not LocationKind.BIN]
    tasks = store.lock_unfinished_counts(found[code].id for code in codes)
    without = [code for code in codes if found[code].id not in tasks]
    if without:
        why = " (only bins are counted)" if set(without) & set(not_bins) else ""
        raise Rejection(
            Reason.BAD_INPUT,
            f"{_named(without)} {'has' if len(without) == 1 else 'have'} no unfinished count "
            f"task{why}: plan the day's counts first (perpetua counts plan). Nothing was "
            "assigned.",
        )
    store.assign_counts(tasks.values(), cmd.to or None, None if cmd.to else cmd.zone or None)
    n = len(codes)
    return (
        f"{n} count task{'s' if n != 1 else ''} ({_named(codes)}) assigned to {to_whom}",
        {
            "tasks": sorted(tasks.values()),
            "locations": codes,
            "assigned_to": cmd.to or None,
            "zone": None if cmd.to else cmd.zone or None,
        },
    )


HANDLERS: dict[type, Handler] = {PlanCounts: _plan_counts, AssignCount: _assign_count}
