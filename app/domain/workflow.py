"""What every station workflow shares (DESIGN.md section 5): the reply a state machine gives, the
inputs it takes, the station's view of the warehouse it reads through, and its policy.

A workflow is a pure-Python state machine. It takes interpreted scans, RFID tag reads, keypad
entries and the ledger's answers to the transactions it asked for, and returns a `Reply`: the next
prompt, the feedback for what just happened, and the transactions to submit. It never talks to a
database or a widget itself: reads go through the `StationData` port, which the station's database
worker implements, and transactions go back to the station session, which writes them to the
outbox before sending them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from app.domain.commands import Command
from app.domain.interpret import Interpretation, StationMode
from app.domain.ledger import Outcome
from app.domain.model import Operator, Role, Tracking

if TYPE_CHECKING:
    from app.domain.approval import PinGuard
    from app.domain.orders import Claim, OrderState
    from app.domain.rules import PinCheck


class Level(StrEnum):
    """The colour of the feedback banner and the sound that goes with it."""

    OK = "ok"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Feedback:
    level: Level
    text: str


def ok(text: str) -> Feedback:
    return Feedback(Level.OK, text)


def warning(text: str) -> Feedback:
    return Feedback(Level.WARNING, text)


def error(text: str) -> Feedback:
    return Feedback(Level.ERROR, text)


class Entry(StrEnum):
    """What the on-screen keypad is for at this step (None: the keypad is not needed)."""

    QUANTITY = "quantity"
    PIN = "pin"


@dataclass(frozen=True, slots=True)
class Reply:
    """What the station shows and does after one input.

    `prompt` is the next instruction in large type; `lines` are context shown under it (receipt
    progress, the pick line, a discrepancy report), plain text; `commands` are the transactions to
    submit, in order; the session feeds each one's outcome back through `on_outcome`.
    """

    prompt: str
    feedback: Feedback | None = None
    commands: tuple[Command, ...] = ()
    lines: tuple[str, ...] = ()
    entry: Entry | None = None


@dataclass(frozen=True, slots=True)
class TagRead:
    """One RFID tag in the reader's field, as the reader adapter decoded its EPC."""

    epc: str
    gtin: str | None = None
    serial: str | None = None
    sscc: str | None = None


# --- what a workflow reads about the warehouse -------------------------------------------------


@dataclass(frozen=True, slots=True)
class StationInfo:
    """The station and the fixed places its workflows use (codes of real locations)."""

    code: str
    zone: str | None
    dock: str | None
    """The station's dock lane: receipts land here, putaway takes from here."""
    quarantine: str | None
    returns: str | None


@dataclass(frozen=True, slots=True)
class SkuInfo:
    code: str
    name: str
    tracking: Tracking
    gtin: str | None = None
    min_shelf_days: int | None = None
    """The fewest days of shelf life a lot must have left to be received (expiry.py)."""


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    line: int
    sku: str
    qty: int
    lot: str | None = None
    expiry: date | None = None


@dataclass(frozen=True, slots=True)
class Receipt:
    """An expected receipt (ASN or purchase order) and what has been received against it."""

    code: str
    status: str
    """open or closed"""
    lines: tuple[ReceiptLine, ...]
    received: Mapping[str, int] = field(default_factory=dict)
    """Units per SKU code received against this receipt so far (confirmed receives, damaged
    ones included)."""

    def expected(self, sku: str) -> int:
        return sum(line.qty for line in self.lines if line.sku == sku)


@dataclass(frozen=True, slots=True)
class Holding:
    """A quantity of one SKU (and lot) at one location."""

    sku: str
    lot: str | None
    qty: int


@dataclass(frozen=True, slots=True)
class PickLine:
    """An open reservation: what to pick from which bin for which order line."""

    reservation: int
    order: str
    line: int
    sku: str
    lot: str | None
    location: str
    pick_sequence: int
    qty: int


