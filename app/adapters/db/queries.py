"""Read-only reports: stock on hand, the move history, receipts and the master-data audit, as
plain dicts ready for JSON."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, case, func, select
from sqlalchemy.orm import aliased

from app.domain.model import LocationKind

from .schema import (
    HoldRow,
    LocationRow,
    LotRow,
    MasterChangeRow,
    MoveRow,
    OperatorRow,
    OrderLineRow,
    OrderRow,
    QuantRow,
    ReceiptLineRow,
    ReceiptRow,
    ReservationRow,
    SkuRow,
    StationRow,
    TransactionRow,
    table,
)
from .work_items import received, received_units


def stock(
    c: Connection, sku: str | None = None, location: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    q, loc, s, lot = table(QuantRow), table(LocationRow), table(SkuRow), table(LotRow)
    h = table(HoldRow)
    active = h.c.released_at.is_(None)
    stmt = (
        select(
            loc.c.code.label("location"),
            loc.c.kind,
            s.c.code.label("sku"),
            s.c.name,
            lot.c.code.label("lot"),
            lot.c.expiry,
            q.c.on_hand,
            q.c.reserved,
            select(h.c.id).where(h.c.location_id == loc.c.id, active).exists().label("held_loc"),
            select(h.c.id).where(h.c.lot_id == q.c.lot_id, active).exists().label("held_lot"),
        )
        .select_from(
            q.join(loc, loc.c.id == q.c.location_id)
            .join(s, s.c.id == q.c.sku_id)
            .join(lot, lot.c.id == q.c.lot_id)
        )
        .where(q.c.is_virtual.is_(False), q.c.on_hand != 0)
        .order_by(loc.c.pick_sequence, loc.c.code, s.c.code, lot.c.code)
    )
    if sku:
        stmt = stmt.where(s.c.code == sku)
    if location:
        stmt = stmt.where(loc.c.code == location)
    if limit:
        stmt = stmt.limit(limit)
    return [
        {
            "location": r.location,
            "kind": r.kind,
            "sku": r.sku,
            "name": r.name,
            "lot": r.lot or None,
            "expiry": r.expiry.isoformat() if r.expiry else None,
            "on_hand": r.on_hand,
            "reserved": r.reserved,
            "available": 0 if held else r.on_hand - r.reserved,
            "held": held,
        }
        for r in c.execute(stmt)
        for held in [_held(r.kind, r.held_loc, r.held_lot)]
    ]


def _held(kind: str, on_location: bool, on_lot: bool) -> str | None:
    """Why stock is held, in one word for a report: none of it is available to pick."""
    if kind == LocationKind.QUARANTINE.value:
        return "quarantine"
    return "location" if on_location else "lot" if on_lot else None


def stock_count(c: Connection, sku: str | None = None, location: str | None = None) -> int:
    q, loc, s = table(QuantRow), table(LocationRow), table(SkuRow)
    stmt = (
        select(func.count())
        .select_from(q.join(loc, loc.c.id == q.c.location_id).join(s, s.c.id == q.c.sku_id))
        .where(q.c.is_virtual.is_(False), q.c.on_hand != 0)
    )
    if sku:
        stmt = stmt.where(s.c.code == sku)
    if location:
        stmt = stmt.where(loc.c.code == location)
    return int(c.execute(stmt).scalar_one())


def moves(
    c: Connection, sku: str | None = None, location: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """Moves in ledger order; with a limit, the most recent ones."""
    m, t, s, lot = table(MoveRow), table(TransactionRow), table(SkuRow), table(LotRow)
    src, dst = aliased(LocationRow), aliased(LocationRow)
    st, op = table(StationRow), table(OperatorRow)
    stmt = (
        select(
            m.c.id,
            m.c.tx_id,
            t.c.kind,
            t.c.station_time,
            t.c.db_time,
            st.c.code.label("station"),
            op.c.badge.label("operator"),
            s.c.code.label("sku"),
            lot.c.code.label("lot"),
            m.c.qty,
            src.code.label("from_location"),
            dst.code.label("to_location"),
            m.c.reason,
        )
        .select_from(
            m.join(t, t.c.id == m.c.tx_id)
            .join(s, s.c.id == m.c.sku_id)
            .join(lot, lot.c.id == m.c.lot_id)
            .join(src, src.id == m.c.from_location_id)
            .join(dst, dst.id == m.c.to_location_id)
            .outerjoin(st, st.c.id == t.c.station_id)
            .outerjoin(op, op.c.id == t.c.operator_id)
        )
        .order_by(m.c.id.desc())
    )
    if sku:
        stmt = stmt.where(s.c.code == sku)
    if location:
        stmt = stmt.where((src.code == location) | (dst.code == location))
    if limit:
        stmt = stmt.limit(limit)
    rows = [
        {
            "move": r.id,
            "tx_id": str(r.tx_id),
            "kind": r.kind,
            "station_time": r.station_time.isoformat(),
            "db_time": r.db_time.isoformat(),
            "station": r.station,
            "operator": r.operator,
            "sku": r.sku,
            "lot": r.lot or None,
            "qty": r.qty,
            "from": r.from_location,
            "to": r.to_location,
            "reason": r.reason,
        }
        for r in c.execute(stmt)
    ]
    rows.reverse()
    return rows


def counts(c: Connection) -> dict[str, int]:
    tables = {
        "skus": table(SkuRow),
        "locations": table(LocationRow),
        "operators": table(OperatorRow),
        "stations": table(StationRow),
        "transactions": table(TransactionRow),
        "moves": table(MoveRow),
    }
    return {
        name: int(c.execute(select(func.count()).select_from(t)).scalar_one())
        for name, t in tables.items()
    }


def order_lines(c: Connection, state: str | None = None) -> list[dict[str, Any]]:
    """Every order line with its order's state, priority, due date and claim, and its figures
    read from the ledger: reserved (open reservations), picked (posted), shipped (moves to the
    customer attributed to the line) and closed short. Highest priority, then due date first."""
    o, ol, s = table(OrderRow), table(OrderLineRow), table(SkuRow)
    res, m, op, st = table(ReservationRow), table(MoveRow), table(OperatorRow), table(StationRow)
    posted = ("posted", "partly_posted")
    figures = (
        select(
            res.c.order_ref,
            res.c.order_line,
            func.sum(case((res.c.state == "open", res.c.qty), else_=0)).label("reserved"),
            func.sum(case((res.c.state.in_(posted), res.c.qty_posted), else_=0)).label("picked"),
        )
        .group_by(res.c.order_ref, res.c.order_line)
        .subquery()
    )
    shipped = (
        select(m.c.order_line_id, func.sum(m.c.qty).label("shipped"))
        .where(m.c.reason == "ship", m.c.order_line_id.is_not(None))
        .group_by(m.c.order_line_id)
        .subquery()
    )
    stmt = (
        select(
            o.c.code,
            o.c.status,
            o.c.priority,
            o.c.due_date,
            op.c.name.label("holder"),
            op.c.badge.label("holder_badge"),
            st.c.code.label("holder_station"),
            o.c.claimed_at,
            ol.c.line,
            s.c.code.label("sku"),
            ol.c.qty,
            func.coalesce(figures.c.reserved, 0).label("reserved"),
            func.coalesce(figures.c.picked, 0).label("picked"),
            func.coalesce(shipped.c.shipped, 0).label("shipped"),
            ol.c.short_closed,
        )
        .select_from(
            o.join(ol, ol.c.order_id == o.c.id)
            .join(s, s.c.id == ol.c.sku_id)
            .outerjoin(
                figures, and_(figures.c.order_ref == o.c.code, figures.c.order_line == ol.c.line)
            )
            .outerjoin(shipped, shipped.c.order_line_id == ol.c.id)
            .outerjoin(op, op.c.id == o.c.claim_operator_id)
            .outerjoin(st, st.c.id == o.c.claim_station_id)
        )
        .order_by(o.c.priority.desc(), o.c.due_date.is_(None), o.c.due_date, o.c.id, ol.c.line)
    )
    if state:
        stmt = stmt.where(o.c.status == state)
    return [
        {
            "order": r.code,
            "state": r.status,
            "priority": r.priority,
            "due_date": r.due_date.isoformat() if r.due_date else None,
            "claim": None
            if r.holder is None
            else {
                "name": r.holder,
                "badge": r.holder_badge,
                "station": r.holder_station,
                "since": r.claimed_at.isoformat() if r.claimed_at else None,
            },
            "line": r.line,
            "sku": r.sku,
            "ordered": r.qty,
            "reserved": int(r.reserved),
            "picked": int(r.picked),
            "shipped": int(r.shipped),
            "short": r.short_closed,
        }
        for r in c.execute(stmt)
    ]


def stored_payload(c: Connection, tx_id: uuid.UUID) -> dict[str, Any] | None:
    """What a transaction id was first used for (its payload), if it was used."""
    t = table(TransactionRow)
    payload = c.execute(select(t.c.payload).where(t.c.id == tx_id)).scalar()
    return dict(payload) if payload is not None else None


# --- master data audit ------------------------------------------------------------------------


def audit(
    c: Connection,
    since: datetime | None = None,
    kind: str | None = None,
    code: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Master-data changes in the order they were made; with a limit, the most recent ones."""
    mc = table(MasterChangeRow)
    stmt = select(mc).order_by(mc.c.id.desc())
    if since is not None:
        stmt = stmt.where(mc.c.at >= since)
    if kind:
        stmt = stmt.where(mc.c.kind == kind)
    if code:
        stmt = stmt.where(mc.c.code == code)
    if limit:
        stmt = stmt.limit(limit)
    rows = [
        {
            "at": r.at.isoformat(),
            "actor": r.actor,
            "actor_kind": r.actor_kind,
            "kind": r.kind,
            "code": r.code,
            "action": r.action,
            "changes": r.changes,
        }
        for r in c.execute(stmt)
    ]
    rows.reverse()
    return rows


