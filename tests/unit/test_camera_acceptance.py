"""Which per-frame camera reads become scans: 1D codes after repeating, 2D at once, each once."""

from __future__ import annotations

from dataclasses import dataclass

from app.adapters.camera.acceptance import ReadFilter


@dataclass(frozen=True)
class Read:
    text: str
    matrix: bool = False


EAN = Read("9780764544200")
MISREAD = Read("9780764544217")
QR = Read("PERPETUA-BADGE-0042", matrix=True)


def scans(reads_per_frame: list[list[Read]], **options: int) -> list[tuple[int, str]]:
    """(frame number, text) of every scan over a run of frames numbered from 1."""
    accepted = ReadFilter(**options)
    return [
        (number, read.text)
        for number, reads in enumerate(reads_per_frame, 1)
        for read in accepted.feed(number, reads)
    ]


def test_a_1d_read_becomes_a_scan_on_its_second_consecutive_frame() -> None:
    assert scans([[EAN], [EAN], [EAN], [EAN]]) == [(2, EAN.text)]


def test_a_1d_misread_in_one_frame_never_becomes_a_scan() -> None:
    assert scans([[EAN], [MISREAD], [EAN], [EAN]]) == [(4, EAN.text)]


def test_a_2d_read_is_a_scan_at_once() -> None:
    assert scans([[QR], [QR]]) == [(1, QR.text)]


def test_the_repeat_count_is_configurable() -> None:
    frames = [[EAN], [EAN], [], [EAN], [EAN], [EAN]]
    assert scans(frames, confirm_frames=3) == [(6, EAN.text)]
    assert scans(frames, confirm_frames=1) == [(1, EAN.text)]


def test_a_code_in_view_is_reported_once_even_if_some_frames_miss_it() -> None:
    frames = [[EAN], [EAN], [], [], [EAN], [EAN], [], [EAN], [EAN]]
    assert scans(frames, forget_after=3) == [(2, EAN.text)]


def test_a_code_out_of_view_for_long_enough_is_reported_again() -> None:
    frames = [[EAN], [EAN], [], [], [], [EAN], [EAN]]
    assert scans(frames, forget_after=3) == [(2, EAN.text), (7, EAN.text)]
    assert scans(frames, forget_after=4) == [(2, EAN.text)]


def test_two_codes_in_view_are_two_scans_and_a_duplicate_label_is_one() -> None:
    assert scans([[EAN, QR, QR], [EAN, QR]]) == [(1, QR.text), (2, EAN.text)]
