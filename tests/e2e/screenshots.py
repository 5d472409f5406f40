"""Screenshots of the station window for the documentation: `python -m tests.e2e.screenshots
OUT_DIR` (or `make screenshots`, into docs/).

It starts its own Xvfb, builds a fresh demo database with the `perpetua` program (`db upgrade`,
then `demo`), opens the real station window for ST-1 full screen on that display, and drives it
through its screens by scans, each one answered by the real session on the window's worker thread.
The database is a new one on the PostgreSQL server named by PERPETUA_TEST_DATABASE_URL (or a local
one at 127.0.0.1:5432), dropped afterwards, and the window reaches it through a loopback TCP proxy:
the last shot is taken after the proxy cut the network for real, so it shows what an outage looks
like (the database in red, the outage banner, scans queued). Without a PostgreSQL server the
script takes every other shot on an SQLite file in a temporary folder, says that the outage was
not taken, and exits with status 1. After each step it waits for the view on screen, checks that it shows what
the step is meant to show, and saves the screen as OUT_DIR/<name>.png. The codes scanned are read
from the demo database: an open receipt and its items' GTINs, an open order, bins with stock.
Before the window opens, pickers at another station work on two more of the demo's orders through
the ledger (as their own stations would): one is picked whole into an outbound lane, for the ship
screen, and another's pick list is taken and held, for the pick screen's claim refusal.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication
from sqlalchemy import Engine, and_, func, select
from sqlalchemy.engine import make_url

from app import bootstrap
from app.adapters.db.engine import make_engine
from app.adapters.db.schema import (
    BarcodeRow,
    LocationRow,
    OrderLineRow,
    OrderRow,
    QuantRow,
    ReceiptLineRow,
    ReceiptRow,
    SkuRow,
    table,
)
from app.adapters.db.uow import SqlLedger
from app.config import CONFIG_ENV, Settings
from app.domain.commands import Command, PostPick, ReleaseHow, ReleaseList, TakeList
from app.domain.scan import Scan, Source
from app.domain.workflow import Entry, Level
from app.services.ledger import submit
from app.services.station_view import StationView
from app.ui.sounds import SilentSoundPlayer
from app.ui.station_window import StationWindow
from tests.support.databases import PG_ENV, PgServer
from tests.support.proxy import TcpProxy
from tests.support.xvfb import xvfb_display

WIDTH, HEIGHT = 1280, 800
STATION = "ST-1"
PICKER_STATION, PICKER = "ST-2", "P001"
"""Another station and picker (Pat Picker), who works on the ship screen's order and holds the
pick list the pick screen is refused."""
ROOT = Path(__file__).resolve().parents[2]
SHOTS = (
    "station-login",
    "station-supervisor-pin",
    "station-receive",
    "station-putaway",
    "station-pick-claimed",
    "station-pick",
    "station-count",
    "station-transfer",
    "station-return",
    "station-refused",
    "station-ship",
    "station-putaway-split",
    "station-expired",
    "supervisor-exceptions",
    "supervisor-counts",
    "supervisor-reports",
    "supervisor-charts",
    "station-offline",
)
"""The files written, without .png, in the order they are taken."""
ANSWER_S = 30
"""How long a step may take before the script gives up (a hang guard, not a speed limit)."""
SETTLE_MS = 300
"""After a view is on screen, time for every widget to paint it before the screen is grabbed."""
LOCAL_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
"""The PostgreSQL server tried when PERPETUA_TEST_DATABASE_URL is not set."""
OFFLINE = "station-offline"
CASE_OF_CHAIRS = "CHAIR-CASE"
"""The demo's case barcode of 12 CHAIRs (app/services/demo.walkthrough_skus)."""
EXPIRED_MILK = "(01)02000009000030(17)250101(10)OLD1"
"""The label of a lot of the demo's MILK that expired on 2025-01-01."""
SPLIT = re.compile(r"Put \d+ of 12 x CHAIR into \S+ \(suggested\)")


# --- the demo database -------------------------------------------------------------------------


