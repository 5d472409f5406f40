"""The cascade: the cheap pass on every frame, the expensive ones only when it finds nothing.

On 1280x720 frames (bench/decode.py, REFERENCE.md), zxing-cpp restricted to the formats in use
reads a frame in about 4 ms on an idle 2-core machine; zxing-cpp's defaults and zbar take about 5
times as long, the locate-and-straighten step 2-3 times. A camera delivers 30 frames a second,
so the fuller passes cannot all run on every frame; on a still image they can.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from app.adapters.camera.decoders import (
    Decoded,
    Decoder,
    GuardedDecoder,
    Image,
    StraightenDecoder,
    ZbarDecoder,
    ZxingDecoder,
)

log = logging.getLogger(__name__)


class Cascade:
    """Decoders tried in order, each behind a guard; the first pass that reads something answers.

    `fast` runs on every frame. On a frame where it finds nothing:
    - for still images (`fuller_every=0`), every fuller pass is tried in order until one reads
      something;
    - for video (`fuller_every=n`), one fuller pass runs every n-th frame, taking turns, so a
      frame costs about the fast pass plus a third of one fuller pass. A fuller pass that reads a
      code keeps running on every frame while it keeps reading one, so that a code only it can
      read (a tilted GS1-128 label) is seen in consecutive frames, as a 1D read must be.
    The passes never add up: a frame's codes all come from one pass, so a fuller pass cannot add
    its own misreads to what a better pass already read.
    """

    def __init__(
        self, fast: Decoder, fuller: Sequence[Decoder] = (), *, fuller_every: int = 0
    ) -> None:
        if fuller_every < 0:
            raise ValueError("fuller_every must be 0 (every pass on every miss) or more")
        self.passes = [GuardedDecoder(fast), *(GuardedDecoder(d) for d in fuller)]
        self._fuller_every = fuller_every
        self._frame = 0
        self._turn = 0
        self._sticky: GuardedDecoder | None = None

    @property
    def name(self) -> str:
        return "auto" if len(self.passes) > 1 else self.passes[0].name

    @property
    def errors(self) -> dict[str, int]:
        """Decoder failures so far, per pass."""
        return {p.name: p.errors for p in self.passes}

    def decode(self, frame: Image) -> list[Decoded]:
        self._frame += 1
        fast, fuller = self.passes[0], self.passes[1:]
        found = fast.decode(frame)
        if found or not fuller:
            self._sticky = None
            return found
        if self._fuller_every == 0:
            return self._first_to_read(fuller, frame)
        if self._sticky is not None:
            found = self._sticky.decode(frame)
            if found:
                return found
            self._sticky = None
        if self._frame % self._fuller_every:
            return []
        turn = fuller[self._turn % len(fuller)]
        self._turn += 1
        found = turn.decode(frame)
        if found:
            self._sticky = turn
        return found

    @staticmethod
    def _first_to_read(passes: Sequence[GuardedDecoder], frame: Image) -> list[Decoded]:
        for decoder in passes:
            found = decoder.decode(frame)
            if found:
                return found
        return []


def fuller_passes() -> list[Decoder]:
    """After the fast pass: zxing-cpp's defaults (the best reader, REFERENCE: 87.9 % of real
    photos), the straightening step (tilted long 1D codes), then zbar (it read 3 % more of the
    real photos as a fallback, but misreads Code 128 with Latin-1 text, so it goes last). Without
    the zbar library (Debian: libzbar0) the cascade runs without zbar and says so in the log."""
    passes: list[Decoder] = [ZxingDecoder.full(), StraightenDecoder()]
    try:
        passes.append(ZbarDecoder())
    except ImportError as error:
        log.warning("decoding without zbar: %s (install the zbar library, libzbar0)", error)
    return passes


def still_cascade() -> Cascade:
    """For one image: every pass, in order, until one reads something."""
    return Cascade(ZxingDecoder.fast(), fuller_passes())


def video_cascade(fuller_every: int = 3) -> Cascade:
    """For a camera: the fast pass on every frame, one fuller pass every `fuller_every` frames."""
    return Cascade(ZxingDecoder.fast(), fuller_passes(), fuller_every=fuller_every)


SINGLE: dict[str, Callable[[], Decoder]] = {
    "zxing-fast": ZxingDecoder.fast,
    "zxing": ZxingDecoder.full,
    "zbar": ZbarDecoder,
    "opencv": StraightenDecoder,
}
"""Each backend alone: zxing-cpp fast, zxing-cpp with its defaults, zbar, and the
locate-and-straighten step (OpenCV locates, zxing-cpp reads)."""


def single(backend: str) -> Cascade:
    """One backend alone, still behind its guard."""
    try:
        make = SINGLE[backend]
    except KeyError:
        raise ValueError(f"unknown decoder backend {backend!r}") from None
    return Cascade(make())


def for_stills(backend: str) -> Cascade:
    """The decoder `perpetua decode --backend` names: the cascade for `auto`, else one backend."""
    return still_cascade() if backend == "auto" else single(backend)
