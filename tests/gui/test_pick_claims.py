"""Two stations, one order, through the real windows on PostgreSQL (issue 9): the first picker
takes SO-1; the second picker, at another station's window, scans it and is told who picks it,
where and since when; a supervisor's TAKEOVER there moves the list, and the first picker learns
it at their first scan once their station's replica has caught up (it reads claims from there,
refreshed every 2 s). Each window is the real StationWindow over the session the composition
root builds, typed into with key events at scanner speed.

A station is one program on one machine; here two windows share one process, so only the window
being typed into watches the keyboard (the other's wedge filter is uninstalled meanwhile)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app import bootstrap
from app.adapters.db import catalogue
from app.config import Settings
from app.domain.catalogue import OperatorSpec
from app.domain.model import Role
from app.domain.workflow import Level
from app.ui.station_window import StationWindow
from tests.gui.test_station_modes import Station, shut_down, start_window
from tests.gui.test_station_window import WAIT_MS
from tests.support.scenarios import SCENARIOS
from tests.support.warehouse import Warehouse

pytestmark = [pytest.mark.qt_log_level_fail("WARNING"), pytest.mark.postgres]

PICK = next(s for s in SCENARIOS if s.name == "pick")


def outbox_of(folder: Path, station: str) -> Path:
    return folder / f"outbox-{station}.sqlite"


def replica_claim(outbox: Path, order: str) -> str | None:
    """The station holding `order`'s pick list, as the replica next to `outbox` says (read from
    its file, as a second reader would: the station refreshes it on a thread of its own)."""
    uri = f"{bootstrap.replica_path(outbox).as_uri()}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as db:
        row = db.execute(
            "SELECT s.code FROM orders o LEFT JOIN stations s ON s.id = o.claim_station_id "
            "WHERE o.code = ?",
            (order,),
        ).fetchone()
    return None if row is None else row[0]


@pytest.fixture
def two_stations(
    qtbot: QtBot, qapp: QApplication, postgres_url: str, tmp_path: Path
) -> Iterator[Callable[[str], Station]]:
    windows: list[StationWindow] = []

    def open_it(code: str) -> Station:
        factory = bootstrap.station_factory(
            Settings(postgres_url, "test"), code, outbox_of(tmp_path, code)
        )
        station = start_window(qtbot, factory)
        windows.append(station.window)
        return station

    yield open_it
    shut_down(windows)


@pytest.fixture
def pg_warehouse(postgres_url: str) -> Iterator[Warehouse]:
    from app.adapters.db.engine import make_engine
    from app.adapters.db.uow import SqlLedger
    from tests.support.warehouse import seed

    engine = make_engine(postgres_url)
    seed(engine)
    with engine.begin() as c:
        catalogue.add_operators(c, [OperatorSpec("P2", "Pia Picker", Role.PICKER)])
    yield Warehouse(engine, SqlLedger(engine))
    engine.dispose()


def focus(station: Station, other: Station) -> None:
    """Type into `station` only: the other window stops watching the keyboard."""
    app = QApplication.instance()
    assert app is not None
    other.window.wedge.uninstall()
    station.window.wedge.install(app)
    station.window.activateWindow()
    station.qtbot.waitActive(station.window)


def test_the_second_picker_sees_who_holds_the_list_and_a_supervisor_takes_it_over(
    two_stations: Callable[[str], Station], pg_warehouse: Warehouse, tmp_path: Path
) -> None:
    PICK.setup(pg_warehouse)
    first = two_stations("ST-1")
    second = two_stations("ST-2")
    focus(first, second)
    first.log_in("P1", "pick")
    taken = first.scan("SO-1")
    assert taken.feedback is not None and taken.feedback.level is Level.OK, taken.feedback
    first.scan("OUT-1")
    assert pg_warehouse.reserved("A-01-03", "BOLT") == 3

    focus(second, first)
    second.log_in("P2", "pick")
    refused = second.scan("SO-1")
    shown = second.window.banner.text()
    assert refused.feedback is not None and refused.feedback.level is Level.ERROR
    assert "SO-1 is being picked by Pat Picker at ST-1 since " in shown
    assert "Scan another order; a supervisor can take it over." in shown
    assert second.sounds.played[-1] is Level.ERROR
    assert pg_warehouse.reserved("A-01-03", "BOLT") == 3, "the second scan reserved again"

    second.scan("@CMD:TAKEOVER")
    second.scan("S1")
    with second.qtbot.waitSignal(second.window.viewShown, timeout=WAIT_MS) as blocker:
        second.window.worker.submit_entry("123456")  # the PIN, as the keypad sends it
    over = blocker.args[0]
    assert over.feedback is not None and "Took over SO-1" in over.feedback.text, over.feedback
    assert "Pat Picker" in over.feedback.text

    # ST-1 reads claims from its replica, which its refresher brings up to date every 2 s: the
    # first picker learns of the takeover at the first scan after that.
    first.qtbot.waitUntil(
        lambda: replica_claim(outbox_of(tmp_path, "ST-1"), "SO-1") == "ST-2", timeout=WAIT_MS
    )
    focus(first, second)
    late = first.scan("A-01-03")
    assert late.feedback is not None and late.feedback.level is Level.ERROR
    assert "SO-1 was taken over by Pia Picker at ST-2 at " in first.window.banner.text()
    assert pg_warehouse.reserved("A-01-03", "BOLT") == 3
    assert pg_warehouse.invariants().total == 0
