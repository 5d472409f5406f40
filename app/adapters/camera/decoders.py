"""Decoder backends behind one interface: zxing-cpp (a fast pass and a full pass), zbar, and an
OpenCV locate-and-straighten step for tilted long 1D codes (REFERENCE.md "Camera decoding").

Every backend takes a grayscale or BGR frame and returns what it read as `Decoded` values, with the
text exactly as encoded (FNC1 inside the data as GS, 0x1D; a leading FNC1 becomes the AIM symbology
identifier, `]C1`, `]d2`, `]Q3`, `]e0`). `GuardedDecoder` is the only way the cascade and the
capture loop call a backend: a decoder that raises is logged and counted, never propagated.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import biip
import cv2
import numpy as np
import zxingcpp
from numpy.typing import NDArray

log = logging.getLogger(__name__)

Image = NDArray[np.uint8]
"""A frame: grayscale (H x W) or BGR (H x W x 3), 8 bits per channel."""
Point = tuple[float, float]

F = zxingcpp.BarcodeFormat
LINEAR_IN_USE = (F.EAN13, F.EAN8, F.UPCA, F.UPCE, F.Code128, F.DataBar)
"""The 1D formats a station reads: EAN/UPC on items, GS1-128 and Code 128 on cases, pallets and
internal labels, GS1 DataBar (all its kinds) on fresh goods."""
FORMATS_IN_USE = (*LINEAR_IN_USE, F.QRCode, F.DataMatrix)
"""Plus the 2D formats: GS1 DataMatrix on items, QR codes (GS1 Digital Link, badges)."""
_MATRIX = frozenset(zxingcpp.barcode_formats_list(zxingcpp.BarcodeFormats(F.AllMatrix)))


@dataclass(frozen=True, slots=True)
class Decoded:
    """One code read in one frame.

    `symbology` is the AIM identifier (`]E0`, `]C1`, `]d2`, `]Q1`, ...) when the decoder knows it,
    else the decoder's name for the format. `matrix` marks 2D codes, whose error correction makes a
    single read trustworthy; `corners` are the code's four corners in frame pixels, clockwise.
    """

    text: str
    symbology: str
    backend: str
    corners: tuple[Point, ...]
    matrix: bool = False


class Decoder(Protocol):
    """A decoder backend: reads every code it can find in a grayscale or BGR frame."""

    @property
    def name(self) -> str: ...

    def decode(self, frame: Image) -> list[Decoded]: ...


def to_gray(frame: Image) -> Image:
    """The frame as 8-bit grayscale; anything that is not gray, BGR or BGRA is refused."""
    if frame.dtype != np.uint8:
        raise ValueError(f"frames must be 8-bit, not {frame.dtype}")
    if frame.ndim == 2:
        return frame
    if frame.ndim == 3 and frame.shape[2] == 3:
        return np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), np.uint8)
    if frame.ndim == 3 and frame.shape[2] == 4:
        return np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGRA2GRAY), np.uint8)
    raise ValueError(f"frames must be gray, BGR or BGRA, not of shape {frame.shape}")


# --- zxing-cpp ----------------------------------------------------------------------------------


class ZxingDecoder:
    """zxing-cpp. `fast()` reads only the formats in use, upright and dark-on-light, at the frame's
    own resolution (REFERENCE: 4.4 ms a 1280x720 frame with a code); `full()` is zxing-cpp's
    defaults: every format, rotated, inverted and downscaled (5 times as long, bench/decode.py)."""

    def __init__(
        self,
        name: str,
        formats: Sequence[zxingcpp.BarcodeFormat] = (),
        *,
        thorough: bool = True,
    ) -> None:
        self._name = name
        self._options: dict[str, Any] = {
            "try_rotate": thorough,
            "try_invert": thorough,
            "try_downscale": thorough,
            # Plain keeps GS1 data as encoded (FNC1 as GS) where HRI would write "(01)...".
            "text_mode": zxingcpp.TextMode.Plain,
        }
        if formats:
            self._options["formats"] = zxingcpp.BarcodeFormats(list(formats))

    @classmethod
    def fast(cls, formats: Sequence[zxingcpp.BarcodeFormat] = FORMATS_IN_USE) -> ZxingDecoder:
        return cls("zxing-fast", formats, thorough=False)

    @classmethod
    def full(cls) -> ZxingDecoder:
        return cls("zxing")

    @property
    def name(self) -> str:
        return self._name

    def decode(self, frame: Image) -> list[Decoded]:
        return [
            decoded
            for barcode in zxingcpp.read_barcodes(to_gray(frame), **self._options)
            if (decoded := from_zxing(barcode, self._name)) is not None
        ]


def from_zxing(barcode: zxingcpp.Barcode, backend: str) -> Decoded | None:
    """A zxing-cpp result as Decoded; None for one without text (e.g. binary data in an ECI
    that has no text form), which no station could use."""
    if not barcode.text:
        return None
    p = barcode.position
    corners = tuple(
        (float(c.x), float(c.y)) for c in (p.top_left, p.top_right, p.bottom_right, p.bottom_left)
    )
    return Decoded(
        text=barcode.text,
        symbology=barcode.symbology_identifier or barcode.format.name,
        backend=backend,
        corners=corners,
        matrix=barcode.format in _MATRIX,
    )


# --- zbar ---------------------------------------------------------------------------------------

ZBAR_IN_USE = ("EAN13", "EAN8", "UPCA", "UPCE", "CODE128", "QRCODE", "DATABAR", "DATABAR_EXP")
"""zbar's names for the formats in use (zbar reads no Data Matrix). Left unrestricted, zbar read
a one-letter code in a photo of the no-barcode corpus."""

ZBAR_SYMBOLOGY = {
    "EAN13": "]E0",
    "UPCA": "]E0",
    "UPCE": "]E0",
    "EAN8": "]E4",
    "DATABAR": "]e0",
    "DATABAR_EXP": "]e0",
    "CODE128": "Code128",
    "QRCODE": "QRCode",
}
"""AIM identifiers for the zbar types that have exactly one. zbar drops a leading FNC1 without
telling pyzbar, so a Code 128 or QR code read by zbar could be `]C0` or `]C1`, `]Q1` or `]Q3`:
those get the format's name (as zxing-cpp spells it) rather than a guess."""
ZBAR_MATRIX = frozenset({"QRCODE", "SQCODE"})


