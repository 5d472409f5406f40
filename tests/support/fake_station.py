"""An in-memory StationData for workflow unit tests: plain dicts a test fills in. No database,
no Qt.

The fake also plays the ledger for a station's work items (closing a receipt, raising and saving
count tasks, holding a bin): `FakeStationData.answer` applies those transactions to its dicts the
way app/services/work_ledger.py applies them to the tables, and `play` runs a workflow's reply
through it the way the station session does. `outcome()` builds the ledger's answer to any other
command the way the real ledger shapes it, so a test can feed it back through `on_outcome`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Protocol

from app.domain.approval import PinGuard
from app.domain.commands import (
    CloseReceipt,
    Command,
    CountLine,
    HoldBin,
    PostPick,
    RaiseCount,
    Reserve,
    SaveCount,
    TakeList,
)
from app.domain.errors import Reason, Rejection
from app.domain.holds import hold_text
from app.domain.interpret import Interpretation, Kind
from app.domain.ledger import Outcome, Status
from app.domain.model import Operator, Role, Tracking
from app.domain.orders import Claim, Person
from app.domain.rules import PinCheck, PinStatus, next_failure
from app.domain.scan import Scan, Source
from app.domain.workflow import (
    CountState,
    CountTask,
    CountTaskChoice,
    Feedback,
    Freshness,
    Holding,
    PickLine,
    Putback,
    Receipt,
    Reply,
    Shipment,
    SkuInfo,
    StationInfo,
    StationPolicy,
    Stock,
    StockList,
    WorkContext,
    Workflow,
)
from app.services.station import _worst

OPERATORS = {
    "D001": Operator(1, "D001", "Dana Dock", Role.DOCK),
    "P001": Operator(2, "P001", "Pat Picker", Role.PICKER),
    "C001": Operator(3, "C001", "Cam Counter", Role.COUNTER),
    "C002": Operator(4, "C002", "Cid Counter", Role.COUNTER),
    "S001": Operator(5, "S001", "Sue Supervisor", Role.SUPERVISOR),
    "S002": Operator(6, "S002", "Sid Supervisor", Role.SUPERVISOR),
}
PINS = {"S001": "123456", "S002": "567890"}

STATION = StationInfo("ST-1", "A", "DOCK-1", "QUAR-1", "RET-1")


@dataclass(frozen=True, slots=True)
class OrderLine:
    """An order line the fake lists as open (the ledger owns order lines; see TakeList)."""

    line: int
    sku: str
    qty: int


@dataclass
class FakeStationData:
    stations: dict[str, StationInfo] = field(default_factory=lambda: {STATION.code: STATION})
    operators: dict[str, Operator] = field(default_factory=lambda: dict(OPERATORS))
    pins: dict[str, str] = field(default_factory=lambda: dict(PINS))
    station_policy: StationPolicy = field(default_factory=StationPolicy)
    pin_clock: Callable[[], float] = time.monotonic
    pin_failures: dict[str, int] = field(default_factory=dict)
    pin_locked_until: dict[str, float] = field(default_factory=dict)
    skus: dict[str, SkuInfo] = field(default_factory=dict)
    locations: dict[str, str] = field(
        default_factory=lambda: {
            "DOCK-1": "dock",
            "QUAR-1": "quarantine",
            "RET-1": "returns",
            "OUT-1": "outbound",
        }
    )
    receipts: dict[str, Receipt] = field(default_factory=dict)
    closed_receipts: list[str] = field(default_factory=list)
    """Receipts the ledger closed (CloseReceipt), in order."""
    orders: dict[str, list[OrderLine]] = field(default_factory=dict)
    picks: dict[str, list[PickLine]] = field(default_factory=dict)
    claims: dict[str, Claim] = field(default_factory=dict)
    shipments: dict[str, Shipment] = field(default_factory=dict)
    """Orders as the ship station sees them (state, lines, staged goods)."""
    holdings: dict[str, list[Holding]] = field(default_factory=dict)
    cancelled: list[Putback] = field(default_factory=list)
    """Picked goods of cancelled orders still in outbound locations (what `putbacks` lists)."""
    suggestions: list[str] = field(default_factory=list)
    """Bins a HoldBin holds, in turn (empty: no bin has room)."""
    no_room: dict[str, str] = field(default_factory=dict)
    """Why a bin would not take more, per bin, as `bin_room` tells it offline (a bin not named
    here fits, or the ledger checks it)."""
    tasks: dict[str, CountTask] = field(default_factory=dict)
    task_log: list[CountTask] = field(default_factory=list)
    """Every count task state the ledger wrote, in order."""
    held_locations: dict[str, str] = field(default_factory=dict)
    """Locations on hold, with the hold's reason (a quarantine location is held by its kind)."""
    held_lots: dict[tuple[str, str], str] = field(default_factory=dict)
    """Lots on hold, by (SKU, lot), with the hold's reason."""
    reservations: dict[tuple[str, str, str | None], int] = field(default_factory=dict)
    """Units reserved for pick lists, by (location, SKU, lot) (what `stock_at` shows)."""
    expiries: dict[tuple[str, str], date] = field(default_factory=dict)
    """Lots' expiry dates, by (SKU, lot)."""
    pick_sequences: dict[str, int] = field(default_factory=dict)
    """Locations' places on the pick path (0 when not named)."""
    copied_at: datetime | None = None
    """When the station's copy was refreshed, as `freshness` says (None: never)."""

    def add_sku(
        self, code: str, gtin: str | None = None, tracking: Tracking = Tracking.NONE
    ) -> SkuInfo:
        info = SkuInfo(code, f"{code} name", tracking, gtin)
        self.skus[code] = info
        return info

    def add_bin(self, code: str, *holdings: Holding) -> None:
        self.locations[code] = "bin"
        self.holdings[code] = list(holdings)

    # --- StationData ---

    def station(self, code: str) -> StationInfo | None:
        return self.stations.get(code)

    def operator(self, badge: str) -> Operator | None:
        return self.operators.get(badge)

    def check_pin(self, badge: str, pin: str) -> PinCheck:
        """Right or wrong, with the lockout rule of the database (app/domain/rules)."""
        op = self.operators.get(badge)
        if op is None or op.role is not Role.SUPERVISOR or badge not in self.pins:
            return PinCheck(PinStatus.NO_PIN)
        now = self.pin_clock()
        if self.pin_locked_until.get(badge, 0.0) > now:
            return PinCheck(PinStatus.LOCKED, locked_s=int(self.pin_locked_until[badge] - now) + 1)
        if self.pins[badge] == pin:
            self.pin_failures.pop(badge, None)
            return PinCheck(PinStatus.OK)
        policy = self.station_policy
        failures, lock_s = next_failure(
            self.pin_failures.get(badge, 0), policy.pin_attempts, policy.lockout_seconds
        )
        self.pin_failures[badge] = failures
        if lock_s:
            self.pin_locked_until[badge] = now + lock_s
        return PinCheck(PinStatus.WRONG, 0 if lock_s else policy.pin_attempts - failures, lock_s)

    def policy(self) -> StationPolicy:
        return self.station_policy

    def sku(self, code: str) -> SkuInfo | None:
        return self.skus.get(code)

    def sku_by_gtin(self, gtin: str) -> SkuInfo | None:
        return next((s for s in self.skus.values() if s.gtin == gtin), None)

    def location_kind(self, code: str) -> str | None:
        return self.locations.get(code)

    def held(self, location: str, sku: str | None = None, lot: str | None = None) -> str | None:
        return hold_text(
            location,
            quarantine=self.locations.get(location) == "quarantine",
            location_reason=self.held_locations.get(location),
            sku=sku,
            lot=lot,
            lot_reason=self.held_lots.get((sku, lot)) if sku and lot else None,
        )

    def open_receipts(self, limit: int) -> list[str]:
        return [c for c, r in self.receipts.items() if r.status == "open"][:limit]

    def open_orders(self, limit: int) -> list[str]:
        return list(self.orders)[:limit]

    def open_order_count(self) -> int:
        return len(self.orders)

    def order_claim(self, order: str) -> Claim | None:
        return self.claims.get(order)

    def shipment(self, order: str) -> Shipment | None:
        return self.shipments.get(order)

    def orders_at(self, location: str) -> list[str]:
        return sorted(
            code
            for code, shipment in self.shipments.items()
            if any(goods.location == location for goods in shipment.staged)
        )

    def shippable_orders(self, limit: int) -> list[str]:
        return [c for c, s in self.shipments.items() if s.state.value == "picked"][:limit]

    def receipt(self, code: str) -> Receipt | None:
        return self.receipts.get(code)

    def order_lines(self, order: str) -> list[OrderLine] | None:
        return self.orders.get(order)

    def open_picks(self, order: str) -> list[PickLine]:
        return sorted(self.picks.get(order, []), key=lambda p: (p.pick_sequence, p.location))

    def putbacks(self, limit: int) -> list[Putback]:
        return [p for p in self.cancelled if p.qty > 0][:limit]

    def contents(self, location: str) -> list[Holding]:
        return list(self.holdings.get(location, []))

    def bin_room(self, location: str, sku: str, qty: int) -> str | None:
        return self.no_room.get(location)

    def count_task(self, location: str) -> CountTask | None:
        task = self.tasks.get(location)
        return task if task is not None and task.state is not CountState.DONE else None

    def count_tasks_for(
        self, badge: str, zone: str | None, limit: int, *, supervisor: bool = False
    ) -> list[CountTaskChoice]:
        """The unfinished tasks in `tasks` the operator may do, in pick-path order."""
        choices = [
            CountTaskChoice(
                t.location,
                t.state,
                self.pick_sequences.get(t.location, 0),
                t.reason,
                t.assigned_to,
                t.zone,
                tuple(dict.fromkeys((*t.counters, *filter(None, (t.counted_by,))))),
            )
            for t in self.tasks.values()
        ]
        mine = [c for c in choices if c.open_to(badge, zone, supervisor)]
        return sorted(mine, key=lambda c: (c.pick_sequence, c.location))[: max(limit, 0)]

    def stock_at(self, location: str) -> list[Stock]:
        lines = [
            Stock(
                location,
                h.sku,
                h.lot,
                self.expiries.get((h.sku, h.lot)) if h.lot else None,
                h.qty,
                self.reservations.get((location, h.sku, h.lot), 0),
                self.pick_sequences.get(location, 0),
            )
            for h in self.holdings.get(location, [])
            if h.qty > 0
        ]
        return sorted(lines, key=lambda s: (s.sku, s.lot or ""))

    def stock_of(self, sku: str, limit: int) -> StockList:
        lines = [s for place in self.holdings for s in self.stock_at(place) if s.sku == sku]
        lines.sort(key=lambda s: (s.pick_sequence, s.location, s.expiry or date.max, s.lot or ""))
        return StockList.capped(lines, limit)

    def freshness(self) -> Freshness:
        return Freshness(live=False, copied_at=self.copied_at)

    # --- the ledger, for the work items a workflow sends (app/services/work_ledger.py) ---

    def answer(self, command: Command) -> Outcome:
        """The ledger's answer to a CloseReceipt, RaiseCount, SaveCount or HoldBin, applied to
        the fake's dicts; a refusal changes nothing, as the ledger's savepoint sees to."""
        handlers: dict[type[Command], Callable[[Any], tuple[str, dict[str, Any]]]] = {
            CloseReceipt: self._close_receipt,
            RaiseCount: self._raise_count,
            SaveCount: self._save_count,
            HoldBin: self._hold_bin,
        }
        handler = handlers.get(type(command))
        if handler is None:
            raise TypeError(f"the fake ledger answers only work items, not {command.kind.value}")
        try:
            message, result = handler(command)
        except Rejection as refusal:
            return outcome(command, False, refusal.message, refusal.reason.value, refusal.result)
        return outcome(command, message=message, result=result)

    def _close_receipt(self, cmd: CloseReceipt) -> tuple[str, dict[str, Any]]:
        receipt = self.receipts.get(cmd.receipt)
        if receipt is None:
            raise Rejection(Reason.UNKNOWN_RECEIPT, f"{cmd.receipt} is not an expected receipt")
        if receipt.status != "open":
            raise Rejection(Reason.RECEIPT_CLOSED, f"receipt {cmd.receipt} was already closed")
        if cmd.approved_by is not None:
            approver = self.operators.get(cmd.approved_by)
            if approver is None or approver.role is not Role.SUPERVISOR:
                raise Rejection(
                    Reason.NOT_ALLOWED, f"badge {cmd.approved_by!r} is not a supervisor's"
                )
            if approver.badge == cmd.operator:
                raise Rejection(
                    Reason.NOT_ALLOWED, "a supervisor may not approve their own short close"
                )
        skus = dict.fromkeys([line.sku for line in receipt.lines] + list(receipt.received))
        figures = [(sku, receipt.expected(sku), receipt.received.get(sku, 0)) for sku in skus]
        off = [f for f in figures if f[1] != f[2]]
        self.receipts[cmd.receipt] = Receipt(
            receipt.code, "closed", receipt.lines, receipt.received
        )
        self.closed_receipts.append(cmd.receipt)
        if off:
            short = sum(1 for _, expected, got in off if got < expected)
            message = f"receipt {cmd.receipt} closed with {len(off)} discrepancies ({short} short)"
        else:
            message = f"receipt {cmd.receipt} closed: everything as expected"
        discrepancies = [{"sku": s, "expected": e, "received": r} for s, e, r in off]
        return message, {"discrepancies": discrepancies, "approved_by": cmd.approved_by}

    def _countable(self, code: str) -> None:
        kind = self.locations.get(code)
        if kind is None:
            raise Rejection(Reason.UNKNOWN_LOCATION, f"location {code!r} does not exist")
        if kind != "bin":
            raise Rejection(
                Reason.WRONG_LOCATION_KIND,
                f"{code} is a {kind}; the counted location must be a bin",
            )

    def _raise_count(self, cmd: RaiseCount) -> tuple[str, dict[str, Any]]:
        if not cmd.reason.strip() or len(cmd.reason) > 80:
            raise Rejection(Reason.BAD_INPUT, "a count needs a reason of 1 to 80 characters")
        self._countable(cmd.location)
        task = self.count_task(cmd.location)
        if task is not None:
            return f"{cmd.location} already has a count task ({task.state})", {"task": task.id}
        task = CountTask(len(self.task_log) + 1, cmd.location, CountState.OPEN, cmd.reason)
        self._write(task)
        return f"count of {cmd.location} raised: {cmd.reason}", {"task": task.id}

    def _save_count(self, cmd: SaveCount) -> tuple[str, dict[str, Any]]:
        self._countable(cmd.location)
        if cmd.counter not in self.operators:
            raise Rejection(Reason.UNKNOWN_OPERATOR, f"badge {cmd.counter!r} is not known")
        task = self.count_task(cmd.location)
        task_id = task.id if task is not None else len(self.task_log) + 1
        reason = task.reason if task is not None else "counted"
        counters = task.counters if task is not None else ()
        if cmd.counter not in counters:
            counters = (*counters, cmd.counter)
        self._write(
            CountTask(
                task_id,
                cmd.location,
                CountState(cmd.state),
                reason,
                cmd.counter,
                _holdings(cmd.counts),
                _holdings(cmd.snapshot),
                counters,
                task.assigned_to if task is not None else None,
                task.zone if task is not None else None,
            )
        )
        return f"count of {cmd.location} saved ({cmd.state})", {"task": task_id}

    def _hold_bin(self, cmd: HoldBin) -> tuple[str, dict[str, Any]]:
        if cmd.qty <= 0:
            raise Rejection(Reason.BAD_QUANTITY, f"quantity must be above 0, not {cmd.qty}")
        if not self.suggestions:
            nothing: dict[str, Any] = {"location": None, "why": None, "also": []}
            return f"no bin has room for {cmd.qty} x {cmd.sku}", nothing
        held = self.suggestions.pop(0)
        result: dict[str, Any] = {"location": held, "why": "room for it", "also": []}
        return f"{held} held for {cmd.qty} x {cmd.sku}", result

    def _write(self, task: CountTask) -> None:
        self.tasks[task.location] = task
        self.task_log.append(task)


