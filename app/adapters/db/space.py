"""Bin capacity in SQL: locking and updating space, capacity holds, and bounded sampling of bins
with room for a suggestion.

Lock order, shared with the ledger store: balance rows first (sorted), then bin_space rows
(sorted by location), then hold rows. A suggestion takes no balance rows, so it can never close a
cycle with a putaway.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    union_all,
    update,
)

from app.domain.model import Move
from app.domain.stow import Content, Need, Space

from .schema import BinSpaceRow, LocationRow, QuantRow, SkuRow, StowHoldRow, table

SPACE_COLUMNS = (
    "location_id, zone, pick_sequence, max_units, max_volume_cm3, max_weight_g, used_units, "
    "used_volume_cm3, used_weight_g, held_units, held_volume_cm3, held_weight_g"
)
_B_COLUMNS = ", ".join(f"b.{c.strip()}" for c in SPACE_COLUMNS.split(","))
WINDOW = 400
"""Index entries one sampling query reads at most: the bound that keeps a suggestion fast."""


def _space(r: Any, code: str) -> Space:
    return Space(
        r.location_id,
        code,
        r.zone,
        r.pick_sequence,
        r.max_units,
        r.max_volume_cm3,
        r.max_weight_g,
        r.used_units,
        r.used_volume_cm3,
        r.used_weight_g,
        r.held_units,
        r.held_volume_cm3,
        r.held_weight_g,
    )


def lock_spaces(c: Connection, location_ids: Iterable[int]) -> dict[int, Space]:
    """Lock the bin_space rows of those locations that are bins, in location order."""
    ids = sorted(set(location_ids))
    if not ids:
        return {}
    b, loc = table(BinSpaceRow), table(LocationRow)
    rows = c.execute(
        select(b, loc.c.code)
        .join(loc, loc.c.id == b.c.location_id)
        .where(b.c.location_id.in_(ids))
        .order_by(b.c.location_id)
        .with_for_update(of=b)
    )
    return {r.location_id: _space(r, r.code) for r in rows}


def apply_moves(c: Connection, moves: Sequence[Move]) -> None:
    """Add the moves' units, volume and weight to the bins they touch (others match no row)."""
    if not moves:
        return
    s = table(SkuRow)
    sizes = {
        r.id: (r.unit_volume_cm3, r.unit_weight_g)
        for r in c.execute(
            select(s.c.id, s.c.unit_volume_cm3, s.c.unit_weight_g).where(
                s.c.id.in_({m.sku_id for m in moves})
            )
        )
    }
    deltas: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    for m in moves:
        volume, weight = sizes[m.sku_id]
        for location_id, sign in ((m.from_location_id, -1), (m.to_location_id, 1)):
            d = deltas[location_id]
            d[0] += sign * m.qty
            d[1] += sign * m.qty * volume
            d[2] += sign * m.qty * weight
    params = [
        {"l": loc, "u": u, "v": v, "w": w}
        for loc, (u, v, w) in sorted(deltas.items())
        if u or v or w
    ]
    if params:
        b = table(BinSpaceRow)
        c.execute(
            update(b)
            .where(b.c.location_id == bindparam("l"))
            .values(
                used_units=b.c.used_units + bindparam("u"),
                used_volume_cm3=b.c.used_volume_cm3 + bindparam("v"),
                used_weight_g=b.c.used_weight_g + bindparam("w"),
            ),
            params,
        )


def _release(c: Connection, released: Iterable[Any]) -> int:
    per_location: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    count = 0
    for r in released:
        count += 1
        d = per_location[r.location_id]
        d[0] += r.units
        d[1] += r.volume_cm3
        d[2] += r.weight_g
    if per_location:
        b = table(BinSpaceRow)
        c.execute(
            update(b)
            .where(b.c.location_id == bindparam("l"))
            .values(
                held_units=b.c.held_units - bindparam("u"),
                held_volume_cm3=b.c.held_volume_cm3 - bindparam("v"),
                held_weight_g=b.c.held_weight_g - bindparam("w"),
            ),
            [{"l": k, "u": u, "v": v, "w": w} for k, (u, v, w) in sorted(per_location.items())],
        )
    return count


