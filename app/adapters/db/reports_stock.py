"""What the stock reports read (app/domain/reports_stock.py makes the tables): stock on hand from
the balances or replayed from the ledger up to a past moment, every move of a lot, and the moves
to and from ADJUSTMENT. Reads only: on SQLite give these a connection with the READONLY execution
option (engine.READONLY), so that a report does not take the write lock stations wait on."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    FromClause,
    Row,
    Select,
    and_,
    func,
    literal,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.orm import aliased

from app.domain.model import NO_LOT_ID, LocationKind, VirtualLocation
from app.domain.report_pages import StockKey
from app.domain.reports_stock import (
    AdjustmentMove,
    ExpiringLine,
    StockFilter,
    StockLine,
    TraceMove,
)

from . import holds as held_stock
from .schema import (
    HoldRow,
    LocationRow,
    LotRow,
    MoveRow,
    OperatorRow,
    OrderLineRow,
    OrderRow,
    QuantRow,
    ReservationRow,
    SkuRow,
    StationRow,
    TransactionRow,
    table,
)

_Q, _L, _S, _LOT = table(QuantRow), table(LocationRow), table(SkuRow), table(LotRow)
_M, _T, _H, _R = table(MoveRow), table(TransactionRow), table(HoldRow), table(ReservationRow)
_O, _ST, _OL, _ORD = table(OperatorRow), table(StationRow), table(OrderLineRow), table(OrderRow)

STREAM_ROWS = 1000
"""Rows fetched at a time while a stock report streams (a server-side cursor on PostgreSQL)."""

VIRTUAL = LocationKind.VIRTUAL.value


# --- what exists (for refusing a filter that names nothing) -----------------------------------


def sku_exists(c: Connection, code: str) -> bool:
    return c.execute(select(_S.c.id).where(_S.c.code == code)).first() is not None


def location_exists(c: Connection, code: str) -> bool:
    real = and_(_L.c.code == code, _L.c.kind != VIRTUAL)
    return c.execute(select(_L.c.id).where(real)).first() is not None


# --- stock ------------------------------------------------------------------------------------


def _location_ids(f: StockFilter) -> Any:
    """The real locations the filter allows, as a subquery (None: all of them)."""
    if f.location is None and f.zone is None:
        return None
    stmt = select(_L.c.id)
    if f.location is not None:
        stmt = stmt.where(_L.c.code == f.location)
    if f.zone is not None:
        stmt = stmt.where(_L.c.zone == f.zone)
    return stmt


def _narrowed(
    sku_col: Any, lot_col: Any, location_col: Any, f: StockFilter
) -> list[ColumnElement[bool]]:
    """The filter as conditions on id columns, so that a replay reads only the moves it needs."""
    where: list[ColumnElement[bool]] = []
    if f.sku is not None:
        where.append(sku_col.in_(select(_S.c.id).where(_S.c.code == f.sku)))
    if f.lot is not None:
        where.append(lot_col.in_(select(_LOT.c.id).where(_LOT.c.code == f.lot)))
    locations = _location_ids(f)
    if locations is not None:
        where.append(location_col.in_(locations))
    return where


def _held_at(at: datetime | None, **on: Any) -> Any:
    """Whether a hold on the location or lot (`on`) was active at `at` (None: now)."""
    active = (
        _H.c.released_at.is_(None)
        if at is None
        else and_(_H.c.placed_at <= at, or_(_H.c.released_at.is_(None), _H.c.released_at > at))
    )
    conditions = [getattr(_H.c, name) == value for name, value in on.items()]
    return select(_H.c.id).where(active, *conditions).exists()


def _balances_now(f: StockFilter) -> FromClause:
    stmt = select(_Q.c.location_id, _Q.c.sku_id, _Q.c.lot_id, _Q.c.on_hand, _Q.c.reserved).where(
        _Q.c.is_virtual.is_(False),
        _Q.c.on_hand != 0,
        *_narrowed(_Q.c.sku_id, _Q.c.lot_id, _Q.c.location_id, f),
    )
    return stmt.subquery("balances")


def _balances_at(f: StockFilter, at: datetime) -> FromClause:
    """Balances replayed from the moves of the transactions recorded up to `at` (database
    clock): per location, to minus from; reserved: the reservations made by then and not yet
    resolved by then (each resolves once, in a transaction of its own)."""
    recorded = _T.c.db_time <= at
    legs = union_all(
        *(
            select(
                location.label("location_id"),
                _M.c.sku_id,
                _M.c.lot_id,
                (sign * _M.c.qty).label("delta"),
            )
            .join(_T, _T.c.id == _M.c.tx_id)
            .where(recorded, *_narrowed(_M.c.sku_id, _M.c.lot_id, location, f))
            for location, sign in ((_M.c.to_location_id, 1), (_M.c.from_location_id, -1))
        )
    ).subquery("legs")
    moved = (
        select(
            legs.c.location_id,
            legs.c.sku_id,
            legs.c.lot_id,
            func.sum(legs.c.delta).label("on_hand"),
        )
        .group_by(legs.c.location_id, legs.c.sku_id, legs.c.lot_id)
        .subquery("moved")
    )
    made, resolved = aliased(TransactionRow), aliased(TransactionRow)
    open_then = (
        select(
            _R.c.location_id,
            _R.c.sku_id,
            _R.c.lot_id,
            func.sum(_R.c.qty).label("reserved"),
        )
        .join(made, made.id == _R.c.tx_id)
        .outerjoin(resolved, resolved.id == _R.c.resolved_tx_id)
        .where(made.db_time <= at, or_(resolved.id.is_(None), resolved.db_time > at))
        .group_by(_R.c.location_id, _R.c.sku_id, _R.c.lot_id)
        .subquery("open_then")
    )
    return (
        select(
            moved.c.location_id,
            moved.c.sku_id,
            moved.c.lot_id,
            moved.c.on_hand,
            func.coalesce(open_then.c.reserved, 0).label("reserved"),
        )
        .select_from(
            moved.outerjoin(
                open_then,
                and_(
                    open_then.c.location_id == moved.c.location_id,
                    open_then.c.sku_id == moved.c.sku_id,
                    open_then.c.lot_id == moved.c.lot_id,
                ),
            )
        )
        .where(moved.c.on_hand != 0)
        .subquery("balances")
    )


def _stock_select(f: StockFilter, at: datetime | None) -> Select[Any]:
    """Stock on hand per real location, SKU and lot in pick-path order (the one statement the
    whole report and its pages share)."""
    b = _balances_now(f) if at is None else _balances_at(f, at)
    return (
        select(
            _L.c.code.label("location"),
            _L.c.kind,
            _L.c.zone,
            _L.c.pick_sequence,
            _S.c.code.label("sku"),
            _S.c.name,
            _LOT.c.code.label("lot"),
            _LOT.c.expiry,
            b.c.lot_id,
            b.c.on_hand,
            b.c.reserved,
            _held_at(at, location_id=_L.c.id).label("held_location"),
            _held_at(at, lot_id=b.c.lot_id).label("held_lot"),
        )
        .select_from(
            b.join(_L, _L.c.id == b.c.location_id)
            .join(_S, _S.c.id == b.c.sku_id)
            .join(_LOT, _LOT.c.id == b.c.lot_id)
        )
        .where(_L.c.kind != VIRTUAL)
        .order_by(_L.c.pick_sequence, _L.c.code, _S.c.code, _LOT.c.code)
    )


def _stock_line(r: Row[Any]) -> StockLine:
    no_lot = r.lot_id == NO_LOT_ID
    return StockLine(
        location=r.location,
        zone=r.zone,
        sku=r.sku,
        lot=None if no_lot else r.lot,
        expiry=None if no_lot else r.expiry,
        on_hand=int(r.on_hand),
        reserved=int(r.reserved),
        held="quarantine"
        if r.kind == LocationKind.QUARANTINE.value
        else "location"
        if r.held_location
        else "lot"
        if r.held_lot and not no_lot
        else None,
        name=r.name,
    )


def stock(c: Connection, f: StockFilter, at: datetime | None = None) -> Iterator[StockLine]:
    """Stock on hand per real location, SKU and lot in pick-path order: from the balances, or
    replayed from the ledger as it was `at` a past moment. Rows are fetched as they are used
    (the connection must stay open until the last one)."""
    stmt = _stock_select(f, at).execution_options(yield_per=STREAM_ROWS)
    # Closed when the reader stops early too (an export cancelled): a PostgreSQL server-side
    # cursor left open would hold its snapshot until the connection goes back to the pool.
    with c.execute(stmt) as result:
        for r in result:
            yield _stock_line(r)


def stock_page(
    c: Connection, f: StockFilter, after: StockKey | None, limit: int
) -> tuple[list[StockLine], StockKey | None]:
    """At most `limit` lines of stock on hand now, from just after `after` (None: the first),
    and the key to read on from (None: these were the last). A keyset, not an OFFSET: a page
    deep in a million rows costs what the first does, and a row added or gone between pages
    neither repeats nor skips the others."""
    stmt = _stock_select(f, None)
    if after is not None:
        stmt = stmt.where(
            tuple_(_L.c.pick_sequence, _L.c.code, _S.c.code, _LOT.c.code)
            > tuple_(
                literal(after.pick_sequence),
                literal(after.location),
                literal(after.sku),
                literal(after.lot),
            )
        )
    rows = c.execute(stmt.limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    if not more or not rows:
        return [_stock_line(r) for r in rows], None
    last = rows[-1]
    return [_stock_line(r) for r in rows], StockKey(
        int(last.pick_sequence), last.location, last.sku, last.lot
    )


def stock_count(c: Connection, f: StockFilter) -> int:
    """How many lines the stock report now has (what a CSV export's progress bar counts to)."""
    b = _balances_now(f)
    real = select(_L.c.id).where(_L.c.kind != VIRTUAL)
    stmt = select(func.count()).select_from(b).where(b.c.location_id.in_(real))
    return int(c.execute(stmt).scalar_one())


# --- trace ------------------------------------------------------------------------------------


def trace(c: Connection, lot: str, sku: str | None = None) -> list[TraceMove]:
    """Every move of the lots coded `lot` (of `sku` only, when given), in ledger order."""
    src, dst = aliased(LocationRow), aliased(LocationRow)
    stmt = (
        select(
            _T.c.station_time,
            _T.c.kind,
            _S.c.code.label("sku"),
            _M.c.qty,
            src.code.label("source"),
            src.kind.label("source_kind"),
            dst.code.label("target"),
            dst.kind.label("target_kind"),
            _O.c.badge.label("operator"),
            _ST.c.code.label("station"),
            func.coalesce(_ORD.c.code, _T.c.reference).label("reference"),
            _M.c.reason,
        )
        .select_from(
            _M.join(_T, _T.c.id == _M.c.tx_id)
            .join(_S, _S.c.id == _M.c.sku_id)
            .join(_LOT, _LOT.c.id == _M.c.lot_id)
            .join(src, src.id == _M.c.from_location_id)
            .join(dst, dst.id == _M.c.to_location_id)
            .outerjoin(_O, _O.c.id == _T.c.operator_id)
            .outerjoin(_ST, _ST.c.id == _T.c.station_id)
            .outerjoin(_OL, _OL.c.id == _M.c.order_line_id)
            .outerjoin(_ORD, _ORD.c.id == _OL.c.order_id)
        )
        .where(_LOT.c.code == lot, _LOT.c.id != NO_LOT_ID)
        .order_by(_M.c.id)
    )
    if sku is not None:
        stmt = stmt.where(_S.c.code == sku)
    return [
        TraceMove(
            time=r.station_time,
            kind=r.kind,
            sku=r.sku,
            qty=int(r.qty),
            source=r.source,
            target=r.target,
            source_virtual=r.source_kind == VIRTUAL,
            target_virtual=r.target_kind == VIRTUAL,
            operator=r.operator,
            station=r.station,
            reference=r.reference,
            reason=r.reason,
        )
        for r in c.execute(stmt)
    ]


# --- adjustments ------------------------------------------------------------------------------


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def adjustments(c: Connection, start: date, end: date) -> list[AdjustmentMove]:
    """The moves to and from ADJUSTMENT whose transaction the station made on the UTC days
    `start` .. `end` (both included), with the operator and the SKU's unit value."""
    adjustment = select(_L.c.id).where(_L.c.code == VirtualLocation.ADJUSTMENT.value)
    until = _day_start(min(end, date.max - timedelta(days=1)) + timedelta(days=1))
    gain = _M.c.from_location_id.in_(adjustment.scalar_subquery())
    stmt = (
        select(
            _M.c.tx_id,
            _M.c.reason,
            _O.c.badge,
            _O.c.name,
            _M.c.qty,
            gain.label("gain"),
            _S.c.unit_value_cents,
        )
        .select_from(
            _M.join(_T, _T.c.id == _M.c.tx_id)
            .join(_S, _S.c.id == _M.c.sku_id)
            .outerjoin(_O, _O.c.id == _T.c.operator_id)
        )
        .where(
            or_(gain, _M.c.to_location_id.in_(adjustment.scalar_subquery())),
            _T.c.station_time >= _day_start(start),
            _T.c.station_time < until,
        )
        .order_by(_M.c.id)
    )
    return [
        AdjustmentMove(
            tx_id=str(r.tx_id),
            reason=r.reason,
            operator=r.badge or "-",
            operator_name=r.name or "",
            units=int(r.qty) if r.gain else -int(r.qty),
            unit_value_cents=r.unit_value_cents,
        )
        for r in c.execute(stmt)
    ]


def expiring_lines(c: Connection, today: date, days: int) -> list[ExpiringLine]:
    """The lots in stock expired, expiring within `days`, or short of their SKU's shelf life
    (the list `perpetua expired` prints), as the expiring report's lines."""
    return [
        ExpiringLine(
            location=r["location"],
            sku=r["sku"],
            lot=r["lot"],
            expiry=date.fromisoformat(r["expiry"]),
            on_hand=r["on_hand"],
            reserved=r["reserved"],
            days_left=r["days_left"],
            state=r["state"],
            held=r["held"],
        )
        for r in held_stock.expiring_stock(c, today, days)
    ]
