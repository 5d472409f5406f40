"""The database schema as SQLAlchemy 2 typed ORM classes.

The schema is built by the Alembic migrations in `migrations/`; this metadata is what they were
written from, and what queries are built with.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any, ClassVar, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from app.domain.stow import UNLIMITED as STOW_UNLIMITED


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both databases (SQLite keeps them as naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; attach a time zone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# BIGINT ids on PostgreSQL; on SQLite only INTEGER PRIMARY KEY autoincrements (the rowid alias).
BigId = BigInteger().with_variant(Integer(), "sqlite")
Balance = BigInteger().with_variant(Integer(), "sqlite")
"""A 64-bit balance, declared INTEGER on SQLite (64 bits there already)."""

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def table(row_class: type[Base]) -> Table:
    """The Core table behind an ORM class, typed as a Table for insert/update statements."""
    return cast(Table, row_class.__table__)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON}


class SkuRow(Base):
    __tablename__ = "skus"
    id: Mapped[int] = mapped_column(primary_key=True)
    rev: Mapped[int] = mapped_column(BigInteger, server_default="0", index=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    unit_volume_cm3: Mapped[int] = mapped_column(Integer, default=0)
    unit_weight_g: Mapped[int] = mapped_column(Integer, default=0)
    tracking: Mapped[str] = mapped_column(String(8), default="none")
    lookalike_group: Mapped[str | None] = mapped_column(String(64), index=True)
    reorder_point: Mapped[int] = mapped_column(Integer, default=0)
    lead_time_days: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    velocity_class: Mapped[str] = mapped_column(String(1), default="C", server_default="C")
    min_shelf_days: Mapped[int | None] = mapped_column(Integer)
    """The fewest days of shelf life a lot must have left to be received or allocated
    (migration 0008; NULL: no minimum, an expired lot is still refused)."""
    unit_value_cents: Mapped[int | None] = mapped_column(BigInteger)
    """What one unit is worth, in cents (migration 0009; NULL: not known), for the ABC classes
    of cycle counting and the value of count variances."""
    __table_args__ = (
        CheckConstraint("tracking IN ('none', 'lot', 'serial')", name="tracking"),
        CheckConstraint("min_shelf_days IS NULL OR min_shelf_days >= 0", name="min_shelf_days"),
        CheckConstraint("unit_value_cents IS NULL OR unit_value_cents >= 0", name="unit_value"),
        CheckConstraint("velocity_class IN ('A', 'B', 'C')", name="velocity_class"),
        CheckConstraint("unit_volume_cm3 >= 0 AND unit_weight_g >= 0", name="unit_size"),
    )


class BarcodeRow(Base):
    """GTINs (normalised to 14 digits) and alias barcodes (supplier codes, internal labels),
    each standing for `pack_qty` units of its SKU (a case GTIN: 12; migration 0008)."""

    __tablename__ = "barcodes"
    id: Mapped[int] = mapped_column(primary_key=True)
    rev: Mapped[int] = mapped_column(BigInteger, server_default="0", index=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    pack_qty: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    __table_args__ = (
        CheckConstraint("kind IN ('gtin', 'alias')", name="kind"),
        CheckConstraint("pack_qty >= 1", name="pack_qty"),
    )


class LocationRow(Base):
    __tablename__ = "locations"
    id: Mapped[int] = mapped_column(primary_key=True)
    rev: Mapped[int] = mapped_column(BigInteger, server_default="0", index=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    zone: Mapped[str | None] = mapped_column(String(32))
    aisle: Mapped[str | None] = mapped_column(String(32))
    bay: Mapped[str | None] = mapped_column(String(32))
    level: Mapped[str | None] = mapped_column(String(32))
    pick_sequence: Mapped[int] = mapped_column(Integer, default=0)
    max_units: Mapped[int | None] = mapped_column(Integer)
    max_volume_cm3: Mapped[int | None] = mapped_column(BigInteger)
    max_weight_g: Mapped[int | None] = mapped_column(BigInteger)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    __table_args__ = (
        CheckConstraint(
            "kind IN ('bin', 'dock', 'staging', 'quarantine', 'outbound', 'returns', 'virtual')",
            name="kind",
        ),
    )


class LotRow(Base):
    """Lots of a SKU. Row 0 (sku NULL, code '') stands for "no lot": quant keys never hold NULL."""

    __tablename__ = "lots"
    id: Mapped[int] = mapped_column(primary_key=True)
    sku_id: Mapped[int | None] = mapped_column(ForeignKey("skus.id"))
    code: Mapped[str] = mapped_column(String(64))
    expiry: Mapped[date | None] = mapped_column(Date)
    __table_args__ = (UniqueConstraint("sku_id", "code", name="uq_lots_sku_code"),)


class SerialRow(Base):
    """Serial numbers and where each one is now (NULL once it has left stock)."""

    __tablename__ = "serials"
    id: Mapped[int] = mapped_column(primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    code: Mapped[str] = mapped_column(String(64))
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), default=0)
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    __table_args__ = (UniqueConstraint("sku_id", "code", name="uq_serials_sku_code"),)


class OperatorRow(Base):
    __tablename__ = "operators"
    id: Mapped[int] = mapped_column(primary_key=True)
    rev: Mapped[int] = mapped_column(BigInteger, server_default="0", index=True)
    badge: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    __table_args__ = (
        CheckConstraint("role IN ('dock', 'picker', 'counter', 'supervisor')", name="role"),
    )


class StationRow(Base):
    __tablename__ = "stations"
    id: Mapped[int] = mapped_column(primary_key=True)
    rev: Mapped[int] = mapped_column(BigInteger, server_default="0", index=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    zone: Mapped[str | None] = mapped_column(String(32))
    dock_location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))


class TransactionRow(Base):
    """One row per transaction id ever applied, with its outcome. Append-only."""

    __tablename__ = "transactions"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"))
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    station_time: Mapped[datetime] = mapped_column(UtcDateTime)
    db_time: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())
    payload_hash: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    reference: Mapped[str | None] = mapped_column(String(64), index=True)
    __table_args__ = (
        CheckConstraint("status IN ('confirmed', 'refused')", name="status"),
        CheckConstraint(
            "status <> 'confirmed' OR (station_id IS NOT NULL AND operator_id IS NOT NULL)",
            name="confirmed_has_provenance",
        ),
    )


class MoveRow(Base):
    """The ledger: append-only moves of a positive quantity from one location to another.

    The reference to the transaction is checked at commit: the transaction row, which carries the
    outcome, is written last and never updated.
    """

    __tablename__ = "moves"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tx_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("transactions.id", deferrable=True, initially="DEFERRED"), index=True
    )
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"))
    serial_id: Mapped[int | None] = mapped_column(ForeignKey("serials.id"))
    from_location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    to_location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    qty: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(80))
    order_line_id: Mapped[int | None] = mapped_column(Integer)
    """The order line a pick, a shipment, a return or a cancelled order's putaway belongs to
    (order_lines.id; no foreign key, so that the append-only table never has to be rebuilt)."""
    __table_args__ = (
        CheckConstraint("qty > 0", name="qty_positive"),
        CheckConstraint("from_location_id <> to_location_id", name="two_locations"),
        Index("ix_moves_sku_lot", "sku_id", "lot_id"),
        Index("ix_moves_order_line", "order_line_id"),
    )


class QuantRow(Base):
    """Balances per location, SKU and lot: a cache of the moves, updated in the same transaction."""

    __tablename__ = "quants"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    rev: Mapped[int] = mapped_column(BigInteger, server_default="0", index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"))
    # 64 bits (migration 0007): a virtual location's balance is the running total of all it
    # ever gave or took (SQLite's INTEGER is 64 bits already).
    on_hand: Mapped[int] = mapped_column(Balance, default=0)
    reserved: Mapped[int] = mapped_column(Balance, default=0)
    is_virtual: Mapped[bool] = mapped_column(Boolean, default=False)
    __table_args__ = (
        UniqueConstraint("location_id", "sku_id", "lot_id", name="uq_quants_key"),
        CheckConstraint("is_virtual OR on_hand >= 0", name="on_hand_not_negative"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("is_virtual OR reserved <= on_hand", name="reserved_within_on_hand"),
        Index("ix_quants_sku_lot", "sku_id", "lot_id"),
    )


class ReservationRow(Base):
    """Pick allocations. Each resolves once: posted, partly posted, voided or expired."""

    __tablename__ = "reservations"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tx_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("transactions.id", deferrable=True, initially="DEFERRED")
    )
    order_ref: Mapped[str] = mapped_column(String(64), index=True)
    order_line: Mapped[int] = mapped_column(Integer)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"))
    qty: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="open")
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    qty_posted: Mapped[int] = mapped_column(Integer, default=0)
    resolved_tx_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("transactions.id", deferrable=True, initially="DEFERRED")
    )
    __table_args__ = (
        CheckConstraint("qty > 0", name="qty_positive"),
        CheckConstraint("qty_posted >= 0 AND qty_posted <= qty", name="posted_within_qty"),
        CheckConstraint(
            "state IN ('open', 'posted', 'partly_posted', 'voided', 'expired')", name="state"
        ),
        Index("ix_reservations_open", "state", "expires_at"),
    )


class ReceiptRow(Base):
    """An expected receipt (ASN or purchase order)."""

    __tablename__ = "receipts"
    id: Mapped[int] = mapped_column(primary_key=True)
    rev: Mapped[int] = mapped_column(BigInteger, server_default="0", index=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    close_approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    close_tx_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    discrepancies: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)


class ReceiptLineRow(Base):
    __tablename__ = "receipt_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    rev: Mapped[int] = mapped_column(BigInteger, server_default="0", index=True)
    receipt_id: Mapped[int] = mapped_column(ForeignKey("receipts.id"))
    line: Mapped[int] = mapped_column(Integer)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    qty: Mapped[int] = mapped_column(Integer)
    lot: Mapped[str | None] = mapped_column(String(64))
    expiry: Mapped[date | None] = mapped_column(Date)
    __table_args__ = (
        UniqueConstraint("receipt_id", "line", name="uq_receipt_lines_line"),
        CheckConstraint("qty > 0", name="qty_positive"),
    )


ORDER_STATES = "status IN ('open', 'picking', 'picked', 'shipped', 'cancelled')"


class OrderRow(Base):
    """A customer order: its state, and who holds its pick list (the claim) since when.

    Ledger transactions lock this row (and its lines) before they reserve, ship or cancel."""

    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    rev: Mapped[int] = mapped_column(BigInteger, server_default="0", index=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    due_date: Mapped[date | None] = mapped_column(Date)
    claim_station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"))
    claim_operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    claim_active_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    status_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    __table_args__ = (
        CheckConstraint(ORDER_STATES, name="status"),
        Index("ix_orders_pickable", "status", "priority", "due_date", "id"),
    )


class OrderLineRow(Base):
    """An order line. `short_closed` are units closed short (not picked, not to be picked)."""

    __tablename__ = "order_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    line: Mapped[int] = mapped_column(Integer)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    qty: Mapped[int] = mapped_column(Integer)
    short_closed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    __table_args__ = (
        UniqueConstraint("order_id", "line", name="uq_order_lines_line"),
        CheckConstraint("qty > 0", name="qty_positive"),
        CheckConstraint("short_closed >= 0 AND short_closed <= qty", name="short_within_qty"),
    )


class OrderEventRow(Base):
    """Each step of an order's life (claimed, taken over, released, picked, shipped, cancelled):
    who moved it, where, when, and by which transaction. Append-only."""

    __tablename__ = "order_events"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    event: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    tx_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("transactions.id", deferrable=True, initially="DEFERRED")
    )
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"))
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())
    note: Mapped[str] = mapped_column(Text, default="")


UNLIMITED = STOW_UNLIMITED
"""Stands for "no limit" in bin_space, so that free space is always a number an index can order."""


class BinSpaceRow(Base):
    """Capacity of a bin, kept exact as moves happen (in the same transaction as the balances).

    Free space is a generated column (max - used - held), so it can never drift from the
    counters, and it is indexed so that a suggestion never sums a bin's contents. Zone and pick
    sequence are copied from the location for the same indexes.
    """

    __tablename__ = "bin_space"
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), primary_key=True)
    zone: Mapped[str] = mapped_column(String(32), default="")
    pick_sequence: Mapped[int] = mapped_column(Integer, default=0)
    rand_key: Mapped[int] = mapped_column(Integer)
    max_units: Mapped[int] = mapped_column(BigInteger)
    max_volume_cm3: Mapped[int] = mapped_column(BigInteger)
    max_weight_g: Mapped[int] = mapped_column(BigInteger)
    used_units: Mapped[int] = mapped_column(BigInteger, default=0)
    used_volume_cm3: Mapped[int] = mapped_column(BigInteger, default=0)
    used_weight_g: Mapped[int] = mapped_column(BigInteger, default=0)
    held_units: Mapped[int] = mapped_column(BigInteger, default=0)
    held_volume_cm3: Mapped[int] = mapped_column(BigInteger, default=0)
    held_weight_g: Mapped[int] = mapped_column(BigInteger, default=0)
    free_units: Mapped[int] = mapped_column(
        BigInteger, Computed("max_units - used_units - held_units", persisted=True)
    )
    free_volume_cm3: Mapped[int] = mapped_column(
        BigInteger, Computed("max_volume_cm3 - used_volume_cm3 - held_volume_cm3", persisted=True)
    )
    free_weight_g: Mapped[int] = mapped_column(
        BigInteger, Computed("max_weight_g - used_weight_g - held_weight_g", persisted=True)
    )
    __table_args__ = (
        CheckConstraint(
            "used_units >= 0 AND used_volume_cm3 >= 0 AND used_weight_g >= 0", name="used"
        ),
        CheckConstraint(
            "held_units >= 0 AND held_volume_cm3 >= 0 AND held_weight_g >= 0", name="held"
        ),
        # Sampling windows skip full bins: partial indexes hold only bins with a free unit.
        Index(
            "ix_bin_space_zone_rand",
            "zone",
            "rand_key",
            postgresql_where=text("free_units > 0"),
            sqlite_where=text("free_units > 0"),
        ),
        Index(
            "ix_bin_space_zone_seq",
            "zone",
            "pick_sequence",
            postgresql_where=text("free_units > 0"),
            sqlite_where=text("free_units > 0"),
        ),
        Index(
            "ix_bin_space_rand",
            "rand_key",
            postgresql_where=text("free_units > 0"),
            sqlite_where=text("free_units > 0"),
        ),
        Index(
            "ix_bin_space_seq",
            "pick_sequence",
            postgresql_where=text("free_units > 0"),
            sqlite_where=text("free_units > 0"),
        ),
        Index("ix_bin_space_zone_volume", "zone", "free_volume_cm3"),
        Index("ix_bin_space_volume", "free_volume_cm3"),
    )


class StowHoldRow(Base):
    """Space promised to one suggestion for a short while, so that two workers asked at the same
    moment are not sent to the same last free space. Released by the putaway or on expiry."""

    __tablename__ = "stow_holds"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"))
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"))
    units: Mapped[int] = mapped_column(BigInteger)
    volume_cm3: Mapped[int] = mapped_column(BigInteger)
    weight_g: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    __table_args__ = (
        Index("ix_stow_holds_expires", "expires_at"),
        Index("ix_stow_holds_location", "location_id", "sku_id"),
    )


UNFINISHED_COUNT = "state <> 'done'"
"""The predicate of the one-unfinished-task-per-location index. Queries for unfinished tasks use
this very text (not a bound parameter), so that both planners can use the partial index."""
COUNT_REASON_LENGTH = 80


class CountTaskRow(Base):
    """A cycle count of one location: a work item, not stock, so it is written directly (no
    ledger transaction). `counts` and `snapshot` are lists of {sku, lot, qty}: the last count and
    the ledger position when it started; `counters` lists the badges of everyone whose count was
    recorded on it, in order (none may approve it). At most one unfinished task per location."""

    __tablename__ = "count_tasks"
    id: Mapped[int] = mapped_column(primary_key=True)
    rev: Mapped[int] = mapped_column(BigInteger, server_default="0", index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    state: Mapped[str] = mapped_column(String(16), default="open")
    reason: Mapped[str] = mapped_column(String(COUNT_REASON_LENGTH))
    raised_by_station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"))
    raised_by_operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    counted_by_operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    counts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    snapshot: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    counters: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())
    assigned_to: Mapped[str | None] = mapped_column(String(64))
    """The badge of the counter the task is assigned to (migration 0009; NULL: anyone's)."""
    zone: Mapped[str | None] = mapped_column(String(32))
    """The zone whose counters the task is assigned to (NULL: any zone's)."""
    planned_for: Mapped[date | None] = mapped_column(Date)
    """The day a count planning planned it for (NULL: raised by an event or a counter)."""
    origin: Mapped[str] = mapped_column(String(16), server_default="event")
    """Where it came from: COUNT_ORIGINS."""
    abc: Mapped[str | None] = mapped_column(String(1))
    """The location's ABC class when the task was planned."""
    first_counts: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    """The task's first count (as `counts`), kept when it is counted again: the inventory-record
    accuracy is the first count's."""
    first_snapshot: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    """The ledger position the first count was made against."""
    first_counted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    __table_args__ = (
        Index("ix_count_tasks_location_done", "location_id", "done_at"),
        Index("ix_count_tasks_first_counted_at", "first_counted_at"),
        CheckConstraint("state IN ('open', 'recount', 'approval', 'done')", name="state"),
        Index(
            "uq_count_tasks_unfinished",
            "location_id",
            unique=True,
            postgresql_where=text(UNFINISHED_COUNT),
            sqlite_where=text(UNFINISHED_COUNT),
        ),
    )


class DatabaseIdentityRow(Base):
    """The database's permanent id, made by `perpetua db upgrade` (migration 0005): a station's
    outbox and replica belong to one database and refuse another."""

    __tablename__ = "database_identity"
    id: Mapped[int] = mapped_column(primary_key=True)
    database_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)


