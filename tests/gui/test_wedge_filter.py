"""The wedge filter in a real window: real QKeyEvents, delivered to the window the way the window
system delivers them (Qt routes them on to the focused widget), stamped with controlled times
so that 1-5 ms scanner gaps and 150 ms human gaps need no sleeping."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import cycle

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QApplication,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from pytestqt.qtbot import QtBot

from app.domain.scan import GS, Scan
from app.domain.wedge import LAYOUT_CHECK_TEXT, LayoutReport
from app.ui.wedge_filter import WedgeFilter

GS1 = "0109506000134352" + "17261231" + "10LOT1234" + GS + "21SN12"
"""A 40-character GS1 element string; the lot is variable-length, so GS must survive."""
SCANNER_GAPS = (2, 1, 3, 5, 2, 4)  # ms between a scanner's keys
HUMAN_GAP = 150
PAUSE = 500
SETTLE_MS = 120
"""Long enough (3 gap thresholds) for a wrongly held key to reach its widget."""


class Keyboard:
    """Presses keys the way the window system does: to the window, which hands them to the
    focused widget, each press and release stamped with the keyboard's clock (ms)."""

    def __init__(self, window: QWidget, post: bool = False) -> None:
        self.window = window
        self.post = post
        self.now = 1_000_000

    def type(self, text: str, gaps: Sequence[int] = SCANNER_GAPS, gs: str = "ctrl") -> None:
        """`text` at the given gaps; GS as Ctrl+] (`gs="ctrl"`) or as the character 0x1D."""
        for char, gap in zip(text, cycle(gaps), strict=False):
            if char == GS and gs == "ctrl":
                self._modified(Qt.Key.Key_Control, Qt.Key.Key_BracketRight, GS)
            elif char.isupper():
                self._modified(Qt.Key.Key_Shift, ord(char), char)
            else:
                self.tap(_KEYS.get(char, ord(char.upper())), char)
            self.now += gap

    def tap(
        self,
        key: int,
        text: str = "",
        modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier,
    ) -> None:
        self._send(QEvent.Type.KeyPress, key, text, modifiers)
        self._send(QEvent.Type.KeyRelease, key, text, modifiers)

    def pause(self, ms: int = PAUSE) -> None:
        self.now += ms

    def _modified(self, modifier_key: Qt.Key, key: int, text: str) -> None:
        modifier = (
            Qt.KeyboardModifier.ControlModifier
            if modifier_key == Qt.Key.Key_Control
            else Qt.KeyboardModifier.ShiftModifier
        )
        self._send(QEvent.Type.KeyPress, modifier_key, "", modifier)
        self.tap(key, text, modifier)
        self._send(QEvent.Type.KeyRelease, modifier_key, "", Qt.KeyboardModifier.NoModifier)

    def _send(self, kind: QEvent.Type, key: int, text: str, modifiers: Qt.KeyboardModifier) -> None:
        event = QKeyEvent(kind, key, modifiers, text)
        event.setTimestamp(self.now)
        window = self.window.windowHandle()
        if self.post:
            QApplication.postEvent(window, event)
        else:
            QApplication.sendEvent(window, event)


_KEYS = {"\r": Qt.Key.Key_Return, "\t": Qt.Key.Key_Tab, GS: 0}


@dataclass
class Station:
    window: QWidget
    wedge: WedgeFilter
    line_edit: QLineEdit
    button: QPushButton
    spin_box: QSpinBox
    plain_text: QPlainTextEdit
    keyboard: Keyboard
    scans: list[Scan] = field(default_factory=list)
    reports: list[LayoutReport] = field(default_factory=list)
    clicks: int = 0
    returns: int = 0

    def focus(self, widget: QWidget) -> None:
        widget.setFocus()
        assert QApplication.focusWidget() is widget