class ZbarDecoder:
    """zbar through pyzbar, restricted to the formats in use. Its text is UTF-8 (zbar converts QR
    text from the encoding it guesses); a result that is not valid UTF-8 is dropped."""

    name = "zbar"

    def __init__(self, symbols: Sequence[str] = ZBAR_IN_USE) -> None:
        # Imported here, not at the top: pyzbar loads the zbar library when imported.
        from pyzbar import pyzbar

        self._pyzbar = pyzbar
        self._symbols = [pyzbar.ZBarSymbol[s] for s in symbols]

    def decode(self, frame: Image) -> list[Decoded]:
        found: list[Decoded] = []
        for symbol in self._pyzbar.decode(to_gray(frame), symbols=self._symbols):
            try:
                text = bytes(symbol.data).decode("utf-8")
            except UnicodeDecodeError:
                log.debug("zbar read %s that is not UTF-8: %r", symbol.type, symbol.data)
                continue
            if not text:
                continue
            kind = str(symbol.type)
            found.append(
                Decoded(
                    text=text,
                    symbology=ZBAR_SYMBOLOGY.get(kind, kind),
                    backend=self.name,
                    corners=_box([(float(p.x), float(p.y)) for p in symbol.polygon]),
                    matrix=kind in ZBAR_MATRIX,
                )
            )
        return found


def _box(points: list[Point]) -> tuple[Point, ...]:
    """Four corners around zbar's polygon (for 1D codes: the ends of the scan lines it used)."""
    if not points:
        return ()
    rect = cv2.minAreaRect(np.array(points, np.float32))
    return tuple((float(x), float(y)) for x, y in cv2.boxPoints(rect))


# --- OpenCV locate and straighten ---------------------------------------------------------------


