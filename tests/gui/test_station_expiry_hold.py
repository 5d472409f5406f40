"""Expiry and holds through the real station window on both databases (issue 12): an expired lot
is refused at the dock with its dates, in red with the low buzz, and a supervisor accepts it into
quarantine with badge and PIN; quarantined goods leave for a bin only by a supervisor's release
(badge, PIN, INSPECTED_OK), recorded in the ledger; a lot put on hold with `@CMD:HOLD` stops its
transfer until released; an operator deactivated while logged in is logged out at the next
scan. Scans are typed as real key events at scanner speed; the PIN goes in as
the keypad sends it; the stock is read back from the database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from sqlalchemy import select, update

from app import bootstrap
from app.adapters.db import catalogue
from app.adapters.db.schema import HoldRow, OperatorRow, table
from app.config import Settings
from app.domain.catalogue import SkuSpec
from app.domain.commands import Receive
from app.domain.model import Tracking
from app.domain.workflow import Entry, Level
from app.services.station_view import ScanState, StationView
from tests.gui.test_station_modes import Station, proxied, shut_down, start_window
from tests.gui.test_station_window import WAIT_MS
from tests.support.warehouse import Warehouse

pytestmark = pytest.mark.qt_log_level_fail("WARNING")

YOGURT_GTIN = "09506000134352"
WIDGET_GTIN = "05901234123457"


def yogurt_label(lot: str, expiry: date) -> str:
    """A GS1-128 label as the scanner sends it: GTIN, expiry (17), then the lot (10) last."""
    return f"]C101{YOGURT_GTIN}17{expiry:%y%m%d}10{lot}"


@pytest.fixture
def station(
    qtbot: QtBot, qapp: QApplication, db_url: str, warehouse: Warehouse, tmp_path: Path
) -> Iterator[Station]:
    """ST-1's window (dock DOCK-1, quarantine QUAR-1) over a warehouse that also stocks a
    lot-tracked YOGURT with a GTIN; its threads have all ended after the test."""
    yogurt = SkuSpec(
        "YOGURT", "Yogurt 500 g", 500, 520, Tracking.LOT, barcodes=((YOGURT_GTIN, "gtin"),)
    )
    with warehouse.engine.begin() as c:
        catalogue.add_skus(c, [yogurt])
    with ExitStack() as stack:
        url, outage = proxied(db_url, stack)
        factory = bootstrap.station_factory(
            Settings(url, "test"), "ST-1", tmp_path / "outbox.sqlite"
        )
        opened = start_window(qtbot, factory, outage)
        yield opened
        shut_down([opened.window])


def enter_pin(station: Station, pin: str) -> StationView:
    """The PIN as the on-screen keypad sends it; the view that answers it."""
    with station.qtbot.waitSignal(
        station.window.viewShown,
        timeout=WAIT_MS,
        check_params_cb=lambda v: v.input_seq > station.inputs,
    ) as answered:
        station.window.worker.submit_entry(pin)
    view: StationView = answered.args[0]
    station.inputs = view.input_seq  # the keypad's entry was an input too
    assert view.scans[0].text == "(PIN)"
    return view


def banner(station: Station) -> tuple[Level | None, str]:
    return station.window.banner.level, station.window.banner.text()


def test_an_expired_lot_is_refused_with_its_dates_and_a_supervisor_accepts_it_into_quarantine(
    station: Station, warehouse: Warehouse
) -> None:
    today = datetime.now(UTC).date()
    expired = today - timedelta(days=30)
    station.log_in("D1", "receive")
    station.scan("@CMD:QTY:6")
    refused = station.scan(yogurt_label("L1", expired))
    # What the worker notices: red, the low buzz, the dates, and what to do.
    expected = (
        f"Lot L1 of YOGURT expired on {expired.isoformat()} (30 days ago; today is "
        f"{today.isoformat()}). Set it aside; a supervisor may accept it into quarantine: "
        "supervisor, scan your badge; CANCEL to drop it."
    )
    assert refused.feedback is not None and refused.feedback.text == expected
    assert banner(station) == (Level.ERROR, expected)
    assert station.sounds.played[-1] is Level.ERROR
    assert refused.scans[0].state is ScanState.REFUSED
    assert station.shown_states()[0] == "refused"
    screen = station.window.current_screen()
    assert screen.prompt.text() == (  # type: ignore[attr-defined]
        "Supervisor: scan your badge to approve accepting 6 x YOGURT lot L1 (expired) into "
        "quarantine QUAR-1. CANCEL to go back."
    )
    # Nothing reached the ledger.
    assert warehouse.on_hand("DOCK-1", "YOGURT") == 0
    assert warehouse.on_hand("QUAR-1", "YOGURT") == 0

    asked = station.scan("S1")
    assert asked.entry is Entry.PIN, asked.prompt
    accepted = enter_pin(station, "123456")
    text = (
        f"Received 6 x YOGURT lot L1, expires {expired.isoformat()}, into quarantine QUAR-1 "
        "(expired), approved by S1."
    )
    assert accepted.feedback is not None and accepted.feedback.text == text, accepted.feedback
    assert banner(station) == (Level.OK, text)
    assert station.sounds.played[-1:] == [Level.OK]
    assert accepted.scans[0].state is ScanState.CONFIRMED
    assert warehouse.on_hand("QUAR-1", "YOGURT", "L1") == 6
    assert warehouse.on_hand("DOCK-1", "YOGURT") == 0
    assert warehouse.invariants().total == 0

    # A lot with shelf life left goes to the dock, and the banner shows its expiry.
    good = today + timedelta(days=90)
    station.scan("@CMD:QTY:4")
    received = station.scan(yogurt_label("L2", good))
    text = f"Received 4 x YOGURT lot L2, expires {good.isoformat()}, into DOCK-1."
    assert received.feedback is not None and received.feedback.text == text
    assert banner(station) == (Level.OK, text)
    assert warehouse.on_hand("DOCK-1", "YOGURT", "L2") == 4


def test_a_supervisor_releases_quarantined_goods_to_a_bin(
    station: Station, warehouse: Warehouse
) -> None:
    damaged = warehouse.run(Receive, sku="WIDGET", qty=4, to_location="QUAR-1", operator="D1")
    assert damaged.ok, damaged.message
    station.log_in("D1", "transfer")
    source = station.scan("QUAR-1")
    assert source.feedback is not None and source.feedback.level is Level.WARNING
    assert "QUAR-1 is a quarantine location" in source.feedback.text
    station.scan("@CMD:QTY:4")
    station.scan(WIDGET_GTIN)
    held = station.scan("A-01-01")
    # Not sent as a transfer: the station says why and asks for a supervisor.
    assert held.feedback is not None and held.feedback.level is Level.ERROR
    assert held.feedback.text.startswith(
        "4 x WIDGET cannot be moved from QUAR-1: QUAR-1 is a quarantine location: its stock is "
        "held until a supervisor releases it. Nothing was moved."
    )
    assert banner(station)[0] is Level.ERROR and station.sounds.played[-1] is Level.ERROR
    assert (
        warehouse.on_hand("QUAR-1", "WIDGET") == 4 and warehouse.on_hand("A-01-01", "WIDGET") == 0
    )

    asked = station.scan("S1")
    assert asked.entry is Entry.PIN, asked.prompt
    approved = enter_pin(station, "123456")
    assert approved.prompt.startswith("Supervisor S1: scan the reason. INSPECTED_OK moves")
    released = station.scan("@CMD:REASON:INSPECTED_OK")
    text = "Released 4 x WIDGET from QUAR-1 to A-01-01 (inspected ok, approved by S1)."
    assert released.feedback is not None and released.feedback.text == text, released.feedback
    assert banner(station) == (Level.OK, text)
    assert station.sounds.played[-1:] == [Level.OK]
    assert released.scans[0].state is ScanState.CONFIRMED
    assert station.shown_states()[0] == "confirmed"
    # The ledger: the goods left quarantine for the bin.
    assert warehouse.on_hand("QUAR-1", "WIDGET") == 0
    assert warehouse.on_hand("A-01-01", "WIDGET") == 4
    assert warehouse.invariants().total == 0
    assert released.prompt == "Scan the location to move goods from."


def test_a_lot_held_at_the_station_is_not_transferred_until_released(
    station: Station, warehouse: Warehouse
) -> None:
    good = datetime.now(UTC).date() + timedelta(days=90)
    placed = warehouse.run(
        Receive, sku="YOGURT", qty=5, lot="L7", expiry=good, to_location="DOCK-1", operator="D1"
    )
    assert placed.ok, placed.message
    station.log_in("D1", "transfer")
    station.scan("@CMD:HOLD")
    station.scan("@CMD:REASON:DAMAGED")
    held = station.scan(yogurt_label("L7", good))
    text = (
        "Lot L7 of YOGURT is on hold (damaged): nothing of it is picked, moved or shipped "
        "until a supervisor releases it."
    )
    assert held.feedback is not None and held.feedback.text == text, held.feedback
    assert held.prompt == "Scan the location to move goods from."
    t = table(HoldRow)
    with warehouse.engine.connect() as c:
        reasons = c.execute(select(t.c.reason).where(t.c.released_at.is_(None))).scalars().all()
    assert reasons == ["damaged"]

    station.scan("DOCK-1")
    station.scan("@CMD:QTY:5")
    station.scan(yogurt_label("L7", good))
    refused = station.scan("A-01-02")
    # The station's copy learns of the hold at its next refresh, the ledger knows at once:
    # either way nothing moves, and a supervisor is asked for.
    assert refused.feedback is not None and refused.feedback.level is Level.ERROR
    assert "lot L7 of YOGURT is on hold (damaged)" in refused.feedback.text
    assert warehouse.on_hand("DOCK-1", "YOGURT", "L7") == 5
    assert warehouse.on_hand("A-01-02", "YOGURT") == 0
    station.scan("S2")
    enter_pin(station, "567890")
    scrapped = station.scan("@CMD:REASON:SCRAPPED")
    text = "Released 5 x YOGURT lot L7 from DOCK-1 out of stock (scrapped, approved by S2)."
    assert scrapped.feedback is not None and scrapped.feedback.text == text, scrapped.feedback
    assert warehouse.on_hand("DOCK-1", "YOGURT", "L7") == 0
    assert warehouse.invariants().total == 0


def test_an_operator_deactivated_while_logged_in_is_logged_out_at_the_next_scan(
    station: Station, warehouse: Warehouse
) -> None:
    station.log_in("D1", "receive")
    o = table(OperatorRow)
    with warehouse.engine.begin() as c:  # what `perpetua deactivate operator D1` writes
        c.execute(update(o).where(o.c.badge == "D1").values(active=False))
    with station.qtbot.waitSignal(
        station.window.viewShown, timeout=WAIT_MS, check_params_cb=lambda v: v.input_seq > 0
    ) as answered:
        station.keyboard.pause()
        station.keyboard.type(WIDGET_GTIN + "\r")
    view: StationView = answered.args[0]
    # Logged out whether the station's copy or the ledger learnt it first; nothing received.
    assert view.operator is None
    assert view.feedback is not None and view.feedback.level is Level.ERROR
    assert view.feedback.text.endswith("Badge D1 was deactivated: logged out. Ask a supervisor.")
    assert banner(station) == (Level.ERROR, view.feedback.text)
    assert station.window.current_screen() is station.window.login
    assert warehouse.on_hand("DOCK-1", "WIDGET") == 0
