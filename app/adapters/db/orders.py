"""Orders inside a ledger transaction: lock the order and its lines, read their figures, move the
claim and the state, record each step, and find what is staged for shipping.

The figures of a line are read from the ledger itself (reservations and moves), after the
line's row is locked: a reservation allocates from what it reads under that lock, so two
stations can never both allocate the same units (DESIGN.md invariant 5). `LOCK_ORDERS` exists
for the negative control only: with it off, the same reads run without FOR UPDATE.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, case, func, insert, or_, select, union_all, update

from app.domain.model import LocationKind, ReservationState
from app.domain.orders import (
    Claim,
    LineFigures,
    LineRecord,
    OrderHead,
    OrderState,
    Person,
    Staged,
)

from .schema import (
    LocationRow,
    MoveRow,
    OperatorRow,
    OrderEventRow,
    OrderLineRow,
    OrderRow,
    ReservationRow,
    SerialRow,
    SkuRow,
    StationRow,
    table,
)

_O, _OL, _E = table(OrderRow), table(OrderLineRow), table(OrderEventRow)
_RES, _M, _L = table(ReservationRow), table(MoveRow), table(LocationRow)
_OP, _ST, _S, _SER = table(OperatorRow), table(StationRow), table(SkuRow), table(SerialRow)

LOCK_ORDERS = True
"""Off only in the T9 negative control, which must see lines over-reserved without the locks."""

STAGING_KINDS = (LocationKind.OUTBOUND.value, LocationKind.STAGING.value)


def _locked(stmt: Any) -> Any:
    return stmt.with_for_update(of=stmt.selected_columns[0].table) if LOCK_ORDERS else stmt


def lock_order(c: Connection, code: str) -> OrderHead | None:
    """The order's row, locked (FOR UPDATE; on SQLite the write lock is already held)."""
    row = c.execute(_locked(select(_O).where(_O.c.code == code))).first()
    if row is None:
        return None
    return OrderHead(row.id, row.code, OrderState(row.status), claim_of(c, row))


def claim_of(c: Connection, row: Any) -> Claim | None:
    """The claim on an order row already read (None when nobody holds it)."""
    if row.claim_operator_id is None or row.claim_station_id is None:
        return None
    return read_claim(c, _O.c.id == row.id)


def read_claim(c: Connection, which: Any) -> Claim | None:
    """Who holds the order `which` selects, in one query (the pick walk asks on every scan)."""
    found = c.execute(
        select(_O.c.claimed_at, _O.c.claim_active_at, _OP.c.badge, _OP.c.name, _ST.c.code)
        .select_from(
            _O.join(_OP, _OP.c.id == _O.c.claim_operator_id).join(
                _ST, _ST.c.id == _O.c.claim_station_id
            )
        )
        .where(which)
    ).first()
    if found is None:
        return None
    return Claim(
        Person(found.badge, found.name, found.code), found.claimed_at, found.claim_active_at
    )


def lock_lines(c: Connection, order: OrderHead) -> list[LineRecord]:
    """The order's lines, locked in line order, with their figures read after the lock."""
    return read_lines(c, order.id, order.code, lock=True)


def read_lines(c: Connection, order_id: int, order_code: str, *, lock: bool) -> list[LineRecord]:
    """An order's lines with their figures from the ledger; with `lock`, the lines are locked
    first (a ledger transaction), without it they are a plain read (what a station shows)."""
    stmt = (
        select(_OL.c.id, _OL.c.line, _OL.c.sku_id, _OL.c.qty, _OL.c.short_closed)
        .where(_OL.c.order_id == order_id)
        .order_by(_OL.c.line)
    )
    rows = c.execute(_locked(stmt) if lock else stmt).all()
    codes = dict(
        c.execute(select(_S.c.id, _S.c.code).where(_S.c.id.in_({r.sku_id for r in rows}))).all()
    )
    reserved, picked = _reservation_figures(c, order_code)
    shipped = shipped_by_line(c, [r.id for r in rows])
    return [
        LineRecord(
            r.id,
            r.sku_id,
            LineFigures(
                r.line,
                codes[r.sku_id],
                r.qty,
                reserved.get(r.line, 0),
                picked.get(r.line, 0),
                r.short_closed,
                shipped.get(r.id, 0),
            ),
        )
        for r in rows
    ]


