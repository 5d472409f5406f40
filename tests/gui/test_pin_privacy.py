"""A PIN is never shown (issue 10, point 8): while a step asks for a PIN, keys typed on the
keyboard go to the keypad's masked field, whatever has focus, the manual line included, and
nothing typed as a PIN reaches the banner, the last scans, any other text on screen or a log.

Through the real window over the real session on both databases: the keys are real key events
given to the window the way the window system gives them (Qt hands them to the focused widget,
the manual line), at a person's pace, through the wedge filter; a badge scanned at a PIN step
still goes as a scan. The last test plants a session bug that puts the PIN in its error, to show
that the worker masks it in the banner and the log."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QLabel,
    QLineEdit,
    QListWidget,
    QTableWidget,
    QWidget,
)
from pytestqt.qtbot import QtBot

from app.domain.interpret import StationMode
from app.domain.workflow import Entry, Level
from app.services.station_view import ScanState, StationView
from app.ui.screens import ModeScreen
from app.ui.station_window import StationWindow
from app.ui.widgets.keypad import MASK
from app.ui.widgets.manual_entry import PIN_PLACEHOLDER, PLACEHOLDER
from tests.gui import test_station_modes as modes
from tests.gui import test_station_window as window_tests
from tests.gui.test_station_window import WAIT_MS
from tests.gui.test_station_worker import InTestSession, make_view
from tests.gui.test_wedge_filter import HUMAN_GAP, Keyboard
from tests.support.scenarios import WIDGET_GTIN

pytestmark = pytest.mark.qt_log_level_fail("WARNING")

open_station = modes.open_station
"""The window over the real session, from the every-mode tests."""
make_window = window_tests.make_window
"""The window over an in-test session, from the window tests."""


def typed(keyboard: Keyboard, text: str) -> None:
    """`text` typed by a person: a key every HUMAN_GAP ms, after a pause (never a scan)."""
    keyboard.pause(HUMAN_GAP)
    keyboard.type(text, gaps=[HUMAN_GAP])


def focus_manual_line(window: StationWindow) -> QLineEdit:
    line = window.manual.line
    line.setFocus()
    assert QApplication.focusWidget() is line
    return line


def shown_texts(window: StationWindow) -> list[str]:
    """Every text in the window, on its hidden screens too: labels (banner, prompt, context,
    status, keypad display), buttons, lines with their placeholders, the last scans, the tiles."""
    texts = [window.windowTitle()]
    for widget in window.findChildren(QWidget):
        if isinstance(widget, QLabel | QAbstractButton):
            texts.append(widget.text())
        elif isinstance(widget, QLineEdit):
            texts += [widget.text(), widget.placeholderText()]
        elif isinstance(widget, QTableWidget):
            cells = (widget.item(r, c) for r in range(widget.rowCount()) for c in range(3))
            texts += [cell.text() for cell in cells if cell is not None]
        elif isinstance(widget, QListWidget):
            texts += [widget.item(row).text() for row in range(widget.count())]
    return texts


def in_log(pin: str, log_text: str) -> bool:
    """Whether the PIN stands in the log as a token of its own: a leaked PIN (a scan, an
    argument, a message) stands apart from letters and digits, while transaction ids, timestamps
    and PIN hashes (in SQL, should the database layer log it) may contain its digits by chance."""
    return re.search(rf"(?<![0-9A-Za-z]){pin}(?![0-9A-Za-z])", log_text) is not None


def showing(label: QLabel, text: str) -> Callable[[], bool]:
    return lambda: label.text() == text


def type_pin(
    station: modes.Station, keypad_display: QLabel, line: QLineEdit, digits: str, shown: int
) -> None:
    """Type `digits` one by one; after each the keypad shows one more dot (from `shown`) and
    the manual line, focused all along, shows nothing."""
    for digit in digits:
        typed(station.keyboard, digit)
        shown += 1
        station.qtbot.waitUntil(showing(keypad_display, MASK * shown), timeout=WAIT_MS)
        assert line.text() == ""
        assert QApplication.focusWidget() is line


def test_a_pin_typed_with_the_manual_line_focused_goes_masked_to_the_keypad(
    open_station: Callable[[], modes.Station], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    station = open_station()
    window = station.window
    line = focus_manual_line(window)

    # A badge that will not scan, typed into the manual line: the session asks for the PIN.
    with station.qtbot.waitSignal(
        window.viewShown, timeout=WAIT_MS, check_params_cb=lambda v: v.entry is Entry.PIN
    ) as asked:
        typed(station.keyboard, "S1\r")
    badge: StationView = asked.args[0]
    assert (badge.scans[0].text, badge.scans[0].source) == ("S1", "manual")
    keypad = window.login.keypad
    assert window.current_screen() is window.login and keypad.isVisible()
    assert line.isReadOnly() and line.placeholderText() == PIN_PLACEHOLDER
    assert not window.manual.send.isEnabled()

    # The PIN, typed on with the manual line still focused: dots on the keypad, nothing in the line.
    type_pin(station, keypad.display, line, "123456", shown=0)
    with station.qtbot.waitSignal(
        window.viewShown, timeout=WAIT_MS, check_params_cb=lambda v: v.operator is not None
    ) as signed_in:
        typed(station.keyboard, "\r")
    view: StationView = signed_in.args[0]
    assert view.operator is not None and view.operator.badge == "S1", view.feedback
    assert view.feedback is not None and view.feedback.level is Level.OK, view.feedback
    assert window.banner.text() == view.feedback.text
    screen = window.current_screen()
    assert isinstance(screen, ModeScreen) and screen.mode is view.mode
    # The PIN's row in the last scans is its mask; the keypad forgot it.
    assert (view.scans[0].text, view.scans[0].meaning) == ("(PIN)", "PIN")
    shown_row = screen.scans.item(0, 0)
    assert shown_row is not None and shown_row.text() == "(PIN)"
    assert keypad.display.text() == ""
    assert [text for text in shown_texts(window) if "123456" in text] == []
    assert not in_log("123456", caplog.text)

    # Signed in, the line takes typing again, and kept the focus.
    assert not line.isReadOnly() and line.placeholderText() == PLACEHOLDER
    assert window.manual.send.isEnabled()
    typed(station.keyboard, "A-01")
    station.qtbot.waitUntil(lambda: line.text() == "A-01", timeout=WAIT_MS)


@pytest.mark.parametrize(
    "db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_at_a_logout_approval_a_badge_scan_is_a_scan_and_the_typed_pin_stays_masked(
    open_station: Callable[[], modes.Station], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    station = open_station()
    window = station.window
    station.log_in("D1", "receive")
    station.outage.cut.set()  # a receipt stays queued, so logging out needs a supervisor
    assert station.scan(WIDGET_GTIN).scans[0].state is ScanState.QUEUED
    assert "approve" in station.scan("@CMD:LOGOUT").prompt
    line = focus_manual_line(window)
    first = station.scan("S1")
    assert first.entry is Entry.PIN, first.prompt

    # A badge scanned while the PIN is asked is still a scan: another supervisor approves.
    second = station.scan("S2")
    assert second.entry is Entry.PIN
    assert second.prompt == "Supervisor S2: enter your PIN on the keypad."
    keypad = window.screens[StationMode.RECEIVE].keypad
    assert window.current_screen() is window.screens[StationMode.RECEIVE]
    assert keypad.isVisible() and line.text() == "" and line.isReadOnly()

    # Typed with the manual line focused, a slip corrected with Backspace.
    type_pin(station, keypad.display, line, "5679", shown=0)
    station.keyboard.pause(HUMAN_GAP)
    station.keyboard.tap(Qt.Key.Key_Backspace, "\x08")
    station.qtbot.waitUntil(showing(keypad.display, MASK * 3), timeout=WAIT_MS)
    type_pin(station, keypad.display, line, "890", shown=3)
    with station.qtbot.waitSignal(
        window.viewShown, timeout=WAIT_MS, check_params_cb=lambda v: v.input_seq > 0
    ) as answered:
        typed(station.keyboard, "\r")
    view: StationView = answered.args[0]
    assert view.operator is None, view.feedback  # approved: logged out
    assert window.current_screen() is window.login
    assert view.feedback is not None and "S2" in view.feedback.text, view.feedback
    assert view.scans == ()  # logged out: nothing of the last operator's work stays on screen
    assert [text for text in shown_texts(window) if "567890" in text] == []
    assert not in_log("567890", caplog.text)
    assert not line.isReadOnly() and line.text() == ""


class PinInItsError(InTestSession):
    """A session asking for a PIN, with a planted bug: checking the PIN fails with the PIN in
    the error's message."""

    def view(self) -> StationView:
        return make_view(operator=None, mode=None, prompt="Enter your PIN", entry=Entry.PIN)

    def handle_entry(self, text: str) -> StationView:
        self.calls.append(("entry", text))
        raise ValueError(f"PIN {text} could not be checked")


def test_a_session_failing_on_a_pin_shows_and_logs_the_failure_with_the_pin_masked(
    qtbot: QtBot, make_window: window_tests.MakeWindow, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    session = PinInItsError()
    window = make_window(session)
    line = focus_manual_line(window)
    assert line.isReadOnly()
    typed(Keyboard(window), "4321\r")
    qtbot.waitUntil(lambda: "could not be checked" in window.banner.text(), timeout=WAIT_MS)
    assert session.of("entry") == ["4321"]  # the PIN went to the session as a keypad entry
    assert window.banner.level is Level.ERROR
    assert "PIN **** could not be checked" in window.banner.text()
    assert [text for text in shown_texts(window) if "4321" in text] == []
    assert "PIN **** could not be checked" in caplog.text  # logged, with its traceback ...
    assert "Traceback" in caplog.text
    assert "4321" not in caplog.text  # ... masked
    assert line.text() == ""