def perpetua(database_url: str, *args: str, config: Path) -> None:
    """The `perpetua` program itself, as a user runs it (without anyone's config file)."""
    subprocess.run(
        [sys.executable, "-m", "app", "--db", database_url, *args],
        cwd=ROOT,
        env={**os.environ, CONFIG_ENV: str(config)},
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=300,
    )


@dataclass(frozen=True)
class Item:
    sku: str
    gtin: str
    qty: int


@dataclass(frozen=True)
class DemoCodes:
    """Codes that really exist in the demo database, for the scans of each screen."""

    receipt: str
    receipt_items: tuple[Item, ...]
    order: str
    outbound: str
    other_orders: tuple[str, ...]
    """Open orders besides `order` without serial-tracked lines, the most lines first: to ship,
    and to hold."""
    ship_outbound: str
    count_bin: str
    count_item: Item
    transfer_bin: str
    transfer_item: Item
    transfer_target: str


def read_codes(engine: Engine) -> DemoCodes:
    """Plain (untracked) items only: a lot or serial number would need a GS1 barcode to scan."""
    sku, barcode, loc, quant = table(SkuRow), table(BarcodeRow), table(LocationRow), table(QuantRow)
    receipts, receipt_lines = table(ReceiptRow), table(ReceiptLineRow)
    orders, order_lines = table(OrderRow), table(OrderLineRow)
    gtin = and_(barcode.c.sku_id == sku.c.id, barcode.c.kind == "gtin")
    with engine.connect() as c:
        receipt = c.execute(
            select(receipts.c.id, receipts.c.code)
            .where(
                receipts.c.status == "open",
                ~select(receipt_lines.c.id)
                .join(sku, sku.c.id == receipt_lines.c.sku_id)
                .where(receipt_lines.c.receipt_id == receipts.c.id, sku.c.tracking != "none")
                .exists(),
            )
            .order_by(receipts.c.code)
            .limit(1)
        ).one()
        items = tuple(
            Item(code, number, qty)
            for code, number, qty in c.execute(
                select(sku.c.code, barcode.c.code, receipt_lines.c.qty)
                .join(sku, sku.c.id == receipt_lines.c.sku_id)
                .join(barcode, gtin)
                .where(receipt_lines.c.receipt_id == receipt.id)
                .order_by(receipt_lines.c.line)
            )
        )
        order = c.execute(
            select(orders.c.code)
            .where(
                orders.c.status == "open",
                ~select(order_lines.c.id)
                .join(sku, sku.c.id == order_lines.c.sku_id)
                .where(order_lines.c.order_id == orders.c.id, sku.c.tracking != "none")
                .exists(),
            )
            .order_by(orders.c.code)
            .limit(1)
        ).scalar_one()
        outbound, ship_outbound = c.execute(
            select(loc.c.code).where(loc.c.kind == "outbound").order_by(loc.c.code).limit(2)
        ).scalars()
        lines = (
            select(func.count())
            .where(order_lines.c.order_id == orders.c.id)
            .correlate(orders)
            .scalar_subquery()
        )
        other_orders = tuple(
            c.execute(
                select(orders.c.code)
                .where(
                    orders.c.status == "open",
                    orders.c.code != order,
                    ~select(order_lines.c.id)
                    .join(sku, sku.c.id == order_lines.c.sku_id)
                    .where(order_lines.c.order_id == orders.c.id, sku.c.tracking == "serial")
                    .exists(),
                )
                .order_by(lines.desc(), orders.c.code)  # the most lines first: more to show
            ).scalars()
        )
        # Bins holding one plain item only, with a few units of it.
        single = (
            select(quant.c.location_id)
            .where(quant.c.on_hand > 0)
            .group_by(quant.c.location_id)
            .having(func.count() == 1)
        )
        stocked = c.execute(
            select(loc.c.code, sku.c.code, barcode.c.code, quant.c.on_hand)
            .join(loc, loc.c.id == quant.c.location_id)
            .join(sku, sku.c.id == quant.c.sku_id)
            .join(barcode, gtin)
            .where(
                loc.c.kind == "bin",
                loc.c.active.is_(True),
                quant.c.on_hand.between(4, 60),
                sku.c.tracking == "none",
                quant.c.location_id.in_(single),
            )
            .order_by(loc.c.code)
            .limit(2)
        ).all()
        if len(stocked) < 2:
            raise RuntimeError("the demo database has too few bins with plain stock")
        occupied = select(quant.c.location_id).where(quant.c.on_hand != 0)
        target = c.execute(
            select(loc.c.code)
            .where(loc.c.kind == "bin", loc.c.active.is_(True), loc.c.id.not_in(occupied))
            .order_by(loc.c.code)
            .limit(1)
        ).scalar_one()
    (count_bin, count_sku, count_gtin, count_qty), (move_bin, move_sku, move_gtin, move_qty) = (
        stocked
    )
    return DemoCodes(
        receipt=receipt.code,
        receipt_items=items,
        order=order,
        outbound=outbound,
        other_orders=other_orders,
        ship_outbound=ship_outbound,
        count_bin=count_bin,
        count_item=Item(count_sku, count_gtin, count_qty),
        transfer_bin=move_bin,
        transfer_item=Item(move_sku, move_gtin, min(3, move_qty)),
        transfer_target=target,
    )