def _holdings(lines: Sequence[CountLine]) -> tuple[Holding, ...]:
    return tuple(Holding(line.sku, line.lot, line.qty) for line in lines)


WORK_ITEMS: tuple[type[Command], ...] = (CloseReceipt, RaiseCount, SaveCount, HoldBin)
"""The transactions `FakeStationData.answer` plays the ledger for."""

Answer = Callable[[Command], Outcome | None]
"""The ledger's answer to a transaction; None when it stays queued (the database is out of
reach)."""


class _WorkflowOnFake(Workflow, Protocol):
    """A mode's workflow, which keeps its context (and so the StationData it reads)."""

    ctx: WorkContext


def play(workflow: _WorkflowOnFake, reply: Reply, answer: Answer | None = None) -> Reply:
    """Run the work items of `reply` (WORK_ITEMS) the way the station session does: each goes
    to the ledger, its outcome back to the workflow's `on_outcome`, and the commands that reply
    asks for join the queue. `answer` stands in for the ledger (default: the fake behind the
    workflow's context). Other commands (stock moves) are left for the test to answer: they come
    back in the result's `commands`, in order (answered after the work items; no workflow sends a
    stock move before a work item in one reply).

    The result is what the session then shows: the last reply's prompt, lines and keypad, with
    the most serious feedback of the whole step (the latest among equals)."""
    if answer is None:
        data = workflow.ctx.data
        assert isinstance(data, FakeStationData), "play needs a FakeStationData or an answer"
        answer = data.answer
    feedbacks: list[Feedback | None] = [reply.feedback]
    left: list[Command] = []
    queue, last = list(reply.commands), reply
    while queue:
        command = queue.pop(0)
        if not isinstance(command, WORK_ITEMS):
            left.append(command)
            continue
        last = workflow.on_outcome(command, answer(command))
        feedbacks.append(last.feedback)
        queue.extend(last.commands)
    # The session's own rule for the banner of a step, not a copy of it.
    return Reply(last.prompt, _worst(feedbacks), tuple(left), last.lines, last.entry)


