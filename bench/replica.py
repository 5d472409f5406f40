"""How long a station's replica takes to refresh at warehouse size (DESIGN.md section 2: "a
catalogue of 200,000 SKUs and 1,000,000 locations must refresh in seconds and not slow scanning").

On an existing database (build one with `perpetua --db URL demo --bins 1000000 --skus 200000`):
  first     a new replica copies everything (a station's first start);
  idle      a refresh when nothing changed (what a station does every 2 s);
  changed   a refresh after 1,000 SKUs were renamed and 1,000 bins changed capacity, in one
            transaction (an import of corrections);
  scan      the replica's reads of one receive scan (interpretation of a GTIN, the SKU, the dock
            lane's contents), timed while a refresh of the same size as `changed` runs on
            another thread, against the same reads alone.
Baselines, in the same run: reading the same rows from the database without writing them (the
floor of any copy), and a one-row INSERT + COMMIT (what one ledger transaction costs at least).

    .venv/bin/python bench/replica.py --db URL [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

from app.adapters.db.engine import make_engine
from app.adapters.db.replica_source import CATALOGUE, Source
from app.adapters.replica import Replica


def read_everything(engine: Any) -> tuple[float, int]:
    """Every row a first refresh copies, read and dropped: the floor of a full copy."""
    t0 = time.perf_counter()
    rows = 0
    with engine.connect() as c:
        for _table, columns, where in CATALOGUE.values():
            stmt = select(*columns)
            if where is not None:
                stmt = stmt.where(where)
            result = c.execute(stmt, execution_options={"yield_per": 20_000})
            for part in result.partitions(20_000):
                rows += len(part)
    return time.perf_counter() - t0, rows


def change(engine: Any, n: int) -> None:
    with engine.begin() as c:
        c.execute(
            text(
                "UPDATE skus SET name = name || '.' WHERE id IN "
                "(SELECT id FROM skus ORDER BY id LIMIT :n)"
            ),
            {"n": n},
        )
        c.execute(
            text(
                "UPDATE locations SET pick_sequence = pick_sequence + 1 WHERE id IN "
                "(SELECT id FROM locations WHERE kind = 'bin' ORDER BY id LIMIT :n)"
            ),
            {"n": n},
        )


def bare_commit_ms(engine_or_url: Any, n: int = 30) -> float:
    """bench/ledger.py's baseline: one row inserted and committed, median of n, in ms."""
    from ledger import BareCommit

    from app.adapters.db.engine import make_engine

    engine = make_engine(engine_or_url) if isinstance(engine_or_url, str) else engine_or_url
    bare = BareCommit(engine)
    return statistics.median(bare() for _ in range(n)) * 1000


def scan_reads_ms(replica: Replica, gtin: str, n: int) -> list[float]:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        sku = replica.gtin_sku(gtin)
        assert sku is not None
        replica.sku(sku)
        replica.identify(gtin)
        replica.contents("DOCK-1")
        times.append((time.perf_counter() - t0) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    engine = make_engine(args.db)
    source = Source(engine)
    with tempfile.TemporaryDirectory() as folder:
        replica = Replica(Path(folder) / "replica.sqlite")
        floor_s, floor_rows = read_everything(engine)
        first = replica.refresh(source, "ST-1")
        idle = [replica.refresh(source, "ST-1").seconds for _ in range(5)]
        change(engine, args.changes)
        changed = replica.refresh(source, "ST-1")
        gtin = replica._one("SELECT code FROM barcodes WHERE kind = 'gtin' LIMIT 1")[0]
        alone = scan_reads_ms(replica, gtin, 200)
        change(engine, args.changes)
        during: list[float] = []
        worker = threading.Thread(target=lambda: replica.refresh(source, "ST-1"))
        worker.start()
        while worker.is_alive() or not during:
            during += scan_reads_ms(replica, gtin, 1)
        worker.join()
        counts = replica.counts()
        size_mb = (Path(folder) / "replica.sqlite").stat().st_size / 1e6
        replica.close()
    bare = bare_commit_ms(engine)
    engine.dispose()
    figures = {
        "bench": "replica",
        "db": args.db.split(":", 1)[0],
        "skus": counts["skus"],
        "locations": counts["locations"],
        "quants": counts["quants"],
        "first_refresh_s": round(first.seconds, 1),
        "read_floor_s": round(floor_s, 1),
        "read_floor_rows": floor_rows,
        "ratio_first_to_floor": round(first.seconds / floor_s, 1),
        "idle_refresh_ms": round(statistics.median(idle) * 1000, 1),
        "changed_rows": sum(changed.rows.values()),
        "changed_refresh_ms": round(changed.seconds * 1000, 1),
        "bare_commit_ms": round(bare, 2),
        "ratio_idle_to_bare_commit": round(statistics.median(idle) * 1000 / bare, 1),
        "scan_reads_ms_p50_alone": round(statistics.median(alone), 2),
        "scan_reads_ms_p50_during_refresh": round(statistics.median(during), 2),
        "scan_reads_ms_max_during_refresh": round(max(during), 2),
        "replica_mb": round(size_mb, 1),
    }
    print(json.dumps(figures) if args.json else json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
