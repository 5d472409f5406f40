"""An in-memory StationData for workflow unit tests: plain dicts a test fills in, and a record of
what the workflow wrote (closed receipts, count tasks). No database, no Qt.

`outcome()` builds the ledger's answer to a command the way the real ledger shapes it, so a test
can feed it back through `on_outcome`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from app.domain.approval import PinGuard
from app.domain.commands import Command, PostPick, Reserve, TakeList
from app.domain.interpret import Interpretation, Kind
from app.domain.ledger import Outcome, Status
from app.domain.model import Operator, Role, Tracking
from app.domain.orders import Claim, Person
from app.domain.scan import Scan, Source
from app.domain.workflow import (
    BinSuggestion,
    CountState,
    CountTask,
    Holding,
    PickLine,
    Putback,
    Receipt,
    Shipment,
    SkuInfo,
    StationInfo,
    StationPolicy,
    WorkContext,
)

OPERATORS = {
    "D001": Operator(1, "D001", "Dana Dock", Role.DOCK),
    "P001": Operator(2, "P001", "Pat Picker", Role.PICKER),
    "C001": Operator(3, "C001", "Cam Counter", Role.COUNTER),
    "C002": Operator(4, "C002", "Cid Counter", Role.COUNTER),
    "S001": Operator(5, "S001", "Sue Supervisor", Role.SUPERVISOR),
    "S002": Operator(6, "S002", "Sid Supervisor", Role.SUPERVISOR),
}
PINS = {"S001": "1234", "S002": "5678"}

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
    orders: dict[str, list[OrderLine]] = field(default_factory=dict)
    picks: dict[str, list[PickLine]] = field(default_factory=dict)
    claims: dict[str, Claim] = field(default_factory=dict)
    shipments: dict[str, Shipment] = field(default_factory=dict)
    """Orders as the ship station sees them (state, lines, staged goods)."""
    holdings: dict[str, list[Holding]] = field(default_factory=dict)
    cancelled: list[Putback] = field(default_factory=list)
    """Picked goods of cancelled orders still in outbound locations (what `putbacks` lists)."""
    suggestions: list[str] = field(default_factory=list)
    """Bins suggest_bin hands out, in turn (empty: no bin has room)."""
    tasks: dict[str, CountTask] = field(default_factory=dict)
    task_log: list[CountTask] = field(default_factory=list)
    """Every count task state written, in order."""

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

    def verify_supervisor(self, badge: str, pin: str) -> bool:
        op = self.operators.get(badge)
        return op is not None and op.role is Role.SUPERVISOR and self.pins.get(badge) == pin

    def sku(self, code: str) -> SkuInfo | None:
        return self.skus.get(code)

    def sku_by_gtin(self, gtin: str) -> SkuInfo | None:
        return next((s for s in self.skus.values() if s.gtin == gtin), None)

    def location_kind(self, code: str) -> str | None:
        return self.locations.get(code)

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

    def close_receipt(self, code: str) -> None:
        receipt = self.receipts[code]
        self.receipts[code] = Receipt(receipt.code, "closed", receipt.lines, receipt.received)
        self.closed_receipts.append(code)

    def order_lines(self, order: str) -> list[OrderLine] | None:
        return self.orders.get(order)

    def open_picks(self, order: str) -> list[PickLine]:
        return sorted(self.picks.get(order, []), key=lambda p: (p.pick_sequence, p.location))

    def putbacks(self, limit: int) -> list[Putback]:
        return [p for p in self.cancelled if p.qty > 0][:limit]

    def contents(self, location: str) -> list[Holding]:
        return list(self.holdings.get(location, []))

    def suggest_bin(self, sku: str, lot: str | None, qty: int, station: str) -> BinSuggestion:
        if not self.suggestions:
            return BinSuggestion(None, f"no bin has room for {qty} x {sku}")
        bin_code = self.suggestions.pop(0)
        return BinSuggestion(bin_code, f"put {qty} x {sku} into {bin_code}")

    def count_task(self, location: str) -> CountTask | None:
        task = self.tasks.get(location)
        return task if task is not None and task.state is not CountState.DONE else None

    def raise_count(self, location: str, reason: str, station: str, operator: str) -> int:
        task = self.count_task(location)
        if task is None:
            task = CountTask(len(self.task_log) + 1, location, CountState.OPEN, reason)
            self._write(task)
        return task.id

    def save_count(
        self,
        location: str,
        state: CountState,
        operator: str,
        counts: Sequence[Holding],
        snapshot: Sequence[Holding],
    ) -> int:
        task = self.count_task(location)
        task_id = task.id if task is not None else len(self.task_log) + 1
        reason = task.reason if task is not None else "counter"
        counters = task.counters if task is not None else ()
        if operator not in counters:
            counters = (*counters, operator)
        self._write(
            CountTask(
                task_id,
                location,
                state,
                reason,
                operator,
                tuple(counts),
                tuple(snapshot),
                counters,
            )
        )
        return task_id

    def _write(self, task: CountTask) -> None:
        self.tasks[task.location] = task
        self.task_log.append(task)


def context(
    data: FakeStationData,
    badge: str = "D001",
    policy: StationPolicy | None = None,
    station: str = "ST-1",
) -> WorkContext:
    policy = policy or StationPolicy()
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