def take_holds(c: Connection, station_id: int, location_id: int, sku_id: int) -> int:
    """Release this station's holds on this bin for this SKU (its putaway has arrived).
    The caller has locked the bin's space row."""
    h = table(StowHoldRow)
    released = c.execute(
        delete(h)
        .where(h.c.station_id == station_id, h.c.location_id == location_id, h.c.sku_id == sku_id)
        .returning(h.c.location_id, h.c.units, h.c.volume_cm3, h.c.weight_g)
    ).all()
    return _release(c, released)


def release_expired_holds(c: Connection, now: datetime | None, limit: int = 200) -> int:
    h = table(StowHoldRow)
    cutoff: Any = func.now() if now is None else now
    expired = c.execute(
        select(h.c.id, h.c.location_id)
        .where(h.c.expires_at <= cutoff)
        .order_by(h.c.location_id)
        .limit(limit)
    ).all()
    if not expired:
        return 0
    lock_spaces(c, (r.location_id for r in expired))
    released = c.execute(
        delete(h)
        .where(h.c.id.in_([r.id for r in expired]))
        .returning(h.c.location_id, h.c.units, h.c.volume_cm3, h.c.weight_g)
    ).all()
    return _release(c, released)


def try_hold(
    c: Connection,
    location_id: int,
    need: Need,
    sku_id: int,
    lot_id: int,
    station_id: int | None,
    expires_at: datetime,
) -> bool:
    """Promise space in one bin if it still has it. The conditional UPDATE takes the row lock
    and re-checks the free space after any concurrent holder committed, so two workers asked at
    the same moment cannot both be given the last space."""
    b = table(BinSpaceRow)
    taken = c.execute(
        update(b)
        .where(
            b.c.location_id == location_id,
            b.c.free_units >= need.units,
            b.c.free_volume_cm3 >= need.volume_cm3,
            b.c.free_weight_g >= need.weight_g,
        )
        .values(
            held_units=b.c.held_units + need.units,
            held_volume_cm3=b.c.held_volume_cm3 + need.volume_cm3,
            held_weight_g=b.c.held_weight_g + need.weight_g,
        )
    ).rowcount
    if taken != 1:
        return False
    c.execute(
        insert(table(StowHoldRow)).values(
            location_id=location_id,
            sku_id=sku_id,
            lot_id=lot_id,
            station_id=station_id,
            units=need.units,
            volume_cm3=need.volume_cm3,
            weight_g=need.weight_g,
            expires_at=expires_at,
        )
    )
    return True


def _contents_statement() -> Any:
    """Stock on hand and space promised by holds, in one round trip; built once (a suggestion
    runs it every time, and building it per call cost more than running it)."""
    q, s, h = table(QuantRow), table(SkuRow), table(StowHoldRow)
    ids: Any = bindparam("ids", expanding=True)
    items = union_all(
        select(q.c.location_id, q.c.sku_id, q.c.lot_id, q.c.on_hand.label("units")).where(
            q.c.location_id.in_(ids), q.c.on_hand > 0
        ),
        select(h.c.location_id, h.c.sku_id, h.c.lot_id, h.c.units).where(h.c.location_id.in_(ids)),
    ).subquery()
    return select(items, s.c.lookalike_group).join(s, s.c.id == items.c.sku_id)


_CONTENTS = _contents_statement()


def contents(c: Connection, location_ids: Sequence[int]) -> dict[int, list[Content]]:
    """What each bin holds (on hand) or has promised (holds), with look-alike groups."""
    found: dict[int, list[Content]] = defaultdict(list)
    if not location_ids:
        return found
    rows = c.execute(_CONTENTS, {"ids": list(set(location_ids))})
    for r in rows:
        found[r.location_id].append(Content(r.sku_id, r.lot_id, r.units, r.lookalike_group))
    return found


def sku_zone_units(c: Connection, sku_id: int) -> dict[str, int]:
    q, b = table(QuantRow), table(BinSpaceRow)
    rows = c.execute(
        select(b.c.zone, func.sum(q.c.on_hand))
        .join(b, b.c.location_id == q.c.location_id)
        .where(q.c.sku_id == sku_id, q.c.on_hand > 0)
        .group_by(b.c.zone)
    )
    return {zone: int(units) for zone, units in rows}


