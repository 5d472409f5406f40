"""How long `perpetua import skus` takes at 10k, 50k and 200k SKUs on fresh databases, against a
bare bulk insert of the same rows measured in the same run (issue 11, point 6: 200,000 SKUs in
under 60 s on both databases).

Each file is shaped like the demo's SKUs (app/services/demo.py): a GTIN in the restricted
circulation range, the SKU code as an alias (a shelf label) plus a supplier's alias, tracking,
sizes, look-alike groups: three barcodes a SKU. For each size and database, a fresh database
(SQLite: a file in a temporary folder; PostgreSQL: perpetua_bench_import_<random> on the server
of --pg-url, dropped WITH (FORCE) after) is migrated, then the import runs as an administrator
runs it: `python -m app import skus FILE` in its own process, timed from start to exit (Python's
start-up, every check of every row, the clash query, the one transaction, ANALYZE), and its CPU
time (the server's own CPU on PostgreSQL is not in it). Then the rows are counted.

The baseline, in the same fresh database: the same CSV read with no check at all and its SKU and
barcode rows inserted in one transaction into two plain tables with the same columns, no index,
no constraint and no trigger (COPY on PostgreSQL, one executemany on SQLite), in this process.
`import / bare` is the figure: what the checks, the indexes, the `rev` triggers and a process's
start cost on top of moving the bytes.

    .venv/bin/python bench/import_skus.py [--db sqlite|postgres|both] [--sizes 10000,50000,200000]
        [--pg-url URL] [--json]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy
from machine import machine as machine_info
from machine import scratch_pg_database
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.adapters.db import migrate
from app.adapters.db.engine import make_engine
from app.services.demo import ADJECTIVES, NOUNS, demo_gtin

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_SIZES = (10_000, 50_000, 200_000)
TARGET_S = 60.0
HEADER = (
    "sku,name,gtin,unit_volume_cm3,unit_weight_g,tracking,lookalike_group,"
    "reorder_point,lead_time_days,aliases"
)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the files --------------------------------------------------------------------------------


def write_skus(path: Path, count: int, seed: int = 1) -> None:
    """`count` SKUs like the demo's, with a GTIN and two aliases each."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(HEADER + "\n")
        for n in range(1, count + 1):
            roll = rng.random()
            tracking = "serial" if roll < 0.05 else "lot" if roll < 0.2 else "none"
            noun = rng.choice(NOUNS)
            group = f"{noun}-{n // 20}" if n % 10 in (1, 2) else ""
            f.write(
                f"SKU-{n:06d},{rng.choice(ADJECTIVES)} {noun} {rng.choice((4, 6, 8))} mm,"
                f"{demo_gtin(n)},{rng.choice((10, 120, 1000))},{rng.choice((5, 80, 900))},"
                f"{tracking},{group},{rng.choice((0, 10, 50))},{rng.choice((2, 5, 10))},"
                f"SKU-{n:06d}|SUP-{rng.randrange(10**8):08d}-{n}\n"
            )


# --- databases made and dropped by this run ---------------------------------------------------


@contextmanager
def sqlite_database(folder: Path) -> Iterator[str]:
    path = folder / f"import_{uuid.uuid4().hex[:8]}.db"
    try:
        yield f"sqlite:///{path}"
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def pg_database(server_url: str) -> AbstractContextManager[str]:
    return scratch_pg_database(server_url, "perpetua_bench_import")


def migrated(url: str) -> None:
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()


# --- the two measurements ---------------------------------------------------------------------


def timed_import(url: str, path: Path) -> tuple[float, float]:
    """Wall and CPU seconds of `python -m app import skus FILE` in its own process. The URL
    travels in the environment, never on a command line that `ps` shows."""
    env = {**os.environ, "PERPETUA_DATABASE_URL": url}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "app", "import", "skus", str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"the import failed:\n{done.stdout}\n{done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def start_up_s() -> float:
    """Seconds for `python -m app --version`: the part of every import figure that is Python
    and the program starting, whatever the file."""
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "app", "--version"], cwd=ROOT, capture_output=True, check=True
    )
    return time.perf_counter() - t0


