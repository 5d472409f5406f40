"""The warehouse as a station's workflows read it (domain/workflow.StationData), in SQL.

Every method is one short read transaction of its own on a read-only connection from the
engine's pool (a plain BEGIN on SQLite, so they never take the write lock). A station reads its
replica (app/adapters/replica.py) instead; it asks the database live only for what must be
current and is refused offline anyway (the ship station's shipments, cancelled orders' goods),
and the command line and tests read through this. It writes nothing: closing receipts and count
tasks are ledger transactions (services/work_ledger.py).

Scanned codes only ever travel as bound parameters; a code that no column could hold is answered
(None, nothing) without a query. Failures worth a retry leave as TransientDatabaseError.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    exc,
    func,
    select,
    text,
)

from app.domain.gs1 import gtin_forms
from app.domain.holds import hold_text
from app.domain.model import NO_LOT_ID, LocationKind, Operator, Role, Tracking
from app.domain.orders import PICKABLE, Claim, OrderState
from app.domain.ports import TransientDatabaseError
from app.domain.rules import PinCheck, PinStatus
from app.domain.workflow import (
    CountState,
    CountTask,
    CountTaskChoice,
    Freshness,
    Holding,
    PickLine,
    Putback,
    Receipt,
    ReceiptLine,
    Shipment,
    ShipmentLine,
    SkuInfo,
    StagedGoods,
    StationInfo,
    StationPolicy,
    Stock,
    StockList,
)

from . import authority, work_items
from . import orders as order_sql
from .catalogue_lookup import _storable
from .engine import READONLY
from .errors import first_line, retryable
from .orders import claim_of, read_claim
from .schema import (
    UNFINISHED_COUNT,
    BarcodeRow,
    CountTaskRow,
    HoldRow,
    LocationRow,
    LotRow,
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
    table,
)

_B, _L, _LOT, _O, _S = (
    table(BarcodeRow),
    table(LocationRow),
    table(LotRow),
    table(OperatorRow),
    table(SkuRow),
)
_CT, _Q, _RES, _ST = table(CountTaskRow), table(QuantRow), table(ReservationRow), table(StationRow)
_VIRTUAL = LocationKind.VIRTUAL.value
# The partial index's own predicate, as text: a bound 'done' would hide the index from planners.
_UNFINISHED = text(f"{CountTaskRow.__tablename__}.{UNFINISHED_COUNT}")
_ATTEMPTS = 3
"""Tries of a count-task write that met a concurrent insert of the same location's task."""


def _first_location_of(kind: LocationKind) -> Any:
    return (
        select(_L.c.code)
        .where(_L.c.kind == kind.value, _L.c.active.is_(True))
        .order_by(_L.c.code)
        .limit(1)
        .scalar_subquery()
    )


def _gtin_of(sku_id: Any) -> Any:
    return (
        select(_B.c.code)
        .where(_B.c.sku_id == sku_id, _B.c.kind == "gtin")
        .order_by(_B.c.id)
        .limit(1)
        .scalar_subquery()
    )


def _sku_info(r: Any) -> SkuInfo | None:
    if r is None:
        return None
    return SkuInfo(r.code, r.name, Tracking(r.tracking), r.gtin, r.min_shelf_days)


def _holdings(value: Any) -> tuple[Holding, ...]:
    return tuple(Holding(h["sku"], h.get("lot"), int(h["qty"])) for h in value or ())


def _json(holdings: Sequence[Holding]) -> list[dict[str, Any]]:
    return [{"sku": h.sku, "lot": h.lot, "qty": h.qty} for h in holdings]


