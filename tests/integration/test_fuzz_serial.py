"""T10, serial part (RELIABILITY.md): 100,000 generated inputs through both serial parsers.

Each input is what a reader's line could deliver: good frames or lines with bad ones between them
(random bytes, short line noise, corrupted corpus frames, frames cut short, wrong CRCs, wrong or
huge lengths, CRC-valid frames whose tag list does not add up; for ASCII readers, lines that are not
hex, of odd length, not whole words, too long, or never ending). Every input is fed, in random
pieces, to BOTH parsers: neither may raise. The parser the input is meant for must return exactly
the good tags in order, and refuse each bad frame or line exactly once with a specific reason.
"""

from __future__ import annotations

import json
import random
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from app.domain.epc import decode_epc
from app.domain.rfid import (
    MAX_EPC_BYTES,
    AsciiLineParser,
    Event,
    Reason,
    Rejected,
    Ru5102Parser,
    TagRead,
    build_command,
    crc16,
    inventory_reply,
)

INPUTS = 100_000
SEED = 10
CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "rfid"
CAPTURE = (CORPUS / "ru5102_inventory.bin").read_bytes()
CORPUS_FRAMES = [CAPTURE[0:33], CAPTURE[33:79], CAPTURE[79:85]]
CORPUS_EPCS = [
    ["3034257BF7194E4000000001", "3034257BF7194E4000000002"],
    ["3034257BF7194E4000000002", "3034257BF7194E4000000003", "3074257BF7194E4000001A85"],
    [],
]
HEX = "0123456789ABCDEF"
NOT_HEX = [c for c in range(0x21, 0x100) if chr(c) not in HEX + HEX.lower()]


@dataclass
class Case:
    """One input: its bytes, the tags its parser must return, the refusals it must make."""

    data: bytes
    tags: list[str]
    refusals: list[Reason | None]  # None: a refusal of any reason (line noise, random bytes)
    exact: bool = True  # False: random bytes in ASCII lines may hold hex lines of their own


# --- CF-RU5102 inputs -------------------------------------------------------------------------


