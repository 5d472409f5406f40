"""RFID tag reads per second through the protocol parser and the dedupe window, from a pty.

A writer process plays a reader on the master side of a pseudo-terminal, pushing a realistic
stream as fast as the pty takes it: CF-RU5102 inventory replies of 1-19 tags each, or ASCII lines,
drawn with repeats from a pallet of tags (SGTIN-96 cases and a few factory EPCs), as Gen2 session
S0 reports them. The station side opens the slave through pyserial's `serial_for_url`, exactly as
the reader loop does, and runs every byte through `TagStream` (parser, dedupe window, EPC decoding
of new tags). Every read written must come out of the parser: dropped reads must be 0.

Baselines measured in the same run, interleaved with it (STYLE.md rule 19): the same bytes read
from the same pty with no parsing at all (what the pty and pyserial cost), and the parser fed the
stream from memory (what parsing costs without any I/O). Then the dedupe window alone, beside the
REFERENCE.md figure (>600,000 reads/s), and the headroom over a real serial link (~880 EPC
records/s at 115,200 baud).

    .venv/bin/python bench/rfid.py [--protocol ascii|ru5102|both] [--reads N] [--repeats R] [--json]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import statistics
import sys
import time
import tty
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import serial
from machine import machine as machine_info

from app.adapters.rfid import ReaderProtocol, TagStream
from app.domain.rfid import DedupeWindow, inventory_reply

SERIAL_LINK_READS_PER_S = 880
"""REFERENCE.md: a serial link carries at most ~880 EPC records/s at 115,200 baud."""
REFERENCE_DEDUPE_PER_S = 600_000
STALL_S = 5.0
"""No byte for this long means the writer is done or stuck: whatever is missing was dropped."""
CHUNK = 65_536


def say(message: str) -> None:
    """Progress goes to stderr, so that --json leaves stdout to the one JSON object."""
    print(message, file=sys.stderr, flush=True)


# --- the stream -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stream:
    protocol: str
    data: bytes
    epcs: list[str]
    """Every read in the stream, in order."""
    frames: int


def pallet(rng: random.Random, cases: int = 480, factory: int = 20) -> list[bytes]:
    """SGTIN-96 cases of one GTIN (company prefix 0614141, item 812345) and factory EPCs."""
    sgtins = [((0x3034257BF7194E4 << 38) | serial).to_bytes(12, "big") for serial in range(cases)]
    return sgtins + [bytes.fromhex("E280") + rng.randbytes(10) for _ in range(factory)]


def make_stream(protocol: str, reads: int, seed: int = 1) -> Stream:
    rng = random.Random(seed)
    tags = pallet(rng)
    parts: list[bytes] = []
    epcs: list[str] = []
    frames = 0
    while len(epcs) < reads:
        batch = [rng.choice(tags) for _ in range(min(rng.randint(1, 19), reads - len(epcs)))]
        epcs += [t.hex().upper() for t in batch]
        if protocol == "ru5102":
            parts.append(inventory_reply(batch))
            frames += 1
        else:
            parts += [t.hex().upper().encode() + b"\r\n" for t in batch]
            frames += len(batch)
    return Stream(protocol, b"".join(parts), epcs, frames)


# --- the pty ----------------------------------------------------------------------------------


def write_all(fd: int, data: bytes) -> None:
    """The writer process: the whole stream into the pty master, as fast as it takes it."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view[:CHUNK]) :]
    time.sleep(STALL_S * 2)  # keep the master open until the reader has read everything
    os._exit(0)


@dataclass(frozen=True)
class Run:
    seconds: float
    bytes: int
    reads: int

    @property
    def bytes_per_s(self) -> float:
        return self.bytes / self.seconds

    @property
    def reads_per_s(self) -> float:
        return self.reads / self.seconds