class ReplicaClockRow(Base):
    """SQLite's source of `rev` stamps (its triggers count here; PostgreSQL stamps transaction
    ids instead and leaves this row alone)."""

    __tablename__ = "replica_clock"
    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)


class WarehousePolicyRow(Base):
    """One key of the warehouse policy (app/domain/policy.py; migration 0007)."""

    __tablename__ = "warehouse_policy"
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    rev: Mapped[int] = mapped_column(BigInteger, server_default="0", index=True)
    value: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    tx_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)


class OperatorPinRow(Base):
    """An operator's PIN verifiers and wrong attempts (migration 0007): never read by stations
    but through the database's functions (PostgreSQL) or the ledger (SQLite)."""

    __tablename__ = "operator_pins"
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), primary_key=True)
    rev: Mapped[int] = mapped_column(BigInteger, server_default="0", index=True)
    online_hash: Mapped[str | None] = mapped_column(String(200))
    offline_verifier: Mapped[str | None] = mapped_column(String(200))
    failures: Mapped[int] = mapped_column(Integer, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


ACTIVE_HOLD = "released_at IS NULL"
"""The predicate of the one-active-hold-per-location and per-lot indexes (as UNFINISHED_COUNT)."""


class HoldRow(Base):
    """A hold on a location or a lot (migration 0008): its stock cannot be picked, transferred or
    shipped until a supervisor releases it (a RELEASE_HOLD transaction). Placed and released by
    ledger transactions, never deleted. Stock in a quarantine location is held by its kind and
    needs no row. At most one active hold per location and per lot."""

    __tablename__ = "holds"
    id: Mapped[int] = mapped_column(primary_key=True)
    rev: Mapped[int] = mapped_column(BigInteger, server_default="0", index=True)
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"))
    reason: Mapped[str] = mapped_column(String(200))
    placed_tx_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    placed_by_id: Mapped[int] = mapped_column(ForeignKey("operators.id"))
    placed_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())
    released_tx_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    released_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    release_reason: Mapped[str | None] = mapped_column(String(32))
    __table_args__ = (
        CheckConstraint("(location_id IS NULL) <> (lot_id IS NULL)", name="one_target"),
        Index(
            "uq_holds_active_location",
            "location_id",
            unique=True,
            postgresql_where=text(f"location_id IS NOT NULL AND {ACTIVE_HOLD}"),
            sqlite_where=text(f"location_id IS NOT NULL AND {ACTIVE_HOLD}"),
        ),
        Index(
            "uq_holds_active_lot",
            "lot_id",
            unique=True,
            postgresql_where=text(f"lot_id IS NOT NULL AND {ACTIVE_HOLD}"),
            sqlite_where=text(f"lot_id IS NOT NULL AND {ACTIVE_HOLD}"),
        ),
    )


