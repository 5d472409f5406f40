"""T5 (RELIABILITY.md): negative controls. Break the code on purpose; the same checks must see it.

A fault test is only trusted when it fails against broken code, so each control here runs a
deliberately broken variant and asserts that the checker (or the failure counter) DID catch it:

(a) a fresh transaction id per retry: a lost reply resent under a new id -> duplicated > 0;
(b) an unlocked read-modify-write of balances on PostgreSQL: rows read without FOR UPDATE and
    written back as absolute values from that stale read -> balances differ from the replay;
(c) a deferred SQLite BEGIN for writes under several processes -> "database is locked".
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import and_, insert, select, update

from app.adapters.db.engine import make_engine
from app.adapters.db.schema import MoveRow, QuantRow
from app.adapters.db.store import SqlLedgerStore
from app.adapters.db.uow import SqlLedger
from app.adapters.outbox import Outbox, OutboxEntry
from app.domain.model import Move, Quant, QuantKey
from app.services.ledger import submit
from tests.support.checker import CheckReport, check, intents_of
from tests.support.databases import PgServer, sqlite_copy
from tests.support.warehouse import seed
from tests.support.workload import HOTSPOT, StationStats, StationThread, opening

ROOT = Path(__file__).resolve().parents[2]
Q = QuantRow.__table__
MAX_ROUNDS = 5

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("heavy")]


def emit(capsys: pytest.CaptureFixture[str], figures: Mapping[str, Any]) -> None:
    with capsys.disabled():
        print("\n" + json.dumps(figures))


def prepare(url: str, directory: Path) -> list[OutboxEntry]:
    """Seed the warehouse and load hot-spot stock through a setup outbox; its intents."""
    engine = make_engine(url)
    try:
        seed(engine)
        with Outbox(directory / "setup.outbox") as setup:
            setup.enqueue(opening(HOTSPOT))
            assert setup.drain(SqlLedger(engine), submit).outcomes[0].ok
            return setup.entries()
    finally:
        engine.dispose()


def run_stations(
    url: str, directory: Path, workers: int, scans: int, first: int = 0, **options: Any
) -> tuple[list[OutboxEntry], StationStats, float]:
    """Run station threads `first`.. on the hot spot; their intents, counters and duration."""
    engine = make_engine(url, pool_size=workers + 2)
    try:
        ledger = SqlLedger(engine)
        stations = [
            StationThread(w, HOTSPOT, ledger, directory / f"station-{w}.outbox", scans, **options)
            for w in range(first, first + workers)
        ]
        started = time.perf_counter()
        for station in stations:
            station.start()
        for station in stations:
            station.join()
        seconds = time.perf_counter() - started
        errors = [s.error for s in stations if s.error is not None]
        assert not errors, errors
        for station in stations:
            station.finish()
        stats = StationStats()
        for station in stations:
            stats.add(station.stats)
        intents = intents_of(s.outbox for s in stations)
        for station in stations:
            station.outbox.close()
        return intents, stats, seconds
    finally:
        engine.dispose()


def checked(url: str, intents: list[OutboxEntry]) -> CheckReport:
    engine = make_engine(url)
    try:
        return check(engine, intents)
    finally:
        engine.dispose()


@pytest.fixture
def second_postgres_url(
    pg_server: PgServer, pg_template: str, request: pytest.FixtureRequest
) -> Iterator[str]:
    name = f"perpetua_t2_{pg_server.run_tag}_{abs(hash(request.node.nodeid)) % 10**10}"
    pg_server.drop(name)
    yield pg_server.create(name, template=pg_template)
    pg_server.drop(name)


# --- (a) a fresh transaction id per retry -----------------------------------------------------


@pytest.mark.postgres
def test_a_fresh_id_per_retry_is_caught_as_duplicates(
    postgres_url: str, second_postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    options: dict[str, Any] = {"lost_ack": 0.2, "resend": 0.0, "concurrent": 0.0}
    runs: dict[str, tuple[CheckReport, StationStats, float]] = {}
    for name, url, fresh_ids in (
        ("honest", postgres_url, False),
        ("broken", second_postgres_url, True),
    ):
        directory = tmp_path / name
        setup = prepare(url, directory)
        intents, stats, seconds = run_stations(
            url, directory, 4, 60, id_per_attempt=fresh_ids, **options
        )
        runs[name] = (checked(url, setup + intents), stats, seconds)
    honest, broken = runs["honest"][0], runs["broken"][0]
    stats = runs["broken"][1]
    emit(
        capsys,
        {
            "test": "T5",
            "control": "fresh_id_per_retry",
            "db": "postgresql",
            "lost_acks": stats.lost_acks,
            "duplicated": broken.duplicated,
            "honest_duplicated": honest.duplicated,
            "detected": broken.duplicated > 0,
            "seconds": round(runs["broken"][2], 2),
        },
    )
    assert honest.duplicated == 0 and honest.lost == 0 and honest.violations == 0, honest.examples
    assert stats.lost_acks > 0
    assert broken.duplicated > 0, "the checker missed duplicates from a fresh id per retry"


# --- (b) an unlocked read-modify-write of balances ----------------------------------------------


def _where(key: QuantKey) -> Any:
    return and_(
        Q.c.location_id == key.location_id, Q.c.sku_id == key.sku_id, Q.c.lot_id == key.lot_id
    )


def unlocked_lock_quants(self: SqlLedgerStore, keys: Iterable[QuantKey]) -> dict[QuantKey, Quant]:
    """BROKEN on purpose: reads the balances without FOR UPDATE and keeps the read for the write."""
    stale: dict[QuantKey, Quant] = self.__dict__.setdefault("_stale", {})
    read: dict[QuantKey, Quant] = {}
    for key in sorted(set(keys)):
        row = self._c.execute(select(Q).where(_where(key))).first()
        if row is None:
            self._c.execute(self._insert().values(**self._new_row(key)))
            row = self._c.execute(select(Q).where(_where(key))).one()
        read[key] = Quant(key, row.on_hand, row.reserved)
    stale.update(read)
    return read


def absolute_write_moves(
    self: SqlLedgerStore, tx_id: Any, moves: Sequence[Move], reserved: Mapping[QuantKey, int]
) -> None:
    """BROKEN on purpose: appends the moves, then writes balances as stale read + delta."""
    if moves:
        self._c.execute(
            insert(MoveRow),
            [
                {
                    "tx_id": tx_id,
                    "sku_id": m.sku_id,
                    "lot_id": m.lot_id,
                    "serial_id": m.serial_id,
                    "from_location_id": m.from_location_id,
                    "to_location_id": m.to_location_id,
                    "qty": m.qty,
                    "reason": m.reason,
                }
                for m in moves
            ],
        )
    deltas: dict[QuantKey, list[int]] = {}
    for m in moves:
        deltas.setdefault(QuantKey(m.from_location_id, m.sku_id, m.lot_id), [0, 0])[0] -= m.qty
        deltas.setdefault(QuantKey(m.to_location_id, m.sku_id, m.lot_id), [0, 0])[0] += m.qty
    for key, r in reserved.items():
        deltas.setdefault(key, [0, 0])[1] += r
    stale: dict[QuantKey, Quant] = self.__dict__.setdefault("_stale", {})
    for key, (d, r) in sorted(deltas.items()):
        if not (d or r):
            continue
        base = stale.get(key)
        if base is None:
            row = self._c.execute(select(Q).where(_where(key))).one()
            base = Quant(key, row.on_hand, row.reserved)
        new = Quant(key, base.on_hand + d, base.reserved + r)
        self._c.execute(
            update(QuantRow).where(_where(key)).values(on_hand=new.on_hand, reserved=new.reserved)
        )
        stale[key] = new


@pytest.mark.postgres
def test_an_unlocked_read_modify_write_is_caught_as_balance_violations(
    postgres_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    intents = prepare(postgres_url, tmp_path)
    monkeypatch.setattr(SqlLedgerStore, "lock_quants", unlocked_lock_quants)
    monkeypatch.setattr(SqlLedgerStore, "write_moves", absolute_write_moves)
    workers, scans = 8, 40
    options: dict[str, Any] = {"lost_ack": 0.0, "resend": 0.0, "concurrent": 0.0}
    stats, seconds, report = StationStats(), 0.0, CheckReport()
    for round_ in range(1, MAX_ROUNDS + 1):
        more, round_stats, round_seconds = run_stations(
            postgres_url,
            tmp_path,
            workers,
            scans,
            first=round_ * workers,
            tolerate_errors=True,
            **options,
        )
        intents += more
        stats.add(round_stats)
        seconds += round_seconds
        report = checked(postgres_url, intents)
        if report.violations:
            break
    emit(
        capsys,
        {
            "test": "T5",
            "control": "unlocked_read_modify_write",
            "db": "postgresql",
            "workers": workers,
            "rounds": round_,
            "tx": stats.scans,
            "errors": stats.errors,
            "violations": report.violations,
            "lost_updates": report.replay_diff,
            "invariants": report.invariants,
            "detected": report.violations > 0,
            "seconds": round(seconds, 2),
        },
    )
    assert report.violations > 0, "the checker missed lost updates from an unlocked write"


# --- (c) a deferred SQLite BEGIN under several processes ----------------------------------------


def run_processes(url: str, directory: Path, processes: int, scans: int, *flags: str) -> list[Any]:
    directory.mkdir(parents=True, exist_ok=True)
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.support.sqlite_worker",
                "--db",
                url,
                "--outbox",
                str(directory / f"station-{w}.outbox"),
                "--worker",
                str(w),
                "--scans",
                str(scans),
                *flags,
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(processes)
    ]
    finals = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        finals.append(json.loads(out.strip().splitlines()[-1]))
    return finals


def test_a_deferred_sqlite_begin_under_several_processes_is_caught(
    sqlite_template: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    figures: dict[str, int] = {}
    for name, flags in (("immediate", ()), ("deferred", ("--deferred-begin",))):
        url = sqlite_copy(sqlite_template, tmp_path, f"{name}.db")
        prepare(url, tmp_path / name)
        finals = run_processes(url, tmp_path / name, 4, 80, *flags)
        figures[f"{name}_locked"] = sum(f["locked"] for f in finals)
        figures[f"{name}_unavailable"] = sum(f["unavailable"] for f in finals)
    emit(
        capsys,
        {
            "test": "T5",
            "control": "deferred_sqlite_begin",
            "db": "sqlite",
            "processes": 4,
            **figures,
            "detected": figures["deferred_locked"] > 0,
        },
    )
    assert figures["immediate_locked"] == 0
    assert figures["deferred_locked"] > 0, "no 'database is locked' seen with a deferred BEGIN"
