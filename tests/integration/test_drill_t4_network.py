"""T4 (RELIABILITY.md): the network goes while stations scan.

K station sessions, each built by the composition root on a thread of its own, reach the test's
PostgreSQL through one loopback TCP proxy. While they scan, the test cuts the link: an outage
where every connection is refused (5 s at full size), a reset of every connection, a cut the
moment a COMMIT's acknowledgement comes back (the server committed, the station never hears), and
a cut that swallows a COMMIT on its way (the server never commits). Scans go on through every
cut: what may wait is queued in the station's outbox and sent when the link is back.

Afterwards every queue is empty and the exactly-once checker, over every station's outbox, finds
nothing lost, doubled or made up, the invariants hold, and the ledger holds one confirmed receive
per receive scan. The negative control plays the same drill with stations that resend under a
fresh transaction id: after a lost acknowledgement the same checker must report a duplicate.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from app.adapters.db.engine import make_engine
from app.adapters.outbox import OutboxEntry
from app.services.station import StationSession
from tests.support.checker import CheckReport
from tests.support.drill import (
    ScanScript,
    StationDriver,
    check_stations,
    dock_stations,
    drill_figures,
    emit,
    finish_all,
    fresh_id_per_resend,
    full_size,
    play_online,
    replayed,
    start_all,
    station_intents,
    stop_all,
    through_proxy,
)
from tests.support.proxy import Direction, TcpProxy
from tests.support.warehouse import seed

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.xdist_group("heavy"),
]

FULL = full_size()
STATIONS = 6 if FULL else 3
OUTAGE_S = 5.0 if FULL else 2.0
"""The outage with every connection refused."""
RESET_S = 1.0
"""How long new connections are reset after the reset cut."""
CUT_HOLD_S = 2.0
"""How long the link stays down after a cut on a COMMIT: longer than the ledger's own retries
with the same id (8 attempts, at most about 1.2 s of pauses), so the transaction is left
queued and the outbox's drain sends it again later."""
GAP = 20 if FULL else 5
"""Scans every station has confirmed at once (it is back online and has sent its queue) before
the next cut, and after the last."""
PACE_S = 0.1
"""A worker's pause after each cycle."""
MAX_CYCLES = 100_000
"""The script is cut short after the last fault (`finish_all`); this only bounds a runaway."""
PUTAWAY_EVERY = 5
ROUNDS = 5
"""Lost acknowledgements a drill tries before it gives up. The cut hits the first COMMIT answered
on any connection: mostly a scan's, but it may be a replica refresh's (a read, every 2 s per
station) or a bin suggestion's, whose lost answer no scan depends on. The drill then cuts again
until a scan's acknowledgement was lost (its outbox shows the ledger's stored answer to the
resend, or in the control a duplicate)."""


@dataclass(frozen=True)
class Fault:
    """One cut of the link: how it starts, and how long it lasts before restore()."""

    name: str
    start: Callable[[TcpProxy], None]
    hold_s: float


def refuse(proxy: TcpProxy) -> None:
    proxy.cut("refuse")


def reset(proxy: TcpProxy) -> None:
    proxy.cut("reset")


def on_commit(direction: Direction) -> Callable[[TcpProxy], None]:
    """A cut armed on the next COMMIT in `direction`, its chunk dropped; returns once it fired.
    to_client: the server committed and its acknowledgement is lost. to_server: the COMMIT never
    arrives and the server rolls back."""

    def start(proxy: TcpProxy) -> None:
        before = proxy.stats().cuts
        proxy.arm_cut_on(b"COMMIT", mode="reset", direction=direction, forward_first=False)
        proxy.wait_until(lambda s: s.cuts > before)

    return start


OUTAGE = Fault("refuse", refuse, OUTAGE_S)
RESET = Fault("reset", reset, RESET_S)
LOST_ACK = Fault("commit_ack_lost", on_commit("to_client"), CUT_HOLD_S)
COMMIT_LOST = Fault("commit_never_arrives", on_commit("to_server"), CUT_HOLD_S)


@pytest.fixture
def proxy(postgres_url: str) -> Iterator[TcpProxy]:
    url = make_url(postgres_url)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as running:
        yield running