def _reservation_figures(c: Connection, order: str) -> tuple[dict[int, int], dict[int, int]]:
    open_ = ReservationState.OPEN.value
    posted = (ReservationState.POSTED.value, ReservationState.PARTLY_POSTED.value)
    rows = c.execute(
        select(
            _RES.c.order_line,
            func.sum(case((_RES.c.state == open_, _RES.c.qty), else_=0)),
            func.sum(case((_RES.c.state.in_(posted), _RES.c.qty_posted), else_=0)),
        )
        .where(_RES.c.order_ref == order)
        .group_by(_RES.c.order_line)
    ).all()
    return {r[0]: int(r[1]) for r in rows}, {r[0]: int(r[2]) for r in rows}


def shipped_by_line(c: Connection, line_ids: Sequence[int], reason: str = "ship") -> dict[int, int]:
    """Units moved per order line with this move reason, or with it and a code after a colon
    (a return is recorded as "return: damaged")."""
    if not line_ids:
        return {}
    reasons = or_(_M.c.reason == reason, _M.c.reason.like(f"{reason}: %"))
    rows = c.execute(
        select(_M.c.order_line_id, func.sum(_M.c.qty))
        .where(_M.c.order_line_id.in_(line_ids), reasons)
        .group_by(_M.c.order_line_id)
    )
    return {line_id: int(qty) for line_id, qty in rows}


def line_ids(c: Connection, order_code: str) -> dict[int, int]:
    """Line number -> order_lines.id of an order (no lock)."""
    rows = c.execute(
        select(_OL.c.line, _OL.c.id)
        .select_from(_OL.join(_O, _O.c.id == _OL.c.order_id))
        .where(_O.c.code == order_code)
    )
    return {line: line_id for line, line_id in rows}


def set_state(
    c: Connection,
    order: OrderHead,
    state: OrderState,
    now: datetime,
    claim: tuple[int, int] | bool | None = False,
) -> None:
    """Move the order to `state`. `claim`: (station id, operator id) to claim it now, None to
    release it, False to leave the claim as it is (its activity time is renewed if held)."""
    values: dict[str, Any] = {"status": state.value}
    if state is not order.state:
        values["status_at"] = now
    if isinstance(claim, tuple):
        station_id, operator_id = claim
        values.update(
            claim_station_id=station_id,
            claim_operator_id=operator_id,
            claimed_at=now,
            claim_active_at=now,
        )
    elif claim is None:
        values.update(
            claim_station_id=None, claim_operator_id=None, claimed_at=None, claim_active_at=None
        )
    elif order.claim is not None:
        values["claim_active_at"] = now
    c.execute(update(_O).where(_O.c.id == order.id).values(**values))


def touch_claim(c: Connection, order_id: int) -> None:
    """Renew the claim's activity time, on the database clock (no round trip to read it)."""
    c.execute(update(_O).where(_O.c.id == order_id).values(claim_active_at=func.now()))


def add_event(
    c: Connection,
    order_id: int,
    event: str,
    state: OrderState,
    tx_id: uuid.UUID,
    station_id: int,
    operator_id: int,
    approved_by_id: int | None = None,
    note: str = "",
) -> None:
    c.execute(
        insert(_E).values(
            order_id=order_id,
            event=event,
            status=state.value,
            tx_id=tx_id,
            station_id=station_id,
            operator_id=operator_id,
            approved_by_id=approved_by_id,
            note=note,
        )
    )


def set_short_closed(c: Connection, line_id: int, qty: int) -> None:
    c.execute(update(_OL).where(_OL.c.id == line_id).values(short_closed=qty))


def open_reservation_ids(c: Connection, order_code: str) -> list[int]:
    return list(
        c.execute(
            select(_RES.c.id)
            .where(_RES.c.order_ref == order_code, _RES.c.state == ReservationState.OPEN.value)
            .order_by(_RES.c.id)
        ).scalars()
    )


def staged_net(which: Any) -> Any:
    """Units of order lines still standing in outbound or staging locations: per line, location,
    SKU and lot, what moves of those lines brought there less what they took away, where that is
    above 0. `which` selects the moves (of some lines, or into or out of one place)."""
    legs = union_all(
        select(
            _M.c.order_line_id.label("line_id"),
            _M.c.to_location_id.label("loc"),
            _M.c.sku_id,
            _M.c.lot_id,
            _M.c.qty.label("q"),
        ).where(which, _M.c.order_line_id.is_not(None)),
        select(
            _M.c.order_line_id, _M.c.from_location_id, _M.c.sku_id, _M.c.lot_id, -_M.c.qty
        ).where(which, _M.c.order_line_id.is_not(None)),
    ).subquery()
    qty = func.sum(legs.c.q)
    return (
        select(legs.c.line_id, legs.c.loc, legs.c.sku_id, legs.c.lot_id, qty.label("qty"))
        .join(_L, _L.c.id == legs.c.loc)
        .where(_L.c.kind.in_(STAGING_KINDS))
        .group_by(legs.c.line_id, legs.c.loc, legs.c.sku_id, legs.c.lot_id)
        .having(qty > 0)
        .subquery()
    )


