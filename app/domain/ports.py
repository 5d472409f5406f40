"""What the services need from storage, as protocols. The SQL adapter implements them."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from types import TracebackType
from typing import Any, Protocol, Self

from app.domain.commands import CountLine
from app.domain.cycle_counts import PlanInputs, PlannedCount, SkuClass, SkuUsage
from app.domain.exceptions import ExceptionKind, ExceptionState
from app.domain.ledger import Candidate, InvariantReport, Outcome
from app.domain.model import (
    Location,
    Lot,
    Move,
    Operator,
    Quant,
    QuantKey,
    Reservation,
    ReservationState,
    Sku,
    Station,
)
from app.domain.orders import LineRecord, OrderHead, OrderState, Person, Staged
from app.domain.policy import WarehousePolicy
from app.domain.rules import PinCheck
from app.domain.stow import Content, Need, Space


class TransientDatabaseError(Exception):
    """A failure worth retrying with the same transaction id: lock conflict, deadlock, lost link."""


class DatabaseUnavailable(Exception):
    """Retries ran out; the transaction stays in the station's outbox."""


@dataclass(frozen=True)
class StoredTransaction:
    payload_hash: str
    outcome: Outcome


@dataclass(frozen=True)
class TransactionRecord:
    tx_id: uuid.UUID
    kind: str
    station_id: int | None
    operator_id: int | None
    station_time: datetime
    payload_hash: str
    payload: Mapping[str, Any]
    status: str
    reason: str | None
    message: str
    result: Mapping[str, Any]
    reference: str | None


@dataclass(frozen=True)
class SerialState:
    id: int
    code: str
    location_id: int | None


@dataclass(frozen=True)
class ReceiptHead:
    id: int
    code: str
    status: str
    closed_by: str | None = None
    closed_at: datetime | None = None


@dataclass(frozen=True)
class ReceiptFigure:
    """Expected against received units of one SKU on a receipt."""

    sku: str
    expected: int
    received: int

    @property
    def matches(self) -> bool:
        return self.expected == self.received


@dataclass(frozen=True)
class ExpectedLot:
    """A lot a receipt's line names for a SKU (None: the line leaves the lot open), with the
    expiry the line gives it."""

    lot: str | None
    expiry: date | None


@dataclass(frozen=True)
class HoldRecord:
    """A hold on a location or a lot (domain/holds.py), as a transaction found it."""

    id: int
    location_id: int | None
    lot_id: int | None
    reason: str
    placed_by: str
    """The badge of who placed it."""
    placed_at: datetime


@dataclass(frozen=True)
class CountTaskRecord:
    """A location's unfinished count task as a transaction found it (locked)."""

    id: int
    state: str
    counters: tuple[str, ...]
    first_counted: bool = False
    """Whether its first count is recorded (`first_counts`): later counts leave it be."""


class TransactionLog(Protocol):
    """The transactions themselves: one id, one stored outcome."""

    def claim_tx_id(self, tx_id: uuid.UUID) -> None:
        """Serialise concurrent attempts with one id (a no-op where writers are serial)."""

    def stored_transaction(self, tx_id: uuid.UUID) -> StoredTransaction | None: ...
    def record_transaction(self, record: TransactionRecord) -> None: ...
    def savepoint(self) -> AbstractContextManager[object]: ...


class Who(Protocol):
    """Who asks, and who approves: operators and the database's verdict on a PIN."""

    def operator(self, badge: str) -> Operator | None: ...
    def station(self, code: str) -> Station | None: ...
    def check_pin(self, badge: str, pin: str) -> PinCheck:
        """Verify a supervisor's PIN on the database side, counting a wrong one (kept even when
        the transaction is refused: it is written outside the handler's savepoint)."""


class Rules(Protocol):
    """The warehouse policy."""

    def policy(self) -> WarehousePolicy:
        """The warehouse policy, read once per transaction."""

    def set_policy(self, key: str, value: int, operator_id: int, tx_id: uuid.UUID) -> None: ...