class StraightenDecoder:
    """Tilted long 1D codes (a GS1-128 label at an angle) defeat zxing-cpp and zbar alike, even
    with rotation on (REFERENCE: 9 of 30). OpenCV's barcode detector finds the region of a 1D code
    at any angle; each region, with a margin for the quiet zones, is warped upright and read by
    zxing-cpp. OpenCV's own decoding is not used: it reads EAN/UPC only and misreads Code 128 as
    EAN.

    Warping resamples the bars, and how well depends on their width in pixels, which is unknown
    until the code is read: a region is tried at its own size (at least `min_length` pixels
    long), then enlarged by each of `enlarge`. Tilted GS1-128 labels in real scenes
    (bench/decode.py part B), 2-pixel modules: 29 of 29 at the first size; 1.5-pixel modules: 5
    of 29 there, 17 of 29 with the enlargements. One warped label once read as a GS1-128 text
    whose GTIN check digit was wrong (Code 128's own checksum let it through), so a GS1-128 read
    with a wrong GTIN, SSCC or GLN check digit counts as not read and the next size is tried."""

    name = "opencv"

    def __init__(
        self,
        formats: Sequence[zxingcpp.BarcodeFormat] = LINEAR_IN_USE,
        *,
        min_length: int = 600,
        enlarge: Sequence[float] = (1.5, 2.0),
        max_regions: int = 8,
    ) -> None:
        self._detector = cv2.barcode.BarcodeDetector()
        self._formats = zxingcpp.BarcodeFormats(list(formats))
        self._min_length = min_length
        self._sizes = (1.0, *enlarge)
        self._max_regions = max_regions

    def decode(self, frame: Image) -> list[Decoded]:
        gray = to_gray(frame)
        ok, quads = self._detector.detect(gray)
        if not ok or quads is None:
            return []
        found: dict[str, Decoded] = {}
        for quad in np.asarray(quads, np.float32).reshape(-1, 4, 2)[: self._max_regions]:
            source, width, height = self._upright_box(quad)
            for size in self._sizes:
                read = self._read_region(gray, source, round(width * size), round(height * size))
                for decoded in read:
                    found.setdefault(decoded.text, decoded)
                if read:
                    break
        return list(found.values())

    def _read_region(
        self, gray: Image, source: NDArray[np.float32], width: int, height: int
    ) -> list[Decoded]:
        if width < 8 or height < 8:
            return []
        target = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
        to_crop = cv2.getPerspectiveTransform(source, target)
        crop = cv2.warpPerspective(
            gray, to_crop, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
        )
        barcodes = zxingcpp.read_barcodes(
            crop,
            formats=self._formats,
            try_rotate=True,  # the detector's box may lie along the bars rather than across
            try_invert=False,
            try_downscale=False,
            text_mode=zxingcpp.TextMode.Plain,
        )
        to_frame = np.linalg.inv(to_crop)
        found = []
        for barcode in barcodes:
            decoded = from_zxing(barcode, self.name)
            if decoded is None or _gs1_check_digit_wrong(decoded):
                continue
            points = np.array(decoded.corners, np.float32).reshape(-1, 1, 2)
            mapped = cv2.perspectiveTransform(points, to_frame).reshape(-1, 2)
            corners = tuple((float(x), float(y)) for x, y in mapped)
            found.append(
                Decoded(decoded.text, decoded.symbology, self.name, corners, decoded.matrix)
            )
        return found

    def _upright_box(self, quad: NDArray[np.float32]) -> tuple[NDArray[np.float32], int, int]:
        """The region grown by a quiet-zone margin, its corners ordered so that the first edge is
        the long one, and its size upright (the long side at least `min_length` pixels)."""
        if np.linalg.norm(quad[1] - quad[0]) < np.linalg.norm(quad[2] - quad[1]):
            quad = np.roll(quad, -1, axis=0)
        along = quad[1] - quad[0]
        across = quad[2] - quad[1]
        length, depth = float(np.linalg.norm(along)), float(np.linalg.norm(across))
        if length < 1 or depth < 1:
            return quad, 0, 0
        # Margins: the detector hugs the bars (and may stop short at a gap, as in GS1 DataBar),
        # and a 1D code needs its quiet zones to be read.
        margin_along = 0.25 * length + 10
        margin_across = 0.25 * depth + 5
        grow_along = along / length * margin_along
        grow_across = across / depth * margin_across
        source = np.array(
            [
                quad[0] - grow_along - grow_across,
                quad[1] + grow_along - grow_across,
                quad[2] + grow_along + grow_across,
                quad[3] - grow_along + grow_across,
            ],
            np.float32,
        )
        full_length = length + 2 * margin_along
        full_depth = depth + 2 * margin_across
        scale = max(1.0, self._min_length / full_length)
        return source, round(full_length * scale), max(round(full_depth * scale), 40)


def _gs1_check_digit_wrong(decoded: Decoded) -> bool:
    """A GS1-128 text whose GTIN, SSCC or GLN fails its check digit (parsed by biip)."""
    if decoded.symbology != "]C1":
        return False
    message = biip.parse(f"]C1{decoded.text}").gs1_message
    if message is None:
        return False  # not an element string biip knows: nothing to check
    return any(e.gtin_error or e.sscc_error or e.gln_error for e in message.element_strings)


# --- the guard ----------------------------------------------------------------------------------


class GuardedDecoder:
    """A backend behind a guard: an exception inside it is logged and counted and the frame
    counts as empty. Decoders do throw on odd input: OpenCV's QR detector on non-UTF-8 text
    (REFERENCE), and on the empty frame some camera drivers deliver, zxing-cpp raises ValueError,
    pyzbar ZeroDivisionError and OpenCV's barcode detector cv2.error. A camera must keep running
    through that."""

    def __init__(self, inner: Decoder) -> None:
        self.inner = inner
        self.errors = 0
        self.last_error: str | None = None

    @property
    def name(self) -> str:
        return self.inner.name

    def decode(self, frame: Image) -> list[Decoded]:
        try:
            return self.inner.decode(frame)
        except Exception as error:  # the guard: any decoder failure, a bug included
            self.errors += 1
            self.last_error = f"{type(error).__name__}: {error}"
            # The traceback once, then a line per hundred failures: a decoder that fails on
            # every frame must not flood the log at 30 frames a second.
            if self.errors == 1:
                log.exception("decoder %s failed; the frame counts as empty", self.name)
            elif self.errors % 100 == 0:
                log.warning(
                    "decoder %s has failed %d times: %s", self.name, self.errors, self.last_error
                )
            return []
