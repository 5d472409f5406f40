"""T9-orders (RELIABILITY.md): station processes racing pick scripts over the same orders.

`seed_orders` adds what the race needs to a seeded warehouse: 8 stations and 8 pickers, the
orders (1-3 lines each over a few SKUs) and opening stock spread over several bins, short of the
total demand in some SKUs so that lines compete for the same units. `station_main` is one
station process (started with multiprocessing 'spawn', its own engine): every round it waits for
the others, sleeps a random start offset, then walks the orders in its own random order (or, in
a convoy, all stations start at once and walk the orders in the same order):

    TakeList(order)            refused because another station holds it: sometimes (10%) asks
                               again with a supervisor's takeover, else moves on
    PostPick per open reservation of the order (to the outbound lane; sometimes one short)
    ReleaseList(FINISHED)      or, now and then, leaves part way: KEEP or GIVE_BACK

Every command goes through `ledger.submit` with the real retry policy. A pick refused because
the list was taken over is counted, not an error. The process puts one dict of counters on the
result queue. With `locks=False` (the negative control) it first sets
`app.adapters.db.orders.LOCK_ORDERS = False`: the order and order-line reads lose FOR UPDATE.
"""

from __future__ import annotations

import random
import time
import traceback
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select

from app.adapters.db import catalogue
from app.adapters.db.schema import ReservationRow, table
from app.domain.catalogue import OperatorSpec, OrderLineSpec, StationSpec
from app.domain.commands import (
    Command,
    Opening,
    OpeningLine,
    PostPick,
    ReleaseHow,
    ReleaseList,
    TakeList,
)
from app.domain.errors import Reason
from app.domain.ledger import Outcome
from app.domain.model import ReservationState, Role
from tests.support.warehouse import SEED_PINS

STATIONS = 8
ORDERS = 20
ROUNDS = 5
OUTBOUND = "OUT-1"
SUPERVISOR = "S1"
SUPERVISOR_PIN = SEED_PINS[SUPERVISOR]
"""The supervisor's PIN in the seeded warehouse: a takeover carries it."""
STOCK: dict[str, dict[str, int]] = {
    # Short of demand: lines of these SKUs compete for the last units.
    "WIDGET": {"A-01-01": 4, "A-01-02": 3, "A-02-01": 5, "B-01-01": 3},
    "BOLT": {"A-01-03": 4, "B-01-02": 3, "A-02-01": 2},
    # Enough for every line, but still spread over bins.
    "SCREW-4": {"A-01-01": 12, "A-01-03": 12, "B-01-01": 12, "B-01-02": 12},
    "SCREW-5": {"A-01-02": 25, "B-01-02": 25},
}
"""Opening stock per SKU and bin (untracked SKUs of the seeded warehouse)."""


def station_code(worker: int) -> str:
    return f"ST-{worker + 1}"


def picker_badge(worker: int) -> str:
    return f"P{worker + 1}"


def order_code(index: int) -> str:
    return f"SO-9{index + 1:04d}"


def order_lines(orders: int, seed: str) -> list[OrderLineSpec]:
    """`orders` orders of 1-3 lines (distinct SKUs) of 1-6 units each."""
    rng = random.Random(f"orders:{seed}")
    lines = []
    for index in range(orders):
        skus = rng.sample(sorted(STOCK), rng.randint(1, 3))
        lines += [
            OrderLineSpec(order_code(index), n, sku, rng.randint(1, 6))
            for n, sku in enumerate(skus, start=1)
        ]
    return lines


