"""How many database transactions one receive scan costs the station, and how long the station
takes to answer it, counted on the station's own thread (DESIGN.md section 2: "a scan costs one
database transaction, the ledger's, when online").

A demo warehouse is built with `perpetua demo` (as a user would), the station's session is built
by the composition root (`app.bootstrap.open_station`), badge D001 logs in, and N scans of demo
GTINs are fed to it in receive mode, each a blind Receive of one unit. Every transaction begun on
any engine is counted through SQLAlchemy's `begin` event, and those begun on the scanning thread
are the scan's (the replica's refresher and the link watcher run on threads of their own and are
reported apart, per second). Baseline, in the same run: a one-row INSERT + COMMIT on the same
database, timed the same way (bench/ledger.py's BareCommit).

It runs on whatever checkout is on the import path, so the same script measures an older commit:

    .venv/bin/python bench/scan_transactions.py [--db URL] [--scans N] [--json]
    git worktree add /tmp/before <commit>
    PYTHONPATH=/tmp/before .venv/bin/python bench/scan_transactions.py   # the older code
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

import app
from app.bootstrap import open_station
from app.config import Settings
from app.domain.scan import Scan, Source
from app.services import demo as demo_plan

SEED = 1  # `perpetua demo` default seed: the same plan as the built warehouse


def perpetua() -> list[str]:
    return [sys.executable, "-c", "from app.cli import run; run()"]


def build(url: str, bins: int, skus: int) -> None:
    done = subprocess.run(
        [*perpetua(), "--db", url, "demo", "--bins", str(bins), "--skus", str(skus)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"perpetua demo failed:\n{done.stdout}\n{done.stderr}")


def gtins(bins: int, skus: int) -> list[str]:
    plan = demo_plan.build_demo(bins, skus, SEED)
    return [
        code
        for s in plan.skus
        if s.tracking.value == "none"
        for code, kind in s.barcodes
        if kind == "gtin"
    ]


class Begins:
    """Transactions begun, per thread."""

    def __init__(self) -> None:
        self.by_thread: Counter[int] = Counter()
        self._lock = threading.Lock()

    def __call__(self, _connection: Any) -> None:
        with self._lock:
            self.by_thread[threading.get_ident()] += 1


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def bare_commit_ms(engine_or_url: Any, n: int = 30) -> float:
    """bench/ledger.py's baseline: one row inserted and committed, median of n, in ms."""
    from ledger import BareCommit

    from app.adapters.db.engine import make_engine

    engine = make_engine(engine_or_url) if isinstance(engine_or_url, str) else engine_or_url
    bare = BareCommit(engine)
    return statistics.median(bare() for _ in range(n)) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database URL (default: a new SQLite file)")
    parser.add_argument("--scans", type=int, default=200)
    parser.add_argument("--bins", type=int, default=2000)
    parser.add_argument("--skus", type=int, default=500)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.db or f"sqlite:///{folder}/bench.db"
        build(url, args.bins, args.skus)
        codes = gtins(args.bins, args.skus)
        begins = Begins()
        event.listen(Engine, "begin", begins)
        session = open_station(Settings(url, "bench"), "ST-1", Path(folder) / "outbox.sqlite")
        try:
            me = threading.get_ident()
            session.handle_scan(Scan("D001", Source.WEDGE, device="bench"))
            for _ in range(5):  # warm-up: first connections, caches
                session.handle_scan(Scan(codes[0], Source.WEDGE, device="bench"))
            before, others_before = begins.by_thread[me], sum(begins.by_thread.values())
            started = time.perf_counter()
            times = []
            for i in range(args.scans):
                t0 = time.perf_counter()
                view = session.handle_scan(Scan(codes[i % len(codes)], Source.WEDGE, device="b"))
                times.append((time.perf_counter() - t0) * 1000)
                assert view.scans[0].state.value == "confirmed", view.feedback
            seconds = time.perf_counter() - started
            mine = begins.by_thread[me] - before
            others = sum(begins.by_thread.values()) - others_before - mine
        finally:
            session.close()
            event.remove(Engine, "begin", begins)
        figures = {
            "bench": "scan_transactions",
            "code": str(Path(app.__file__).parent.parent),
            "db": url.split(":", 1)[0],
            "scans": args.scans,
            "transactions_per_receive_scan": round(mine / args.scans, 2),
            "background_transactions_per_s": round(others / seconds, 1),
            "scan_ms_p50": round(statistics.median(times), 2),
            "scan_ms_p99": round(percentile(times, 99), 2),
            "bare_commit_ms_p50": round(bare_commit_ms(url, 50), 2),
        }
        figures["ratio_p50_to_bare_commit"] = round(
            figures["scan_ms_p50"] / max(figures["bare_commit_ms_p50"], 0.001), 1
        )
    print(json.dumps(figures) if args.json else json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
