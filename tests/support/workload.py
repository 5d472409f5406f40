"""Concurrent station workloads for the figure-reporting fault tests (T1, T5, T6).

A `Mix` names the SKUs and bins the scans touch (a hot spot of 3 x 3, or a uniform spread over
many). `Scans` turns (station, index) into one command of every transaction kind, always with its
own station time so the checker can tell scans apart. `StationThread` plays one station: it
writes every command to its own outbox first, then sends it through `Outbox.drain`, and on purpose
loses replies, resends old ids and races a second thread on the same id.
"""

from __future__ import annotations

import contextlib
import dataclasses
import random
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from app.adapters.db import catalogue
from app.adapters.outbox import Outbox
from app.domain.catalogue import LocationSpec, SkuSpec
from app.domain.commands import (
    Adjust,
    AdjustReason,
    Command,
    Expire,
    Opening,
    OpeningLine,
    PostPick,
    Putaway,
    Receive,
    Reserve,
    Scrap,
    Ship,
    Transfer,
    Void,
)
from app.domain.ledger import Outcome
from app.domain.model import LocationKind
from app.domain.ports import DatabaseUnavailable, UnitOfWorkFactory
from app.services.ledger import submit

BASE_TIME = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)
DOCKS = {"ST-1": "DOCK-1", "ST-2": "DOCK-2"}
OUTBOUND = "OUT-1"


@dataclass(frozen=True)
class Mix:
    name: str
    skus: tuple[str, ...]
    bins: tuple[str, ...]
    opening_qty: int = 30
    extra: bool = False
    """True when the SKUs and bins are not in the seeded warehouse and must be added."""


HOTSPOT = Mix("hotspot", ("WIDGET", "BOLT", "SCREW-4"), ("A-01-01", "A-01-02", "A-01-03"))


def uniform_mix(skus: int = 24, bins: int = 40) -> Mix:
    return Mix(
        "uniform",
        tuple(f"U-SKU-{i:03d}" for i in range(skus)),
        tuple(f"U-{i // 10:02d}-{i % 10:02d}" for i in range(bins)),
        opening_qty=20,
        extra=True,
    )


def add_catalogue(engine: Engine, mix: Mix) -> None:
    """Add a mix's own SKUs and bins to a seeded warehouse."""
    if not mix.extra:
        return
    with engine.begin() as c:
        catalogue.add_skus(c, [SkuSpec(code, f"Uniform item {code}", 10, 10) for code in mix.skus])
        catalogue.add_locations(
            c,
            [
                LocationSpec(
                    code, LocationKind.BIN, zone="U", aisle=code[2:4], pick_sequence=100 + i
                )
                for i, code in enumerate(mix.bins)
            ],
        )


def opening(mix: Mix) -> Opening:
    """Opening stock: every SKU of the mix in every bin."""
    lines = tuple(
        OpeningLine(sku, location, mix.opening_qty) for sku in mix.skus for location in mix.bins
    )
    return Opening(
        tx_id=uuid.uuid4(), station="ST-1", operator="S1", station_time=BASE_TIME, lines=lines
    )


def scan_time(worker: int, index: int) -> datetime:
    """A station clock reading unique to one scan of one worker."""
    return BASE_TIME + timedelta(seconds=(worker + 1) * 1_000_000, microseconds=index)


Reservations = list[tuple[int, int]]
"""Open pick tasks a station holds: (reservation id, quantity)."""


