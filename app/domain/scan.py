"""One immutable value for everything a station reads: a wedge scanner, a camera, an RFID reader
or a person typing it in (DESIGN.md section 4). Devices make Scans; they never touch the
database or the widgets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

GS = "\x1d"
"""The GS1 group separator (FNC1 inside the data), exactly as it travels in a Scan's text."""


class Source(StrEnum):
    WEDGE = "wedge"
    CAMERA = "camera"
    RFID = "rfid"
    MANUAL = "manual"


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Scan:
    """What was read, exactly: `text` keeps FNC1 as GS (0x1D) and the AIM identifier, if any.

    `symbology` is the AIM symbology identifier (`]C1`, `]d2`, `]Q3`, `]E0`, ...) or the
    decoder's name for the format ("EAN13", "DataMatrix", "EPC" for RFID); None when unknown.
    """

    text: str
    source: Source
    device: str = ""
    symbology: str | None = None
    at: datetime = field(default_factory=_now)
