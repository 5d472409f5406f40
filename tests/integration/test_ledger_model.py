"""T8 (RELIABILITY.md): model-based test of the ledger.

A Hypothesis state machine drives the real services (`app.services.ledger.submit`) on a real
database and, step by step, a plain-Python model of the ledger: balances per (location, SKU, lot),
lots and their expiries, reservations and their states, and every transaction id sent with its
command and outcome. Before each step the model predicts confirmed or refused, the reason and the
result; after every step the database must agree with the model on every balance row,
reservation and lot, and the invariants of DESIGN.md section 1 must hold.

Each example gets its own database: a copy of a migrated and seeded SQLite file, or a PostgreSQL
database cloned from a seeded template database. Both are built once per module.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import shutil
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Protocol

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine, select

from app.adapters.db.engine import make_engine
from app.adapters.db.schema import LocationRow, LotRow, QuantRow, ReservationRow, SkuRow
from app.adapters.db.uow import SqlLedger
from app.domain.commands import (
    Adjust,
    AdjustReason,
    Command,
    Expire,
    PostPick,
    Putaway,
    Receive,
    Reserve,
    Return,
    Scrap,
    Ship,
    Transfer,
    Void,
)
from app.domain.errors import Reason
from app.domain.ledger import Outcome, Status
from app.domain.model import LocationKind, ReservationState, Role, Tracking, VirtualLocation
from app.services.ledger import submit
from tests.support.databases import PgServer
from tests.support.warehouse import LOCATIONS, OPERATORS, SEED_PINS, SKUS, STATIONS, seed

SQLITE_EXAMPLES = 300
POSTGRES_EXAMPLES = 40
STEPS = 20

# --- the seeded warehouse, as the model sees it ------------------------------------------------

TRACKING = {s.code: s.tracking for s in SKUS}
KIND = {loc.code: loc.kind for loc in LOCATIONS} | {
    v.value: LocationKind.VIRTUAL for v in VirtualLocation
}
PICK_SEQUENCE = {loc.code: loc.pick_sequence for loc in LOCATIONS}
INACTIVE_LOCATIONS = frozenset({"BLOCKED"})  # seed() blocks it
ROLES = {o.badge: o.role for o in OPERATORS}
INACTIVE_OPERATORS = frozenset({"GONE"})  # seed() disables it
DOCK, PICKER, COUNTER, SUPERVISOR = Role.DOCK, Role.PICKER, Role.COUNTER, Role.SUPERVISOR
MAY: dict[str, frozenset[Role]] = {
    "receive": frozenset({DOCK, SUPERVISOR}),
    "putaway": frozenset({DOCK, SUPERVISOR}),
    "transfer": frozenset({DOCK, PICKER, COUNTER, SUPERVISOR}),
    "ship": frozenset({DOCK, SUPERVISOR}),
    "return": frozenset({DOCK, SUPERVISOR}),
    "scrap": frozenset({DOCK, SUPERVISOR}),
    "adjust": frozenset({COUNTER, SUPERVISOR}),
    "reserve": frozenset({PICKER, SUPERVISOR}),
    "post_pick": frozenset({PICKER, SUPERVISOR}),
    "void": frozenset({PICKER, SUPERVISOR}),
    "expire": frozenset(Role),
}
"""Who may make each kind the model sends (the station modes of each role, and supervisors)."""
ADJUST_UNITS, ADJUST_PERCENT = 1, 5
"""An adjustment beyond this many units or percent of what the ledger holds there needs a
supervisor's approval (the warehouse policy's defaults, which seed() leaves as they are)."""
STATION_CODES = frozenset(s.code for s in STATIONS)

REAL_KINDS = tuple(k for k in LocationKind if k is not LocationKind.VIRTUAL)
REAL = tuple(code for code, kind in KIND.items() if kind is not LocationKind.VIRTUAL)
ACTIVE_REAL = tuple(code for code in REAL if code not in INACTIVE_LOCATIONS)
BINS = tuple(c for c in ACTIVE_REAL if KIND[c] is LocationKind.BIN)
RECEIVING = ("DOCK-1", "DOCK-2", "QUAR-1")
PUTAWAY_SOURCES = ("DOCK-1", "DOCK-2", "STAGE-1", "RET-1", "QUAR-1")
PICK_TARGETS = ("OUT-1", "STAGE-1")
SHIP_SOURCES = ("STAGE-1", "OUT-1")

PLAIN_SKUS = ("WIDGET", "BOLT")
LOT_SKU = "MILK"
STOCK_SKUS = (*PLAIN_SKUS, LOT_SKU)
# Every lot is created with this expiry, so that no two lots share one and FEFO has no ties.
# L2 expires before L1: FEFO order differs from code order. L3 (undated) is allocated last.
LOT_EXPIRY: dict[str, date | None] = {"L1": date(2031, 3, 1), "L2": date(2031, 1, 15), "L3": None}
WRONG_EXPIRY = date(2029, 12, 31)
T0 = datetime(2030, 6, 1, 8, 0, tzinfo=UTC)  # reservation deadlines and Expire clocks

Key = tuple[str, str, str | None]  # location code, SKU code, lot code (None: not lot-tracked)


# --- the model -----------------------------------------------------------------------------------


class Refused(Exception):
    def __init__(self, reason: Reason) -> None:
        super().__init__(reason.value)
        self.reason = reason


@dataclasses.dataclass
class ModelReservation:
    key: Key
    qty: int
    expires_at: datetime | None
    state: ReservationState = ReservationState.OPEN
    qty_posted: int = 0


@dataclasses.dataclass
class LedgerModel:
    """What the ledger should hold, with the rules of app/services/ledger.py in plain Python."""

    on_hand: dict[Key, int] = dataclasses.field(default_factory=dict)
    reserved: dict[Key, int] = dataclasses.field(default_factory=dict)
    lots: dict[tuple[str, str], date | None] = dataclasses.field(default_factory=dict)
    reservations: dict[int, ModelReservation] = dataclasses.field(default_factory=dict)
    made: list[ModelReservation] = dataclasses.field(default_factory=list)  # by the last command

    def clone(self) -> LedgerModel:
        return copy.deepcopy(self)

    def available(self, key: Key) -> int:
        return self.on_hand.get(key, 0) - self.reserved.get(key, 0)

    def held(self, locations: Sequence[str]) -> list[Key]:
        """Keys in these locations with stock that can be taken."""
        return sorted(
            (k for k in self.on_hand if k[0] in locations and self.available(k) > 0),
            key=lambda k: (k[0], k[1], k[2] or ""),
        )

    def bin_available(self, sku: str) -> int:
        return sum(
            self.available(k)
            for k in self.on_hand
            if k[1] == sku and k[0] in BINS and self.available(k) > 0
        )

    def open_ids(self) -> list[int]:
        return sorted(i for i, r in self.reservations.items() if r.state is ReservationState.OPEN)

    def resolved_ids(self) -> list[int]:
        return sorted(
            i for i, r in self.reservations.items() if r.state is not ReservationState.OPEN
        )

    # lookups that refuse, in the order the services check them

    @staticmethod
    def sku(code: str) -> Tracking:
        if code not in TRACKING:
            raise Refused(Reason.UNKNOWN_SKU)
        return TRACKING[code]

    @staticmethod
    def location(code: str, kinds: Sequence[LocationKind]) -> str:
        if code not in KIND:
            raise Refused(Reason.UNKNOWN_LOCATION)
        if code in INACTIVE_LOCATIONS:
            raise Refused(Reason.INACTIVE_LOCATION)
        if KIND[code] not in kinds:
            raise Refused(Reason.WRONG_LOCATION_KIND)
        return code

    @staticmethod
    def check_serials(tracking: Tracking, qty: int, serials: Sequence[str]) -> None:
        if tracking is not Tracking.SERIAL:
            if serials:
                raise Refused(Reason.SERIALS_NOT_TRACKED)
            return
        if len(serials) != qty:
            raise Refused(Reason.SERIALS_REQUIRED)

    def lot_for_take(
        self, sku: str, tracking: Tracking, lot: str | None, source: str
    ) -> str | None:
        if tracking is Tracking.NONE:
            if lot:
                raise Refused(Reason.LOT_NOT_TRACKED)
            return None
        if lot:
            if (sku, lot) not in self.lots:
                raise Refused(Reason.NOT_ENOUGH_STOCK)
            return lot
        if tracking is Tracking.SERIAL:
            return None
        held = [k for k in self.held([source]) if k[1] == sku]
        if len(held) == 1:
            return held[0][2]
        raise Refused(Reason.LOT_REQUIRED)

    def move(self, sku: str, lot: str | None, qty: int, source: str, target: str) -> dict[str, Any]:
        src, dst = (source, sku, lot), (target, sku, lot)
        if KIND[source] is not LocationKind.VIRTUAL and qty > self.available(src):
            raise Refused(Reason.NOT_ENOUGH_STOCK)
        self.on_hand[src] = self.on_hand.get(src, 0) - qty
        self.on_hand[dst] = self.on_hand.get(dst, 0) + qty
        return {"moves": 1, "qty": qty}

    def take_and_move(
        self,
        sku: str,
        qty: int,
        lot: str | None,
        serials: Sequence[str],
        source: str,
        target: str,
        held_too: bool = False,
    ) -> dict[str, Any]:
        tracking = self.sku(sku)
        self.check_serials(tracking, qty, serials)
        taken = self.lot_for_take(sku, tracking, lot, source)
        if not held_too and KIND[source] is LocationKind.QUARANTINE:
            raise Refused(Reason.HELD)  # quarantine holds its stock (the model places no holds)
        return self.move(sku, taken, qty, source, target)

    def add_lot(self, sku: str, lot: str, expiry: date | None) -> None:
        self.lots.setdefault((sku, lot), expiry)

    def release(self, reservation: ModelReservation, state: ReservationState, posted: int) -> None:
        self.reserved[reservation.key] -= reservation.qty
        reservation.state, reservation.qty_posted = state, posted

    def open_reservation(self, rid: int) -> ModelReservation:
        if rid not in self.reservations:
            raise Refused(Reason.UNKNOWN_RESERVATION)
        reservation = self.reservations[rid]
        if reservation.state is not ReservationState.OPEN:
            raise Refused(Reason.RESERVATION_RESOLVED)
        return reservation

    # the transactions

    def apply(self, cmd: Command) -> dict[str, Any]:
        """Apply `cmd` to this model and return the expected result, or raise Refused."""
        if cmd.station not in STATION_CODES:
            raise Refused(Reason.UNKNOWN_STATION)
        if cmd.operator not in ROLES:
            raise Refused(Reason.UNKNOWN_OPERATOR)
        if cmd.operator in INACTIVE_OPERATORS:
            raise Refused(Reason.INACTIVE_OPERATOR)
        if ROLES[cmd.operator] not in MAY[cmd.kind.value]:
            raise Refused(Reason.NOT_ALLOWED)
        handler: Callable[[Any], dict[str, Any]] = getattr(self, f"_{cmd.kind.value}")
        return handler(cmd)

    def _receive(self, cmd: Receive) -> dict[str, Any]:
        tracking = self.sku(cmd.sku)
        self.location(cmd.to_location, (LocationKind.DOCK, LocationKind.QUARANTINE))
        self.check_serials(tracking, cmd.qty, cmd.serials)
        if tracking is Tracking.LOT and not cmd.lot:
            raise Refused(Reason.LOT_REQUIRED)
        if cmd.lot:
            if tracking is Tracking.NONE:
                raise Refused(Reason.LOT_NOT_TRACKED)
            known = self.lots.get((cmd.sku, cmd.lot), None)
            if (cmd.sku, cmd.lot) not in self.lots:
                self.add_lot(cmd.sku, cmd.lot, cmd.expiry)
            elif cmd.expiry is not None and known is not None and known != cmd.expiry:
                raise Refused(Reason.EXPIRY_MISMATCH)
        moved = self.move(cmd.sku, cmd.lot or None, cmd.qty, "VENDOR", cmd.to_location)
        expiry = self.lots.get((cmd.sku, cmd.lot)) if cmd.lot else None
        return {**moved, "expiry": expiry.isoformat()} if expiry else moved

    def _putaway(self, cmd: Putaway) -> dict[str, Any]:
        kinds = (LocationKind.DOCK, LocationKind.STAGING, LocationKind.RETURNS)
        self.location(cmd.from_location, (*kinds, LocationKind.QUARANTINE))
        self.location(cmd.to_location, (LocationKind.BIN,))
        return self.take_and_move(
            cmd.sku, cmd.qty, cmd.lot, cmd.serials, cmd.from_location, cmd.to_location
        )

    def _transfer(self, cmd: Transfer) -> dict[str, Any]:
        self.location(cmd.from_location, REAL_KINDS)
        self.location(cmd.to_location, REAL_KINDS)
        if cmd.from_location == cmd.to_location:
            raise Refused(Reason.BAD_INPUT)
        return self.take_and_move(
            cmd.sku, cmd.qty, cmd.lot, cmd.serials, cmd.from_location, cmd.to_location
        )

    def _ship(self, cmd: Ship) -> dict[str, Any]:
        self.location(cmd.from_location, (LocationKind.STAGING, LocationKind.OUTBOUND))
        return self.take_and_move(
            cmd.sku, cmd.qty, cmd.lot, cmd.serials, cmd.from_location, "CUSTOMER"
        )

    def _return(self, cmd: Return) -> dict[str, Any]:
        tracking = self.sku(cmd.sku)
        self.location(cmd.to_location, (LocationKind.RETURNS,))
        self.check_serials(tracking, cmd.qty, cmd.serials)
        if cmd.lot:
            if tracking is Tracking.NONE:
                raise Refused(Reason.LOT_NOT_TRACKED)
            self.add_lot(cmd.sku, cmd.lot, None)
        elif tracking is Tracking.LOT:
            raise Refused(Reason.LOT_REQUIRED)
        if cmd.approved_by is None:  # the model ships to no order: only unexpected returns
            raise Refused(Reason.NOT_SHIPPED)
        moved = self.move(cmd.sku, cmd.lot or None, cmd.qty, "CUSTOMER", cmd.to_location)
        return {**moved, "unexpected": True}

    def _scrap(self, cmd: Scrap) -> dict[str, Any]:
        if not cmd.reason.strip():
            raise Refused(Reason.REASON_REQUIRED)
        self.location(cmd.from_location, REAL_KINDS)
        return self.take_and_move(
            cmd.sku, cmd.qty, cmd.lot, cmd.serials, cmd.from_location, "SCRAP", held_too=True
        )

    def _adjust(self, cmd: Adjust) -> dict[str, Any]:
        if cmd.approved_by is not None:
            approver = cmd.approved_by
            if (
                ROLES.get(approver) is not Role.SUPERVISOR
                or approver in INACTIVE_OPERATORS
                or approver == cmd.operator
            ):
                raise Refused(Reason.NOT_ALLOWED)
        tracking = self.sku(cmd.sku)
        self.location(cmd.location, REAL_KINDS)
        qty = abs(cmd.delta)
        self.check_serials(tracking, qty, cmd.serials)
        if cmd.delta > 0:
            if cmd.lot:
                if tracking is Tracking.NONE:
                    raise Refused(Reason.LOT_NOT_TRACKED)
                self.add_lot(cmd.sku, cmd.lot, cmd.expiry)
            elif tracking is Tracking.LOT:
                raise Refused(Reason.LOT_REQUIRED)
            self.adjust_within(cmd, (cmd.location, cmd.sku, cmd.lot or None))
            return self.move(cmd.sku, cmd.lot or None, qty, "ADJUSTMENT", cmd.location)
        lot = self.lot_for_take(cmd.sku, tracking, cmd.lot, cmd.location)
        self.adjust_within(cmd, (cmd.location, cmd.sku, lot))
        return self.move(cmd.sku, lot, qty, cmd.location, "ADJUSTMENT")

    def adjust_within(self, cmd: Adjust, key: Key) -> None:
        """Beyond the tolerance of what the ledger holds there (reserved or not), an adjustment
        needs an approval: checked before there is enough to take."""
        on_hand = self.on_hand.get(key, 0)
        beyond = abs(cmd.delta) * 100 > max(ADJUST_UNITS * 100, ADJUST_PERCENT * on_hand)
        if cmd.approved_by is None and beyond:
            raise Refused(Reason.APPROVAL_REQUIRED)

    def _reserve(self, cmd: Reserve) -> dict[str, Any]:
        self.sku(cmd.sku)
        if cmd.location:
            self.location(cmd.location, (LocationKind.BIN,))
        if cmd.lot and (cmd.sku, cmd.lot) not in self.lots:
            raise Refused(Reason.NOT_ENOUGH_STOCK)

        def fefo(key: Key) -> tuple[bool, date, int, str]:
            expiry = self.lots[(key[1], key[2])] if key[2] is not None else None
            return (expiry is None, expiry or date.max, PICK_SEQUENCE[key[0]], key[0])

        candidates = sorted(
            (
                k
                for k in self.held(BINS)
                if k[1] == cmd.sku
                and (not cmd.lot or k[2] == cmd.lot)
                and (not cmd.location or k[0] == cmd.location)
            ),
            key=fefo,
        )
        plan, remaining = [], cmd.qty
        for key in candidates:
            take = min(self.available(key), remaining)
            if take > 0:
                plan.append((key, take))
                remaining -= take
        found = cmd.qty - remaining
        if found == 0 or (found < cmd.qty and not cmd.allow_partial):
            raise Refused(Reason.NOT_ENOUGH_STOCK)
        lines = []
        for key, take in plan:
            self.reserved[key] = self.reserved.get(key, 0) + take
            self.made.append(ModelReservation(key, take, cmd.expires_at))
            lines.append({"reservation": None, "location": key[0], "lot": key[2], "qty": take})
        return {"reserved": found, "lines": lines}

    def _post_pick(self, cmd: PostPick) -> dict[str, Any]:
        reservation = self.open_reservation(cmd.reservation)
        if cmd.qty > reservation.qty:
            raise Refused(Reason.OVER_PICK)
        self.location(cmd.to_location, (LocationKind.OUTBOUND, LocationKind.STAGING))
        source, sku, lot = reservation.key
        state = (
            ReservationState.POSTED
            if cmd.qty == reservation.qty
            else ReservationState.PARTLY_POSTED
        )
        self.release(reservation, state, cmd.qty)
        moved = {"moves": 0, "qty": 0}
        if cmd.qty:
            self.check_serials(TRACKING[sku], cmd.qty, cmd.serials)
            moved = self.move(sku, lot, cmd.qty, source, cmd.to_location)
        return {**moved, "reservation": cmd.reservation, "state": state.value}

    def _void(self, cmd: Void) -> dict[str, Any]:
        self.release(self.open_reservation(cmd.reservation), ReservationState.VOIDED, 0)
        return {"reservation": cmd.reservation}

    def _expire(self, cmd: Expire) -> dict[str, Any]:
        assert cmd.now is not None, "the model needs an explicit clock"
        due = [
            rid
            for rid in self.open_ids()
            if (at := self.reservations[rid].expires_at) is not None and at <= cmd.now
        ]
        for rid in due:
            self.release(self.reservations[rid], ReservationState.EXPIRED, 0)
        return {"expired": due}


# --- databases, one per example ------------------------------------------------------------------


class Backend(Protocol):
    def open(self) -> tuple[Engine, Callable[[], None]]: ...


class SqliteBackend:
    """A copy of the seeded template file per example."""

    def __init__(self, template: Path, directory: Path) -> None:
        self.template, self.directory, self.n = template, directory, 0

    def open(self) -> tuple[Engine, Callable[[], None]]:
        self.n += 1
        path = self.directory / f"t8_{self.n}.db"
        shutil.copyfile(self.template, path)
        engine = make_engine(f"sqlite:///{path}")

        def close() -> None:
            engine.dispose()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)

        return engine, close


class PostgresBackend:
    """A database cloned from the seeded template database per example."""

    def __init__(self, server: PgServer, template: str) -> None:
        self.server, self.template, self.n = server, template, 0

    def open(self) -> tuple[Engine, Callable[[], None]]:
        self.n += 1
        name = f"perpetua_t8_{self.server.run_tag}_{self.n}"
        self.server.drop(name)
        engine = make_engine(self.server.create(name, template=self.template), pool_size=1)

        def close() -> None:
            engine.dispose()
            self.server.drop(name)

        return engine, close


@dataclasses.dataclass
class Figures:
    examples: int = 0  # runs that Hypothesis let finish
    stopped: int = 0  # runs Hypothesis stopped early (replaying a known prefix, over-long input)
    steps: int = 0
    outcomes: Counter[str] = dataclasses.field(default_factory=Counter)

    def note(self, outcome: Outcome) -> None:
        self.steps += 1
        status = outcome.reason or outcome.status.value
        if outcome.replayed:
            self.outcomes[f"replayed:{status}"] += 1
            return
        self.outcomes[f"{outcome.kind}:{status}"] += 1
        self.outcomes[status] += 1
        if outcome.ok and outcome.kind == "post_pick":
            self.outcomes[f"post_pick:{outcome.result['state']}"] += 1


# --- the state machine ---------------------------------------------------------------------------

Q, L, S, LT, R = (
    QuantRow.__table__,
    LocationRow.__table__,
    SkuRow.__table__,
    LotRow.__table__,
    ReservationRow.__table__,
)


class LedgerMachine(RuleBasedStateMachine):
    backend: ClassVar[Backend]
    figures: ClassVar[Figures]

    def __init__(self) -> None:
        super().__init__()
        self.engine, self._close = self.backend.open()
        self.ledger = SqlLedger(self.engine)
        self.model = LedgerModel()
        self.sent: dict[uuid.UUID, tuple[Command, Outcome]] = {}
        self.orders = 0

    def teardown(self) -> None:
        if sys.exc_info()[0] is None:
            self.figures.examples += 1
        else:
            self.figures.stopped += 1
        self._close()

    # sending commands

    def command(self, cls: type[Command], **fields: Any) -> Any:
        """A command sent, unless told, by D1, P1 or C1, the first whose role may send it; a
        seeded supervisor approves with their PIN."""
        fields.setdefault("tx_id", uuid.uuid4())
        fields.setdefault("station", "ST-1")
        may = MAY[cls.kind.value]
        fields.setdefault("operator", next(b for b in ("D1", "P1", "C1") if ROLES[b] in may))
        if fields.get("approved_by") in SEED_PINS:
            fields.setdefault("approver_pin", SEED_PINS[fields["approved_by"]])
        return cls(**fields)

    def predict(self, cmd: Command) -> tuple[LedgerModel, Reason | None, dict[str, Any]]:
        trial = self.model.clone()
        trial.made = []
        try:
            return trial, None, trial.apply(cmd)
        except Refused as refused:
            return self.model, refused.reason, {}

    def execute(self, cmd: Command, *, expect: Reason | bool | None = False) -> Outcome:
        """Submit a new command; the outcome must be what the model predicts.

        `expect` (a reason, or None for confirmed) is what the generator meant to produce: a
        check of the generator, so that the refusal cases really are exercised.
        """
        trial, reason, expected = self.predict(cmd)
        if expect is not False:
            assert reason == expect, f"generator: expected {expect}, model says {reason}: {cmd}"
        outcome = submit(cmd, self.ledger)
        self.figures.note(outcome)
        what = f"{cmd}\n-> {outcome.status.value} {outcome.reason}: {outcome.message}"
        assert not outcome.replayed, what
        assert outcome.tx_id == cmd.tx_id and outcome.kind == cmd.kind.value, what
        assert outcome.reason == (reason.value if reason else None), f"model: {reason}\n{what}"
        assert outcome.status is (Status.REFUSED if reason else Status.CONFIRMED), what
        result = dict(outcome.result)
        if reason is None and isinstance(cmd, Reserve):
            lines = result.get("lines", [])
            assert len(lines) == len(trial.made), what
            ids = [line["reservation"] for line in lines]
            assert all(isinstance(i, int) for i in ids), what
            assert len(set(ids)) == len(ids) and not set(ids) & set(trial.reservations), what
            for line, rid in zip(expected["lines"], ids, strict=True):
                line["reservation"] = rid
            trial.reservations.update(zip(ids, trial.made, strict=True))
        assert result == expected, f"model: {expected}\n{what} {result}"
        trial.made = []
        self.model = trial
        self.sent[cmd.tx_id] = (cmd, outcome)
        return outcome

    # drawing sensible commands from the model's state

    def draw_lot(self, data: st.DataObject, sku: str, *, create: bool = True) -> str | None:
        if TRACKING.get(sku) is not Tracking.LOT:
            return None
        if create:
            return data.draw(st.sampled_from(sorted(LOT_EXPIRY)), label="lot")
        # Commands that create a missing lot without an expiry may only create L3 (undated).
        known = sorted({lot for s, lot in self.model.lots if s == sku} | {"L3"})
        return data.draw(st.sampled_from(known), label="lot")

    def draw_take(
        self, data: st.DataObject, sources: Sequence[str]
    ) -> tuple[str, str, str | None, int]:
        """Where to take from, what and how much: mostly stock the model holds, not always."""
        held = self.model.held(sources)
        if held and data.draw(st.integers(0, 4), label="from stock unless 4") < 4:
            key = data.draw(st.sampled_from(held), label="stock")
            location, sku, lot = key
            qty = data.draw(st.integers(1, self.model.available(key) + 2), label="qty")
            if lot is not None and data.draw(st.integers(0, 3), label="lot unscanned if 3") == 3:
                lot = None
            return location, sku, lot, qty
        location = data.draw(st.sampled_from(sources), label="location")
        sku = data.draw(st.sampled_from(STOCK_SKUS), label="sku")
        return location, sku, self.draw_lot(data, sku), data.draw(st.integers(1, 12), label="qty")

    def draw_reservation(self, data: st.DataObject) -> int:
        open_ids, resolved = self.model.open_ids(), self.model.resolved_ids()
        pick = data.draw(st.integers(0, 9), label="open <8, resolved <9, unknown 9")
        if open_ids and (pick < 8 or not resolved):
            return data.draw(st.sampled_from(open_ids), label="open reservation")
        if resolved and pick < 9:
            return data.draw(st.sampled_from(resolved), label="resolved reservation")
        return max(self.model.reservations, default=0) + 1_000

    def receive_cmd(self, data: st.DataObject, sku: str, qty: int, to: str) -> Receive:
        lot = self.draw_lot(data, sku)
        expiry = LOT_EXPIRY[lot] if lot else None
        if lot and (sku, lot) in self.model.lots and data.draw(st.booleans(), label="no expiry"):
            expiry = None  # a known lot may be received without its expiry
        cmd: Receive = self.command(
            Receive, sku=sku, qty=qty, to_location=to, lot=lot, expiry=expiry
        )
        return cmd

    # the rules

    @initialize(data=st.data())
    def stock_up(self, data: st.DataObject) -> None:
        """Receive and put away a few lines, so that most examples start with stock in bins."""
        lines = data.draw(st.integers(1, 4), label="opening lines")
        for n in range(lines):
            sku = data.draw(st.sampled_from(STOCK_SKUS), label="sku")
            qty = data.draw(st.integers(1, 20), label="qty")
            received = self.receive_cmd(data, sku, qty, "DOCK-1")
            self.execute(received, expect=None)
            self.database_matches_model()
            to = data.draw(st.sampled_from(BINS), label="bin")
            self.execute(
                self.command(
                    Putaway,
                    sku=sku,
                    qty=qty,
                    lot=received.lot,
                    from_location="DOCK-1",
                    to_location=to,
                ),
                expect=None,
            )
            if n + 1 < lines:  # Hypothesis checks after the last
                self.database_matches_model()

    @rule(data=st.data())
    def receive(self, data: st.DataObject) -> None:
        sku = data.draw(st.sampled_from(STOCK_SKUS), label="sku")
        qty = data.draw(st.integers(1, 12), label="qty")
        to = data.draw(st.sampled_from(RECEIVING), label="to")
        self.execute(self.receive_cmd(data, sku, qty, to))

    @rule(data=st.data())
    def putaway(self, data: st.DataObject) -> None:
        source, sku, lot, qty = self.draw_take(data, PUTAWAY_SOURCES)
        to = data.draw(st.sampled_from(BINS), label="to")
        self.execute(
            self.command(Putaway, sku=sku, qty=qty, lot=lot, from_location=source, to_location=to)
        )

    @rule(data=st.data())
    def transfer(self, data: st.DataObject) -> None:
        source, sku, lot, qty = self.draw_take(data, ACTIVE_REAL)
        to = data.draw(st.sampled_from(ACTIVE_REAL), label="to")
        self.execute(
            self.command(Transfer, sku=sku, qty=qty, lot=lot, from_location=source, to_location=to)
        )

    @rule(data=st.data())
    def reserve(self, data: st.DataObject) -> None:
        stocked = sorted({k[1] for k in self.model.held(BINS)})
        if stocked and data.draw(st.integers(0, 4), label="stocked SKU unless 4") < 4:
            sku = data.draw(st.sampled_from(stocked), label="sku")
        else:
            sku = data.draw(st.sampled_from(STOCK_SKUS), label="sku")
        available = self.model.bin_available(sku)
        if available and data.draw(st.integers(0, 3), label="at most available unless 3") < 3:
            qty = data.draw(st.integers(1, available), label="qty")
        else:
            qty = data.draw(st.integers(1, available + 3), label="qty")
        location = lot = None
        if data.draw(st.integers(0, 3), label="in one bin if 3") == 3:
            holding = sorted({k[0] for k in self.model.held(BINS) if k[1] == sku})
            location = data.draw(st.sampled_from(holding or BINS), label="bin")
        if sku == LOT_SKU and data.draw(st.integers(0, 2), label="one lot if 2") == 2:
            lot = data.draw(st.sampled_from(sorted(LOT_EXPIRY)), label="lot")
        expires = data.draw(st.one_of(st.none(), st.integers(1, 4)), label="expires in h")
        self.orders += 1
        self.execute(
            self.command(
                Reserve,
                order=f"SO-{self.orders}",
                line=data.draw(st.integers(1, 3), label="line"),
                sku=sku,
                qty=qty,
                location=location,
                lot=lot,
                expires_at=None if expires is None else T0 + timedelta(hours=expires),
                allow_partial=data.draw(st.booleans(), label="allow partial"),
                operator="P1",
                station="ST-2",
            )
        )

    @precondition(lambda self: self.model.reservations)
    @rule(data=st.data())
    def post_pick(self, data: st.DataObject) -> None:
        rid = self.draw_reservation(data)
        reserved = self.model.reservations[rid].qty if rid in self.model.reservations else 1
        how = data.draw(st.sampled_from(["full", "partial", "over"]), label="pick")
        qty = {
            "full": reserved,
            "partial": data.draw(st.integers(0, reserved - 1), label="picked"),
            "over": reserved + 1,
        }[how]
        to = data.draw(st.sampled_from(PICK_TARGETS), label="to")
        self.execute(
            self.command(PostPick, reservation=rid, qty=qty, to_location=to, operator="P1")
        )

    @precondition(lambda self: self.model.reservations)
    @rule(data=st.data())
    def void(self, data: st.DataObject) -> None:
        self.execute(self.command(Void, reservation=self.draw_reservation(data), operator="P1"))

    @rule(hours=st.integers(0, 5))
    def expire(self, hours: int) -> None:
        self.execute(self.command(Expire, now=T0 + timedelta(hours=hours), operator="S1"))

    @rule(data=st.data())
    def ship(self, data: st.DataObject) -> None:
        source, sku, lot, qty = self.draw_take(data, SHIP_SOURCES)
        self.execute(
            self.command(Ship, sku=sku, qty=qty, lot=lot, from_location=source, order="SO-1")
        )

    @rule(data=st.data())
    def return_goods(self, data: st.DataObject) -> None:
        sku = data.draw(st.sampled_from(STOCK_SKUS), label="sku")
        lot = self.draw_lot(data, sku, create=False)
        qty = data.draw(st.integers(1, 6), label="qty")
        unexpected = {"approved_by": "S1"}  # a supervisor accepts goods no order shipped
        self.execute(
            self.command(Return, sku=sku, qty=qty, lot=lot, to_location="RET-1", **unexpected)
        )

    @rule(data=st.data())
    def adjust(self, data: st.DataObject) -> None:
        operator = data.draw(st.sampled_from(["C1", "C1", "S1", "P1"]), label="operator")
        approved_by = data.draw(st.sampled_from([None, None, "S2"]), label="approved by")
        reason = data.draw(st.sampled_from(list(AdjustReason)), label="reason")
        if data.draw(st.booleans(), label="gain"):
            sku = data.draw(st.sampled_from(STOCK_SKUS), label="sku")
            lot = self.draw_lot(data, sku)
            location = data.draw(st.sampled_from(ACTIVE_REAL), label="location")
            delta = data.draw(st.integers(1, 8), label="gain")
            expiry = LOT_EXPIRY[lot] if lot else None
        else:
            location, sku, lot, qty = self.draw_take(data, ACTIVE_REAL)
            delta, expiry = -qty, None
        self.execute(
            self.command(
                Adjust,
                sku=sku,
                location=location,
                delta=delta,
                reason=reason,
                lot=lot,
                expiry=expiry,
                operator=operator,
                approved_by=approved_by,
            )
        )

    @rule(data=st.data())
    def scrap(self, data: st.DataObject) -> None:
        source, sku, lot, qty = self.draw_take(data, ACTIVE_REAL)
        why = data.draw(st.sampled_from(["broken", "crushed pallet", " "]), label="why")
        self.execute(
            self.command(Scrap, sku=sku, qty=qty, lot=lot, from_location=source, reason=why)
        )

    @precondition(lambda self: self.sent)
    @rule(data=st.data())
    def resend(self, data: st.DataObject) -> None:
        """The same id and payload again: the stored outcome, replayed, and nothing changes."""
        tx_id = data.draw(st.sampled_from(list(self.sent)), label="resend of")
        cmd, first = self.sent[tx_id]
        again = submit(cmd, self.ledger)
        self.figures.note(again)
        assert again.replayed, again
        assert again.as_dict() == {**first.as_dict(), "replayed": True}, (first, again)

    @precondition(lambda self: self.sent)
    @rule(data=st.data())
    def reuse_id(self, data: st.DataObject) -> None:
        """An earlier id with another payload: refused as id_reused, and nothing changes."""
        tx_id = data.draw(st.sampled_from(list(self.sent)), label="reuse id of")
        cmd, first = self.sent[tx_id]
        if data.draw(st.booleans(), label="another kind"):
            other: Command = self.command(
                Receive, tx_id=tx_id, sku="WIDGET", qty=1, to_location="DOCK-1"
            )
        elif isinstance(cmd, Receive | Putaway | Transfer | Ship | Return | Scrap):
            other = dataclasses.replace(cmd, qty=cmd.qty + 1)
        else:
            other = dataclasses.replace(cmd, station_time=cmd.station_time + timedelta(seconds=1))
        assert other.payload_hash() != cmd.payload_hash()
        outcome = submit(other, self.ledger)
        self.figures.note(outcome)
        assert outcome.status is Status.REFUSED and outcome.replayed, outcome
        assert outcome.reason == Reason.ID_REUSED.value, outcome
        assert outcome.tx_id == tx_id and first.tx_id == tx_id

    @rule(data=st.data())
    def refused(self, data: st.DataObject) -> None:
        """Commands that must be refused, each for a known reason."""
        case = data.draw(st.sampled_from(sorted(REFUSALS)), label="refusal")
        cmd, reason = REFUSALS[case](self, data)
        self.execute(cmd, expect=reason)

    # after every step

    @invariant()
    def database_matches_model(self) -> None:
        with self.ledger.reader() as uow:
            report = uow.store.invariant_report()
            c = uow.connection
            quants = c.execute(
                select(
                    L.c.code, S.c.code, LT.c.code, Q.c.on_hand, Q.c.reserved, Q.c.is_virtual
                ).select_from(
                    Q.join(L, L.c.id == Q.c.location_id)
                    .join(S, S.c.id == Q.c.sku_id)
                    .join(LT, LT.c.id == Q.c.lot_id)
                )
            ).all()
            reservations = c.execute(
                select(R.c.id, L.c.code, S.c.code, LT.c.code, R.c.qty, R.c.expires_at)
                .add_columns(R.c.state, R.c.qty_posted)
                .select_from(
                    R.join(L, L.c.id == R.c.location_id)
                    .join(S, S.c.id == R.c.sku_id)
                    .join(LT, LT.c.id == R.c.lot_id)
                )
            ).all()
            lots = c.execute(
                select(S.c.code, LT.c.code, LT.c.expiry).select_from(
                    LT.join(S, S.c.id == LT.c.sku_id)
                )
            ).all()
        assert report.total == 0, report.as_dict()

        db: dict[Key, tuple[int, int]] = {}
        for location, sku, lot, on_hand, reserved, is_virtual in quants:
            db[(location, sku, lot or None)] = (on_hand, reserved)
            assert is_virtual == (KIND[location] is LocationKind.VIRTUAL), location
            if not is_virtual:
                assert on_hand >= 0 and 0 <= reserved <= on_hand, (location, sku, lot)
        model = self.model
        for key in set(db) | set(model.on_hand) | set(model.reserved):
            expected = (model.on_hand.get(key, 0), model.reserved.get(key, 0))
            assert db.get(key, (0, 0)) == expected, (
                f"{key}: database {db.get(key)}, model {expected}"
            )
            if KIND[key[0]] is not LocationKind.VIRTUAL:
                assert 0 <= expected[1] <= expected[0], (key, expected)

        assert {
            rid: ((location, sku, lot or None), qty, expires_at, ReservationState(state), posted)
            for rid, location, sku, lot, qty, expires_at, state, posted in reservations
        } == {
            rid: (r.key, r.qty, r.expires_at, r.state, r.qty_posted)
            for rid, r in model.reservations.items()
        }
        assert {(sku, lot): expiry for sku, lot, expiry in lots} == model.lots


# --- refusals, each built from the model's state -------------------------------------------------

Refusal = Callable[[LedgerMachine, st.DataObject], tuple[Command, Reason]]


def _unknown_sku(m: LedgerMachine, data: st.DataObject) -> tuple[Command, Reason]:
    sku = data.draw(st.sampled_from(["NOPE", "widget", "MILK "]), label="sku")
    return data.draw(
        st.sampled_from(
            [
                m.command(Receive, sku=sku, qty=2, to_location="DOCK-1"),
                m.command(Transfer, sku=sku, qty=1, from_location="A-01-01", to_location="A-01-02"),
                m.command(Reserve, order="SO-X", line=1, sku=sku, qty=1),
                m.command(Return, sku=sku, qty=1, to_location="RET-1"),
            ]
        ),
        label="command",
    ), Reason.UNKNOWN_SKU


def _blocked_bin(m: LedgerMachine, data: st.DataObject) -> tuple[Command, Reason]:
    source, sku, lot, qty = m.draw_take(data, ("DOCK-1", "DOCK-2"))
    return data.draw(
        st.sampled_from(
            [
                m.command(
                    Putaway, sku=sku, qty=qty, lot=lot, from_location=source, to_location="BLOCKED"
                ),
                m.command(
                    Transfer, sku=sku, qty=qty, lot=lot, from_location=source, to_location="BLOCKED"
                ),
                m.command(Reserve, order="SO-X", line=1, sku=sku, qty=qty, location="BLOCKED"),
                m.command(
                    Adjust,
                    sku="WIDGET",
                    location="BLOCKED",
                    delta=3,
                    reason=AdjustReason.FOUND,
                    operator="C1",
                ),
            ]
        ),
        label="command",
    ), Reason.INACTIVE_LOCATION


def _wrong_kind(m: LedgerMachine, data: st.DataObject) -> tuple[Command, Reason]:
    bin_ = data.draw(st.sampled_from(BINS), label="bin")
    return data.draw(
        st.sampled_from(
            [
                m.command(Receive, sku="WIDGET", qty=1, to_location=bin_),
                m.command(Receive, sku="BOLT", qty=1, to_location="CUSTOMER"),
                m.command(
                    Putaway, sku="WIDGET", qty=1, from_location="DOCK-1", to_location="DOCK-2"
                ),
                m.command(Putaway, sku="BOLT", qty=1, from_location=bin_, to_location="A-01-01"),
                m.command(Ship, sku="WIDGET", qty=1, from_location=bin_),
                m.command(Transfer, sku="WIDGET", qty=1, from_location=bin_, to_location="VENDOR"),
                m.command(Return, sku="BOLT", qty=1, to_location="DOCK-1"),
                m.command(Reserve, order="SO-X", line=1, sku="BOLT", qty=1, location="DOCK-1"),
                m.command(Scrap, sku="WIDGET", qty=1, from_location="CUSTOMER", reason="x"),
                m.command(
                    Adjust,
                    sku="BOLT",
                    location="SCRAP",
                    delta=-1,
                    reason=AdjustReason.LOST,
                    operator="C1",
                ),
            ]
        ),
        label="command",
    ), Reason.WRONG_LOCATION_KIND


def _too_much(m: LedgerMachine, data: st.DataObject) -> tuple[Command, Reason]:
    sku = data.draw(st.sampled_from(STOCK_SKUS), label="sku")
    lot = data.draw(st.sampled_from(sorted(LOT_EXPIRY)), label="lot") if sku == LOT_SKU else None
    kind = data.draw(st.sampled_from(["transfer", "ship", "scrap", "adjust", "reserve"]))
    sources = {"ship": SHIP_SOURCES}.get(kind, ACTIVE_REAL)
    source = data.draw(st.sampled_from(sources), label="source")
    qty = m.model.available((source, sku, lot)) + data.draw(st.integers(1, 5), label="excess")
    to = "A-01-01" if source != "A-01-01" else "A-01-02"
    cmd: Command = {
        "transfer": lambda: m.command(
            Transfer, sku=sku, qty=qty, lot=lot, from_location=source, to_location=to
        ),
        "ship": lambda: m.command(Ship, sku=sku, qty=qty, lot=lot, from_location=source),
        "scrap": lambda: m.command(
            Scrap, sku=sku, qty=qty, lot=lot, from_location=source, reason="dropped"
        ),
        "adjust": lambda: m.command(
            Adjust,
            sku=sku,
            location=source,
            delta=-qty,
            lot=lot,
            reason=AdjustReason.LOST,
            operator="C1",
            approved_by="S2",  # beyond the tolerance too: approved, so stock is what refuses
        ),
        "reserve": lambda: m.command(
            Reserve,
            order="SO-X",
            line=1,
            sku=sku,
            qty=m.model.bin_available(sku) + qty,
        ),
    }[kind]()
    return cmd, Reason.NOT_ENOUGH_STOCK


def _unknown_location(m: LedgerMachine, data: st.DataObject) -> tuple[Command, Reason]:
    return data.draw(
        st.sampled_from(
            [
                m.command(Receive, sku="WIDGET", qty=1, to_location="Z-99"),
                m.command(
                    Transfer, sku="WIDGET", qty=1, from_location="Z-99", to_location="A-01-01"
                ),
                m.command(PostPick, reservation=open_ids[0], qty=0, to_location="OUT-9")
                if (open_ids := m.model.open_ids())
                else m.command(Ship, sku="BOLT", qty=1, from_location="a-01-01"),
            ]
        ),
        label="command",
    ), Reason.UNKNOWN_LOCATION


def _who(m: LedgerMachine, data: st.DataObject) -> tuple[Command, Reason]:
    case = data.draw(
        st.sampled_from(["gone", "nobody", "station", "picker", "approver", "self"]), label="who"
    )
    receive: dict[str, Any] = {"sku": "WIDGET", "qty": 1, "to_location": "DOCK-1"}
    adjust: dict[str, Any] = {
        "sku": "BOLT",
        "location": "A-01-01",
        "delta": 2,
        "reason": AdjustReason.COUNT,
    }
    if case == "gone":
        return m.command(Receive, operator="GONE", **receive), Reason.INACTIVE_OPERATOR
    if case == "nobody":
        return m.command(Receive, operator="NOBODY", **receive), Reason.UNKNOWN_OPERATOR
    if case == "station":
        return m.command(Receive, station="ST-9", **receive), Reason.UNKNOWN_STATION
    if case == "picker":
        return m.command(Adjust, operator="P1", **adjust), Reason.NOT_ALLOWED
    if case == "approver":
        return m.command(Adjust, operator="C1", approved_by="C1", **adjust), Reason.NOT_ALLOWED
    return m.command(Adjust, operator="S1", approved_by="S1", **adjust), Reason.NOT_ALLOWED


def _lot_rules(m: LedgerMachine, data: st.DataObject) -> tuple[Command, Reason]:
    case = data.draw(st.sampled_from(["no lot", "untracked", "return", "expiry"]), label="case")
    dated = [lot for (sku, lot), expiry in m.model.lots.items() if expiry is not None]
    if case == "expiry" and dated:
        lot = data.draw(st.sampled_from(sorted(dated)), label="lot")
        return m.command(
            Receive, sku=LOT_SKU, qty=1, lot=lot, expiry=WRONG_EXPIRY, to_location="DOCK-2"
        ), Reason.EXPIRY_MISMATCH
    if case == "untracked":
        return m.command(
            Receive, sku="WIDGET", qty=1, lot="L1", to_location="DOCK-1"
        ), Reason.LOT_NOT_TRACKED
    if case == "return":
        return m.command(Return, sku=LOT_SKU, qty=1, to_location="RET-1"), Reason.LOT_REQUIRED
    return m.command(Receive, sku=LOT_SKU, qty=3, to_location="DOCK-1"), Reason.LOT_REQUIRED


def _serials(m: LedgerMachine, data: st.DataObject) -> tuple[Command, Reason]:
    return data.draw(
        st.sampled_from(
            [
                m.command(Receive, sku="PHONE", qty=2, to_location="DOCK-1"),
                m.command(
                    Transfer, sku="PHONE", qty=1, from_location="A-01-01", to_location="A-01-02"
                ),
            ]
        ),
        label="command",
    ), Reason.SERIALS_REQUIRED


def _no_reason(m: LedgerMachine, data: st.DataObject) -> tuple[Command, Reason]:
    source, sku, lot, qty = m.draw_take(data, ACTIVE_REAL)
    return m.command(
        Scrap, sku=sku, qty=qty, lot=lot, from_location=source, reason=""
    ), Reason.REASON_REQUIRED


def _same_place(m: LedgerMachine, data: st.DataObject) -> tuple[Command, Reason]:
    source, sku, lot, qty = m.draw_take(data, ACTIVE_REAL)
    return m.command(
        Transfer, sku=sku, qty=qty, lot=lot, from_location=source, to_location=source
    ), Reason.BAD_INPUT


def _reservation_state(m: LedgerMachine, data: st.DataObject) -> tuple[Command, Reason]:
    open_ids, resolved = m.model.open_ids(), m.model.resolved_ids()
    case = data.draw(st.sampled_from(["over", "resolved", "unknown"]), label="case")
    if case == "over" and open_ids:
        rid = data.draw(st.sampled_from(open_ids), label="reservation")
        qty = m.model.reservations[rid].qty + data.draw(st.integers(1, 3), label="extra")
        return m.command(PostPick, reservation=rid, qty=qty, to_location="OUT-1"), Reason.OVER_PICK
    if case == "resolved" and resolved:
        rid = data.draw(st.sampled_from(resolved), label="reservation")
        cmd: Command = data.draw(
            st.sampled_from(
                [
                    m.command(Void, reservation=rid),
                    m.command(PostPick, reservation=rid, qty=0, to_location="OUT-1"),
                ]
            ),
            label="command",
        )
        return cmd, Reason.RESERVATION_RESOLVED
    rid = max(m.model.reservations, default=0) + data.draw(st.integers(1, 10**6), label="id")
    return m.command(Void, reservation=rid), Reason.UNKNOWN_RESERVATION


REFUSALS: dict[str, Refusal] = {
    "unknown sku": _unknown_sku,
    "blocked bin": _blocked_bin,
    "wrong location kind": _wrong_kind,
    "not enough stock": _too_much,
    "unknown location": _unknown_location,
    "who": _who,
    "lot rules": _lot_rules,
    "serials": _serials,
    "no reason": _no_reason,
    "same place": _same_place,
    "reservation state": _reservation_state,
}

# What a run must have exercised, besides passing: the figures are no proof otherwise.
MUST_SEE_ALWAYS = [
    *(f"{kind}:confirmed" for kind in ("receive", "putaway", "transfer", "reserve", "void")),
    "post_pick:posted",
    "replayed:confirmed",
    "replayed:id_reused",
    Reason.NOT_ENOUGH_STOCK.value,
    Reason.RESERVATION_RESOLVED.value,
]
MUST_SEE = [
    *(f"{kind}:confirmed" for kind in ("receive", "putaway", "transfer", "reserve", "ship")),
    *(f"{kind}:confirmed" for kind in ("return", "adjust", "scrap", "void", "expire")),
    "post_pick:posted",
    "post_pick:partly_posted",
    "replayed:confirmed",
    "replayed:id_reused",
    *(
        reason.value
        for reason in (
            Reason.NOT_ENOUGH_STOCK,
            Reason.UNKNOWN_SKU,
            Reason.INACTIVE_LOCATION,
            Reason.WRONG_LOCATION_KIND,
            Reason.UNKNOWN_LOCATION,
            # EXPIRY_MISMATCH is left out: it needs a dated lot to exist first, and some runs
            # never draw that order of steps. test_ledger_services.py covers it directly.
            Reason.LOT_REQUIRED,
            Reason.OVER_PICK,
            Reason.RESERVATION_RESOLVED,
            Reason.NOT_ALLOWED,
            Reason.APPROVAL_REQUIRED,
        )
    ),
]


# --- the tests -----------------------------------------------------------------------------------


def t8_settings(examples: int) -> settings:
    # Derandomized: CI runs the same 300 examples every time, and a failure there replays here.
    return settings(
        max_examples=examples,
        stateful_step_count=STEPS,
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


def run_t8(
    db: str,
    backend: Backend,
    examples: int,
    must_see: Sequence[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    figures = Figures()
    machine = type(
        f"{db.capitalize()}LedgerMachine",
        (LedgerMachine,),
        {"backend": backend, "figures": figures},
    )
    failures = 0
    started = time.perf_counter()
    try:
        run_state_machine_as_test(machine, settings=t8_settings(examples))
    except BaseException:
        failures = 1
        raise
    finally:
        replayed = sum(n for k, n in figures.outcomes.items() if k.startswith("replayed:"))
        line = {
            "test": "T8",
            "db": db,
            "examples": figures.examples,
            "stopped_early": figures.stopped,
            "max_steps": STEPS,
            "steps": figures.steps,
            "confirmed": figures.outcomes["confirmed"],
            "refused": figures.steps - figures.outcomes["confirmed"] - replayed,
            "replayed": replayed,
            "failures": failures,
            "seconds": round(time.perf_counter() - started, 1),
        }
        with capsys.disabled():
            print(json.dumps(line))
    assert figures.examples >= examples
    missing = [k for k in must_see if not figures.outcomes[k]]
    assert not missing, f"the run never exercised {missing}: {dict(figures.outcomes)}"


@pytest.fixture(scope="module")
def seeded_sqlite_template(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("t8") / "seeded.db"
    shutil.copyfile(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    seed(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="module")
def seeded_pg_template(pg_server: PgServer, pg_template: str) -> Iterator[str]:
    name = f"perpetua_t8_tpl_{pg_server.run_tag}"
    pg_server.drop(name)
    engine = make_engine(pg_server.create(name, template=pg_template), pool_size=1)
    seed(engine)
    engine.dispose()
    yield name
    pg_server.drop(name)


@pytest.mark.slow
def test_t8_ledger_matches_model_on_sqlite(
    seeded_sqlite_template: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    backend = SqliteBackend(seeded_sqlite_template, tmp_path)
    run_t8("sqlite", backend, SQLITE_EXAMPLES, MUST_SEE, capsys)


@pytest.mark.slow
@pytest.mark.postgres
def test_t8_ledger_matches_model_on_postgres(
    pg_server: PgServer, seeded_pg_template: str, capsys: pytest.CaptureFixture[str]
) -> None:
    backend = PostgresBackend(pg_server, seeded_pg_template)
    run_t8("postgres", backend, POSTGRES_EXAMPLES, MUST_SEE_ALWAYS, capsys)