def context(
    data: FakeStationData,
    badge: str = "D001",
    policy: StationPolicy | None = None,
    station: str = "ST-1",
) -> WorkContext:
    if policy is None:
        policy = data.station_policy
    else:  # the fake database's policy, as the real one's would be
        data.station_policy = policy
    return WorkContext(
        data.stations[station], data.operators[badge], policy, data, PinGuard(data, policy)
    )


def meaning(kind: Kind, **fields: Any) -> Interpretation:
    """An accepted interpretation, as `interpret` would give it for a scan of that kind."""
    text = str(fields.get("code") or fields.get("gtin") or fields.get("command") or kind.value)
    return Interpretation(Scan(text, Source.WEDGE), kind, **fields)


def outcome(
    command: Command,
    ok: bool = True,
    message: str = "",
    reason: str | None = None,
    result: Mapping[str, Any] | None = None,
) -> Outcome:
    return Outcome(
        command.tx_id if isinstance(command.tx_id, uuid.UUID) else uuid.uuid4(),
        command.kind.value,
        Status.CONFIRMED if ok else Status.REFUSED,
        message or ("confirmed" if ok else "refused"),
        reason,
        dict(result or {}),
    )


# --- picking: the ledger's reservations, as the fake sees them (pick, count, transfer, return) ---