def seed_orders(engine: Engine, stations: int, orders: int, seed: str) -> list[OrderLineSpec]:
    """Stations ST-1.., pickers P1.., the orders, and their opening stock (through the ledger);
    on a warehouse seeded by tests/support/warehouse.py. Returns the order lines."""
    from app.adapters.db.uow import SqlLedger
    from app.services.ledger import submit

    lines = order_lines(orders, seed)
    with engine.begin() as c:
        have_st = catalogue.existing_codes(c, "station", [station_code(w) for w in range(stations)])
        have_op = catalogue.existing_codes(
            c, "operator", [picker_badge(w) for w in range(stations)]
        )
        catalogue.add_stations(
            c,
            [
                StationSpec(station_code(w), f"Pick station {w + 1}", "A", None)
                for w in range(stations)
                if station_code(w) not in have_st
            ],
        )
        catalogue.add_operators(
            c,
            [
                OperatorSpec(picker_badge(w), f"Picker {w + 1}", Role.PICKER)
                for w in range(stations)
                if picker_badge(w) not in have_op
            ],
        )
        catalogue.add_orders(c, lines)
    load = Opening(
        tx_id=uuid.uuid4(),
        station="ST-1",
        operator=SUPERVISOR,
        station_time=datetime.now(UTC),
        lines=tuple(
            OpeningLine(sku, location, qty)
            for sku, bins in STOCK.items()
            for location, qty in bins.items()
        ),
    )
    outcome = submit(load, SqlLedger(engine))
    assert outcome.ok, outcome.message
    return lines


@dataclass(frozen=True)
class PickerSpec:
    url: str
    worker: int
    orders: tuple[str, ...]
    rounds: int
    seed: str
    locks: bool = True
    max_offset_s: float = 0.02
    """Random start offset of each round, after the processes meet at the barrier."""
    convoy: bool = False
    """A wider race window: every station starts each round at once (no offset) and walks the
    orders in the same sequence, as pickers who all take the top order of the pick screen."""
    max_pause_s: float = 0.004
    """Random pause between one station's scans."""
    takeover: float = 0.1
    short_pick: float = 0.1
    leave_keep: float = 0.1
    leave_give_back: float = 0.1


