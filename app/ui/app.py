"""Starting the station program: the QApplication, the window, the event loop."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QApplication

from app.adapters.rfid import ReaderSettings
from app.services.station_view import StationView
from app.ui.station_window import StationWindow
from app.ui.station_worker import SessionFactory
from app.ui.supervisor import Desk

STARTUP_PROBE_ENV = "PERPETUA_STARTUP_PROBE"
"""For bench/station.py, which times start -> login screen: when this names a file, the wall
time (`time.time()`, comparable across processes) at which the login screen's first view is shown
is written into it, and the program quits. Unset, as in production, it changes nothing."""


def run_station(
    session_factory: SessionFactory,
    *,
    rfid: ReaderSettings | None,
    camera: str | None,
    title: str,
    desk_factory: Callable[[], Desk] | None = None,
) -> int:
    """Open the station window full screen and run until it is closed; the exit status.

    `camera` is a camera source (a device index such as "0", /dev/video0, a video file or an
    image folder); None runs without one, as `rfid` None runs without a reader."""
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    app.setApplicationName("Perpetua")
    settings = None
    if camera is not None:
        from app.adapters.camera.capture import CameraSettings  # OpenCV loads only with a camera

        settings = CameraSettings(camera)
    window = StationWindow(
        session_factory, title=title, rfid=rfid, camera=settings, desk_factory=desk_factory
    )
    app.aboutToQuit.connect(window.shutdown)
    probe = os.environ.get(STARTUP_PROBE_ENV)
    if probe:
        _probe_startup(app, window, Path(probe))
    window.start()
    window.showMaximized()
    # A window manager activates a new window; without one (a kiosk) nothing else would. A window
    # never activated has no focus widget, so the keys it gets as typing (the wedge filter's
    # given-up bursts too) would reach no widget, and no shortcut would fire.
    window.activateWindow()
    status = app.exec()
    window.shutdown()
    return status


def _probe_startup(app: QApplication, window: StationWindow, path: Path) -> None:
    """Write the time the first login view is shown into `path`, then quit (STARTUP_PROBE_ENV)."""

    def on_view_shown(view: StationView) -> None:
        if view.operator is not None:
            return
        shown_at = time.time()
        window.viewShown.disconnect(on_view_shown)
        path.write_text(repr(shown_at), encoding="utf-8")
        app.quit()

    window.viewShown.connect(on_view_shown)
