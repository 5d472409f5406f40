"""Bulk writes of reference data: SKUs, barcodes, locations, operators, stations, receipts, orders.

Used by `perpetua import` and `perpetua demo`. Rows arrive validated (see services/importing.py);
each call writes on the caller's connection, so a whole file is one transaction. Rows travel in
bulk, never one round trip each: COPY on PostgreSQL, one prepared statement run over many rows
on SQLite; the ids of new rows and the codes a file brings are looked up with one set query
(the codes as one array or JSON parameter, joined to each table on its unique index).
"""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import islice
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from app.domain.catalogue import (
    BarcodeSpec,
    LocationSpec,
    OperatorSpec,
    OrderLineSpec,
    ReceiptLineSpec,
    SkuSpec,
    StationSpec,
)
from app.domain.import_rules import CodeKind, Holder
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
)

Progress = Callable[[int], None]

CHUNK = 5_000
"""Rows per progress step (and per executemany on SQLite)."""


# --- bulk statements --------------------------------------------------------------------------


def _pg(c: Connection) -> bool:
    return c.dialect.name == "postgresql"


def bulk_insert(
    c: Connection,
    table: str,
    columns: Sequence[str],
    rows: Iterable[tuple[Any, ...]],
    progress: Progress | None = None,
) -> int:
    """Insert `rows` (tuples in the order of `columns`) into `table`, in the caller's
    transaction: COPY on PostgreSQL, executemany of one prepared INSERT on SQLite."""
    if _pg(c):
        return _copy(c, f"COPY {table} ({', '.join(columns)}) FROM STDIN", rows, progress)
    it = iter(rows)
    n = 0
    statement = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
    )
    while chunk := list(islice(it, CHUNK)):
        c.exec_driver_sql(statement, chunk)
        n += len(chunk)
        if progress:
            progress(len(chunk))
    return n


