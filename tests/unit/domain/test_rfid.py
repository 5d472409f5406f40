"""RFID serial protocols: CRC, framing, split frames, noise, broken frames, dedupe window.

The bytes are the real captures of ../shared/corpus/rfid, cut and damaged in the ways a serial
line damages them.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from app.domain.rfid import (
    MAX_LINE,
    AsciiLineParser,
    DedupeWindow,
    Event,
    Reason,
    Rejected,
    Ru5102Parser,
    TagRead,
    build_command,
    crc16,
    inventory_command,
    inventory_reply,
)

CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "corpus" / "rfid"
BINARY = (CORPUS / "ru5102_inventory.bin").read_bytes()
LINES = (CORPUS / "ascii_lines.txt").read_bytes()
EXPECTED = json.loads((CORPUS / "expected.json").read_text())
UNIQUE = EXPECTED["unique_epcs"]
# What the reader sent, in order: two replies with tags, then "no tag in the field".
BINARY_READS = [UNIQUE[0], UNIQUE[1], UNIQUE[1], UNIQUE[2], UNIQUE[3]]
LINE_READS = [UNIQUE[0], UNIQUE[1], UNIQUE[2], UNIQUE[3], UNIQUE[0], UNIQUE[1]]
FACTORY = "E28011700000020A1B2C3D4E"


def tags(events: list[Event]) -> list[str]:
    return [e.epc for e in events if isinstance(e, TagRead)]


def reasons(events: list[Event]) -> list[Reason]:
    return [e.reason for e in events if isinstance(e, Rejected)]


def reply(*epcs: str, status: int = 0x01) -> bytes:
    return inventory_reply([bytes.fromhex(e) for e in epcs], status)


def feed_in_pieces(
    parser: Ru5102Parser | AsciiLineParser, data: bytes, cuts: list[int]
) -> list[Event]:
    events: list[Event] = []
    for start, end in zip([0, *cuts], [*cuts, len(data)], strict=True):
        events += parser.feed(data[start:end])
    return events


# --- CRC and commands -------------------------------------------------------------------------


def crc_by_the_book(data: bytes) -> int:
    """CRC-16/MCRF4XX bit by bit, as the README states it: poly 0x8408 reflected, init 0xFFFF."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc


def test_crc_check_vectors() -> None:
    assert crc16(b"abcdef") == 64265
    assert inventory_command(0x0A) == bytes.fromhex("040A01ABB6")


def test_crc_agrees_with_the_bitwise_definition_on_random_data() -> None:
    rng = random.Random(5102)
    for _ in range(2000):
        data = rng.randbytes(rng.randrange(0, 300))
        assert crc16(data) == crc_by_the_book(data)


def test_every_corpus_frame_carries_its_crc_low_byte_first() -> None:
    at = 0
    while at < len(BINARY):
        frame = BINARY[at : at + BINARY[at] + 1]
        assert int.from_bytes(frame[-2:], "little") == crc16(frame[:-2])
        at += len(frame)
    assert at == len(BINARY)


def test_the_reply_encoder_rebuilds_the_capture_byte_for_byte() -> None:
    rebuilt = (
        reply(UNIQUE[0], UNIQUE[1]) + reply(UNIQUE[1], UNIQUE[2], UNIQUE[3]) + reply(status=0xFB)
    )
    assert rebuilt == BINARY


def test_commands_refuse_values_that_do_not_fit_a_byte() -> None:
    assert build_command(0xFF, 0x01) == inventory_command()
    with pytest.raises(ValueError):
        build_command(0x100, 0x01)
    with pytest.raises(ValueError):
        build_command(0x00, 0x01, bytes(252))
    with pytest.raises(ValueError):
        inventory_reply([bytes(12)], status=0xFB)


# --- CF-RU5102 framing ------------------------------------------------------------------------


def test_the_capture_gives_every_read_in_order() -> None:
    parser = Ru5102Parser()
    events = parser.feed(BINARY)
    assert tags(events) == BINARY_READS
    assert reasons(events) == []
    assert sorted(set(tags(events))) == sorted(UNIQUE)
    stats = parser.stats
    assert (stats.frames, stats.replies, stats.tags, stats.no_tag) == (3, 3, 5, 1)
    assert parser.pending == 0


def test_frames_split_at_every_possible_point_read_the_same() -> None:
    for cut in range(1, len(BINARY)):
        assert tags(feed_in_pieces(Ru5102Parser(), BINARY, [cut])) == BINARY_READS