@dataclass(frozen=True)
class OtherPickers:
    """What the picker at the other station left: an order picked whole, waiting in its lane to
    ship, and an order whose pick list they hold."""

    picked: str
    held: str


def other_pickers(engine: Engine, codes: DemoCodes) -> OtherPickers:
    """Through the ledger, as the other station would: the first of `codes.other_orders` whose
    lines can all be reserved is picked whole into `codes.ship_outbound` (take the list, pick
    every reservation, finish); the next one's list is taken and kept."""
    ledger = SqlLedger(engine)

    def run(command: type[Command], **fields: Any) -> dict[str, Any]:
        outcome = submit(
            command(tx_id=uuid.uuid4(), station=PICKER_STATION, operator=PICKER, **fields),
            ledger,
        )
        if not outcome.ok:
            raise RuntimeError(f"{command.__name__} {fields}: {outcome.message}")
        return dict(outcome.result)

    picked = None
    candidates = list(codes.other_orders)
    while candidates and picked is None:
        order = candidates.pop(0)
        lines = run(TakeList, order=order)["lines"]
        if any(line["reserved"] < line["asked"] for line in lines):
            run(ReleaseList, order=order, how=ReleaseHow.GIVE_BACK)
            continue
        for line in lines:
            for reservation in line["reservations"]:
                run(
                    PostPick,
                    reservation=reservation["reservation"],
                    qty=reservation["qty"],
                    to_location=codes.ship_outbound,
                )
        run(ReleaseList, order=order, how=ReleaseHow.FINISHED)
        picked = order
    if picked is None or not candidates:
        raise RuntimeError(f"the demo has too few orders to pick: {codes.other_orders}")
    held = candidates[0]
    run(TakeList, order=held)
    return OtherPickers(picked, held)


# --- the window --------------------------------------------------------------------------------


