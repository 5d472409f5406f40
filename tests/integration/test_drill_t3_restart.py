"""T3 (RELIABILITY.md): the database server crashes and restarts while stations scan.

A private PostgreSQL cluster (the shared test server is never restarted), migrated and seeded;
K station sessions, each built by the composition root on a thread of its own, scan straight on
it. Mid-run the server is stopped at once, as a crash does (`pg_ctl stop -m immediate`: no
shutdown checkpoint, every connection dropped, crash recovery at the next start), 3 times at full
size, and started again once every station has queued scans meanwhile; the stations send them
when the server is back. Once every queue is empty and the stations are closed, the server
crashes and restarts once more (`restart(mode="immediate")`), right after that last burst of
confirmed scans.

Then the exactly-once checker, over every station's outbox, finds every confirmed scan in the
ledger, nothing doubled or made up, and the invariants hold. The negative control runs the same
drill on a server that acknowledges a commit before it writes it (`synchronous_commit = off`,
`wal_writer_delay = 10s`): the same checker must report confirmed scans lost.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from app.adapters.db.engine import make_engine
from app.adapters.db.migrate import upgrade
from tests.support.checker import CheckReport
from tests.support.drill import (
    PATIENCE_S,
    ScanScript,
    StationDriver,
    check_stations,
    dock_stations,
    drill_figures,
    emit,
    finish_all,
    full_size,
    play_offline,
    play_online,
    start_all,
    station_intents,
    stop_all,
)
from tests.support.pg_cluster import PgCluster, cluster_or_skip
from tests.support.warehouse import seed

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.xdist_group("heavy"),
]

FULL = full_size()
STATIONS = 6 if FULL else 3
RESTARTS = 3 if FULL else 2
"""Crashes while the stations scan (one more follows the last burst)."""
QUEUED = 3
"""Scans every station queues while the server is away. `restart()` may bring it back in 0.4 s,
which the ledger's own retries (same id, about 1.2 s) absorb without a station ever queueing:
a crash mid-run is an immediate stop, and the start waits for the stations to have worked on
without the server."""
GAP = 20 if FULL else 5
"""Scans every station has confirmed at once (it is back online and has sent its queue) before
the next crash, and after the last."""
PACE_S = 0.1
"""A worker's pause after each cycle."""
MAX_CYCLES = 100_000
"""The script is cut short after the last crash (`finish_all`); this only bounds a runaway."""

ACKS_BEFORE_WRITE = {
    "synchronous_commit": "off",
    "wal_writer_delay": "10s",
    # A vacuum writing out pages flushes the WAL before them, and with it the commits that
    # should be lost: off, so the crash right after the last burst loses them every time.
    "autovacuum": "off",
}
"""The broken server: a commit is acknowledged while its WAL record waits in memory, written
only when a WAL page fills or after 10 s."""


@pytest.fixture
def cluster() -> Iterator[PgCluster]:
    cluster = cluster_or_skip()
    with cluster:
        yield cluster


