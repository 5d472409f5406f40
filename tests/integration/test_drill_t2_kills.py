"""T2 (RELIABILITY.md): station processes killed with -9 at random, and crashes after COMMIT.

Real stations (`tests.support.station_process`: the composition root's session, its outbox,
replica and link watcher) work on PostgreSQL, each in a process of its own with its own dock
lane. The drill kills them with SIGKILL at random moments and restarts each one; some runs also
die by themselves right after the ledger committed a transaction and before the station recorded
the answer (`--crash-after-commit P`: `os._exit(137)` at that point). A restarted station drains
its outbox first and then finishes its script. Afterwards the exactly-once checker compares every
outbox with the ledger: 0 lost, 0 duplicated, 0 phantom, moves as the outcomes say, invariants
hold, nothing pending, and every station made all its cycles.

The negative controls run the same station broken on purpose after a crash after COMMIT: one
resends its unanswered command under a fresh transaction id, one keeps its queue where a crash
loses it (a fresh outbox file per start). The same checker must report each.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from app.adapters.db import catalogue
from app.adapters.db.engine import make_engine
from app.adapters.outbox import Outbox, OutboxEntry
from app.domain.catalogue import LocationSpec, StationSpec
from app.domain.model import LocationKind
from tests.support.checker import CheckReport, intents_of
from tests.support.drill import check_stations
from tests.support.station_process import CRASH_EXIT
from tests.support.warehouse import seed

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.xdist_group("heavy")]

ROOT = Path(__file__).resolve().parents[2]
FULL = os.environ.get("PERPETUA_DRILLS") == "full"
STATIONS = 5 if FULL else 3
CYCLES = 150 if FULL else 40
KILLS = 25 if FULL else 5
KILL_GAP_S = (0.2, 0.8)
"""Pause between two kills, drawn at random."""
CRASH_RUNS = 0.5
"""Share of the other stations' runs started with `--crash-after-commit` (the last station's
runs always are, so that crashes after COMMIT happen in every drill)."""
CRASH_P = 0.03 if FULL else 0.08
"""In such a run, the chance that a commit is followed by the process's death."""
PACE_S = 0.03
"""Seconds between two scans: a station's work outlasts the kills (and a scanner is no faster)."""
SEED = 2
HANG_LIMIT_S = 600  # a hung run fails instead of blocking CI; not a performance assertion
HOLD_BIN = "hold_bin"
KILLED = -signal.SIGKILL


@dataclass
class Station:
    code: str
    outbox: Path
    runs: int = 0
    crash_runs: int = 0
    proc: subprocess.Popen[bytes] | None = None
    outputs: list[Path] = field(default_factory=list)