@dataclass(frozen=True, slots=True)
class Putback:
    """Goods picked for an order that was then cancelled, still in an outbound or staging
    location: the putaway screen offers them for a putaway back into a bin."""

    order: str
    location: str
    sku: str
    lot: str | None
    qty: int


@dataclass(frozen=True, slots=True)
class ShipmentLine:
    """One order line as the ship station shows it."""

    line: int
    sku: str
    ordered: int
    picked: int = 0
    shipped: int = 0
    staged: int = 0
    """Units picked for the line that still stand in outbound or staging locations."""


@dataclass(frozen=True, slots=True)
class StagedGoods:
    """Picked goods of an order standing in an outbound or staging location."""

    location: str
    sku: str
    lot: str | None
    qty: int


@dataclass(frozen=True, slots=True)
class Shipment:
    """An order as the ship station sees it: its state, its lines, where its picks stand."""

    order: str
    state: OrderState
    lines: tuple[ShipmentLine, ...]
    staged: tuple[StagedGoods, ...] = ()
    claim: Claim | None = None

    @property
    def locations(self) -> tuple[str, ...]:
        """The outbound or staging locations holding the order's picks, in code order."""
        return tuple(sorted({goods.location for goods in self.staged}))


class CountState(StrEnum):
    OPEN = "open"
    """Raised (by a supervisor, a short pick, or a counter scanning the bin), not yet counted."""
    RECOUNT = "recount"
    """The first count was beyond tolerance: another operator must count again."""
    APPROVAL = "approval"
    """The recount was beyond tolerance too: a supervisor must approve with a reason code."""
    DONE = "done"


@dataclass(frozen=True, slots=True)
class CountTask:
    id: int
    location: str
    state: CountState
    reason: str
    counted_by: str | None = None
    """Badge of the operator whose count moved the task to RECOUNT or APPROVAL (the latest)."""
    counts: tuple[Holding, ...] = ()
    """That count, per SKU and lot."""
    snapshot: tuple[Holding, ...] = ()
    """The ledger position of the bin when that count started."""
    counters: tuple[str, ...] = ()
    """Badges of everyone whose count is recorded on the task, first counter first: none of
    them may approve it (RELIABILITY.md promise 9)."""
    assigned_to: str | None = None
    """The badge of the counter a supervisor assigned the task to (None: anyone's)."""
    zone: str | None = None
    """The zone whose counters the task is assigned to (None: any zone's)."""


@dataclass(frozen=True, slots=True)
class CountTaskChoice:
    """An unfinished count task as the count screen lists it: a bin on the pick path.

    `reason` says why the task exists and may name quantities (a short pick's does), so only a
    supervisor is shown it: a counter sees the bin's code, and counts blind."""

    location: str
    state: CountState
    pick_sequence: int
    reason: str
    assigned_to: str | None = None
    zone: str | None = None
    counters: tuple[str, ...] = ()
    """Everyone whose count is recorded on the task (the latest counter included)."""

    def open_to(self, badge: str, zone: str | None, supervisor: bool) -> bool:
        """May the operator `badge`, at a station of `zone`, do this task now?

        An open task, or a recount they have not counted, assigned to them, or to nobody and to
        no zone or their station's; for a supervisor also an approval they did not count. A
        recount whose assignee made the first count is anyone's: they may not count it again."""
        if self.state is CountState.APPROVAL:
            return supervisor and badge not in self.counters
        if self.state is CountState.DONE:
            return False
        assignee = self.assigned_to
        if self.state is CountState.RECOUNT:
            if badge in self.counters:
                return False
            if assignee in self.counters:
                assignee = None
        if assignee:
            return assignee == badge
        return self.zone is None or self.zone == zone


@dataclass(frozen=True, slots=True)
class Stock:
    """One SKU and lot at one real location, as a stock lookup shows it (`@CMD:LOOKUP`)."""

    location: str
    sku: str
    lot: str | None
    expiry: date | None
    on_hand: int
    reserved: int
    pick_sequence: int = 0

    @property
    def available(self) -> int:
        """What is free to reserve: on hand less what is reserved for pick lists."""
        return max(self.on_hand - self.reserved, 0)