_NOT_HELD = (
    "NOT EXISTS (SELECT 1 FROM holds h WHERE h.location_id = l.id AND h.released_at IS NULL)"
)
"""A bin on hold is never suggested: goods put there could not be picked (one probe of the
partial index of active holds per bin)."""


def sample(
    c: Connection,
    need: Need,
    *,
    zone: str | None,
    order: str,
    start: int,
    limit: int,
) -> list[Space]:
    """Up to `limit` active bins that fit, read from one bounded window of an index.

    order "rand": bins in random-key order from `start` (a uniform sample); "seq": bins in pick
    sequence order from the start of the path. Only bins with a free unit are in the indexes.
    """
    key = {"rand": "rand_key", "seq": "pick_sequence"}[order]
    where_zone = "zone = :zone AND " if zone is not None else ""
    # The window reads only ids from the index (the rowid / key is in it); rows are then
    # fetched one by one until `limit` fit, so a mostly empty warehouse costs ~limit lookups.
    # No ORDER BY outside: it would fetch the whole window before sorting. Both databases
    # join in the window's index order (SQLite scans the materialised window, PostgreSQL's
    # nested loop keeps its outer order); the ranking in domain/stow.py orders what comes back.
    sql = text(
        f"""
        SELECT {_B_COLUMNS}, l.code FROM (
            SELECT location_id FROM bin_space
            WHERE {where_zone}free_units > 0 AND {key} >= :start
            ORDER BY {key} LIMIT {WINDOW}
        ) w JOIN bin_space b ON b.location_id = w.location_id
        JOIN locations l ON l.id = b.location_id
        WHERE l.active AND b.free_units >= :u AND b.free_volume_cm3 >= :v
            AND b.free_weight_g >= :w AND {_NOT_HELD}
        LIMIT :limit
        """
    )
    params: dict[str, Any] = {
        "start": start,
        "u": need.units,
        "v": need.volume_cm3,
        "w": need.weight_g,
        "limit": limit,
    }
    if zone is not None:
        params["zone"] = zone
    return [_space(r, r.code) for r in c.execute(sql, params)]


def roomiest(c: Connection, need: Need, *, zone: str | None, limit: int) -> list[Space]:
    """The bins with the most free volume that fit: the fallback when samples find too few."""
    where_zone = "zone = :zone AND " if zone is not None else ""
    sql = text(
        f"""
        SELECT w.*, l.code FROM (
            SELECT {SPACE_COLUMNS}, free_units, free_weight_g FROM bin_space
            WHERE {where_zone}free_volume_cm3 >= :v
            ORDER BY free_volume_cm3 DESC LIMIT {WINDOW}
        ) w JOIN locations l ON l.id = w.location_id
        WHERE l.active AND w.free_units >= :u AND w.free_weight_g >= :w AND {_NOT_HELD}
        LIMIT :limit
        """
    )
    params: dict[str, Any] = {
        "u": need.units,
        "v": need.volume_cm3,
        "w": need.weight_g,
        "limit": limit,
    }
    if zone is not None:
        params["zone"] = zone
    return [_space(r, r.code) for r in c.execute(sql, params)]


def new_space_rows(
    locations: Iterable[tuple[int, Any]], rand_keys: Iterable[int], unlimited: int
) -> list[dict[str, Any]]:
    """bin_space rows for new bins: (location id, spec with zone, pick sequence and limits)."""
    return [
        {
            "location_id": location_id,
            "zone": spec.zone or "",
            "pick_sequence": spec.pick_sequence,
            "rand_key": key,
            "max_units": spec.max_units if spec.max_units is not None else unlimited,
            "max_volume_cm3": spec.max_volume_cm3 if spec.max_volume_cm3 is not None else unlimited,
            "max_weight_g": spec.max_weight_g if spec.max_weight_g is not None else unlimited,
            "used_units": 0,
            "used_volume_cm3": 0,
            "used_weight_g": 0,
            "held_units": 0,
            "held_volume_cm3": 0,
            "held_weight_g": 0,
        }
        for (location_id, spec), key in zip(locations, rand_keys, strict=False)
    ]
