"""Reference data as it arrives from an import file or the demo generator, before it has ids."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from app.domain.model import LocationKind, Role, Tracking


@dataclass(frozen=True)
class SkuSpec:
    code: str
    name: str
    unit_volume_cm3: int = 0
    unit_weight_g: int = 0
    tracking: Tracking = Tracking.NONE
    lookalike_group: str | None = None
    reorder_point: int = 0
    lead_time_days: int = 0
    barcodes: tuple[tuple[str, str], ...] = ()  # (code, "gtin" | "alias"), each of pack 1
    min_shelf_days: int | None = None
    """The fewest days of shelf life a lot must have left to be received or allocated."""
    unit_value_cents: int | None = None
    """What one unit is worth, in cents (None: not known): for ABC classes of cycle counts."""


@dataclass(frozen=True)
class BarcodeSpec:
    """One barcode of a SKU: a GTIN (14 digits) or an alias, standing for `pack_qty` units."""

    sku: str
    code: str
    kind: str  # "gtin" | "alias"
    pack_qty: int = 1


@dataclass(frozen=True)
class LocationSpec:
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


@dataclass(frozen=True)
class OperatorSpec:
    badge: str
    name: str
    role: Role
    pin: str | None = None


@dataclass(frozen=True)
class StationSpec:
    code: str
    name: str
    zone: str | None = None
    dock: str | None = None


@dataclass(frozen=True)
class ReceiptLineSpec:
    receipt: str
    line: int
    sku: str
    qty: int
    lot: str | None = None
    expiry: date | None = None


@dataclass(frozen=True)
class OrderLineSpec:
    order: str
    line: int
    sku: str
    qty: int
    priority: int = 0
    """Higher is picked first; the same for every line of an order."""
    due_date: date | None = None
