"""The camera's picture with every code read in it outlined, throttled so that a camera at 30 or
60 frames a second cannot keep the GUI thread busy (STYLE.md rule 7)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QPointF, QRectF, Signal, Slot
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget


class PreviewCode(Protocol):
    @property
    def corners(self) -> Sequence[tuple[float, float]]: ...


class PreviewFrame(Protocol):
    """What the preview needs of a decoded frame (the capture loop's `Frame` is one): read-only
    8-bit pixels, gray or BGR, and the codes read in it with their corners in pixels."""

    @property
    def image(self) -> NDArray[np.uint8]: ...

    @property
    def codes(self) -> Sequence[PreviewCode]: ...

    @property
    def number(self) -> int: ...


class CameraPreview(QWidget):
    """Shows at most `max_fps` frames a second and drops the rest as they arrive, before any
    conversion. `frame_arrived` may be emitted from the capture thread: Qt queues it to the GUI
    thread. `frame_shown` tells which frame number is now on screen."""

    frame_arrived = Signal(object)
    frame_shown = Signal(int)

    OUTLINE = QColor(0, 220, 0)
    OUTLINE_WIDTH = 3
    BACKGROUND = QColor(32, 32, 32)

    def __init__(
        self,
        max_fps: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._min_interval = 1.0 / max_fps
        self._clock = clock
        self._last_shown: float | None = None
        self._image: QImage | None = None
        self._outlines: list[QPolygonF] = []
        self.shown = 0
        self.dropped = 0
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 90)
        self._connect_signals()

    def _connect_signals(self) -> None:
        self.frame_arrived.connect(self._on_frame_arrived)

    @Slot(object)
    def _on_frame_arrived(self, frame: PreviewFrame) -> None:
        now = self._clock()
        too_soon = self._last_shown is not None and now - self._last_shown < self._min_interval
        if too_soon or frame.image.size == 0:
            self.dropped += 1
            return
        self._last_shown = now
        self._image = _to_qimage(frame.image)
        self._outlines = [
            QPolygonF([QPointF(x, y) for x, y in code.corners])
            for code in frame.codes
            if len(code.corners) >= 2
        ]
        self.shown += 1
        self.update()
        self.frame_shown.emit(frame.number)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.BACKGROUND)
        if self._image is not None:
            target = self._fit(self._image.width(), self._image.height())
            painter.drawImage(target, self._image)
            painter.translate(target.topLeft())
            painter.scale(
                target.width() / self._image.width(), target.height() / self._image.height()
            )
            pen = QPen(self.OUTLINE, self.OUTLINE_WIDTH)
            pen.setCosmetic(True)  # the same width on screen whatever the scale
            painter.setPen(pen)
            for outline in self._outlines:
                painter.drawPolygon(outline)
        painter.end()

    def _fit(self, width: int, height: int) -> QRectF:
        """The largest rectangle of the image's aspect ratio centred in the widget."""
        scale = min(self.width() / width, self.height() / height)
        w, h = width * scale, height * scale
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)


def _to_qimage(image: NDArray[np.uint8]) -> QImage:
    """A QImage that owns a copy of the pixels (the array may be freed once the slot returns)."""
    pixels = np.ascontiguousarray(image)
    height, width = pixels.shape[:2]
    if pixels.ndim == 2:
        fmt = QImage.Format.Format_Grayscale8
    elif pixels.shape[2] == 3:
        fmt = QImage.Format.Format_BGR888
    else:
        fmt = QImage.Format.Format_ARGB32  # BGRA in memory on little-endian machines
    view = QImage(pixels.data, width, height, pixels.strides[0], fmt)
    return view.copy()
