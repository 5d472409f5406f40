"""The station window drawing hand-made StationViews (the worker not started): what a worker at
the station would see and hear, and what each tap sends."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel, QWidget
from pytestqt.qtbot import QtBot

from app.domain.interpret import CommandName, StationMode
from app.domain.model import Operator, Role
from app.domain.workflow import MODES_BY_ROLE, Entry, Feedback, Level
from app.services.station_view import ScanRow, ScanState, StationView
from app.ui.screens import MODE_SCREENS, ModeScreen
from app.ui.station_window import StationWindow
from app.ui.widgets.feedback import BANNER_COLOURS
from app.ui.widgets.keypad import MASK
from app.ui.widgets.recent_scans import STATE_COLOURS
from app.ui.widgets.theme import WARNING_AMBER
from tests.gui.test_station_worker import InTestSession, make_view

pytestmark = pytest.mark.qt_log_level_fail("WARNING")

C = CommandName
HOSTILE = "<b>x</b>\u202e"
SUE = Operator(5, "S001", "Sue Supervisor", Role.SUPERVISOR)
EXPECTED_COMMANDS = {
    StationMode.RECEIVE: {C.DAMAGED, C.CONFIRM, C.DONE, C.CANCEL},
    StationMode.PUTAWAY: {C.CONFIRM, C.CANCEL},
    StationMode.PICK: {C.SHORT, C.SKIP, C.DONE, C.CANCEL},
    StationMode.COUNT: {C.DONE, C.UNDO, C.CANCEL},
    StationMode.TRANSFER: {C.DONE, C.CANCEL},
    StationMode.RETURN: {C.DAMAGED, C.DONE, C.CANCEL},
    StationMode.SHIP: {C.CONFIRM, C.CANCELORDER, C.CANCEL},
}


@dataclass
class RecordingSoundPlayer:
    """The window's sound player in tests: records the levels it was asked to play."""

    played: list[Level] = field(default_factory=list)

    def play(self, level: Level) -> None:
        self.played.append(level)


@dataclass
class Station:
    window: StationWindow
    sounds: RecordingSoundPlayer
    qtbot: QtBot

    def show(self, view: StationView) -> None:
        """Through the real signal: the worker's viewReady into the window's slot."""
        self.window.worker.viewReady.emit(view)

    def screen(self) -> QWidget:
        return self.window.current_screen()

    def mode_screen(self, mode: StationMode) -> ModeScreen:
        return self.window.screens[mode]


@pytest.fixture
def station(qtbot: QtBot) -> Station:
    sounds = RecordingSoundPlayer()
    window = StationWindow(InTestSession, title="Perpetua test", sounds=sounds)
    qtbot.addWidget(window)
    window.resize(1024, 768)
    window.show()
    qtbot.waitExposed(window)
    return Station(window, sounds, qtbot)


def colour_at(widget: QWidget, point: QPoint | None = None) -> QColor:
    """The colour on screen a few pixels inside the widget's corner (or at `point`)."""
    return widget.grab().toImage().pixelColor(point or QPoint(4, 4))


def signed_out(**changes: Any) -> StationView:
    return make_view(operator=None, mode=None, modes=(), **changes)


def row(state: ScanState, text: str = "09506000134352", meaning: str = "item SKU-1") -> ScanRow:
    return ScanRow(1, text, "wedge", meaning, state, datetime.now(UTC), (uuid.uuid4(),))


# --- sign-in ------------------------------------------------------------------------------------


def test_signed_out_the_login_screen_asks_for_a_badge_without_a_keypad(station: Station) -> None:
    station.show(signed_out(prompt="Scan your badge to sign in"))
    login = station.window.login
    assert station.screen() is login
    assert login.prompt.isVisible() and login.prompt.text() == "Scan your badge to sign in"
    assert not login.keypad.isVisible()
    assert station.window.status.operator.text() == "nobody signed in"


def test_a_pin_request_shows_a_keypad_that_masks_the_digits(station: Station) -> None:
    station.show(signed_out(prompt="Supervisor: enter your PIN", entry=Entry.PIN))
    keypad = station.window.login.keypad
    assert keypad.isVisible()
    for key in "123456":
        keypad.press(key)
    assert keypad.display.text() == MASK * 6
    assert not any(digit in keypad.display.text() for digit in "0123456789")
    with station.qtbot.waitSignal(station.window.login.entrySubmitted) as sent:
        keypad.press("enter")
    assert sent.args == ["123456"]
    assert keypad.display.text() == ""  # the PIN does not stay on screen


def test_backspace_and_clear_correct_what_was_keyed(station: Station) -> None:
    station.show(make_view(entry=Entry.QUANTITY, prompt="How many?"))
    keypad = station.mode_screen(StationMode.RECEIVE).keypad
    assert keypad.isVisible()
    for key in ("1", "2", "backspace", "4", "0"):
        keypad.press(key)
    assert keypad.display.text() == "140"  # a quantity is shown as keyed
    keypad.press("clear")
    keypad.press("7")
    with station.qtbot.waitSignal(keypad.entered) as sent:
        keypad.press("enter")
    assert sent.args == ["7"]


