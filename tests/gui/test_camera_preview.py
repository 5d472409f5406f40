"""The camera preview: the picture with the decoded code outlined, at most 10 frames a second."""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot

from app.adapters.camera.capture import CameraSettings, Frame, camera_loop
from app.adapters.camera.cascade import still_cascade
from app.adapters.worker import DeviceWorker
from app.domain.scan import Scan
from app.ui.camera_preview import CameraPreview
from tests.support.camera_frames import QR_TEXT, code, frame, write_folder

WIDTH, HEIGHT = 320, 240
WAIT_MS = 10_000
"""A hang guard for signals from other threads, not a speed limit."""


class Clock:
    """The preview's clock, moved by the test: frame rates without sleeping."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def qr_frame(number: int = 1) -> Frame:
    """A camera frame with a QR code in it, decoded by the real cascade."""
    image = frame(WIDTH, HEIGHT, paste=code(QR_TEXT, "qr", 4))
    return Frame(image, tuple(still_cascade().decode(image)), number)


def empty_frame(number: int = 1) -> Frame:
    return Frame(frame(WIDTH, HEIGHT), (), number)


def preview(qtbot: QtBot, **options: object) -> CameraPreview:
    widget = CameraPreview(**options)  # type: ignore[arg-type]
    qtbot.addWidget(widget)
    widget.resize(WIDTH, HEIGHT)  # the frame's size: one frame pixel per screen pixel
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def screen(widget: CameraPreview) -> QImage:
    return widget.grab().toImage()


def outline_pixels(image: QImage) -> int:
    """Pixels of the outline colour on screen."""
    colour = CameraPreview.OUTLINE.rgb()
    return sum(
        image.pixel(x, y) == colour for y in range(image.height()) for x in range(image.width())
    )


def test_the_decoded_code_is_outlined(qtbot: QtBot) -> None:
    widget = preview(qtbot)
    shown = qr_frame()
    [read] = shown.codes
    with qtbot.waitSignal(widget.frame_shown, timeout=WAIT_MS):
        widget.frame_arrived.emit(shown)
    image = screen(widget)
    (x0, y0), (x1, y1) = read.corners[0], read.corners[1]
    top_middle = image.pixelColor(round((x0 + x1) / 2), round((y0 + y1) / 2))
    assert top_middle == CameraPreview.OUTLINE
    xs, ys = zip(*read.corners, strict=True)
    centre = image.pixelColor(round(sum(xs) / 4), round(sum(ys) / 4))
    assert centre != CameraPreview.OUTLINE  # an outline, not a filled box
    corner_of_frame = image.pixelColor(3, 3)
    assert corner_of_frame.red() == corner_of_frame.green() == corner_of_frame.blue()  # the picture


def test_the_outline_goes_when_the_code_leaves_the_picture(qtbot: QtBot) -> None:
    clock = Clock()
    widget = preview(qtbot, clock=clock)
    widget.frame_arrived.emit(qr_frame(1))
    assert outline_pixels(screen(widget)) > 100
    clock.now += 0.5
    widget.frame_arrived.emit(empty_frame(2))
    assert outline_pixels(screen(widget)) == 0


def test_frames_above_ten_a_second_are_dropped(qtbot: QtBot) -> None:
    clock = Clock()
    widget = preview(qtbot, max_fps=10.0, clock=clock)
    numbers: list[int] = []
    widget.frame_shown.connect(numbers.append)
    for number in range(1, 26):  # one second of a 25 fps camera
        clock.now = (number - 1) * 40 / 1000
        widget.frame_arrived.emit(empty_frame(number))
    assert numbers == [1, 4, 7, 10, 13, 16, 19, 22, 25]  # every 120 ms: never under 100 ms apart
    assert (widget.shown, widget.dropped) == (9, 16)


def test_frames_at_or_below_the_rate_are_all_shown(qtbot: QtBot) -> None:
    clock = Clock()
    widget = preview(qtbot, max_fps=10.0, clock=clock)
    for number in range(1, 11):
        clock.now = (number - 1) * 110 / 1000
        widget.frame_arrived.emit(empty_frame(number))
    assert (widget.shown, widget.dropped) == (10, 0)


def test_frames_from_the_capture_thread_are_shown_on_the_gui_thread(qtbot: QtBot) -> None:
    widget = preview(qtbot)
    shown_on: list[int] = []
    widget.frame_shown.connect(lambda _: shown_on.append(threading.get_ident()))
    sender = threading.Thread(target=widget.frame_arrived.emit, args=(qr_frame(7),))
    with qtbot.waitSignal(widget.frame_shown, timeout=WAIT_MS) as blocker:
        sender.start()
    sender.join()
    assert blocker.args == [7]
    assert shown_on == [threading.get_ident()]
    assert outline_pixels(screen(widget)) > 100


def test_a_folder_camera_feeds_the_preview(qtbot: QtBot, tmp_path: Path) -> None:
    """The whole path: capture thread, decoder, Qt signal, preview with the code outlined."""
    folder = write_folder(tmp_path, [frame(WIDTH, HEIGHT, paste=code(QR_TEXT, "qr", 4))] * 3)
    widget = preview(qtbot)
    scans: list[Scan] = []
    loop = camera_loop(CameraSettings(str(folder), fps=0), on_frame=widget.frame_arrived.emit)
    worker = DeviceWorker("camera", loop, scans.append)
    try:
        with qtbot.waitSignal(widget.frame_shown, timeout=WAIT_MS):
            worker.start()
    finally:
        assert worker.stop()
    assert [s.text for s in scans] == [QR_TEXT]
    assert outline_pixels(screen(widget)) > 100