@pytest.fixture
def station(qtbot: QtBot, qapp: QApplication) -> Iterator[Station]:
    window = QWidget()
    qtbot.addWidget(window)
    layout = QVBoxLayout(window)
    widgets = QLineEdit(), QPushButton("Confirm"), QSpinBox(), QPlainTextEdit()
    for widget in widgets:
        layout.addWidget(widget)
    wedge = WedgeFilter()
    station = Station(window, wedge, *widgets, keyboard=Keyboard(window))
    station.button.setAutoDefault(True)  # Enter would press it, as in a dialog
    station.spin_box.setMaximum(10**9)
    wedge.scanned.connect(station.scans.append)
    wedge.layout_checked.connect(station.reports.append)

    def clicked() -> None:
        station.clicks += 1

    def returned() -> None:
        station.returns += 1

    station.button.clicked.connect(clicked)
    station.line_edit.returnPressed.connect(returned)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitActive(window)
    wedge.install(qapp)
    yield station
    wedge.uninstall()


def untouched(station: Station) -> bool:
    """Nothing of a burst reached any widget: no text, no click, no step, focus where it was."""
    return (
        station.line_edit.text() == ""
        and station.plain_text.toPlainText() == ""
        and station.spin_box.value() == 0
        and station.spin_box.text() == "0"
        and station.clicks == 0
        and station.returns == 0
        and not station.button.isDown()
    )


FOCUS = ["line_edit", "button", "spin_box", "plain_text"]


@pytest.mark.parametrize("focus", FOCUS)
@pytest.mark.parametrize("terminator", ["\r", "\t"], ids=["Enter", "Tab"])
def test_a_scan_is_caught_whatever_has_focus_and_reaches_no_widget(
    station: Station, qtbot: QtBot, focus: str, terminator: str
) -> None:
    widget = getattr(station, focus)
    station.focus(widget)
    code = "]C1" + GS1
    with qtbot.waitSignal(station.wedge.scanned) as caught:
        station.keyboard.type(code + terminator)
    [scan] = caught.args
    assert (scan.text, scan.symbology) == (code, "]C1")
    qtbot.wait(SETTLE_MS)
    assert station.scans == [scan]
    assert untouched(station)
    assert QApplication.focusWidget() is widget  # Tab did not move focus


@pytest.mark.parametrize("focus", FOCUS)
def test_a_scan_with_spaces_and_gs_as_0x1d_does_not_press_a_button(
    station: Station, qtbot: QtBot, focus: str
) -> None:
    station.focus(getattr(station, focus))
    with qtbot.waitSignal(station.wedge.scanned) as caught:
        station.keyboard.type("BIN A-01 " + GS1 + "\r", gs="char")
    assert caught.args[0].text == "BIN A-01 " + GS1
    qtbot.wait(SETTLE_MS)
    assert untouched(station)


def test_slow_typing_reaches_the_line_edit_unchanged_and_in_order(
    station: Station, qtbot: QtBot
) -> None:
    station.focus(station.line_edit)
    station.keyboard.type("Bin A-01/3 #7", gaps=[HUMAN_GAP])
    qtbot.waitUntil(lambda: station.line_edit.text() == "Bin A-01/3 #7")
    with qtbot.waitSignal(station.line_edit.returnPressed):
        station.keyboard.pause(HUMAN_GAP)
        station.keyboard.type("\r")
    assert station.scans == []
    assert station.returns == 1


def test_typing_with_fast_pairs_and_corrections_is_delivered_as_typed(
    station: Station, qtbot: QtBot
) -> None:
    station.focus(station.line_edit)
    keyboard = station.keyboard
    keyboard.type("cout", gaps=[HUMAN_GAP, 30, 25, HUMAN_GAP])  # a rolled "ou" and "ut"
    keyboard.tap(Qt.Key.Key_Backspace, "\x08")  # fixed at once, within the gap
    keyboard.pause(HUMAN_GAP)
    keyboard.type("nt 12", gaps=[20, HUMAN_GAP, 30, 30])
    qtbot.waitUntil(lambda: station.line_edit.text() == "count 12")
    assert station.scans == []


def test_typing_before_and_after_a_scan_is_kept_and_the_scan_kept_out(
    station: Station, qtbot: QtBot
) -> None:
    station.focus(station.line_edit)
    keyboard = station.keyboard
    keyboard.type("ab", gaps=[HUMAN_GAP])
    keyboard.pause()
    with qtbot.waitSignal(station.wedge.scanned) as caught:
        keyboard.type(GS1 + "\r")
    keyboard.pause()
    keyboard.type("c", gaps=[HUMAN_GAP])
    qtbot.waitUntil(lambda: station.line_edit.text() == "abc")
    assert caught.args[0].text == GS1


