"""An RFID reader on a serial line, as a device loop for `DeviceWorker`.

pyserial's `serial_for_url` opens whatever the station is configured with: a device path
(`/dev/ttyUSB0`, or better its `/dev/serial/by-id/...` link, which survives re-plugging into
another USB port), `socket://host:port` (a serial-to-Ethernet converter), `rfc2217://host:port`
or `loop://`. Every read goes through the protocol parser, the dedupe window and EPC decoding
(app/domain), and each new tag leaves the thread as an immutable `RfidRead`.

A reader that is unplugged (or a converter that drops the connection) is reported through the
status callback as "unplugged: ..." once; the port is tried again every `reopen_s` seconds until it
is back, and then "connected" is reported. The dedupe window survives this: a tag already reported
is not reported again just because the cable was pulled.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import serial

from app.adapters.worker import DeviceLoop, Emit, Status
from app.domain.epc import EpcInfo, decode_epc
from app.domain.rfid import (
    AsciiLineParser,
    DedupeWindow,
    Rejected,
    Ru5102Parser,
    TagRead,
    inventory_command,
)
from app.domain.scan import Scan, Source

log = logging.getLogger(__name__)

SYMBOLOGY = "EPC"
UNANSWERED = 3
"""Inventory commands left unanswered in a row before a binary reader is reported silent."""


class ReaderProtocol(StrEnum):
    ASCII = "ascii"
    RU5102 = "ru5102"


@dataclass(frozen=True, slots=True)
class ReaderSettings:
    url: str
    protocol: ReaderProtocol
    window_s: float = 2.0
    baudrate: int = 57_600
    """The CF-RU5102 / UHFReader18 factory setting."""
    address: int = 0xFF
    """The reader address inventory commands go to; 0xFF: whichever reader is on the line."""
    poll_s: float = 0.05
    """Pause between an inventory reply and the next inventory command."""
    reply_timeout_s: float = 1.0
    """Ask again when an inventory command got no complete reply in this time."""
    reopen_s: float = 1.0
    read_timeout_s: float = 0.1


@dataclass(frozen=True, slots=True)
class RfidRead:
    """A new tag: the Scan every device makes, and what its EPC decodes to."""

    scan: Scan
    tag: EpcInfo


class TagStream:
    """Bytes from the reader in, new tags out: parser, dedupe window, EPC decoding, Scan."""

    def __init__(
        self,
        protocol: ReaderProtocol,
        device: str,
        window_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.protocol = protocol
        self.device = device
        self.dedupe = DedupeWindow(window_s, clock)
        self.parser: AsciiLineParser | Ru5102Parser = self._new_parser()
        self.reads = 0
        self.rejected = 0

    def restart(self) -> None:
        """A new connection: forget half a frame from the old one, keep the dedupe window."""
        self.parser = self._new_parser()

    @property
    def replies(self) -> int:
        """Complete inventory replies so far (binary protocol; 0 for ASCII readers)."""
        return self.parser.stats.replies if isinstance(self.parser, Ru5102Parser) else 0

    def feed(self, data: bytes) -> list[RfidRead]:
        events = self.parser.feed(data)
        epcs = [event.epc for event in events if isinstance(event, TagRead)]
        if len(epcs) != len(events):
            for event in events:
                if isinstance(event, Rejected):
                    self._rejected(event)
        self.reads += len(epcs)
        return [
            RfidRead(Scan(epc, Source.RFID, self.device, SYMBOLOGY), decode_epc(epc))
            for epc in self.dedupe.accept_many(epcs)
        ]

    def _rejected(self, event: Rejected) -> None:
        self.rejected += 1
        log.info("%s: %s (%s)", self.device, event.detail, event.reason.value)

    def _new_parser(self) -> AsciiLineParser | Ru5102Parser:
        return AsciiLineParser() if self.protocol is ReaderProtocol.ASCII else Ru5102Parser()


def check_url(url: str) -> None:
    """Raise ValueError when pyserial cannot handle the URL at all (an unknown scheme)."""
    serial.serial_for_url(url, do_not_open=True)


def open_port(settings: ReaderSettings) -> serial.SerialBase:
    """Open the reader's port (raises SerialException or OSError when it is not there)."""
    return serial.serial_for_url(
        settings.url,
        baudrate=settings.baudrate,
        timeout=settings.read_timeout_s,
        write_timeout=settings.reply_timeout_s,
    )


def close_port(port: serial.SerialBase) -> None:
    """Close the port, and the socket under a socket:// port: when the other end has gone,
    pyserial 3.5's close() fails on shutdown() and skips closing it, leaking one file descriptor
    per reconnection."""
    sock = getattr(port, "_socket", None)
    try:
        port.close()
    finally:
        if isinstance(sock, socket.socket):
            sock.close()


def reader_loop(
    settings: ReaderSettings, clock: Callable[[], float] = time.monotonic
) -> DeviceLoop[RfidRead]:
    """The device loop for `DeviceWorker`; one TagStream (and dedupe window) for its lifetime."""
    stream = TagStream(settings.protocol, settings.url, settings.window_s, clock)
    retry = f"retrying every {settings.reopen_s:g} s"

    def loop(stop: threading.Event, emit: Emit[RfidRead], status: Status) -> None:
        unplugged = False
        while not stop.is_set():
            try:
                port = open_port(settings)
            except (serial.SerialException, OSError) as error:
                if not unplugged:
                    status(f"unplugged: {error}; {retry}")
                    unplugged = True
                stop.wait(settings.reopen_s)
                continue
            stream.restart()
            unplugged = False
            status("connected")
            try:
                try:
                    _session(port, stream, settings, stop, emit, status, clock)
                finally:
                    close_port(port)
            except (serial.SerialException, OSError) as error:
                status(f"unplugged: {error}; {retry}")
                unplugged = True
                stop.wait(settings.reopen_s)

    return loop


def _session(
    port: serial.SerialBase,
    stream: TagStream,
    settings: ReaderSettings,
    stop: threading.Event,
    emit: Emit[RfidRead],
    status: Status,
    clock: Callable[[], float],
) -> None:
    """Read until stopped; for the binary protocol, ask for an inventory round after round.

    A binary reader that leaves several inventory commands unanswered is reported ("no answer"):
    the port opened, but the baud rate or the protocol is wrong, or the reader is off.
    """
    polling = settings.protocol is ReaderProtocol.RU5102
    command = inventory_command(settings.address)
    asked_at: float | None = None  # when the unanswered inventory command went out
    next_ask = 0.0
    unanswered = 0
    while not stop.is_set():
        if polling:
            now = clock()
            timed_out = asked_at is not None and now - asked_at >= settings.reply_timeout_s
            if timed_out:
                unanswered += 1
                if unanswered == UNANSWERED:
                    status(
                        f"no answer: {UNANSWERED} inventory commands unanswered; check the baud "
                        f"rate ({settings.baudrate}), the protocol and the reader's power"
                    )
            if timed_out or (asked_at is None and now >= next_ask):
                port.write(command)
                asked_at = now
        data = port.read(port.in_waiting or 1)
        if not data:
            continue
        replies = stream.replies
        for read in stream.feed(data):
            emit(read)
        if stream.replies != replies:
            asked_at, next_ask = None, clock() + settings.poll_s
            if unanswered >= UNANSWERED:
                status("connected")
            unanswered = 0