class MasterChangeRow(Base):
    """One change of master data (migration 0008): a row added, changed, deactivated or
    activated by `perpetua import`, `perpetua deactivate` or a PIN set, with who (an operator's
    badge given with --by, or the OS user) and when. Append-only; never holds a PIN."""

    __tablename__ = "master_changes"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now(), index=True)
    actor: Mapped[str] = mapped_column(String(64))
    actor_kind: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)
    __table_args__ = (
        CheckConstraint("actor_kind IN ('badge', 'os_user')", name="actor_kind"),
        CheckConstraint(
            "action IN ('added', 'changed', 'deactivated', 'activated', 'pin_set')",
            name="action",
        ),
        Index("ix_master_changes_kind_code", "kind", "code"),
    )


class SkuClassRow(Base):
    """The ABC class of a SKU for cycle counting (migration 0009), with what it was computed
    from: the units picked over the policy's window and their value. Written by each count
    planning; a SKU without a row is class C."""

    __tablename__ = "sku_classes"
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), primary_key=True)
    abc: Mapped[str] = mapped_column(String(1))
    picked_units: Mapped[int] = mapped_column(BigInteger)
    usage_value_cents: Mapped[int] = mapped_column(BigInteger)
    computed_on: Mapped[date] = mapped_column(Date)
    __table_args__ = (CheckConstraint("abc IN ('A', 'B', 'C')", name="abc"),)


