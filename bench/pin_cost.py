"""What it costs to recover a PIN from a stolen verifier (README "Securing a warehouse").

Times the offline verifier every station keeps in its replica (argon2id, app/adapters/pins.py)
and, on PostgreSQL, the online bcrypt hash `perpetua_check_pin` checks, a few times each, and
prints the time of one guess and what trying the PINs of the policy's least length costs one
core: on average (half the PINs) and at worst (all of them). The baseline in the same run is one
SHA-256 of the PIN: what a plain hash would have cost an attacker.

    .venv/bin/python bench/pin_cost.py [--digits 6] [--tries 5] [--pg-url URL]
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import time

import psycopg
from machine import scratch_pg_database

from app.adapters import pins

WEEK_S = 7 * 24 * 3600


def timed(fn: object, tries: int) -> float:
    samples = []
    for _ in range(tries):
        started = time.perf_counter()
        fn()  # type: ignore[operator]
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def report(name: str, guess_s: float, digits: int) -> None:
    space = 10**digits
    average, worst = space / 2 * guess_s, space * guess_s
    print(
        f"{name:<34} {guess_s * 1000:9.1f} ms a guess; {digits}-digit PIN: "
        f"{average / 86400:8.1f} days on average, {worst / 86400:8.1f} at worst "
        f"({average / WEEK_S:5.2f} weeks on average)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits", type=int, default=6)
    parser.add_argument("--tries", type=int, default=5)
    parser.add_argument(
        "--pg-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="a server to make a scratch database on (the database named is left alone)",
    )
    args = parser.parse_args()
    pin = "4" * args.digits
    verifier = pins.offline_verifier(pin)
    print(
        f"offline verifier: argon2id t={pins.OFFLINE_TIME_COST} "
        f"m={pins.OFFLINE_MEMORY_KIB // 1024} MiB p=1"
    )
    sha = timed(lambda: hashlib.sha256(pin.encode()).digest(), 1000)
    report("baseline: one SHA-256", sha, args.digits)
    offline = timed(lambda: pins.matches(verifier, "0" * args.digits), args.tries)
    report("offline verifier (every station)", offline, args.digits)
    try:
        with (
            scratch_pg_database(args.pg_url, "perpetua_bench_pin") as url,
            psycopg.connect(
                url.replace("postgresql+psycopg", "postgresql", 1), autocommit=True
            ) as c,
        ):
            c.execute("CREATE EXTENSION pgcrypto")
            online_hash = c.execute(
                "SELECT crypt(%s, gen_salt('bf', %s))", (pin, pins.ONLINE_BCRYPT_COST)
            ).fetchone()[0]  # type: ignore[index]
            online = timed(
                lambda: c.execute("SELECT crypt(%s, %s)", ("0" * args.digits, online_hash)),
                args.tries,
            )
        report(f"online bcrypt cost {pins.ONLINE_BCRYPT_COST} (database only)", online, args.digits)
    except psycopg.OperationalError as error:
        print(f"online hash not measured: {str(error).splitlines()[0]}")
    print(f"ratio offline verifier / SHA-256: {offline / sha:,.0f}")


if __name__ == "__main__":
    main()
