"""What a station replica reads from the shared database (app/adapters/replica.py writes it).

One refresh is one read transaction with one snapshot (REPEATABLE READ on PostgreSQL, a read
transaction on SQLite), so that everything it copies, and its answer to "which of the station's
own transactions are in the ledger yet", belong to the same moment.

Incremental: the catalogue tables carry a `rev` stamp (migration 0005), and a refresh copies the
rows with `rev >= since`, then hands back the `since` for the next one. On PostgreSQL `rev` is the
writer's transaction id and `since` the oldest transaction still running when this snapshot was
taken (its xmin): anything not visible now commits with an id at or above it. On SQLite, writers
take turns, `rev` is a counter, and `since` is one past its current value. The station's working
set (its dock lane's contents is in `quants`; the receipts' received units; the open reservations
of the pick lists it holds) is small and read whole.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, literal, select, text

from app.domain.model import NO_LOT_ID
from app.domain.orders import PICKABLE

from . import authority, work_items
from .engine import READONLY
from .schema import (
    BarcodeRow,
    CountTaskRow,
    DatabaseIdentityRow,
    HoldRow,
    LocationRow,
    LotRow,
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
    WarehousePolicyRow,
    table,
)

BATCH = 20_000
"""Rows per batch handed to the replica (its write transaction per batch stays short)."""

_S, _B, _L, _O = table(SkuRow), table(BarcodeRow), table(LocationRow), table(OperatorRow)
_ST, _R, _RL, _ORD = table(StationRow), table(ReceiptRow), table(ReceiptLineRow), table(OrderRow)
_CT, _Q, _LOT, _RES = table(CountTaskRow), table(QuantRow), table(LotRow), table(ReservationRow)
_H = table(HoldRow)


def _pickable() -> Any:
    """Open or picking, with a line neither all picked nor closed short (as the pick list shows)."""
    ol = table(OrderLineRow)
    picked = (
        select(func.coalesce(func.sum(_RES.c.qty_posted), 0))
        .where(_RES.c.order_ref == _ORD.c.code, _RES.c.order_line == ol.c.line)
        .correlate_except(_RES)
        .scalar_subquery()
    )
    left = (
        select(ol.c.id)
        .where(ol.c.order_id == _ORD.c.id, ol.c.qty - ol.c.short_closed - picked > 0)
        .exists()
    )
    return and_(_ORD.c.status.in_([s.value for s in PICKABLE]), left)


def _counted_by() -> Any:
    return (
        select(_O.c.badge)
        .where(_O.c.id == _CT.c.counted_by_operator_id)
        .correlate(_CT)
        .scalar_subquery()
    )


# The columns each replicated table is copied with, in the replica's column order.
CATALOGUE: dict[str, tuple[Any, Sequence[Any], Any]] = {
    "skus": (
        _S,
        (
            _S.c.id,
            _S.c.code,
            _S.c.name,
            _S.c.tracking,
            _S.c.unit_volume_cm3,
            _S.c.unit_weight_g,
            _S.c.active,
            _S.c.min_shelf_days,
        ),
        None,
    ),
    "barcodes": (_B, (_B.c.id, _B.c.code, _B.c.sku_id, _B.c.kind, _B.c.pack_qty), None),
    "locations": (
        _L,
        (
            _L.c.id,
            _L.c.code,
            _L.c.kind,
            _L.c.zone,
            _L.c.pick_sequence,
            _L.c.max_units,
            _L.c.max_volume_cm3,
            _L.c.max_weight_g,
            _L.c.active,
        ),
        None,
    ),
    "operators": (
        _O,
        (_O.c.id, _O.c.badge, _O.c.name, _O.c.role, _O.c.active),
        None,
    ),
    "stations": (_ST, (_ST.c.id, _ST.c.code, _ST.c.zone, _ST.c.dock_location_id), None),
    "receipts": (_R, (_R.c.id, _R.c.code, _R.c.status), None),
    "receipt_lines": (
        _RL,
        (_RL.c.id, _RL.c.receipt_id, _RL.c.line, _RL.c.sku_id, _RL.c.qty, _RL.c.lot, _RL.c.expiry),
        None,
    ),
    "orders": (
        _ORD,
        (
            _ORD.c.id,
            _ORD.c.code,
            _ORD.c.status,
            _ORD.c.priority,
            _ORD.c.due_date,
            _ORD.c.status_at,
            _ORD.c.claim_station_id,
            _ORD.c.claim_operator_id,
            _ORD.c.claimed_at,
            _ORD.c.claim_active_at,
            _pickable().label("pickable"),
        ),
        None,
    ),
    "count_tasks": (
        _CT,
        (
            _CT.c.id,
            _CT.c.location_id,
            _CT.c.state,
            _CT.c.reason,
            _counted_by().label("counted_by"),
            _CT.c.counts,
            _CT.c.snapshot,
            _CT.c.counters,
            _CT.c.assigned_to,
            _CT.c.zone,
            _CT.c.planned_for,
            _CT.c.origin,
        ),
        None,
    ),
    "holds": (
        _H,
        (
            _H.c.id,
            _H.c.location_id,
            _H.c.lot_id,
            select(_LOT.c.code).where(_LOT.c.id == _H.c.lot_id).scalar_subquery(),
            select(_S.c.code)
            .select_from(_LOT.join(_S, _S.c.id == _LOT.c.sku_id))
            .where(_LOT.c.id == _H.c.lot_id)
            .scalar_subquery(),
            _H.c.reason,
            _H.c.released_at.is_(None),
        ),
        None,
    ),
    "quants": (
        _Q,
        (_Q.c.id, _Q.c.location_id, _Q.c.sku_id, _Q.c.lot_id, _Q.c.on_hand, _Q.c.reserved),
        _Q.c.is_virtual.is_(False),
    ),
}


_PG_SINCE = text(
    """
    WITH snap AS (SELECT txid_current_snapshot() AS s),
    elsewhere AS (
        SELECT backend_xid::text::bigint AS xid FROM pg_stat_activity
        WHERE backend_xid IS NOT NULL AND datname IS DISTINCT FROM current_database()
    )
    SELECT coalesce(min(x), (SELECT txid_snapshot_xmax(s) FROM snap))
    FROM snap, txid_snapshot_xip(snap.s) AS x
    WHERE x % 4294967296 NOT IN (SELECT xid FROM elsewhere)
    """
)
"""Where the next refresh starts on PostgreSQL: the oldest transaction still running when this
snapshot was taken (transaction ids are the server's, not the database's), leaving out those
known to write in other databases of the same server, which stamp no row here: a long import
next door must not make every refresh copy again what changed since it began. A transaction
that ends between the snapshot and the look at pg_stat_activity is not seen as elsewhere, so it
is kept (the safe side: its rows are copied again next time)."""


@dataclass
class Snapshot:
    """One refresh's reads: call `rows(name)` for each catalogue table, then the working set."""

    connection: Connection
    since: int
    next_since: int
    database_id: str
    pg: bool

    def rows(self, name: str) -> Iterator[list[tuple[Any, ...]]]:
        """Batches of the table's rows changed since the last refresh, page by page on the
        primary key (plain reads in this snapshot: no server-side cursor is left behind when
        the link is cut in the middle of a copy)."""
        t, columns, where = CATALOGUE[name]
        after: Any = None
        while True:
            stmt = select(*columns).where(t.c.rev >= self.since)
            if where is not None:
                stmt = stmt.where(where)
            if after is not None:
                stmt = stmt.where(t.c.id > after)
            page = [tuple(r) for r in self.connection.execute(stmt.order_by(t.c.id).limit(BATCH))]
            if page:
                yield page
            if len(page) < BATCH:
                return
            after = page[-1][0]  # every table's first column is its id

    def lots(self, ids: Sequence[int]) -> list[tuple[Any, ...]]:
        out: list[tuple[Any, ...]] = []
        ids = [i for i in ids if i != NO_LOT_ID]
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            out += [
                tuple(r)
                for r in self.connection.execute(
                    select(_LOT.c.id, _LOT.c.sku_id, _LOT.c.code, _LOT.c.expiry).where(
                        _LOT.c.id.in_(chunk)
                    )
                )
            ]
        return out

    def received(self) -> list[tuple[str, str, int]]:
        """(receipt, sku, units received) for every open receipt, in one grouped query."""
        open_codes = select(_R.c.code).where(_R.c.status == "open")
        stmt = work_items.received(lambda reference: reference.in_(open_codes))
        return [(str(r), str(sku), int(qty)) for r, sku, qty in self.connection.execute(stmt)]

    def policy(self) -> list[tuple[str, int]]:
        """The warehouse policy keys changed since the last refresh."""
        p = table(WarehousePolicyRow)
        rows = self.connection.execute(select(p.c.key, p.c.value).where(p.c.rev >= self.since))
        return [(str(k), int(v)) for k, v in rows]

    def pins(self) -> list[authority.Verifier]:
        """Supervisors' offline PIN verifiers and lockouts changed since the last refresh (on
        PostgreSQL through the one function the stations' role may call for them)."""
        return authority.offline_verifiers(self.connection, self.since)

    def picks(self, station: str) -> list[tuple[Any, ...]]:
        """Open reservations of the orders whose pick list this station holds."""
        stmt = (
            select(
                _RES.c.id,
                _RES.c.order_ref,
                _RES.c.order_line,
                _S.c.code,
                _RES.c.lot_id,
                _LOT.c.code,
                _L.c.code,
                _L.c.pick_sequence,
                _RES.c.qty,
            )
            .select_from(
                _RES.join(_ORD, _ORD.c.code == _RES.c.order_ref)
                .join(_ST, _ST.c.id == _ORD.c.claim_station_id)
                .join(_S, _S.c.id == _RES.c.sku_id)
                .join(_LOT, _LOT.c.id == _RES.c.lot_id)
                .join(_L, _L.c.id == _RES.c.location_id)
            )
            .where(_ST.c.code == station, _RES.c.state == "open")
        )
        return [tuple(r) for r in self.connection.execute(stmt)]

    def applied(self, tx_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        """Which of these transactions the ledger has (confirmed or refused) in this snapshot."""
        t = table(TransactionRow)
        found: set[uuid.UUID] = set()
        ids = list(tx_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            found |= {
                r[0] for r in self.connection.execute(select(t.c.id).where(t.c.id.in_(chunk)))
            }
        return found


@dataclass
class Source:
    """The shared database as a replica's source."""

    engine: Engine
    _pg: bool = field(init=False)

    def __post_init__(self) -> None:
        self._pg = self.engine.dialect.name == "postgresql"

    def database_id(self) -> str:
        with self.engine.connect() as c:
            c.execution_options(**{READONLY: True})
            with c.begin():
                return read_database_id(c)

    def snapshot(self, since: int) -> Iterator[Snapshot]:
        """Yields one Snapshot inside its read transaction (a generator used as a context)."""
        with self.engine.connect() as c:
            if self._pg:
                c = c.execution_options(isolation_level="REPEATABLE READ")
            else:
                c.execution_options(**{READONLY: True})
            with c.begin():
                if self._pg:
                    next_since = int(c.execute(_PG_SINCE).scalar_one())
                else:
                    clock = c.execute(text("SELECT value FROM replica_clock WHERE id = 1"))
                    next_since = int(clock.scalar_one()) + 1
                yield Snapshot(c, since, next_since, read_database_id(c), self._pg)


def read_database_id(c: Connection) -> str:
    t = table(DatabaseIdentityRow)
    found = c.execute(select(t.c.database_id).where(t.c.id == literal(1))).scalar()
    if found is None:
        raise LookupError("the database has no id: run `perpetua db upgrade`")
    return str(found)