class Supervisor:
    """Starts, kills and restarts station processes; keeps each run's output in a file."""

    def __init__(self, db_url: str, directory: Path, rng: random.Random) -> None:
        self.db_url = db_url
        self.directory = directory
        self.rng = rng
        self.stations: list[Station] = []
        self.kills = 0
        self.crashes = 0

    def add(self, code: str) -> Station:
        station = Station(code, self.directory / f"{code}.outbox")
        self.stations.append(station)
        return station

    def start(self, station: Station) -> None:
        station.runs += 1
        options: tuple[str, ...] = ()
        if station is self.stations[-1] or self.rng.random() < CRASH_RUNS:
            station.crash_runs += 1
            options = ("--crash-after-commit", str(CRASH_P))
        station.outbox.with_suffix(".ready").unlink(missing_ok=True)
        output = self.directory / f"{station.code}.run-{station.runs}.out"
        station.outputs.append(output)
        seed = 1000 * SEED + 100 * self.stations.index(station) + station.runs
        with output.open("wb") as out:
            station.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.support.station_process",
                    "--db",
                    self.db_url,
                    "--station",
                    station.code,
                    "--outbox",
                    str(station.outbox),
                    "--cycles",
                    str(CYCLES),
                    "--seed",
                    str(seed),
                    "--pace",
                    str(PACE_S),
                    *options,
                ],
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def proc(self, station: Station) -> subprocess.Popen[bytes]:
        assert station.proc is not None
        return station.proc

    def running(self) -> list[Station]:
        """The stations still at work; one that crashed after a commit is restarted."""
        alive = []
        for station in self.stations:
            code = self.proc(station).poll()
            if code == CRASH_EXIT:
                self.crashes += 1
                self.start(station)
                code = None
            assert code in (None, 0), self.output(station)
            if code is None:
                alive.append(station)
        return alive

    def ready(self, station: Station) -> bool:
        marker = station.outbox.with_suffix(".ready")
        try:
            return marker.read_text() == str(self.proc(station).pid)
        except FileNotFoundError:
            return False

    def kill(self, station: Station) -> None:
        proc = self.proc(station)
        proc.send_signal(signal.SIGKILL)
        if proc.wait() == KILLED:
            self.kills += 1
        elif proc.returncode == CRASH_EXIT:
            self.crashes += 1
        else:
            assert proc.returncode == 0, self.output(station)
            return
        self.start(station)

    def output(self, station: Station) -> str:
        return station.outputs[-1].read_text(errors="replace")

    def records(self, outputs: Sequence[Path] | None = None) -> Iterator[dict[str, Any]]:
        """The JSON lines the runs printed (a kill may cut the last one short)."""
        if outputs is None:
            outputs = [output for station in self.stations for output in station.outputs]
        for output in outputs:
            for line in output.read_text(errors="replace").splitlines():
                try:
                    yield json.loads(line)
                except ValueError:
                    continue

    def stop(self) -> None:
        """Kill what still runs (a failed drill leaves no station behind)."""
        for station in self.stations:
            if station.proc is not None and station.proc.poll() is None:
                station.proc.kill()
                station.proc.wait()

    def final(self, station: Station) -> dict[str, Any] | None:
        """What the station's last run printed when it had made its cycles."""
        records = [r for r in self.records([station.outputs[-1]]) if r.get("start") is False]
        return records[-1] if records else None

    def finish(self, deadline: float) -> None:
        """Wait for every station to complete, restarting those that crash after a commit."""
        while self.running():
            assert time.monotonic() < deadline, "the stations did not finish"
            time.sleep(0.1)


def add_stations(engine: Engine, count: int) -> list[str]:
    """ST-1 and ST-2 come with the seed; ST-3.. get dock lanes DOCK-3.. of their own."""
    extra = range(3, count + 1)
    with engine.begin() as c:
        catalogue.add_locations(c, [LocationSpec(f"DOCK-{n}", LocationKind.DOCK) for n in extra])
        catalogue.add_stations(
            c, [StationSpec(f"ST-{n}", f"Dock {n}", None, f"DOCK-{n}") for n in extra]
        )
    return [f"ST-{n}" for n in range(1, count + 1)]


def outbox_entries(paths: Sequence[Path]) -> list[OutboxEntry]:
    outboxes = [Outbox(path) for path in paths]
    try:
        return intents_of(outboxes)
    finally:
        for outbox in outboxes:
            outbox.close()


def emit(capsys: pytest.CaptureFixture[str], figures: dict[str, Any]) -> None:
    with capsys.disabled():
        print("\n" + json.dumps(figures))


