"""One background runner for the screens that query (STYLE.md; Anki's `QueryOp`): a job runs on
the runner's one thread, off the GUI thread, and its answer is delivered back on the GUI thread.

Every query screen shares the one runner (not a thread per screen). A job is a function of the
runner's context (built on the runner's thread the first time a job needs it: a database engine
is used on the thread that made it) and returns an immutable value; the value, or the error's
message, crosses back through a queued Qt signal. A job submitted under a `key` supersedes an
older job of that key not yet answered: the older answer is dropped when it arrives, so a screen
never shows a slow answer over a newer one (a refresh clicked twice, a lookup typed again).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QMetaObject, QObject, Qt, QThread, Signal, Slot

log = logging.getLogger(__name__)

C = TypeVar("C")
T = TypeVar("T")

STOP_TIMEOUT_MS = 5000


@dataclass(frozen=True, slots=True)
class _Job:
    id: int
    call: Callable[[Any], Any]


class _Worker(QObject):
    """Lives on the runner's thread: runs each job in turn."""

    finished = Signal(int, object, str)
    """(job id, value, error text): error text empty when the job succeeded."""

    def __init__(self, make_context: Callable[[], Any]) -> None:
        super().__init__()
        self._make_context = make_context
        self._context: Any = None

    @Slot(object)
    def run(self, job: _Job) -> None:
        try:
            if self._context is None:
                self._context = self._make_context()
            value = job.call(self._context)
        except Exception as error:  # the screen shows it; the runner keeps running
            log.exception("a background query failed")
            self.finished.emit(job.id, None, str(error) or type(error).__name__)
            return
        self.finished.emit(job.id, value, "")

    @Slot()
    def close(self) -> None:
        context, self._context = self._context, None
        closer = getattr(context, "close", None)
        if callable(closer):
            closer()


@dataclass(slots=True)
class _Pending:
    done: Callable[[Any], None]
    failed: Callable[[str], None]
    key: str | None


class Runner(QObject, Generic[C]):
    """`submit(job, done, failed)`: `job(context)` runs on the runner's thread; `done(value)` or
    `failed(message)` is called on the GUI thread. `stop()` closes the context and ends the
    thread. `busy` says whether an answer is awaited (a screen shows "working")."""

    _jobIn = Signal(object)
    busyChanged = Signal(bool)

    def __init__(self, make_context: Callable[[], C], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName("query-runner")
        self._worker = _Worker(make_context)
        self._worker.moveToThread(self._thread)
        self._pending: dict[int, _Pending] = {}
        self._latest: dict[str, int] = {}
        self._next_id = 0
        self._started = False
        self._connect_signals()

    def _connect_signals(self) -> None:
        self._jobIn.connect(self._worker.run)
        self._worker.finished.connect(self._on_finished)

    @property
    def busy(self) -> bool:
        return bool(self._pending)

    def submit(
        self,
        job: Callable[[C], T],
        done: Callable[[T], None],
        failed: Callable[[str], None],
        key: str | None = None,
    ) -> int:
        """Queue `job`; returns its id. Under `key`, an older unanswered job's answer is dropped."""
        if not self._started:
            self._thread.start()
            self._started = True
        self._next_id += 1
        job_id = self._next_id
        self._pending[job_id] = _Pending(done, failed, key)
        if key is not None:
            self._latest[key] = job_id
        was_busy = len(self._pending) > 1
        self._jobIn.emit(_Job(job_id, job))
        if not was_busy:
            self.busyChanged.emit(True)
        return job_id

    @Slot(int, object, str)
    def _on_finished(self, job_id: int, value: object, error: str) -> None:
        pending = self._pending.pop(job_id, None)
        if not self._pending:
            self.busyChanged.emit(False)
        if pending is None:
            return
        if pending.key is not None and self._latest.get(pending.key) != job_id:
            return  # a newer job of the same key was asked for: its answer will do
        if error:
            pending.failed(error)
        else:
            pending.done(value)

    def stop(self, timeout_ms: int = STOP_TIMEOUT_MS) -> bool:
        """Close the context on its thread, then end the thread; True when it ended in time."""
        if not self._started:
            return True
        # Closed on its own thread, and waited for: a quit would end the thread's event loop
        # without running a close still queued behind it, and leave its connections open.
        QMetaObject.invokeMethod(self._worker, "close", Qt.ConnectionType.BlockingQueuedConnection)
        self._thread.quit()
        ended = self._thread.wait(timeout_ms)
        self._started = False
        self._pending.clear()
        return bool(ended)
