"""Stock on hand at 1,000,000 bins: time to the first page on the supervisor's screen and a full
CSV export, beside a bare `SELECT count(*) FROM quants` on the same database in the same run.

The warehouse is the PostgreSQL database `big1m` on the local server, made once with
`perpetua demo --bins 1000000 --skus 200000` when it does not exist (it takes minutes) and
reused after; it is never dropped. The first page goes through the screen's own parts: the lazily
fetched table model (app/ui/report_model.py) asking the real supervisor desk on the query runner's
thread, offscreen Qt, timed from the Run to the page in the model. The export is the desk's
(the command line's CSV writer, streamed from a server-side cursor).

    .venv/bin/python bench/reports.py [--server postgresql+psycopg://postgres@127.0.0.1:5432]
        [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import psycopg
import sqlalchemy
from machine import machine
from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QEventLoop
from PySide6.QtWidgets import QApplication
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app import bootstrap
from app.config import Settings
from app.domain.report_pages import ReportAsk, ReportName, StockKey, StockPage
from app.ui.report_model import PAGE_ROWS, ReportTableModel
from app.ui.runner import Runner

DATABASE = "big1m"
BINS = 1_000_000
SKUS = 200_000


def ensure_warehouse(server: str) -> str:
    """The big1m database's URL, after building it when it does not exist yet."""
    base = make_url(server)
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            exists = c.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": DATABASE}
            ).first()
            if exists is None:
                c.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    finally:
        admin.dispose()
    url = base.set(database=DATABASE).render_as_string(hide_password=False)
    if exists is None:
        print(f"building {DATABASE}: perpetua demo --bins {BINS} --skus {SKUS} (minutes)")
        perpetua = Path(sys.executable).with_name("perpetua")
        cmd = [str(perpetua), "--db", url, "demo", "--bins", str(BINS), "--skus", str(SKUS)]
        subprocess.run(cmd, check=True)
    return url


def count_quants(url: str, repeat: int) -> list[float]:
    engine = create_engine(url)
    times = []
    try:
        with engine.connect() as c:
            for _ in range(repeat):
                start = time.perf_counter()
                c.execute(text("SELECT count(*) FROM quants")).scalar_one()
                times.append(time.perf_counter() - start)
    finally:
        engine.dispose()
    return times


def first_pages(url: str, repeat: int, work: Path) -> tuple[list[float], int]:
    """Seconds from Run to the first page in the model, `repeat` times; rows per page."""
    app = QApplication.instance() or QApplication([])
    factory = bootstrap.supervisor_desk_factory(Settings(url, "bench"), "ST-1", work / "o.sqlite")
    runner: Runner[bootstrap.SupervisorDesk] = Runner(factory)
    model = ReportTableModel()
    ask = ReportAsk(ReportName.STOCK)
    times: list[float] = []

    def request(
        after: StockKey | None,
        limit: int,
        done: Callable[[StockPage], None],
        failed: Callable[[str], None],
    ) -> None:
        runner.submit(lambda desk: desk.stock_page(ask, after, limit), done, failed, "report")

    try:
        ready = QEventLoop()
        runner.submit(lambda desk: desk.engine.connect().close(), lambda _: ready.quit(), print)
        ready.exec()  # the desk built and connected: the screen is open before Run is pressed
        loop = QEventLoop()
        model.page_arrived.connect(loop.quit)
        model.page_failed.connect(loop.quit)
        model.page_failed.connect(print)
        for _ in range(repeat):
            start = time.perf_counter()
            model.show_paged(request)
            loop.exec()
            times.append(time.perf_counter() - start)
            if model.rowCount() != PAGE_ROWS:
                raise RuntimeError(f"the first page held {model.rowCount()} rows")
    finally:
        runner.stop()
    del app
    return times, model.rowCount()


def export(url: str, work: Path) -> tuple[int, float]:
    desk = bootstrap.SupervisorDesk(Settings(url, "bench"), "ST-1", work / "e.sqlite")
    try:
        start = time.perf_counter()
        done = desk.export_csv(
            ReportAsk(ReportName.STOCK), work / "stock.csv", lambda n, t: None, threading.Event()
        )
        return done.rows, time.perf_counter() - start
    finally:
        desk.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    m = machine(sqlalchemy=sqlalchemy.__version__, psycopg=psycopg.__version__)
    url = ensure_warehouse(args.server)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        baseline = count_quants(url, args.repeat)
        pages, page_rows = first_pages(url, args.repeat, work)
        rows, export_s = export(url, work)
        baseline += count_quants(url, args.repeat)  # before and after: the load moves
    engine = create_engine(url)
    with engine.connect() as c:
        quants = c.execute(text("SELECT count(*) FROM quants")).scalar_one()
        bins = c.execute(text("SELECT count(*) FROM locations WHERE kind = 'bin'")).scalar_one()
        server = c.execute(text("SHOW server_version")).scalar_one()
    engine.dispose()
    count_s, page_s = statistics.median(baseline), statistics.median(pages)
    print(f"Perpetua reports benchmark, {m['time']}")
    print(f"machine: {m['cpu_count']} CPUs ({m['cpu']}), {m['platform']}")
    print(f"load average (1 min): {m['load_start']:.2f} at start, {os.getloadavg()[0]:.2f} at end")
    print(f"python {m['python']}, SQLAlchemy {m['sqlalchemy']}, psycopg {m['psycopg']}, ", end="")
    print(f"PySide6 {pyside_version}, PostgreSQL {server}")
    print(f"database {DATABASE}: {bins:,} bins, {quants:,} quants, {rows:,} stock lines on hand")
    print()
    print(
        f"baseline SELECT count(*) FROM quants: median {count_s * 1000:.0f} ms of {len(baseline)}"
    )
    print(
        f"stock, first page on screen ({page_rows} rows, lazy model, runner thread): median "
        f"{page_s * 1000:.0f} ms of {len(pages)} (min {min(pages) * 1000:.0f}, max "
        f"{max(pages) * 1000:.0f}); {page_s / count_s:.1f} x the count"
    )
    print(
        f"stock, full CSV export: {rows:,} rows in {export_s:.1f} s = {rows / export_s:,.0f} "
        f"rows/s; {export_s / count_s:.1f} x the count"
    )


if __name__ == "__main__":
    main()
