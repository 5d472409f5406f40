"""Ledger latency and throughput per transaction kind, against a bare commit on the same database.

Every kind (receive, putaway, transfer, reserve, post_pick, void, ship, adjust) is a sequence of N
commands submitted one at a time through `submit()`, as a station does. After each of them, on the
same engine, a bare one-row INSERT + COMMIT measures the floor the database itself sets; the ratio
says what the ledger costs on top of it (STYLE.md rule 19); interleaving the two keeps that ratio
steady on a shared machine whose load comes and goes. On PostgreSQL, stations in
threads submit receive+putaway pairs at 1, 4 and 16 clients, beside pgbench TPC-B-like at the same
client counts on the same server. Each run makes its own SQLite file and PostgreSQL database, drops
them at the end, and checks the ledger invariants before it does.

    .venv/bin/python bench/ledger.py [--db sqlite|postgres|both] [--n N] [--pg-url URL] [--json]
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import random
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy
from machine import machine as machine_info
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, create_engine, insert, text
from sqlalchemy.engine import URL, make_url

from app.adapters.db import catalogue, migrate
from app.adapters.db.engine import make_engine
from app.adapters.db.uow import SqlLedger
from app.domain.catalogue import LocationSpec, OperatorSpec, SkuSpec, StationSpec
from app.domain.commands import (
    Adjust,
    AdjustReason,
    Command,
    PostPick,
    Putaway,
    Receive,
    Reserve,
    Ship,
    Transfer,
    Void,
)
from app.domain.ledger import Outcome
from app.domain.model import LocationKind, Role
from app.domain.rules import ROLES_BY_KIND
from app.services.ledger import submit

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
KINDS = ("receive", "putaway", "transfer", "reserve", "post_pick", "void", "ship", "adjust")
SKU_COUNT = 40
BIN_COUNT = 100
STATIONS = 16
CLIENTS = (1, 4, 16)
WARMUP = 20
OUTBOUND = "OUT-1"
COUNTER = "COUNTER"
PICKER = "PICKER-1"


def say(message: str) -> None:
    """Progress goes to stderr, so that --json leaves stdout to the one JSON object."""
    print(message, file=sys.stderr, flush=True)


# --- figures ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    n: int
    p50_ms: float
    p99_ms: float
    tx_per_s: float


def figures(latencies_s: Sequence[float], wall_s: float | None = None) -> Figures:
    """Percentiles, and throughput over the wall time (one at a time: over the time spent)."""
    cuts = statistics.quantiles(latencies_s, n=100, method="inclusive")
    wall = sum(latencies_s) if wall_s is None else wall_s
    return Figures(len(latencies_s), cuts[49] * 1000, cuts[98] * 1000, len(latencies_s) / wall)


class RetryCounter(logging.Handler):
    """Counts the retries `submit()` logs (lock conflicts, deadlocks, lost connections)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "attempt" in record.getMessage():
            self.count += 1


# --- the warehouse ----------------------------------------------------------------------------


def sku(i: int) -> str:
    return f"SKU-{i % SKU_COUNT:03d}"


def bin_(i: int) -> str:
    return f"B-{i % BIN_COUNT:03d}"


def seed(engine: Engine) -> None:
    """Untracked SKUs, bins in pick order, one dock, station and dock worker per client."""
    skus = [SkuSpec(sku(k), f"Bench item {k}", 100, 50) for k in range(SKU_COUNT)]
    locations = [
        LocationSpec(f"DOCK-{s:02d}", LocationKind.DOCK, zone="A") for s in range(STATIONS)
    ]
    locations.append(LocationSpec(OUTBOUND, LocationKind.OUTBOUND, zone="A"))
    locations += [
        LocationSpec(
            bin_(b), LocationKind.BIN, zone="AB"[b % 2], aisle=f"{b // 10:02d}", pick_sequence=b + 1
        )
        for b in range(BIN_COUNT)
    ]
    operators = [
        OperatorSpec(f"OP-{s:02d}", f"Dock worker {s}", Role.DOCK) for s in range(STATIONS)
    ]
    operators.append(OperatorSpec(COUNTER, "Cycle counter", Role.COUNTER))
    operators.append(OperatorSpec(PICKER, "Picker", Role.PICKER))
    stations = [
        StationSpec(f"ST-{s:02d}", f"Station {s}", "A", f"DOCK-{s:02d}") for s in range(STATIONS)
    ]
    with engine.begin() as c:
        catalogue.add_skus(c, skus)
        catalogue.add_locations(c, locations)
        catalogue.add_operators(c, operators)
        catalogue.add_stations(c, stations)


