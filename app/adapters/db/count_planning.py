"""Cycle-count planning in SQL (domain/cycle_counts.py): what a planning reads, the tasks and
classes it writes (inside the `PlanCounts` ledger transaction, through the store), task
assignment, and the supervisor's list of count tasks.

Every read is one set-based query for the whole zone, never one per location: a warehouse of a
million bins is planned in a handful of queries. Plannings are serialised (an advisory lock on
PostgreSQL; SQLite's write lock already does it); a station raising a task at the same moment
meets the unique index of unfinished tasks, where the planning's insert does nothing and the bin
is reported as already open.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, literal, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from app.domain.cycle_counts import (
    BinState,
    CountEvent,
    CountTaskLine,
    EventKind,
    PlanInputs,
    PlannedCount,
    SkuClass,
    SkuUsage,
    event_window,
)
from app.domain.model import LocationKind, ReservationState, VirtualLocation
from app.domain.policy import WarehousePolicy

from .schema import (
    UNFINISHED_COUNT,
    CountTaskRow,
    ExceptionRow,
    LocationRow,
    MoveRow,
    OperatorRow,
    QuantRow,
    ReservationRow,
    SkuClassRow,
    SkuRow,
    TransactionRow,
    UtcDateTime,
    table,
)

_CT, _L, _M, _O = table(CountTaskRow), table(LocationRow), table(MoveRow), table(OperatorRow)
_Q, _R, _S, _T = table(QuantRow), table(ReservationRow), table(SkuRow), table(TransactionRow)
_E, _SC = table(ExceptionRow), table(SkuClassRow)
UNFINISHED = text(f"{CountTaskRow.__tablename__}.{UNFINISHED_COUNT}")
PLANNING_LOCK = 0x706C616E636F756E
"""The advisory lock key that serialises count plannings on PostgreSQL ("plancoun")."""
CHUNK = 1_000
ADJUST_PREFIX = "adjust: "
COUNT_ADJUSTMENT = "adjust: count"
"""The moves a count itself posts: they follow the count, they are no reason to count again."""


def lock_planning(c: Connection) -> None:
    if c.dialect.name == "postgresql":
        c.execute(select(func.pg_advisory_xact_lock(PLANNING_LOCK)))


def zone_known(c: Connection, zone: str) -> bool:
    return c.execute(select(_L.c.id).where(_L.c.zone == zone).limit(1)).first() is not None


def zones(c: Connection) -> list[str]:
    rows = c.execute(select(_L.c.zone).where(_L.c.zone.is_not(None)).distinct())
    return sorted(str(z) for (z,) in rows)


# --- what a planning reads --------------------------------------------------------------------


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def sku_usage(c: Connection, since: date, until: date) -> list[SkuUsage]:
    """Units picked per SKU on the days `since` .. `until` (by the station's clock: when the pick
    happened, even if it waited in a queue), with each SKU's unit value."""
    rows = c.execute(
        select(_M.c.sku_id, func.sum(_M.c.qty).label("units"), _S.c.unit_value_cents)
        .select_from(_M.join(_T, _T.c.id == _M.c.tx_id).join(_S, _S.c.id == _M.c.sku_id))
        .where(
            _M.c.reason == "pick",
            _T.c.station_time >= _day_start(since),
            _T.c.station_time < _day_start(until + timedelta(days=1)),
        )
        .group_by(_M.c.sku_id, _S.c.unit_value_cents)
    )
    return [SkuUsage(r.sku_id, int(r.units), r.unit_value_cents) for r in rows]


def _scope(zone: str | None) -> Any:
    """The active bins of the zone (every zone: None)."""
    where = [_L.c.kind == LocationKind.BIN.value, _L.c.active.is_(True)]
    if zone is not None:
        where.append(_L.c.zone == zone)
    return where


def _last_counts() -> Any:
    """location_id -> when its last finished task was done (before migration 0009, done tasks
    have no done_at: their last update is when)."""
    return (
        select(
            _CT.c.location_id,
            func.max(func.coalesce(_CT.c.done_at, _CT.c.updated_at)).label("last"),
        )
        .where(_CT.c.state == "done")
        .group_by(_CT.c.location_id)
        .subquery("last_counts")
    )


