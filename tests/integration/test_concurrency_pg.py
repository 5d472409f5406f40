"""T1 (RELIABILITY.md): concurrent stations on PostgreSQL, hot-spot and uniform mixes, CI size.

8 station threads x 300 scans. Every scan goes to the station's outbox first and is sent from
there; some replies are dropped and the id resent, some answered ids are sent again, and some
ids are sent by two threads at once. The checker then compares the outboxes with the database:
0 lost, 0 duplicated, the invariants hold and the balances equal a replay of the moves.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from app.adapters.db.engine import make_engine
from app.adapters.db.uow import SqlLedger
from app.adapters.outbox import Outbox
from app.services.ledger import submit
from tests.support.checker import check, intents_of
from tests.support.warehouse import seed
from tests.support.workload import (
    HOTSPOT,
    Mix,
    StationStats,
    StationThread,
    add_catalogue,
    opening,
    uniform_mix,
)

WORKERS = 8
SCANS = 300

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.xdist_group("heavy")]


@pytest.mark.parametrize("mix", [HOTSPOT, uniform_mix()], ids=lambda m: m.name)
def test_concurrent_stations_lose_and_duplicate_nothing(
    postgres_url: str, tmp_path: Path, mix: Mix, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = make_engine(postgres_url, pool_size=WORKERS + 2)
    try:
        seed(engine)
        add_catalogue(engine, mix)
        ledger = SqlLedger(engine)
        with Outbox(tmp_path / "setup.outbox") as setup:
            load = opening(mix)
            setup.enqueue(load)
            assert setup.drain(ledger, submit).outcomes[0].ok
            setup_intents = setup.entries()

        stations = [
            StationThread(w, mix, ledger, tmp_path / f"station-{w}.outbox", SCANS)
            for w in range(WORKERS)
        ]
        started = time.perf_counter()
        for station in stations:
            station.start()
        for station in stations:
            station.join()
        seconds = time.perf_counter() - started
        errors = [s.error for s in stations if s.error is not None]
        assert not errors, errors
        left = sum(station.finish() for station in stations)

        report = check(engine, setup_intents + intents_of(s.outbox for s in stations))
        stats = StationStats()
        for station in stations:
            stats.add(station.stats)
            station.outbox.close()
    finally:
        engine.dispose()

    figures = {
        "test": "T1",
        "mix": mix.name,
        "db": "postgresql",
        "workers": WORKERS,
        "tx": stats.scans,
        **report.figures(),
        "left_in_outbox": left,
        "lost_acks": stats.lost_acks,
        "resends": stats.resends,
        "concurrent_resends": stats.concurrent_resends,
        "replayed": stats.replayed,
        "unavailable": stats.unavailable,
        "resend_mismatch": stats.resend_mismatch,
        "seconds": round(seconds, 2),
        "tx_per_s": round(stats.scans / seconds, 1),
    }
    with capsys.disabled():
        print("\n" + json.dumps(figures))
    assert stats.scans == WORKERS * SCANS
    assert report.lost == 0, report.examples
    assert report.duplicated == 0, report.examples
    assert report.violations == 0, (report.invariants, report.examples)
    assert report.phantom == 0 and report.move_mismatch == 0, report.examples
    assert report.pending == 0 and left == 0
    assert stats.resend_mismatch == 0
    assert report.operations == WORKERS * SCANS + 1
