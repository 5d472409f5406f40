"""The wedge filter under a real X server: a window on Xvfb, keys typed by xdotool through the
XTEST extension, so they travel the whole way a USB scanner's keys do (X server, xcb, Qt's
window-system layer, the event filter, the focused line edit).

Run as a program (`python -m tests.e2e.test_wedge_xvfb`) this module is the window: a QLineEdit
with the wedge filter installed (and, with `--busy EVERY:FOR`, a GUI thread blocked FOR ms out of
every EVERY); on F12 it prints the scans it got and the line edit's text as JSON and quits.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.domain.scan import GS
from tests.support import xvfb
from tests.support.xvfb import FIRST_IN_LINE, HANG_GUARD_S

ROOT = Path(__file__).resolve().parents[2]
TITLE = "Perpetua wedge e2e"

PAUSE_S = 0.25
"""Between steps: a scanner's burst starts after a pause, as at a real station (and 4 steps a
second make 3 scans a second with the time each step takes)."""

GS1 = "0109506000134352" + "17261231" + "10LOT1234" + GS + "21SN12"


def need(program: str) -> str:
    """Xvfb and xdotool are system packages the Makefile installs; without them this test fails
    (it is never skipped, in CI or anywhere). xdotool stands in for a scanner, whose timing no
    load on the computer disturbs: it runs FIRST_IN_LINE, as does the X server stamping its keys."""
    try:
        return xvfb.need(program)
    except xvfb.XvfbError as problem:
        pytest.fail(str(problem))


def read_line(stream: Any, what: str) -> str:
    try:
        return xvfb.read_line(stream, what)
    except xvfb.XvfbError as problem:
        pytest.fail(str(problem))


@pytest.fixture
def display() -> Iterator[str]:
    """A fresh Xvfb on the first free display number, ready for clients; killed afterwards."""
    try:
        with xvfb.xvfb_display("1024x768x24") as number:
            yield number
    except xvfb.XvfbError as problem:
        pytest.fail(str(problem))


def timeline(keys: list[tuple[str, int]]) -> str:
    """Each key press with the ms since the one before, as the X server stamped them."""
    gaps = [0] + [b - a for (_, a), (_, b) in itertools.pairwise(keys)]
    return " ".join(f"{text!r}+{gap}" for (text, _), gap in zip(keys, gaps, strict=True))


def keysyms(text: str) -> list[str]:
    """X key names for `xdotool key`: letters and digits are their own names."""
    names = {"]": "bracketright", "<": "less", ">": "greater", " ": "space"}
    return [names.get(char, char) for char in text]


def xdotool(display: str, *args: str) -> None:
    subprocess.run(
        [*FIRST_IN_LINE, need("xdotool"), *args],
        env={**os.environ, "DISPLAY": display},
        check=True,
        timeout=HANG_GUARD_S,
        capture_output=True,
    )


def run_window(display: str, steps: list[list[str]], *options: str) -> dict[str, Any]:
    """Start the window on `display`, run each xdotool step after a short pause, press F12 and
    return what the window reports."""
    need("xdotool")
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
    window = subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.test_wedge_xvfb", *options],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        if read_line(window.stdout, "window on the X display").strip() != "READY":
            window.kill()
            _, errors = window.communicate()
            pytest.fail(f"the window did not come up on {display}:\n{errors}")
        for step in [*steps, ["key", "F12"]]:
            time.sleep(PAUSE_S)
            xdotool(display, *step)
        output, errors = window.communicate(timeout=HANG_GUARD_S)
    finally:
        if window.poll() is None:
            window.kill()
            window.communicate()
    assert window.returncode == 0, errors
    got: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return got


@pytest.mark.xdist_group("heavy")
def test_scans_are_caught_and_slow_typing_reaches_the_line_edit(display: str) -> None:
    before, after = GS1.split(GS)
    got = run_window(
        display,
        [
            # A person types into the line edit, a key every ~150 ms...
            ["type", "--delay", "300", "Bin A-01"],
            # ...a scanner types GS1-128 with its AIM identifier, a key every 2-3 ms, GS as
            # Ctrl+] (one `key` command, so that no process start-up splits the burst)...
            [
                *("key", "--delay", "2", *keysyms("]C1" + before)),
                *("ctrl+bracketright", *keysyms(after), "Return"),
            ],
            # ...the person goes on typing, and presses Enter...
            ["type", "--delay", "300", " ok"],
            ["key", "Return"],
            # ...a scanner set to send GS as <GS> and to end with Tab...
            ["type", "--delay", "2", "]d2" + GS1.replace(GS, "<GS>") + "\t"],
            # ...and a plain EAN-13 ended by Enter.
            ["key", "--delay", "2", *keysyms("4006381333931"), "Return"],
        ],
    )
    keys = got.pop("keys")  # the X server's key presses with their times, to explain a failure
    assert got == {
        "scans": [
            {"text": "]C1" + GS1, "symbology": "]C1"},
            {"text": "]d2" + GS1, "symbology": "]d2"},
            {"text": "4006381333931", "symbology": None},
        ],
        "field": "Bin A-01 ok",
        "focus": "field",  # Tab did not move focus
        "returns": 1,  # the person's Enter; none of the scanners' reached the line edit
    }, timeline(keys)


@pytest.mark.xdist_group("heavy")
def test_3_scans_a_second_while_the_gui_thread_is_busy_most_of_the_time(display: str) -> None:
    """The window's GUI thread is blocked 45 ms out of every 61 (a slow screen, a long slot):
    keys queue up behind the idle timer, and still no scan is lost, merged or split."""
    codes = [GS1[:-2] + f"{n:02d}" for n in range(10)]
    scans = []
    for code in codes:
        before, after = code.split(GS)
        presses = [*keysyms(before), "ctrl+bracketright", *keysyms(after), "Return"]
        scans.append(["key", "--delay", "2", *presses])
    got = run_window(display, scans, "--busy", "61:45")
    keys = got.pop("keys")
    assert [scan["text"] for scan in got["scans"]] == codes, timeline(keys)
    assert got["field"] == ""


def main() -> None:
    """The window under test; prints READY once it has keyboard focus."""
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut, QWindow
    from PySide6.QtWidgets import QApplication, QLineEdit, QPushButton, QVBoxLayout, QWidget

    from app.domain.scan import Scan
    from app.ui.wedge_filter import WedgeFilter

    app = QApplication([])
    if "--busy" in sys.argv:
        every_ms, busy_ms = map(int, sys.argv[sys.argv.index("--busy") + 1].split(":"))
        busy = QTimer()
        busy.timeout.connect(lambda: time.sleep(busy_ms / 1000))
        busy.start(every_ms)
    window = QWidget()
    window.setWindowTitle(TITLE)
    layout = QVBoxLayout(window)
    field = QLineEdit()
    field.setObjectName("field")
    layout.addWidget(field)
    layout.addWidget(QPushButton("Next"))  # something for a stray Tab to move focus to
    wedge = WedgeFilter()
    wedge.install(app)
    keys: list[tuple[str, int]] = []

    class KeyLog(QObject):
        """Key presses as the X server stamped them (installed last, so it sees them first)."""

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if (
                isinstance(watched, QWindow)
                and isinstance(event, QKeyEvent)
                and event.type() == QEvent.Type.KeyPress
            ):
                keys.append((event.text(), event.timestamp()))
            return False

    key_log = KeyLog()
    app.installEventFilter(key_log)
    scans: list[dict[str, str | None]] = []
    returns: list[str] = []

    def scanned(scan: Scan) -> None:
        scans.append({"text": scan.text, "symbology": scan.symbology})

    def finish() -> None:
        focus = app.focusWidget()
        result = {
            "scans": scans,
            "field": field.text(),
            "focus": focus.objectName() if focus else None,
            "returns": len(returns),
            "keys": keys,
        }
        print(json.dumps(result), flush=True)
        app.quit()

    def ready() -> None:
        if window.isActiveWindow() and app.focusWidget() is field:
            print("READY", flush=True)
        else:
            QTimer.singleShot(20, ready)

    wedge.scanned.connect(scanned)
    field.returnPressed.connect(lambda: returns.append(field.text()))
    QShortcut(QKeySequence("F12"), window).activated.connect(finish)
    window.show()
    window.activateWindow()
    field.setFocus()
    ready()
    app.exec()
    wedge.uninstall()


if __name__ == "__main__":
    main()