# --- the mode screens ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", list(StationMode))
def test_each_mode_has_its_screen_with_its_commands(station: Station, mode: StationMode) -> None:
    prompt = f"Working in {mode.value}: scan something"
    station.show(make_view(operator=SUE, mode=mode, modes=tuple(StationMode), prompt=prompt))
    screen = station.screen()
    assert isinstance(screen, ModeScreen) and screen.mode is mode
    assert screen.title.text() == mode.value.capitalize()
    assert screen.prompt.text() == prompt
    shown = {name for name, b in screen.action_buttons.items() if b.isVisible()}
    assert shown == EXPECTED_COMMANDS[mode] | {C.LOGOUT}
    switches = {m for m, b in screen.mode_buttons.items() if b.isVisible()}
    assert switches == set(StationMode) - {mode}
    assert not screen.keypad.isVisible()


def test_mode_buttons_offer_only_the_operators_modes(station: Station) -> None:
    picker = Operator(2, "P001", "Pat Picker", Role.PICKER)
    station.show(
        make_view(operator=picker, mode=StationMode.PICK, modes=MODES_BY_ROLE[Role.PICKER])
    )
    screen = station.mode_screen(StationMode.PICK)
    switches = {m for m, b in screen.mode_buttons.items() if b.isVisible()}
    assert switches == {StationMode.TRANSFER}


def test_signed_in_without_a_mode_shows_the_mode_buttons(station: Station) -> None:
    station.show(make_view(mode=None, prompt="Choose a mode"))
    assert station.screen() is station.window.menu
    switches = {m for m, b in station.window.menu.mode_buttons.items() if b.isVisible()}
    assert switches == set(MODES_BY_ROLE[Role.DOCK])


@pytest.mark.parametrize("screen_class", MODE_SCREENS, ids=lambda c: c.__name__)
def test_every_button_sends_its_command(station: Station, screen_class: type[ModeScreen]) -> None:
    mode = screen_class.mode
    assert mode is not None
    station.show(make_view(operator=SUE, mode=mode, modes=tuple(StationMode)))
    screen = station.mode_screen(mode)
    sent: list[tuple[Any, Any]] = []
    screen.commandRequested.connect(lambda name, arg: sent.append((name, arg)))
    for button in screen.action_buttons.values():
        QTest.mouseClick(button, Qt.MouseButton.LeftButton)
    for other in screen.mode_buttons.values():
        if other.isVisible():
            QTest.mouseClick(other, Qt.MouseButton.LeftButton)
    expected: list[tuple[CommandName, str | None]] = [
        (name, None) for name in (*screen_class.commands, C.LOGOUT)
    ]
    expected += [(C.MODE, m.value) for m in StationMode if m is not mode]
    assert sorted(sent) == sorted(expected)


def test_a_tap_on_a_choice_chooses_it(station: Station) -> None:
    station.show(make_view(choices=("ASN-0001", "PO-4711"), prompt="Scan or pick a receipt"))
    choices = station.mode_screen(StationMode.RECEIVE).choices
    assert choices.isVisible()
    tile = choices.visualItemRect(choices.item(1)).center()
    with station.qtbot.waitSignal(station.mode_screen(StationMode.RECEIVE).choiceMade) as chosen:
        QTest.mouseClick(
            choices.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, tile
        )
    assert chosen.args == ["PO-4711"]
    station.show(make_view(choices=()))
    assert not choices.isVisible()


def keypad_state(screen: ModeScreen) -> tuple[bool, Entry | None]:
    return screen.keypad.isVisible(), screen.keypad.entry


def test_the_keypad_toggle_brings_up_a_quantity_keypad(station: Station) -> None:
    station.show(make_view())
    screen = station.mode_screen(StationMode.RECEIVE)
    assert keypad_state(screen) == (False, None)
    QTest.mouseClick(screen.keypad_toggle, Qt.MouseButton.LeftButton)
    assert keypad_state(screen) == (True, Entry.QUANTITY)
    station.show(make_view(prompt="next"))
    assert keypad_state(screen) == (True, Entry.QUANTITY)  # stays until toggled off
    QTest.mouseClick(screen.keypad_toggle, Qt.MouseButton.LeftButton)
    assert keypad_state(screen) == (False, None)
    station.show(make_view(entry=Entry.PIN))
    assert keypad_state(screen) == (True, Entry.PIN)  # the toggle cannot hide a PIN request


# --- feedback: banner, sound, fonts -------------------------------------------------------------


@pytest.mark.parametrize("level", list(Level))
def test_the_banner_shows_the_outcome_in_its_colour_and_the_sound_plays(
    station: Station, level: Level
) -> None:
    view = make_view(feedback=Feedback(level, f"outcome {level.value}"), input_seq=7)
    with station.qtbot.waitSignal(station.window.banner.painted) as painted:
        station.show(view)
    assert painted.args == [7]
    banner = station.window.banner
    assert banner.text() == f"outcome {level.value}"
    assert colour_at(banner) == BANNER_COLOURS[level][0]
    assert station.sounds.played == [level]