class Catalogue(Protocol):
    """Items, locations, lots and serials."""

    def sku(self, code: str) -> Sku | None: ...
    def sku_by_id(self, sku_id: int) -> Sku: ...
    def skus_by_code(self, codes: Iterable[str]) -> dict[str, Sku]: ...
    def locations_by_code(self, codes: Iterable[str]) -> dict[str, Location]: ...
    def lots_by_code(self, keys: Iterable[tuple[int, str]]) -> dict[tuple[int, str], Lot]: ...
    def location(self, code: str) -> Location | None: ...
    def locations_by_id(self, ids: Iterable[int]) -> dict[int, Location]: ...
    def lot(self, sku_id: int, code: str) -> Lot | None: ...
    def lots_by_id(self, ids: Iterable[int]) -> dict[int, Lot]: ...
    def add_lot(self, sku_id: int, code: str, expiry: date | None) -> Lot: ...
    def set_lot_expiry(self, lot_id: int, expiry: date) -> Lot: ...
    def serials(self, sku_id: int, codes: Sequence[str]) -> dict[str, SerialState]: ...
    def add_serials(
        self, sku_id: int, lot_id: int, codes: Sequence[str]
    ) -> dict[str, SerialState]: ...
    def place_serials(self, serial_ids: Sequence[int], location_id: int | None) -> None: ...


class Balances(Protocol):
    """Balances, moves and reservations."""

    def lock_quants(self, keys: Iterable[QuantKey]) -> dict[QuantKey, Quant]:
        """Lock (creating where missing) the balance rows, always in sorted key order."""

    def write_moves(
        self, tx_id: uuid.UUID, moves: Sequence[Move], reserved: Mapping[QuantKey, int]
    ) -> None:
        """Append the moves and apply them and the reserved deltas to the locked balances."""

    def quants_at(self, location_id: int, sku_id: int) -> list[Quant]: ...
    def pick_candidates(
        self,
        sku_id: int,
        lot_id: int | None,
        location_id: int | None,
        limit: int,
        *,
        expiring_from: date,
    ) -> list[Candidate]:
        """Balances in bins that could serve a pick, first expiry first. Never held stock (a
        location or lot on hold), nor a lot that expires before `expiring_from`."""

    def add_reservation(
        self,
        tx_id: uuid.UUID,
        order_ref: str,
        order_line: int,
        key: QuantKey,
        qty: int,
        expires_at: datetime | None,
    ) -> int: ...
    def lock_reservation(self, reservation_id: int) -> Reservation | None: ...
    def lock_expired_reservations(self, now: datetime | None) -> list[Reservation]: ...
    def resolve_reservation(
        self, reservation_id: int, state: ReservationState, qty_posted: int, tx_id: uuid.UUID
    ) -> None: ...

    def invariant_report(self) -> InvariantReport: ...
    def picked_units(self, since: datetime) -> dict[int, int]:
        """Units picked per SKU id since a time, from the ledger's pick moves."""


class OrderBook(Protocol):
    """Orders (see domain/orders.py): locked in order, then lines, then reservations."""

    def lock_order(self, code: str) -> OrderHead | None: ...
    def lock_order_lines(self, order: OrderHead) -> list[LineRecord]:
        """The order's lines, locked, with their figures read after the lock."""

    def set_order_state(
        self,
        order: OrderHead,
        state: OrderState,
        now: datetime,
        claim: tuple[int, int] | bool | None = False,
    ) -> None: ...
    def touch_claim(self, order: OrderHead) -> None:
        """The claim's holder worked on it now (database clock): it is not idle."""

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
    ) -> None: ...
    def set_short_closed(self, line_id: int, qty: int) -> None: ...
    def open_reservation_ids(self, order_code: str) -> list[int]: ...
    def staged(self, lines: Sequence[LineRecord]) -> list[Staged]: ...
    def staged_orders_at(self, location_id: int) -> list[str]: ...
    def order_line_ids(self, order_code: str) -> dict[int, int]: ...
    def line_totals(self, line_ids: Sequence[int], reason: str) -> dict[int, int]:
        """Units moved per order line by moves with this reason (ship, return)."""

    def reservation(self, reservation_id: int) -> Reservation | None: ...
    def done_by(self, tx_id: uuid.UUID) -> tuple[Person, datetime] | None: ...