def counts(url: str) -> tuple[int, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as c:
            skus = c.execute(text("SELECT count(*) FROM skus")).scalar_one()
            barcodes = c.execute(text("SELECT count(*) FROM barcodes")).scalar_one()
    finally:
        engine.dispose()
    return int(skus), int(barcodes)


BARE_TABLES = (
    "CREATE TABLE bench_bare_skus (code VARCHAR(64), name VARCHAR(200), unit_volume_cm3 INTEGER, "
    "unit_weight_g INTEGER, tracking VARCHAR(8), lookalike_group VARCHAR(64), "
    "reorder_point INTEGER, lead_time_days INTEGER, active BOOLEAN)",
    "CREATE TABLE bench_bare_barcodes (code VARCHAR(64), sku VARCHAR(64), kind VARCHAR(8))",
)
_SKU_SQL = "bench_bare_skus (code, name, unit_volume_cm3, unit_weight_g, tracking, "
_SKU_SQL += "lookalike_group, reorder_point, lead_time_days, active)"


def bare_insert(url: str, path: Path) -> float:
    """Seconds to read the file with no check and insert its rows into plain tables."""
    engine = make_engine(url)
    try:
        with engine.begin() as c:
            for statement in BARE_TABLES:
                c.exec_driver_sql(statement)
        t0 = time.perf_counter()
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.reader(f)
            next(reader)
            skus: list[tuple[Any, ...]] = []
            barcodes: list[tuple[str, str, str]] = []
            for sku, name, gtin, vol, wt, tracking, group, reorder, lead, aliases in reader:
                skus.append(
                    (sku, name, int(vol), int(wt), tracking, group or None, int(reorder), int(lead))
                )
                barcodes.append((gtin, sku, "gtin"))
                barcodes.extend((a, sku, "alias") for a in aliases.split("|"))
        with engine.begin() as c:
            _bare_rows(c, _SKU_SQL, [(*s, True) for s in skus])
            _bare_rows(c, "bench_bare_barcodes (code, sku, kind)", barcodes)
        return time.perf_counter() - t0
    finally:
        engine.dispose()


def _bare_rows(c: Any, target: str, rows: list[tuple[Any, ...]]) -> None:
    if c.dialect.name == "postgresql":
        driver = c.connection.driver_connection
        with driver.cursor() as cursor, cursor.copy(f"COPY {target} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" for _ in rows[0])
    c.exec_driver_sql(f"INSERT INTO {target} VALUES ({marks})", rows)


# --- one database -----------------------------------------------------------------------------


def run_size(url: str, path: Path, size: int) -> dict[str, Any]:
    migrated(url)
    wall, cpu = timed_import(url, path)
    skus, barcodes = counts(url)
    if (skus, barcodes) != (size, 3 * size):
        raise RuntimeError(f"imported {skus} SKUs and {barcodes} barcodes, not {size}, {3 * size}")
    bare = bare_insert(url, path)
    return {
        "skus": size,
        "barcodes": barcodes,
        "import_s": wall,
        "import_cpu_s": cpu,
        "bare_s": bare,
        "x_bare": wall / bare,
        "skus_per_s": size / wall,
    }


def run_database(db: str, sizes: Sequence[int], files: dict[int, Path], pg_url: str) -> list[Any]:
    rows = []
    for size in sizes:
        say(f"  {db}: {size} SKUs")
        if db == "sqlite":
            with sqlite_database(files[size].parent) as url:
                rows.append(run_size(url, files[size], size))
        else:
            with pg_database(pg_url) as url:
                rows.append(run_size(url, files[size], size))
    return rows


def machine(pg_url: str | None) -> dict[str, Any]:
    info = machine_info(
        sqlalchemy=sqlalchemy.__version__,
        psycopg=psycopg.__version__,
        sqlite=sqlite3.sqlite_version,
        postgresql=None,
    )
    if pg_url is not None:
        engine = create_engine(make_url(pg_url).set(drivername="postgresql+psycopg"), pool_size=1)
        with engine.connect() as c:
            info["postgresql"] = c.execute(text("SHOW server_version")).scalar_one()
        engine.dispose()
    return info


def print_report(report: dict[str, Any]) -> None:
    m = report["machine"]
    print(f"Perpetua SKU import benchmark, {m['time']}")
    print(f"machine: {m['cpu_count']} CPUs ({m['cpu']}), {m['platform']}")
    print(f"load average (1 min): {m['load_start']:.2f} at start, {m['load_end']:.2f} at end")
    print(f"python {m['python']}, SQLAlchemy {m['sqlalchemy']}, psycopg {m['psycopg']}")
    print(f"sqlite {m['sqlite']}; postgresql {m['postgresql'] or '-'}")
    print(
        "import = `python -m app import skus FILE` in its own process, start to exit, on a fresh "
        "database;\nbare = the same rows, unchecked, into plain tables (no index, no trigger), in "
        "one transaction"
    )
    print(
        "start-up (`python -m app --version`, in every import figure): "
        f"{report['start_up_s']:.2f} s"
    )
    head = (
        f"{'database':<12}{'SKUs':>9}{'barcodes':>10}{'import s':>10}{'cpu s':>8}{'SKUs/s':>9}"
        f"  |{'bare s':>8}  |{'import / bare':>14}"
    )
    print(head)
    print("-" * len(head))
    for db, rows in report["databases"].items():
        for r in rows:
            print(
                f"{db:<12}{r['skus']:>9}{r['barcodes']:>10}{r['import_s']:>10.2f}"
                f"{r['import_cpu_s']:>8.2f}{r['skus_per_s']:>9.0f}  |{r['bare_s']:>8.2f}  |"
                f"{r['x_bare']:>13.1f}x"
            )
    for db, rows in report["databases"].items():
        biggest = max(rows, key=lambda r: r["skus"])
        verdict = "within" if biggest["import_s"] < TARGET_S else "OVER"
        print(
            f"{db}: {biggest['skus']} SKUs in {biggest['import_s']:.1f} s, {verdict} the "
            f"{TARGET_S:.0f} s target"
        )


def stop(signum: int, _frame: object) -> None:
    """On SIGTERM, unwind like Ctrl-C, so that the bench databases are still dropped."""
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, stop)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--sizes", default=",".join(str(s) for s in DEFAULT_SIZES))
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("PERPETUA_BENCH_DATABASE_URL")
        or os.environ.get("PERPETUA_TEST_DATABASE_URL")
        or DEFAULT_PG_URL,
        help="a server to make the bench databases on (the database named here is left alone)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if not sizes or min(sizes) < 1:
        parser.error("--sizes takes whole numbers above 0, such as 10000,50000,200000")
    dbs = (
        ["sqlite", "postgresql"]
        if args.db == "both"
        else [args.db.replace("postgres", "postgresql")]
    )
    pg_url = args.pg_url if "postgresql" in dbs else None
    report: dict[str, Any] = {"machine": machine(pg_url), "databases": {}}
    report["start_up_s"] = min(start_up_s() for _ in range(3))
    with tempfile.TemporaryDirectory(prefix="perpetua_bench_import_") as folder:
        files: dict[int, Path] = {}
        for size in sizes:
            files[size] = Path(folder) / f"skus_{size}.csv"
            write_skus(files[size], size)
        for db in dbs:
            report["databases"][db] = run_database(db, sizes, files, args.pg_url)
    report["machine"]["load_end"] = os.getloadavg()[0]
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        say("interrupted; the bench databases were dropped")
        sys.exit(130)
