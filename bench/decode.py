"""Camera decoding: ms per 1280x720 and 640x360 frame for each decoder backend and the cascade,
beside the fastest backend measured in the same run (STYLE.md rule 19), and the corpus success
table of each backend beside the cascade (issue 4 point 6).

A. Frames. Every image of ../shared/corpus/camera that has a code and a text ground truth is
centred (shrunk to fit if larger) on one of the corpus's no-barcode photos stretched to 1280x720;
the 640x360 frame is that frame scaled down, as a lower-resolution camera sees the same scene.
The no-barcode photos themselves are the empty frames. Each frame goes through every decoder in turn
(interleaved, so that a shared machine's changing load falls on all alike). The baseline is
zxing-cpp's fast pass; "x base" is a decoder's median over the baseline's median.
The cascade is measured twice: as `perpetua decode` runs it on a still (every pass on a miss)
and as a camera runs it (one fuller pass every third frame that the fast pass finds empty; its
mean per frame is the figure that sets the frame rate).

B. Tilted GS1-128 labels, 5 to 85 degrees, in the same 1280x720 scenes, with modules 2 and 1.5
pixels wide: the case the locate-and-straighten step exists for (REFERENCE: zbar and zxing-cpp
read 9 of 30).

C. The corpus as it is, through `decode` (what `perpetua decode` runs): found (of the images with
a text ground truth), wrong reads (a text that differs from the truth, byte for byte), false
positives (any read on the no-barcode photos), median ms per image.

    .venv/bin/python bench/decode.py [--frames N] [--json]
"""

from __future__ import annotations

import argparse
import ctypes
import importlib.metadata
import json
import os
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import zxingcpp
from machine import machine as machine_info

from app.adapters.camera.cascade import SINGLE, Cascade, for_stills, single, video_cascade
from app.adapters.camera.decoders import Image
from app.adapters.camera.stills import IMAGE_SUFFIXES, decode, read_image

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "camera"
NO_BARCODE = "zxing-falsepositives-2"
BASELINE = "zxing-fast"
SIZES = ((1280, 720), (640, 360))
STILL = "auto (still)"
VIDEO = "auto (video)"
DECODERS = (*SINGLE, STILL, VIDEO)
TILTED_TEXT = "(01)09504000059101(10)ABC123(21)12345678"
TILTED_EXPECTED = "010950400005910110ABC123\x1d2112345678"
TILTED_MODULES = (2.0, 1.5)
WARMUP = 5


def say(message: str) -> None:
    """Progress goes to stderr, so that --json leaves stdout to the one JSON object."""
    print(message, file=sys.stderr, flush=True)


# --- inputs -------------------------------------------------------------------------------------


def corpus_images() -> list[tuple[str, Path, str | None]]:
    """(folder, image, expected text) for every corpus image; the text is None where there is
    none (the no-barcode photos; eci-mixed, whose truth is bytes in mixed encodings)."""
    found = []
    for folder in sorted(p for p in CORPUS.iterdir() if p.is_dir()):
        for image in sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
            truth = image.with_suffix(".txt")
            # Bytes, not text: reading as text would turn the CR LF in QR texts into LF.
            expected = truth.read_bytes().decode("utf-8") if truth.exists() else None
            found.append((folder.name, image, expected))
    return found


def bgr(image: Image) -> Image:
    if image.ndim == 2:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), np.uint8)
    return image


def stretched(image: Image, width: int, height: int) -> Image:
    return np.asarray(cv2.resize(bgr(image), (width, height), interpolation=cv2.INTER_AREA))


def centred(image: Image, scene: Image) -> Image:
    """`image` centred on a copy of `scene`, shrunk to fit (never enlarged)."""
    frame = scene.copy()
    height, width = frame.shape[:2]
    picture = bgr(image)
    scale = min(1.0, 0.95 * width / picture.shape[1], 0.95 * height / picture.shape[0])
    if scale < 1.0:
        size = (round(picture.shape[1] * scale), round(picture.shape[0] * scale))
        picture = np.asarray(cv2.resize(picture, size, interpolation=cv2.INTER_AREA), np.uint8)
    h, w = picture.shape[:2]
    top, left = (height - h) // 2, (width - w) // 2
    frame[top : top + h, left : left + w] = picture
    return frame


def tilted(angle: float, scene: Image, module: float) -> Image:
    """A GS1-128 label with bars `module` pixels wide per module, turned by `angle` degrees in a
    1280x720 scene, slightly out of focus."""
    barcode = zxingcpp.create_barcode(TILTED_TEXT, zxingcpp.BarcodeFormat.Code128, gs1=True)
    label = bgr(np.array(barcode.to_image(scale=4), np.uint8))
    size = (round(label.shape[1] * module / 4), round(label.shape[0] * module / 4))
    label = np.asarray(cv2.resize(label, size, interpolation=cv2.INTER_AREA), np.uint8)
    frame = scene.copy()
    h, w = label.shape[:2]
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    turn[0, 2] += 640 - w / 2
    turn[1, 2] += 360 - h / 2
    placed = cv2.warpAffine(label, turn, (1280, 720))
    inside = cv2.warpAffine(np.full(label.shape[:2], 255, np.uint8), turn, (1280, 720)) > 0
    frame[inside] = placed[inside]
    return np.asarray(cv2.GaussianBlur(frame, (0, 0), 0.8), np.uint8)