class BinSpace(Protocol):
    """Bin capacity and the holds of suggestions (see domain/stow.py)."""

    def lock_spaces(self, location_ids: Iterable[int]) -> dict[int, Space]:
        """Lock the capacity rows of those locations that are bins, in location order."""

    def take_holds(self, station_id: int, location_id: int, sku_id: int) -> int: ...
    def release_expired_holds(self, now: datetime | None) -> int: ...
    def try_hold(
        self,
        location_id: int,
        need: Need,
        sku_id: int,
        lot_id: int,
        station_id: int | None,
        expires_at: datetime,
    ) -> bool: ...
    def contents(self, location_ids: Sequence[int]) -> dict[int, list[Content]]: ...
    def sku_zone_units(self, sku_id: int) -> dict[str, int]: ...
    def sample_bins(
        self, need: Need, *, zone: str | None, order: str, start: int, limit: int
    ) -> list[Space]: ...
    def roomiest_bins(self, need: Need, *, zone: str | None, limit: int) -> list[Space]: ...
    def database_now(self) -> datetime: ...
    def set_velocity_classes(self, classes: Mapping[int, str]) -> None: ...


class WorkItems(Protocol):
    """Receipts and count tasks, written by transactions like the moves."""

    def lock_receipt(self, code: str) -> ReceiptHead | None: ...
    def receipt_figures(self, head: ReceiptHead) -> list[ReceiptFigure]: ...
    def receipt_lots(self, head: ReceiptHead, sku_id: int) -> list[ExpectedLot]:
        """What the receipt's lines of this SKU say of its lots, in line order."""

    def close_receipt(
        self,
        head: ReceiptHead,
        tx_id: uuid.UUID,
        closed_by_id: int,
        approved_by_id: int | None,
        discrepancies: Sequence[ReceiptFigure],
    ) -> None: ...
    def lock_count_task(self, location_id: int) -> CountTaskRecord | None:
        """The location's unfinished count task, with the location locked against others."""

    def insert_count_task(self, location_id: int, **values: Any) -> int: ...
    def update_count_task(self, task_id: int, **values: Any) -> None: ...


class HoldBook(Protocol):
    """Holds on locations and lots, placed and released by ledger transactions."""

    def active_holds(self, location_ids: Iterable[int], lot_ids: Iterable[int]) -> list[HoldRecord]:
        """The active holds on any of these locations or lots."""

    def lock_active_hold(self, location_id: int | None, lot_id: int | None) -> HoldRecord | None:
        """The active hold on the location (or the lot), locked against another release."""

    def add_hold(
        self,
        location_id: int | None,
        lot_id: int | None,
        reason: str,
        placed_by_id: int,
        tx_id: uuid.UUID,
    ) -> HoldRecord | None:
        """Place a hold; None when another transaction placed one on it meanwhile."""

    def release_hold(
        self, hold_id: int, released_by_id: int, tx_id: uuid.UUID, reason: str
    ) -> None: ...


# --- exceptions (app/domain/exceptions.py; app/adapters/db/exceptions.py) ---------------------


@dataclass(frozen=True)
class NewException:
    """An exception a transaction raises: what happened, where, and who did it."""

    kind: ExceptionKind
    ref: str
    """Its subject (`task:<id>`, `hold:<id>`, `receipt:<code>`, `tx:<id>`): at most one open
    exception per kind and subject."""
    what: str
    tx_id: uuid.UUID
    raised_by_id: int | None
    station_id: int | None
    location_id: int | None = None
    sku_id: int | None = None
    lot: str | None = None
    qty: int | None = None