def pick_line(
    reservation: int,
    order: str,
    line: int,
    sku: str,
    location: str,
    qty: int,
    sequence: int = 0,
    lot: str | None = None,
) -> PickLine:
    return PickLine(reservation, order, line, sku, lot, location, sequence, qty)


def reserved(data: FakeStationData, command: Command, *picks: PickLine) -> Outcome:
    """The ledger's answer to a Reserve that allocated `picks`: they become the order's open
    picks, and the result says what `_reserve` says (refused not_enough_stock when none)."""
    assert isinstance(command, Reserve)
    if not picks:
        return outcome(
            command,
            ok=False,
            reason="not_enough_stock",
            message=f"only 0 of {command.qty} x {command.sku} can be allocated",
        )
    data.picks.setdefault(command.order, []).extend(picks)
    lines = [
        {"reservation": p.reservation, "location": p.location, "lot": p.lot, "qty": p.qty}
        for p in picks
    ]
    found = sum(p.qty for p in picks)
    return outcome(
        command,
        message=f"reserved {found} x {command.sku} for {command.order}/{command.line}",
        result={"reserved": found, "lines": lines},
    )


def posted(data: FakeStationData, command: Command) -> Outcome:
    """The ledger's answer to a PostPick: the reservation is no longer an open pick."""
    assert isinstance(command, PostPick)
    for order, picks in data.picks.items():
        data.picks[order] = [p for p in picks if p.reservation != command.reservation]
    return outcome(command, message=f"picked {command.qty}", result={"state": "posted"})


