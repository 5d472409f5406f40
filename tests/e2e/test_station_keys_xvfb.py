"""The station window as `perpetua station` opens it (`run_station`), on an X server with no
window manager, as a kiosk runs it; keys typed by xdotool through XTEST, right after the worker's
tick has put a new view on screen (as when the database link goes down or comes back).

What the wedge filter gives up as typing goes to the window's focus widget: a person's keys, and
a burst that a pause longer than the gap threshold broke (a loaded machine can delay a simulated
scanner that much). A window that no window manager activated had no focus widget, so those keys
vanished without a trace (the first characters of a scan, or a whole scan whose Enter came late),
and no keyboard shortcut fired. Every key must reach the station.

Run as a program (`python -m tests.e2e.test_station_keys_xvfb`) this module is the station: the
real `run_station` with an in-test session. Pause (a key the station does not use) makes it
print what reached the session and what is left in the typing line, as JSON, and quit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.test_wedge_xvfb import ROOT, need, read_line, timeline, xdotool
from tests.support import xvfb
from tests.support.xvfb import HANG_GUARD_S

TITLE = "Perpetua station keys e2e"
LINK_NEWS = "The database is out of reach."
"""The prompt of the view the worker's drain tick brings, standing in for a link change."""
SENTINEL = "end of the keys"
PAUSE_S = 0.25
"""Between steps: far longer than the wedge's gap threshold, so a step's first key starts a burst
and a key typed in a step of its own comes after a pause."""
SIZE = ("1000", "740")
"""The window's size on the 1024x768 screen: no window manager maximizes it."""

_NAMES = {"@": "at", ":": "colon", "-": "minus"}


def keysyms(text: str) -> list[str]:
    """X key names for `xdotool key`: letters and digits are their own names."""
    return [_NAMES.get(char, char) for char in text]


@pytest.fixture
def display() -> Iterator[str]:
    """A fresh Xvfb with no window manager; killed afterwards."""
    try:
        with xvfb.xvfb_display("1024x768x24") as number:
            yield number
    except xvfb.XvfbError as problem:
        pytest.fail(str(problem))


def run_station(display: str, steps: list[list[str]]) -> dict[str, Any]:
    """Start the station on `display`, place it as a kiosk's start script would, run each
    xdotool step after a pause, press Pause and return what the station reports."""
    need("xdotool")
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
    station = subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.test_station_keys_xvfb"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        if read_line(station.stdout, "station window on the X display").strip() != "READY":
            station.kill()
            _, errors = station.communicate()
            pytest.fail(f"the station did not come up on {display}:\n{errors}")
        xdotool(display, "search", "--name", TITLE, "windowmove", "0", "0", "windowsize", *SIZE)
        xdotool(display, "mousemove", "500", "400")  # over the window, as a hand left it
        for step in [*steps, ["key", "Pause"]]:
            time.sleep(PAUSE_S)
            xdotool(display, *step)
        output, errors = station.communicate(timeout=HANG_GUARD_S)
    finally:
        if station.poll() is None:
            station.kill()
            station.communicate()
    assert station.returncode == 0, errors
    got: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return got


@pytest.mark.xdist_group("heavy")
def test_every_key_reaches_a_station_no_window_manager_activated(display: str) -> None:
    """Typed keys reach the typing line and shortcuts fire, so no key of a burst given up as
    typing is lost: it is in the line, or the line was sent as a typed scan."""
    got = run_station(
        display,
        [
            # A scanner: a whole burst is a scan.
            ["key", "--delay", "2", *keysyms("D001"), "Return"],
            # A person types a code into the line and presses Enter: a typed scan.
            ["type", "--delay", "150", "SKU-000070"],
            ["key", "Return"],
            # A scanner whose Enter came after a pause: all of it was typing, and Enter sends
            # the line.
            ["key", "--delay", "2", *keysyms("@CMD:QTY:3")],
            ["key", "Return"],
            # A shortcut.
            ["key", "F2"],
            # A burst broken by a pause: its first keys were typing and wait in the line; the
            # rest is a scan of its own.
            ["key", "--delay", "2", *keysyms("@C")],
            ["key", "--delay", "2", *keysyms("MD:QTY:5"), "Return"],
        ],
    )
    keys = got.pop("keys")  # the X server's key presses with their times, to explain a failure
    assert got == {
        "inputs": [
            ["scan", "D001", "wedge"],
            ["scan", "SKU-000070", "manual"],
            ["scan", "@CMD:QTY:3", "manual"],
            ["command", "MODE", "putaway"],
            ["scan", "MD:QTY:5", "wedge"],
        ],
        "line": "@C",
    }, timeline(keys)


def main() -> None:
    """The station under test; prints READY once the drain tick's view is on screen."""
    from PySide6.QtCore import QEvent, QObject, Qt, QTimer
    from PySide6.QtGui import QKeyEvent, QWindow
    from PySide6.QtWidgets import QApplication

    from app.domain.scan import Scan
    from app.services.station_view import StationView
    from app.ui.app import run_station as run
    from app.ui.station_window import StationWindow
    from tests.gui.test_station_worker import Factory, InTestSession

    def described(kind: str, value: Any) -> list[str | None]:
        if isinstance(value, Scan):
            return [kind, value.text, value.source.value]
        if kind == "command":
            name, arg = value
            return [kind, str(name), arg]
        return [kind, str(value)]

    class Probe(QObject):
        """Watches the window `run` made: says READY, and reports once Pause was pressed and
        the session has answered every input typed before it."""

        def __init__(self, app: QApplication, session: InTestSession) -> None:
            super().__init__()
            self.app = app
            self.session = session
            self.window: StationWindow | None = None
            self.keys: list[tuple[str, int]] = []

        def attach(self) -> None:
            (self.window,) = [w for w in self.app.topLevelWidgets() if isinstance(w, StationWindow)]
            self.window.viewShown.connect(self.on_view_shown)
            self.app.installEventFilter(self)  # installed last: sees keys first

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            """Notes each key press as the X server stamped it. Pause: every key typed before
            it has been through the wedge filter by now, as the X server queued them in order,
            and the worker answers the sentinel after every input they made."""
            if (
                self.window is None
                or not isinstance(watched, QWindow)
                or not isinstance(event, QKeyEvent)
                or event.type() != QEvent.Type.KeyPress
            ):
                return False
            if event.key() == Qt.Key.Key_Pause:
                self.window.worker.submit_entry(SENTINEL)
                return True
            self.keys.append((event.text(), event.timestamp()))
            return False

        def on_view_shown(self, view: StationView) -> None:
            calls = self.session.calls
            if view.prompt == LINK_NEWS:
                print("READY", flush=True)
            elif self.window is not None and calls and calls[-1] == ("entry", SENTINEL):
                result = {
                    "inputs": [described(kind, value) for kind, value in calls[:-1]],
                    "line": self.window.manual.line.text(),
                    "keys": self.keys,
                }
                print(json.dumps(result), flush=True)
                self.app.quit()

    app = QApplication([])
    session = InTestSession(drained=[LINK_NEWS])
    probe = Probe(app, session)
    QTimer.singleShot(0, probe.attach)  # once `run` has made the window and runs the loop
    status = run(Factory(session), rfid=None, camera=None, title=TITLE)
    app.removeEventFilter(probe)
    sys.exit(status)


if __name__ == "__main__":
    main()
