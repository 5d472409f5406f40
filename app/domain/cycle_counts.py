"""Cycle-count planning (README "A supervisor's day"): which bins to count on a day, and why.

Pure functions over values the ledger gathers in one transaction (app/services/count_planning.py):

- **ABC classes** per SKU from the value of what was picked over the policy's `abc_days`: units
  picked times the unit value, ranked, and classed by cumulative share of the total value (A up
  to `abc_a_percent`, B up to `abc_b_percent`, C the rest). A SKU without a value counts at the
  median value of those that have one (1 cent when none has): an item left unpriced is neither
  hidden in C nor lifted into A by it, and a warehouse without values gets classes by units
  picked alone. SKUs never picked are C. A bin's class is the best class of the SKUs it holds.
- **Events** since the bin's last count (in the last day, for a bin never counted): a short pick,
  a short pick that found the bin empty, a pick or transfer that emptied it (a zero-balance
  check: an empty bin is counted in a glance), a negative adjustment, a transaction refused after
  an outage (an open exception, however old).
- **Due by class**: every bin is counted within its class's period (`count_days_a|b|c`). Each day
  takes about ceil(bins of the class / days of the class), longest uncounted first (never counted
  first), so that the work is spread evenly; a bin whose period runs out is taken whatever the
  day's share. The day's share counts what was already planned for that day.
- **A random sample** of `count_sample` bins a day among the rest, seeded by the day and zone:
  the same inputs give the same plan, and no bin escapes counting for long.

A bin is planned at most once, never while it has an unfinished task (listed as already open).
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from app.domain.commands import CountOrigin
from app.domain.policy import WarehousePolicy

CLASSES = ("A", "B", "C")
REASON_LENGTH = 80
"""The longest reason a count task keeps (count_tasks.reason)."""


# --- ABC classes ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SkuUsage:
    """Units of a SKU picked over the ABC window, and its unit value (None: not known)."""

    sku_id: int
    picked_units: int
    unit_value_cents: int | None


@dataclass(frozen=True, slots=True)
class SkuClass:
    sku_id: int
    abc: str
    picked_units: int
    usage_value_cents: int


def abc_classes(usage: Iterable[SkuUsage], a_percent: int, b_percent: int) -> dict[int, SkuClass]:
    """The class of every SKU picked in the window (others are C). Ranked by usage value, ties
    by id; a SKU is A while the value ranked before it is under `a_percent` of the total (so the
    SKU that crosses the line is A too: one SKU making 90 % of the value is A), B while under
    `b_percent`, else C."""
    picked = [u for u in usage if u.picked_units > 0]
    known = [u.unit_value_cents for u in picked if u.unit_value_cents is not None]
    fallback = statistics.median_low(known) if known else 1
    valued = sorted(
        (
            (u.picked_units * (fallback if u.unit_value_cents is None else u.unit_value_cents), u)
            for u in picked
        ),
        key=lambda pair: (-pair[0], pair[1].sku_id),
    )
    total = sum(value for value, _ in valued)
    out: dict[int, SkuClass] = {}
    before = 0
    for value, u in valued:
        if total and before * 100 < a_percent * total:
            abc = "A"
        elif total and before * 100 < b_percent * total:
            abc = "B"
        else:
            abc = "C"
        out[u.sku_id] = SkuClass(u.sku_id, abc, u.picked_units, value)
        before += value
    return out


def best_class(classes: Iterable[str]) -> str:
    """The best of these classes (A before B before C); C for none (an empty bin)."""
    return min(classes, default="C")


# --- the planner's inputs ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BinState:
    """An active bin as the planner sees it."""

    id: int
    code: str
    zone: str | None
    pick_sequence: int
    skus: tuple[int, ...] = ()
    """The SKUs it holds now (on hand above 0)."""
    last_counted: datetime | None = None
    """When its last count task was done (None: never)."""
    open_task: bool = False
    """Whether it has an unfinished count task."""


class EventKind(StrEnum):
    """What happened at a bin that asks for a count, most telling first (the order of the
    members is the order a bin's reason is chosen in)."""

    REFUSED_LATE = "refused_late"
    FOUND_EMPTY = "found_empty"
    SHORT_PICK = "short_pick"
    NEGATIVE_ADJUSTMENT = "negative_adjustment"
    ZERO_BALANCE = "zero_balance"


_RANK = {kind: n for n, kind in enumerate(EventKind)}


@dataclass(frozen=True, slots=True)
class CountEvent:
    location_id: int
    kind: EventKind
    at: datetime
    by: str | None = None
    """The badge of whoever did it."""
    detail: str | None = None
    """An adjustment's reason code; a refused transaction's exception id."""

    @property
    def reason(self) -> str:
        on = self.at.astimezone(UTC).date().isoformat()
        by = f" by {self.by}" if self.by else ""
        match self.kind:
            case EventKind.REFUSED_LATE:
                exception = f" (E-{self.detail})" if self.detail else ""
                text = f"refused after an outage {on}{by}{exception}"
            case EventKind.FOUND_EMPTY:
                text = f"found empty by a short pick {on}{by}"
            case EventKind.SHORT_PICK:
                text = f"short pick {on}{by}"
            case EventKind.NEGATIVE_ADJUSTMENT:
                why = f" ({self.detail})" if self.detail else ""
                text = f"negative adjustment {on}{by}{why}"
            case EventKind.ZERO_BALANCE:
                text = f"zero-balance check: emptied {on}{by}"
        return text[:REASON_LENGTH]


@dataclass(frozen=True, slots=True)
class PlanInputs:
    """What a planning reads, for one day and zone (None: every zone)."""

    day: date
    zone: str | None
    bins: Sequence[BinState]
    """The active bins of the zone."""
    sku_classes: Mapping[int, str]
    """SKU id -> class (a SKU not listed is C)."""
    events: Sequence[CountEvent] = ()
    planned_today: Mapping[str, int] = field(default_factory=dict)
    """Tasks already planned for the day (origin 'plan') at bins of the zone, per class."""
    sampled_today: int = 0
    """Tasks of the day's sample already planned at bins of the zone."""
    policy: WarehousePolicy = field(default_factory=WarehousePolicy)


def event_window(day: date) -> datetime:
    """Events at a bin never counted are those since the start of the day before `day`."""
    return datetime.combine(day - timedelta(days=1), time(0), tzinfo=UTC)


# --- the plan ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlannedCount:
    """One bin in a plan: why it is counted, its class, and where the task came from."""

    location_id: int
    location: str
    zone: str | None
    pick_sequence: int
    abc: str
    origin: CountOrigin
    reason: str


@dataclass(frozen=True, slots=True)
class CountPlan:
    day: date
    zone: str | None
    planned: tuple[PlannedCount, ...]
    """The bins to count, in pick-path order."""
    already_open: tuple[PlannedCount, ...]
    """Bins the plan would count (for an event, or their period ran out) that have an unfinished
    task already: no second task."""
    bins_by_class: tuple[tuple[str, int], ...]
    """How many bins of the zone are in each class."""

    def counts_by_origin(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for p in self.planned:
            found[p.origin.value] = found.get(p.origin.value, 0) + 1
        return found


def sample_seed(day: date, zone: str | None) -> str:
    """The seed of a day's random sample: one day and zone always draw the same bins."""
    return f"{day.isoformat()}/{zone or '*'}"


def _path(p: PlannedCount | BinState) -> tuple[int, str]:
    return (p.pick_sequence, p.location if isinstance(p, PlannedCount) else p.code)


def _days_since(day: date, at: datetime) -> int:
    return (day - at.astimezone(UTC).date()).days


def _due_reason(abc: str, day: date, last: datetime | None) -> str:
    if last is None:
        return f"class {abc}, never counted"
    ago = _days_since(day, last)
    return f"class {abc}, last counted {last.astimezone(UTC).date().isoformat()} ({ago} days ago)"


def period(policy: WarehousePolicy, abc: str) -> int:
    """The days within which a bin of class `abc` is counted."""
    return {"A": policy.count_days_a, "B": policy.count_days_b}.get(abc, policy.count_days_c)


def _relevant(event: CountEvent, bin_: BinState, since: datetime) -> bool:
    if event.kind is EventKind.REFUSED_LATE:  # an open exception waits, however old
        return bin_.last_counted is None or event.at > bin_.last_counted
    return event.at > bin_.last_counted if bin_.last_counted is not None else event.at >= since


def plan_counts(inputs: PlanInputs) -> CountPlan:
    """The day's counts: events first, then the bins due by class, then the random sample."""
    day, policy = inputs.day, inputs.policy
    bins = {b.id: b for b in inputs.bins}
    classes = {
        b.id: best_class(inputs.sku_classes.get(s, "C") for s in b.skus) for b in inputs.bins
    }
    planned: dict[int, PlannedCount] = {}
    already: dict[int, PlannedCount] = {}

    def take(b: BinState, origin: CountOrigin, reason: str) -> None:
        entry = PlannedCount(b.id, b.code, b.zone, b.pick_sequence, classes[b.id], origin, reason)
        if b.open_task:
            already.setdefault(b.id, entry)
        else:
            planned.setdefault(b.id, entry)

    since = event_window(day)
    chosen: dict[int, CountEvent] = {}
    for event in inputs.events:
        b = bins.get(event.location_id)
        if b is None or not _relevant(event, b, since):
            continue
        held = chosen.get(b.id)
        if held is None or (_RANK[event.kind], -event.at.timestamp()) < (
            _RANK[held.kind],
            -held.at.timestamp(),
        ):
            chosen[b.id] = event
    for location_id, event in chosen.items():
        take(bins[location_id], CountOrigin.PLAN, event.reason)

    for abc in CLASSES:
        members = [b for b in inputs.bins if classes[b.id] == abc]
        days = period(policy, abc)
        share = math.ceil(len(members) / days)
        used = inputs.planned_today.get(abc, 0) + sum(
            1 for p in planned.values() if p.abc == abc and p.origin is CountOrigin.PLAN
        )
        waiting = sorted(
            (b for b in members if b.id not in planned and b.id not in already),
            key=lambda b: (
                b.last_counted is not None,
                b.last_counted or datetime.min.replace(tzinfo=UTC),
                *_path(b),
            ),
        )
        for b in waiting:
            since_count = None if b.last_counted is None else _days_since(day, b.last_counted)
            overdue = since_count is not None and since_count >= days
            if b.open_task:
                if overdue:
                    take(b, CountOrigin.PLAN, _due_reason(abc, day, b.last_counted))
                continue
            # The day's share spreads the counts over the period; a bin counted within the last
            # half of it is not due yet (a few bins planned zone by zone would be counted again
            # and again).
            recent = since_count is not None and 2 * since_count < days
            if overdue or (used < share and not recent):
                take(b, CountOrigin.PLAN, _due_reason(abc, day, b.last_counted))
                used += 1

    wanted = policy.count_sample - inputs.sampled_today
    if wanted > 0:
        rest = sorted(
            (b for b in inputs.bins if b.id not in planned and not b.open_task),
            key=lambda b: b.code,
        )
        rng = random.Random(sample_seed(day, inputs.zone))
        for b in rng.sample(rest, min(wanted, len(rest))):
            take(b, CountOrigin.SAMPLE, "random sample")

    sizes = tuple((abc, sum(1 for c in classes.values() if c == abc)) for abc in CLASSES)
    return CountPlan(
        day,
        inputs.zone,
        tuple(sorted(planned.values(), key=_path)),
        tuple(sorted(already.values(), key=_path)),
        sizes,
    )


# --- the supervisor's list of tasks -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CountTaskLine:
    """A count task as a supervisor's list shows it (app/services/count_planning.count_tasks)."""

    id: int
    location: str
    location_zone: str | None
    pick_sequence: int
    state: str
    reason: str
    origin: str
    abc: str | None
    assigned_to: str | None
    """The badge of the counter it is assigned to (None: anyone's)."""
    zone: str | None
    """The zone whose counters it is assigned to (None: any zone's; a planned task starts with
    its bin's zone)."""
    planned_for: date | None
    created_at: datetime

    @property
    def assignee(self) -> str:
        """Who may count it, in words."""
        if self.assigned_to:
            return self.assigned_to
        return f"zone {self.zone}" if self.zone else "anyone"
