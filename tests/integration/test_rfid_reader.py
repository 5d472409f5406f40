"""The RFID reader loop on real serial bytes: the corpus through a pseudo-terminal, both protocols,
and a reader unplugged and plugged back in (a /dev/serial/by-id link, a serial-to-Ethernet
converter on socket://), with the status a user would see.
"""

from __future__ import annotations

import json
import random
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.adapters.rfid import ReaderProtocol, ReaderSettings
from app.domain.epc import EpcScheme
from app.domain.rfid import inventory_command, inventory_reply
from app.domain.scan import Source
from tests.support.serial_pty import PATIENCE_S, Pty, RunningReader, point

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "rfid"
UNIQUE = json.loads((CORPUS / "expected.json").read_text())["unique_epcs"]
CAPTURES = {
    ReaderProtocol.ASCII: (CORPUS / "ascii_lines.txt").read_bytes(),
    ReaderProtocol.RU5102: (CORPUS / "ru5102_inventory.bin").read_bytes(),
}
FACTORY = "E28011700000020A1B2C3D4E"
"""A tag the corpus does not hold, sent last: once it is reported, everything before it was."""


def tag_bytes(protocol: ReaderProtocol, epc: str) -> bytes:
    if protocol is ReaderProtocol.ASCII:
        return epc.encode() + b"\r\n"
    return inventory_reply([bytes.fromhex(epc)])


@pytest.fixture
def pty() -> Iterator[Pty]:
    port = Pty()
    yield port
    port.close()


@pytest.mark.parametrize("protocol", list(ReaderProtocol))
def test_the_corpus_through_a_pty_reports_each_unique_tag_once(
    pty: Pty, protocol: ReaderProtocol
) -> None:
    # A patient reply timeout: this reader speaks when the test says so, not when asked.
    settings = ReaderSettings(pty.path, protocol, window_s=60, reply_timeout_s=PATIENCE_S)
    reader = RunningReader(settings).start()
    try:
        reader.wait_status("connected")
        rng = random.Random(4)
        pty.write_in_chunks(CAPTURES[protocol] * 3 + tag_bytes(protocol, FACTORY), rng)
        assert reader.wait_epcs(5) == [*UNIQUE, FACTORY]
        commands = pty.read_available()
    finally:
        reader.stop()
    assert reader.status_history() == ["connected", "stopped"]

    scans = [r.scan for r in reader.seen]
    assert {(s.source, s.symbology, s.device) for s in scans} == {(Source.RFID, "EPC", pty.path)}
    tds = reader.seen[3].tag
    assert (tds.gtin, tds.serial, tds.filter) == ("80614141123458", "6789", 3)
    assert reader.seen[4].tag.scheme is EpcScheme.RAW and reader.seen[4].tag.gtin is None
    if protocol is ReaderProtocol.RU5102:
        # A real reader only speaks when asked: the station kept asking for inventory rounds.
        assert commands and commands == inventory_command() * (len(commands) // 5)
    else:
        assert commands == b""


def test_a_binary_reader_that_does_not_answer_is_reported(pty: Pty) -> None:
    settings = ReaderSettings(pty.path, ReaderProtocol.RU5102, reply_timeout_s=0.05)
    reader = RunningReader(settings).start()
    try:
        reader.wait_status("no answer")
        asked = pty.read_available()
        pty.write_in_chunks(CAPTURES[ReaderProtocol.RU5102], random.Random(6))
        assert reader.wait_epcs(4) == UNIQUE
        reader.wait_status("connected", 2)
    finally:
        reader.stop()
    assert len(asked) >= 15 and asked == inventory_command() * (len(asked) // 5)
    # (Later, as this "reader" falls silent again, "no answer" may come back: that is right too.)
    assert reader.status_history()[:3] == [
        "connected",
        "no answer: 3 inventory commands unanswered; check the baud rate (57600), the protocol "
        "and the reader's power",
        "connected",
    ]


def test_a_reader_unplugged_and_plugged_back_in_reads_on(tmp_path: Path) -> None:
    link = tmp_path / "usb-CF_RU5102-if00-port0"  # as /dev/serial/by-id names it
    first, second = Pty(), Pty()
    point(link, first.path)
    rng = random.Random(5)
    lines = CAPTURES[ReaderProtocol.ASCII]
    reader = RunningReader(ReaderSettings(str(link), ReaderProtocol.ASCII, window_s=60)).start()
    try:
        reader.wait_status("connected")
        first.write_in_chunks(lines, rng)
        assert reader.wait_epcs(4) == UNIQUE
        first.close()  # the cable is pulled
        reader.wait_status("unplugged")
        point(link, second.path)  # ... and plugged in again, where udev puts it
        reader.wait_status("connected", 2)
        second.write_in_chunks(lines + tag_bytes(ReaderProtocol.ASCII, FACTORY), rng)
        # The tags read before the pull are not reported a second time.
        assert reader.wait_epcs(5) == [*UNIQUE, FACTORY]
    finally:
        reader.stop()
        second.close()
    history = reader.status_history()
    assert [s.split(":")[0] for s in history] == ["connected", "unplugged", "connected", "stopped"]
    assert history[1].endswith("; retrying every 1 s")


class Converter:
    """A serial-to-Ethernet converter: a TCP port on 127.0.0.1 that a reader's bytes come out of."""

    def __init__(self, port: int = 0) -> None:
        self.server = socket.create_server(("127.0.0.1", port), reuse_port=False)
        self.server.settimeout(PATIENCE_S)
        self.port = self.server.getsockname()[1]
        self.client: socket.socket | None = None

    def accept(self) -> socket.socket:
        self.client, _ = self.server.accept()
        return self.client

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        self.server.close()


def test_a_converter_on_socket_url_going_away_and_coming_back() -> None:
    first = Converter()
    url = f"socket://127.0.0.1:{first.port}"
    reader = RunningReader(ReaderSettings(url, ReaderProtocol.RU5102, window_s=60)).start()
    second: Converter | None = None
    try:
        client = first.accept()
        reader.wait_status("connected")
        client.sendall(CAPTURES[ReaderProtocol.RU5102])
        assert reader.wait_epcs(4) == UNIQUE
        first.close()  # the converter loses power
        reader.wait_status("unplugged")
        second = Converter(first.port)
        client = second.accept()
        reader.wait_status("connected", 2)
        client.sendall(tag_bytes(ReaderProtocol.RU5102, FACTORY))
        assert reader.wait_epcs(5) == [*UNIQUE, FACTORY]
    finally:
        reader.stop()
        first.close()
        if second is not None:
            second.close()
    history = reader.status_history()
    assert [s.split(":")[0] for s in history] == ["connected", "unplugged", "connected", "stopped"]
    # "socket disconnected" or "Connection reset by peer", as the converter went.
    assert history[1].startswith("unplugged: ") and history[1].endswith("; retrying every 1 s")
