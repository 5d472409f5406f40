"""A pseudo-terminal standing in for an RFID reader's serial port, and a reader run to watch.

The code under test opens the pty's slave by its device path through pyserial, exactly as it opens
/dev/ttyUSB0; the test plays the reader on the master side.
"""

from __future__ import annotations

import os
import queue
import random
import select
import threading
import time
import tty
from collections.abc import Callable
from pathlib import Path

from app.adapters.rfid import ReaderSettings, RfidRead, reader_loop
from app.adapters.worker import DeviceWorker

PATIENCE_S = 30.0
"""How long a test waits for something that should happen at once, before it calls it a hang."""


class Pty:
    """One pseudo-terminal: `path` is the "device", `write()` is the reader talking."""

    def __init__(self) -> None:
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no CR/LF translation: bytes pass untouched
        self.path = os.ttyname(self._slave)
        self.closed = False

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.master, view) :]

    def write_in_chunks(self, data: bytes, rng: random.Random, largest: int = 16) -> None:
        """The bytes in random-size pieces, with a pause now and then, as a port delivers them."""
        at = 0
        while at < len(data):
            size = rng.randint(1, largest)
            self.write(data[at : at + size])
            at += size
            if rng.random() < 0.3:
                time.sleep(0.002)

    def read_available(self) -> bytes:
        """What the code under test wrote to the port (commands to the reader), if anything."""
        got = b""
        while select.select([self.master], [], [], 0)[0]:
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                break
            if not chunk:
                break
            got += chunk
        return got

    def close(self) -> None:
        """Unplug: both ends go, so the port reports an error and its path stops opening."""
        if not self.closed:
            self.closed = True
            os.close(self.master)
            os.close(self._slave)


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + PATIENCE_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.01)


class RunningReader:
    """A reader loop on its DeviceWorker, with every read and status change recorded."""

    def __init__(self, settings: ReaderSettings) -> None:
        self.reads: queue.Queue[RfidRead] = queue.Queue()
        self.seen: list[RfidRead] = []
        self.statuses: list[str] = []
        self._lock = threading.Lock()
        self.worker: DeviceWorker[RfidRead] = DeviceWorker(
            "rfid", reader_loop(settings), self.reads.put, self._status
        )

    def _status(self, text: str) -> None:
        with self._lock:
            self.statuses.append(text)

    def status_history(self) -> list[str]:
        with self._lock:
            return list(self.statuses)

    def start(self) -> RunningReader:
        self.worker.start()
        return self

    def wait_status(self, prefix: str, count: int = 1) -> None:
        wait_for(
            lambda: sum(s.startswith(prefix) for s in self.status_history()) >= count,
            f"status {prefix!r} x{count}; so far {self.status_history()}",
        )

    def wait_epcs(self, count: int) -> list[str]:
        """The EPCs of the first `count` reads reported since the start."""
        deadline = time.monotonic() + PATIENCE_S
        while len(self.seen) < count:
            try:
                self.seen.append(self.reads.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                raise AssertionError(f"{len(self.seen)} reads of {count} came") from None
        return [r.scan.text for r in self.seen[:count]]

    def stop(self) -> None:
        assert self.worker.stop(), "the reader thread did not stop"


def point(link: Path, target: str) -> None:
    """Repoint a /dev/serial/by-id style symlink in one step."""
    fresh = link.with_name(link.name + ".new")
    fresh.unlink(missing_ok=True)
    fresh.symlink_to(target)
    fresh.replace(link)