@dataclass(frozen=True, slots=True)
class StockList:
    """Where a SKU stands: the first locations' lines in pick-path order, how many more
    locations hold it besides, and the totals over every location."""

    lines: tuple[Stock, ...]
    more: int = 0
    on_hand: int = 0
    reserved: int = 0

    @property
    def available(self) -> int:
        return max(self.on_hand - self.reserved, 0)

    @classmethod
    def capped(cls, lines: Sequence[Stock], limit: int) -> StockList:
        """The lines of the first `limit` locations of `lines` (in the order given), how many
        locations are left out, and the totals of all `lines`."""
        places = list(dict.fromkeys(s.location for s in lines))
        shown = set(places[: max(limit, 0)])
        return cls(
            tuple(s for s in lines if s.location in shown),
            len(places) - len(shown),
            sum(s.on_hand for s in lines),
            sum(s.reserved for s in lines),
        )


@dataclass(frozen=True, slots=True)
class Freshness:
    """How current a station's reads are: `live` from the database, else the station's copy
    as of its last refresh, `copied_at` (None: never copied yet)."""

    live: bool
    copied_at: datetime | None = None


class StationData(Protocol):
    """The warehouse as a workflow sees it: reads only. The station's replica answers them
    (app/adapters/replica.py), online or not; what a workflow changes leaves as a transaction in
    its reply. Codes are scanned text: implementations bind them as parameters, never format
    them into SQL."""

    def station(self, code: str) -> StationInfo | None: ...
    def operator(self, badge: str) -> Operator | None: ...
    def check_pin(self, badge: str, pin: str) -> PinCheck:
        """Check an active supervisor's PIN: in the database while it is in reach (which counts
        wrong attempts and lockouts for every station), else against the station's copy."""

    def policy(self) -> StationPolicy:
        """The warehouse policy's figures for a station (the database's, as last copied)."""

    def sku(self, code: str) -> SkuInfo | None: ...
    def sku_by_gtin(self, gtin: str) -> SkuInfo | None: ...
    def location_kind(self, code: str) -> str | None:
        """The LocationKind value of a real location, None for unknown or virtual codes."""

    def held(self, location: str, sku: str | None = None, lot: str | None = None) -> str | None:
        """Why stock in `location` (of `lot` of `sku`, if given) is held, in a refusal's words
        (domain/holds.hold_text); None when it is not. The ledger checks again."""

    def open_receipts(self, limit: int) -> list[str]:
        """Codes of open expected receipts, oldest first, to pick one on screen."""

    def open_orders(self, limit: int) -> list[str]:
        """Codes of orders with something left to pick (open or picking), highest priority
        first, then earliest due date, then oldest, to pick one on screen."""

    def open_order_count(self) -> int:
        """How many orders have something left to pick (to say how many are not shown)."""

    def order_claim(self, order: str) -> Claim | None:
        """Who holds the order's pick list now (None: nobody, or no such order)."""

    def shipment(self, order: str) -> Shipment | None:
        """The order's state and lines with what stands staged for it (None: no such order)."""

    def orders_at(self, location: str) -> list[str]:
        """Codes of orders with picked goods still standing in this location."""

    def shippable_orders(self, limit: int) -> list[str]:
        """Codes of picked orders waiting to ship, longest waiting first, to pick one on
        screen."""

    def receipt(self, code: str) -> Receipt | None:
        """The receipt with what was received against it (the station's own receives too)."""

    def open_picks(self, order: str) -> list[PickLine]:
        """The order's open reservations, in pick-path order."""

    def putbacks(self, limit: int) -> list[Putback]:
        """Picked goods of cancelled orders still in outbound or staging locations, per order,
        location, SKU and lot, oldest order first (the putaway task a cancellation leaves)."""

    def contents(self, location: str) -> list[Holding]:
        """What a location holds on hand, per SKU and lot (a bin's position, a dock's goods)."""

    def bin_room(self, location: str, sku: str, qty: int) -> str | None:
        """Offline: why `qty` of `sku` would not fit in the bin as far as the station knows
        (None: it fits, or the ledger will check it now, online)."""

    def count_task(self, location: str) -> CountTask | None:
        """The bin's unfinished count task (open, recount or approval), if any."""

    def count_tasks_for(
        self, badge: str, zone: str | None, limit: int, *, supervisor: bool = False
    ) -> list[CountTaskChoice]:
        """The first `limit` unfinished count tasks the operator `badge` may do now at a station
        of `zone` (CountTaskChoice.open_to), in pick-path order: the location's pick sequence,
        then its code."""

    def stock_at(self, location: str) -> list[Stock]:
        """What a real location holds on hand, per SKU and lot, with the lot's expiry and what
        is reserved of it, by SKU and lot ([] for unknown or virtual codes)."""

    def stock_of(self, sku: str, limit: int) -> StockList:
        """The real locations holding `sku` on hand, per lot, in pick-path order (then location
        code, then expiry): the lines of the first `limit` locations, and how many more hold it."""

    def freshness(self) -> Freshness:
        """How current these reads are (the replica's last refresh, or live)."""