def through_pty(stream: Stream, consume: Callable[[bytes], int] | None) -> tuple[Run, int]:
    """Play the stream into a fresh pty; read it through pyserial; `consume` counts reads.

    With no `consume`, only bytes are counted (the baseline) and every byte must arrive. Returns
    the run and the reads the consumer saw (the reads in the stream for the baseline).
    """
    master, slave = os.openpty()
    tty.setraw(slave)
    port = serial.serial_for_url(os.ttyname(slave), baudrate=115_200, timeout=0.05)
    writer = multiprocessing.get_context("fork").Process(
        target=write_all, args=(master, stream.data), daemon=True
    )
    got = seen = 0
    start = 0.0
    try:
        writer.start()
        last = time.perf_counter()
        while got < len(stream.data):
            data = port.read(port.in_waiting or 1)
            now = time.perf_counter()
            if not data:
                if now - last > STALL_S:
                    break
                continue
            if not got:
                start = now
            got, last = got + len(data), now
            if consume is not None:
                seen += consume(data)
        if not got:
            raise RuntimeError(f"nothing came through the pty in {STALL_S:g} s")
        elapsed = last - start  # first byte to last byte
    finally:
        writer.kill()
        writer.join()
        port.close()
        os.close(master)
        os.close(slave)
    return Run(elapsed, got, seen if consume is not None else len(stream.epcs)), seen


def parse_consumer(stream: Stream, window_s: float) -> tuple[Callable[[bytes], int], TagStream]:
    tags = TagStream(ReaderProtocol(stream.protocol), "bench", window_s)

    def consume(data: bytes) -> int:
        before = tags.reads
        tags.feed(data)
        return tags.reads - before

    return consume, tags


def from_memory(stream: Stream, window_s: float, piece: int = 4096) -> Run:
    consume, tags = parse_consumer(stream, window_s)
    data = stream.data
    start = time.perf_counter()
    for at in range(0, len(data), piece):
        consume(data[at : at + piece])
    return Run(time.perf_counter() - start, len(data), tags.reads)


def dedupe_only(epcs: Sequence[str], window_s: float) -> Run:
    window = DedupeWindow(window_s)
    accept, clock = window.accept, time.monotonic
    start = time.perf_counter()
    for epc in epcs:
        accept(epc, clock())
    return Run(time.perf_counter() - start, 0, len(epcs))


def median_run(runs: Sequence[Run]) -> dict[str, float]:
    return {
        "reads": runs[0].reads,
        "bytes": runs[0].bytes,
        "seconds": statistics.median(r.seconds for r in runs),
        "reads_per_s": statistics.median(r.reads_per_s for r in runs),
        "bytes_per_s": statistics.median(r.bytes_per_s for r in runs),
    }


def bench_protocol(protocol: str, reads: int, repeats: int, window_s: float) -> dict[str, Any]:
    stream = make_stream(protocol, reads)
    say(f"{protocol}: {len(stream.epcs):,} reads, {len(stream.data):,} bytes")
    raw: list[Run] = []
    parsed: list[Run] = []
    memory: list[Run] = []
    dropped: list[int] = []
    unique: list[int] = []
    for n in range(repeats):
        say(f"  round {n + 1}/{repeats}: raw pty, parsed pty, parser from memory")
        run, _ = through_pty(stream, None)
        if run.bytes != len(stream.data):
            raise RuntimeError(f"the pty lost {len(stream.data) - run.bytes} bytes unparsed")
        raw.append(run)
        consume, tags = parse_consumer(stream, window_s)
        run, seen = through_pty(stream, consume)
        parsed.append(run)
        dropped.append(len(stream.epcs) - seen)
        unique.append(len(tags.dedupe))
        memory.append(from_memory(stream, window_s))
    result: dict[str, Any] = {
        "stream": {
            "reads": len(stream.epcs),
            "bytes": len(stream.data),
            "frames": stream.frames,
            "distinct_tags": len(set(stream.epcs)),
            "bytes_per_read": len(stream.data) / len(stream.epcs),
        },
        "pty_parsed": median_run(parsed),
        "pty_raw": median_run(raw),
        "memory_parsed": median_run(memory),
        "dropped_reads": max(dropped),
        "tags_after_dedupe": max(unique),
    }
    parsed_per_s = result["pty_parsed"]["reads_per_s"]
    result["x_pty_raw"] = parsed_per_s / result["pty_raw"]["reads_per_s"]
    result["x_memory"] = parsed_per_s / result["memory_parsed"]["reads_per_s"]
    result["x_serial_link"] = parsed_per_s / SERIAL_LINK_READS_PER_S
    return result


