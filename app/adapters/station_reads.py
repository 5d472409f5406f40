"""The station's reads (domain/workflow.StationData and domain/interpret.Catalogue), answered by
its replica in every state, online or not.

Four reads are the ship station's and the putaway of cancelled orders' goods: what is staged for
an order now, which orders stand in a lane, which wait to ship, what cancelled orders left in
outbound lanes. They must be current and what they lead to is refused offline anyway, so they go
to the database live, and while it is out of reach they fail at once (DatabaseUnavailable) rather
than wait for a connection to time out.

Scanned text is hostile: text no code column could hold is answered "nothing" without a query.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.adapters.db.catalogue_lookup import _storable
from app.adapters.replica import Replica
from app.domain.interpret import NO_MATCH, Barcode, CodeMatch
from app.domain.model import Operator
from app.domain.orders import Claim
from app.domain.ports import DatabaseUnavailable, Link, TransientDatabaseError
from app.domain.rules import PinCheck, PinStatus
from app.domain.workflow import (
    CountTask,
    CountTaskChoice,
    Freshness,
    Holding,
    PickLine,
    Putback,
    Receipt,
    Shipment,
    SkuInfo,
    StationData,
    StationInfo,
    StationPolicy,
    Stock,
    StockList,
)


class ReplicaStationData:
    """StationData over the replica, with the live reads of `live` while the link is up."""

    def __init__(self, replica: Replica, live: StationData, link: Link) -> None:
        self._replica = replica
        self._live = live
        self._link = link

    def _online(self) -> StationData:
        if not self._link.up:
            raise DatabaseUnavailable(self._link.why or "the database is out of reach")
        return self._live

    # --- from the replica ---

    def station(self, code: str) -> StationInfo | None:
        return self._replica.station(code) if _storable(code) else None

    def held(self, location: str, sku: str | None = None, lot: str | None = None) -> str | None:
        if not _storable(location):
            return None
        return self._replica.held(location, sku, lot)

    def operator(self, badge: str) -> Operator | None:
        return self._replica.operator(badge) if _storable(badge) else None

    def check_pin(self, badge: str, pin: str) -> PinCheck:
        """In the database while it is in reach (it counts wrong PINs and lockouts for every
        station and process); else against the copy's slow offline verifier."""
        if not _storable(badge) or not _storable(pin):
            return PinCheck(PinStatus.NO_PIN)
        if self._link.up:
            try:
                return self._live.check_pin(badge, pin)
            except (DatabaseUnavailable, TransientDatabaseError):
                pass  # the link went in the meantime (the live adapter says so): the copy answers
        return self._replica.check_pin(badge, pin)

    def policy(self) -> StationPolicy:
        return self._replica.policy().station()

    def sku(self, code: str) -> SkuInfo | None:
        return self._replica.sku(code) if _storable(code) else None

    def sku_by_gtin(self, gtin: str) -> SkuInfo | None:
        return self._replica.sku_by_gtin(gtin) if _storable(gtin) else None

    def location_kind(self, code: str) -> str | None:
        return self._replica.location_kind(code) if _storable(code) else None

    def open_receipts(self, limit: int) -> list[str]:
        return self._replica.open_receipts(limit)

    def open_orders(self, limit: int) -> list[str]:
        return self._replica.open_orders(limit)

    def open_order_count(self) -> int:
        return self._replica.open_order_count()

    def order_claim(self, order: str) -> Claim | None:
        return self._replica.order_claim(order) if _storable(order) else None

    def receipt(self, code: str) -> Receipt | None:
        return self._replica.receipt(code) if _storable(code) else None

    def open_picks(self, order: str) -> list[PickLine]:
        return self._replica.open_picks(order) if _storable(order) else []

    def contents(self, location: str) -> list[Holding]:
        return self._replica.contents(location) if _storable(location) else []

    def count_task(self, location: str) -> CountTask | None:
        return self._replica.count_task(location) if _storable(location) else None

    def count_tasks_for(
        self, badge: str, zone: str | None, limit: int, *, supervisor: bool = False
    ) -> list[CountTaskChoice]:
        if not _storable(badge):
            return []
        return self._replica.count_tasks_for(badge, zone, limit, supervisor=supervisor)

    def stock_at(self, location: str) -> list[Stock]:
        return self._replica.stock_at(location) if _storable(location) else []

    def stock_of(self, sku: str, limit: int) -> StockList:
        return self._replica.stock_of(sku, limit) if _storable(sku) else StockList(())

    def freshness(self) -> Freshness:
        return self._replica.freshness()

    def bin_room(self, location: str, sku: str, qty: int) -> str | None:
        if self._link.up or not (_storable(location) and _storable(sku)):
            return None  # online, the ledger checks the room under the bin's lock
        return self._replica.room(location, sku, qty)

    # --- live ---

    def shipment(self, order: str) -> Shipment | None:
        return self._online().shipment(order)

    def orders_at(self, location: str) -> list[str]:
        return self._online().orders_at(location)

    def shippable_orders(self, limit: int) -> list[str]:
        return self._online().shippable_orders(limit)

    def putbacks(self, limit: int) -> list[Putback]:
        return self._online().putbacks(limit)


class ReplicaCatalogue:
    """The interpreter's catalogue over the replica."""

    def __init__(self, replica: Replica) -> None:
        self._replica = replica

    def identify(self, code: str) -> CodeMatch:
        return self._replica.identify(code) if _storable(code) else NO_MATCH

    def barcode(self, codes: Sequence[str]) -> Barcode | None:
        return self._replica.barcode([c for c in codes if _storable(c)])