@dataclass
class Drill:
    """K stations scanning through the proxy; `cut()` a fault at a time, then `finish()`."""

    engine: Engine
    proxy: TcpProxy
    drivers: list[StationDriver]
    caplog: pytest.LogCaptureFixture
    started: float = field(default_factory=time.perf_counter)
    cuts: list[str] = field(default_factory=list)

    def cut(self, fault: Fault) -> None:
        """Once every station has confirmed GAP scans at once: the fault, held while the
        stations scan on, then the link back."""
        play_online(self.drivers, GAP)
        fault.start(self.proxy)
        time.sleep(fault.hold_s)
        self.proxy.restore()
        self.cuts.append(fault.name)

    def cut_until(self, fault: Fault, seen: Callable[[list[OutboxEntry]], bool]) -> int:
        """The fault again until, once every station has sent its queue, what it should do shows
        in the stations' outboxes (at most ROUNDS times); the number of rounds."""
        for rounds in range(1, ROUNDS + 1):
            self.cut(fault)
            play_online(self.drivers, GAP)
            if seen(self.intents()):
                return rounds
        return ROUNDS

    def intents(self) -> list[OutboxEntry]:
        return station_intents(d.outbox for d in self.drivers)

    def check(self) -> CheckReport:
        return check_stations(self.engine, self.intents())

    def finish(self) -> tuple[CheckReport, dict[str, Any]]:
        """GAP more scans confirmed at once, every queue drained, the stations closed; the
        checker's report and the drill's figures."""
        play_online(self.drivers, GAP)
        finish_all(self.drivers, after=0)
        seconds = time.perf_counter() - self.started
        intents = self.intents()
        report = check_stations(self.engine, intents)
        figures = {
            "db": "postgresql",
            "outage_s": OUTAGE_S,
            "faults": self.cuts,
            "cuts": self.proxy.stats().cuts,
            "commits_cut": sum(1 for name in self.cuts if name.startswith("commit")),
            **drill_figures(self.engine, self.drivers, intents, report),
            "seconds": round(seconds, 2),
        }
        return report, figures


@contextmanager
def drill(
    postgres_url: str,
    proxy: TcpProxy,
    directory: Path,
    caplog: pytest.LogCaptureFixture,
    putaway_every: int,
    prepare: Callable[[StationSession], None] | None = None,
) -> Iterator[Drill]:
    engine = make_engine(postgres_url)
    drivers: list[StationDriver] = []
    try:
        seed(engine)
        url = through_proxy(postgres_url, proxy)
        drivers = [
            StationDriver(
                url,
                station,
                directory / f"outbox-{station}.sqlite",
                ScanScript(badge=badge, putaway_every=putaway_every),
                MAX_CYCLES,
                pace_s=PACE_S,
                prepare=prepare,
            )
            for station, badge in dock_stations(engine, STATIONS)
        ]
        start_all(drivers)
        yield Drill(engine, proxy, drivers, caplog)
    finally:
        if any(d.is_alive() for d in drivers):  # the test failed midway: stop the stations
            proxy.restore()
            stop_all(drivers)
        engine.dispose()


def test_t4_stations_scan_through_network_cuts_and_every_scan_lands_once(
    postgres_url: str,
    proxy: TcpProxy,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with drill(postgres_url, proxy, tmp_path, caplog, PUTAWAY_EVERY) as run:
        run.cut(OUTAGE)
        run.cut(RESET)
        before = replayed(run.intents())
        rounds = run.cut_until(LOST_ACK, lambda intents: replayed(intents) > before)
        run.cut(COMMIT_LOST)
        report, figures = run.finish()
    emit(capsys, {"test": "T4", **figures, "lost_ack_rounds": rounds})

    assert figures["final_queue"] == 0
    assert report.pending == 0
    assert report.lost == 0, report.examples
    assert report.duplicated == 0, report.examples
    assert report.phantom == 0 and report.move_mismatch == 0, report.examples
    assert report.violations == 0, (report.invariants, report.examples)
    assert figures["receives_confirmed"] == figures["receives"]
    assert figures["units_in_stock"] == figures["units_received"]
    assert figures["refused"] == 0 and figures["exceptions"] == 0, figures["notes"]
    # The cuts hit the scans: they were queued while the link was down, and a scan whose
    # acknowledgement was lost got the ledger's stored answer when its queue sent it again.
    assert figures["queued_while_offline"] > 0
    assert figures["replayed"] > before
    assert figures["putaways"] > 0
    assert figures["cuts"] == 3 + rounds


def test_t4_control_a_fresh_id_per_resend_is_caught_as_a_duplicate(
    postgres_url: str,
    proxy: TcpProxy,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(session: StationSession) -> None:
        session._submit = fresh_id_per_resend(session._submit)

    # Receiving only: a putaway reads and holds a bin, commits that are not scans.
    with drill(postgres_url, proxy, tmp_path, caplog, 0, broken) as run:
        run.cut(OUTAGE)
        run.cut(RESET)
        before = run.check().duplicated
        rounds = run.cut_until(
            LOST_ACK, lambda intents: check_stations(run.engine, intents).duplicated > before
        )
        report, figures = run.finish()
    emit(
        capsys,
        {
            "test": "T4",
            "control": "fresh_id_per_retry",
            **figures,
            "lost_ack_rounds": rounds,
            "detected": report.duplicated > 0,
        },
    )
    assert figures["final_queue"] == 0
    assert report.duplicated > before, "the checker missed a resend under a fresh id"
    assert figures["receives_confirmed"] > figures["receives"]
