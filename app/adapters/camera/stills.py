"""Decoding image files: what `perpetua decode` does, and what the corpus tests and the benchmark
measure."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from app.adapters.camera.cascade import for_stills
from app.adapters.camera.decoders import Decoded, Decoder, Image

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"})


class UnreadableImage(Exception):
    """The file is not an image OpenCV can read."""


@dataclass(frozen=True, slots=True)
class StillResult:
    """The codes read in one image file; `ms` is the decoding time, without reading the file."""

    file: str
    codes: tuple[Decoded, ...]
    ms: float

    def as_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "codes": [
                {"text": c.text, "symbology": c.symbology, "backend": c.backend} for c in self.codes
            ],
            "ms": round(self.ms, 3),
        }


def read_image(path: Path) -> Image:
    """The image as a viewer shows it, 8-bit gray or BGR. Transparent pixels are laid over white:
    read as they are stored, the transparent background of a PNG code comes out black, and the
    code black on black (two of zxing's Data Matrix samples are such PNGs)."""
    data = np.fromfile(path, np.uint8)  # not cv2.imread: it cannot open every non-ASCII path
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None:
        raise UnreadableImage(f"{path} is not an image file OpenCV can read")
    if image.dtype == np.uint16:
        image = (np.asarray(image, np.uint16) >> 8).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise UnreadableImage(f"{path} has {image.dtype} pixels; 8 or 16 bits were expected")
    if image.ndim == 3 and image.shape[2] == 4:
        alpha = image[:, :, 3:].astype(np.float32) / 255.0
        white = np.full_like(image[:, :, :3], 255, np.float32)
        image = (image[:, :, :3] * alpha + white * (1.0 - alpha)).round().astype(np.uint8)
    return np.ascontiguousarray(image)


def decode(path: Path, backend: str = "auto", decoder: Decoder | None = None) -> StillResult:
    """Every code in the image file at `path`, read by the cascade (`auto`) or one backend.

    `decoder` reuses a decoder built by `cascade.for_stills(backend)` across many files.
    Raises UnreadableImage for a file that is not an image."""
    image = read_image(path)
    decoder = decoder or for_stills(backend)
    started = time.perf_counter()
    codes = decoder.decode(image)
    return StillResult(str(path), tuple(codes), (time.perf_counter() - started) * 1000)
