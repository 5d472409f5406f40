"""The whole station window, started: its worker on a real QThread with an in-test session, the
wedge filter on the application fed real key events at scanner speed, keyboard shortcuts, an
RFID reader on a pseudo-terminal and a camera reading an image folder. Each input must reach the
session exactly once, on the worker's thread, and the answer must come back on screen."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.adapters.camera.capture import CameraSettings
from app.adapters.rfid import ReaderProtocol, ReaderSettings
from app.domain.interpret import CommandName, StationMode
from app.domain.scan import Source
from app.services.station_view import StationView
from app.ui.screens import SHORTCUTS
from app.ui.station_window import StationWindow
from tests.gui.test_station_screens import RecordingSoundPlayer
from tests.gui.test_station_worker import Factory, InTestSession, make_view
from tests.gui.test_wedge_filter import Keyboard
from tests.support.camera_frames import QR_TEXT, code, frame, write_folder
from tests.support.serial_pty import Pty

pytestmark = pytest.mark.qt_log_level_fail("WARNING")

WAIT_MS = 10_000
"""A hang guard for work on other threads, not a speed limit."""
SETTLE_MS = 150
"""Long enough for a duplicate to have arrived, were there one (several wedge gap thresholds)."""
EPCS = ("3074257BF7194E4000001A85", "E28011700000020A1B2C3D4E", "E28011700000020A1B2C3D4F")

MakeWindow = Callable[..., StationWindow]


@pytest.fixture
def make_window(qtbot: QtBot, qapp: QApplication) -> Iterator[MakeWindow]:
    """Shown, active and started windows; every thread they started has ended after the test."""
    windows: list[StationWindow] = []

    def make(session: InTestSession, **options: Any) -> StationWindow:
        window = StationWindow(Factory(session), sounds=RecordingSoundPlayer(), **options)
        qtbot.addWidget(window)
        windows.append(window)
        window.resize(1024, 768)
        window.show()
        qtbot.waitExposed(window)
        window.activateWindow()
        qtbot.waitActive(window)
        with qtbot.waitSignal(window.viewShown, timeout=WAIT_MS):
            window.start()
        return window

    yield make
    for window in windows:
        assert window.shutdown(), "a thread of the station window did not end"
        assert not window.worker.running


def wait_view(qtbot: QtBot, window: StationWindow, prompt: str) -> StationView:
    """The view whose prompt starts with `prompt`, once it is on screen."""
    with qtbot.waitSignal(
        window.viewShown, timeout=WAIT_MS, check_params_cb=lambda v: v.prompt.startswith(prompt)
    ) as blocker:
        pass
    view: StationView = blocker.args[0]
    return view


def test_a_wedge_scan_reaches_the_session_exactly_once_and_its_answer_is_shown(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    session = InTestSession()
    window = make_window(session)
    with qtbot.waitSignal(
        window.viewShown, timeout=WAIT_MS, check_params_cb=lambda v: v.prompt == "scan 1"
    ):
        Keyboard(window).type("]C1" + "0109506000134352" + "10LOT42" + "\r")
    qtbot.wait(SETTLE_MS)
    [scan] = session.of("scan")
    assert (scan.text, scan.source, scan.symbology) == (
        "]C10109506000134352" + "10LOT42",
        Source.WEDGE,
        "]C1",
    )
    assert threading.get_ident() not in session.threads
    assert window.screens[StationMode.RECEIVE].prompt.text() == "scan 1"
    assert window.banner.text() == "scan done"


@pytest.mark.parametrize("key", list(SHORTCUTS))
def test_each_shortcut_sends_its_command(qtbot: QtBot, make_window: MakeWindow, key: str) -> None:
    session = InTestSession()
    window = make_window(session)
    with qtbot.waitSignal(window.viewShown, timeout=WAIT_MS):
        QTest.keySequence(window, QKeySequence(key))
    assert session.of("command") == [SHORTCUTS[key]]


def test_the_function_keys_follow_the_order_of_the_modes() -> None:
    keys = [f"F{n}" for n in range(1, 7)] + ["F11"]
    modes = [SHORTCUTS[key] for key in keys]
    assert modes == [(CommandName.MODE, mode.value) for mode in StationMode]
    assert SHORTCUTS["Esc"] == (CommandName.CANCEL, None)
    assert SHORTCUTS["F9"] == (CommandName.DONE, None)
    assert SHORTCUTS["F8"] == (CommandName.SHORT, None)
    assert SHORTCUTS["F7"] == (CommandName.SKIP, None)
    assert SHORTCUTS["F10"] == (CommandName.CONFIRM, None)
    assert SHORTCUTS["F12"] == (CommandName.LOGOUT, None)


def test_taps_on_buttons_keypad_and_choices_reach_the_session(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    session = InTestSession()
    window = make_window(session)
    screen = window.screens[StationMode.RECEIVE]
    QTest.mouseClick(screen.action_buttons[CommandName.DAMAGED], Qt.MouseButton.LeftButton)
    wait_view(qtbot, window, "command")
    QTest.mouseClick(screen.keypad_toggle, Qt.MouseButton.LeftButton)
    for key in ("1", "2", "enter"):
        screen.keypad.press(key)
    wait_view(qtbot, window, "entry")
    window.worker.viewReady.emit(make_view(choices=("ASN-0001", "ASN-0002")))  # hand-made
    screen.choices.choose("ASN-0001")
    wait_view(qtbot, window, "scan")
    assert session.of("command") == [(CommandName.DAMAGED, None)]
    assert session.of("entry") == ["12"]
    [choice] = session.of("scan")
    assert (choice.text, choice.source, choice.device) == ("ASN-0001", Source.MANUAL, "screen")


def test_a_failing_session_shows_a_red_banner_and_the_station_goes_on(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    session = InTestSession(fail_on="BOOM1")
    window = make_window(session)
    keyboard = Keyboard(window)
    keyboard.type("BOOM1\r")
    qtbot.waitUntil(lambda: "not recorded" in window.banner.text(), timeout=WAIT_MS)
    assert "server closed the connection" in window.banner.text()
    assert window.isVisible()
    keyboard.pause()
    with qtbot.waitSignal(window.viewShown, timeout=WAIT_MS):
        keyboard.type("ITEM42\r")
    assert [s.text for s in session.of("scan")] == ["BOOM1", "ITEM42"]


def test_an_rfid_burst_reaches_the_session_as_one_call(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    pty = Pty()
    try:
        session = InTestSession()
        window = make_window(session, rfid=ReaderSettings(pty.path, ReaderProtocol.ASCII))
        qtbot.waitUntil(lambda: window.status.rfid.text() == "RFID: connected", timeout=WAIT_MS)
        with qtbot.waitSignal(window.viewShown, timeout=WAIT_MS):
            pty.write(b"".join(epc.encode() + b"\r\n" for epc in EPCS))
        [tags] = session.of("tags")
        assert [tag.epc for tag in tags] == list(EPCS)
        assert tags[0].gtin == "80614141123458" and tags[0].serial == "6789"  # decoded SGTIN-96
        assert window.shutdown()
    finally:
        pty.close()
    qtbot.waitUntil(lambda: window.status.rfid.text() == "RFID: stopped", timeout=WAIT_MS)


def test_a_camera_read_reaches_the_session_once_and_the_preview_shows_on_demand(
    qtbot: QtBot, make_window: MakeWindow, tmp_path: Path
) -> None:
    """A code that stays in view is one scan; the preview panel is folded away until asked for."""
    folder = write_folder(tmp_path, [frame(320, 240, paste=code(QR_TEXT, "qr", 4))] * 3)
    session = InTestSession()
    settings = CameraSettings(str(folder), fps=20, replay=True)
    window = make_window(session, camera=settings)
    preview, toggle = window.preview, window.camera_toggle
    assert preview is not None and toggle is not None
    assert not preview.isVisible()
    # The camera may read its code before a signal wait could start: wait for what is shown.
    receive = window.screens[StationMode.RECEIVE]
    qtbot.waitUntil(lambda: receive.prompt.text().startswith("scan"), timeout=WAIT_MS)
    assert window.status.camera.text() == f"Camera: reading image folder {folder}"
    QTest.mouseClick(toggle, Qt.MouseButton.LeftButton)
    assert preview.isVisible()
    with qtbot.waitSignal(preview.frame_shown, timeout=WAIT_MS):
        pass
    frames = preview.shown
    qtbot.waitUntil(lambda: preview.shown >= frames + 6, timeout=WAIT_MS)  # replayed twice over
    assert [(s.text, s.source) for s in session.of("scan")] == [(QR_TEXT, Source.CAMERA)]


def test_closing_the_window_ends_its_threads_and_releases_the_keyboard(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    pty = Pty()
    try:
        session = InTestSession()
        window = make_window(session, rfid=ReaderSettings(pty.path, ReaderProtocol.ASCII))
        window.close()
        assert not window.worker.running
        assert session.closed_on is not None
        assert window._rfid is not None and not window._rfid.running
    finally:
        pty.close()
    probe = StationWindow(Factory(InTestSession()), sounds=RecordingSoundPlayer())
    qtbot.addWidget(probe)
    probe.show()
    qtbot.waitExposed(probe)
    scans: list[Any] = []
    window.wedge.scanned.connect(scans.append)
    Keyboard(probe).type("ITEM42\r")
    qtbot.wait(SETTLE_MS)
    assert scans == []  # the closed window's wedge filter no longer watches the keyboard


def test_a_typed_code_reaches_the_session_as_a_manual_scan(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    session = InTestSession()
    window = make_window(session)
    window.manual.line.setText("A-01-02")
    with qtbot.waitSignal(window.viewShown, timeout=WAIT_MS):
        window.manual.line.returnPressed.emit()
    scans = [s for s in session.of("scan") if s.text == "A-01-02"]
    assert len(scans) == 1 and scans[0].source is Source.MANUAL
    assert window.manual.line.text() == ""