@dataclass(frozen=True)
class ExceptionRecord:
    """An exception as a `Decide` transaction found it."""

    id: int
    kind: ExceptionKind
    state: ExceptionState
    ref: str
    what: str
    location_id: int | None
    sku_id: int | None
    lot: str | None
    decided_by: str | None
    """The badge of who decided it (or whose work resolved it)."""
    decided_at: datetime | None
    decision_reason: str | None


@dataclass(frozen=True)
class SavedCount:
    """A count task's saved count: what was counted, against which ledger position, by whom."""

    task_id: int
    location_id: int
    state: str
    counts: tuple[CountLine, ...]
    snapshot: tuple[CountLine, ...]
    counters: tuple[str, ...]


class ExceptionBook(Protocol):
    """The exceptions list, raised and decided by ledger transactions."""

    def raise_exception(self, new: NewException) -> int | None:
        """Add an open exception; None when one of its kind and subject is open already."""

    def resolve_exceptions(
        self, kinds: Iterable[ExceptionKind], ref: str, tx_id: uuid.UUID, by_id: int
    ) -> int:
        """Mark the open exceptions of these kinds on `ref` resolved by the work itself."""

    def exception(self, exception_id: int, lock: bool = False) -> ExceptionRecord | None: ...
    def decide_exception(
        self,
        exception_id: int,
        state: ExceptionState,
        tx_id: uuid.UUID,
        by_id: int,
        reason: str,
    ) -> None: ...
    def saved_count(self, task_id: int) -> SavedCount | None:
        """A count task's saved count (read after its location is locked)."""


# --- cycle-count planning (app/services/count_planning.py) ------------------------------------


class CountPlanner(Protocol):
    """What the count planning and task assignment read and write (adapters/db/count_planning.py):
    set-based, one query per kind of input for a whole zone."""

    def lock_count_planning(self) -> None:
        """Serialise count plannings (two at once would plan the same bins)."""

    def zone_known(self, zone: str) -> bool:
        """Whether any location is in this zone."""

    def zones(self) -> list[str]:
        """Every zone some location is in, in order."""

    def sku_usage(self, since: date, until: date) -> list[SkuUsage]:
        """Units picked per SKU on these days (station clock), with its unit value."""

    def count_plan_inputs(
        self, day: date, zone: str | None, sku_classes: Mapping[int, str], policy: WarehousePolicy
    ) -> PlanInputs: ...
    def save_sku_classes(self, classes: Iterable[SkuClass], day: date) -> None: ...
    def add_planned_counts(
        self, day: date, planned: Sequence[PlannedCount], station_id: int, operator_id: int
    ) -> set[int]:
        """Open the planned tasks; the location ids whose task was opened."""

    def lock_unfinished_counts(self, location_ids: Iterable[int]) -> dict[int, int]:
        """location id -> unfinished task id, for those of these locations that have one."""

    def assign_counts(
        self, task_ids: Iterable[int], assigned_to: str | None, zone: str | None
    ) -> None: ...


class LedgerStore(
    TransactionLog,
    Who,
    Rules,
    Catalogue,
    Balances,
    OrderBook,
    BinSpace,
    WorkItems,
    HoldBook,
    ExceptionBook,
    CountPlanner,
    Protocol,
):
    """Reads and writes of one open database transaction: every narrower port at once (a
    handler takes the whole store; a rule takes only the port it reads, so that it can be
    tested against a small in-memory one)."""


class Link(Protocol):
    """Whether the shared database answers (app.adapters.db.link.Link watches it)."""

    @property
    def up(self) -> bool: ...
    @property
    def since(self) -> datetime:
        """When it last went up or down."""

    @property
    def why(self) -> str: ...
    def down(self, why: str) -> None:
        """Something failed for want of the database."""

    def confirmed(self) -> None:
        """Something went through."""


class UnitOfWork(Protocol):
    """One database transaction. Rolls back on exit unless `commit()` was called."""

    @property
    def store(self) -> LedgerStore: ...

    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    def commit(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]
