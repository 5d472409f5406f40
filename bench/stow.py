"""Bin suggestion latency at 10k, 100k and 1M bins beside a primary-key lookup, and a simulated day
of putaways and picks against two baselines (DESIGN.md section 6, issue 3 point 5).

A. For each size and database, `perpetua demo --bins N --skus N/5` builds a warehouse in a
database made for the run (SQLite: a temporary file; PostgreSQL: perpetua_stow_<random>, dropped
WITH (FORCE) after), and its build time is printed (the demo ends with ANALYZE). 5 % of the SKUs
are then marked fast movers. For N random SKUs, quantities (1-20) and zones, one at a time and
interleaved: plan() (the read-only suggestion) in a read-only unit of work; on the same
connection, a one-row primary-key SELECT on locations (the floor for a read: the ratio is the
figure, STYLE.md rule 19); suggest(hold=True) end to end (its own units of work, a capacity hold,
COMMIT); and a bare one-row INSERT + COMMIT (bench/ledger.py's BareCommit, the floor for a write).

B. A simulated day on the demo warehouse held in memory (bench/stow_day.py): the real plan()
against "nearest free bin" and "uniformly random bin that fits", on the same goods and orders.

    .venv/bin/python bench/stow.py [--db sqlite|postgres|both] [--sizes 10000,100000]
        [--n N] [--day-bins N] [--day-putaways N] [--day-picks N] [--pg-url URL] [--json]

The default sizes stop at 100k bins: a run takes a few minutes. The issue's full set,
--sizes 10000,100000,1000000, builds a million bins on each database and took 21 minutes on two
shared cores (the two 1M demo builds 17 of them). --sizes '' or --day-putaways 0 --day-picks 0
skips a part.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any, cast

import sqlalchemy
from ledger import DEFAULT_PG_URL, BareCommit, figures, machine, say, stop
from machine import scratch_pg_database
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url
from stow_day import POLICIES, POLICY, simulate

from app.adapters.db.engine import make_engine
from app.adapters.db.schema import LocationRow, SkuRow, table
from app.adapters.db.uow import SqlLedger
from app.domain.model import NO_LOT_ID
from app.domain.ports import LedgerStore
from app.domain.stow import StowPolicy
from app.services import demo as demo_plan
from app.services.stow import plan, suggest

ROOT = Path(__file__).resolve().parent.parent
SIZES = (10_000, 100_000)
FULL_SIZES = "10000,100000,1000000"
FAST_SHARE = 0.05
WARMUP = 20
SEED = 1
PK_LOOKUP = text("SELECT id, code, kind, zone, pick_sequence FROM locations WHERE id = :id")
READS = ("sample_bins", "roomiest_bins", "contents", "sku_zone_units")


# --- databases made and dropped by this run ---------------------------------------------------


@contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="perpetua_stow_") as directory:
        yield f"sqlite:///{Path(directory) / 'stow.db'}"


def pg_url(server_url: str) -> AbstractContextManager[str]:
    """A database perpetua_stow_<random> on the server, dropped however we leave."""
    return scratch_pg_database(server_url, "perpetua_stow")


def perpetua() -> list[str]:
    script = Path(sys.executable).with_name("perpetua")
    return [str(script)] if script.exists() else [sys.executable, "-m", "app"]


def build(url: str, bins: int) -> tuple[float, str]:
    """`perpetua demo` as a user runs it (its progress bar goes to stderr); seconds, summary."""
    t0 = time.perf_counter()
    done = subprocess.run(
        [*perpetua(), "--db", url, "demo", "--bins", str(bins), "--skus", str(bins // 5)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - t0
    if done.returncode:
        raise RuntimeError(f"perpetua demo --bins {bins} failed:\n{done.stdout}")
    return seconds, done.stdout.splitlines()[0] if done.stdout else ""


# --- part A: suggestion latency ---------------------------------------------------------------


class Clocked:
    """Passes the store through, timing the four reads plan() makes."""

    def __init__(self, store: LedgerStore, seconds: dict[str, list[float]]) -> None:
        self._store = store
        self._seconds = seconds

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._store, name)
        if name not in READS:
            return method

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self._seconds[name].append(time.perf_counter() - t0)

        return timed


def mark_fast_movers(ledger: SqlLedger, ids: Sequence[int], rng: random.Random) -> None:
    """Make FAST_SHARE of the SKUs class A, so that the pick-sequence window is measured too."""
    chosen = rng.sample(list(ids), k=max(1, int(len(ids) * FAST_SHARE)))
    with ledger() as uow:
        uow.store.set_velocity_classes(dict.fromkeys(chosen, "A"))
        uow.commit()


def latency(url: str, n: int, policy: StowPolicy) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        return _latency(engine, n, policy)
    finally:
        engine.dispose()


def _latency(engine: Engine, n: int, policy: StowPolicy) -> dict[str, Any]:
    rng = random.Random(SEED)
    ledger, bare = SqlLedger(engine), BareCommit(engine)
    locations, skus = table(LocationRow), table(SkuRow)
    with engine.connect() as c:
        top_id = c.execute(select(func.max(locations.c.id))).scalar_one()
        catalogue = c.execute(select(skus.c.id, skus.c.code)).all()
    mark_fast_movers(ledger, [r.id for r in catalogue], rng)
    codes = [r.code for r in catalogue]
    asks = [
        (rng.choice(codes), rng.randint(1, 20), rng.choice(demo_plan.ZONES))
        for _ in range(WARMUP + n)
    ]
    with ledger.reader() as uow:
        found = {code: uow.store.sku(code) for code, _, _ in asks}
    samples: dict[str, list[float]] = defaultdict(list)
    reads: dict[str, list[float]] = defaultdict(list)
    empty = 0
    for k, (code, qty, zone) in enumerate(asks):
        sku = found[code]
        assert sku is not None, code
        keep = k >= WARMUP
        with ledger.reader() as uow:
            store = cast(LedgerStore, Clocked(uow.store, reads if keep else defaultdict(list)))
            t0 = time.perf_counter()
            ranked = plan(store, sku, NO_LOT_ID, qty, zone, policy, rng)
            t1 = time.perf_counter()
            uow.connection.execute(PK_LOOKUP, {"id": rng.randint(1, top_id)}).one()
            t2 = time.perf_counter()
        t3 = time.perf_counter()
        suggest(ledger, code, qty, near_zone=zone, policy=policy, rng=rng, hold=True)
        t4 = time.perf_counter()
        commit_s = bare()
        if keep:
            samples["plan"].append(t1 - t0)
            samples["pk"].append(t2 - t1)
            samples["suggest_hold"].append(t4 - t3)
            samples["bare_commit"].append(commit_s)
            empty += not ranked
    out: dict[str, Any] = {k: asdict(figures(v)) for k, v in samples.items()}
    out["plan_x_pk"] = {
        "p50": out["plan"]["p50_ms"] / out["pk"]["p50_ms"],
        "p99": out["plan"]["p99_ms"] / out["pk"]["p99_ms"],
    }
    out["suggest_x_bare_commit"] = {
        "p50": out["suggest_hold"]["p50_ms"] / out["bare_commit"]["p50_ms"],
        "p99": out["suggest_hold"]["p99_ms"] / out["bare_commit"]["p99_ms"],
    }
    out["reads"] = {}
    for name in READS:
        calls = reads.get(name, [])
        timing = asdict(figures(calls)) if len(calls) > 1 else {}
        out["reads"][name] = {"per_plan": len(calls) / n, **timing}
    out["no_suggestion"] = empty
    return out


def size_run(db: str, url: str, bins: int, n: int, policy: StowPolicy) -> dict[str, Any]:
    say(f"  {db}, {bins:,} bins: perpetua demo --bins {bins} --skus {bins // 5}")
    build_s, summary = build(url, bins)
    say(f"    built in {build_s:.1f} s: {summary}")
    row: dict[str, Any] = {"bins": bins, "skus": bins // 5, "build_s": build_s, "demo": summary}
    say(f"    {n} suggestions, each beside a PK lookup, a held suggestion and a bare commit")
    row.update(latency(url, n, policy))
    return row


# --- output -----------------------------------------------------------------------------------


def print_report(report: dict[str, Any]) -> None:
    m = report["machine"]
    print(f"Perpetua stow benchmark, {m['time']}")
    print(f"machine: {m['cpu_count']} CPUs ({m['cpu']}), {m['platform']}")
    print(f"load average (1 min): {m['load_start']:.2f} at start, {m['load_end']:.2f} at end")
    print(f"python {m['python']}, SQLAlchemy {m['sqlalchemy']}, psycopg {m['psycopg']}")
    print(f"sqlite {m['sqlite']}; postgresql {m['postgresql'] or '-'}")
    print(f"run took {report['seconds']:.0f} s")
    if report["latency"]:
        print_latency(report)
    if report["day"]:
        print_day(report["day"])
    for note in report["notes"]:
        print(f"note: {note}")


def print_latency(report: dict[str, Any]) -> None:
    print()
    print(
        f"A. Suggestion latency: N = {report['n']} random SKUs, quantities 1-20 and zones, after "
        f"{WARMUP} untimed.\n   plan() = the read-only suggestion, 5 % of SKUs fast movers; PK = "
        "one-row SELECT on locations by id,\n   on the same connection right after; suggest+hold = "
        "suggest(hold=True) end to end with COMMIT;\n   bare = one-row INSERT + COMMIT right after"
    )
    sizes = [r["bins"] for rows in report["latency"].values() for r in rows]
    if max(sizes) < 1_000_000:
        print(f"   (a million bins: --sizes {FULL_SIZES}; each 1M demo build takes minutes)")
    for db, rows in report["latency"].items():
        print()
        print(f"{db}: {report['setup'][db]}")
        head = (
            f"{'bins':>9}{'build s':>9} |{'plan p50':>9}{'p99':>7} |{'PK p50':>8}{'p99':>7} |"
            f"{'x PK p50':>9}{'p99':>7} |{'sugg+hold p50':>14}{'p99':>7} |{'bare p50':>9}"
            f"{'x bare p50':>11}"
        )
        print(head)
        print("-" * len(head))
        for r in rows:
            p, k, s, b = r["plan"], r["pk"], r["suggest_hold"], r["bare_commit"]
            print(
                f"{r['bins']:>9,}{r['build_s']:>9.1f} |{p['p50_ms']:>9.2f}{p['p99_ms']:>7.2f} |"
                f"{k['p50_ms']:>8.3f}{k['p99_ms']:>7.3f} |{r['plan_x_pk']['p50']:>8.1f}x"
                f"{r['plan_x_pk']['p99']:>6.1f}x |{s['p50_ms']:>14.2f}{s['p99_ms']:>7.2f} |"
                f"{b['p50_ms']:>9.2f}{r['suggest_x_bare_commit']['p50']:>10.1f}x"
            )
        print("reads inside plan(), ms (calls per plan: p50 / p99):")
        for r in rows:
            parts = []
            for name, f in r["reads"].items():
                if "p50_ms" in f:
                    parts.append(f"{name} {f['per_plan']:.1f}: {f['p50_ms']:.2f}/{f['p99_ms']:.2f}")
            print(f"{r['bins']:>9,}  " + "; ".join(parts))


def print_day(day: dict[str, Any]) -> None:
    pol = day["policy"]
    print()
    print(
        f"B. Simulated day on the demo warehouse in memory: {day['bins']:,} bins, "
        f"{day['skus']:,} SKUs. The morning puts the demo's\n   opening stock away "
        f"({day['morning_putaways']:,} cases of <= 20 units); then {day['putaways']:,} putaways "
        f"and {day['pick_lines']:,} pick lines\n   ({day['orders']:,} orders) interleaved. Demand "
        f"Zipf s={day['zipf_s']}: {day['fast_movers']} fast movers (class A from yesterday's "
        f"picks)\n   take {day['fast_pick_share']:.0%} of picked units. Ours = plan() with "
        f"cap_per_bin {pol['cap_per_bin']}, cap_per_zone {pol['cap_per_zone']}, sample_size "
        f"{pol['sample_size']}."
    )
    if day["demo_over_capacity_bins"]:
        print(f"   the demo's opening stock overfills {day['demo_over_capacity_bins']} bins")
    head = (
        f"{'policy':<22}{'2+ zones':>9}{'zones/SKU':>10}{'bins/SKU':>9}{'collisions':>11}"
        f"{'mixed bins':>11}{'refused':>8}{'path m/order':>13}{'ours / it':>10}{'us/putaway':>11}"
    )
    print()
    print(head)
    print("-" * len(head))
    ours = day["policies"][0]
    for r in day["policies"]:
        print(
            f"{r['policy']:<22}{r['skus_in_2plus_zones']:>9.1%}{r['zones_per_sku']:>10.2f}"
            f"{r['bins_per_sku']:>9.2f}{r['collisions']:>11}{r['mixed_up_bins_at_end']:>11}"
            f"{r['refused']:>8}{r['path_m_per_order']:>13.0f}{r['ours_path_over_this']:>9.2f}x"
            f"{r['choose_us_mean']:>11.0f}"
        )
    print()
    bands = list(ours["fill"]["bands"])
    head = f"{'bin fill, % of bins':<22}" + "".join(f"{b:>8}" for b in bands)
    head += f" | {'stocked bins: p25':>17}{'p50':>6}{'p75':>6}{'p90':>6}"
    print(head)
    print("-" * len(head))
    for r in day["policies"]:
        f = r["fill"]
        q = f["quartiles_of_stocked"]
        print(
            f"{r['policy']:<22}"
            + "".join(f"{100 * f['bands'][b]:>8.1f}" for b in bands)
            + f" | {q['p25']:>17.0%}{q['p50']:>6.0%}{q['p75']:>6.0%}{q['p90']:>6.0%}"
        )
    print(
        "2+ zones: SKUs in stock held in two zones or more; ours and the nearest free bin both "
        "stow in the\nstation's zone (A-D, at random per putaway) while it has room, so their zone "
        "figures match;\ncap_per_zone is what spreads a SKU further.\n"
        "collisions: putaways that put a SKU beside a look-alike or another lot of itself; mixed "
        "bins: bins holding\nsuch a pair at the end; fill: the tightest of units, volume and "
        "weight; path: depot -> bins in pick order\n-> depot, aisle changes by the front "
        "cross-aisle; ours / it < 1 means our orders walk less; short picks:\n"
        + ", ".join(f"{r['policy']} {r['short_units']} units" for r in day["policies"])
    )


# --- main -------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, stop)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument(
        "--sizes",
        default=",".join(str(s) for s in SIZES),
        help=f"bin counts, comma-separated; SKUs are a fifth of them ('' skips part A); "
        f"the issue's full set is {FULL_SIZES}",
    )
    parser.add_argument("--n", type=int, default=300, help="suggestions timed per size")
    parser.add_argument("--day-bins", type=int, default=30_000, help="bins of the simulated day")
    parser.add_argument("--day-putaways", type=int, default=50_000, help="0 skips part B")
    parser.add_argument("--day-picks", type=int, default=50_000, help="pick lines")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("PERPETUA_BENCH_DATABASE_URL")
        or os.environ.get("PERPETUA_TEST_DATABASE_URL")
        or DEFAULT_PG_URL,
        help="a server to make the bench databases on (the database named here is left alone)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    if args.n < 2 or any(s < 60 for s in sizes) or args.day_picks < 0 or args.day_putaways < 0:
        parser.error("--n must be at least 2, sizes at least 60, day counts not negative")

    started = time.perf_counter()
    notes: list[str] = []
    server: str | None = args.pg_url if args.db in ("postgres", "both") else None
    try:
        info = machine(server)
    except sqlalchemy.exc.OperationalError as error:
        if args.db == "postgres":
            raise
        notes.append(
            f"PostgreSQL at {make_url(server or '').render_as_string()} unreachable, skipped: "
            f"{str(error.orig).strip().splitlines()[0]}"
        )
        server, info = None, machine(None)
    policy = POLICY
    report: dict[str, Any] = {
        "machine": info,
        "n": args.n,
        "policy": asdict(policy),
        "latency": {},
        "setup": {},
        "day": None,
        "notes": notes,
    }

    databases: list[tuple[str, Callable[[], Any]]] = []
    if args.db in ("sqlite", "both"):
        databases.append(("sqlite", sqlite_url))
        report["setup"]["sqlite"] = (
            "a new temporary file per size (WAL, synchronous=FULL), deleted after"
        )
    if server is not None:
        pg = server
        databases.append(("postgresql", lambda: pg_url(pg)))
        parsed = make_url(pg)
        report["setup"]["postgresql"] = (
            f"a new database perpetua_stow_<random> per size on {parsed.host}:{parsed.port}, "
            "dropped WITH (FORCE) after"
        )
    for db, scratch in databases if sizes else []:
        say(f"{db}:")
        rows = report["latency"].setdefault(db, [])
        for bins in sizes:
            with scratch() as url:
                rows.append(size_run(db, url, bins, args.n, policy))

    if args.day_putaways or args.day_picks:
        say(
            f"simulated day: {args.day_bins:,} bins, {args.day_putaways:,} putaways, "
            f"{args.day_picks:,} pick lines, {len(POLICIES)} policies"
        )
        demo = demo_plan.build_demo(args.day_bins, args.day_bins // 5, SEED)
        report["day"] = simulate(demo, args.day_putaways, args.day_picks, SEED)

    info["load_end"] = os.getloadavg()[0]
    report["seconds"] = time.perf_counter() - started
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    day = report["day"]
    return 1 if day and day["policies"][0]["collisions"] else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        say("interrupted; the bench databases and files were dropped")
        sys.exit(130)
