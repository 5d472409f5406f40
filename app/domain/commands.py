"""Transaction commands: what a station asks the ledger to do.

Every command carries an id generated on the station, the station and operator, and the station's
clock. The payload hash covers everything but the id, so that a resend with the same id and a
different payload can be told from an honest resend.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, ClassVar, Union, get_args, get_origin, get_type_hints

from app.domain.errors import Reason, Rejection
from app.domain.quantities import check_quantity

MAX_CODE_LENGTH = 64
"""Longest SKU, location, lot, serial or reference text accepted (GS1 AIs are at most 48)."""


class TxKind(StrEnum):
    RECEIVE = "receive"
    PUTAWAY = "putaway"
    TRANSFER = "transfer"
    RESERVE = "reserve"
    POST_PICK = "post_pick"
    VOID = "void"
    EXPIRE = "expire"
    SHIP = "ship"
    RETURN = "return"
    ADJUST = "adjust"
    SCRAP = "scrap"
    OPENING = "opening"
    TAKE_LIST = "take_list"
    RELEASE_LIST = "release_list"
    SHIP_ORDER = "ship_order"
    CANCEL_ORDER = "cancel_order"
    CLOSE_RECEIPT = "close_receipt"
    RAISE_COUNT = "raise_count"
    SAVE_COUNT = "save_count"
    HOLD_BIN = "hold_bin"
    SET_POLICY = "set_policy"
    HOLD = "hold"
    RELEASE_HOLD = "release_hold"
    PLAN_COUNTS = "plan_counts"
    ASSIGN_COUNT = "assign_count"
    DECIDE = "decide"


class AdjustReason(StrEnum):
    """Reason codes for count adjustments."""

    COUNT = "count"
    DAMAGED = "damaged"
    FOUND = "found"
    LOST = "lost"
    EXPIRED = "expired"
    CORRECTION = "correction"


class ReturnReason(StrEnum):
    """Why a customer sent goods back (scanned as `@CMD:REASON:<CODE>` at a return)."""

    DAMAGED = "damaged"
    WRONG_ITEM = "wrong_item"
    NOT_WANTED = "not_wanted"
    DEFECTIVE = "defective"
    OTHER = "other"


class ReleaseReason(StrEnum):
    """Why a supervisor lets held stock go (`ReleaseHold`, `@CMD:REASON:<CODE>`)."""

    INSPECTED_OK = "inspected_ok"
    """Inspected and fit to sell: the hold is lifted, or the goods move to a location."""
    RETURNED_TO_VENDOR = "returned_to_vendor"
    """Sent back to the supplier: the goods leave stock to VENDOR."""
    SCRAPPED = "scrapped"
    """Destroyed: the goods leave stock to SCRAP."""


class ReleaseHow(StrEnum):
    """How a picker lets go of a pick list (`ReleaseList`)."""

    FINISHED = "finished"
    """The walk is over: lines not picked are closed short (when anything was picked)."""
    KEEP = "keep"
    """Left for now: the open reservations stay for whoever takes the list next."""
    GIVE_BACK = "give_back"
    """Left, and every open reservation of the order is given back to stock."""


def new_tx_id() -> uuid.UUID:
    return uuid.uuid4()


def utc_now() -> datetime:
    return datetime.now(UTC)


def _jsonable(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


@dataclass(frozen=True, kw_only=True)
class Command:
    kind: ClassVar[TxKind]
    added_later: ClassVar[frozenset[str]] = frozenset()
    """Fields added after commands of this kind were first stored. They are left out of the
    payload while they hold their default, so that the payload (and its hash) of a command stored
    before they existed stays the same and an old outbox entry still replays as an honest resend."""

    tx_id: uuid.UUID
    station: str
    operator: str
    station_time: datetime = field(default_factory=utc_now)
    approver_pin: str | None = field(default=None, repr=False, compare=False)
    """The PIN of the supervisor named by `approver`, for the database to verify in the same
    transaction. A secret: never part of the payload, its hash or the stored transaction; a
    station's outbox keeps it only until the transaction is sent."""

    self_approved: ClassVar[bool] = False
    """Whether the operator is the one who must prove their PIN (a supervisor's own act, such
    as changing the policy), rather than a second person approving someone's work."""

    def __post_init__(self) -> None:
        if self.station_time.tzinfo is None:
            raise Rejection(Reason.BAD_INPUT, "the station clock must carry a time zone")
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, str):
                _check_text(f.name, value)
            elif isinstance(value, tuple):
                for item in value:
                    if isinstance(item, str):
                        _check_text(f.name, item)

    def payload(self) -> dict[str, Any]:
        """Everything but the id, as JSON-ready values."""
        data = {
            f.name: _jsonable(getattr(self, f.name))
            for f in dataclasses.fields(self)
            if f.name not in self.added_later or getattr(self, f.name) != f.default
        }
        del data["tx_id"], data["approver_pin"]
        data["kind"] = self.kind.value
        return data

    def payload_hash(self) -> str:
        text = json.dumps(self.payload(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def reference(self) -> str | None:
        """The receipt or order this transaction belongs to, for reports."""
        return None

    @property
    def approver(self) -> str | None:
        """The badge whose PIN (`approver_pin`) the ledger verifies before it applies this."""
        if self.self_approved:
            return self.operator
        badge = getattr(self, "approved_by", None) or getattr(self, "takeover_by", None)
        return str(badge) if badge else None


def _check_text(name: str, value: str) -> None:
    if len(value) > MAX_CODE_LENGTH:
        raise Rejection(
            Reason.BAD_INPUT, f"{name} is {len(value)} characters long; at most {MAX_CODE_LENGTH}"
        )
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise Rejection(Reason.BAD_INPUT, f"{name} contains control characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise Rejection(Reason.BAD_INPUT, f"{name} is not valid text") from None


@dataclass(frozen=True, kw_only=True)
class LineCommand(Command):
    """A command that moves a quantity of one SKU (and lot, and serials where tracked)."""

    sku: str
    qty: int
    lot: str | None = None
    serials: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.qty, bool) or not isinstance(self.qty, int) or self.qty <= 0:
            raise Rejection(
                Reason.BAD_QUANTITY, f"quantity must be a whole number above 0, not {self.qty!r}"
            )
        check_quantity("quantity", self.qty)


@dataclass(frozen=True, kw_only=True)
class Receive(LineCommand):
    """VENDOR -> a dock lane (or quarantine when damaged)."""

    kind: ClassVar[TxKind] = TxKind.RECEIVE
    added_later: ClassVar[frozenset[str]] = frozenset({"approved_by"})
    to_location: str
    expiry: date | None = None
    receipt: str | None = None
    approved_by: str | None = None
    """The supervisor who approved receiving beyond the receipt's tolerance."""

    @property
    def reference(self) -> str | None:
        return self.receipt


@dataclass(frozen=True, kw_only=True)
class Putaway(LineCommand):
    """A dock, staging, returns or quarantine location -> a bin.

    `suggested` is the bin the station suggested, if any: a putaway elsewhere is an override,
    accepted when the bin has room and recorded as one.
    """

    kind: ClassVar[TxKind] = TxKind.PUTAWAY
    added_later: ClassVar[frozenset[str]] = frozenset({"order"})
    from_location: str
    to_location: str
    suggested: str | None = None
    order: str | None = None
    """A cancelled order whose picked goods go back to stock from the outbound location."""

    @property
    def reference(self) -> str | None:
        return self.order


@dataclass(frozen=True, kw_only=True)
class Transfer(LineCommand):
    """Any real location -> any other real location."""

    kind: ClassVar[TxKind] = TxKind.TRANSFER
    from_location: str
    to_location: str


@dataclass(frozen=True, kw_only=True)
class Ship(LineCommand):
    """Staging or outbound -> CUSTOMER."""

    kind: ClassVar[TxKind] = TxKind.SHIP
    from_location: str
    order: str | None = None

    @property
    def reference(self) -> str | None:
        return self.order


@dataclass(frozen=True, kw_only=True)
class Return(LineCommand):
    """CUSTOMER -> a returns lane, to be inspected."""

    kind: ClassVar[TxKind] = TxKind.RETURN
    added_later: ClassVar[frozenset[str]] = frozenset({"reason", "approved_by"})
    to_location: str
    order: str | None = None
    reason: ReturnReason | None = None
    approved_by: str | None = None
    """The supervisor who accepted goods the order never shipped (an unexpected return)."""

    @property
    def reference(self) -> str | None:
        return self.order


@dataclass(frozen=True, kw_only=True)
class Scrap(LineCommand):
    """A real location -> SCRAP, with a reason."""

    kind: ClassVar[TxKind] = TxKind.SCRAP
    from_location: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class Adjust(Command):
    """A count gain (ADJUSTMENT -> location) or loss (location -> ADJUSTMENT) with a reason code."""

    kind: ClassVar[TxKind] = TxKind.ADJUST
    sku: str
    location: str
    delta: int
    reason: AdjustReason
    lot: str | None = None
    expiry: date | None = None
    serials: tuple[str, ...] = ()
    approved_by: str | None = None
    note: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.delta, bool) or not isinstance(self.delta, int) or self.delta == 0:
            raise Rejection(
                Reason.BAD_QUANTITY,
                f"an adjustment changes stock by a whole number, not {self.delta!r}",
            )
        check_quantity("an adjustment of", self.delta)


@dataclass(frozen=True, kw_only=True)
class Reserve(Command):
    """Allocate stock to an order line: first expiry first out, then pick sequence."""

    kind: ClassVar[TxKind] = TxKind.RESERVE
    added_later: ClassVar[frozenset[str]] = frozenset({"avoid"})
    order: str
    line: int
    sku: str
    qty: int
    location: str | None = None
    lot: str | None = None
    expires_at: datetime | None = None
    allow_partial: bool = False
    avoid: tuple[str, ...] = ()
    """Bins not to allocate from (a bin just found short, waiting for its count)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.qty, bool) or not isinstance(self.qty, int) or self.qty <= 0:
            raise Rejection(
                Reason.BAD_QUANTITY, f"quantity must be a whole number above 0, not {self.qty!r}"
            )
        check_quantity("quantity", self.qty)

    @property
    def reference(self) -> str | None:
        return self.order


@dataclass(frozen=True, kw_only=True)
class PostPick(Command):
    """Pick reserved stock: bin -> outbound tote or staging; picking less releases the rest."""

    kind: ClassVar[TxKind] = TxKind.POST_PICK
    added_later: ClassVar[frozenset[str]] = frozenset({"short_reason"})
    reservation: int
    qty: int
    to_location: str
    serials: tuple[str, ...] = ()
    short_reason: str | None = None
    """Why fewer than reserved were picked (a short pick), kept with the transaction."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.qty, bool) or not isinstance(self.qty, int) or self.qty < 0:
            raise Rejection(
                Reason.BAD_QUANTITY, f"picked quantity must be a whole number, not {self.qty!r}"
            )
        check_quantity("picked quantity", self.qty)


@dataclass(frozen=True, kw_only=True)
class Void(Command):
    """Release a reservation without picking."""

    kind: ClassVar[TxKind] = TxKind.VOID
    reservation: int


@dataclass(frozen=True, kw_only=True)
class Expire(Command):
    """Release every open reservation whose time ran out at `now` (database clock if None)."""

    kind: ClassVar[TxKind] = TxKind.EXPIRE
    now: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class OrderCommand(Command):
    """A command about one customer order as a whole."""

    order: str

    @property
    def reference(self) -> str | None:
        return self.order


@dataclass(frozen=True, kw_only=True)
class TakeList(OrderCommand):
    """Claim an order's pick list for this station and operator and reserve what is still open
    on its lines. With `takeover_by` (a supervisor's badge), the claim moves here from whoever
    holds it."""

    kind: ClassVar[TxKind] = TxKind.TAKE_LIST
    takeover_by: str | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class ReleaseList(OrderCommand):
    """Let go of the claim on an order's pick list (see ReleaseHow)."""

    kind: ClassVar[TxKind] = TxKind.RELEASE_LIST
    how: ReleaseHow


@dataclass(frozen=True, kw_only=True)
class ShipOrder(OrderCommand):
    """Ship what is staged for a picked order: outbound -> CUSTOMER, in one transaction."""

    kind: ClassVar[TxKind] = TxKind.SHIP_ORDER
    approved_by: str | None = None
    """The supervisor who approved shipping lines short beyond the tolerance."""
    carrier_reference: str | None = None


@dataclass(frozen=True, kw_only=True)
class CancelOrder(OrderCommand):
    """Cancel an order not shipped: its open reservations are given back; what was picked is
    left as a putaway task from the outbound location back to stock."""

    kind: ClassVar[TxKind] = TxKind.CANCEL_ORDER
    reason: str
    approved_by: str | None = None


@dataclass(frozen=True, slots=True)
class OpeningLine:
    sku: str
    location: str
    qty: int
    lot: str | None = None
    expiry: date | None = None


@dataclass(frozen=True, kw_only=True)
class Opening(Command):
    """Opening balances: VENDOR -> bins, for loading a warehouse (demo data, a go-live)."""

    kind: ClassVar[TxKind] = TxKind.OPENING
    lines: tuple[OpeningLine, ...]

    def __post_init__(self) -> None:
        super().__post_init__()
        for line in self.lines:
            check_quantity(f"opening quantity of {line.sku}", line.qty)

    def payload(self) -> dict[str, Any]:
        data = super().payload()
        data["lines"] = [_jsonable(dataclasses.asdict(line)) for line in self.lines]
        return data


@dataclass(frozen=True, kw_only=True)
class CloseReceipt(Command):
    """Close an expected receipt. The ledger stores who closed it, when, the supervisor who
    accepted a short close, and the discrepancies it finds between the receipt's lines and what
    was received against it."""

    kind: ClassVar[TxKind] = TxKind.CLOSE_RECEIPT
    receipt: str
    approved_by: str | None = None

    @property
    def reference(self) -> str | None:
        return self.receipt


@dataclass(frozen=True, slots=True)
class CountLine:
    """Units of one SKU (and lot) in a bin: counted, or the ledger's position when counted."""

    sku: str
    qty: int
    lot: str | None = None


COUNT_STATES = ("open", "recount", "approval", "done")
"""The states of a count task (domain/workflow.CountState), as stored."""


class CountOrigin(StrEnum):
    """Where a count task came from (stored as `count_tasks.origin`)."""

    EVENT = "event"
    """Raised by something that happened: a short pick, a doubt (`RaiseCount`)."""
    COUNTER = "counter"
    """A counter scanned a bin that had no task."""
    PLAN = "plan"
    """A count planning: an event in the ledger, or a location due by its ABC class."""
    SAMPLE = "sample"
    """The count planning's daily random sample."""


@dataclass(frozen=True, kw_only=True)
class RaiseCount(Command):
    """Open a count task for a location (a short pick, a doubt); one already open stays."""

    kind: ClassVar[TxKind] = TxKind.RAISE_COUNT
    location: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class SaveCount(Command):
    """Record a count on the location's unfinished task (opening one if none is) and move the
    task to `state`: `counter` is the operator whose count it is (joins the task's counters),
    `counts` what they counted, `snapshot` the ledger's position they counted against."""

    kind: ClassVar[TxKind] = TxKind.SAVE_COUNT
    location: str
    state: str
    counter: str
    counts: tuple[CountLine, ...] = ()
    snapshot: tuple[CountLine, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.state not in COUNT_STATES:
            raise Rejection(Reason.BAD_INPUT, f"a count task cannot be {self.state!r}")
        for line in (*self.counts, *self.snapshot):
            check_quantity(f"counted quantity of {line.sku}", line.qty)

    def payload(self) -> dict[str, Any]:
        data = super().payload()
        data["counts"] = [_jsonable(dataclasses.asdict(line)) for line in self.counts]
        data["snapshot"] = [_jsonable(dataclasses.asdict(line)) for line in self.snapshot]
        return data


@dataclass(frozen=True, kw_only=True)
class HoldBin(Command):
    """Ask the stow policy for a bin for `qty` of a SKU and hold its room for a while (the
    suggestion a putaway offers). Only worth sending now: a station that cannot reach the ledger
    drops it instead of queueing it (see EPHEMERAL)."""

    kind: ClassVar[TxKind] = TxKind.HOLD_BIN
    sku: str
    qty: int
    lot: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        check_quantity("quantity", self.qty)


@dataclass(frozen=True, kw_only=True)
class SetPolicy(Command):
    """Change one key of the warehouse policy (app/domain/policy.py). Only a supervisor, with
    their own PIN."""

    kind: ClassVar[TxKind] = TxKind.SET_POLICY
    self_approved: ClassVar[bool] = True
    key: str
    value: int


@dataclass(frozen=True, kw_only=True)
class Hold(Command):
    """Put a location, or a lot of a SKU, on hold: its stock cannot be picked, transferred or
    shipped until a supervisor releases it (`ReleaseHold`). Exactly one of `location` and `lot`
    (a lot names its `sku`)."""

    kind: ClassVar[TxKind] = TxKind.HOLD
    reason: str
    location: str | None = None
    sku: str | None = None
    lot: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if (self.location is None) == (self.lot is None):
            raise Rejection(Reason.BAD_INPUT, "a hold is on a location or on a lot, not both")
        if self.lot is not None and self.sku is None:
            raise Rejection(Reason.BAD_INPUT, "a hold on a lot names its SKU")


@dataclass(frozen=True, kw_only=True)
class ReleaseHold(Command):
    """A supervisor's release of held stock, with badge and PIN (`approved_by`, who may be the
    operator), recorded with its reason.

    Without `qty`: the hold on `location`, or on `lot` of `sku`, is lifted (INSPECTED_OK only).
    With `sku` and `qty`: that stock (of `lot`, if given) leaves the held `location` (a
    quarantine location, a location on hold, or a lot on hold there): INSPECTED_OK moves it to
    `to_location`, RETURNED_TO_VENDOR to VENDOR, SCRAPPED to SCRAP; a hold itself stays."""

    kind: ClassVar[TxKind] = TxKind.RELEASE_HOLD
    reason: ReleaseReason
    approved_by: str
    location: str | None = None
    sku: str | None = None
    lot: str | None = None
    qty: int | None = None
    to_location: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.qty is not None:
            if isinstance(self.qty, bool) or not isinstance(self.qty, int) or self.qty <= 0:
                raise Rejection(
                    Reason.BAD_QUANTITY,
                    f"quantity must be a whole number above 0, not {self.qty!r}",
                )
            check_quantity("quantity", self.qty)

    @property
    def approver(self) -> str | None:
        return self.approved_by


@dataclass(frozen=True, kw_only=True)
class PlanCounts(Command):
    """Plan the cycle counts of `day` (in `zone`, or every zone): the ledger transaction runs the
    planner (app/domain/cycle_counts.py) on what it finds and writes the tasks, once per id.
    A supervisor's."""

    kind: ClassVar[TxKind] = TxKind.PLAN_COUNTS
    day: date
    zone: str | None = None


@dataclass(frozen=True, kw_only=True)
class AssignCount(Command):
    """Assign the unfinished count tasks of `locations` to a counter (`to`, a badge), to the
    counters of a zone (`zone`), or, with neither, to anyone. A supervisor's."""

    kind: ClassVar[TxKind] = TxKind.ASSIGN_COUNT
    locations: tuple[str, ...]
    to: str | None = None
    zone: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.locations:
            raise Rejection(Reason.BAD_INPUT, "name at least one location to assign")
        if self.to and self.zone:
            raise Rejection(Reason.BAD_INPUT, "assign to a counter or to a zone, not both")


@dataclass(frozen=True, kw_only=True)
class Decide(Command):
    """A supervisor's decision on exception `exception` (app/domain/exceptions.py): `decision`
    is "approve" or "reject", `reason` a reason code the exception's kind accepts. `approved_by`
    is the deciding supervisor (badge and PIN, who may be the operator); what the decision does
    depends on the kind, and is done in the same transaction."""

    kind: ClassVar[TxKind] = TxKind.DECIDE
    exception: int
    decision: str
    reason: str
    approved_by: str

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.decision not in ("approve", "reject"):
            raise Rejection(
                Reason.BAD_INPUT, f"a decision is approve or reject, not {self.decision!r}"
            )

    @property
    def approver(self) -> str | None:
        return self.approved_by


EPHEMERAL: frozenset[TxKind] = frozenset({TxKind.HOLD_BIN})
"""Transactions that only mean something now: never queued to be sent after an outage."""


COMMAND_TYPES: dict[TxKind, type[Command]] = {
    cls.kind: cls
    for cls in (
        Receive,
        Putaway,
        Transfer,
        Ship,
        Return,
        Scrap,
        Adjust,
        Reserve,
        PostPick,
        Void,
        Expire,
        Opening,
        TakeList,
        ReleaseList,
        ShipOrder,
        CancelOrder,
        CloseReceipt,
        RaiseCount,
        SaveCount,
        HoldBin,
        SetPolicy,
        Hold,
        ReleaseHold,
        PlanCounts,
        AssignCount,
        Decide,
    )
}


def _decode(hint: Any, value: Any) -> Any:
    """Rebuild a field value from its JSON form, guided by the field's type hint."""
    if value is None:
        return None
    origin, args = get_origin(hint), get_args(hint)
    if origin in (types.UnionType, Union):
        inner = [a for a in args if a is not type(None)]
        return _decode(inner[0], value)
    if origin is tuple:
        return tuple(_decode(args[0], v) for v in value)
    if hint is datetime:
        return datetime.fromisoformat(value)
    if hint is date:
        return date.fromisoformat(value)
    if hint is uuid.UUID:
        return uuid.UUID(value)
    if isinstance(hint, type) and issubclass(hint, StrEnum):
        return hint(value)
    if hint in (OpeningLine, CountLine):
        return hint(**{k: _decode(h, value.get(k)) for k, h in get_type_hints(hint).items()})
    return value


def command_from_payload(tx_id: uuid.UUID, payload: dict[str, Any]) -> Command:
    """The command that `payload()` came from; Rejection(BAD_INPUT) for a malformed payload."""
    try:
        cls = COMMAND_TYPES[TxKind(payload["kind"])]
        hints = get_type_hints(cls)
        names = {f.name for f in dataclasses.fields(cls)} - {"tx_id"}
        values = {name: _decode(hints[name], payload[name]) for name in names if name in payload}
        return cls(tx_id=tx_id, **values)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise Rejection(Reason.BAD_INPUT, f"not a transaction payload: {error}") from None