class Photographer:
    """Drives the window by scans, waits for each answer on screen, and saves the screen."""

    def __init__(self, window: StationWindow, out_dir: Path) -> None:
        self.window = window
        self.out_dir = out_dir
        self.inputs = 0
        self.saved: list[Path] = []

    def answer(self, send: Callable[[], None], what: str, *, unasked: bool = False) -> StationView:
        """Send one input; the view answering it, once it is on screen (`unasked`: the view
        that answers no input, as the first one after starting)."""
        if not unasked:
            self.inputs += 1
        seq = 0 if unasked else self.inputs
        got: list[StationView] = []
        loop = QEventLoop()

        def on_view(view: StationView) -> None:
            if view.input_seq == seq:
                got.append(view)
                loop.quit()

        self.window.viewShown.connect(on_view)
        QTimer.singleShot(ANSWER_S * 1000, loop.quit)
        try:
            send()
            if not got:
                loop.exec()
        finally:
            self.window.viewShown.disconnect(on_view)
        if not got:
            raise RuntimeError(
                f"no answer to {what} within {ANSWER_S} s: {self.window.banner.text()}"
            )
        return got[0]

    def until(self, shows: Callable[[StationView], bool], what: str) -> StationView:
        """The first view on screen, asked for or not, for which `shows` holds."""
        got: list[StationView] = []
        loop = QEventLoop()

        def on_view(view: StationView) -> None:
            if not got and shows(view):
                got.append(view)
                loop.quit()

        self.window.viewShown.connect(on_view)
        QTimer.singleShot(ANSWER_S * 1000, loop.quit)
        try:
            loop.exec()
        finally:
            self.window.viewShown.disconnect(on_view)
        if not got:
            raise RuntimeError(f"{what} not shown within {ANSWER_S} s: {self.window.banner.text()}")
        return got[0]

    def scan(self, text: str, *, expect: Level | None = Level.OK) -> StationView:
        """A scan as the wedge filter hands it on; `expect`: the feedback it must get."""
        scan = Scan(text, Source.WEDGE, device="wedge")
        view = self.answer(lambda: self.window.worker.submit_scan(scan), text)
        check(view, expect, text)
        return view

    def wait_for(self, shown: Callable[[], bool], what: str) -> None:
        """Let the window work until `shown()` holds (a screen's answer from its runner)."""
        deadline = time.monotonic() + ANSWER_S
        while not shown():
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} not shown within {ANSWER_S} s")
            loop = QEventLoop()
            QTimer.singleShot(50, loop.quit)
            loop.exec()

    def shoot(self, name: str) -> None:
        """The screen as the X server shows it, once every widget had time to paint, saved as
        OUT_DIR/<name>.png (at the highest compression: these files are committed)."""
        assert name in SHOTS, name
        loop = QEventLoop()
        QTimer.singleShot(SETTLE_MS, loop.quit)
        loop.exec()
        path = self.out_dir / f"{name}.png"
        if not self.window.screen().grabWindow(0).save(str(path), "PNG", 0):
            raise RuntimeError(f"could not write {path}")
        self.saved.append(path)
        print(path, flush=True)


def check(view: StationView, expect: Level | None, what: str) -> None:
    level = view.feedback.level if view.feedback is not None else None
    if expect is not None and level is not expect:
        raise RuntimeError(f"{what}: expected {expect} feedback, got {view.feedback}")


def held_bin(view: StationView) -> str:
    """The bin putaway suggests, from its prompt ("Put 5 x SKU into A-01-02-B (suggested)...")."""
    found = re.search(r"into (\S+) \(suggested\)", view.prompt)
    if found is None:
        raise RuntimeError(f"putaway suggested no bin: {view.prompt}")
    return found.group(1)


