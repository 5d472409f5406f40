"""One generic worker for every device loop (STYLE.md rule 7).

A device loop is a plain function `loop(stop, emit, status)`: it reads until `stop` is set, hands
each immutable value it makes to `emit`, and reports its state ("connected", "unplugged: ...")
through `status`. The worker runs it on its own thread. This is a thread boundary, so it is where
the catch-all lives: a loop that raises is reported and started again after a pause, so a device
that fails (unplugged, a bad frame, a decoder bug) never takes the station down and comes back
by itself.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

Emit = Callable[[T], None]
Status = Callable[[str], None]
DeviceLoop = Callable[[threading.Event, Emit[T], Status], None]

log = logging.getLogger(__name__)


class DeviceWorker(Generic[T]):
    def __init__(
        self,
        name: str,
        loop: DeviceLoop[T],
        emit: Emit[T],
        status: Status = lambda text: None,
        restart_delay_s: float = 1.0,
    ) -> None:
        self.name = name
        self._loop = loop
        self._emit = emit
        self._status = status
        self._restart_delay_s = restart_delay_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError(f"{self.name} is already running")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> bool:
        """Ask the loop to stop and wait for it; False if it did not stop in time."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is None:
            return True
        thread.join(timeout_s)
        return not thread.is_alive()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._loop(self._stop, self._emit, self._status)
            except Exception as error:  # thread boundary: report, wait, start again
                log.exception("%s failed", self.name)
                self._status(f"error: {error}")
                self._stop.wait(self._restart_delay_s)
            else:
                break
        self._status("stopped")
