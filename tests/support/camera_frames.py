"""Camera frames for tests and benchmarks: real codes drawn by zxing-cpp's encoder, laid on a
frame, tilted, blurred; written as an image folder or a video file that stand in for a camera."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import zxingcpp
from numpy.typing import NDArray

Image = NDArray[np.uint8]

EAN13 = "9780764544200"
QR_TEXT = "PERPETUA-BADGE-0042"
GS1_HRI = "(01)09504000059101(10)ABC123(21)12345678"
GS1_TEXT = "0109504000059101" + "10ABC123\x1d" + "2112345678"
"""GS1_HRI as a decoder reports it: FNC1 after the variable-length lot as GS, no leading FNC1."""


def code(text: str, kind: str, scale: int = 3) -> Image:
    """A code as printed (black on white, quiet zones included): kind ean13, qr, gs1-128,
    gs1-datamatrix."""
    formats = {
        "ean13": zxingcpp.BarcodeFormat.EAN13,
        "qr": zxingcpp.BarcodeFormat.QRCode,
        "gs1-128": zxingcpp.BarcodeFormat.Code128,
        "gs1-datamatrix": zxingcpp.BarcodeFormat.DataMatrix,
    }
    barcode = zxingcpp.create_barcode(text, formats[kind], gs1=kind.startswith("gs1"))
    image = np.array(barcode.to_image(scale=scale), np.uint8)
    if kind == "ean13":  # give the bars some height, as a printed EAN has
        size = (image.shape[1], image.shape[1] // 2)
        image = np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_NEAREST), np.uint8)
    return image


def frame(
    width: int = 640,
    height: int = 360,
    paste: Image | None = None,
    angle: float = 0.0,
    at: tuple[float, float] = (0.5, 0.5),
    blur: float = 0.0,
    seed: int = 0,
) -> Image:
    """A BGR frame: a grey, slightly noisy background with `paste` centred at `at` (fractions of
    the frame), turned by `angle` degrees about its centre."""
    rng = np.random.default_rng(seed)
    gray = (rng.integers(150, 190, (height, width), dtype=np.uint8)).astype(np.uint8)
    if paste is not None:
        h, w = paste.shape[:2]
        cx, cy = width * at[0], height * at[1]
        turn = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        turn[0, 2] += cx - w / 2
        turn[1, 2] += cy - h / 2
        mask = np.full((h, w), 255, np.uint8)
        placed = cv2.warpAffine(paste, turn, (width, height), flags=cv2.INTER_LINEAR)
        inside = cv2.warpAffine(mask, turn, (width, height), flags=cv2.INTER_NEAREST) > 0
        gray[inside] = placed[inside]
    if blur:
        gray = np.asarray(cv2.GaussianBlur(gray, (0, 0), blur), np.uint8)
    return np.asarray(cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR), np.uint8)


def write_folder(folder: Path, frames: Sequence[Image]) -> Path:
    """The frames as numbered PNG files: an image folder camera."""
    folder.mkdir(parents=True, exist_ok=True)
    for number, image in enumerate(frames):
        cv2.imwrite(str(folder / f"{number:04d}.png"), image)
    return folder


def write_video(path: Path, frames: Sequence[Image], fps: float = 25.0) -> Path:
    """The frames as a Motion-JPEG AVI file (every OpenCV build can write and read it)."""
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write {path}")
    for image in frames:
        writer.write(image)
    writer.release()
    return path