def test_a_byte_at_a_time_and_random_pieces_read_the_same() -> None:
    assert tags(feed_in_pieces(Ru5102Parser(), BINARY, list(range(1, len(BINARY))))) == (
        BINARY_READS
    )
    rng = random.Random(7)
    for _ in range(300):
        cuts = sorted(rng.sample(range(1, len(BINARY)), rng.randrange(1, 12)))
        assert tags(feed_in_pieces(Ru5102Parser(), BINARY, cuts)) == BINARY_READS


def test_line_noise_before_and_between_frames_is_skipped_and_counted() -> None:
    parser = Ru5102Parser()
    noise, other = bytes.fromhex("00FF1301A5"), bytes.fromhex("20AA029901")
    events = parser.feed(noise + BINARY[:33] + other + other + BINARY[33:])
    assert tags(events) == BINARY_READS
    # One rejection per run of noise, where a frame was expected; then the parser hunts.
    assert reasons(events) == [Reason.BAD_LENGTH, Reason.UNEXPECTED_HEADER]
    assert parser.stats.resyncs == 2
    assert parser.stats.noise_bytes == 3 * len(noise)


def test_a_frame_failing_its_crc_is_dropped_and_the_next_frames_read() -> None:
    broken = bytearray(BINARY)
    broken[10] ^= 0x04  # one bit of the first EPC
    parser = Ru5102Parser()
    events = parser.feed(bytes(broken))
    assert tags(events) == BINARY_READS[2:]
    assert reasons(events) == [Reason.CRC]
    assert parser.stats.rejected == {Reason.CRC: 1}
    rejected = next(e for e in events if isinstance(e, Rejected))
    assert "failed its CRC check" in rejected.detail and rejected.raw == bytes(broken[:32])


def test_a_frame_cut_short_is_dropped_once_the_next_frame_is_complete() -> None:
    parser = Ru5102Parser()
    no_tag = reply(status=0xFB)  # six bytes: shorter than what the cut frame still expects
    events = parser.feed(BINARY[:20])
    assert events == [] and parser.pending == 20  # it could still be a frame: wait
    events = parser.feed(no_tag)  # the reader was reset mid-frame and answers afresh
    assert reasons(events) == [Reason.TRUNCATED]
    assert parser.stats.no_tag == 1 and parser.pending == 0
    assert tags(parser.feed(reply(FACTORY))) == [FACTORY]


def test_a_frame_cut_short_before_a_long_frame_fails_its_crc() -> None:
    parser = Ru5102Parser()
    events = parser.feed(BINARY[:20] + BINARY[33:])
    assert tags(events) == BINARY_READS[2:]
    assert reasons(events) == [Reason.CRC]


def test_a_tag_list_that_does_not_add_up_is_refused_without_losing_step() -> None:
    epc = bytes.fromhex(UNIQUE[0])
    data = bytes((0x01, 2, 12)) + epc  # says two tags, holds one
    bad = build_command(0x00, 0x01, data)
    odd = build_command(0x00, 0x01, bytes((0x01, 1, 11)) + epc[:11])  # not whole words
    parser = Ru5102Parser()
    events = parser.feed(bad + odd + BINARY)
    assert reasons(events) == [Reason.MALFORMED, Reason.MALFORMED]
    assert tags(events) == BINARY_READS
    assert parser.stats.resyncs == 0


def test_a_reader_error_status_is_reported_with_its_meaning() -> None:
    parser = Ru5102Parser()
    events = parser.feed(build_command(0x00, 0x01, bytes((0xFE,))) + BINARY)
    assert tags(events) == BINARY_READS
    [error] = [e for e in events if isinstance(e, Rejected)]
    assert error.reason is Reason.READER_ERROR and "illegal command" in error.detail
    assert parser.stats.replies == 4


def test_our_own_command_echoed_back_is_not_a_reply() -> None:
    parser = Ru5102Parser()
    events = parser.feed(inventory_command() + BINARY)
    assert tags(events) == BINARY_READS
    assert reasons(events) == [Reason.BAD_LENGTH]


def test_more_follows_frames_are_read_and_end_no_reply() -> None:
    parser = Ru5102Parser()
    events = parser.feed(reply(UNIQUE[0], status=0x03) + reply(UNIQUE[1]))
    assert tags(events) == UNIQUE[:2]
    assert parser.stats.frames == 2 and parser.stats.replies == 1


def test_endless_noise_holds_back_at_most_one_frame() -> None:
    parser = Ru5102Parser()
    rng = random.Random(3)
    held = 0
    for _ in range(500):
        parser.feed(rng.randbytes(997))
        held = max(held, parser.pending)
    assert held <= 256
    assert tags(parser.feed(BINARY + BINARY)) != []


# --- ASCII-line readers -----------------------------------------------------------------------