class Scans:
    """The scans of one station over a mix: every transaction kind, refusals included."""

    KINDS = (
        "receive",
        "putaway",
        "transfer",
        "reserve",
        "pick",
        "ship",
        "adjust",
        "scrap",
        "expire",
    )
    WEIGHTS = (16, 16, 24, 10, 12, 6, 8, 4, 2)
    STATELESS_WEIGHTS = (22, 22, 34, 0, 0, 0, 14, 8, 0)

    def __init__(self, mix: Mix, worker: int, *, reservations: bool = True, seed: str = "") -> None:
        self.mix = mix
        self.worker = worker
        self.station = "ST-1" if worker % 2 == 0 else "ST-2"
        self.weights = self.WEIGHTS if reservations else self.STATELESS_WEIGHTS
        self.seed = seed

    def make(self, index: int, held: Reservations | None = None) -> Command:
        rng = random.Random(f"{self.seed}:{self.mix.name}:{self.worker}:{index}")
        kind = rng.choices(self.KINDS, self.weights)[0]
        envelope: dict[str, Any] = {
            "tx_id": uuid.uuid4(),
            "station": self.station,
            "operator": "D1",
            "station_time": scan_time(self.worker, index),
        }
        sku, bin_code = rng.choice(self.mix.skus), rng.choice(self.mix.bins)
        dock = DOCKS[self.station]
        if kind == "pick" and held:
            reservation, qty = held.pop(rng.randrange(len(held)))
            if rng.random() < 0.25:
                return Void(**envelope, reservation=reservation)
            picked = rng.choice([qty, qty, max(qty - 1, 0)])
            return PostPick(**envelope, reservation=reservation, qty=picked, to_location=OUTBOUND)
        if kind == "receive":
            return Receive(**envelope, sku=sku, qty=rng.randint(1, 6), to_location=dock)
        if kind == "putaway":
            return Putaway(
                **envelope, sku=sku, qty=rng.randint(1, 4), from_location=dock, to_location=bin_code
            )
        if kind == "reserve":
            expires = BASE_TIME if rng.random() < 0.3 else None
            return Reserve(
                **envelope,
                order=f"SO-{self.worker}-{index}",
                line=1,
                sku=sku,
                qty=rng.randint(1, 3),
                location=bin_code,
                expires_at=expires,
            )
        if kind == "ship":
            return Ship(**envelope, sku=sku, qty=rng.randint(1, 2), from_location=OUTBOUND)
        if kind == "adjust":
            delta = rng.choice([-2, -1, 1, 2, 3])
            return Adjust(
                **{**envelope, "operator": "C1"},
                sku=sku,
                location=bin_code,
                delta=delta,
                reason=AdjustReason.COUNT,
            )
        if kind == "scrap":
            return Scrap(**envelope, sku=sku, qty=1, from_location=bin_code, reason="damaged")
        if kind == "expire":
            return Expire(**envelope)
        target = rng.choice([b for b in self.mix.bins if b != bin_code])
        return Transfer(
            **envelope, sku=sku, qty=rng.randint(1, 3), from_location=bin_code, to_location=target
        )


@dataclass
class StationStats:
    scans: int = 0
    lost_acks: int = 0
    resends: int = 0
    concurrent_resends: int = 0
    replayed: int = 0
    unavailable: int = 0
    resend_mismatch: int = 0
    errors: int = 0

    def add(self, other: StationStats) -> None:
        for f in dataclasses.fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


def same_answer(a: Outcome, b: Outcome) -> bool:
    return (a.tx_id, a.status, a.reason, a.message, dict(a.result)) == (
        b.tx_id,
        b.status,
        b.reason,
        b.message,
        dict(b.result),
    )