def epc(rng: random.Random) -> bytes:
    size = 12 if rng.random() < 0.8 else 2 * rng.randint(1, MAX_EPC_BYTES // 2)
    return rng.randbytes(size)


def good_frame(rng: random.Random) -> tuple[bytes, list[str]]:
    pick = rng.random()
    if pick < 0.1:
        n = rng.randrange(3)
        return CORPUS_FRAMES[n], CORPUS_EPCS[n]
    if pick < 0.2:
        return inventory_reply([], 0xFB, rng.randrange(256)), []
    epcs: list[bytes] = []
    room = 0xFF - 6
    for _ in range(rng.randint(0, 8)):
        tag = epc(rng)
        if 1 + len(tag) > room:
            break
        epcs.append(tag)
        room -= 1 + len(tag)
    frame = inventory_reply(epcs, rng.choice((1, 2, 3, 4)), rng.randrange(256))
    return frame, [e.hex().upper() for e in epcs]


def flip_bits(frame: bytes, rng: random.Random) -> bytes:
    damaged = bytearray(frame)
    for bit in rng.sample(range(8 * len(frame)), rng.randint(1, 3)):
        damaged[bit // 8] ^= 1 << (bit % 8)
    return bytes(damaged)


def bad_segment(rng: random.Random) -> tuple[str, bytes, Reason | None]:
    """A bad stretch of line: its kind, its bytes, and the reason it must be refused for.

    Only a wrong CRC and a tag list that does not add up have one certain reason; how the rest
    is refused depends on which of their bytes were hit (a length, a status, the CRC) and on
    what follows them.
    """
    kind = rng.choice(
        ["random", "noise", "corrupted", "truncated", "bad_crc", "bad_length", "huge_len", "list"]
    )
    frame, _ = good_frame(rng)
    if kind == "random":
        return kind, rng.randbytes(rng.randint(1, 300)), None
    if kind == "noise":
        return kind, rng.randbytes(rng.randint(1, 8)), None
    if kind == "corrupted":
        return kind, flip_bits(frame, rng), None
    if kind == "truncated":
        return kind, frame[: rng.randrange(1, len(frame))], None
    if kind == "bad_crc":
        crc = crc16(frame[:-2]) ^ rng.randint(1, 0xFFFF)
        return kind, frame[:-2] + bytes((crc & 0xFF, crc >> 8)), Reason.CRC
    if kind == "bad_length":
        length = (frame[0] + rng.randint(1, 255)) % 256
        return kind, bytes((length,)) + frame[1:], None
    if kind == "huge_len":
        return kind, bytes((0xFF, 0x00, 0x01, 0x01)) + rng.randbytes(rng.randint(0, 60)), None
    # A CRC-valid reply whose tag list does not add up: one tag more than it holds, an odd
    # EPC length, or a stray byte after the list.
    tags = [epc(rng) for _ in range(rng.randint(1, 3))]
    body = b"".join(bytes((len(t),)) + t for t in tags)
    flaw = rng.randrange(3)
    count = len(tags) + (flaw == 0)
    if flaw == 1:
        body = bytes((11,)) + tags[0][:11] + body[1 + len(tags[0]) :]
    data = bytes((0x01, count)) + body + (b"\x00" if flaw == 2 else b"")
    return kind, build_command(0x00, 0x01, data), Reason.MALFORMED


def _table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
        table.append(crc)
    return table


CRC_TABLE = _table()


def crc_by_table(data: bytes) -> int:
    """CRC-16/MCRF4XX written independently of the code under test."""
    crc = 0xFFFF
    for byte in data:
        crc = (crc >> 8) ^ CRC_TABLE[(crc ^ byte) & 0xFF]
    return crc


def frame_starts_at(stream: bytes, at: int) -> bool:
    """Whether an inventory reply with a good CRC starts here (whatever its tag list)."""
    length = stream[at]
    end = at + length + 1
    if length < 5 or at + 2 >= len(stream) or stream[at + 2] != 0x01 or end > len(stream):
        return False
    return crc_by_table(stream[at : end - 2]) == int.from_bytes(stream[end - 2 : end], "little")


def ambiguous(stream: bytes, bad: list[tuple[int, int, str]]) -> bool:
    """Whether good frames were made by chance inside the bad bytes (with what follows them).

    A frame cut one byte short, followed by a frame that starts with the missing CRC byte, IS a
    whole frame again; a wrong length can land on a CRC that happens to check (1 in 65,536).
    Those bytes are not bad, they are a frame, and the input is generated afresh.
    """
    for start, end, kind in bad:
        first = start + 1 if kind == "list" else start  # "list" is meant to start a CRC-good frame
        at = stream.find(1, first + 2, end + 2)
        while at != -1:
            if frame_starts_at(stream, at - 2):
                return True
            at = stream.find(1, at + 1, end + 2)
    return False


def binary_case(rng: random.Random, tally: Tally) -> tuple[Case, list[str]]:
    while True:
        # Good frames, with a bad stretch before some of them; a good frame always ends it.
        layout = [rng.random() < 0.3] + [rng.random() < 0.6 for _ in range(rng.randint(1, 4))]
        data = b""
        tags: list[str] = []
        kinds: list[str] = []
        refusals: list[Reason | None] = []
        bad: list[tuple[int, int, str]] = []
        for bad_first in layout:
            if bad_first:
                kind, segment, reason = bad_segment(rng)
                bad.append((len(data), len(data) + len(segment), kind))
                data += segment
                kinds.append(kind)
                refusals.append(reason)
            frame, epcs = good_frame(rng)
            data, tags = data + frame, tags + epcs
        if not ambiguous(data, bad):
            return Case(data, tags, refusals), kinds
        tally.regenerated += 1


# --- ASCII-line inputs ------------------------------------------------------------------------


def hex_line(rng: random.Random, words: int) -> str:
    text = f"{rng.getrandbits(16 * words):0{4 * words}X}"
    return text.lower() if rng.random() < 0.2 else text


def ending(rng: random.Random) -> bytes:
    return rng.choice([b"\r\n", b"\n", b"\r", b"\r\n\r\n"])


def padded(rng: random.Random, text: bytes) -> bytes:
    return rng.choice([b"", b" ", b"\x00"]) + text + rng.choice([b"", b" ", b"\t"])


def bad_line(rng: random.Random) -> tuple[bytes, Reason | None, bool]:
    """A bad line (with its end), the reason it must be refused for, and if that is exact."""
    kind = rng.randrange(6)
    text = hex_line(rng, rng.randint(2, 31))
    if kind == 0:
        at = rng.randrange(len(text))
        wrong = bytes((rng.choice(NOT_HEX),))
        return (
            text[:at].encode() + wrong + text[at + 1 :].encode() + ending(rng),
            Reason.NOT_HEX,
            True,
        )
    if kind == 1:
        return text[1:].encode() + ending(rng), Reason.ODD_LENGTH, True
    if kind == 2:
        return text[2:].encode() + ending(rng), Reason.PARTIAL_WORD, True
    if kind == 3:
        long = hex_line(rng, 32) + hex_line(rng, rng.randint(0, 30))  # 128+ digits
        return long.encode() + ending(rng), Reason.TOO_LONG, True
    if kind == 4:  # a line that never ends: a binary reader on an ASCII port
        junk = bytes(b for b in rng.randbytes(rng.randint(300, 700)) if b not in b"\r\n")
        return junk + b"\r\n", Reason.TOO_LONG, True
    junk = bytes(b for b in rng.randbytes(rng.randint(1, 120)) if b not in b"\r\n")
    return junk + b"\r\n", None, False


def ascii_case(rng: random.Random) -> tuple[Case, list[str]]:
    data, exact = b"", True
    tags: list[str] = []
    refusals: list[Reason | None] = []
    for _ in range(rng.randint(1, 6)):
        if rng.random() < 0.45:
            line, reason, sure = bad_line(rng)
            if line.strip(b" \t\x00\x0b\x0c\r\n"):
                data += line
                refusals.append(reason)
                exact = exact and sure
        else:
            text = hex_line(rng, rng.choice([6, 6, 6, rng.randint(1, 31)]))
            data += padded(rng, text.encode()) + ending(rng)
            tags.append(text.upper())
    return Case(data, tags, refusals, exact), ["ascii"]


# --- the run ----------------------------------------------------------------------------------


@dataclass
class Tally:
    inputs: int = 0
    crashes: int = 0
    mismatches: int = 0
    tags_expected: int = 0
    tags_found: int = 0
    false_frames: int = 0
    regenerated: int = 0
    resyncs: int = 0
    noise_bytes: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        if len(self.examples) < 5:
            self.examples.append(text)


def feed(parser: Callable[[bytes], list[Event]], data: bytes, rng: random.Random) -> list[Event]:
    events: list[Event] = []
    at = 0
    while at < len(data):
        size = 1 + rng.getrandbits(6)
        events += parser(data[at : at + size])
        at += size
    return events


def check(case: Case, events: list[Event]) -> str | None:
    """What is wrong with the parser's answer to this case, if anything."""
    tags = [e.epc for e in events if isinstance(e, TagRead)]
    refused = [e.reason for e in events if isinstance(e, Rejected)]
    if case.exact:
        if tags != case.tags:
            return f"tags {tags} != {case.tags}"
        if len(refused) != len(case.refusals):
            return f"refusals {refused} != {case.refusals}"
        for got, wanted in zip(refused, case.refusals, strict=True):
            if wanted is not None and got is not wanted:
                return f"refused for {got}, expected {wanted}"
        return None
    remaining = iter(tags)
    if not all(wanted in remaining for wanted in case.tags):
        return f"tags {case.tags} not all among {tags}"
    return None


def run_one(case: Case, target: str, rng: random.Random, tally: Tally) -> None:
    """The input through both parsers (neither may raise); the target's answer checked."""
    binary, lines = Ru5102Parser(), AsciiLineParser()
    answers: dict[str, list[Event]] = {}
    for name, parser in (("ru5102", binary.feed), ("ascii", lines.feed)):
        try:
            answers[name] = feed(parser, case.data, rng)
            for event in answers[name]:
                # Whatever a parser lets through is decoded as the station would; the tags
                # generated as good ones are well-formed, the rest came out of the noise.
                if isinstance(event, TagRead) and event.epc not in case.tags:
                    decode_epc(event.epc)
        except Exception:  # the finding this test exists to catch: count it, show it
            tally.crashes += 1
            tally.note(f"{name} raised on {case.data.hex()}:\n{traceback.format_exc()}")
    if target not in answers:
        return
    events = answers[target]
    found = sum(isinstance(e, TagRead) for e in events)
    tally.tags_expected += len(case.tags)
    tally.tags_found += found
    tally.refused.update(e.reason.value for e in events if isinstance(e, Rejected))
    if target == "ru5102":
        tally.resyncs += binary.stats.resyncs
        tally.noise_bytes += binary.stats.noise_bytes
        tally.false_frames += found > len(case.tags)
    problem = check(case, events)
    if problem is not None:
        tally.mismatches += 1
        tally.note(f"{target} on {case.data.hex()}: {problem}")


@pytest.mark.slow
def test_t10_serial_fuzz(capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(SEED)
    binary, lines = Tally(), Tally()
    start = time.perf_counter()
    for _ in range(INPUTS):
        if rng.random() < 0.6:
            case, kinds, target, tally = *binary_case(rng, binary), "ru5102", binary
        else:
            case, kinds, target, tally = *ascii_case(rng), "ascii", lines
        tally.inputs += 1
        tally.kinds.update(kinds)
        run_one(case, target, rng, tally)
    seconds = time.perf_counter() - start

    figures = {
        "test": "T10",
        "part": "serial",
        "inputs": INPUTS,
        "crashes": binary.crashes + lines.crashes,
        "mismatches": binary.mismatches + lines.mismatches,
        "ru5102": {
            "inputs": binary.inputs,
            "bad_segments": dict(sorted(binary.kinds.items())),
            "tags_expected": binary.tags_expected,
            "tags_found": binary.tags_found,
            "dropped_crc": binary.refused[Reason.CRC.value],
            "refused": dict(sorted(binary.refused.items())),
            "resyncs": binary.resyncs,
            "noise_bytes": binary.noise_bytes,
            "false_frames": binary.false_frames,
            "regenerated_ambiguous": binary.regenerated,
        },
        "ascii": {
            "inputs": lines.inputs,
            "tags_expected": lines.tags_expected,
            "tags_found": lines.tags_found,
            "refused": dict(sorted(lines.refused.items())),
        },
        "seconds": round(seconds, 1),
    }
    with capsys.disabled():
        print(json.dumps(figures))
    examples = "\n".join(binary.examples + lines.examples)
    assert figures["crashes"] == 0, examples
    assert figures["mismatches"] == 0, examples
    assert binary.false_frames == 0
    assert binary.tags_found == binary.tags_expected > 100_000
    # Every way of being wrong was generated, and each reason was seen.
    assert set(binary.kinds) == {
        "random",
        "noise",
        "corrupted",
        "truncated",
        "bad_crc",
        "bad_length",
        "huge_len",
        "list",
    }
    assert set(binary.refused) == {
        "crc",
        "bad_length",
        "unexpected_header",
        "truncated",
        "malformed",
    }
    assert set(lines.refused) == {"not_hex", "odd_length", "partial_word", "too_long"}
