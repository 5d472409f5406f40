"""T6 (RELIABILITY.md): several station processes on one SQLite ledger file, killed with -9.

4 processes x 300 scans, each with its own outbox file, and 20 kill -9 at random moments by a
supervisor that restarts the victim; a restarted station first drains its outbox, then carries
on. Afterwards: the checker as in T1 (0 lost, 0 duplicated, invariants hold, balances = replay)
and `PRAGMA integrity_check` is ok on the ledger and on every outbox.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from app.adapters.db.engine import make_engine
from app.adapters.db.uow import SqlLedger
from app.adapters.outbox import Outbox
from app.services.ledger import submit
from tests.support.checker import check, intents_of
from tests.support.warehouse import seed
from tests.support.workload import HOTSPOT, opening

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = 4
SCANS = 300
KILLS = 20
TIME_LIMIT_S = 240  # a hung run fails instead of blocking CI; not a performance assertion


def integrity(path: Path) -> str:
    with sqlite3.connect(path) as db:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])


def json_lines(path: Path) -> list[dict[str, Any]]:
    """The JSON lines a station printed (a kill may cut its last line short)."""
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    return records


class Supervisor:
    """Starts, kills and restarts station processes; keeps each run's output in a file."""

    def __init__(self, db_url: str, directory: Path) -> None:
        self.db_url = db_url
        self.directory = directory
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        self.runs: dict[int, int] = {}

    def outbox(self, worker: int) -> Path:
        return self.directory / f"station-{worker}.outbox"

    def output(self, worker: int) -> Path:
        return self.directory / f"station-{worker}.run-{self.runs[worker]}.out"

    def start(self, worker: int) -> None:
        self.runs[worker] = self.runs.get(worker, -1) + 1
        self.outbox(worker).with_suffix(".ready").unlink(missing_ok=True)
        with self.output(worker).open("wb") as out:
            self.procs[worker] = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.support.sqlite_worker",
                    "--db",
                    self.db_url,
                    "--outbox",
                    str(self.outbox(worker)),
                    "--worker",
                    str(worker),
                    "--scans",
                    str(SCANS),
                ],
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def running(self) -> list[int]:
        for worker, proc in self.procs.items():
            code = proc.poll()
            assert code in (None, 0), self.output(worker).read_text()
        return [w for w, p in self.procs.items() if p.returncode is None]

    def ready(self, worker: int) -> bool:
        marker = self.outbox(worker).with_suffix(".ready")
        return marker.exists() and marker.read_text() == str(self.procs[worker].pid)

    def kill(self, worker: int) -> None:
        os.kill(self.procs[worker].pid, signal.SIGKILL)
        self.procs[worker].wait()
        self.start(worker)


@pytest.mark.slow
@pytest.mark.xdist_group("heavy")
def test_station_processes_killed_at_random_lose_and_duplicate_nothing(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = make_engine(sqlite_url)
    seed(engine)
    ledger = SqlLedger(engine)
    with Outbox(tmp_path / "setup.outbox") as setup:
        setup.enqueue(opening(HOTSPOT))
        assert setup.drain(ledger, submit).outcomes[0].ok
        setup_intents = setup.entries()

    rng = random.Random(6)
    supervisor = Supervisor(sqlite_url, tmp_path)
    started = time.perf_counter()
    for worker in range(PROCESSES):
        supervisor.start(worker)
    kills = 0
    while kills < KILLS:
        assert time.perf_counter() - started < TIME_LIMIT_S, "the stations did not finish"
        running = supervisor.running()
        if not running:
            break
        time.sleep(rng.uniform(0.05, 0.5))
        # Mostly mid-work (the process is past its imports); sometimes at any moment at all.
        victims = [w for w in running if rng.random() < 0.2 or supervisor.ready(w)]
        victims = [w for w in victims if supervisor.procs[w].poll() is None]
        if victims:
            supervisor.kill(rng.choice(victims))
            kills += 1
    for worker, proc in supervisor.procs.items():
        remaining = max(1.0, TIME_LIMIT_S - (time.perf_counter() - started))
        assert proc.wait(timeout=remaining) == 0, supervisor.output(worker).read_text()
    seconds = time.perf_counter() - started

    finals = [
        json.loads(supervisor.output(w).read_text().strip().splitlines()[-1])
        for w in range(PROCESSES)
    ]
    starts = [
        record
        for out in sorted(tmp_path.glob("station-*.run-*.out"))
        for record in json_lines(out)
        if record.get("start")
    ]
    outboxes = [Outbox(supervisor.outbox(w)) for w in range(PROCESSES)]
    intents = intents_of(outboxes)
    replayed = sum(1 for e in intents if e.outcome and e.outcome["replayed"])
    for outbox in outboxes:
        outbox.close()
    report = check(engine, setup_intents + intents)
    engine.dispose()
    ledger_file = Path(make_url(sqlite_url).database or "")
    checks = [integrity(ledger_file)] + [integrity(supervisor.outbox(w)) for w in range(PROCESSES)]

    figures = {
        "test": "T6",
        "db": "sqlite",
        "processes": PROCESSES,
        "tx": len(intents),
        "kills": kills,
        **report.figures(),
        "restarts": sum(supervisor.runs.values()),
        "recovered_from_outbox": sum(s["recovered"] for s in starts),
        "replayed_after_kill": replayed,
        "locked_in_final_runs": sum(f["locked"] for f in finals),
        "integrity_check": "ok" if set(checks) == {"ok"} else checks,
        "seconds": round(seconds, 2),
        "tx_per_s": round(len(intents) / seconds, 1),
    }
    with capsys.disabled():
        print("\n" + json.dumps(figures))
    assert kills == KILLS, "the stations finished before every kill was made"
    assert len(intents) == PROCESSES * SCANS
    assert report.lost == 0, report.examples
    assert report.duplicated == 0, report.examples
    assert report.violations == 0, (report.invariants, report.examples)
    assert report.phantom == 0 and report.move_mismatch == 0 and report.pending == 0
    assert report.operations == PROCESSES * SCANS + 1
    assert checks == ["ok"] * (PROCESSES + 1)
