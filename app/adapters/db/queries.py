"""Read-only reports: stock on hand and the move history, as plain dicts ready for JSON."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import aliased

from .schema import (
    LocationRow,
    LotRow,
    MoveRow,
    OperatorRow,
    QuantRow,
    SkuRow,
    StationRow,
    TransactionRow,
    table,
)


def stock(
    c: Connection, sku: str | None = None, location: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    q, loc, s, lot = table(QuantRow), table(LocationRow), table(SkuRow), table(LotRow)
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
            "available": r.on_hand - r.reserved,
        }
        for r in c.execute(stmt)
    ]


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
