"""Starting the station program: the QApplication, the window, the event loop."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication

from app.adapters.rfid import ReaderSettings
from app.ui.station_window import StationWindow
from app.ui.station_worker import SessionFactory


def run_station(
    session_factory: SessionFactory,
    *,
    rfid: ReaderSettings | None,
    camera: str | None,
    title: str,
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
    window = StationWindow(session_factory, title=title, rfid=rfid, camera=settings)
    app.aboutToQuit.connect(window.shutdown)
    window.start()
    window.showMaximized()
    status = app.exec()
    window.shutdown()
    return status
