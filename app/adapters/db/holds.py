"""Holds on locations and lots (domain/holds.py): written inside ledger transactions (the
store's methods), and the reports `perpetua holds` and `perpetua expired` read.

At most one active hold per location and per lot: two transactions placing the same hold at once
meet on the partial unique index, where the second one's insert waits for the first and then does
nothing (ON CONFLICT DO NOTHING), and it reads the hold the first one placed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from app.domain.expiry import ShelfLife
from app.domain.model import NO_LOT_ID, LocationKind
from app.domain.ports import HoldRecord

from .schema import (
    ACTIVE_HOLD,
    HoldRow,
    LocationRow,
    LotRow,
    OperatorRow,
    QuantRow,
    SkuRow,
    table,
)

_H, _L, _LOT, _O = table(HoldRow), table(LocationRow), table(LotRow), table(OperatorRow)
_Q, _S = table(QuantRow), table(SkuRow)
_ACTIVE = _H.c.released_at.is_(None)


def _record(r: Any) -> HoldRecord:
    return HoldRecord(r.id, r.location_id, r.lot_id, r.reason, r.badge, r.placed_at)


def _select() -> Any:
    return select(
        _H.c.id, _H.c.location_id, _H.c.lot_id, _H.c.reason, _O.c.badge, _H.c.placed_at
    ).select_from(_H.join(_O, _O.c.id == _H.c.placed_by_id))


def active_holds(
    c: Connection, location_ids: Iterable[int], lot_ids: Iterable[int]
) -> list[HoldRecord]:
    locations = sorted(set(location_ids))
    lots = sorted(set(lot_ids) - {NO_LOT_ID})
    if not locations and not lots:
        return []
    stmt = _select().where(_ACTIVE, or_(_H.c.location_id.in_(locations), _H.c.lot_id.in_(lots)))
    return [_record(r) for r in c.execute(stmt.order_by(_H.c.id))]


def lock_active_hold(
    c: Connection, location_id: int | None, lot_id: int | None
) -> HoldRecord | None:
    target = _H.c.location_id == location_id if location_id is not None else _H.c.lot_id == lot_id
    r = c.execute(_select().where(_ACTIVE, target).with_for_update(of=_H)).first()
    return None if r is None else _record(r)


def add_hold(
    c: Connection,
    location_id: int | None,
    lot_id: int | None,
    reason: str,
    placed_by_id: int,
    tx_id: uuid.UUID,
) -> HoldRecord | None:
    column = "location_id" if location_id is not None else "lot_id"
    dialect = postgresql if c.dialect.name == "postgresql" else sqlite
    stmt = (
        dialect.insert(_H)
        .values(
            location_id=location_id,
            lot_id=lot_id,
            reason=reason,
            placed_by_id=placed_by_id,
            placed_tx_id=tx_id,
        )
        .on_conflict_do_nothing(
            index_elements=[_H.c[column]],
            # The partial index's own predicate, as text (so that both databases infer it).
            index_where=text(f"{column} IS NOT NULL AND {ACTIVE_HOLD}"),
        )
        .returning(_H.c.id)
    )
    hold_id = c.execute(stmt).scalar()
    if hold_id is None:
        return None
    return _record(c.execute(_select().where(_H.c.id == hold_id)).one())


def release_hold(
    c: Connection, hold_id: int, released_by_id: int, tx_id: uuid.UUID, reason: str
) -> None:
    c.execute(
        update(_H)
        .where(_H.c.id == hold_id, _ACTIVE)
        .values(
            released_by_id=released_by_id,
            released_tx_id=tx_id,
            released_at=func.now(),
            release_reason=reason,
        )
    )


# --- reports ----------------------------------------------------------------------------------


def _stock_of(c: Connection, where: Any) -> list[dict[str, Any]]:
    """Real locations' balances that `where` selects, with SKU and lot codes."""
    rows = c.execute(
        select(_L.c.code.label("location"), _S.c.code.label("sku"), _LOT.c.code.label("lot"))
        .add_columns(_Q.c.on_hand, _Q.c.reserved)
        .select_from(
            _Q.join(_L, _L.c.id == _Q.c.location_id)
            .join(_S, _S.c.id == _Q.c.sku_id)
            .join(_LOT, _LOT.c.id == _Q.c.lot_id)
        )
        .where(where, _Q.c.is_virtual.is_(False), _Q.c.on_hand != 0)
        .order_by(_L.c.code, _S.c.code, _LOT.c.code)
    )
    return [
        {
            "location": r.location,
            "sku": r.sku,
            "lot": r.lot or None,
            "on_hand": r.on_hand,
            "reserved": r.reserved,
        }
        for r in rows
    ]