def test_stations_killed_and_crashed_after_commit_lose_and_duplicate_nothing(
    postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = make_engine(postgres_url)
    rng = random.Random(SEED)
    supervisor = Supervisor(postgres_url, tmp_path, rng)
    try:
        seed(engine)
        codes = add_stations(engine, STATIONS)
        started = time.monotonic()
        deadline = started + HANG_LIMIT_S
        for station in [supervisor.add(code) for code in codes]:
            supervisor.start(station)
        while supervisor.kills < KILLS:
            assert time.monotonic() < deadline, "the stations did not finish"
            running = supervisor.running()
            if not running:
                break
            time.sleep(rng.uniform(*KILL_GAP_S))
            # Mostly mid-work (past start-up); sometimes at any moment at all.
            victims = [s for s in supervisor.running() if supervisor.ready(s) or rng.random() < 0.2]
            if victims:
                supervisor.kill(rng.choice(victims))
        supervisor.finish(deadline)
        seconds = time.monotonic() - started

        entries = outbox_entries([s.outbox for s in supervisor.stations])
        report = check_stations(engine, entries)
    finally:
        supervisor.stop()
        engine.dispose()

    receives = {code: 0 for code in codes}
    for entry in entries:
        if entry.kind == "receive" and entry.state == "confirmed":
            receives[entry.payload["station"]] += 1
    starts = [r for r in supervisor.records() if r.get("start")]
    finals = [supervisor.final(s) for s in supervisor.stations]
    figures = {
        "test": "T2",
        "db": "postgresql",
        "stations": STATIONS,
        "cycles": CYCLES,
        "kills": supervisor.kills,
        "crashes_after_commit": supervisor.crashes,
        "runs": sum(s.runs for s in supervisor.stations),
        "runs_with_crashes_armed": sum(s.crash_runs for s in supervisor.stations),
        "recovered_from_outbox": sum(r["recovered"] for r in starts),
        "replayed": sum(1 for e in entries if (e.outcome or {}).get("replayed")),
        "holds_left_out": sum(1 for e in entries if e.kind == HOLD_BIN),
        **report.figures(),
        "completed": sum(1 for n in receives.values() if n == CYCLES),
        "seconds": round(seconds, 2),
    }
    emit(capsys, figures)
    assert supervisor.kills == KILLS, "the stations finished before every kill was made"
    assert supervisor.crashes > 0, "no run crashed after a commit"
    assert report.lost == 0, report.examples
    assert report.duplicated == 0, report.examples
    assert report.phantom == 0, report.examples
    assert report.move_mismatch == 0, report.examples
    assert report.violations == 0, (report.invariants, report.examples)
    assert report.pending == 0, report.examples
    assert report.refused == 0, "the script asks nothing the ledger may refuse"
    assert receives == {code: CYCLES for code in codes}
    assert all(f is not None and f["left"] == 0 for f in finals), finals


@dataclass(frozen=True)
class Control:
    name: str
    restart: tuple[str, ...]
    """How the station is restarted after its crash after COMMIT."""
    fresh_outbox: bool
    """The restarted station starts from a new outbox file: the old queue died with it."""


CONTROLS = [
    Control("resend under a fresh tx id", ("--resend-fresh-id",), fresh_outbox=False),
    Control("outbox lost in the crash", (), fresh_outbox=True),
]
CONTROL_CYCLES = 6


def run_once(url: str, outbox: Path, *options: str) -> int:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.support.station_process",
            "--db",
            url,
            "--station",
            "ST-1",
            "--outbox",
            str(outbox),
            "--cycles",
            str(CONTROL_CYCLES),
            "--seed",
            str(SEED),
            *options,
        ],
        cwd=ROOT,
        capture_output=True,
        timeout=HANG_LIMIT_S,
        check=False,
    )
    assert result.returncode in (0, CRASH_EXIT), result.stdout + result.stderr
    return result.returncode


@pytest.mark.parametrize("control", CONTROLS, ids=lambda c: c.name.replace(" ", "-"))
def test_the_checker_catches_a_station_broken_on_purpose(
    postgres_url: str, tmp_path: Path, control: Control, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = make_engine(postgres_url)
    try:
        seed(engine)
        first = tmp_path / "run-1.outbox"
        # The first receive is committed, and the station dies before it records the answer.
        crashed = run_once(postgres_url, first, "--crash-after-commit", "1")
        assert crashed == CRASH_EXIT
        again = tmp_path / "run-2.outbox" if control.fresh_outbox else first
        if control.fresh_outbox:
            first.unlink()  # what a queue kept in memory (or on a lost disk) amounts to
        assert run_once(postgres_url, again, *control.restart) == 0
        report: CheckReport = check_stations(engine, outbox_entries([again]))
    finally:
        engine.dispose()

    emit(capsys, {"test": "T2", "control": control.name, **report.figures()})
    assert not report.ok, "the checker missed a station broken on purpose"
    if control.fresh_outbox:
        # The committed receive's intent died with the queue: a transaction no station meant,
        # and the restarted station scans that cycle again.
        assert report.phantom >= 1, report.examples
    else:
        assert report.duplicated >= 1, report.examples