def tour(
    shots: Photographer,
    codes: DemoCodes,
    others: OtherPickers,
    network: TcpProxy | None,
    contents: Callable[[str], dict[str, int]],
) -> None:
    """Every screen, in the order a shift might meet them; the outage last, when the window
    reaches its database through `network` (None: it cannot be cut, and is not taken).
    `contents(bin)`: what the bin holds now, by SKU (the putaway may have added to it)."""
    window = shots.window
    if window.current_screen() is not window.login:
        raise RuntimeError("the station did not start at the login screen")
    shots.shoot("station-login")

    view = shots.scan("S001", expect=None)
    if view.entry is not Entry.PIN:
        raise RuntimeError(f"a supervisor's badge did not ask for a PIN: {view.prompt}")
    keypad = window.login.keypad
    for digit in "12":
        keypad.press(digit)
    shots.shoot("station-supervisor-pin")
    for digit in "3456":  # S001's demo PIN is 123456
        keypad.press(digit)
    view = shots.answer(lambda: keypad.press("enter"), "the PIN")
    check(view, Level.OK, "the PIN")

    first, second, *_ = codes.receipt_items
    shots.scan("@CMD:MODE:RECEIVE")
    shots.scan(codes.receipt)
    shots.scan(first.gtin)
    shots.scan(f"@CMD:QTY:{first.qty - 1}")
    shots.scan(first.gtin)
    shots.scan("@CMD:QTY:12")
    view = shots.scan(second.gtin)
    if not any(f"received 12 of {second.qty}" in line for line in view.lines):
        raise RuntimeError(f"the receipt's progress is not shown: {view.lines}")
    shots.shoot("station-receive")
    shots.scan("@CMD:CANCEL")  # leaves the receipt open for later

    shots.scan("@CMD:MODE:PUTAWAY")
    view = shots.scan(first.gtin, expect=None)
    shots.scan(held_bin(view))
    view = shots.scan(second.gtin, expect=None)
    held_bin(view)
    shots.shoot("station-putaway")
    shots.scan("@CMD:CANCEL")

    shots.scan("@CMD:MODE:PICK")
    view = shots.scan(others.held, expect=Level.ERROR)
    refusal = view.feedback.text if view.feedback is not None else ""
    if "Scan another order; a supervisor can take it over." not in refusal:
        raise RuntimeError(f"{others.held}, held by another picker, was not refused: {refusal}")
    shots.shoot("station-pick-claimed")
    shots.scan(codes.order)
    view = shots.scan(codes.outbound)
    if not view.prompt.startswith("Go to "):
        raise RuntimeError(f"no pick line: {view.prompt}")
    shots.shoot("station-pick")
    shots.scan("@CMD:MODE:COUNT", expect=Level.WARNING)  # the pick list is left for later

    item = codes.count_item
    shots.scan(codes.count_bin)
    shots.scan(item.gtin)
    shots.scan(f"@CMD:QTY:{item.qty - 2}")
    shots.scan(item.gtin)
    shots.shoot("station-count")
    shots.scan(item.gtin)
    # The putaway above may have put its goods into this very bin (a suggestion is random among
    # equally good bins): they are counted too, or the count would be beyond tolerance.
    for sku, qty in contents(codes.count_bin).items():
        if sku != item.sku and qty > 0:
            shots.scan(f"@CMD:QTY:{qty}")
            shots.scan(sku)  # the demo's SKU codes are alias barcodes
    shots.scan("@CMD:DONE")

    item = codes.transfer_item
    shots.scan("@CMD:MODE:TRANSFER")
    shots.scan(codes.transfer_bin)
    shots.scan(f"@CMD:QTY:{item.qty}")
    shots.scan(item.gtin)
    shots.shoot("station-transfer")
    shots.scan(codes.transfer_target)

    shots.scan("@CMD:MODE:RETURN")
    shots.scan(codes.order)
    view = shots.scan(first.gtin)
    if not view.prompt.startswith("Why did "):
        raise RuntimeError(f"a return did not ask for its reason: {view.prompt}")
    shots.shoot("station-return")
    shots.scan("NOT-A-CODE", expect=Level.ERROR)
    shots.shoot("station-refused")
    shots.scan("@CMD:CANCEL")  # nothing was sent: the demo order never shipped
    shots.scan("@CMD:DONE")

    shots.scan("@CMD:MODE:SHIP")
    view = shots.scan(others.picked)
    if not view.prompt.startswith("CONFIRM to ship") or not any(
        "staged" in line for line in view.lines
    ):
        raise RuntimeError(f"the ship screen shows no staged order: {view.prompt} {view.lines}")
    shots.shoot("station-ship")
    shots.scan("@CMD:CANCEL")  # left on screen only: nothing is shipped

    # The README's first shift, steps 6 to 8: a case of 12 by one scan, put away bin by bin
    # (no demo bin takes twelve boxed chairs), and an expired lot refused at the dock.
    shots.scan("@CMD:MODE:RECEIVE")
    shots.scan(CASE_OF_CHAIRS)
    shots.scan("@CMD:MODE:PUTAWAY")
    view = shots.scan("CHAIR", expect=None)
    if SPLIT.match(view.prompt) is None:
        raise RuntimeError(f"a case of twelve chairs was not split: {view.prompt}")
    shots.shoot("station-putaway-split")
    shots.scan("@CMD:CANCEL")
    shots.scan("@CMD:MODE:RECEIVE")
    view = shots.scan(EXPIRED_MILK, expect=Level.ERROR)
    refusal = view.feedback.text if view.feedback is not None else ""
    if "expired on 2025-01-01" not in refusal:
        raise RuntimeError(f"the expired lot was not refused with its date: {refusal}")
    shots.shoot("station-expired")
    shots.scan("@CMD:CANCEL")
    supervise(shots, codes)

    shots.scan("@CMD:MODE:RECEIVE")
    if network is None:
        return
    network.cut("reset")  # every connection to the database reset, new ones too
    shots.until(lambda v: v.database.startswith("out of reach"), "the outage")
    for item in (first, second):
        view = shots.scan(item.gtin, expect=Level.WARNING)
    if view.queue_depth != 2 or view.database_ok:
        raise RuntimeError(f"the outage did not queue: {view.queue_depth}, {view.database}")
    shots.shoot(OFFLINE)