def holds_report(c: Connection, include_released: bool = False) -> list[dict[str, Any]]:
    """Holds with the stock they hold now: quarantine locations holding stock (held by their
    kind), then hold rows, oldest first (with `include_released`, released ones too, with who
    released them, when and why)."""
    out: list[dict[str, Any]] = []
    quarantine = c.execute(
        select(_L.c.id, _L.c.code)
        .where(_L.c.kind == LocationKind.QUARANTINE.value)
        .order_by(_L.c.code)
    ).all()
    for q in quarantine:
        stock = _stock_of(c, _Q.c.location_id == q.id)
        if stock:
            out.append(
                {
                    "target": q.code,
                    "kind": "quarantine",
                    "sku": None,
                    "reason": "quarantine location",
                    "placed_by": None,
                    "placed_at": None,
                    "active": True,
                    "stock": stock,
                }
            )
    placer, releaser = _O.alias("placer"), _O.alias("releaser")
    stmt = (
        select(
            _H,
            _L.c.code.label("location"),
            _LOT.c.code.label("lot"),
            _S.c.code.label("sku"),
            placer.c.badge.label("placed_by"),
            releaser.c.badge.label("released_by"),
        )
        .select_from(
            _H.join(placer, placer.c.id == _H.c.placed_by_id)
            .outerjoin(releaser, releaser.c.id == _H.c.released_by_id)
            .outerjoin(_L, _L.c.id == _H.c.location_id)
            .outerjoin(_LOT, _LOT.c.id == _H.c.lot_id)
            .outerjoin(_S, _S.c.id == _LOT.c.sku_id)
        )
        .order_by(_H.c.placed_at, _H.c.id)
    )
    if not include_released:
        stmt = stmt.where(_ACTIVE)
    for r in c.execute(stmt).all():
        active = r.released_at is None
        on = _Q.c.location_id == r.location_id if r.location_id else _Q.c.lot_id == r.lot_id
        entry: dict[str, Any] = {
            "target": r.location or r.lot,
            "kind": "location" if r.location_id else "lot",
            "sku": r.sku,
            "reason": r.reason,
            "placed_by": r.placed_by,
            "placed_at": r.placed_at.isoformat(),
            "active": active,
            "stock": _stock_of(c, on) if active else [],
        }
        if not active:
            entry |= {
                "released_by": r.released_by,
                "released_at": r.released_at.isoformat(),
                "release_reason": r.release_reason,
            }
        out.append(entry)
    return out


def expiring_stock(c: Connection, today: date, days: int) -> list[dict[str, Any]]:
    """Lots in stock in real locations that are expired on `today`, have less shelf life left
    than their SKU's minimum, or expire within `days` days; soonest first, with whether each is
    held and by what ("quarantine", "location: <reason>", "lot: <reason>"; None: not held)."""
    lot_hold = select(_H.c.reason).where(_H.c.lot_id == _LOT.c.id, _ACTIVE).scalar_subquery()
    location_reason = (
        select(_H.c.reason).where(_H.c.location_id == _L.c.id, _ACTIVE).scalar_subquery()
    )
    # A lot is listed when expiry - max(min_shelf_days, days) < today: read wide by the longest
    # minimum there is, then kept or not by the domain's rule.
    widest = c.execute(select(func.max(_S.c.min_shelf_days))).scalar() or 0
    horizon = today + timedelta(days=max(widest, days))
    rows = c.execute(
        select(
            _L.c.code.label("location"),
            _L.c.kind,
            _S.c.code.label("sku"),
            _S.c.min_shelf_days,
            _LOT.c.code.label("lot"),
            _LOT.c.expiry,
            _Q.c.on_hand,
            _Q.c.reserved,
            location_reason.label("location_reason"),
            lot_hold.label("lot_reason"),
        )
        .select_from(
            _Q.join(_L, _L.c.id == _Q.c.location_id)
            .join(_S, _S.c.id == _Q.c.sku_id)
            .join(_LOT, _LOT.c.id == _Q.c.lot_id)
        )
        .where(
            _Q.c.is_virtual.is_(False),
            _Q.c.on_hand > 0,
            and_(_LOT.c.expiry.is_not(None), _LOT.c.expiry <= horizon),
        )
        .order_by(_LOT.c.expiry, _L.c.code, _S.c.code, _LOT.c.code)
    ).all()
    out = []
    for r in rows:
        life = ShelfLife(r.expiry, today, r.min_shelf_days or 0)
        if not (life.too_short or life.days_left <= days):
            continue
        held = (
            "quarantine"
            if r.kind == LocationKind.QUARANTINE.value
            else f"location: {r.location_reason}"
            if r.location_reason is not None
            else f"lot: {r.lot_reason}"
            if r.lot_reason is not None
            else None
        )
        out.append(
            {
                "location": r.location,
                "sku": r.sku,
                "lot": r.lot,
                "expiry": r.expiry.isoformat(),
                "on_hand": r.on_hand,
                "reserved": r.reserved,
                "days_left": life.days_left,
                "state": "expired" if life.expired else "short" if life.too_short else "expiring",
                "min_shelf_days": r.min_shelf_days,
                "held": held,
            }
        )
    return out


def lot_skus(c: Connection, lot: str) -> list[str]:
    """The SKUs that have a lot of this code."""
    rows = c.execute(
        select(_S.c.code).join(_LOT, _LOT.c.sku_id == _S.c.id).where(_LOT.c.code == lot)
    )
    return sorted(r.code for r in rows)
