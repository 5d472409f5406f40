"""The ledger store: the reads and writes of one database transaction, in SQLAlchemy Core.

Balance rows are locked one key at a time in sorted key order (creating a missing row first), so
that two transactions touching the same rows always queue in the same order and never deadlock.
SQLite serialises writers with BEGIN IMMEDIATE, where the row locks compile to nothing.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    exc,
    exists,
    func,
    insert,
    literal,
    select,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from app.domain.cycle_counts import PlanInputs, PlannedCount, SkuClass, SkuUsage
from app.domain.errors import Reason, Rejection
from app.domain.exceptions import ExceptionKind, ExceptionState
from app.domain.ledger import Candidate, InvariantReport, Outcome, Status
from app.domain.model import (
    NO_LOT_ID,
    Location,
    LocationKind,
    Lot,
    Move,
    Operator,
    Quant,
    QuantKey,
    Reservation,
    ReservationState,
    Role,
    Sku,
    Station,
    Tracking,
)
from app.domain.orders import LineRecord, OrderHead, OrderState, Person, Staged
from app.domain.policy import WarehousePolicy
from app.domain.ports import (
    CountTaskRecord,
    ExceptionRecord,
    ExpectedLot,
    HoldRecord,
    NewException,
    ReceiptFigure,
    ReceiptHead,
    SavedCount,
    SerialState,
    StoredTransaction,
    TransactionRecord,
    TransientDatabaseError,
)
from app.domain.quantities import balance_in_range, beyond_range
from app.domain.rules import PinCheck
from app.domain.stow import Content, Need, Space

from . import authority, count_planning, holds, orders, space, work_items
from . import exceptions as exception_book
from .errors import as_refusal
from .schema import (
    HoldRow,
    LocationRow,
    LotRow,
    MoveRow,
    OperatorRow,
    QuantRow,
    ReceiptLineRow,
    ReservationRow,
    SerialRow,
    SkuRow,
    StationRow,
    TransactionRow,
    table,
)

Q = table(QuantRow)
BATCH_LOCK_THRESHOLD = 8


def sku_from_row(r: Any) -> Sku:
    return Sku(
        r.id,
        r.code,
        r.name,
        r.unit_volume_cm3,
        r.unit_weight_g,
        Tracking(r.tracking),
        r.lookalike_group,
        r.reorder_point,
        r.lead_time_days,
        r.active,
        r.velocity_class,
        r.min_shelf_days,
    )


def location_from_row(r: Any, location_id: int | None = None) -> Location:
    """A Location from a row of `locations` (or a join, naming the id column's value)."""
    return Location(
        r.id if location_id is None else location_id,
        r.code,
        LocationKind(r.kind),
        r.zone,
        r.aisle,
        r.bay,
        r.level,
        r.pick_sequence,
        r.max_units,
        r.max_volume_cm3,
        r.max_weight_g,
        r.active,
    )


def _quant(r: Any) -> Quant:
    return Quant(QuantKey(r.location_id, r.sku_id, r.lot_id), r.on_hand, r.reserved)


def _reservation(r: Any) -> Reservation:
    return Reservation(
        r.id,
        r.order_ref,
        r.order_line,
        QuantKey(r.location_id, r.sku_id, r.lot_id),
        r.qty,
        ReservationState(r.state),
        r.expires_at,
        r.qty_posted,
        r.resolved_tx_id,
    )


def advisory_key(tx_id: uuid.UUID) -> int:
    """A signed 64-bit key for pg_advisory_xact_lock from a transaction id."""
    return int.from_bytes(tx_id.bytes[:8], "big", signed=True)


class SqlLedgerStore:
    def __init__(self, connection: Connection, virtual_location_ids: frozenset[int]) -> None:
        self._c = connection
        self._virtual = virtual_location_ids
        self._pg = connection.dialect.name == "postgresql"
        self._policy: WarehousePolicy | None = None
        self._balances: dict[QuantKey, tuple[int, int]] = {}
        """(on hand, reserved) of the balances this transaction locked, kept up to date by its
        writes: a move is checked against the database's range before anything is written."""

    # --- transactions -----------------------------------------------------------------------

    def claim_tx_id(self, tx_id: uuid.UUID) -> None:
        if self._pg:
            self._c.execute(select(func.pg_advisory_xact_lock(advisory_key(tx_id))))

    def stored_transaction(self, tx_id: uuid.UUID) -> StoredTransaction | None:
        t = table(TransactionRow)
        r = self._c.execute(select(t).where(t.c.id == tx_id)).first()
        if r is None:
            return None
        outcome = Outcome(r.id, r.kind, Status(r.status), r.message, r.reason, dict(r.result or {}))
        return StoredTransaction(r.payload_hash, outcome)

    def record_transaction(self, record: TransactionRecord) -> None:
        self._c.execute(
            insert(table(TransactionRow)).values(
                id=record.tx_id,
                kind=record.kind,
                station_id=record.station_id,
                operator_id=record.operator_id,
                station_time=record.station_time,
                payload_hash=record.payload_hash,
                payload=dict(record.payload),
                status=record.status,
                reason=record.reason,
                message=record.message,
                result=dict(record.result),
                reference=record.reference,
            )
        )

    def savepoint(self) -> AbstractContextManager[object]:
        return self._savepoint()

    @contextmanager
    def _savepoint(self) -> Any:
        """Undo what the block wrote if it raises. An error the database raised for good (a
        broken rule, a number out of range) leaves as a Rejection, so the transaction records
        its refusal instead of failing: the station's queue moves on (errors.py)."""
        try:
            with self._c.begin_nested() as nested:
                try:
                    yield nested
                except BaseException:
                    self._balances.clear()  # they are rolled back with the rest
                    raise
        except (exc.DBAPIError, OverflowError) as error:
            refused = as_refusal(error)
            if refused is None:
                raise
            raise refused from error

    # --- catalogue --------------------------------------------------------------------------

    def sku(self, code: str) -> Sku | None:
        t = table(SkuRow)
        r = self._c.execute(select(t).where(t.c.code == code)).first()
        return sku_from_row(r) if r else None

    def sku_by_id(self, sku_id: int) -> Sku:
        t = table(SkuRow)
        return sku_from_row(self._c.execute(select(t).where(t.c.id == sku_id)).one())

    def skus_by_code(self, codes: Iterable[str]) -> dict[str, Sku]:
        t = table(SkuRow)
        return {r.code: sku_from_row(r) for r in self._in_chunks(t, t.c.code, codes)}

    def locations_by_code(self, codes: Iterable[str]) -> dict[str, Location]:
        t = table(LocationRow)
        return {r.code: location_from_row(r) for r in self._in_chunks(t, t.c.code, codes)}

    def lots_by_code(self, keys: Iterable[tuple[int, str]]) -> dict[tuple[int, str], Lot]:
        t = table(LotRow)
        wanted = set(keys)
        rows = self._in_chunks(t, t.c.code, {code for _, code in wanted})
        return {
            (r.sku_id, r.code): Lot(r.id, r.sku_id, r.code, r.expiry)
            for r in rows
            if (r.sku_id, r.code) in wanted
        }

    def _in_chunks(self, t: Any, column: Any, values: Iterable[Any]) -> list[Any]:
        ordered = sorted(set(values))
        rows: list[Any] = []
        for start in range(0, len(ordered), 900):
            rows += self._c.execute(select(t).where(column.in_(ordered[start : start + 900]))).all()
        return rows

    def location(self, code: str) -> Location | None:
        t = table(LocationRow)
        r = self._c.execute(select(t).where(t.c.code == code)).first()
        return location_from_row(r) if r else None

    def locations_by_id(self, ids: Iterable[int]) -> dict[int, Location]:
        t = table(LocationRow)
        rows = self._c.execute(select(t).where(t.c.id.in_(set(ids))))
        return {r.id: location_from_row(r) for r in rows}

    def operator(self, badge: str) -> Operator | None:
        t = table(OperatorRow)
        r = self._c.execute(select(t).where(t.c.badge == badge)).first()
        return Operator(r.id, r.badge, r.name, Role(r.role), r.active) if r else None

    def station(self, code: str) -> Station | None:
        t = table(StationRow)
        r = self._c.execute(select(t).where(t.c.code == code)).first()
        return Station(r.id, r.code, r.name, r.zone) if r else None

    def lot(self, sku_id: int, code: str) -> Lot | None:
        t = table(LotRow)
        r = self._c.execute(select(t).where(t.c.sku_id == sku_id, t.c.code == code)).first()
        return Lot(r.id, r.sku_id, r.code, r.expiry) if r else None

    def lots_by_id(self, ids: Iterable[int]) -> dict[int, Lot]:
        t = table(LotRow)
        rows = self._c.execute(select(t).where(t.c.id.in_(set(ids)), t.c.id != NO_LOT_ID))
        return {r.id: Lot(r.id, r.sku_id, r.code, r.expiry) for r in rows}

    def add_lot(self, sku_id: int, code: str, expiry: date | None) -> Lot:
        """A new lot. Two docks receiving the same new lot at once both get it: the second
        insert waits for the first transaction and does nothing, and this one reads the lot
        the other made. Should that lot say something else (another expiry), the transaction
        runs again (TransientDatabaseError), so the caller's checks see the lot as it is."""
        t = table(LotRow)
        stmt = self._upsert_ignoring(t, ["sku_id", "code"]).values(
            sku_id=sku_id, code=code, expiry=expiry
        )
        lot_id = self._c.execute(stmt.returning(t.c.id)).scalar()
        if lot_id is not None:
            return Lot(lot_id, sku_id, code, expiry)
        found = self.lot(sku_id, code)
        if found is None or (expiry is not None and found.expiry != expiry):
            raise TransientDatabaseError(f"lot {code} was made at the same time by another dock")
        return found

    def _upsert_ignoring(self, t: Any, keys: list[str]) -> Any:
        """INSERT ... ON CONFLICT (keys) DO NOTHING, on either database."""
        dialect = postgresql if self._pg else sqlite
        return dialect.insert(t).on_conflict_do_nothing(index_elements=[t.c[k] for k in keys])

    def set_lot_expiry(self, lot_id: int, expiry: date) -> Lot:
        t = table(LotRow)
        self._c.execute(update(t).where(t.c.id == lot_id).values(expiry=expiry))
        r = self._c.execute(select(t).where(t.c.id == lot_id)).one()
        return Lot(r.id, r.sku_id, r.code, r.expiry)

    def serials(self, sku_id: int, codes: Sequence[str]) -> dict[str, SerialState]:
        t = table(SerialRow)
        rows = self._c.execute(select(t).where(t.c.sku_id == sku_id, t.c.code.in_(codes)))
        return {r.code: SerialState(r.id, r.code, r.location_id) for r in rows}

    def add_serials(self, sku_id: int, lot_id: int, codes: Sequence[str]) -> dict[str, SerialState]:
        """New serials. One that another transaction made meanwhile (a receipt and a return of
        the same new serial at once) makes this transaction run again, so that the caller's
        checks see it where it is now, instead of failing on the unique constraint."""
        t = table(SerialRow)
        if codes:
            # RETURNING counts the rows made (a batched insert's rowcount is -1 on psycopg).
            made = self._c.execute(
                self._upsert_ignoring(t, ["sku_id", "code"]).returning(t.c.id),
                [{"sku_id": sku_id, "code": c, "lot_id": lot_id} for c in codes],
            ).all()
            if len(made) != len(codes):
                raise TransientDatabaseError("a serial was made at the same time elsewhere")
        return self.serials(sku_id, codes)

    def place_serials(self, serial_ids: Sequence[int], location_id: int | None) -> None:
        t = table(SerialRow)
        if serial_ids:
            self._c.execute(update(t).where(t.c.id.in_(serial_ids)).values(location_id=location_id))

    # --- balances ---------------------------------------------------------------------------

    def _insert(self) -> Any:
        return (postgresql.insert(Q) if self._pg else sqlite.insert(Q)).on_conflict_do_nothing(
            index_elements=[Q.c.location_id, Q.c.sku_id, Q.c.lot_id]
        )

    def _new_row(self, key: QuantKey) -> dict[str, Any]:
        return {
            "location_id": key.location_id,
            "sku_id": key.sku_id,
            "lot_id": key.lot_id,
            "on_hand": 0,
            "reserved": 0,
            "is_virtual": key.location_id in self._virtual,
        }

    def lock_quants(self, keys: Iterable[QuantKey]) -> dict[QuantKey, Quant]:
        ordered = sorted(set(keys))
        if len(ordered) > BATCH_LOCK_THRESHOLD:
            return self._remember(self._lock_many(ordered))
        locked: dict[QuantKey, Quant] = {}
        for key in ordered:
            where = and_(
                Q.c.location_id == key.location_id,
                Q.c.sku_id == key.sku_id,
                Q.c.lot_id == key.lot_id,
            )
            row = self._c.execute(select(Q).where(where).with_for_update()).first()
            if row is None:
                self._c.execute(self._insert().values(**self._new_row(key)))
                row = self._c.execute(select(Q).where(where).with_for_update()).one()
            locked[key] = _quant(row)
        return self._remember(locked)

    def _remember(self, locked: dict[QuantKey, Quant]) -> dict[QuantKey, Quant]:
        self._balances.update((k, (q.on_hand, q.reserved)) for k, q in locked.items())
        return locked

    def _lock_many(self, ordered: list[QuantKey]) -> dict[QuantKey, Quant]:
        # Missing rows are inserted in key order, then all rows are locked in key order. A brand
        # new row can still meet a deadlock here; PostgreSQL reports it as 40P01 and it is retried.
        self._c.execute(self._insert(), [self._new_row(k) for k in ordered])
        locked: dict[QuantKey, Quant] = {}
        cols = tuple_(Q.c.location_id, Q.c.sku_id, Q.c.lot_id)
        for start in range(0, len(ordered), 500):
            chunk = ordered[start : start + 500]
            stmt = (
                select(Q)
                .where(cols.in_([(k.location_id, k.sku_id, k.lot_id) for k in chunk]))
                .order_by(Q.c.location_id, Q.c.sku_id, Q.c.lot_id)
                .with_for_update()
            )
            for row in self._c.execute(stmt):
                locked[QuantKey(row.location_id, row.sku_id, row.lot_id)] = _quant(row)
        return locked

    def write_moves(
        self, tx_id: uuid.UUID, moves: Sequence[Move], reserved: Mapping[QuantKey, int]
    ) -> None:
        """Write the moves and their balances. A move that would take a balance beyond what the
        database keeps is refused (Rejection) before anything is written."""
        deltas: dict[QuantKey, list[int]] = defaultdict(lambda: [0, 0])
        for m in moves:
            deltas[QuantKey(m.from_location_id, m.sku_id, m.lot_id)][0] -= m.qty
            deltas[QuantKey(m.to_location_id, m.sku_id, m.lot_id)][0] += m.qty
        for key, r in reserved.items():
            deltas[key][1] += r
        after = self._balances_after(deltas)
        space.apply_moves(self._c, moves)
        if moves:
            self._c.execute(
                insert(table(MoveRow)),
                [
                    {
                        "tx_id": tx_id,
                        "sku_id": m.sku_id,
                        "lot_id": m.lot_id,
                        "serial_id": m.serial_id,
                        "from_location_id": m.from_location_id,
                        "to_location_id": m.to_location_id,
                        "qty": m.qty,
                        "reason": m.reason,
                        "order_line_id": m.order_line_id,
                    }
                    for m in moves
                ],
            )
        params = [
            {"l": k.location_id, "s": k.sku_id, "t": k.lot_id, "d": d, "r": r}
            for k, (d, r) in sorted(deltas.items())
            if d or r
        ]
        if params:
            stmt = (
                update(Q)
                .where(
                    Q.c.location_id == bindparam("l"),
                    Q.c.sku_id == bindparam("s"),
                    Q.c.lot_id == bindparam("t"),
                )
                .values(
                    on_hand=Q.c.on_hand + bindparam("d"), reserved=Q.c.reserved + bindparam("r")
                )
            )
            self._c.execute(stmt, params)
        self._balances.update(after)

    def _balances_after(
        self, deltas: Mapping[QuantKey, Sequence[int]]
    ) -> dict[QuantKey, tuple[int, int]]:
        """The balances once `deltas` are applied; a Rejection if one leaves the range the
        database keeps (checked here rather than left to PostgreSQL's overflow error, so that
        both databases refuse the same moves with a sentence that names the balance)."""
        unknown = sorted(k for k in deltas if k not in self._balances)
        if unknown:  # not locked by this transaction (never so in the ledger's own handlers)
            self._balances.update((k, (0, 0)) for k in unknown)
            self._balances.update((q.key, (q.on_hand, q.reserved)) for q in self._read(unknown))
        after: dict[QuantKey, tuple[int, int]] = {}
        # Real locations first: "DOCK-1 would then hold..." says more than VENDOR's total.
        for key in sorted(deltas, key=lambda k: (k.location_id in self._virtual, k)):
            d, r = deltas[key]
            on_hand, held = self._balances[key]
            after[key] = (on_hand + d, held + r)
            for balance in after[key]:
                if not balance_in_range(balance, key.location_id in self._virtual):
                    raise Rejection(Reason.BAD_QUANTITY, self._beyond(key, balance))
        return after

    def _read(self, keys: Sequence[QuantKey]) -> list[Quant]:
        cols = tuple_(Q.c.location_id, Q.c.sku_id, Q.c.lot_id)
        wanted = [(k.location_id, k.sku_id, k.lot_id) for k in keys]
        return [_quant(r) for r in self._c.execute(select(Q).where(cols.in_(wanted)))]

    def _beyond(self, key: QuantKey, balance: int) -> str:
        loc, sku, lot = table(LocationRow), table(SkuRow), table(LotRow)
        r = self._c.execute(
            select(loc.c.code, sku.c.code.label("sku"), lot.c.code.label("lot"))
            .select_from(loc.join(sku, sku.c.id == key.sku_id).join(lot, lot.c.id == key.lot_id))
            .where(loc.c.id == key.location_id)
        ).one()
        item = f"{r.sku} lot {r.lot}" if r.lot else r.sku
        return beyond_range(r.code, key.location_id in self._virtual, item, balance)

    def quants_at(self, location_id: int, sku_id: int) -> list[Quant]:
        rows = self._c.execute(
            select(Q).where(Q.c.location_id == location_id, Q.c.sku_id == sku_id)
        )
        return [_quant(r) for r in rows]

    def pick_candidates(
        self,
        sku_id: int,
        lot_id: int | None,
        location_id: int | None,
        limit: int,
        *,
        expiring_from: date,
    ) -> list[Candidate]:
        loc, lot, h = table(LocationRow), table(LotRow), table(HoldRow)
        # Two lookups, each on its one-active-hold index (an OR of both would scan the holds).
        active = h.c.released_at.is_(None)
        held_location = exists().where(h.c.location_id == Q.c.location_id, active)
        held_lot = exists().where(h.c.lot_id == Q.c.lot_id, active)
        stmt = (
            select(Q, loc, lot.c.code.label("lot_code"), lot.c.expiry)
            .join(loc, loc.c.id == Q.c.location_id)
            .join(lot, lot.c.id == Q.c.lot_id)
            .where(
                Q.c.sku_id == sku_id,
                Q.c.on_hand - Q.c.reserved > 0,
                loc.c.kind == LocationKind.BIN.value,
                loc.c.active.is_(True),
                lot.c.expiry.is_(None) | (lot.c.expiry >= expiring_from),
                ~held_location,
                ~held_lot,
            )
            .order_by(
                lot.c.expiry.is_(None), lot.c.expiry, loc.c.pick_sequence, loc.c.code, lot.c.code
            )
            .limit(limit)
        )
        if lot_id is not None:
            stmt = stmt.where(Q.c.lot_id == lot_id)
        if location_id is not None:
            stmt = stmt.where(Q.c.location_id == location_id)
        out = []
        for r in self._c.execute(stmt):
            location = location_from_row(r, r.location_id)
            out.append(Candidate(_quant(r), location, r.lot_code or None, r.expiry))
        return out

    # --- reservations -----------------------------------------------------------------------

    def add_reservation(
        self,
        tx_id: uuid.UUID,
        order_ref: str,
        order_line: int,
        key: QuantKey,
        qty: int,
        expires_at: datetime | None,
    ) -> int:
        t = table(ReservationRow)
        return int(
            self._c.execute(
                insert(t)
                .values(
                    tx_id=tx_id,
                    order_ref=order_ref,
                    order_line=order_line,
                    location_id=key.location_id,
                    sku_id=key.sku_id,
                    lot_id=key.lot_id,
                    qty=qty,
                    state=ReservationState.OPEN.value,
                    expires_at=expires_at,
                )
                .returning(t.c.id)
            ).scalar_one()
        )

    def lock_reservation(self, reservation_id: int) -> Reservation | None:
        t = table(ReservationRow)
        r = self._c.execute(select(t).where(t.c.id == reservation_id).with_for_update()).first()
        return _reservation(r) if r else None

    def lock_expired_reservations(self, now: datetime | None) -> list[Reservation]:
        t = table(ReservationRow)
        cutoff: Any = func.now() if now is None else literal(now, t.c.expires_at.type)
        stmt = (
            select(t)
            .where(t.c.state == ReservationState.OPEN.value, t.c.expires_at <= cutoff)
            .order_by(t.c.id)
            .with_for_update()
        )
        return [_reservation(r) for r in self._c.execute(stmt)]

    def resolve_reservation(
        self, reservation_id: int, state: ReservationState, qty_posted: int, tx_id: uuid.UUID
    ) -> None:
        t = table(ReservationRow)
        self._c.execute(
            update(t)
            .where(t.c.id == reservation_id, t.c.state == ReservationState.OPEN.value)
            .values(state=state.value, qty_posted=qty_posted, resolved_tx_id=tx_id)
        )

    # --- orders (see orders.py) --------------------------------------------------------------

    def lock_order(self, code: str) -> OrderHead | None:
        return orders.lock_order(self._c, code)

    def lock_order_lines(self, order: OrderHead) -> list[LineRecord]:
        return orders.lock_lines(self._c, order)

    def set_order_state(
        self,
        order: OrderHead,
        state: OrderState,
        now: datetime,
        claim: tuple[int, int] | bool | None = False,
    ) -> None:
        orders.set_state(self._c, order, state, now, claim)

    def touch_claim(self, order: OrderHead) -> None:
        orders.touch_claim(self._c, order.id)

    def add_order_event(
        self,
        order: OrderHead,
        event: str,
        state: OrderState,
        tx_id: uuid.UUID,
        station_id: int,
        operator_id: int,
        approved_by_id: int | None = None,
        note: str = "",
    ) -> None:
        orders.add_event(
            self._c, order.id, event, state, tx_id, station_id, operator_id, approved_by_id, note
        )

    def set_short_closed(self, line_id: int, qty: int) -> None:
        orders.set_short_closed(self._c, line_id, qty)

    def open_reservation_ids(self, order_code: str) -> list[int]:
        return orders.open_reservation_ids(self._c, order_code)

    def staged(self, lines: Sequence[LineRecord]) -> list[Staged]:
        return orders.staged(self._c, lines)

    def staged_orders_at(self, location_id: int) -> list[str]:
        return orders.staged_orders_at(self._c, location_id)

    def order_line_ids(self, order_code: str) -> dict[int, int]:
        return orders.line_ids(self._c, order_code)

    def line_totals(self, line_ids: Sequence[int], reason: str) -> dict[int, int]:
        return orders.shipped_by_line(self._c, line_ids, reason)

    def reservation(self, reservation_id: int) -> Reservation | None:
        t = table(ReservationRow)
        r = self._c.execute(select(t).where(t.c.id == reservation_id)).first()
        return _reservation(r) if r else None

    def done_by(self, tx_id: uuid.UUID) -> tuple[Person, datetime] | None:
        """Who applied a transaction, where and when (database clock)."""
        t, o, s = table(TransactionRow), table(OperatorRow), table(StationRow)
        r = self._c.execute(
            select(o.c.badge, o.c.name, s.c.code, t.c.db_time)
            .select_from(t.join(o, o.c.id == t.c.operator_id).join(s, s.c.id == t.c.station_id))
            .where(t.c.id == tx_id)
        ).first()
        return (Person(r.badge, r.name, r.code), r.db_time) if r else None

    # --- audit ------------------------------------------------------------------------------

    def invariant_report(self) -> InvariantReport:
        return invariant_report(self._c)

    # --- bin capacity -------------------------------------------------------------------------

    def lock_spaces(self, location_ids: Iterable[int]) -> dict[int, Space]:
        return space.lock_spaces(self._c, location_ids)

    def take_holds(self, station_id: int, location_id: int, sku_id: int) -> int:
        return space.take_holds(self._c, station_id, location_id, sku_id)

    def release_expired_holds(self, now: datetime | None) -> int:
        return space.release_expired_holds(self._c, now)

    def try_hold(
        self,
        location_id: int,
        need: Need,
        sku_id: int,
        lot_id: int,
        station_id: int | None,
        expires_at: datetime,
    ) -> bool:
        return space.try_hold(self._c, location_id, need, sku_id, lot_id, station_id, expires_at)

    def contents(self, location_ids: Sequence[int]) -> dict[int, list[Content]]:
        return space.contents(self._c, location_ids)

    def sku_zone_units(self, sku_id: int) -> dict[str, int]:
        return space.sku_zone_units(self._c, sku_id)

    def sample_bins(
        self, need: Need, *, zone: str | None, order: str, start: int, limit: int
    ) -> list[Space]:
        return space.sample(self._c, need, zone=zone, order=order, start=start, limit=limit)

    def roomiest_bins(self, need: Need, *, zone: str | None, limit: int) -> list[Space]:
        return space.roomiest(self._c, need, zone=zone, limit=limit)

    def picked_units(self, since: datetime) -> dict[int, int]:
        m, t = table(MoveRow), table(TransactionRow)
        rows = self._c.execute(
            select(m.c.sku_id, func.sum(m.c.qty))
            .join(t, t.c.id == m.c.tx_id)
            .where(m.c.reason == "pick", t.c.db_time >= since)
            .group_by(m.c.sku_id)
        )
        return {sku_id: int(units) for sku_id, units in rows}

    def set_velocity_classes(self, classes: Mapping[int, str]) -> None:
        s = table(SkuRow)
        self._c.execute(update(s).where(s.c.velocity_class != "C").values(velocity_class="C"))
        fast = [{"i": i, "c": c} for i, c in classes.items() if c != "C"]
        if fast:
            self._c.execute(
                update(s).where(s.c.id == bindparam("i")).values(velocity_class=bindparam("c")),
                fast,
            )

    # --- receipts and count tasks (see work_items.py) -------------------------------------------

    def lock_receipt(self, code: str) -> ReceiptHead | None:
        return work_items.lock_receipt(self._c, code)

    def receipt_figures(self, head: ReceiptHead) -> list[ReceiptFigure]:
        return work_items.receipt_figures(self._c, head)

    def receipt_lots(self, head: ReceiptHead, sku_id: int) -> list[ExpectedLot]:
        rl = table(ReceiptLineRow)
        rows = self._c.execute(
            select(rl.c.lot, rl.c.expiry)
            .where(rl.c.receipt_id == head.id, rl.c.sku_id == sku_id)
            .order_by(rl.c.line)
        )
        return [ExpectedLot(r.lot or None, r.expiry) for r in rows]

    # --- holds (see holds.py) -------------------------------------------------------------------

    def active_holds(self, location_ids: Iterable[int], lot_ids: Iterable[int]) -> list[HoldRecord]:
        return holds.active_holds(self._c, location_ids, lot_ids)

    def lock_active_hold(self, location_id: int | None, lot_id: int | None) -> HoldRecord | None:
        return holds.lock_active_hold(self._c, location_id, lot_id)

    def add_hold(
        self,
        location_id: int | None,
        lot_id: int | None,
        reason: str,
        placed_by_id: int,
        tx_id: uuid.UUID,
    ) -> HoldRecord | None:
        return holds.add_hold(self._c, location_id, lot_id, reason, placed_by_id, tx_id)

    def release_hold(
        self, hold_id: int, released_by_id: int, tx_id: uuid.UUID, reason: str
    ) -> None:
        holds.release_hold(self._c, hold_id, released_by_id, tx_id, reason)

    def close_receipt(
        self,
        head: ReceiptHead,
        tx_id: uuid.UUID,
        closed_by_id: int,
        approved_by_id: int | None,
        discrepancies: Sequence[ReceiptFigure],
    ) -> None:
        work_items.close_receipt(self._c, head, tx_id, closed_by_id, approved_by_id, discrepancies)

    def lock_count_task(self, location_id: int) -> CountTaskRecord | None:
        return work_items.lock_count_task(self._c, location_id)

    def insert_count_task(self, location_id: int, **values: Any) -> int:
        return work_items.insert_count_task(self._c, location_id, **values)

    def update_count_task(self, task_id: int, **values: Any) -> None:
        work_items.update_count_task(self._c, task_id, **values)

    # --- the exceptions list (see exceptions.py) ------------------------------------------------

    def raise_exception(self, new: NewException) -> int | None:
        return exception_book.raise_exception(self._c, new)

    def resolve_exceptions(
        self, kinds: Iterable[ExceptionKind], ref: str, tx_id: uuid.UUID, by_id: int
    ) -> int:
        return exception_book.resolve_exceptions(self._c, kinds, ref, tx_id, by_id)

    def exception(self, exception_id: int, lock: bool = False) -> ExceptionRecord | None:
        return exception_book.exception(self._c, exception_id, lock)

    def decide_exception(
        self,
        exception_id: int,
        state: ExceptionState,
        tx_id: uuid.UUID,
        by_id: int,
        reason: str,
    ) -> None:
        exception_book.decide_exception(self._c, exception_id, state, tx_id, by_id, reason)

    def saved_count(self, task_id: int) -> SavedCount | None:
        return exception_book.saved_count(self._c, task_id)

    # --- policy and PINs ------------------------------------------------------------------------

    # --- cycle-count planning (see count_planning.py) --------------------------------------------

    def lock_count_planning(self) -> None:
        count_planning.lock_planning(self._c)

    def zone_known(self, zone: str) -> bool:
        return count_planning.zone_known(self._c, zone)

    def zones(self) -> list[str]:
        return count_planning.zones(self._c)

    def sku_usage(self, since: date, until: date) -> list[SkuUsage]:
        return count_planning.sku_usage(self._c, since, until)

    def count_plan_inputs(
        self, day: date, zone: str | None, sku_classes: Mapping[int, str], policy: WarehousePolicy
    ) -> PlanInputs:
        return count_planning.plan_inputs(self._c, day, zone, sku_classes, policy)

    def save_sku_classes(self, classes: Iterable[SkuClass], day: date) -> None:
        count_planning.save_sku_classes(self._c, classes, day)

    def add_planned_counts(
        self, day: date, planned: Sequence[PlannedCount], station_id: int, operator_id: int
    ) -> set[int]:
        return count_planning.add_planned_counts(self._c, day, planned, station_id, operator_id)

    def lock_unfinished_counts(self, location_ids: Iterable[int]) -> dict[int, int]:
        return count_planning.lock_unfinished_counts(self._c, location_ids)

    def assign_counts(
        self, task_ids: Iterable[int], assigned_to: str | None, zone: str | None
    ) -> None:
        count_planning.assign_counts(self._c, task_ids, assigned_to, zone)

    def policy(self) -> WarehousePolicy:
        if self._policy is None:
            self._policy = authority.policy(self._c)
        return self._policy

    def set_policy(self, key: str, value: int, operator_id: int, tx_id: uuid.UUID) -> None:
        authority.set_policy(self._c, key, value, operator_id, tx_id)
        self._policy = None

    def check_pin(self, badge: str, pin: str) -> PinCheck:
        return authority.check_pin(self._c, badge, pin)

    def database_now(self) -> datetime:
        now = self._c.execute(select(func.now())).scalar_one()
        if isinstance(now, str):  # SQLite answers CURRENT_TIMESTAMP as text, in UTC
            now = datetime.fromisoformat(now)
        return now if now.tzinfo else now.replace(tzinfo=UTC)


def _count(c: Connection, stmt: Any) -> int:
    return int(c.execute(select(func.count()).select_from(stmt.subquery())).scalar_one())


def invariant_report(c: Connection) -> InvariantReport:
    """The five invariants of DESIGN.md section 1, counted in SQL (only violating order lines
    are loaded, to name them)."""
    m, t, r = table(MoveRow), table(TransactionRow), table(ReservationRow)
    sum_not_zero = _count(
        c,
        select(Q.c.sku_id, Q.c.lot_id)
        .group_by(Q.c.sku_id, Q.c.lot_id)
        .having(func.sum(Q.c.on_hand) != 0),
    )
    negative = _count(
        c,
        select(Q.c.id).where(
            Q.c.is_virtual.is_(False),
            (Q.c.on_hand < 0) | (Q.c.reserved < 0) | (Q.c.reserved > Q.c.on_hand),
        ),
    )
    legs = union_all(
        select(m.c.to_location_id.label("loc"), m.c.sku_id, m.c.lot_id, m.c.qty.label("q")),
        select(m.c.from_location_id, m.c.sku_id, m.c.lot_id, (-m.c.qty).label("q")),
    ).subquery()
    replay = (
        select(legs.c.loc, legs.c.sku_id, legs.c.lot_id, func.sum(legs.c.q).label("q"))
        .group_by(legs.c.loc, legs.c.sku_id, legs.c.lot_id)
        .subquery()
    )
    on_key = and_(
        replay.c.loc == Q.c.location_id,
        replay.c.sku_id == Q.c.sku_id,
        replay.c.lot_id == Q.c.lot_id,
    )
    quant_off = _count(
        c,
        select(Q.c.id)
        .select_from(Q.outerjoin(replay, on_key))
        .where(Q.c.on_hand != func.coalesce(replay.c.q, 0)),
    )
    replay_missing = _count(
        c,
        select(replay.c.loc)
        .select_from(replay.outerjoin(Q, on_key))
        .where(Q.c.id.is_(None), replay.c.q != 0),
    )
    held = (
        select(r.c.location_id, r.c.sku_id, r.c.lot_id, func.sum(r.c.qty).label("q"))
        .where(r.c.state == ReservationState.OPEN.value)
        .group_by(r.c.location_id, r.c.sku_id, r.c.lot_id)
        .subquery()
    )
    on_held = and_(
        held.c.location_id == Q.c.location_id,
        held.c.sku_id == Q.c.sku_id,
        held.c.lot_id == Q.c.lot_id,
    )
    reserved_off = _count(
        c,
        select(Q.c.id)
        .select_from(Q.outerjoin(held, on_held))
        .where(Q.c.reserved != func.coalesce(held.c.q, 0)),
    )
    no_provenance = _count(
        c,
        select(m.c.id)
        .select_from(m.outerjoin(t, t.c.id == m.c.tx_id))
        .where(
            t.c.id.is_(None)
            | t.c.station_id.is_(None)
            | t.c.operator_id.is_(None)
            | t.c.station_time.is_(None)
            | t.c.db_time.is_(None)
            | (t.c.status != Status.CONFIRMED.value)
            | (m.c.reason == "")
        ),
    )
    over = orders.order_line_violations(c)
    return InvariantReport(
        sum_not_zero=sum_not_zero,
        negative_or_over_reserved=negative,
        balance_not_replay=quant_off + replay_missing + reserved_off,
        move_without_provenance=no_provenance,
        order_line_over=len(over),
        order_lines=tuple(over),
    )
