"""The exceptions list (app/domain/exceptions.py): written inside ledger transactions (the
store's methods), and read as one list by `perpetua exceptions` and the supervisor's screen.

At most one open exception per kind and subject: a second raise of the same one meets the
partial unique index and does nothing (ON CONFLICT DO NOTHING), so that a count saved twice in
'recount' lists it once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from app.domain.commands import CountLine
from app.domain.exceptions import RULES, ExceptionItem, ExceptionKind, ExceptionState
from app.domain.ports import ExceptionRecord, NewException, SavedCount

from .schema import (
    OPEN_EXCEPTION,
    CountTaskRow,
    ExceptionRow,
    LocationRow,
    OperatorRow,
    SkuRow,
    StationRow,
    table,
)

_E, _CT = table(ExceptionRow), table(CountTaskRow)
_OPEN = _E.c.state == ExceptionState.OPEN.value


def raise_exception(c: Connection, new: NewException) -> int | None:
    dialect = postgresql if c.dialect.name == "postgresql" else sqlite
    stmt = (
        dialect.insert(_E)
        .values(
            kind=new.kind.value,
            ref=new.ref,
            what=new.what,
            location_id=new.location_id,
            sku_id=new.sku_id,
            lot=new.lot,
            qty=new.qty,
            raised_tx_id=new.tx_id,
            raised_by_id=new.raised_by_id,
            station_id=new.station_id,
        )
        .on_conflict_do_nothing(
            index_elements=[_E.c.kind, _E.c.ref],
            # The partial index's own predicate, as text (so that both databases infer it).
            index_where=text(OPEN_EXCEPTION),
        )
        .returning(_E.c.id)
    )
    found = c.execute(stmt).scalar()
    return None if found is None else int(found)


def resolve_exceptions(
    c: Connection, kinds: Iterable[ExceptionKind], ref: str, tx_id: uuid.UUID, by_id: int
) -> int:
    result = c.execute(
        update(_E)
        .where(_OPEN, _E.c.kind.in_([k.value for k in kinds]), _E.c.ref == ref)
        .values(
            state=ExceptionState.RESOLVED.value,
            decided_tx_id=tx_id,
            decided_by_id=by_id,
            decided_at=func.now(),
        )
    )
    return int(result.rowcount)


def exception(c: Connection, exception_id: int, lock: bool = False) -> ExceptionRecord | None:
    o = table(OperatorRow)
    stmt = (
        select(_E, o.c.badge.label("decided_badge"))
        .select_from(_E.outerjoin(o, o.c.id == _E.c.decided_by_id))
        .where(_E.c.id == exception_id)
    )
    r = c.execute(stmt.with_for_update(of=_E) if lock else stmt).first()
    if r is None:
        return None
    return ExceptionRecord(
        r.id,
        ExceptionKind(r.kind),
        ExceptionState(r.state),
        r.ref,
        r.what,
        r.location_id,
        r.sku_id,
        r.lot,
        r.decided_badge,
        r.decided_at,
        r.decision_reason,
    )


def decide_exception(
    c: Connection,
    exception_id: int,
    state: ExceptionState,
    tx_id: uuid.UUID,
    by_id: int,
    reason: str,
) -> None:
    c.execute(
        update(_E)
        .where(_E.c.id == exception_id, _OPEN)
        .values(
            state=state.value,
            decided_tx_id=tx_id,
            decided_by_id=by_id,
            decided_at=func.now(),
            decision_reason=reason,
        )
    )


def _lines(rows: Any) -> tuple[CountLine, ...]:
    return tuple(CountLine(r["sku"], int(r["qty"]), r.get("lot")) for r in rows or ())


def saved_count(c: Connection, task_id: int) -> SavedCount | None:
    r = c.execute(
        select(
            _CT.c.id,
            _CT.c.location_id,
            _CT.c.state,
            _CT.c.counts,
            _CT.c.snapshot,
            _CT.c.counters,
        ).where(_CT.c.id == task_id)
    ).first()
    if r is None:
        return None
    return SavedCount(
        r.id,
        r.location_id,
        r.state,
        _lines(r.counts),
        _lines(r.snapshot),
        tuple(r.counters or ()),
    )


# --- the list ---------------------------------------------------------------------------------


def list_exceptions(
    c: Connection, *, open_only: bool, limit: int | None = None
) -> list[ExceptionItem]:
    """The exceptions, newest first (open ones only, with `open_only`), with their location,
    SKU, badges and station by code, and the action an open one needs. The supervisor's screen
    and `perpetua exceptions` read this; the state index keeps the open list quick however long
    the history grows."""
    loc, sku, st = table(LocationRow), table(SkuRow), table(StationRow)
    raiser, decider = table(OperatorRow).alias("raiser"), table(OperatorRow).alias("decider")
    stmt = (
        select(
            _E,
            loc.c.code.label("location_code"),
            sku.c.code.label("sku_code"),
            raiser.c.badge.label("raised_badge"),
            decider.c.badge.label("decided_badge"),
            st.c.code.label("station_code"),
        )
        .select_from(
            _E.outerjoin(loc, loc.c.id == _E.c.location_id)
            .outerjoin(sku, sku.c.id == _E.c.sku_id)
            .outerjoin(raiser, raiser.c.id == _E.c.raised_by_id)
            .outerjoin(decider, decider.c.id == _E.c.decided_by_id)
            .outerjoin(st, st.c.id == _E.c.station_id)
        )
        .order_by(_E.c.id.desc())
    )
    if open_only:
        stmt = stmt.where(_OPEN)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [_item(r) for r in c.execute(stmt)]


def _item(r: Any) -> ExceptionItem:
    kind, state = ExceptionKind(r.kind), ExceptionState(r.state)
    return ExceptionItem(
        id=r.id,
        kind=kind,
        state=state,
        what=r.what,
        action=RULES[kind].action if state is ExceptionState.OPEN else "",
        raised_at=r.raised_at,
        location=r.location_code,
        sku=r.sku_code,
        lot=r.lot,
        qty=r.qty,
        raised_by=r.raised_badge,
        station=r.station_code,
        decided_by=r.decided_badge,
        decided_at=r.decided_at,
        decision_reason=r.decision_reason,
    )