def plan_inputs(
    c: Connection,
    day: date,
    zone: str | None,
    sku_classes: Mapping[int, str],
    policy: WarehousePolicy,
) -> PlanInputs:
    """Everything the planner needs for `day` in `zone`, in eight queries."""
    scope = _scope(zone)
    last = _last_counts()
    bins = c.execute(
        select(_L.c.id, _L.c.code, _L.c.zone, _L.c.pick_sequence, last.c.last.label("last_counted"))
        .select_from(_L.outerjoin(last, last.c.location_id == _L.c.id))
        .where(*scope)
    ).all()
    held: dict[int, list[int]] = {}
    for location_id, sku_id in c.execute(
        select(_Q.c.location_id, _Q.c.sku_id)
        .join(_L, _L.c.id == _Q.c.location_id)
        .where(*scope, _Q.c.on_hand > 0)
        .distinct()
    ):
        held.setdefault(location_id, []).append(sku_id)
    unfinished = {
        location_id
        for (location_id,) in c.execute(
            select(_CT.c.location_id)
            .join(_L, _L.c.id == _CT.c.location_id)
            .where(*scope, UNFINISHED)
        )
    }
    planned_today: dict[str, int] = {}
    sampled_today = 0
    for origin, abc, n in c.execute(
        select(_CT.c.origin, _CT.c.abc, func.count())
        .join(_L, _L.c.id == _CT.c.location_id)
        .where(*scope, _CT.c.planned_for == day)
        .group_by(_CT.c.origin, _CT.c.abc)
    ):
        if origin == "sample":
            sampled_today += n
        elif origin == "plan" and abc:
            planned_today[abc] = planned_today.get(abc, 0) + n
    states = [
        BinState(
            r.id,
            r.code,
            r.zone,
            r.pick_sequence or 0,
            tuple(sorted(held.get(r.id, ()))),
            _aware(r.last_counted),
            r.id in unfinished,
        )
        for r in bins
    ]
    return PlanInputs(
        day=day,
        zone=zone,
        bins=states,
        sku_classes=sku_classes,
        events=_events(c, scope, last, event_window(day)),
        planned_today=planned_today,
        sampled_today=sampled_today,
        policy=policy,
    )


def _aware(value: Any) -> datetime | None:
    """A timestamp from an aggregate (SQLite may answer text; PostgreSQL an aware datetime)."""
    if value is None:
        return None
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(at, datetime)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _events(c: Connection, scope: Any, last: Any, since: datetime) -> list[CountEvent]:
    """The events at the zone's bins since each bin's last count (since `since` for a bin never
    counted), from the ledger's own records."""
    after = func.coalesce(last.c.last, bindparam("since", since, type_=UtcDateTime))
    found: list[CountEvent] = []
    # Short picks: a pick posted for less than was reserved (nothing at all: found empty).
    for r in c.execute(
        select(_R.c.location_id, _R.c.qty_posted, _T.c.station_time, _O.c.badge)
        .select_from(
            _R.join(_T, _T.c.id == _R.c.resolved_tx_id)
            .join(_L, _L.c.id == _R.c.location_id)
            .outerjoin(_O, _O.c.id == _T.c.operator_id)
            .outerjoin(last, last.c.location_id == _R.c.location_id)
        )
        .where(
            *scope,
            _R.c.state == ReservationState.PARTLY_POSTED.value,
            _T.c.kind == "post_pick",
            _T.c.station_time > after,
        )
    ):
        kind = EventKind.FOUND_EMPTY if r.qty_posted == 0 else EventKind.SHORT_PICK
        found.append(CountEvent(r.location_id, kind, r.station_time, r.badge))
    adjustment = (
        select(_L.c.id).where(_L.c.code == VirtualLocation.ADJUSTMENT.value).scalar_subquery()
    )
    moved_out = (
        select(_M.c.from_location_id, _M.c.reason, _T.c.station_time, _O.c.badge)
        .select_from(
            _M.join(_T, _T.c.id == _M.c.tx_id)
            .join(_L, _L.c.id == _M.c.from_location_id)
            .outerjoin(_O, _O.c.id == _T.c.operator_id)
            .outerjoin(last, last.c.location_id == _M.c.from_location_id)
        )
        .where(*scope, _T.c.station_time > after)
    )
    # Negative adjustments other than a count's own.
    for r in c.execute(
        moved_out.where(
            _M.c.to_location_id == adjustment,
            _M.c.reason.like(f"{ADJUST_PREFIX}%"),
            _M.c.reason != COUNT_ADJUSTMENT,
        )
    ):
        why = r.reason.removeprefix(ADJUST_PREFIX)
        found.append(
            CountEvent(
                r.from_location_id, EventKind.NEGATIVE_ADJUSTMENT, r.station_time, r.badge, why
            )
        )
    # Zero-balance checks: a bin a pick or a transfer emptied, and empty still.
    stocked = select(_Q.c.location_id).where(_Q.c.on_hand > 0)
    for r in c.execute(
        moved_out.where(
            _M.c.reason.in_(("pick", "transfer")),
            _M.c.from_location_id.not_in(stocked),
        )
    ):
        found.append(
            CountEvent(r.from_location_id, EventKind.ZERO_BALANCE, r.station_time, r.badge)
        )
    # Transactions refused after an outage, still waiting on a supervisor.
    for r in c.execute(
        select(_E.c.id, _E.c.location_id, _E.c.raised_at, _O.c.badge)
        .select_from(
            _E.join(_L, _L.c.id == _E.c.location_id).outerjoin(_O, _O.c.id == _E.c.raised_by_id)
        )
        .where(*scope, _E.c.kind == "refused_late", _E.c.state == "open")
    ):
        found.append(
            CountEvent(r.location_id, EventKind.REFUSED_LATE, r.raised_at, r.badge, str(r.id))
        )
    return found


# --- what a planning writes -------------------------------------------------------------------