# --- machine and output -----------------------------------------------------------------------


def machine() -> dict[str, Any]:
    return machine_info(pyserial=serial.__version__)


def print_report(report: dict[str, Any]) -> None:
    m = report["machine"]
    print(f"Perpetua RFID benchmark, {m['time']}")
    print(f"machine: {m['cpu_count']} CPUs ({m['cpu']}), {m['platform']}")
    print(f"load average (1 min): {m['load_start']:.2f} at start, {m['load_end']:.2f} at end")
    print(f"python {m['python']}, pyserial {m['pyserial']}")
    s = report["settings"]
    print(
        f"{s['reads']:,} tag reads per protocol, median of {s['repeats']} interleaved rounds; "
        f"dedupe window {s['window_s']:g} s; a writer process fills the pty master as fast as it "
        "takes it;\nthe station side reads the slave with pyserial (read(in_waiting or 1)) and "
        "runs TagStream: parser, dedupe, EPC decoding of new tags"
    )
    for protocol, r in report["protocols"].items():
        st = r["stream"]
        print()
        print(
            f"{protocol}: {st['reads']:,} reads of {st['distinct_tags']} distinct tags in "
            f"{st['frames']:,} {'frames' if protocol == 'ru5102' else 'lines'}, "
            f"{st['bytes']:,} bytes ({st['bytes_per_read']:.1f} per read)"
        )
        head = f"{'':<36}{'reads/s':>12}{'MB/s':>9}{'seconds':>9}"
        print(head)
        print("-" * len(head))
        rows = [
            ("pty -> pyserial -> parser + dedupe", r["pty_parsed"]),
            ("pty -> pyserial, no parsing (base)", r["pty_raw"]),
            ("memory -> parser + dedupe (base)", r["memory_parsed"]),
        ]
        for label, f in rows:
            print(
                f"{label:<36}{f['reads_per_s']:>12,.0f}{f['bytes_per_s'] / 1e6:>9.1f}"
                f"{f['seconds']:>9.3f}"
            )
        print(
            f"parsed / raw pty (same stream): {r['x_pty_raw']:.3f}; parsed pty / memory: "
            f"{r['x_memory']:.3f}; x a 115,200-baud link ({SERIAL_LINK_READS_PER_S}/s): "
            f"{r['x_serial_link']:,.0f}"
        )
        print(
            f"dropped reads: {r['dropped_reads']} (every read written was parsed); "
            f"tags after dedupe: {r['tags_after_dedupe']}"
        )
    d = report["dedupe_only"]
    print()
    print(
        f"dedupe window alone, DedupeWindow.accept() with a clock reading per read: "
        f"{d['reads_per_s']:,.0f} reads/s (REFERENCE.md: >{REFERENCE_DEDUPE_PER_S:,}; "
        f"x {d['reads_per_s'] / REFERENCE_DEDUPE_PER_S:.2f})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--protocol", choices=("ascii", "ru5102", "both"), default="both")
    parser.add_argument("--reads", type=int, default=300_000, help="tag reads per protocol")
    parser.add_argument("--repeats", type=int, default=5, help="rounds; the median is shown")
    parser.add_argument("--window", type=float, default=2.0, help="dedupe window, seconds")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if args.reads < 1 or args.repeats < 1:
        parser.error("--reads and --repeats must be at least 1")

    info = machine()
    protocols = ["ru5102", "ascii"] if args.protocol == "both" else [args.protocol]
    report: dict[str, Any] = {
        "machine": info,
        "settings": {"reads": args.reads, "repeats": args.repeats, "window_s": args.window},
        "protocols": {},
    }
    for protocol in protocols:
        report["protocols"][protocol] = bench_protocol(
            protocol, args.reads, args.repeats, args.window
        )
    epcs = make_stream("ascii", args.reads).epcs
    runs = [dedupe_only(epcs, args.window) for _ in range(args.repeats)]
    report["dedupe_only"] = {
        "reads": len(epcs),
        "reads_per_s": statistics.median(r.reads_per_s for r in runs),
    }
    info["load_end"] = os.getloadavg()[0]
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 1 if any(r["dropped_reads"] for r in report["protocols"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