class SqlStationData:
    """StationData over an engine; safe to share between threads (each call has its own
    connection), though a station makes all its calls from its one database worker."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # --- transactions ---------------------------------------------------------------------

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        try:
            with self._engine.connect() as c:
                c.execution_options(**{READONLY: True})
                with c.begin():
                    yield c
        except exc.DBAPIError as error:
            if retryable(error):
                raise TransientDatabaseError(first_line(error)) from error
            raise

    # --- who and where --------------------------------------------------------------------

    def station(self, code: str) -> StationInfo | None:
        if not _storable(code):
            return None
        dock = _L.alias("dock")
        stmt = (
            select(
                _ST.c.code,
                _ST.c.zone,
                dock.c.code.label("dock"),
                _first_location_of(LocationKind.QUARANTINE).label("quarantine"),
                _first_location_of(LocationKind.RETURNS).label("returns"),
            )
            .select_from(_ST.outerjoin(dock, dock.c.id == _ST.c.dock_location_id))
            .where(_ST.c.code == code)
        )
        with self._reading() as c:
            r = c.execute(stmt).first()
        if r is None:
            return None
        return StationInfo(r.code, r.zone, r.dock, r.quarantine, r.returns)

    def operator(self, badge: str) -> Operator | None:
        if not _storable(badge):
            return None
        with self._reading() as c:
            r = c.execute(select(_O).where(_O.c.badge == badge)).first()
        return Operator(r.id, r.badge, r.name, Role(r.role), r.active) if r else None

    def check_pin(self, badge: str, pin: str) -> PinCheck:
        if not _storable(badge) or not _storable(pin):
            return PinCheck(PinStatus.NO_PIN)
        try:  # a write: the database counts a wrong PIN for every station at once
            with self._engine.begin() as c:
                return authority.check_pin(c, badge, pin)
        except exc.DBAPIError as error:
            if retryable(error):
                raise TransientDatabaseError(first_line(error)) from error
            raise

    def policy(self) -> StationPolicy:
        with self._reading() as c:
            return authority.policy(c).station()

    def location_kind(self, code: str) -> str | None:
        if not _storable(code):
            return None
        with self._reading() as c:
            kind = c.execute(
                select(_L.c.kind).where(_L.c.code == code, _L.c.kind != _VIRTUAL)
            ).scalar()
        return None if kind is None else str(kind)

    def held(self, location: str, sku: str | None = None, lot: str | None = None) -> str | None:
        if not _storable(location):
            return None
        h = table(HoldRow)
        active = h.c.released_at.is_(None)
        with self._reading() as c:
            r = c.execute(
                select(
                    _L.c.kind,
                    select(h.c.reason)
                    .where(h.c.location_id == _L.c.id, active)
                    .limit(1)
                    .scalar_subquery(),
                ).where(_L.c.code == location)
            ).first()
            lot_reason = None
            if sku and lot and _storable(sku) and _storable(lot):
                lot_reason = c.execute(
                    select(h.c.reason)
                    .select_from(
                        h.join(_LOT, _LOT.c.id == h.c.lot_id).join(_S, _S.c.id == _LOT.c.sku_id)
                    )
                    .where(_S.c.code == sku, _LOT.c.code == lot, active)
                ).scalar()
        return hold_text(
            location,
            quarantine=r is not None and r.kind == LocationKind.QUARANTINE.value,
            location_reason=None if r is None else r[1],
            sku=sku,
            lot=lot,
            lot_reason=lot_reason,
        )

    # --- items ----------------------------------------------------------------------------

    def sku(self, code: str) -> SkuInfo | None:
        if not _storable(code):
            return None
        stmt = select(
            _S.c.code,
            _S.c.name,
            _S.c.tracking,
            _gtin_of(_S.c.id).label("gtin"),
            _S.c.min_shelf_days,
        ).where(_S.c.code == code)
        with self._reading() as c:
            r = c.execute(stmt).first()
        return _sku_info(r)

    def sku_by_gtin(self, gtin: str) -> SkuInfo | None:
        """The SKU of the 14-digit `gtin`: its GTIN barcode, else an alias under one of its
        forms (old data), as the scan interpreter finds it."""
        forms = gtin_forms(gtin)
        if not forms:
            return None
        stmt = (
            select(
                _B.c.code.label("barcode"),
                _S.c.code,
                _S.c.name,
                _S.c.tracking,
                _S.c.min_shelf_days,
            )
            .select_from(_B.join(_S, _S.c.id == _B.c.sku_id))
            .where(_B.c.code.in_(forms))
        )
        with self._reading() as c:
            found = {r.barcode: r for r in c.execute(stmt)}
        r = next((found[code] for code in forms if code in found), None)
        if r is None:
            return None
        return SkuInfo(r.code, r.name, Tracking(r.tracking), gtin, r.min_shelf_days)

    # --- receipts and orders --------------------------------------------------------------

    def open_receipts(self, limit: int) -> list[str]:
        return self._open_codes(table(ReceiptRow), limit)

    def open_orders(self, limit: int) -> list[str]:
        if limit <= 0:
            return []
        o = table(OrderRow)
        stmt = (
            select(o.c.code)
            .where(_pickable(o))
            .order_by(o.c.priority.desc(), o.c.due_date.is_(None), o.c.due_date, o.c.id)
            .limit(limit)
        )
        with self._reading() as c:
            return [str(code) for code in c.execute(stmt).scalars()]

    def open_order_count(self) -> int:
        o = table(OrderRow)
        with self._reading() as c:
            return int(c.execute(select(func.count()).where(_pickable(o))).scalar_one())

    def order_claim(self, order: str) -> Claim | None:
        if not _storable(order):
            return None
        with self._reading() as c:
            return read_claim(c, table(OrderRow).c.code == order)

    def shipment(self, order: str) -> Shipment | None:
        if not _storable(order):
            return None
        o = table(OrderRow)
        with self._reading() as c:
            row = c.execute(select(o).where(o.c.code == order)).first()
            return None if row is None else _shipment(c, row)

    def orders_at(self, location: str) -> list[str]:
        if not _storable(location):
            return []
        with self._reading() as c:
            location_id = c.execute(
                select(_L.c.id).where(_L.c.code == location, _L.c.kind != _VIRTUAL)
            ).scalar()
            if location_id is None:
                return []
            return order_sql.staged_orders_at(c, int(location_id))

    def shippable_orders(self, limit: int) -> list[str]:
        if limit <= 0:
            return []
        o = table(OrderRow)
        stmt = (
            select(o.c.code)
            .where(o.c.status == OrderState.PICKED.value)
            .order_by(o.c.status_at, o.c.id)
            .limit(limit)
        )
        with self._reading() as c:
            return [str(code) for code in c.execute(stmt).scalars()]

    def _open_codes(self, t: Any, limit: int) -> list[str]:
        if limit <= 0:
            return []
        stmt = select(t.c.code).where(t.c.status == "open").order_by(t.c.id).limit(limit)
        with self._reading() as c:
            return [str(code) for code in c.execute(stmt).scalars()]

    def receipt(self, code: str) -> Receipt | None:
        if not _storable(code):
            return None
        r_, rl = table(ReceiptRow), table(ReceiptLineRow)
        with self._reading() as c:
            head = c.execute(select(r_.c.id, r_.c.status).where(r_.c.code == code)).first()
            if head is None:
                return None
            lines = c.execute(
                select(rl.c.line, _S.c.code, rl.c.qty, rl.c.lot, rl.c.expiry)
                .select_from(rl.join(_S, _S.c.id == rl.c.sku_id))
                .where(rl.c.receipt_id == head.id)
                .order_by(rl.c.line)
            ).all()
            received = c.execute(work_items.received_units(code)).all()
        return Receipt(
            code,
            head.status,
            tuple(ReceiptLine(ln.line, ln.code, ln.qty, ln.lot, ln.expiry) for ln in lines),
            {sku: int(qty) for _, sku, qty in received},
        )

    def open_picks(self, order: str) -> list[PickLine]:
        if not _storable(order):
            return []
        stmt = (
            select(
                _RES.c.id,
                _RES.c.order_line,
                _S.c.code.label("sku"),
                _RES.c.lot_id,
                _LOT.c.code.label("lot"),
                _L.c.code.label("location"),
                _L.c.pick_sequence,
                _RES.c.qty,
            )
            .select_from(
                _RES.join(_S, _S.c.id == _RES.c.sku_id)
                .join(_LOT, _LOT.c.id == _RES.c.lot_id)
                .join(_L, _L.c.id == _RES.c.location_id)
            )
            .where(_RES.c.order_ref == order, _RES.c.state == "open")
            .order_by(_L.c.pick_sequence, _L.c.code, _RES.c.id)
        )
        with self._reading() as c:
            rows = c.execute(stmt).all()
        return [
            PickLine(
                r.id,
                order,
                r.order_line,
                r.sku,
                None if r.lot_id == NO_LOT_ID else r.lot,
                r.location,
                r.pick_sequence,
                r.qty,
            )
            for r in rows
        ]

    def putbacks(self, limit: int) -> list[Putback]:
        if limit <= 0:
            return []
        o, ol = table(OrderRow), table(OrderLineRow)
        cancelled = (
            select(ol.c.id)
            .join(o, o.c.id == ol.c.order_id)
            .where(o.c.status == OrderState.CANCELLED.value)
        )
        net = order_sql.staged_net(table(MoveRow).c.order_line_id.in_(cancelled))
        stmt = (
            select(
                o.c.code.label("order"),
                _L.c.code.label("location"),
                _S.c.code.label("sku"),
                net.c.lot_id,
                _LOT.c.code.label("lot"),
                net.c.qty,
            )
            .select_from(
                net.join(_L, _L.c.id == net.c.loc)
                .join(ol, ol.c.id == net.c.line_id)
                .join(o, o.c.id == ol.c.order_id)
                .join(_S, _S.c.id == net.c.sku_id)
                .join(_LOT, _LOT.c.id == net.c.lot_id)
            )
            .order_by(o.c.id, _L.c.code, _S.c.code, _LOT.c.code)
            .limit(limit)
        )
        with self._reading() as c:
            rows = c.execute(stmt).all()
        return [
            Putback(
                r.order,
                r.location,
                r.sku,
                None if r.lot_id == NO_LOT_ID else r.lot,
                int(r.qty),
            )
            for r in rows
        ]

    # --- stock ----------------------------------------------------------------------------

    def contents(self, location: str) -> list[Holding]:
        if not _storable(location):
            return []
        stmt = (
            select(_S.c.code.label("sku"), _Q.c.lot_id, _LOT.c.code.label("lot"), _Q.c.on_hand)
            .select_from(
                _Q.join(_L, _L.c.id == _Q.c.location_id)
                .join(_S, _S.c.id == _Q.c.sku_id)
                .join(_LOT, _LOT.c.id == _Q.c.lot_id)
            )
            .where(_L.c.code == location, _L.c.kind != _VIRTUAL, _Q.c.on_hand > 0)
            .order_by(_S.c.code, _LOT.c.code)
        )
        with self._reading() as c:
            rows = c.execute(stmt).all()
        return [Holding(r.sku, None if r.lot_id == NO_LOT_ID else r.lot, r.on_hand) for r in rows]

    def stock_at(self, location: str) -> list[Stock]:
        if not _storable(location):
            return []
        return self._stock(_L.c.code == location, (_S.c.code, _LOT.c.code))

    def stock_of(self, sku: str, limit: int) -> StockList:
        if not _storable(sku):
            return StockList(())
        order = (_L.c.pick_sequence, _L.c.code, _LOT.c.expiry.is_(None), _LOT.c.expiry, _LOT.c.code)
        return StockList.capped(self._stock(_S.c.code == sku, order), limit)

    def freshness(self) -> Freshness:
        return Freshness(live=True)

    def _stock(self, where: Any, order: Sequence[Any]) -> list[Stock]:
        """Balances on hand of real locations, with the lot's expiry and reserved units."""
        stmt = (
            select(
                _L.c.code.label("location"),
                _L.c.pick_sequence,
                _S.c.code.label("sku"),
                _Q.c.lot_id,
                _LOT.c.code.label("lot"),
                _LOT.c.expiry,
                _Q.c.on_hand,
                _Q.c.reserved,
            )
            .select_from(
                _Q.join(_L, _L.c.id == _Q.c.location_id)
                .join(_S, _S.c.id == _Q.c.sku_id)
                .join(_LOT, _LOT.c.id == _Q.c.lot_id)
            )
            .where(where, _L.c.kind != _VIRTUAL, _Q.c.on_hand > 0)
            .order_by(*order)
        )
        with self._reading() as c:
            rows = c.execute(stmt).all()
        return [
            Stock(
                r.location,
                r.sku,
                None if r.lot_id == NO_LOT_ID else r.lot,
                None if r.lot_id == NO_LOT_ID else r.expiry,
                int(r.on_hand),
                int(r.reserved),
                int(r.pick_sequence),
            )
            for r in rows
        ]

    def bin_room(self, location: str, sku: str, qty: int) -> str | None:
        return None  # read live: the ledger checks the room when the putaway arrives

    # --- count tasks ----------------------------------------------------------------------

    def count_task(self, location: str) -> CountTask | None:
        if not _storable(location):
            return None
        stmt = (
            select(
                _CT.c.id,
                _CT.c.state,
                _CT.c.reason,
                _CT.c.counts,
                _CT.c.snapshot,
                _CT.c.counters,
                _O.c.badge,
                _CT.c.assigned_to,
                _CT.c.zone,
            )
            .select_from(
                _CT.join(_L, _L.c.id == _CT.c.location_id).outerjoin(
                    _O, _O.c.id == _CT.c.counted_by_operator_id
                )
            )
            .where(_L.c.code == location, _UNFINISHED)
        )
        with self._reading() as c:
            r = c.execute(stmt).first()
        if r is None:
            return None
        return CountTask(
            r.id,
            location,
            CountState(r.state),
            r.reason,
            r.badge,
            _holdings(r.counts),
            _holdings(r.snapshot),
            tuple(r.counters or ()),
            r.assigned_to,
            r.zone,
        )

    def count_tasks_for(
        self, badge: str, zone: str | None, limit: int, *, supervisor: bool = False
    ) -> list[CountTaskChoice]:
        """Read through the partial index of unfinished tasks, narrowed in SQL by state and
        assignment; who counted a recount (a JSON list) is checked here, page by page, so a
        few tasks the operator counted themselves never hide the ones after them."""
        if limit <= 0 or not _storable(badge):
            return []
        states = [CountState.OPEN.value, CountState.RECOUNT.value]
        if supervisor:
            states.append(CountState.APPROVAL.value)
        mine = (_CT.c.assigned_to == badge) | (
            _CT.c.assigned_to.is_(None) & (_CT.c.zone.is_(None) | (_CT.c.zone == zone))
        )
        stmt = (
            select(
                _L.c.code,
                _CT.c.state,
                _L.c.pick_sequence,
                _CT.c.reason,
                _CT.c.assigned_to,
                _CT.c.zone,
                _CT.c.counters,
                _O.c.badge,
            )
            .select_from(
                _CT.join(_L, _L.c.id == _CT.c.location_id).outerjoin(
                    _O, _O.c.id == _CT.c.counted_by_operator_id
                )
            )
            .where(
                _UNFINISHED,
                _CT.c.state.in_(states),
                # A recount's or approval's assignee may have counted it: open_to decides.
                mine | (_CT.c.state != CountState.OPEN.value),
                # A task planned for a later day waits for its day.
                _CT.c.planned_for.is_(None) | (_CT.c.planned_for <= date.today()),
            )
            .order_by(_L.c.pick_sequence, _L.c.code)
        )
        page = max(2 * limit, 50)
        found: list[CountTaskChoice] = []
        start = 0
        with self._reading() as c:
            while True:
                rows = c.execute(stmt.limit(page).offset(start)).all()
                for r in rows:
                    counters = tuple(r.counters or ())
                    if r.badge and r.badge not in counters:
                        counters = (*counters, r.badge)
                    task = CountTaskChoice(
                        r.code,
                        CountState(r.state),
                        int(r.pick_sequence),
                        r.reason,
                        r.assigned_to,
                        r.zone,
                        counters,
                    )
                    if task.open_to(badge, zone, supervisor):
                        found.append(task)
                if len(found) >= limit or len(rows) < page:
                    return found[:limit]
                start += page