def supervise(shots: Photographer, codes: DemoCodes) -> None:
    """The README's supervisor's day: a hold and a count far off its ledger raise exceptions;
    the supervisor's screen lists them, then plans the day's counts."""
    shots.scan("@CMD:HOLD", expect=None)
    shots.scan(codes.transfer_target)
    shots.scan("@CMD:MODE:COUNT")
    shots.scan(codes.count_bin)
    shots.scan(codes.count_item.gtin)
    view = shots.scan("@CMD:DONE", expect=Level.WARNING)
    if "another operator must recount" not in (view.feedback.text if view.feedback else ""):
        raise RuntimeError(f"a count far off its ledger was not sent to a recount: {view.feedback}")
    window = shots.window
    screen = window.supervisor
    if screen is None:
        raise RuntimeError("the station window has no supervisor's screen")
    window.supervisor_button.click()
    shots.wait_for(lambda: screen.exceptions.table.rowCount() >= 2, "the exceptions list")
    shots.wait_for(lambda: "%" in screen.accuracy.text(), "the accuracy figure")
    shots.shoot("supervisor-exceptions")
    screen.tabs.setCurrentWidget(screen.counts)
    screen.counts.plan_button.click()
    shots.wait_for(lambda: screen.counts.plan_text.isVisible(), "the day's count plan")
    shots.wait_for(lambda: screen.counts.table.rowCount() > 0, "the count tasks")
    shots.shoot("supervisor-counts")
    screen.tabs.setCurrentWidget(screen.reports)
    screen.reports.report.setCurrentText("stock")
    screen.reports.run_button.click()
    shots.wait_for(lambda: screen.reports.model.rowCount() > 0, "the stock report's first page")
    shots.wait_for(lambda: screen.message.text().startswith("Stock on hand"), "its message")
    shots.shoot("supervisor-reports")
    screen.tabs.setCurrentWidget(screen.charts)
    shots.wait_for(lambda: screen.message.text().startswith("Charts up to date"), "the charts")
    shots.shoot("supervisor-charts")
    screen.back.click()


def photograph(
    database_url: str, outbox: Path, out_dir: Path, network: TcpProxy | None = None
) -> list[Path]:
    """Open the station window on the current display and take every shot. With `network`, a
    proxy to the database, the window goes through it (and the outage is shot)."""
    app = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(app, QApplication)
    engine = make_engine(database_url)
    try:
        others = other_pickers(engine, read_codes(engine))
        codes = read_codes(engine)  # the bins and counts as the other picker left them
    finally:
        engine.dispose()
    station_url = database_url if network is None else through(database_url, network)
    settings = Settings(station_url, "screenshots")
    build = bootstrap.station_factory(settings, STATION, outbox)
    desk = bootstrap.supervisor_desk_factory(settings, STATION, outbox)
    window = StationWindow(build, title="Perpetua", sounds=SilentSoundPlayer(), desk_factory=desk)
    shots = Photographer(window, out_dir)
    try:
        screen = app.primaryScreen()
        if (screen.size().width(), screen.size().height()) != (WIDTH, HEIGHT):
            raise RuntimeError(f"the screen is {screen.size()}, not {WIDTH}x{HEIGHT}")
        window.setGeometry(screen.geometry())
        window.show()
        shots.answer(window.start, "starting the station", unasked=True)
        tour(shots, codes, others, network, functools.partial(bin_contents, database_url))
    finally:
        if not window.shutdown():
            print("a thread of the station window did not end", file=sys.stderr)
        window.close()
        window.deleteLater()
        app.processEvents()
    return shots.saved