@dataclass
class StationThread:
    """One station on its own thread: outbox first, then send; with lost replies and resends."""

    worker: int
    mix: Mix
    ledger: UnitOfWorkFactory
    outbox_path: Path
    scans_per_station: int
    lost_ack: float = 0.05
    resend: float = 0.03
    concurrent: float = 0.03
    id_per_attempt: bool = False
    """Broken on purpose (T5): retry a lost reply under a fresh transaction id."""
    tolerate_errors: bool = False
    """Broken code may raise anything; count it and go on instead of stopping."""
    submit: Callable[[Command, UnitOfWorkFactory], Outcome] = submit
    stats: StationStats = field(default_factory=StationStats)
    error: BaseException | None = None

    def __post_init__(self) -> None:
        self.outbox = Outbox(self.outbox_path)
        self.scans = Scans(self.mix, self.worker)
        self.rng = random.Random(f"station:{self.mix.name}:{self.worker}")
        self.held: Reservations = []
        self.answered: list[tuple[Command, Outcome]] = []
        self.sent: dict[uuid.UUID, Command] = {}
        self.thread = threading.Thread(target=self._run, name=f"station-{self.worker}")

    def start(self) -> None:
        self.thread.start()

    def join(self) -> None:
        self.thread.join()

    def _run(self) -> None:
        try:
            for index in range(self.scans_per_station):
                try:
                    self._scan(index)
                except Exception:
                    if not self.tolerate_errors:
                        raise
                    self.stats.errors += 1
        except BaseException as error:
            self.error = error

    def _scan(self, index: int) -> None:
        command = self.scans.make(index, self.held)
        self.outbox.enqueue(command)  # stored before it is sent
        self.sent[command.tx_id] = command
        self.stats.scans += 1
        roll = self.rng.random()
        if roll < self.lost_ack:
            self._lose_reply(command)
        elif roll < self.lost_ack + self.concurrent:
            self._race(command)
        else:
            self._drain()
        if self.answered and self.rng.random() < self.resend:
            self._resend_old()

    def _drain(self) -> list[Outcome]:
        report = self.outbox.drain(self.ledger, self.submit)
        if report.stopped:
            self.stats.unavailable += 1
        for outcome in report.outcomes:
            self._answered(outcome)
        return list(report.outcomes)

    def _answered(self, outcome: Outcome) -> None:
        self.stats.replayed += outcome.replayed
        if outcome.ok and outcome.kind == "reserve":
            self.held.extend((line["reservation"], line["qty"]) for line in outcome.result["lines"])
        command = self.sent.get(outcome.tx_id)
        if command is not None:
            self.answered.append((command, outcome))
            del self.answered[:-50]

    def _lose_reply(self, command: Command) -> None:
        """Send, drop the answer (a timeout, a crash after COMMIT), and send again."""
        self.stats.lost_acks += 1
        try:
            self.submit(command, self.ledger)
        except DatabaseUnavailable:
            self.stats.unavailable += 1
        if self.id_per_attempt:
            retry = dataclasses.replace(command, tx_id=uuid.uuid4())
            self.outbox.enqueue(retry)
            self.sent[retry.tx_id] = retry
            self.outbox.mark(self.submit(retry, self.ledger))  # the broken station's retry
            self.outbox.mark(self.submit(command, self.ledger))  # and the original, drained
            return
        self._drain()

    def _race(self, command: Command) -> None:
        """A second thread sends the same id at the same moment (a double tap, two workers)."""
        self.stats.concurrent_resends += 1
        barrier = threading.Barrier(2)
        other: list[Outcome] = []

        def twin() -> None:
            barrier.wait()
            with contextlib.suppress(DatabaseUnavailable):
                other.append(self.submit(command, self.ledger))

        thread = threading.Thread(target=twin)
        thread.start()
        barrier.wait()
        mine = [o for o in self._drain() if o.tx_id == command.tx_id]
        thread.join()
        if mine and other:
            a, b = mine[0], other[0]
            if not same_answer(a, b) or (not a.replayed and not b.replayed):
                self.stats.resend_mismatch += 1

    def _resend_old(self) -> None:
        """Send an already answered id again: the stored answer must come back, unchanged."""
        command, first = self.rng.choice(self.answered)
        self.stats.resends += 1
        try:
            again = self.submit(command, self.ledger)
        except DatabaseUnavailable:
            self.stats.unavailable += 1
            return
        if not again.replayed or not same_answer(first, again):
            self.stats.resend_mismatch += 1

    def finish(self, rounds: int = 5) -> int:
        """Drain what is left after the run; the depth that remains (0 when all answered)."""
        for _ in range(rounds):
            if self.outbox.depth() == 0:
                break
            try:
                self._drain()
            except Exception:
                if not self.tolerate_errors:
                    raise
                self.stats.errors += 1
                break
        return self.outbox.depth()