def test_a_view_without_feedback_keeps_the_banner_and_plays_nothing(station: Station) -> None:
    station.show(make_view(feedback=Feedback(Level.ERROR, "Wrong bin: scan B-01")))
    with station.qtbot.waitSignal(station.window.banner.painted) as painted:
        station.show(make_view(feedback=None, input_seq=0))  # a drain
    assert painted.args == [0]
    assert station.window.banner.text() == "Wrong bin: scan B-01"
    assert colour_at(station.window.banner) == BANNER_COLOURS[Level.ERROR][0]
    assert station.sounds.played == [Level.ERROR]


def test_type_is_big_enough_to_read_at_arms_length(station: Station) -> None:
    station.show(make_view(feedback=Feedback(Level.OK, "ok")))
    screen = station.mode_screen(StationMode.RECEIVE)
    assert screen.prompt.font().pointSize() >= 28
    assert station.window.banner.font().pointSize() >= 22
    assert min(b.height() for b in screen.action_buttons.values()) >= 60


def test_a_worker_failure_shows_a_red_banner_and_the_window_stays(station: Station) -> None:
    station.show(make_view(feedback=Feedback(Level.OK, "Received 1")))
    with station.qtbot.waitSignal(station.window.banner.painted):
        station.window.worker.failed.emit("OperationalError: database is locked")
        station.window.banner.update()
    banner = station.window.banner
    assert "database is locked" in banner.text() and "not recorded" in banner.text()
    assert colour_at(banner) == BANNER_COLOURS[Level.ERROR][0]
    assert station.sounds.played == [Level.OK, Level.ERROR]
    assert station.window.isVisible()


# --- status strip and recent scans --------------------------------------------------------------


def test_queue_depth_and_database_state_are_shown_and_highlighted(station: Station) -> None:
    status = station.window.status
    station.show(make_view(queue_depth=3, database="unreachable: connection refused"))
    assert status.queue.text() == "Queue: 3 waiting" and status.queue_highlighted
    assert colour_at(status.queue) == WARNING_AMBER
    assert status.database.text() == "Database: unreachable: connection refused"
    assert status.database_highlighted
    station.show(make_view(queue_depth=0))
    assert status.queue.text() == "Queue: 0" and not status.queue_highlighted
    assert colour_at(status.queue) != WARNING_AMBER
    assert status.database.text() == "Database: connected" and not status.database_highlighted
    assert status.rfid.isHidden() and status.camera.isHidden()  # none configured: not shown
    status.set_rfid_status("connected")
    assert not status.rfid.isHidden() and status.rfid.text() == "RFID: connected"


def test_recent_scans_are_coloured_by_their_fate(station: Station) -> None:
    states = list(ScanState)
    station.show(make_view(scans=tuple(row(state) for state in states)))
    table = station.mode_screen(StationMode.RECEIVE).scans
    assert table.rowCount() == len(states)
    for r, state in enumerate(states):
        assert table.state_of(r) == state.value
        item = table.item(r, 1)
        assert item is not None
        colours = STATE_COLOURS[state]
        if colours is None:
            assert item.background().style() == Qt.BrushStyle.NoBrush  # accepted: plain
        else:
            assert item.background().color() == colours[0]
    grey, green, red = (
        STATE_COLOURS[s] for s in (ScanState.QUEUED, ScanState.CONFIRMED, ScanState.REFUSED)
    )
    assert grey and green and red and len({grey[0].name(), green[0].name(), red[0].name()}) == 3
    rejected = STATE_COLOURS[ScanState.REJECTED]
    assert rejected is not None and rejected[0] == red[0]


def test_hostile_scanned_text_is_shown_literally(station: Station) -> None:
    view = make_view(
        prompt=f"Prompt {HOSTILE}",
        lines=(f"Line {HOSTILE}",),
        feedback=Feedback(Level.ERROR, f"Refused {HOSTILE}"),
        scans=(row(ScanState.REFUSED, text=HOSTILE, meaning=f"meaning {HOSTILE}"),),
        choices=(HOSTILE,),
    )
    station.show(view)
    screen = station.mode_screen(StationMode.RECEIVE)
    labels: list[QLabel] = [station.window.banner, screen.prompt, screen.lines]
    for label in labels:
        assert label.textFormat() == Qt.TextFormat.PlainText
        assert HOSTILE in label.text()  # the tags are there to read, not applied
    scanned = screen.scans.item(0, 0)
    assert scanned is not None and scanned.text() == "<b>x</b>\\u202e"  # the override escaped
    assert screen.choices.item(0).text() == HOSTILE
    # Rendered as rich text, the label would show a bold "x" only: far narrower than the tags.
    rich = QLabel("<b>x</b>")
    plain = screen.prompt.fontMetrics().horizontalAdvance("Prompt <b>x</b>")
    assert screen.prompt.sizeHint().width() >= plain > rich.sizeHint().width()