# --- receipts ---------------------------------------------------------------------------------


def _receipt_row(r: Any, lines: int, expected: int, received: int) -> dict[str, Any]:
    return {
        "receipt": r.code,
        "state": r.status,
        "lines": lines,
        "expected": expected,
        "received": received,
        "closed_at": r.closed_at.isoformat() if r.closed_at else None,
        "closed_by": r.closed_by,
        "approved_by": r.approved_by,
        "discrepancies": len(r.discrepancies or []),
    }


def _receipt_heads(state: str | None = None, code: str | None = None) -> Any:
    rc, closer, approver = table(ReceiptRow), aliased(OperatorRow), aliased(OperatorRow)
    stmt = (
        select(
            rc.c.id,
            rc.c.code,
            rc.c.status,
            rc.c.closed_at,
            rc.c.discrepancies,
            closer.badge.label("closed_by"),
            approver.badge.label("approved_by"),
        )
        .select_from(
            rc.outerjoin(closer, closer.id == rc.c.closed_by_id).outerjoin(
                approver, approver.id == rc.c.close_approved_by_id
            )
        )
        .order_by(rc.c.id)
    )
    if state:
        stmt = stmt.where(rc.c.status == state)
    if code is not None:
        stmt = stmt.where(rc.c.code == code)
    return stmt


