"""The supervisor's screen through the real station window, on both databases: a supervisor
logged in opens it, sees the exceptions the ledger raised (a count beyond tolerance, a hold),
approves the count's variance with a reason and their PIN (the stock moves), plans the day's
counts and sees the tasks with why they exist, reads the accuracy figure, and looks a bin up by
scanning it; a non-supervisor has no such screen. Every query runs on the window's one query
runner, never on the GUI thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel
from pytestqt.qtbot import QtBot

from app import bootstrap
from app.config import Settings
from app.domain.commands import CountLine, Hold, Opening, OpeningLine, SaveCount
from app.domain.exceptions import Decision
from app.domain.interpret import StationMode
from app.domain.workflow import Level
from app.services.station_view import StationView
from app.ui.supervisor import SupervisorScreen
from tests.gui.test_charts import bars, line
from tests.gui.test_station_modes import Station, proxied, shut_down, start_window
from tests.gui.test_station_window import WAIT_MS
from tests.support.warehouse import Warehouse

pytestmark = pytest.mark.qt_log_level_fail("WARNING")


@pytest.fixture
def station(
    qtbot: QtBot, qapp: QApplication, db_url: str, warehouse: Warehouse, tmp_path: Path
) -> Iterator[Station]:
    """ST-1's window with its supervisor's screen, over a warehouse where C1 counted 7 WIDGETs
    in A-01-01 (the ledger says 10: a recount is due) and D1 put A-01-02 on hold."""
    assert warehouse.run(Opening, lines=(OpeningLine("WIDGET", "A-01-01", 10),)).ok
    counted = warehouse.run(
        SaveCount,
        location="A-01-01",
        state="recount",
        counter="C1",
        counts=(CountLine("WIDGET", 7),),
        snapshot=(CountLine("WIDGET", 10),),
    )
    assert counted.ok, counted.message
    assert warehouse.run(Hold, reason="water damage", location="A-01-02").ok
    with ExitStack() as stack:
        url, outage = proxied(db_url, stack)
        settings, outbox = Settings(url, "test"), tmp_path / "outbox.sqlite"
        opened = start_window(
            qtbot,
            bootstrap.station_factory(settings, "ST-1", outbox),
            outage,
            desk_factory=bootstrap.supervisor_desk_factory(settings, "ST-1", outbox),
        )
        yield opened
        shut_down([opened.window])


def log_in_supervisor(station: Station) -> StationView:
    station.scan("S1")
    with station.qtbot.waitSignal(station.window.viewShown, timeout=WAIT_MS) as shown:
        station.window.worker.submit_entry("123456")  # the PIN, as the keypad sends it
    view: StationView = shown.args[0]
    assert view.operator is not None and view.operator.badge == "S1", view.feedback
    station.inputs = view.input_seq  # the PIN was an input too
    return view


def open_screen(station: Station) -> SupervisorScreen:
    window = station.window
    assert window.supervisor is not None and window.supervisor_button.isVisible()
    QTest.mouseClick(window.supervisor_button, Qt.MouseButton.LeftButton)
    assert window.current_screen() is window.supervisor
    return window.supervisor


def rows(table: object) -> list[list[str]]:
    from PySide6.QtWidgets import QTableWidget

    assert isinstance(table, QTableWidget)
    shown = [
        [table.item(r, c) for c in range(table.columnCount())] for r in range(table.rowCount())
    ]
    return [[item.text() if item is not None else "" for item in row] for row in shown]


def test_a_supervisor_approves_a_count_plans_and_looks_up(
    station: Station, warehouse: Warehouse
) -> None:
    logged_in = log_in_supervisor(station)
    screen = open_screen(station)
    qtbot, tab = station.qtbot, screen.exceptions
    qtbot.waitUntil(lambda: tab.table.rowCount() == 2, timeout=WAIT_MS)
    listed = rows(tab.table)
    kinds = {row[1]: row for row in listed}
    assert set(kinds) == {"count variance", "hold"}
    assert kinds["count variance"][2:4] == ["A-01-01", "C1"]
    assert "WIDGET counted 7, ledger 10 (-3)" in kinds["count variance"][5]
    assert "approve the count" in kinds["count variance"][5]  # what it needs
    assert kinds["hold"][2] == "A-01-02" and "water damage" in kinds["hold"][5]
    assert all(row[0].startswith("E-") for row in listed)
    assert screen.message.text() == "2 exception(s) wait for a decision."

    # Approve the count variance: reason LOST, the supervisor's own PIN.
    row = next(r for r, line in enumerate(listed) if line[1] == "count variance")
    tab.table.selectRow(row)
    assert tab.approve_button.isEnabled()
    approve_why = tab.reasons[Decision.APPROVE]
    QTest.mouseClick(tab.approve_button, Qt.MouseButton.LeftButton)  # no reason chosen yet
    assert screen.message.text().startswith("To approve E-"), screen.message.text()
    assert "choose why in the list beside Approve: COUNT, DAMAGED" in screen.message.text()
    assert warehouse.on_hand("A-01-01", "WIDGET") == 10
    approve_why.setCurrentText("LOST")
    tab.pin.setText("123456")
    QTest.mouseClick(tab.approve_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not screen.message.text().endswith("..."), timeout=WAIT_MS)
    assert screen.message.text().startswith("Done:"), screen.message.text()
    assert tab.pin.text() == "", "the PIN stayed in its field"
    assert warehouse.on_hand("A-01-01", "WIDGET") == 7
    qtbot.waitUntil(lambda: tab.table.rowCount() == 1, timeout=WAIT_MS)
    assert rows(tab.table)[0][1] == "hold"

    # A wrong PIN is refused, and nothing changes.
    tab.table.selectRow(0)
    tab.reasons[Decision.APPROVE].setCurrentText("INSPECTED_OK")
    tab.pin.setText("000000")
    QTest.mouseClick(tab.approve_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: screen.message.text().startswith("Refused:"), timeout=WAIT_MS)
    assert screen.message.text().endswith("Nothing was done."), screen.message.text()
    qtbot.waitUntil(lambda: tab.table.rowCount() == 1, timeout=WAIT_MS)

    # The accuracy figure: one location counted, its first count off.
    qtbot.waitUntil(lambda: "%" in screen.accuracy.text(), timeout=WAIT_MS)
    assert screen.accuracy.text() == (
        "Inventory-record accuracy, last 30 days: 0.0 % (0 of 1 locations)"
    )

    # Plan the day's counts: the tasks are listed with why they exist.
    counts = screen.counts
    screen.tabs.setCurrentWidget(counts)
    QTest.mouseClick(counts.plan_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: counts.plan_text.isVisible(), timeout=WAIT_MS)
    assert screen.message.text().startswith("Done:"), screen.message.text()
    planned = counts.plan_text.toPlainText().splitlines()
    qtbot.waitUntil(lambda: counts.table.rowCount() == len(planned), timeout=WAIT_MS)
    tasks = rows(counts.table)
    assert {line.split(":")[0] for line in planned} == {task[0] for task in tasks}
    assert all(task[7] and task[3] in ("plan", "sample") for task in tasks)

    # A bin scanned on this screen is looked up (from the station's copy, once it has the move).
    def shows_seven() -> bool:
        station.keyboard.pause()
        station.keyboard.type("A-01-01\r")
        qtbot.wait(300)
        return screen.lookup.summary.text().startswith("A-01-01 holds 7 unit(s)")

    qtbot.waitUntil(shows_seven, timeout=WAIT_MS)
    assert screen.tabs.currentWidget() is screen.lookup
    assert "on hand 7" in screen.lookup.lines.toPlainText()

    # Back to the station's screens; the runner's thread was never the GUI's.
    QTest.mouseClick(screen.back, Qt.MouseButton.LeftButton)
    assert logged_in.mode is not None
    assert station.window.current_screen() is station.window.screens[logged_in.mode]
    assert station.window.runner is not None
    assert station.window.runner._thread is not None  # one runner for the whole window
    assert threading.current_thread() is threading.main_thread()


def test_a_logout_closes_the_screen_and_others_have_none(station: Station) -> None:
    log_in_supervisor(station)
    screen = open_screen(station)
    with station.qtbot.waitSignal(
        station.window.viewShown, timeout=WAIT_MS, check_params_cb=lambda v: v.operator is None
    ) as out:
        station.keyboard.pause()
        station.keyboard.type("@CMD:LOGOUT\r")  # a command barcode goes to the station
    station.inputs = out.args[0].input_seq
    assert station.window.current_screen() is station.window.login
    assert screen.operator is None

    station.log_in("D1", "receive")
    assert not station.window.supervisor_button.isVisible()
    station.window.shortcuts["Ctrl+S"].activated.emit()
    assert station.window.current_screen() is station.window.screens[StationMode.RECEIVE]
    assert "for a supervisor" in station.window.banner.text()
    assert station.sounds.played[-1] is Level.ERROR


def test_a_pin_typed_fast_with_enter_stays_in_the_pin_field(station: Station) -> None:
    """A keyboard-wedge burst ending in Enter is a scan; typed into the PIN field, it is the
    PIN, and it is never looked up nor shown."""
    log_in_supervisor(station)
    screen = open_screen(station)
    tab = screen.exceptions
    tab.pin.setFocus()
    station.qtbot.waitUntil(tab.pin.hasFocus, timeout=WAIT_MS)
    station.keyboard.pause()
    station.keyboard.type("123456\r")
    station.qtbot.waitUntil(lambda: tab.pin.text() == "123456", timeout=WAIT_MS)
    assert screen.lookup.code.text() == "" and screen.tabs.currentWidget() is tab
    assert [w for w in screen.findChildren(QLabel) if "123456" in w.text()] == []


def test_the_selection_stays_on_its_exception_when_new_ones_come_in(
    station: Station, warehouse: Warehouse
) -> None:
    """New exceptions come in on top: a refresh keeps the one the supervisor touched selected
    (by its number, not its row), so a decision never lands on another one."""
    log_in_supervisor(station)
    screen = open_screen(station)
    qtbot, tab = station.qtbot, screen.exceptions
    qtbot.waitUntil(lambda: tab.table.rowCount() == 2, timeout=WAIT_MS)
    counted = next(r for r, line in enumerate(rows(tab.table)) if line[1] == "count variance")
    tab.table.selectRow(counted)
    chosen = tab.selected()
    assert chosen is not None and chosen.kind.value == "count_variance"
    assert warehouse.run(Hold, reason="leaking", location="A-01-03").ok
    QTest.mouseClick(tab.refresh_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.table.rowCount() == 3, timeout=WAIT_MS)
    again = tab.selected()
    assert again is not None and again.id == chosen.id
    assert tab.table.selectionModel().selectedRows()[0].row() == counted + 1


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)  # SQLite has no network to cut
def test_out_of_reach_the_screen_says_so_in_words(station: Station) -> None:
    """The network cut: a refresh says the database is out of reach, in one line, never an SQL
    statement; healed, the next refresh works (a connection that died is not reused)."""
    log_in_supervisor(station)
    screen = open_screen(station)
    qtbot, tab = station.qtbot, screen.exceptions
    qtbot.waitUntil(lambda: tab.table.rowCount() == 2, timeout=WAIT_MS)
    waiting = "2 exception(s) wait for a decision."
    # A cut while the screen is idle kills the connection its pool keeps: healed, the next
    # refresh must not fail on that dead connection.
    station.outage.cut.set()
    qtbot.wait(1500)
    station.outage.cut.clear()
    screen.message.clear()
    QTest.mouseClick(tab.refresh_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: screen.message.text() not in ("", "Reading exceptions..."), timeout=WAIT_MS
    )
    assert screen.message.text() == waiting

    station.outage.cut.set()
    QTest.mouseClick(tab.refresh_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: screen.message.text().startswith("That could not"), timeout=WAIT_MS)
    said = screen.message.text()
    assert said.startswith("That could not be done: the database is out of reach ("), said
    assert "SELECT" not in said and "\n" not in said
    assert said.endswith(
        "Nothing was changed: try again once the database answers (the list "
        "shown may be out of date)."
    )
    station.outage.cut.clear()
    QTest.mouseClick(tab.refresh_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: screen.message.text() == waiting, timeout=WAIT_MS)


def test_a_badge_scanned_on_the_screen_goes_to_the_station(station: Station) -> None:
    """The supervisor walks away with the screen open; a counter scans their badge: the screen
    closes and the station answers the badge as it always does (log out first), instead of a
    lookup saying a badge is not a location."""
    log_in_supervisor(station)
    screen = open_screen(station)
    with station.qtbot.waitSignal(
        station.window.viewShown,
        timeout=WAIT_MS,
        check_params_cb=lambda v: bool(v.scans) and v.scans[0].text == "C1",
    ) as answered:
        station.keyboard.pause()
        station.keyboard.type("C1\r")
    view: StationView = answered.args[0]
    assert view.feedback is not None and "Scan LOGOUT first" in view.feedback.text
    assert station.window.current_screen() is not screen and screen.operator is None
    assert station.window.banner.isVisible()


def test_the_charts_tab_draws_the_reports_of_the_ledger(station: Station) -> None:
    """The Charts tab reads the reports on the runner and draws them: C1's count (first count
    7 of 10, not within tolerance) is the accuracy line's one point at 0 %; the 10 WIDGETs of
    the opening stock are in the youngest age bucket."""
    log_in_supervisor(station)
    screen = open_screen(station)
    screen.tabs.setCurrentWidget(screen.charts)
    station.qtbot.waitUntil(
        lambda: screen.message.text().startswith("Charts up to date"), timeout=WAIT_MS
    )
    assert [y for _, y in line(screen.charts.panel.accuracy)] == [0.0]
    categories, heights = bars(screen.charts.panel.age)
    assert categories[0] == "0-30" and next(iter(heights.values()))[0] == 10