def command(
    cls: type[Command], station: int = 0, operator: str | None = None, **fields: Any
) -> Any:
    return cls(
        tx_id=uuid.uuid4(),
        station=f"ST-{station:02d}",
        # The ledger checks roles: picks go to a picker, the rest to the station's dock worker.
        operator=operator
        or (f"OP-{station:02d}" if Role.DOCK in ROLES_BY_KIND[cls.kind] else PICKER),
        **fields,
    )


# --- one kind at a time, each beside a bare commit -------------------------------------------

SCRATCH = Table(
    "bench_bare_commit",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("note", String(64), nullable=False),
)


class BareCommit:
    """Check out a connection, BEGIN (IMMEDIATE on SQLite), insert one row, COMMIT, check it in.

    The same engine, pool and connection setup a unit of work uses, with nothing else inside.
    """

    def __init__(self, engine: Engine) -> None:
        SCRATCH.create(engine, checkfirst=True)
        self._engine = engine
        self._stmt = insert(SCRATCH)
        self._rows = 0

    def __call__(self) -> float:
        self._rows += 1
        t0 = time.perf_counter()
        with self._engine.begin() as c:
            c.execute(self._stmt, {"note": f"row {self._rows}"})
        return time.perf_counter() - t0


@dataclass
class Sample:
    """Seconds per ledger transaction, and per bare commit made right after each of them."""

    ledger: list[float] = field(default_factory=list)
    bare: list[float] = field(default_factory=list)


def timed(
    ledger: SqlLedger, commands: Sequence[Command], bare: BareCommit | None = None
) -> tuple[Sample, list[Outcome]]:
    """Submit one at a time; every command must be confirmed, or the figures mean nothing.

    A bare commit follows each transaction, so that both see the same moment of a shared,
    noisy machine and their ratio holds even when the absolute figures drift.
    """
    sample, outcomes = Sample(), []
    for cmd in commands:
        t0 = time.perf_counter()
        outcome = submit(cmd, ledger)
        sample.ledger.append(time.perf_counter() - t0)
        if not outcome.ok:
            raise RuntimeError(f"{cmd.kind.value} was refused: {outcome.message}")
        outcomes.append(outcome)
        if bare is not None:
            sample.bare.append(bare())
    return sample, outcomes


def reservation_ids(outcomes: Sequence[Outcome]) -> list[int]:
    return [int(o.result["lines"][0]["reservation"]) for o in outcomes]