def receipts(c: Connection, state: str | None = None) -> list[dict[str, Any]]:
    """Every receipt with its lines, units expected and received (confirmed receives against
    it), and when closed: when, by whom, the approver of a short close, its discrepancy count."""
    rl = table(ReceiptLineRow)
    heads = c.execute(_receipt_heads(state)).all()
    if not heads:
        return []
    figures = {
        int(r.receipt_id): (int(r.lines), int(r.expected))
        for r in c.execute(
            select(
                rl.c.receipt_id,
                func.count().label("lines"),
                func.sum(rl.c.qty).label("expected"),
            ).group_by(rl.c.receipt_id)
        )
    }
    codes = {r.code for r in heads}
    got: dict[str, int] = {}
    wanted = codes if state else None
    for receipt, _, qty in c.execute(
        received(lambda ref: ref.is_not(None) if wanted is None else ref.in_(wanted))
    ):
        got[str(receipt)] = got.get(str(receipt), 0) + int(qty)
    return [_receipt_row(r, *figures.get(r.id, (0, 0)), got.get(r.code, 0)) for r in heads]


def receipt(c: Connection, code: str) -> dict[str, Any] | None:
    """One receipt: its head (as `receipts`), its lines with the lot and expiry they expect,
    units received per SKU, and the discrepancy lines stored when it was closed."""
    head = c.execute(_receipt_heads(code=code)).first()
    if head is None:
        return None
    rl, s = table(ReceiptLineRow), table(SkuRow)
    lines = [
        {
            "line": r.line,
            "sku": r.sku,
            "expected": r.qty,
            "lot": r.lot,
            "expiry": r.expiry.isoformat() if r.expiry else None,
        }
        for r in c.execute(
            select(rl.c.line, s.c.code.label("sku"), rl.c.qty, rl.c.lot, rl.c.expiry)
            .join(s, s.c.id == rl.c.sku_id)
            .where(rl.c.receipt_id == head.id)
            .order_by(rl.c.line)
        )
    ]
    got = {str(sku): int(qty) for _, sku, qty in c.execute(received_units(code))}
    expected: dict[str, int] = {}
    for line in lines:
        expected[line["sku"]] = expected.get(line["sku"], 0) + line["expected"]
    skus = [*expected, *sorted(s for s in got if s not in expected)]
    row = _receipt_row(head, len(lines), sum(expected.values()), sum(got.values()))
    row["lines_detail"] = lines
    row["received_per_sku"] = [
        {"sku": sku, "expected": expected.get(sku, 0), "received": got.get(sku, 0)} for sku in skus
    ]
    row["discrepancy_lines"] = list(head.discrepancies or [])
    return row
