"""Bulk writes of reference data: SKUs, barcodes, locations, operators, stations, receipts, orders.

Used by `perpetua import` and `perpetua demo`. Rows arrive validated (see services/importing.py);
each call inserts in chunks on the caller's connection, so a whole file is one transaction.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from itertools import islice
from typing import Any

from sqlalchemy import Connection, insert, select

from app.domain.catalogue import (
    LocationSpec,
    OperatorSpec,
    OrderLineSpec,
    ReceiptLineSpec,
    SkuSpec,
    StationSpec,
)
from app.domain.model import LocationKind
from app.domain.stow import RAND_SPACE

from . import space
from .schema import (
    UNLIMITED,
    BarcodeRow,
    BinSpaceRow,
    LocationRow,
    OperatorRow,
    OrderLineRow,
    OrderRow,
    ReceiptLineRow,
    ReceiptRow,
    SkuRow,
    StationRow,
    table,
)

CHUNK = 5_000


def _chunks(rows: Iterable[dict[str, Any]], size: int = CHUNK) -> Iterable[list[dict[str, Any]]]:
    it = iter(rows)
    while chunk := list(islice(it, size)):
        yield chunk


def _insert_all(
    c: Connection,
    table: Any,
    rows: Iterable[dict[str, Any]],
    progress: Callable[[int], None] | None,
) -> int:
    n = 0
    for chunk in _chunks(rows):
        c.execute(insert(table), chunk)
        n += len(chunk)
        if progress:
            progress(len(chunk))
    return n


def _ids(c: Connection, table: Any, column: str, codes: Iterable[str]) -> dict[str, int]:
    wanted = sorted(set(codes))
    found: dict[str, int] = {}
    col = table.c[column]
    for start in range(0, len(wanted), 900):
        part = wanted[start : start + 900]
        found.update(
            {code: i for code, i in c.execute(select(col, table.c.id).where(col.in_(part)))}
        )
    return found


def add_skus(
    c: Connection, skus: Sequence[SkuSpec], progress: Callable[[int], None] | None = None
) -> int:
    n = _insert_all(
        c,
        table(SkuRow),
        (
            {
                "code": s.code,
                "name": s.name,
                "unit_volume_cm3": s.unit_volume_cm3,
                "unit_weight_g": s.unit_weight_g,
                "tracking": s.tracking.value,
                "lookalike_group": s.lookalike_group,
                "reorder_point": s.reorder_point,
                "lead_time_days": s.lead_time_days,
                "active": True,
            }
            for s in skus
        ),
        progress,
    )
    ids = _ids(c, table(SkuRow), "code", (s.code for s in skus if s.barcodes))
    _insert_all(
        c,
        table(BarcodeRow),
        (
            {"code": code, "sku_id": ids[s.code], "kind": kind}
            for s in skus
            for code, kind in s.barcodes
        ),
        None,
    )
    return n


def add_locations(
    c: Connection,
    locations: Sequence[LocationSpec],
    progress: Callable[[int], None] | None = None,
    rng: random.Random | None = None,
) -> int:
    """Insert locations; every bin also gets its capacity row (random key for sampling)."""
    rng = rng or random.Random()
    t = table(LocationRow)
    stmt = insert(t).returning(t.c.id, sort_by_parameter_order=True)
    n = 0
    for start in range(0, len(locations), CHUNK):
        chunk = locations[start : start + CHUNK]
        ids = (
            c.execute(
                stmt,
                [
                    {
                        "code": loc.code,
                        "kind": loc.kind.value,
                        "zone": loc.zone,
                        "aisle": loc.aisle,
                        "bay": loc.bay,
                        "level": loc.level,
                        "pick_sequence": loc.pick_sequence,
                        "max_units": loc.max_units,
                        "max_volume_cm3": loc.max_volume_cm3,
                        "max_weight_g": loc.max_weight_g,
                        "active": True,
                    }
                    for loc in chunk
                ],
            )
            .scalars()
            .all()
        )
        bins = [(i, loc) for i, loc in zip(ids, chunk, strict=True) if loc.kind is LocationKind.BIN]
        if bins:
            keys = [rng.randrange(RAND_SPACE) for _ in bins]
            c.execute(insert(table(BinSpaceRow)), space.new_space_rows(bins, keys, UNLIMITED))
        n += len(chunk)
        if progress:
            progress(len(chunk))
    return n


def add_operators(c: Connection, operators: Sequence[OperatorSpec]) -> int:
    from app.adapters.pins import hash_pin

    return _insert_all(
        c,
        table(OperatorRow),
        (
            {
                "badge": o.badge,
                "name": o.name,
                "role": o.role.value,
                "pin_hash": hash_pin(o.pin) if o.pin else None,
                "active": True,
            }
            for o in operators
        ),
        None,
    )


def add_stations(c: Connection, stations: Sequence[StationSpec]) -> int:
    docks = _ids(c, table(LocationRow), "code", (s.dock for s in stations if s.dock))
    return _insert_all(
        c,
        table(StationRow),
        (
            {
                "code": s.code,
                "name": s.name,
                "zone": s.zone,
                "dock_location_id": docks.get(s.dock or ""),
            }
            for s in stations
        ),
        None,
    )


def add_receipts(c: Connection, lines: Sequence[ReceiptLineSpec]) -> int:
    codes = sorted({ln.receipt for ln in lines})
    existing = _ids(c, table(ReceiptRow), "code", codes)
    _insert_all(c, table(ReceiptRow), ({"code": r} for r in codes if r not in existing), None)
    receipt_ids = _ids(c, table(ReceiptRow), "code", codes)
    sku_ids = _ids(c, table(SkuRow), "code", (ln.sku for ln in lines))
    return _insert_all(
        c,
        table(ReceiptLineRow),
        (
            {
                "receipt_id": receipt_ids[ln.receipt],
                "line": ln.line,
                "sku_id": sku_ids[ln.sku],
                "qty": ln.qty,
                "lot": ln.lot,
                "expiry": ln.expiry,
            }
            for ln in lines
        ),
        None,
    )


def add_orders(c: Connection, lines: Sequence[OrderLineSpec]) -> int:
    codes = sorted({ln.order for ln in lines})
    existing = _ids(c, table(OrderRow), "code", codes)
    heads: dict[str, dict[str, Any]] = {
        o: {"code": o, "priority": 0, "due_date": None} for o in codes
    }
    for ln in lines:  # an order's priority and due date, from whichever line gives them
        head = heads[ln.order]
        head["priority"] = ln.priority or head["priority"]
        head["due_date"] = ln.due_date or head["due_date"]
    _insert_all(c, table(OrderRow), (heads[o] for o in codes if o not in existing), None)
    order_ids = _ids(c, table(OrderRow), "code", codes)
    sku_ids = _ids(c, table(SkuRow), "code", (ln.sku for ln in lines))
    return _insert_all(
        c,
        table(OrderLineRow),
        (
            {
                "order_id": order_ids[ln.order],
                "line": ln.line,
                "sku_id": sku_ids[ln.sku],
                "qty": ln.qty,
            }
            for ln in lines
        ),
        None,
    )


def analyze(c: Connection) -> None:
    """Refresh the planner's statistics after a bulk load, so that queries use their indexes."""
    c.exec_driver_sql("ANALYZE")


def existing_codes(c: Connection, kind: str, codes: Iterable[str]) -> set[str]:
    """Which of these codes already exist: kind is sku, location, operator or station."""
    source, column = {
        "sku": (table(SkuRow), "code"),
        "location": (table(LocationRow), "code"),
        "operator": (table(OperatorRow), "badge"),
        "station": (table(StationRow), "code"),
        "barcode": (table(BarcodeRow), "code"),
        "receipt": (table(ReceiptRow), "code"),
        "order": (table(OrderRow), "code"),
    }[kind]
    return set(_ids(c, source, column, codes))
