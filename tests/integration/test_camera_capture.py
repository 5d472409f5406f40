"""The camera loop as a station runs it: on its own DeviceWorker thread, over an image folder or a
video file standing in for a camera (and a real absent device), turning frames into Scans."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from app.adapters.camera.capture import (
    CameraSettings,
    CameraUnavailable,
    Frame,
    camera_loop,
    open_source,
)
from app.adapters.camera.cascade import SINGLE, Cascade, single, video_cascade
from app.adapters.camera.decoders import Decoded, Image, ZxingDecoder
from app.adapters.worker import DeviceLoop, DeviceWorker
from app.domain.scan import Scan, Source
from tests.support.camera_frames import (
    EAN13,
    GS1_HRI,
    GS1_TEXT,
    QR_TEXT,
    code,
    frame,
    write_folder,
    write_video,
)

WAIT_S = 30.0
"""How long a test waits for the loop before it calls the loop stuck (a hang guard, not a limit
on speed: the loops here finish in well under a second)."""

BLANK = frame()
EAN = frame(paste=code(EAN13, "ean13"))
QR = frame(paste=code(QR_TEXT, "qr", 4))
TILTED_GS1 = frame(paste=code(GS1_HRI, "gs1-128", 2), angle=25)


class Station:
    """A camera loop on a DeviceWorker, with what it emitted and the states it reported."""

    def __init__(self, loop: DeviceLoop[Scan]) -> None:
        self.scans: list[Scan] = []
        self.statuses: list[str] = []
        self.ended = threading.Event()
        self._changed = threading.Condition()
        self.worker = DeviceWorker("camera", loop, self._emit, self._status, restart_delay_s=0.01)

    def _emit(self, scan: Scan) -> None:
        with self._changed:
            self.scans.append(scan)
            self._changed.notify_all()

    def _status(self, text: str) -> None:
        with self._changed:
            self.statuses.append(text)
            if text.endswith("has ended"):
                self.ended.set()
            self._changed.notify_all()

    def wait_for(self, condition: Callable[[], bool]) -> None:
        with self._changed:
            assert self._changed.wait_for(condition, WAIT_S), (self.scans, self.statuses)

    def run_to_end(self) -> list[Scan]:
        self.worker.start()
        assert self.ended.wait(WAIT_S), self.statuses
        assert self.worker.stop()
        return self.scans


@pytest.fixture
def stations() -> Iterator[list[Station]]:
    """Every station a test starts is stopped after it: no test leaves a thread running."""
    started: list[Station] = []
    yield started
    for station in started:
        assert station.worker.stop()


def station(stations: list[Station], loop: DeviceLoop[Scan]) -> Station:
    made = Station(loop)
    stations.append(made)
    return made


def texts(scans: Sequence[Scan]) -> list[str]:
    return [s.text for s in scans]


def test_folder_camera_confirms_1d_codes_reports_2d_at_once_and_each_code_once(
    tmp_path: Path, stations: list[Station]
) -> None:
    shown = [EAN] * 4 + [BLANK] * 3 + [EAN] * 2 + [BLANK] * 3 + [QR] + [BLANK] * 3 + [EAN]
    folder = write_folder(tmp_path / "frames", shown)
    settings = CameraSettings(str(folder), device="dock-cam", fps=0, forget_after=3)
    scans = station(stations, camera_loop(settings)).run_to_end()
    # The EAN in view for 4 frames is one scan; back after 3 frames away, it is scanned again;
    # the QR code seen in one frame is a scan; the EAN seen in one frame only is not.
    assert texts(scans) == [EAN13, EAN13, QR_TEXT]
    assert [s.symbology for s in scans] == ["]E0", "]E0", "]Q1"]
    assert {s.source for s in scans} == {Source.CAMERA}
    assert {s.device for s in scans} == {"dock-cam"}


def test_a_code_that_stays_in_view_is_reported_once(
    tmp_path: Path, stations: list[Station]
) -> None:
    folder = write_folder(tmp_path / "frames", [EAN, QR])
    settings = CameraSettings(str(folder), fps=0, frames_per_image=40, forget_after=3)
    assert texts(station(stations, camera_loop(settings)).run_to_end()) == [EAN13, QR_TEXT]


def test_video_file_camera_reads_a_tilted_gs1_128_label_exactly_once(
    tmp_path: Path, stations: list[Station]
) -> None:
    """Only the straightening step reads the tilted label, and it runs as a fuller pass every
    third frame; once it reads the label it runs on every frame, so the label is confirmed."""
    video = write_video(tmp_path / "dock.avi", [BLANK] * 8 + [TILTED_GS1] * 15 + [BLANK] * 4)
    scans = station(stations, camera_loop(CameraSettings(str(video), fps=0))).run_to_end()
    assert texts(scans) == [GS1_TEXT]
    assert scans[0].symbology == "]C1"
    assert "\x1d" in scans[0].text  # the GS after the lot survives, byte for byte


def test_video_file_frames_reach_the_preview_with_the_code_outlined(
    tmp_path: Path, stations: list[Station]
) -> None:
    video = write_video(tmp_path / "dock.avi", [BLANK] * 2 + [QR] * 3)
    frames: list[Frame] = []
    made = station(stations, camera_loop(CameraSettings(str(video), fps=0), on_frame=frames.append))
    made.run_to_end()
    assert [f.number for f in frames] == [1, 2, 3, 4, 5]
    assert [len(f.codes) for f in frames] == [0, 0, 1, 1, 1]
    xs = [x for x, _ in frames[-1].codes[0].corners]
    assert 640 / 2 - 80 < min(xs) < max(xs) < 640 / 2 + 80  # around the code in the middle
    assert not frames[-1].image.flags.writeable  # the frame crosses threads: read-only


def test_stop_event_ends_a_camera_that_would_run_forever(
    tmp_path: Path, stations: list[Station]
) -> None:
    folder = write_folder(tmp_path / "frames", [QR, BLANK])
    settings = CameraSettings(str(folder), fps=200, replay=True, forget_after=1)
    made = station(stations, camera_loop(settings))
    made.worker.start()
    made.wait_for(lambda: len(made.scans) >= 3)  # replayed: the QR code comes back again
    assert made.worker.stop()
    assert not made.worker.running


class Flaky:
    """The fast pass, failing on the first `failures` frames as a decoder bug would."""

    name = "flaky"

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0
        self._inner = ZxingDecoder.fast()

    def decode(self, image: Image) -> list[Decoded]:
        self.calls += 1
        if self.calls <= self.failures:
            raise RuntimeError("decoder bug")
        return self._inner.decode(image)


def test_a_decoder_that_raises_does_not_stop_the_camera(
    tmp_path: Path, stations: list[Station]
) -> None:
    folder = write_folder(tmp_path / "frames", [QR] * 6)
    cascade = Cascade(Flaky(failures=3))
    made = station(
        stations, camera_loop(CameraSettings(str(folder), fps=0), decoder=lambda: cascade)
    )
    assert texts(made.run_to_end()) == [QR_TEXT]
    assert cascade.errors == {"flaky": 3}
    assert not [s for s in made.statuses if s.startswith("error")]  # the loop never restarted


class RecordedCamera:
    """A camera that cannot run here, replaying recorded frames: absent at first, then
    connected, then unplugged after `unplug_after` frames, then back."""

    live = True
    fps = 25.0
    description = "camera fake"

    def __init__(self, frames: Sequence[Image], unplug_after: int) -> None:
        self._frames = list(frames)
        self._unplug_after = unplug_after
        self._read = 0

    def read(self) -> Image | None:
        if self._read == self._unplug_after or not self._frames:
            return None
        self._read += 1
        return self._frames.pop(0)

    def close(self) -> None:
        self._read = 0


def test_absent_then_unplugged_camera_is_reported_and_tried_again(
    stations: list[Station],
) -> None:
    # An empty frame, as a camera glitch delivers: every decoder library raises on it.
    recorded = [BLANK, np.zeros((0, 0), np.uint8), QR, QR, QR, QR]
    camera = RecordedCamera(recorded, unplug_after=3)
    attempts = 0

    def opener(settings: CameraSettings) -> RecordedCamera:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise CameraUnavailable("camera fake cannot be opened")
        return camera

    cascade = video_cascade()
    settings = CameraSettings("fake", retry_s=0.01, forget_after=10)
    made = station(stations, camera_loop(settings, opener=opener, decoder=lambda: cascade))
    made.worker.start()
    made.wait_for(lambda: sum(s.startswith("reading") for s in made.statuses) >= 2)
    made.wait_for(lambda: any("stopped sending frames" in s for s in made.statuses[-1:]))
    assert made.worker.stop()
    assert made.statuses[:4] == [
        "camera fake cannot be opened; trying again in 0.01 s",
        "reading camera fake",
        "camera fake stopped sending frames (unplugged?); trying again in 0.01 s",
        "reading camera fake",
    ]
    # The QR code in view before and after the cable wobbled is one scan.
    assert texts(made.scans) == [QR_TEXT]
    assert cascade.errors["zxing-fast"] == 1  # the empty frame, caught by the guard


def test_a_real_absent_camera_is_reported_and_the_loop_keeps_trying(
    stations: list[Station],
) -> None:
    made = station(stations, camera_loop(CameraSettings("99", retry_s=0.01)))
    made.worker.start()
    made.wait_for(lambda: len(made.statuses) >= 2)
    assert made.worker.stop()
    assert made.statuses[0] == "camera 99 cannot be opened; trying again in 0.01 s"
    assert made.scans == []


def test_sources_are_told_apart(tmp_path: Path) -> None:
    with pytest.raises(CameraUnavailable, match="holds no images"):
        open_source(CameraSettings(str(tmp_path)))
    with pytest.raises(CameraUnavailable, match="neither a camera"):
        open_source(CameraSettings(str(tmp_path / "missing.avi")))
    video = write_video(tmp_path / "v.avi", [BLANK, BLANK])
    source = open_source(CameraSettings(str(video)))
    try:
        assert source.description == f"video file {video}"
        assert not source.live
        assert source.fps == 25.0
    finally:
        source.close()


@pytest.mark.parametrize("backend", SINGLE)
def test_every_backend_survives_frames_its_library_throws_on(backend: str) -> None:
    """An empty frame (a driver glitch) makes zxing-cpp, zbar and OpenCV each raise their own
    exception; a two-channel YUYV frame is refused. The guard turns both into empty frames."""
    decoder = single(backend)
    assert decoder.decode(np.zeros((0, 0), np.uint8)) == []
    assert decoder.decode(np.zeros((360, 640, 2), np.uint8)) == []
    assert decoder.errors == {backend: 2}
    assert decoder.decode(TILTED_GS1 if backend == "opencv" else QR)  # and it still reads
