"""Which of a camera's per-frame reads are scans a person meant (DESIGN.md section 4).

A camera reads the same label 30 times a second, and a 1D decoder can misread a blurred frame:
a 1D read becomes a scan only after it repeats in `confirm_frames` consecutive frames; a 2D code
(its error correction makes one read trustworthy) at once. Each code is reported once while it
stays in view, and again only after it has been out of view for `forget_after` frames.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar


class Read(Protocol):
    @property
    def text(self) -> str: ...

    @property
    def matrix(self) -> bool: ...


R = TypeVar("R", bound=Read)


@dataclass
class _Seen:
    streak: int
    last_frame: int
    reported: bool = False


class ReadFilter:
    def __init__(self, confirm_frames: int = 2, forget_after: int = 15) -> None:
        if confirm_frames < 1 or forget_after < 1:
            raise ValueError("confirm_frames and forget_after must be at least 1")
        self.confirm_frames = confirm_frames
        self.forget_after = forget_after
        self._seen: dict[str, _Seen] = {}

    def feed(self, frame: int, reads: Iterable[R]) -> list[R]:
        """The reads of frame number `frame` (rising by one a frame) that become scans now."""
        accepted: list[R] = []
        for read in reads:
            seen = self._seen.get(read.text)
            if seen is not None and seen.last_frame == frame:
                continue  # the same code twice in one frame (two labels alike) is one read
            if seen is None:
                seen = self._seen[read.text] = _Seen(streak=0, last_frame=frame)
            seen.streak = seen.streak + 1 if seen.last_frame == frame - 1 else 1
            seen.last_frame = frame
            needed = 1 if read.matrix else self.confirm_frames
            if not seen.reported and seen.streak >= needed:
                seen.reported = True
                accepted.append(read)
        for text in [t for t, s in self._seen.items() if frame - s.last_frame >= self.forget_after]:
            del self._seen[text]
        return accepted