OPEN_EXCEPTION = "state = 'open'"


class ExceptionRow(Base):
    """One thing waiting on a person (migration 0009; app/domain/exceptions.py): raised by the
    ledger transaction that made it, decided by a supervisor's `Decide` transaction. `ref` names
    its subject (a count task, a hold, a transaction): at most one open exception per kind and
    subject. `what` says what happened, in words, as it was raised."""

    __tablename__ = "exceptions"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    state: Mapped[str] = mapped_column(String(16), server_default="open", index=True)
    ref: Mapped[str] = mapped_column(String(64))
    what: Mapped[str] = mapped_column(Text)
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    sku_id: Mapped[int | None] = mapped_column(ForeignKey("skus.id"))
    lot: Mapped[str | None] = mapped_column(String(64))
    qty: Mapped[int | None] = mapped_column(Integer)
    raised_tx_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    raised_by_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"))
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())
    decided_tx_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    decision_reason: Mapped[str | None] = mapped_column(String(32))
    __table_args__ = (
        CheckConstraint("state IN ('open', 'approved', 'rejected', 'resolved')", name="state"),
        CheckConstraint(
            "kind IN ('count_variance', 'count_disagreement', 'short_pick', 'damaged_receipt', "
            "'receipt_tolerance', 'override', 'hold', 'refused_late')",
            name="kind",
        ),
        Index(
            "uq_exceptions_open",
            "kind",
            "ref",
            unique=True,
            postgresql_where=text(OPEN_EXCEPTION),
            sqlite_where=text(OPEN_EXCEPTION),
        ),
    )


REPLICATED = (
    SkuRow,
    BarcodeRow,
    LocationRow,
    OperatorRow,
    StationRow,
    ReceiptRow,
    ReceiptLineRow,
    OrderRow,
    CountTaskRow,
    QuantRow,
    WarehousePolicyRow,
    OperatorPinRow,
    HoldRow,
)
"""Tables with a `rev` stamp, copied by station replicas (migration 0005)."""