def _pickable(o: Any) -> Any:
    """Open or picking orders with a line that is neither all picked nor closed short."""
    ol = table(OrderLineRow)
    picked = (
        select(func.coalesce(func.sum(_RES.c.qty_posted), 0))
        .where(_RES.c.order_ref == o.c.code, _RES.c.order_line == ol.c.line)
        .correlate_except(_RES)  # the order and its line come from the enclosing queries
        .scalar_subquery()
    )
    left = (
        select(ol.c.id)
        .where(ol.c.order_id == o.c.id, ol.c.qty - ol.c.short_closed - picked > 0)
        .exists()
    )
    return o.c.status.in_([s.value for s in PICKABLE]) & left


def _shipment(c: Connection, row: Any) -> Shipment:
    """An order with its lines' picked, shipped and staged units, read without locks (what the
    ship station shows; the ShipOrder transaction reads them again under its locks)."""
    records = order_sql.read_lines(c, row.id, row.code, lock=False)
    standing = order_sql.staged(c, records)
    places = dict(
        c.execute(
            select(_L.c.id, _L.c.code).where(_L.c.id.in_({s.location_id for s in standing}))
        ).all()
    )
    lots = dict(
        c.execute(
            select(_LOT.c.id, _LOT.c.code).where(_LOT.c.id.in_({s.lot_id for s in standing}))
        ).all()
    )
    skus = {r.id: r.figures.sku for r in records}
    staged_qty: dict[int, int] = {}
    for s in standing:
        staged_qty[s.line_id] = staged_qty.get(s.line_id, 0) + s.qty
    return Shipment(
        row.code,
        OrderState(row.status),
        tuple(
            ShipmentLine(
                r.figures.line,
                r.figures.sku,
                r.figures.ordered,
                r.figures.picked,
                r.figures.shipped,
                staged_qty.get(r.id, 0),
            )
            for r in records
        ),
        tuple(
            StagedGoods(
                places[s.location_id],
                skus[s.line_id],
                None if s.lot_id == NO_LOT_ID else lots[s.lot_id],
                s.qty,
            )
            for s in standing
        ),
        claim_of(c, row),
    )
