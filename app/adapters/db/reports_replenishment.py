"""What replenishment reads from the database (app/domain/replenishment.py decides): each active
SKU's demand per UTC day from the ledger, its lead time, imported reorder point and the stock
available now. `perpetua report replenishment`, `perpetua replenishment backtest` and the
supervisor's screen all call `sku_demand`.

Demand is what went to customers: the moves into CUSTOMER (ship and ship-order transactions),
dated by the station's clock when the scan was made. A SKU with no shipment in the period is
read from its picks instead (post-pick moves): a warehouse that ships outside Perpetua still
picks here. Returns (CUSTOMER -> returns lane) are not taken off: demand is what was asked for.
Reads only: on SQLite give it a connection with the READONLY execution option (engine.READONLY).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, Connection, and_, func, not_, select

from app.domain.commands import TxKind
from app.domain.model import LocationKind, VirtualLocation
from app.domain.replenishment import DemandSource, SkuDemand

from .schema import HoldRow, LocationRow, MoveRow, QuantRow, SkuRow, TransactionRow, table

_M, _T, _L = table(MoveRow), table(TransactionRow), table(LocationRow)
_S, _Q, _H = table(SkuRow), table(QuantRow), table(HoldRow)

NOT_AVAILABLE = (LocationKind.QUARANTINE.value, LocationKind.OUTBOUND.value)
"""Stock in these locations cannot meet new demand: quarantine is held, and an outbound lane
holds what was picked for orders and waits to ship."""


def sku_demand(c: Connection, first: date, days: int) -> list[SkuDemand]:
    """Every active SKU with its demand on each of the `days` UTC days from `first`, oldest
    first, in SKU order."""
    since = datetime.combine(first, time(), UTC)
    until = since + timedelta(days=days)
    customer = c.execute(
        select(_L.c.id).where(_L.c.code == VirtualLocation.CUSTOMER.value)
    ).scalar_one()
    shipped = _daily(c, _M.c.to_location_id == customer, since, until, days)
    picked = _daily(c, _T.c.kind == TxKind.POST_PICK.value, since, until, days)
    available = _available(c)
    skus = c.execute(
        select(_S.c.id, _S.c.code, _S.c.name, _S.c.lead_time_days, _S.c.reorder_point)
        .where(_S.c.active.is_(True))
        .order_by(_S.c.code)
    ).all()
    result = []
    for s in skus:
        if s.id in shipped:
            demand, source = shipped[s.id], DemandSource.SHIPPED
        elif s.id in picked:
            demand, source = picked[s.id], DemandSource.PICKED
        else:
            demand, source = [0] * days, DemandSource.NONE
        result.append(
            SkuDemand(
                sku=s.code,
                name=s.name,
                lead_time_days=s.lead_time_days or 0,
                imported_point=s.reorder_point or 0,
                available=available.get(s.id, 0),
                demand=tuple(demand),
                source=source,
            )
        )
    return result


def _daily(
    c: Connection, which: ColumnElement[bool], since: datetime, until: datetime, days: int
) -> dict[int, list[int]]:
    """Units moved per SKU id and day by the moves `which` selects, dated by station time."""
    stmt = (
        select(_M.c.sku_id, _M.c.qty, _T.c.station_time)
        .select_from(_M.join(_T, _T.c.id == _M.c.tx_id))
        .where(which, _T.c.station_time >= since, _T.c.station_time < until)
    )
    per_sku: dict[int, list[int]] = defaultdict(lambda: [0] * days)
    for sku_id, qty, when in c.execute(stmt):
        per_sku[sku_id][(when.astimezone(UTC) - since).days] += qty
    return dict(per_sku)


def _available(c: Connection) -> dict[int, int]:
    """Units available per SKU id: on hand less reserved in real locations, held stock (a hold
    on its location or lot, quarantine) and outbound lanes left out."""
    active = _H.c.released_at.is_(None)
    held = (
        select(_H.c.id)
        .where(active, (_H.c.location_id == _Q.c.location_id) | (_H.c.lot_id == _Q.c.lot_id))
        .exists()
    )
    stmt = (
        select(_Q.c.sku_id, func.sum(_Q.c.on_hand - _Q.c.reserved))
        .select_from(_Q.join(_L, _L.c.id == _Q.c.location_id))
        .where(
            and_(
                _Q.c.is_virtual.is_(False),
                _L.c.kind.not_in(NOT_AVAILABLE),
                not_(held),
            )
        )
        .group_by(_Q.c.sku_id)
    )
    return {sku_id: int(units or 0) for sku_id, units in c.execute(stmt)}