def configure(cluster: PgCluster, settings: dict[str, str]) -> dict[str, str]:
    """ALTER SYSTEM each setting and reload; the settings as a new connection then shows them
    (the postmaster rereads its files when signalled, so a few connections may come first)."""
    admin = create_engine(cluster.url(), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as c:
            for name, value in settings.items():
                c.execute(text(f"ALTER SYSTEM SET {name} = '{value}'"))
            c.execute(text("SELECT pg_reload_conf()"))
        deadline = time.monotonic() + PATIENCE_S
        while True:
            with admin.connect() as c:
                shown = {n: str(c.execute(text(f"SHOW {n}")).scalar_one()) for n in settings}
            if shown == settings or time.monotonic() > deadline:
                return shown
            time.sleep(0.1)
    finally:
        admin.dispose()


@dataclass
class Drill:
    """K stations scanning on the cluster; `crash()` a restart at a time, then `finish()`."""

    cluster: PgCluster
    engine: Engine
    drivers: list[StationDriver]
    caplog: pytest.LogCaptureFixture
    started: float = field(default_factory=time.perf_counter)
    restarts: list[float] = field(default_factory=list)
    """How long the server was away each time (the stations scanned on meanwhile)."""

    def crash(self) -> None:
        """Once every station has confirmed GAP scans at once: the server stopped at once, and
        started again when every station has queued QUEUED scans meanwhile."""
        play_online(self.drivers, GAP)
        began = time.perf_counter()
        self.cluster.stop(mode="immediate")
        play_offline(self.drivers, QUEUED)
        self.cluster.start()
        self.restarts.append(round(time.perf_counter() - began, 2))

    def _restart(self) -> None:
        began = time.perf_counter()
        self.cluster.restart(mode="immediate")
        self.restarts.append(round(time.perf_counter() - began, 2))

    def finish(self) -> tuple[CheckReport, dict[str, Any]]:
        """GAP more scans confirmed at once, every queue drained and the stations closed; a
        crash right after that burst; the checker's report and the drill's figures."""
        play_online(self.drivers, GAP)
        finish_all(self.drivers, after=0)
        self.engine.dispose()  # its pooled connections would not survive the crash
        self._restart()
        seconds = time.perf_counter() - self.started
        intents = station_intents(d.outbox for d in self.drivers)
        report = check_stations(self.engine, intents)
        figures = {
            "db": "postgresql",
            "restarts": len(self.restarts),
            "restart_s": self.restarts,
            **drill_figures(self.engine, self.drivers, intents, report),
            "seconds": round(seconds, 2),
        }
        return report, figures


@dataclass
class Prepared:
    url: str
    settings: dict[str, str]


def drill_database(cluster: PgCluster, settings: dict[str, str]) -> Prepared:
    """A fresh database on the cluster at the newest schema, seeded; the server's settings."""
    shown = configure(cluster, settings) if settings else {}
    url = cluster.create_database("drill")
    engine = make_engine(url)
    try:
        upgrade(engine)
        seed(engine)
    finally:
        engine.dispose()
    return Prepared(url, shown)


def run_drill(
    cluster: PgCluster, url: str, directory: Path, caplog: pytest.LogCaptureFixture
) -> tuple[CheckReport, dict[str, Any]]:
    engine = make_engine(url)
    drivers = [
        StationDriver(
            url,
            station,
            directory / f"outbox-{station}.sqlite",
            ScanScript(badge=badge),
            MAX_CYCLES,
            pace_s=PACE_S,
        )
        for station, badge in dock_stations(engine, STATIONS)
    ]
    try:
        start_all(drivers)
        drill = Drill(cluster, engine, drivers, caplog)
        for _ in range(RESTARTS):
            drill.crash()
        return drill.finish()
    finally:
        stop_all(drivers)  # only a test that failed midway leaves any running
        engine.dispose()


def test_t3_stations_scan_through_server_crashes_and_every_confirmed_scan_is_kept(
    cluster: PgCluster,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    prepared = drill_database(cluster, {})
    report, figures = run_drill(cluster, prepared.url, tmp_path, caplog)
    emit(capsys, {"test": "T3", **figures})

    assert figures["final_queue"] == 0
    assert report.pending == 0
    assert report.lost == 0, report.examples
    assert report.duplicated == 0, report.examples
    assert report.phantom == 0 and report.move_mismatch == 0, report.examples
    assert report.violations == 0, (report.invariants, report.examples)
    assert figures["receives_confirmed"] == figures["receives"]
    assert figures["units_in_stock"] == figures["units_received"]
    assert figures["refused"] == 0 and figures["exceptions"] == 0, figures["notes"]
    # The crashes hit the scans: they were queued while the server was away.
    assert figures["queued_while_offline"] > 0
    assert figures["putaways"] > 0
    assert figures["restarts"] == RESTARTS + 1


def test_t3_control_a_server_that_acks_before_it_writes_loses_confirmed_scans(
    cluster: PgCluster,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    prepared = drill_database(cluster, ACKS_BEFORE_WRITE)
    assert prepared.settings == ACKS_BEFORE_WRITE
    report, figures = run_drill(cluster, prepared.url, tmp_path, caplog)
    emit(
        capsys,
        {
            "test": "T3",
            "control": "server_acks_before_write",
            **figures,
            "server": prepared.settings,
            "detected": report.lost > 0,
        },
    )
    assert figures["final_queue"] == 0
    assert report.lost > 0, "the checker missed confirmed scans the server never wrote"
    assert figures["receives_confirmed"] < figures["receives"]
