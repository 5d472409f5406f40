"""The camera as a device loop (run by DeviceWorker on its own thread): frames from a camera, a
video file or an image folder, decoded off the GUI thread, turned into Scans.

A video file or an image folder stands in for a camera in demos and tests; `cv2.VideoCapture`
opens device indexes, /dev/video paths, video files and image sequences (`frames/%04d.png`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from app.adapters.camera.acceptance import ReadFilter
from app.adapters.camera.cascade import Cascade, video_cascade
from app.adapters.camera.decoders import Decoded, Image
from app.adapters.camera.stills import IMAGE_SUFFIXES, UnreadableImage, read_image
from app.adapters.worker import DeviceLoop, Emit, Status
from app.domain.scan import Scan, Source

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CameraSettings:
    """`source`: a device index ("0"), a device path (/dev/video0), a video file, an image-sequence
    pattern, or a folder of images (shown in name order, each for `frames_per_image` frames).

    `fps` paces a video file or folder: None plays a video at its own rate and a folder at 10
    frames a second, 0 as fast as the decoder goes (tests, benchmarks). `replay` starts a file or
    folder again at its end. A 1D code must repeat in `confirm_frames` consecutive frames; a code
    is reported again only after `forget_after` frames out of view.
    """

    source: str
    device: str = "camera"
    fps: float | None = None
    frames_per_image: int = 1
    replay: bool = False
    confirm_frames: int = 2
    forget_after: int = 15
    fuller_every: int = 3
    retry_s: float = 2.0


@dataclass(frozen=True, slots=True, eq=False)
class Frame:
    """One decoded frame for the preview: read-only pixels (gray or BGR), the codes read in it,
    and its number since the camera started."""

    image: Image
    codes: tuple[Decoded, ...]
    number: int

    def __post_init__(self) -> None:
        self.image.flags.writeable = False


class CameraUnavailable(Exception):
    """The camera, file or folder cannot be opened; the message says which and why."""


class FrameSource(Protocol):
    description: str
    live: bool
    """A device (a failed read means unplugged) rather than a file or folder (it has ended)."""
    fps: float

    def read(self) -> Image | None: ...

    def close(self) -> None: ...


class _Capture:
    """cv2.VideoCapture over a device, a video file or an image sequence."""

    def __init__(self, target: int | str, description: str, live: bool) -> None:
        self.description = description
        self.live = live
        self._capture = cv2.VideoCapture(target)
        if not self._capture.isOpened():
            self._capture.release()
            raise CameraUnavailable(f"{description} cannot be opened")
        if live:
            # Keep the newest frame only: a decoder slower than the camera then sees what is in
            # front of it now, not what was there a few frames ago (where the backend allows).
            self._capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        rate = float(self._capture.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = rate if 0 < rate < 1000 else 25.0

    def read(self) -> Image | None:
        """The next frame; None at the end of a file, or when a camera sends none (or an empty
        one, as some drivers do when the cable goes)."""
        ok, image = self._capture.read()
        if not ok or image is None or image.size == 0:
            return None
        return np.asarray(image, np.uint8)

    def close(self) -> None:
        self._capture.release()


class _Folder:
    """A folder of images as a camera: each image in name order, `repeat` frames each."""

    live = False
    fps = 10.0

    def __init__(self, folder: Path, repeat: int) -> None:
        self.description = f"image folder {folder}"
        self._files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self._files:
            raise CameraUnavailable(f"{self.description} holds no images")
        self._repeat = max(1, repeat)
        self._shown = 0
        self._image: Image | None = None

    def read(self) -> Image | None:
        while True:
            index, again = divmod(self._shown, self._repeat)
            if index >= len(self._files):
                return None
            self._shown += 1
            if again == 0:
                self._image = self._load(self._files[index])
            if self._image is not None:
                return self._image

    @staticmethod
    def _load(path: Path) -> Image | None:
        try:
            return read_image(path)
        except UnreadableImage as error:
            log.warning("skipping %s", error)
            return None

    def close(self) -> None:
        self._files = []


def open_source(settings: CameraSettings) -> FrameSource:
    """The frame source `settings.source` names; raises CameraUnavailable."""
    spec = settings.source
    if spec.isdigit():
        return _Capture(int(spec), f"camera {spec}", live=True)
    if spec.startswith("/dev/"):
        return _Capture(spec, f"camera {spec}", live=True)
    path = Path(spec)
    if path.is_dir():
        return _Folder(path, settings.frames_per_image)
    if "%" in spec or path.is_file():
        return _Capture(spec, f"video file {spec}", live=False)
    raise CameraUnavailable(f"{spec} is neither a camera, a video file nor an image folder")


def camera_loop(
    settings: CameraSettings,
    *,
    decoder: Callable[[], Cascade] | None = None,
    on_frame: Callable[[Frame], None] | None = None,
    opener: Callable[[CameraSettings], FrameSource] = open_source,
) -> DeviceLoop[Scan]:
    """The loop DeviceWorker runs: emits a Scan for each code accepted (see acceptance.py) and
    hands every decoded frame to `on_frame` (the preview throttles it). A camera that cannot be
    opened or stops sending frames is reported through `status` and tried again every
    `retry_s` seconds; a file or folder that ends stops the loop (or starts again with `replay`).
    `decoder` builds the decoders (default: the video cascade), once per loop run; a Cascade,
    so that every decoder call is behind its guard."""

    def loop(stop: threading.Event, emit: Emit[Scan], status: Status) -> None:
        make = decoder or (lambda: video_cascade(settings.fuller_every))
        run = _Run(settings, make(), ReadFilter(settings.confirm_frames, settings.forget_after))
        while not stop.is_set():
            try:
                source = opener(settings)
            except CameraUnavailable as error:
                status(f"{error}; trying again in {settings.retry_s:g} s")
                stop.wait(settings.retry_s)
                continue
            status(f"reading {source.description}")
            try:
                ended = run.frames(source, stop, emit, on_frame)
            finally:
                source.close()
            if not ended:
                continue  # stopped
            if source.live:
                status(
                    f"{source.description} stopped sending frames (unplugged?); "
                    f"trying again in {settings.retry_s:g} s"
                )
                stop.wait(settings.retry_s)
            elif not settings.replay:
                status(f"{source.description} has ended")
                return

    return loop


class _Run:
    """The state of one loop run, kept across reconnects: frame numbers, and which codes were
    already reported (a code in view when a cable wobbles is not scanned twice)."""

    def __init__(self, settings: CameraSettings, decoder: Cascade, reads: ReadFilter) -> None:
        self._settings = settings
        self._decoder = decoder
        self._reads = reads
        self._number = 0

    def frames(
        self,
        source: FrameSource,
        stop: threading.Event,
        emit: Emit[Scan],
        on_frame: Callable[[Frame], None] | None,
    ) -> bool:
        """Decodes frames until the source ends (True) or `stop` is set (False)."""
        interval = self._interval(source)
        due = time.monotonic()
        while not stop.is_set():
            image = source.read()
            if image is None:
                return True
            self._number += 1
            codes = tuple(self._decoder.decode(image))
            for code in self._reads.feed(self._number, codes):
                emit(
                    Scan(
                        text=code.text,
                        source=Source.CAMERA,
                        device=self._settings.device,
                        symbology=code.symbology,
                    )
                )
            if on_frame is not None:
                on_frame(Frame(image, codes, self._number))
            if interval:
                # A decoder slower than the pace delays the next frame; it does not make the
                # frames after it rush to catch up.
                due = max(due + interval, time.monotonic())
                stop.wait(due - time.monotonic())
        return False

    def _interval(self, source: FrameSource) -> float:
        """Seconds between frames of a file or folder; 0 for a camera (it sets its own pace)."""
        if source.live or self._settings.fps == 0:
            return 0.0
        return 1.0 / (self._settings.fps or source.fps)