def kind_sequences(ledger: SqlLedger, bare: BareCommit, n: int, tag: str) -> dict[str, Sample]:
    """N of each kind, in an order where each finds the stock the one before left.

    Receive 10 of SKU i%40 on the dock, put it into bin i%100, transfer 2 of it to the next bin,
    reserve 1 (first in pick order), pick it to outbound, void N other reservations, ship what was
    picked, and count +1 then -1 on one bin so the adjustment never runs short.
    """
    dock = "DOCK-00"
    out: dict[str, Sample] = {}
    out["receive"], _ = timed(
        ledger, [command(Receive, sku=sku(i), qty=10, to_location=dock) for i in range(n)], bare
    )
    out["putaway"], _ = timed(
        ledger,
        [
            command(Putaway, sku=sku(i), qty=10, from_location=dock, to_location=bin_(i))
            for i in range(n)
        ],
        bare,
    )
    out["transfer"], _ = timed(
        ledger,
        [
            command(Transfer, sku=sku(i), qty=2, from_location=bin_(i), to_location=bin_(i + 1))
            for i in range(n)
        ],
        bare,
    )
    out["reserve"], reserved = timed(
        ledger,
        [command(Reserve, order=f"{tag}-P{i}", line=1, sku=sku(i), qty=1) for i in range(n)],
        bare,
    )
    out["post_pick"], _ = timed(
        ledger,
        [
            command(PostPick, reservation=r, qty=1, to_location=OUTBOUND)
            for r in reservation_ids(reserved)
        ],
        bare,
    )
    # The reservations to void are not counted: the reserve figure above already covers them.
    _, to_void = timed(
        ledger, [command(Reserve, order=f"{tag}-V{i}", line=1, sku=sku(i), qty=1) for i in range(n)]
    )
    out["void"], _ = timed(
        ledger, [command(Void, reservation=r) for r in reservation_ids(to_void)], bare
    )
    out["ship"], _ = timed(
        ledger, [command(Ship, sku=sku(i), qty=1, from_location=OUTBOUND) for i in range(n)], bare
    )
    out["adjust"], _ = timed(
        ledger,
        [
            command(
                Adjust,
                operator=COUNTER,
                sku=sku(j // 2),
                location=bin_(j // 2),
                delta=1 if j % 2 == 0 else -1,
                reason=AdjustReason.COUNT,
            )
            for j in range(n)
        ],
        bare,
    )
    return out


def invariants(ledger: SqlLedger) -> dict[str, int]:
    with ledger.reader() as uow:
        return uow.store.invariant_report().as_dict()


def run_database(engine: Engine, n: int) -> dict[str, Any]:
    say(f"  migrating and seeding {engine.dialect.name}")
    migrate.upgrade(engine)
    seed(engine)
    ledger, bare = SqlLedger(engine), BareCommit(engine)
    say(f"  warm-up: {WARMUP} of each kind, untimed")
    kind_sequences(ledger, bare, WARMUP, "warm")
    say(f"  {n} of each of {len(KINDS)} kinds, each followed by a bare INSERT + COMMIT")
    samples = kind_sequences(ledger, bare, n, "bench")
    kinds = {}
    for kind, sample in samples.items():
        mine, beside = figures(sample.ledger), figures(sample.bare)
        kinds[kind] = {
            **asdict(mine),
            "bare": asdict(beside),
            "p50_x_bare": mine.p50_ms / beside.p50_ms,
            "tx_per_s_x_bare": mine.tx_per_s / beside.tx_per_s,
        }
    pooled = figures([x for sample in samples.values() for x in sample.bare])
    return {"baseline": asdict(pooled), "kinds": kinds}


# --- concurrent stations on PostgreSQL --------------------------------------------------------


def stations_run(url: str, clients: int, pairs_total: int, retries: RetryCounter) -> dict[str, Any]:
    """`clients` threads, one station and dock each, submit receive+putaway pairs of random SKUs."""
    engine = make_engine(url, pool_size=clients)
    ledger = SqlLedger(engine)
    _ = ledger.virtual_ids  # read once, before the threads share the factory
    per_thread = math.ceil(pairs_total / clients)
    barrier = threading.Barrier(clients + 1)
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[BaseException] = []

    def pair(rng: random.Random, station: int) -> list[Command]:
        item, dock = sku(rng.randrange(SKU_COUNT)), f"DOCK-{station:02d}"
        target = bin_(rng.randrange(BIN_COUNT))
        return [
            command(Receive, station, sku=item, qty=5, to_location=dock),
            command(Putaway, station, sku=item, qty=5, from_location=dock, to_location=target),
        ]

    def station(index: int) -> None:
        try:
            rng = random.Random(index)
            for cmd in pair(rng, index):  # untimed: opens this thread's connection
                submit(cmd, ledger)
            commands = [c for _ in range(per_thread) for c in pair(rng, index)]
            barrier.wait()
            for cmd in commands:
                t0 = time.perf_counter()
                outcome = submit(cmd, ledger)
                latencies[index].append(time.perf_counter() - t0)
                if not outcome.ok:
                    raise RuntimeError(f"{cmd.kind.value} was refused: {outcome.message}")
        except BaseException as error:  # a thread boundary: hand the failure to the main thread
            errors.append(error)
            barrier.abort()

    threads = [
        threading.Thread(target=station, args=(i,), name=f"ST-{i:02d}", daemon=True)
        for i in range(clients)
    ]
    before = retries.count
    for t in threads:
        t.start()
    with suppress(threading.BrokenBarrierError):  # a station failed: its error is raised below
        barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    engine.dispose()
    if errors:
        raise errors[0]
    result = asdict(figures([x for per in latencies for x in per], wall))
    return {"clients": clients, **result, "retries": retries.count - before}


def pgbench_args(url: URL) -> tuple[list[str], dict[str, str]]:
    args = []
    if url.host:
        args += ["-h", url.host]
    if url.port:
        args += ["-p", str(url.port)]
    if url.username:
        args += ["-U", url.username]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return args, env


def pgbench_tps(pgbench: str, url: URL, clients: int, seconds: int) -> float:
    args, env = pgbench_args(url)
    run = [pgbench, *args, "-c", str(clients), "-j", str(min(clients, 2)), "-T", str(seconds)]
    done = subprocess.run(
        [*run, str(url.database)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 120,
    )
    match = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", done.stdout)
    if match is None:
        raise RuntimeError(f"no tps figure in pgbench output:\n{done.stdout}\n{done.stderr}")
    return float(match.group(1))


def find_pgbench() -> str | None:
    found = shutil.which("pgbench")
    return found or ("/usr/bin/pgbench" if Path("/usr/bin/pgbench").exists() else None)


def concurrency(url: str, pairs_total: int, pgbench_seconds: int) -> dict[str, Any]:
    """Each client count runs the ledger stations, then pgbench at once, so both meet one moment."""
    pgbench, parsed = find_pgbench(), make_url(url)
    note = None
    if pgbench is None:
        note = "pgbench is not installed: its column is skipped"
    else:
        args, env = pgbench_args(parsed)
        say("  pgbench -i -s 1 in the bench database")
        subprocess.run(
            [pgbench, *args, "-i", "-s", "1", "-q", str(parsed.database)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        )
    retries = RetryCounter()
    logger = logging.getLogger("app.services.ledger")
    logger.addHandler(retries)
    logger.setLevel(logging.INFO)
    rows = []
    try:
        for clients in CLIENTS:
            say(f"  {clients} concurrent station(s): {pairs_total} receive+putaway pairs")
            row = stations_run(url, clients, pairs_total, retries)
            if pgbench is not None:
                say(f"  pgbench TPC-B-like, {clients} client(s), {pgbench_seconds} s")
                row["pgbench_tps"] = pgbench_tps(pgbench, parsed, clients, pgbench_seconds)
                row["x_pgbench"] = row["tx_per_s"] / row["pgbench_tps"]
            rows.append(row)
    finally:
        logger.removeHandler(retries)
    return {"pairs_per_level": pairs_total, "rows": rows, "pgbench": pgbench, "note": note}


# --- databases made and dropped by this run ---------------------------------------------------


@contextmanager
def sqlite_database() -> Iterator[tuple[Engine, Path]]:
    with tempfile.TemporaryDirectory(prefix="perpetua_bench_") as directory:
        path = Path(directory) / "ledger.db"
        engine = make_engine(f"sqlite:///{path}")
        try:
            yield engine, path
        finally:
            engine.dispose()


@contextmanager
def pg_database(server_url: str) -> Iterator[tuple[Engine, str]]:
    base = make_url(server_url)
    if base.drivername == "postgresql":
        base = base.set(drivername="postgresql+psycopg")
    admin = create_engine(base, isolation_level="AUTOCOMMIT", pool_size=1)
    name = f"perpetua_bench_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        url = base.set(database=name).render_as_string(hide_password=False)
        engine = make_engine(url)
        try:
            yield engine, url
        finally:
            engine.dispose()
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def machine(pg_url: str | None) -> dict[str, Any]:
    info = machine_info(
        sqlalchemy=sqlalchemy.__version__,
        psycopg=psycopg.__version__,
        sqlite=sqlite3.sqlite_version,
        postgresql=None,
        pgbench=None,
    )
    if pg_url is not None:
        engine = create_engine(make_url(pg_url).set(drivername="postgresql+psycopg"), pool_size=1)
        with engine.connect() as c:
            info["postgresql"] = c.execute(text("SHOW server_version")).scalar_one()
        engine.dispose()
        pgbench = find_pgbench()
        if pgbench is not None:
            info["pgbench"] = subprocess.run(
                [pgbench, "--version"], capture_output=True, text=True, check=False
            ).stdout.strip()
    return info


# --- output -----------------------------------------------------------------------------------


def print_report(report: dict[str, Any]) -> None:
    m = report["machine"]
    print(f"Perpetua ledger benchmark, {m['time']}")
    print(f"machine: {m['cpu_count']} CPUs ({m['cpu']}), {m['platform']}")
    print(f"load average (1 min): {m['load_start']:.2f} at start, {m['load_end']:.2f} at end")
    print(f"python {m['python']}, SQLAlchemy {m['sqlalchemy']}, psycopg {m['psycopg']}")
    print(f"sqlite {m['sqlite']}; postgresql {m['postgresql'] or '-'}")
    print(f"{m['pgbench'] or 'pgbench: not installed'}")
    print(
        f"N = {report['n']} per kind, one at a time through submit(), after {WARMUP} of each "
        "untimed; bare = a one-row INSERT + COMMIT on the same engine right after each transaction"
    )
    for db, result in report["databases"].items():
        print()
        print(f"{db}: {result['setup']}")
        head = (
            f"{'':<20}{'p50 ms':>8}{'p99 ms':>8}{'tx/s':>7}  |{'bare p50':>9}{'bare tx/s':>10}  |"
            f"{'p50 / bare':>11}{'tx/s / bare':>12}"
        )
        print(head)
        print("-" * len(head))
        for kind, f in result["kinds"].items():
            b = f["bare"]
            print(
                f"{kind:<20}{f['p50_ms']:>8.2f}{f['p99_ms']:>8.2f}{f['tx_per_s']:>7.0f}  |"
                f"{b['p50_ms']:>9.2f}{b['tx_per_s']:>10.0f}  |"
                f"{f['p50_x_bare']:>10.1f}x{f['tx_per_s_x_bare']:>12.3f}"
            )
        b = result["baseline"]
        print(
            f"{'bare, all kinds':<20}{b['p50_ms']:>8.2f}{b['p99_ms']:>8.2f}{b['tx_per_s']:>7.0f}"
            f"  ({b['n']} commits)"
        )
        conc = result.get("concurrency")
        if conc:
            print()
            print(
                f"{db}: concurrent stations, threads in one process, {conc['pairs_per_level']} "
                "receive+putaway pairs per level;\npgbench TPC-B-like on the same server with the "
                "same client count, run right after each level"
            )
            head = (
                f"{'clients':>7}{'ledger tx/s':>13}{'p50 ms':>9}{'p99 ms':>9}{'retries':>9}"
                f"{'pgbench tps':>13}{'ledger / pgbench':>18}"
            )
            print(head)
            print("-" * len(head))
            for r in conc["rows"]:
                pg = ""
                if "pgbench_tps" in r:
                    pg = f"{r['pgbench_tps']:>13.0f}{r['x_pgbench']:>18.3f}"
                print(
                    f"{r['clients']:>7}{r['tx_per_s']:>13.0f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}"
                    f"{r['retries']:>9}{pg}"
                )
            if conc["note"]:
                print(f"note: {conc['note']}")
        inv = result["invariants"]
        detail = ", ".join(f"{k} {v}" for k, v in inv.items() if k != "total")
        print(f"invariants after the run: total {inv['total']} ({detail})")
    for note in report["notes"]:
        print(f"note: {note}")


def stop(signum: int, _frame: object) -> None:
    """On SIGTERM, unwind like Ctrl-C, so that the bench database and file are still dropped."""
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, stop)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--n", type=int, default=500, help="transactions per kind (at least 2)")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("PERPETUA_BENCH_DATABASE_URL")
        or os.environ.get("PERPETUA_TEST_DATABASE_URL")
        or DEFAULT_PG_URL,
        help="a server to make the bench database on (the database named here is left alone)",
    )
    parser.add_argument(
        "--pairs", type=int, default=1000, help="receive+putaway pairs per client level"
    )
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if args.n < 2 or args.pairs < 1:
        parser.error("--n must be at least 2 and --pairs at least 1")

    notes: list[str] = []
    pg_url: str | None = args.pg_url if args.db in ("postgres", "both") else None
    if pg_url is not None:
        try:
            info = machine(pg_url)
        except sqlalchemy.exc.OperationalError as error:
            if args.db == "postgres":
                raise
            notes.append(
                f"PostgreSQL at {make_url(pg_url).render_as_string()} unreachable, skipped: "
                f"{str(error.orig).strip().splitlines()[0]}"
            )
            pg_url = None
            info = machine(None)
    else:
        info = machine(None)
    report: dict[str, Any] = {"machine": info, "n": args.n, "databases": {}, "notes": notes}

    runs: list[tuple[str, Callable[[], dict[str, Any]]]] = []
    if args.db in ("sqlite", "both"):
        runs.append(("sqlite", lambda: sqlite_run(args.n)))
    if pg_url is not None:
        url = pg_url
        runs.append(("postgresql", lambda: pg_run(url, args.n, args.pairs, args.pgbench_seconds)))
    for name, run in runs:
        say(f"{name}:")
        report["databases"][name] = run()

    info["load_end"] = os.getloadavg()[0]
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    broken = sum(r["invariants"]["total"] for r in report["databases"].values())
    return 1 if broken else 0


def sqlite_run(n: int) -> dict[str, Any]:
    with sqlite_database() as (engine, path):
        result = run_database(engine, n)
        result["invariants"] = invariants(SqlLedger(engine))
        result["setup"] = f"file {path} (WAL, synchronous=FULL, BEGIN IMMEDIATE), deleted after"
    return result


def pg_run(server_url: str, n: int, pairs: int, pgbench_seconds: int) -> dict[str, Any]:
    with pg_database(server_url) as (engine, url):
        parsed = make_url(url)
        result = run_database(engine, n)
        result["concurrency"] = concurrency(url, pairs, pgbench_seconds)
        result["invariants"] = invariants(SqlLedger(engine))
        result["setup"] = (
            f"database {parsed.database} on {parsed.host}:{parsed.port} (READ COMMITTED, "
            "row locks in key order), dropped after"
        )
    return result


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        say("interrupted; the bench database and file were dropped")
        sys.exit(130)
