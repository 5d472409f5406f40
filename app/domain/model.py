"""The stock model: SKUs, locations, lots, quants and the people and stations that move them.

Values here are frozen dataclasses; the database adapter maps its rows onto them.
Quantities are integers in base units (eaches); there are no floats in stock arithmetic.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum


class LocationKind(StrEnum):
    BIN = "bin"
    DOCK = "dock"
    STAGING = "staging"
    QUARANTINE = "quarantine"
    OUTBOUND = "outbound"
    RETURNS = "returns"
    VIRTUAL = "virtual"


class Tracking(StrEnum):
    NONE = "none"
    LOT = "lot"
    SERIAL = "serial"


class Role(StrEnum):
    DOCK = "dock"
    PICKER = "picker"
    COUNTER = "counter"
    SUPERVISOR = "supervisor"


class VirtualLocation(StrEnum):
    """Counterparties of the double-entry ledger; they may hold negative quantities."""

    VENDOR = "VENDOR"
    CUSTOMER = "CUSTOMER"
    ADJUSTMENT = "ADJUSTMENT"
    SCRAP = "SCRAP"


class ReservationState(StrEnum):
    OPEN = "open"
    POSTED = "posted"
    PARTLY_POSTED = "partly_posted"
    VOIDED = "voided"
    EXPIRED = "expired"


NO_LOT_ID = 0
"""Id of the sentinel lot row that stands for "no lot", so that quant keys never hold NULL."""


@dataclass(frozen=True, slots=True)
class Sku:
    id: int
    code: str
    name: str
    unit_volume_cm3: int
    unit_weight_g: int
    tracking: Tracking
    lookalike_group: str | None = None
    reorder_point: int = 0
    lead_time_days: int = 0
    active: bool = True
    velocity_class: str = "C"
    """A: the fast movers (most picked units), then B, then C; see services/stow.classify."""
    min_shelf_days: int | None = None
    """The fewest days of shelf life a lot must have left to be received or allocated
    (app/domain/expiry.py)."""

    @property
    def fast_mover(self) -> bool:
        return self.velocity_class == "A"


@dataclass(frozen=True, slots=True)
class Location:
    id: int
    code: str
    kind: LocationKind
    zone: str | None = None
    aisle: str | None = None
    bay: str | None = None
    level: str | None = None
    pick_sequence: int = 0
    max_units: int | None = None
    max_volume_cm3: int | None = None
    max_weight_g: int | None = None
    active: bool = True

    @property
    def is_virtual(self) -> bool:
        return self.kind is LocationKind.VIRTUAL


@dataclass(frozen=True, slots=True)
class Lot:
    id: int
    sku_id: int
    code: str
    expiry: date | None


@dataclass(frozen=True, slots=True)
class Operator:
    id: int
    badge: str
    name: str
    role: Role
    active: bool = True


@dataclass(frozen=True, slots=True)
class Station:
    id: int
    code: str
    name: str
    zone: str | None = None


@dataclass(frozen=True, slots=True, order=True)
class QuantKey:
    """Identity of a balance row. Ordered, so that every transaction locks rows in one order."""

    location_id: int
    sku_id: int
    lot_id: int = NO_LOT_ID


@dataclass(frozen=True, slots=True)
class Quant:
    key: QuantKey
    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


@dataclass(frozen=True, slots=True)
class Reservation:
    id: int
    order_ref: str
    order_line: int
    key: QuantKey
    qty: int
    state: ReservationState
    expires_at: datetime | None
    qty_posted: int = 0
    resolved_tx_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class Move:
    """One leg of the ledger: a positive quantity of one SKU (and lot) from one place to another."""

    sku_id: int
    lot_id: int
    from_location_id: int
    to_location_id: int
    qty: int
    reason: str
    serial_id: int | None = None
    order_line_id: int | None = None
    """The order line (order_lines.id) a pick, shipment, return or putback belongs to."""

    def __post_init__(self) -> None:
        if self.qty <= 0:
            raise ValueError(f"a move carries a positive quantity, not {self.qty}")
        if self.from_location_id == self.to_location_id:
            raise ValueError("a move goes from one location to another")