def bin_contents(database_url: str, location: str) -> dict[str, int]:
    """What `location` holds now, by SKU code (read directly, not through the station)."""
    quant, loc, sku = table(QuantRow), table(LocationRow), table(SkuRow)
    engine = make_engine(database_url)
    try:
        with engine.connect() as c:
            rows = c.execute(
                select(sku.c.code, func.sum(quant.c.on_hand))
                .join(loc, loc.c.id == quant.c.location_id)
                .join(sku, sku.c.id == quant.c.sku_id)
                .where(loc.c.code == location)
                .group_by(sku.c.code)
            ).all()
    finally:
        engine.dispose()
    return {code: int(qty) for code, qty in rows}


def through(database_url: str, proxy: TcpProxy) -> str:
    """`database_url` by way of the proxy (without TLS, which the proxy would not change)."""
    url = make_url(database_url).set(port=proxy.port, query={"sslmode": "disable"})
    return url.render_as_string(hide_password=False)


def pg_server() -> PgServer | None:
    """The PostgreSQL server to make the demo database on, if one answers."""
    server = PgServer(os.environ.get(PG_ENV) or LOCAL_PG)
    try:
        server.ping()
    except Exception as error:  # any failure to reach it: the SQLite file instead
        shown = server.url.render_as_string(hide_password=True)
        print(f"no PostgreSQL server at {shown}: {error}", file=sys.stderr)
        server.dispose()
        return None
    return server


@contextmanager
def demo_database(folder: Path) -> Iterator[tuple[str, TcpProxy | None]]:
    """A new demo database's URL and a proxy to it: on PostgreSQL if a server answers (dropped
    afterwards), else an SQLite file in `folder` and no proxy."""
    config = folder / "no-config.toml"
    server = pg_server()
    if server is None:
        url = f"sqlite:///{folder / 'demo.db'}"
        perpetua(url, "db", "upgrade", config=config)
        perpetua(url, "demo", "--bins", "400", "--skus", "120", config=config)
        yield url, None
        return
    name = f"perpetua_shots_{uuid.uuid4().hex[:8]}"
    try:
        url = server.create(name)
        perpetua(url, "db", "upgrade", config=config)
        perpetua(url, "demo", "--bins", "400", "--skus", "120", config=config)
        parsed = make_url(url)
        with TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432) as proxy:
            yield url, proxy
    finally:
        server.drop(name)
        server.dispose()


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.e2e.screenshots OUT_DIR", file=sys.stderr)
        return 2
    out_dir = Path(argv[0]).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="perpetua-shots-") as scratch,
        xvfb_display(f"{WIDTH}x{HEIGHT}x24", first_in_line=False) as display,
    ):
        folder = Path(scratch)
        with demo_database(folder) as (url, network):
            os.environ.update({"DISPLAY": display, "QT_QPA_PLATFORM": "xcb"})
            saved = photograph(url, folder / "outbox.sqlite", out_dir, network)
    missing = [name for name in SHOTS if out_dir / f"{name}.png" not in saved]
    if missing:
        print(f"not taken: {', '.join(missing)}", file=sys.stderr)
        if missing == [OFFLINE]:
            print(
                f"{OFFLINE} needs a network to cut: a PostgreSQL server ({PG_ENV}, or one at "
                "127.0.0.1:5432)",
                file=sys.stderr,
            )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