def test_ascii_capture_gives_every_line_in_order() -> None:
    parser = AsciiLineParser()
    events = parser.feed(LINES)
    assert tags(events) == LINE_READS
    assert parser.stats.lines == 6 and parser.pending == 0


def test_ascii_lines_split_anywhere_and_any_line_end() -> None:
    for cut in range(1, len(LINES)):
        assert tags(feed_in_pieces(AsciiLineParser(), LINES, [cut])) == LINE_READS
    for ending in (b"\r", b"\n", b"\n\r", b"\r\n\r\n"):
        text = LINES.replace(b"\r\n", ending)
        assert tags(feed_in_pieces(AsciiLineParser(), text, list(range(1, len(text))))) == (
            LINE_READS
        )


def test_ascii_padding_blank_lines_and_lower_case_are_tolerated() -> None:
    parser = AsciiLineParser()
    events = parser.feed(b"\r\n  \r\n\x00" + FACTORY.lower().encode() + b" \t\r\n\r\n")
    assert events == [TagRead(FACTORY)]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"3034257BF7194E40000000G1", Reason.NOT_HEX),
        (b"3034257B F7194E4000000001", Reason.NOT_HEX),
        (b"\xff\xfe\x01", Reason.NOT_HEX),
        (b"3034257BF7194E400000001", Reason.ODD_LENGTH),
        (b"3034257BF7194E40000001", Reason.PARTIAL_WORD),
        (b"AB", Reason.PARTIAL_WORD),
        (b"E2" * 63, Reason.TOO_LONG),
    ],
)
def test_ascii_lines_that_are_not_epcs_are_refused_with_their_reason(
    line: bytes, reason: Reason
) -> None:
    parser = AsciiLineParser()
    events = parser.feed(LINES[:26] + line + b"\r\n" + LINES[26:])
    assert reasons(events) == [reason]
    assert tags(events) == LINE_READS
    assert parser.stats.rejected == {reason: 1}


def test_the_longest_epc_is_read() -> None:
    longest = "E2" * 62  # 496 bits
    assert tags(AsciiLineParser().feed(longest.encode() + b"\n")) == [longest]


def test_a_line_without_end_is_refused_once_and_reading_goes_on() -> None:
    parser = AsciiLineParser()
    events = []
    for _ in range(10):
        events += parser.feed(b"\x8a\x00" * 100)  # binary frames sent to an ASCII parser
        assert parser.pending <= MAX_LINE
    events += parser.feed(b"\x01\x02\r\n" + LINES)
    assert reasons(events) == [Reason.TOO_LONG]
    assert tags(events) == LINE_READS


# --- dedupe window ----------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_tag_read_many_times_a_second_is_reported_once() -> None:
    clock = FakeClock()
    window = DedupeWindow(2.0, clock)
    reported = []
    for _ in range(100):  # ten seconds on the table, read ten times a second
        reported += [e for e in (UNIQUE[0], UNIQUE[1]) if window.accept(e)]
        clock.now += 0.1
    assert reported == [UNIQUE[0], UNIQUE[1]]


def test_a_tag_back_after_a_whole_window_away_is_reported_again() -> None:
    clock = FakeClock()
    window = DedupeWindow(2.0, clock)
    assert window.accept(FACTORY)
    clock.now += 1.99
    assert not window.accept(FACTORY)
    clock.now += 1.99  # seen 1.99 s ago: still in the field
    assert not window.accept(FACTORY)
    clock.now += 2.0
    assert window.accept(FACTORY)


def test_accept_many_reports_the_new_reads_of_a_batch_in_order() -> None:
    clock = FakeClock()
    window = DedupeWindow(1.0, clock)
    assert window.accept_many(LINE_READS) == UNIQUE
    clock.now += 0.5
    assert window.accept_many([FACTORY, UNIQUE[0]]) == [FACTORY]
    clock.now += 0.9
    assert window.accept_many([UNIQUE[0], UNIQUE[3]]) == [UNIQUE[3]]  # UNIQUE[0] seen 0.9 s ago


def test_a_zero_window_reports_every_read() -> None:
    window = DedupeWindow(0.0, FakeClock())
    assert window.accept_many(LINE_READS) == LINE_READS
    with pytest.raises(ValueError):
        DedupeWindow(-1.0)


def test_memory_is_bounded_by_the_tags_of_one_window() -> None:
    clock = FakeClock()
    window = DedupeWindow(1.0, clock)
    for n in range(200_000):  # a conveyor: 1,000 new tags a second, each read once
        window.accept(f"{n:024X}")
        clock.now += 0.001
    assert len(window) <= 2 * 1024 + 2