def save_sku_classes(c: Connection, classes: Iterable[SkuClass], day: date) -> None:
    """The classes a planning computed replace the last ones (a SKU without a row is C)."""
    rows = [
        {
            "sku_id": k.sku_id,
            "abc": k.abc,
            "picked_units": k.picked_units,
            "usage_value_cents": k.usage_value_cents,
            "computed_on": day,
        }
        for k in classes
    ]
    kept = [r["sku_id"] for r in rows]
    c.execute(delete(_SC).where(_SC.c.sku_id.not_in(kept) if kept else literal(True)))
    dialect = postgresql if c.dialect.name == "postgresql" else sqlite
    for start in range(0, len(rows), CHUNK):
        stmt = dialect.insert(_SC).values(rows[start : start + CHUNK])
        c.execute(
            stmt.on_conflict_do_update(
                index_elements=[_SC.c.sku_id],
                set_={
                    "abc": stmt.excluded.abc,
                    "picked_units": stmt.excluded.picked_units,
                    "usage_value_cents": stmt.excluded.usage_value_cents,
                    "computed_on": stmt.excluded.computed_on,
                },
            )
        )


def add_planned_counts(
    c: Connection,
    day: date,
    planned: Sequence[PlannedCount],
    station_id: int,
    operator_id: int,
) -> set[int]:
    """Open a task for each planned bin; the bins whose task was opened (a bin that has an
    unfinished task by now, raised at a station meanwhile, is left out). The bins' rows are
    locked first, in id order, as every writer of a bin's tasks does (work_items.py)."""
    ids = sorted(p.location_id for p in planned)
    for start in range(0, len(ids), CHUNK):
        c.execute(
            select(_L.c.id)
            .where(_L.c.id.in_(ids[start : start + CHUNK]))
            .order_by(_L.c.id)
            .with_for_update()
        ).all()
    dialect = postgresql if c.dialect.name == "postgresql" else sqlite
    opened: set[int] = set()
    rows: list[dict[str, Any]] = [
        {
            "location_id": p.location_id,
            "state": "open",
            "reason": p.reason,
            "origin": p.origin.value,
            "abc": p.abc,
            "planned_for": day,
            "zone": p.zone,
            "raised_by_station_id": station_id,
            "raised_by_operator_id": operator_id,
            "counts": [],
            "snapshot": [],
            "counters": [],
        }
        for p in planned
    ]
    for start in range(0, len(rows), CHUNK):
        stmt = (
            dialect.insert(_CT)
            .values(rows[start : start + CHUNK])
            .on_conflict_do_nothing(
                index_elements=[_CT.c.location_id], index_where=text(UNFINISHED_COUNT)
            )
            .returning(_CT.c.location_id)
        )
        opened.update(c.execute(stmt).scalars())
    return opened


# --- assignment -------------------------------------------------------------------------------


def lock_unfinished_counts(c: Connection, location_ids: Iterable[int]) -> dict[int, int]:
    """location_id -> its unfinished task's id, for those of these bins that have one (the
    bins' rows locked first, in id order)."""
    ids = sorted(set(location_ids))
    c.execute(select(_L.c.id).where(_L.c.id.in_(ids)).order_by(_L.c.id).with_for_update()).all()
    rows = c.execute(
        select(_CT.c.location_id, _CT.c.id).where(_CT.c.location_id.in_(ids), UNFINISHED)
    )
    return {location_id: task_id for location_id, task_id in rows}


def assign_counts(
    c: Connection, task_ids: Iterable[int], assigned_to: str | None, zone: str | None
) -> None:
    c.execute(
        update(_CT)
        .where(_CT.c.id.in_(sorted(set(task_ids))))
        .values(assigned_to=assigned_to, zone=zone, updated_at=func.now())
    )


# --- the supervisor's list --------------------------------------------------------------------


def count_tasks(
    c: Connection, *, zone: str | None = None, open_only: bool = True, limit: int | None = None
) -> list[CountTaskLine]:
    """Count tasks in pick-path order (the bin's pick sequence, then its code): unfinished ones
    (`open_only`), or every one. `zone`: of bins in that zone."""
    stmt = select(
        _CT.c.id,
        _L.c.code,
        _L.c.zone.label("location_zone"),
        _L.c.pick_sequence,
        _CT.c.state,
        _CT.c.reason,
        _CT.c.origin,
        _CT.c.abc,
        _CT.c.assigned_to,
        _CT.c.zone,
        _CT.c.planned_for,
        _CT.c.created_at,
    ).join(_L, _L.c.id == _CT.c.location_id)
    if open_only:
        stmt = stmt.where(UNFINISHED)
    if zone is not None:
        stmt = stmt.where(_L.c.zone == zone)
    stmt = stmt.order_by(_L.c.pick_sequence, _L.c.code, _CT.c.id)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [
        CountTaskLine(
            id=r.id,
            location=r.code,
            location_zone=r.location_zone,
            pick_sequence=r.pick_sequence or 0,
            state=r.state,
            reason=r.reason,
            origin=r.origin,
            abc=r.abc,
            assigned_to=r.assigned_to,
            zone=r.zone,
            planned_for=r.planned_for,
            created_at=r.created_at,
        )
        for r in c.execute(stmt)
    ]