def taken(
    data: FakeStationData,
    command: Command,
    *picks: PickLine,
    asked: Mapping[int, int] | None = None,
) -> Outcome:
    """The ledger's answer to a TakeList that claimed the order and reserved `picks` (they
    become the order's open picks). `asked`: what each line had still to reserve (default: what
    the picks hold), so that a line reserved short shows as such."""
    assert isinstance(command, TakeList)
    data.picks.setdefault(command.order, []).extend(picks)
    who = data.operators[command.operator]
    now = datetime.now(UTC)
    data.claims[command.order] = Claim(Person(who.badge, who.name, command.station), now, now)
    found: dict[int, int] = {}
    skus: dict[int, str] = {}
    for p in picks:
        found[p.line] = found.get(p.line, 0) + p.qty
        skus[p.line] = p.sku
    for line in data.orders.get(command.order, []):
        skus.setdefault(line.line, line.sku)
    wanted = dict(asked or found)
    lines = [
        {"line": n, "sku": skus.get(n, "?"), "asked": wanted.get(n, 0), "reserved": found.get(n, 0)}
        for n in sorted(set(wanted) | set(found))
    ]
    total = sum(found.values())
    return outcome(
        command,
        message=f"took {command.order}: reserved {total} unit(s) on {len(lines)} line(s)",
        result={"event": "claimed", "lines": lines, "reserved": total},
    )
