"""Writes the station's three feedback sounds (ok.wav, warning.wav, error.wav) beside this file.

Run once (`python resources/sounds/make_sounds.py`) and commit the WAV files; the program only
reads them. Standard library only: 16-bit mono PCM at 16 kHz, a few kilobytes each, with short
fades so that no sound starts or ends with a click.
"""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

RATE = 16_000
PEAK = 0.6 * 32767
FADE_S = 0.005

Tone = tuple[float, float, str]
"""(frequency in Hz or 0 for silence, seconds, wave shape "sine" or "square")"""

SOUNDS: dict[str, tuple[Tone, ...]] = {
    # A short high beep: the scan went through.
    "ok": ((1760.0, 0.08, "sine"),),
    # Two beeps: look at the screen, something needs attention.
    "warning": ((1175.0, 0.07, "sine"), (0.0, 0.06, "sine"), (1175.0, 0.07, "sine")),
    # A low buzz: refused; heard over a warehouse, and not to be mistaken for the ok beep.
    "error": ((180.0, 0.32, "square"),),
}


def samples(frequency: float, seconds: float, shape: str) -> list[int]:
    count = round(seconds * RATE)
    fade = round(FADE_S * RATE)
    out: list[int] = []
    for i in range(count):
        if frequency == 0:
            out.append(0)
            continue
        phase = math.sin(2 * math.pi * frequency * i / RATE)
        value = phase if shape == "sine" else math.copysign(0.5, phase)  # square: quieter peak
        envelope = min(1.0, i / fade, (count - 1 - i) / fade)
        out.append(round(PEAK * value * envelope))
    return out


def write(path: Path, tones: tuple[Tone, ...]) -> None:
    frames = [s for tone in tones for s in samples(*tone)]
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(struct.pack(f"<{len(frames)}h", *frames))


def main() -> None:
    here = Path(__file__).resolve().parent
    for name, tones in SOUNDS.items():
        write(here / f"{name}.wav", tones)
        print(f"{name}.wav: {(here / f'{name}.wav').stat().st_size} bytes")


if __name__ == "__main__":
    main()