@contextmanager
def bulk_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction for a bulk load, all or nothing. On SQLite, statement journals are kept in
    memory meanwhile: every row inserted fires the `rev` triggers, so each INSERT keeps a journal
    to undo it alone, which SQLite otherwise writes to a temporary file (about ten writes a row,
    a third of the load's time at 200,000 SKUs). SQLite decides where they go when a transaction
    begins, so it is set before BEGIN, on this connection only, and set back after."""
    with engine.connect() as c:
        driver = c.connection.driver_connection
        if not isinstance(driver, sqlite3.Connection):
            with c.begin():
                yield c
            return
        before = int(driver.execute("PRAGMA temp_store").fetchone()[0])
        driver.execute("PRAGMA temp_store = MEMORY")
        try:
            with c.begin():
                yield c
        finally:
            driver.execute(f"PRAGMA temp_store = {before}")


def _copy(
    c: Connection, statement: str, rows: Iterable[tuple[Any, ...]], progress: Progress | None
) -> int:
    """COPY on the connection's own driver connection, in its transaction. The driver's errors
    come back as SQLAlchemy's (IntegrityError, DataError...), as from any other statement."""
    driver = c.connection.driver_connection
    assert driver is not None
    it = iter(rows)
    n = 0
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            while chunk := list(islice(it, CHUNK)):
                for row in chunk:
                    copy.write_row(row)
                n += len(chunk)
                if progress:
                    progress(len(chunk))
    except c.dialect.loaded_dbapi.Error as error:
        raise DBAPIError.instance(
            statement, None, error, c.dialect.loaded_dbapi.Error, dialect=c.dialect
        ) from error
    return n


def codes_cte(c: Connection, codes: Iterable[str]) -> tuple[str, dict[str, Any]]:
    """A CTE `wanted(code)` of these codes, sent as one parameter."""
    values = sorted(set(codes))
    if _pg(c):
        return "wanted(code) AS (SELECT unnest(CAST(:codes AS text[])))", {"codes": values}
    return "wanted(code) AS (SELECT value FROM json_each(:codes))", {"codes": json.dumps(values)}


def ids_of(c: Connection, table: str, column: str, codes: Iterable[str]) -> dict[str, int]:
    """The ids of the rows of `table` whose `column` is one of `codes`, in one statement."""
    cte, params = codes_cte(c, codes)
    rows = c.execute(
        text(
            f"WITH {cte} SELECT x.{column}, x.id FROM {table} x "
            f"JOIN wanted w ON x.{column} = w.code"
        ),
        params,
    )
    return {str(code): int(i) for code, i in rows}


_HOLDERS = """
SELECT 'badge', x.badge, NULL, NULL, x.active, NULL FROM operators x
    JOIN wanted w ON x.badge = w.code
UNION ALL
SELECT 'location', x.code, NULL, x.kind, x.active, NULL FROM locations x
    JOIN wanted w ON x.code = w.code
UNION ALL
SELECT 'SKU', x.code, x.code, NULL, x.active, x.tracking FROM skus x
    JOIN wanted w ON x.code = w.code
UNION ALL
SELECT x.kind, x.code, s.code, NULL, s.active, s.tracking FROM barcodes x
    JOIN wanted w ON x.code = w.code JOIN skus s ON s.id = x.sku_id
UNION ALL
SELECT 'receipt', x.code, NULL, NULL, NULL, NULL FROM receipts x JOIN wanted w ON x.code = w.code
UNION ALL
SELECT 'order', x.code, NULL, NULL, NULL, NULL FROM orders x JOIN wanted w ON x.code = w.code
UNION ALL
SELECT 'station', x.code, NULL, NULL, NULL, NULL FROM stations x JOIN wanted w ON x.code = w.code
"""
_KINDS = {"gtin": CodeKind.GTIN, "alias": CodeKind.ALIAS, **{k.value: k for k in CodeKind}}


def holders(c: Connection, codes: Collection[str]) -> list[Holder]:
    """Everything in the database that holds one of these exact codes (a badge, a location, a
    SKU's code, GTIN or alias, a receipt, an order, a station), in one statement, with what the
    imports that refer to them check: whether it is active, a location's kind, a SKU's
    tracking."""
    if not codes:
        return []
    cte, params = codes_cte(c, codes)
    return [
        Holder(
            _KINDS[kind],
            str(code),
            sku,
            place == LocationKind.VIRTUAL.value,
            active is None or bool(active),
            place,
            tracking,
        )
        for kind, code, sku, place, active, tracking in c.execute(
            text(f"WITH {cte} {_HOLDERS}"), params
        )
    ]


def existing_codes(c: Connection, kind: str, codes: Iterable[str]) -> set[str]:
    """Which of these codes already exist: kind is sku, location, operator, station, barcode,
    receipt or order."""
    table, column = {
        "sku": (SkuRow.__tablename__, "code"),
        "location": (LocationRow.__tablename__, "code"),
        "operator": (OperatorRow.__tablename__, "badge"),
        "station": (StationRow.__tablename__, "code"),
        "barcode": (BarcodeRow.__tablename__, "code"),
        "receipt": (ReceiptRow.__tablename__, "code"),
        "order": (OrderRow.__tablename__, "code"),
    }[kind]
    return set(ids_of(c, table, column, codes))


# --- reference data ---------------------------------------------------------------------------

_SKU_COLUMNS = (
    "code",
    "name",
    "unit_volume_cm3",
    "unit_weight_g",
    "tracking",
    "lookalike_group",
    "reorder_point",
    "lead_time_days",
    "min_shelf_days",
    "unit_value_cents",
    "active",
)


def add_skus(c: Connection, skus: Sequence[SkuSpec], progress: Progress | None = None) -> int:
    """Insert SKUs, then their GTINs and aliases (progress counts the SKUs)."""
    n = bulk_insert(
        c,
        SkuRow.__tablename__,
        _SKU_COLUMNS,
        (
            (
                s.code,
                s.name,
                s.unit_volume_cm3,
                s.unit_weight_g,
                s.tracking.value,
                s.lookalike_group,
                s.reorder_point,
                s.lead_time_days,
                s.min_shelf_days,
                s.unit_value_cents,
                True,
            )
            for s in skus
        ),
        progress,
    )
    with_barcodes = [s for s in skus if s.barcodes]
    if with_barcodes:
        ids = ids_of(c, SkuRow.__tablename__, "code", (s.code for s in with_barcodes))
        bulk_insert(
            c,
            BarcodeRow.__tablename__,
            ("code", "sku_id", "kind"),
            ((code, ids[s.code], kind) for s in with_barcodes for code, kind in s.barcodes),
        )
    return n


def add_barcodes(
    c: Connection, barcodes: Sequence[BarcodeSpec], progress: Progress | None = None
) -> int:
    """Insert barcodes of SKUs that exist, each with its pack quantity."""
    ids = ids_of(c, SkuRow.__tablename__, "code", {b.sku for b in barcodes})
    return bulk_insert(
        c,
        BarcodeRow.__tablename__,
        ("code", "sku_id", "kind", "pack_qty"),
        ((b.code, ids[b.sku], b.kind, b.pack_qty) for b in barcodes),
        progress,
    )


_LOCATION_COLUMNS = (
    "code",
    "kind",
    "zone",
    "aisle",
    "bay",
    "level",
    "pick_sequence",
    "max_units",
    "max_volume_cm3",
    "max_weight_g",
    "active",
)
_SPACE_COLUMNS = (
    "location_id",
    "zone",
    "pick_sequence",
    "rand_key",
    "max_units",
    "max_volume_cm3",
    "max_weight_g",
    "used_units",
    "used_volume_cm3",
    "used_weight_g",
    "held_units",
    "held_volume_cm3",
    "held_weight_g",
)


def add_locations(
    c: Connection,
    locations: Sequence[LocationSpec],
    progress: Progress | None = None,
    rng: random.Random | None = None,
) -> int:
    """Insert locations; every bin also gets its capacity row (random key for sampling)."""
    rng = rng or random.Random()
    n = bulk_insert(
        c,
        LocationRow.__tablename__,
        _LOCATION_COLUMNS,
        (
            (
                loc.code,
                loc.kind.value,
                loc.zone,
                loc.aisle,
                loc.bay,
                loc.level,
                loc.pick_sequence,
                loc.max_units,
                loc.max_volume_cm3,
                loc.max_weight_g,
                True,
            )
            for loc in locations
        ),
        progress,
    )
    bins = [loc for loc in locations if loc.kind is LocationKind.BIN]
    if bins:
        ids = ids_of(c, LocationRow.__tablename__, "code", (b.code for b in bins))
        keys = [rng.randrange(RAND_SPACE) for _ in bins]
        rows = space.new_space_rows(((ids[b.code], b) for b in bins), keys, UNLIMITED)
        bulk_insert(
            c,
            BinSpaceRow.__tablename__,
            _SPACE_COLUMNS,
            (tuple(row[col] for col in _SPACE_COLUMNS) for row in rows),
        )
    return n


def add_operators(
    c: Connection, operators: Sequence[OperatorSpec], progress: Progress | None = None
) -> int:
    n = bulk_insert(
        c,
        OperatorRow.__tablename__,
        ("badge", "name", "role", "active"),
        ((o.badge, o.name, o.role.value, True) for o in operators),
        progress,
    )
    pins = {o.badge: o.pin for o in operators if o.pin}
    if pins:
        store_pins(c, pins)
    return n


def store_pins(c: Connection, by_badge: Mapping[str, str]) -> None:
    """The one place an import or the demo stores PINs (badge -> PIN, already checked against
    the policy): by the database side's own verifiers (adapters/db/authority.py). The slow
    offline verifiers are made here, inside the import's transaction (about 1.5 s a
    supervisor); `perpetua operators set-pin` makes them before its transaction opens."""
    from app.adapters import pins
    from app.adapters.db import authority

    ids = ids_of(c, OperatorRow.__tablename__, "badge", by_badge)
    authority.set_pins(c, {ids[badge]: pins.prepare(pin, 1) for badge, pin in by_badge.items()})


def add_stations(
    c: Connection, stations: Sequence[StationSpec], progress: Progress | None = None
) -> int:
    """Insert stations. A dock must be a real location: a virtual one (VENDOR, CUSTOMER,
    SCRAP, ADJUSTMENT...) is refused with ValueError (the import says so by line before)."""
    docks = {s.dock for s in stations if s.dock}
    cte, params = codes_cte(c, docks)
    found = {
        str(code): (int(i), str(kind))
        for code, i, kind in c.execute(
            text(
                f"WITH {cte} SELECT x.code, x.id, x.kind FROM locations x "
                "JOIN wanted w ON x.code = w.code"
            ),
            params,
        )
    }
    virtual = sorted(d for d in docks if found.get(d, (0, ""))[1] == LocationKind.VIRTUAL.value)
    if virtual:
        raise ValueError(f"a station's dock cannot be a virtual location: {', '.join(virtual)}")
    return bulk_insert(
        c,
        StationRow.__tablename__,
        ("code", "name", "zone", "dock_location_id"),
        ((s.code, s.name, s.zone, found[s.dock][0] if s.dock in found else None) for s in stations),
        progress,
    )


def add_receipts(
    c: Connection, lines: Sequence[ReceiptLineSpec], progress: Progress | None = None
) -> int:
    """Insert receipt lines, and the receipts they belong to that do not exist yet."""
    codes = sorted({ln.receipt for ln in lines})
    existing = ids_of(c, ReceiptRow.__tablename__, "code", codes)
    bulk_insert(
        c,
        ReceiptRow.__tablename__,
        ("code", "status"),
        ((r, "open") for r in codes if r not in existing),
    )
    receipt_ids = ids_of(c, ReceiptRow.__tablename__, "code", codes)
    sku_ids = ids_of(c, SkuRow.__tablename__, "code", (ln.sku for ln in lines))
    return bulk_insert(
        c,
        ReceiptLineRow.__tablename__,
        ("receipt_id", "line", "sku_id", "qty", "lot", "expiry"),
        (
            (receipt_ids[ln.receipt], ln.line, sku_ids[ln.sku], ln.qty, ln.lot, ln.expiry)
            for ln in lines
        ),
        progress,
    )


def add_orders(
    c: Connection, lines: Sequence[OrderLineSpec], progress: Progress | None = None
) -> int:
    """Insert order lines, and the orders they belong to that do not exist yet."""
    codes = sorted({ln.order for ln in lines})
    existing = ids_of(c, OrderRow.__tablename__, "code", codes)
    heads: dict[str, dict[str, Any]] = {o: {"priority": 0, "due_date": None} for o in codes}
    for ln in lines:  # an order's priority and due date, from whichever line gives them
        head = heads[ln.order]
        head["priority"] = ln.priority or head["priority"]
        head["due_date"] = ln.due_date or head["due_date"]
    bulk_insert(
        c,
        OrderRow.__tablename__,
        ("code", "status", "priority", "due_date"),
        (
            (o, "open", heads[o]["priority"], heads[o]["due_date"])
            for o in codes
            if o not in existing
        ),
    )
    order_ids = ids_of(c, OrderRow.__tablename__, "code", codes)
    sku_ids = ids_of(c, SkuRow.__tablename__, "code", (ln.sku for ln in lines))
    return bulk_insert(
        c,
        OrderLineRow.__tablename__,
        ("order_id", "line", "sku_id", "qty"),
        ((order_ids[ln.order], ln.line, sku_ids[ln.sku], ln.qty) for ln in lines),
        progress,
    )


def analyze(c: Connection, tables: Iterable[str] = ()) -> None:
    """Refresh the planner's statistics after a bulk load (of `tables`, or of everything), so
    that queries use their indexes."""
    names = list(tables)
    if not names:
        c.exec_driver_sql("ANALYZE")
    for name in names:
        c.exec_driver_sql(f"ANALYZE {name}")


IMPORTED_TABLES: dict[str, tuple[str, ...]] = {
    "skus": (SkuRow.__tablename__, BarcodeRow.__tablename__),
    "barcodes": (BarcodeRow.__tablename__,),
    "locations": (LocationRow.__tablename__, BinSpaceRow.__tablename__),
    "operators": (OperatorRow.__tablename__,),
    "stations": (StationRow.__tablename__,),
    "receipts": (ReceiptRow.__tablename__, ReceiptLineRow.__tablename__),
    "orders": (OrderRow.__tablename__, OrderLineRow.__tablename__),
}
"""The tables each kind of import writes (to analyze after it)."""