# --- timing -------------------------------------------------------------------------------------


def decoders() -> dict[str, Cascade]:
    made = {name: single(name) for name in SINGLE}
    made[STILL] = for_stills("auto")
    made[VIDEO] = video_cascade(fuller_every=3)
    return made


def timed(decoder: Cascade, frame: Image) -> tuple[float, list[str]]:
    started = time.perf_counter()
    codes = decoder.decode(frame)
    return (time.perf_counter() - started) * 1000, [c.text for c in codes]


def summary(ms: Sequence[float], base: Sequence[float] | None = None) -> dict[str, float]:
    cuts = statistics.quantiles(ms, n=10, method="inclusive")
    row = {
        "median_ms": statistics.median(ms),
        "p90_ms": cuts[8],
        "mean_ms": statistics.fmean(ms),
    }
    if base is not None:
        row["x_base"] = row["median_ms"] / statistics.median(base)
        row["mean_x_base"] = row["mean_ms"] / statistics.fmean(base)
    return row


def frames_part(
    code_images: Sequence[tuple[Image, str]], empty_images: Sequence[Image]
) -> dict[str, Any]:
    """Part A: per size, per decoder: ms on frames with a code and on empty frames, and the
    share of code frames whose expected text was read."""
    result: dict[str, Any] = {}
    for width, height in SIZES:
        say(f"frames {width}x{height}: {len(code_images)} with a code, {len(empty_images)} empty")
        made = decoders()
        ms: dict[str, dict[str, list[float]]] = {n: {"code": [], "empty": []} for n in made}
        read = dict.fromkeys(made, 0)
        scenes = [stretched(img, 1280, 720) for img in empty_images]
        big = [(centred(img, scenes[n % len(scenes)]), t) for n, (img, t) in enumerate(code_images)]
        code_frames = [(stretched(f, width, height), t) for f, t in big]
        empty_frames = [stretched(scene, width, height) for scene in scenes]
        for frame, _ in code_frames[:WARMUP]:
            for decoder in made.values():
                decoder.decode(frame)
        for frame, expected in code_frames:
            for name, decoder in made.items():
                took, texts = timed(decoder, frame)
                ms[name]["code"].append(took)
                read[name] += expected in texts
        for frame in empty_frames:
            for name, decoder in made.items():
                ms[name]["empty"].append(timed(decoder, frame)[0])
        base = ms[BASELINE]
        result[f"{width}x{height}"] = {
            name: {
                "code": summary(ms[name]["code"], base["code"]),
                "empty": summary(ms[name]["empty"], base["empty"]),
                "read": read[name],
                "read_pct": 100 * read[name] / len(code_frames),
                "errors": sum(made[name].errors.values()),
            }
            for name in made
        }
    return result


def tilted_part(empty_images: Sequence[Image]) -> dict[str, Any]:
    """Part B: tilted GS1-128 labels with 2- and 1.5-pixel modules: reads, wrong reads and ms
    per decoder."""
    angles = list(range(5, 90, 3))
    scenes = [stretched(img, 1280, 720) for img in empty_images]
    result: dict[str, Any] = {}
    for module in TILTED_MODULES:
        say(f"tilted GS1-128 labels, {module:g}-pixel modules: {len(angles)} angles")
        made = {name: single(name) for name in SINGLE}
        made[STILL] = for_stills("auto")
        frames = [tilted(a, scenes[n % len(scenes)], module) for n, a in enumerate(angles)]
        ms: dict[str, list[float]] = {name: [] for name in made}
        read = dict.fromkeys(made, 0)
        wrong = dict.fromkeys(made, 0)
        for frame in frames:
            for name, decoder in made.items():
                took, texts = timed(decoder, frame)
                ms[name].append(took)
                read[name] += TILTED_EXPECTED in texts
                wrong[name] += sum(text != TILTED_EXPECTED for text in texts)
        result[f"{module:g}px"] = {
            name: {
                "read": read[name],
                "wrong": wrong[name],
                "of": len(frames),
                **summary(ms[name], ms[BASELINE]),
            }
            for name in made
        }
    return result


def corpus_part(images: Sequence[tuple[str, Path, str | None]]) -> dict[str, Any]:
    """Part C: the corpus through `decode`, per backend and the cascade."""
    say(f"corpus: {len(images)} images through decode()")
    rows: dict[str, Any] = {}
    for backend in (*SINGLE, "auto"):
        decoder = for_stills(backend)
        found = wrong = false_positives = judged = 0
        ms: list[float] = []
        for folder, image, expected in images:
            result = decode(image, backend, decoder)
            ms.append(result.ms)
            texts = [c.text for c in result.codes]
            if folder == NO_BARCODE:
                false_positives += len(texts)
            elif expected is not None:
                judged += 1
                found += expected in texts
                wrong += sum(text != expected for text in texts)
        rows[backend] = {
            "judged": judged,
            "found": found,
            "found_pct": 100 * found / judged,
            "wrong": wrong,
            "false_positives": false_positives,
            "median_ms": statistics.median(ms),
            "errors": sum(decoder.errors.values()),
        }
    return rows