def test_a_short_fast_burst_is_typing(station: Station, qtbot: QtBot) -> None:
    station.focus(station.line_edit)
    with qtbot.waitSignal(station.line_edit.returnPressed):
        station.keyboard.type("ok!\r")  # 3 keys: below the minimum length of a scan
    assert station.line_edit.text() == "ok!"
    assert station.scans == []


def test_ten_40_character_gs1_scans_at_3_a_second_none_lost_merged_or_split(
    station: Station, qtbot: QtBot
) -> None:
    station.focus(station.line_edit)
    keyboard = Keyboard(station.window, post=True)  # queued, as the window system queues them
    codes = [GS1[:-2] + f"{n:02d}" for n in range(10)]
    for n, code in enumerate(codes):
        keyboard.now = 1_000_000 + n * 333
        keyboard.type(code + "\r", gs="ctrl" if n % 2 else "char")
    qtbot.waitUntil(lambda: len(station.scans) >= len(codes))
    qtbot.wait(SETTLE_MS)
    assert [scan.text for scan in station.scans] == codes
    assert station.line_edit.text() == ""


def test_held_keys_go_to_the_widget_that_had_focus_when_they_were_typed(
    station: Station, qtbot: QtBot
) -> None:
    station.focus(station.line_edit)
    station.keyboard.type("x")
    station.focus(station.plain_text)  # the program moves focus before the key is released
    qtbot.waitUntil(lambda: station.line_edit.text() == "x")
    assert station.plain_text.toPlainText() == ""


def test_a_click_right_after_typing_sees_the_typed_digits(station: Station, qtbot: QtBot) -> None:
    seen: list[int] = []
    station.button.clicked.connect(lambda: seen.append(station.spin_box.value()))
    station.focus(station.spin_box)
    station.spin_box.clear()
    station.keyboard.type("5")
    QTest.mouseClick(station.button, Qt.MouseButton.LeftButton)
    assert seen == [5]


def test_shortcuts_wait_for_typed_keys_and_never_fire_inside_a_scan(
    station: Station, qtbot: QtBot
) -> None:
    """Through Qt's window-system entry point, as real keyboards come in: ShortcutOverride first,
    then the key press, timestamps by Qt's own clock."""
    fired: list[str] = []
    save = QShortcut(QKeySequence("Ctrl+S"), station.window)
    save.activated.connect(lambda: fired.append("save:" + station.line_edit.text()))
    enter = QShortcut(QKeySequence("Return"), station.window)
    enter.activated.connect(lambda: fired.append("enter"))
    station.focus(station.line_edit)
    window = station.window.windowHandle()

    def click(
        key: int, text: str, modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier
    ) -> None:
        QTest.sendKeyEvent(QTest.KeyAction.Click, window, Qt.Key(key), text, modifiers)

    with qtbot.waitSignal(station.wedge.scanned) as caught:
        for char in "ABCD1234\r":
            click(Qt.Key.Key_Return if char == "\r" else ord(char), char)
    assert caught.args[0].text == "ABCD1234"
    assert fired == []
    click(ord("X"), "x")
    click(ord("S"), "\x13", Qt.KeyboardModifier.ControlModifier)
    assert fired == ["save:x"]
    click(Qt.Key.Key_Return, "\r")
    assert fired == ["save:x", "enter"]


def test_the_layout_check_barcode_reports_instead_of_scanning(
    station: Station, qtbot: QtBot
) -> None:
    station.focus(station.line_edit)
    with qtbot.waitSignal(station.wedge.layout_checked) as checked:
        station.keyboard.type(LAYOUT_CHECK_TEXT + "\r")
    report = checked.args[0]
    assert report.matches, report.message
    assert station.scans == []
    assert untouched(station)


def test_uninstalling_delivers_what_was_held_and_stops_filtering(
    station: Station, qtbot: QtBot, qapp: QApplication
) -> None:
    station.focus(station.line_edit)
    station.keyboard.type("ab")
    station.wedge.uninstall()
    assert station.line_edit.text() == "ab"
    station.keyboard.pause()
    station.keyboard.type("ABCD\r")
    assert station.line_edit.text() == "abABCD"
    assert station.scans == []
    station.wedge.install(qapp)