class Picker:
    """One station's pick script over the orders; counters in `stats`."""

    def __init__(self, spec: PickerSpec, ledger: Any) -> None:
        from app.services.ledger import submit

        self.spec = spec
        self.ledger = ledger
        self.submit = submit
        self.station = station_code(spec.worker)
        self.operator = picker_badge(spec.worker)
        self.rng = random.Random(f"picker:{spec.seed}:{spec.worker}")
        self.stats: Counter[str] = Counter()
        self.unexpected: list[str] = []

    def send(self, command_type: type[Command], **fields: Any) -> Outcome:
        command = command_type(
            tx_id=uuid.uuid4(),
            station=self.station,
            operator=self.operator,
            station_time=datetime.now(UTC),
            **fields,
        )
        return self.submit(command, self.ledger)

    def odd(self, what: str, outcome: Outcome) -> None:
        self.stats["unexpected_refusals"] += 1
        if len(self.unexpected) < 5:
            self.unexpected.append(f"{self.station} {what}: {outcome.reason}: {outcome.message}")

    def pause(self) -> None:
        time.sleep(self.rng.uniform(0, self.spec.max_pause_s))

    def open_reservations(self, order: str) -> list[tuple[int, int]]:
        r = table(ReservationRow)
        with self.ledger.engine.connect() as c:
            return [
                (rid, qty)
                for rid, qty in c.execute(
                    select(r.c.id, r.c.qty)
                    .where(r.c.order_ref == order, r.c.state == ReservationState.OPEN.value)
                    .order_by(r.c.id)
                )
            ]

    def take(self, order: str) -> bool:
        """Take the list (or take it over); whether this station now holds it."""
        self.stats["takes_attempted"] += 1
        outcome = self.send(TakeList, order=order)
        if outcome.reason == Reason.ORDER_CLAIMED.value:
            self.stats["claims_refused"] += 1
            if self.rng.random() >= self.spec.takeover:
                return False
            self.pause()
            self.stats["takeovers_attempted"] += 1
            outcome = self.send(
                TakeList, order=order, takeover_by=SUPERVISOR, approver_pin=SUPERVISOR_PIN
            )
        if outcome.ok:
            self.stats[f"takes_{outcome.result['event']}"] += 1
            self.stats["units_reserved"] += int(outcome.result["reserved"])
            return True
        if outcome.reason == Reason.ORDER_STATE.value:
            self.stats["takes_refused_state"] += 1  # picked already
        elif outcome.reason != Reason.ORDER_CLAIMED.value:
            self.odd(f"take {order}", outcome)
        return False

    def walk(self, order: str) -> None:
        """Pick the open reservations of a held list, then let go of it."""
        held = self.open_reservations(order)
        leave = self.rng.random()
        how = ReleaseHow.FINISHED
        if leave < self.spec.leave_keep + self.spec.leave_give_back:
            how = ReleaseHow.KEEP if leave < self.spec.leave_keep else ReleaseHow.GIVE_BACK
            held = held[: self.rng.randrange(len(held) + 1)]
        for reservation, qty in held:
            self.pause()
            short = self.rng.random() < self.spec.short_pick
            picked = max(qty - 1, 0) if short else qty
            outcome = self.send(PostPick, reservation=reservation, qty=picked, to_location=OUTBOUND)
            if outcome.ok:
                self.stats["picks"] += 1
                self.stats["units_picked"] += picked
            elif outcome.reason == Reason.ORDER_CLAIMED.value:
                self.stats["picks_refused_taken_over"] += 1
                return  # the list is someone else's now: stop, do not release it
            elif outcome.reason == Reason.RESERVATION_RESOLVED.value:
                self.stats["picks_refused_resolved"] += 1
            else:
                self.odd(f"pick {reservation} of {order}", outcome)
        self.pause()
        outcome = self.send(ReleaseList, order=order, how=how)
        if outcome.ok:
            self.stats[f"releases_{how.value}"] += 1
        elif outcome.reason == Reason.ORDER_CLAIMED.value:
            self.stats["releases_refused_taken_over"] += 1
        elif outcome.reason == Reason.ORDER_STATE.value:
            # Taken over, and finished by the other station before this one let go: the
            # order's state is checked before the claim. Only the claim's holder finishes a
            # list, so this station had lost it.
            self.stats["releases_refused_taken_over"] += 1
        else:
            self.odd(f"release {order}", outcome)

    def round(self, number: int) -> None:
        orders = list(self.spec.orders)
        if self.spec.convoy:
            random.Random(f"convoy:{self.spec.seed}:{number}").shuffle(orders)
        else:
            time.sleep(self.rng.uniform(0, self.spec.max_offset_s))
            self.rng.shuffle(orders)
        for order in orders:
            try:
                if self.take(order):
                    self.walk(order)
            except Exception as error:
                if self.spec.locks:
                    raise
                # Broken code may fail in any way: count it and go on (the checker judges).
                self.stats["errors"] += 1
                if len(self.unexpected) < 5:
                    self.unexpected.append(f"{self.station} {order}: {error!r}")
            self.pause()


def station_main(spec: PickerSpec, barrier: Any, results: Any) -> None:
    """One station process: its own engine, `spec.rounds` rounds; puts its counters on
    `results` (with "error" set to a traceback if it failed)."""
    from app.adapters.db import orders as order_sql

    if not spec.locks:
        order_sql.LOCK_ORDERS = False  # BROKEN on purpose: the negative control
    from app.adapters.db.engine import make_engine
    from app.adapters.db.uow import SqlLedger

    engine = make_engine(spec.url, pool_size=2)
    picker: Picker | None = None
    error = None
    try:
        ledger = SqlLedger(engine)
        _ = ledger.virtual_ids  # connect and read before the start, not in the race
        picker = Picker(spec, ledger)
        for number in range(spec.rounds):
            barrier.wait(timeout=300)
            started = time.perf_counter()
            picker.round(number)
            picker.stats["busy_ms"] += round((time.perf_counter() - started) * 1000)
    except BaseException:
        error = traceback.format_exc()
        barrier.abort()
    finally:
        engine.dispose()
    results.put(
        {
            "worker": spec.worker,
            "stats": dict(picker.stats) if picker else {},
            "unexpected": picker.unexpected if picker else [],
            "error": error,
        }
    )
