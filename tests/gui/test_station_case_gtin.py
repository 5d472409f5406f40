"""A new dock worker receives a case of 12 by one scan, through the real station window on both
databases (issue 12, "done when"): the case GTIN's barcode row says 12 units, the scan is typed
as real key events at scanner speed, and the ledger shows 12 on the dock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app import bootstrap
from app.config import Settings
from app.domain.workflow import Level
from app.services.station_view import ScanState
from tests.gui.test_station_modes import Station, proxied, shut_down, start_window
from tests.integration.test_barcode_packs import WIDGET_CASE, add_barcodes
from tests.support.warehouse import Warehouse

pytestmark = pytest.mark.qt_log_level_fail("WARNING")


@pytest.fixture
def station(
    qtbot: QtBot, qapp: QApplication, db_url: str, warehouse: Warehouse, tmp_path: Path
) -> Iterator[Station]:
    """ST-1's window over a warehouse whose WIDGET has a case GTIN of 12; its threads have all
    ended after the test."""
    add_barcodes(warehouse.engine)
    with ExitStack() as stack:
        url, outage = proxied(db_url, stack)
        factory = bootstrap.station_factory(
            Settings(url, "test"), "ST-1", tmp_path / "outbox.sqlite"
        )
        opened = start_window(qtbot, factory, outage)
        yield opened
        shut_down([opened.window])


def test_one_scan_of_a_case_receives_12_onto_the_dock(
    station: Station, warehouse: Warehouse
) -> None:
    station.log_in("D1", "receive")
    assert warehouse.on_hand("DOCK-1", "WIDGET") == 0
    view = station.scan(WIDGET_CASE)
    window = station.window
    # What the worker sees: the scan taken for a case of 12, confirmed by the ledger, green ...
    assert view.scans[0].meaning == "item WIDGET (case of 12)"
    assert view.scans[0].state is ScanState.CONFIRMED, view.feedback
    assert station.shown_states()[0] == "confirmed"
    assert view.feedback is not None and view.feedback.level is Level.OK
    assert window.banner.level is Level.OK and window.banner.text() == view.feedback.text
    assert window.banner.text() == "Received 12 x WIDGET (1 case of 12) into DOCK-1."
    assert station.sounds.played[-1] is Level.OK and Level.ERROR not in station.sounds.played
    # ... and the ledger: 12 on the dock from one scan.
    assert warehouse.on_hand("DOCK-1", "WIDGET") == 12
    assert warehouse.invariants().total == 0