# --- report -------------------------------------------------------------------------------------


def zbar_version() -> str:
    try:
        from pyzbar import wrapper
    except ImportError:
        return "not installed"
    major, minor = ctypes.c_uint(), ctypes.c_uint()
    wrapper.zbar_version(ctypes.byref(major), ctypes.byref(minor))
    return f"{major.value}.{minor.value}"


def machine() -> dict[str, Any]:
    return machine_info(
        opencv=cv2.__version__,
        zxing_cpp=importlib.metadata.version("zxing-cpp"),
        zbar=zbar_version(),
        numpy=np.__version__,
    )


def print_report(report: dict[str, Any]) -> None:
    m = report["machine"]
    print(f"Perpetua decode benchmark, {m['time']}")
    print(f"machine: {m['cpu_count']} CPUs ({m['cpu']}), {m['platform']}")
    print(f"load average (1 min): {m['load_start']:.2f} at start, {m['load_end']:.2f} at end")
    print(
        f"python {m['python']}, OpenCV {m['opencv']}, zxing-cpp {m['zxing_cpp']}, "
        f"zbar {m['zbar']}, numpy {m['numpy']}"
    )
    print(f"baseline: {BASELINE} (zxing-cpp, formats in use, no rotate/invert/downscale)")
    for size, rows in report["frames"].items():
        print()
        print(
            f"A. {size} frames: ms per frame (median, p90, mean), x base = median / baseline "
            "median; read = code frames whose text was read"
        )
        head = (
            f"{'decoder':<14}|{'code':>7}{'p90':>7}{'mean':>7}{'x base':>8} |"
            f"{'empty':>7}{'p90':>7}{'mean':>7}{'x base':>8} |{'read':>6}{'%':>7}"
        )
        print(head)
        print("-" * len(head))
        for name, r in rows.items():
            c, e = r["code"], r["empty"]
            print(
                f"{name:<14}|{c['median_ms']:>7.1f}{c['p90_ms']:>7.1f}{c['mean_ms']:>7.1f}"
                f"{c['x_base']:>7.1f}x |{e['median_ms']:>7.1f}{e['p90_ms']:>7.1f}"
                f"{e['mean_ms']:>7.1f}{e['x_base']:>7.1f}x |{r['read']:>6}{r['read_pct']:>6.1f}%"
            )
    for module, rows in report["tilted"].items():
        print()
        print(f"B. tilted GS1-128 labels, {module} modules, in 1280x720 scenes (5-85 degrees)")
        head = f"{'decoder':<14}{'read':>6}{'of':>4}{'wrong':>7}{'median ms':>11}{'x base':>8}"
        print(head)
        print("-" * len(head))
        for name, r in rows.items():
            print(
                f"{name:<14}{r['read']:>6}{r['of']:>4}{r['wrong']:>7}{r['median_ms']:>11.1f}"
                f"{r['x_base']:>7.1f}x"
            )
    print()
    print("C. corpus through decode(): found of the images with a text ground truth")
    head = (
        f"{'backend':<12}{'found':>7}{'of':>5}{'%':>8}{'wrong':>7}{'false pos':>11}"
        f"{'median ms':>11}"
    )
    print(head)
    print("-" * len(head))
    for name, r in report["corpus"].items():
        print(
            f"{name:<12}{r['found']:>7}{r['judged']:>5}{r['found_pct']:>7.1f}%{r['wrong']:>7}"
            f"{r['false_positives']:>11}{r['median_ms']:>11.2f}"
        )
    errors = sum(r["errors"] for r in report["corpus"].values())
    errors += sum(r["errors"] for rows in report["frames"].values() for r in rows.values())
    print(f"decoder exceptions caught by the guard: {errors}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--frames", type=int, default=0, help="code frames at most (0: every corpus image)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if not CORPUS.is_dir():
        parser.error(f"the corpus is not at {CORPUS}")
    info = machine()
    images = corpus_images()
    with_code = [(read_image(p), t) for f, p, t in images if f != NO_BARCODE and t is not None]
    if args.frames:
        with_code = with_code[:: max(1, len(with_code) // args.frames)][: args.frames]
    empty = [read_image(p) for f, p, _ in images if f == NO_BARCODE]
    started = time.perf_counter()
    report: dict[str, Any] = {"machine": info}
    report["frames"] = frames_part(with_code, empty)
    report["tilted"] = tilted_part(empty)
    report["corpus"] = corpus_part(images)
    info["load_end"] = os.getloadavg()[0]
    info["seconds"] = round(time.perf_counter() - started, 1)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