def staged(c: Connection, lines: Sequence[LineRecord]) -> list[Staged]:
    """What was picked for these lines and still stands in outbound or staging locations."""
    by_id = {r.id: r for r in lines}
    if not by_id:
        return []
    net = staged_net(_M.c.order_line_id.in_(by_id))
    rows = c.execute(select(net).order_by(net.c.line_id, net.c.loc, net.c.lot_id)).all()
    serials = _staged_serials(c, list(by_id))
    return [
        Staged(
            r.line_id,
            by_id[r.line_id].figures.line,
            by_id[r.line_id].sku_id,
            r.lot_id,
            r.loc,
            int(r.qty),
            tuple(sorted(serials.get((r.line_id, r.loc, r.lot_id), ()))),
        )
        for r in rows
    ]


def _staged_serials(c: Connection, ids: list[int]) -> dict[tuple[int, int, int], set[str]]:
    """Serial numbers picked for these lines that are still where the pick put them."""
    rows = c.execute(
        select(_M.c.order_line_id, _M.c.to_location_id, _M.c.lot_id, _SER.c.code)
        .join(_SER, _SER.c.id == _M.c.serial_id)
        .where(
            _M.c.order_line_id.in_(ids),
            _M.c.reason == "pick",
            _SER.c.location_id == _M.c.to_location_id,
        )
    )
    found: dict[tuple[int, int, int], set[str]] = defaultdict(set)
    for line_id, loc, lot_id, code in rows:
        found[(line_id, loc, lot_id)].add(code)
    return found


def staged_orders_at(c: Connection, location_id: int) -> list[str]:
    """Codes of orders with picked goods still standing in this location."""
    here = (_M.c.to_location_id == location_id) | (_M.c.from_location_id == location_id)
    net = staged_net(here)
    return list(
        c.execute(
            select(_O.c.code)
            .distinct()
            .select_from(
                _O.join(_OL, _OL.c.order_id == _O.c.id).join(net, net.c.line_id == _OL.c.id)
            )
            .where(net.c.loc == location_id)
            .order_by(_O.c.code)
        ).scalars()
    )


def order_line_violations(c: Connection) -> list[str]:
    """Invariant 5 over every order line: still reserved + picked <= ordered, shipped <= picked.
    Read from the reservations and moves (the truth), not from any counter."""
    open_ = ReservationState.OPEN.value
    posted = (ReservationState.POSTED.value, ReservationState.PARTLY_POSTED.value)
    res = (
        select(
            _RES.c.order_ref,
            _RES.c.order_line,
            func.sum(case((_RES.c.state == open_, _RES.c.qty), else_=0)).label("reserved"),
            func.sum(case((_RES.c.state.in_(posted), _RES.c.qty_posted), else_=0)).label("picked"),
        )
        .group_by(_RES.c.order_ref, _RES.c.order_line)
        .subquery()
    )
    ship = (
        select(_M.c.order_line_id, func.sum(_M.c.qty).label("shipped"))
        .where(_M.c.reason == "ship", _M.c.order_line_id.is_not(None))
        .group_by(_M.c.order_line_id)
        .subquery()
    )
    reserved = func.coalesce(res.c.reserved, 0)
    picked = func.coalesce(res.c.picked, 0)
    shipped = func.coalesce(ship.c.shipped, 0)
    rows = c.execute(
        select(_O.c.code, _OL.c.line, _OL.c.qty, reserved, picked, shipped)
        .select_from(
            _OL.join(_O, _O.c.id == _OL.c.order_id)
            .outerjoin(res, and_(res.c.order_ref == _O.c.code, res.c.order_line == _OL.c.line))
            .outerjoin(ship, ship.c.order_line_id == _OL.c.id)
        )
        .where((reserved + picked > _OL.c.qty) | (shipped > picked))
        .order_by(_O.c.code, _OL.c.line)
    ).all()
    out = []
    for code, line, qty, r, p, s in rows:
        if int(r) + int(p) > qty:
            out.append(f"order {code} line {line}: {r} reserved + {p} picked > {qty} ordered")
        else:
            out.append(f"order {code} line {line}: {s} shipped > {p} picked")
    return out