# --- the policy a station works by ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tolerance:
    """How far a count or a receipt may stray before a person must look: at most `units`, or
    `percent` of the expected quantity, whichever is larger."""

    units: int = 0
    percent: int = 0

    def allows(self, expected: int, actual: int) -> bool:
        return abs(actual - expected) * 100 <= max(self.units * 100, self.percent * expected)


@dataclass(frozen=True, slots=True)
class StationPolicy:
    receipt_over: Tolerance = Tolerance(units=0, percent=10)
    receipt_under: Tolerance = Tolerance(units=0, percent=10)
    count: Tolerance = Tolerance(units=1, percent=5)
    pin_attempts: int = 3
    lockout_seconds: int = 300
    adjust: Tolerance = Tolerance(units=1, percent=5)
    """An adjustment beyond this needs a supervisor's approval (the ledger refuses it without)."""


MODES_BY_ROLE: dict[Role, tuple[StationMode, ...]] = {
    Role.DOCK: (
        StationMode.RECEIVE,
        StationMode.PUTAWAY,
        StationMode.TRANSFER,
        StationMode.RETURN,
        StationMode.SHIP,
    ),
    Role.PICKER: (StationMode.PICK, StationMode.TRANSFER),
    Role.COUNTER: (StationMode.COUNT, StationMode.TRANSFER),
    Role.SUPERVISOR: tuple(StationMode),
}


@dataclass(frozen=True, slots=True)
class WorkContext:
    """Who works where: fixed while one operator is logged in."""

    station: StationInfo
    operator: Operator
    policy: StationPolicy
    data: StationData
    pins: PinGuard
    """Station-wide PIN checks and lockouts, for supervisor approvals."""


class Workflow(Protocol):
    """One station mode's state machine. Every method returns the next Reply."""

    mode: StationMode

    def start(self) -> Reply:
        """The first prompt of the mode."""

    def on_scan(self, scan: Interpretation) -> Reply:
        """An accepted scan (never INVALID: the station refuses those before a workflow)."""

    def on_tags(self, tags: Sequence[TagRead]) -> Reply:
        """RFID tags read together (one reader burst)."""

    def on_entry(self, text: str) -> Reply:
        """Text from the on-screen keypad: a quantity or a PIN."""

    def on_outcome(self, command: Command, outcome: Outcome | None) -> Reply:
        """The ledger's answer to a command this workflow asked for; None when it stays queued
        because the database cannot be reached."""

    @property
    def wants_badge(self) -> bool:
        """True while the workflow waits for a supervisor's badge (so a badge scan is its
        input, not a login)."""

    @property
    def busy(self) -> bool:
        """True in the middle of a task (switching mode or logging out would abandon it)."""
