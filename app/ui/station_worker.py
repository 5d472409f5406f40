"""The station's database worker (DESIGN.md section 7): one thread does all of a station's
session work, so the GUI thread never waits on the database.

`StationWorker` builds the session on its own QThread and calls it there for every input; each
answer leaves as an immutable `StationView` through `viewReady`. A timer on that thread asks the
session four times a second to resend its outbox and to show a change of the database link. This
is a thread boundary, so it holds the catch-all: a session that cannot be built or that raises
is logged with its traceback and reported through `failed`, and the worker goes on taking input.
A PIN never reaches either: when the session fails on a keypad entry made while a PIN was asked
for, the entry is masked in the message and in the logged traceback.

Inputs come in through the `submit_*` methods, which may be called (or connected to) from any
thread: each one only emits a signal that Qt queues to the worker's thread. Inputs that arrive
before `start()` or after `stop()` are dropped (and logged).

Also here, the two bridges that carry device output to the worker: `DeviceLink` (a device
thread's values and status into Qt signals) and `TagBurstCollector` (RFID reads gathered into
one `handle_tags` call per burst).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Sequence
from typing import Protocol

from PySide6.QtCore import QDeadlineTimer, QObject, QThread, QTimer, Signal, Slot

from app.adapters.rfid import RfidRead
from app.domain.interpret import CommandName
from app.domain.scan import Scan, Source
from app.domain.workflow import Entry, TagRead
from app.services.station_view import StationView

log = logging.getLogger(__name__)

DRAIN_INTERVAL_MS = 250
"""How often the worker sends the queue and shows a change of the database link: a cut is on
screen within about half a second (one probe of the link, one tick)."""
TAG_BURST_MS = 200
STOP_TIMEOUT_MS = 30_000
"""How long `stop()` waits for the session to close (a database going away may make it slow)."""
CHOICE_DEVICE = "screen"
NOT_STARTED = "The station could not start: "
"""How a failure to build the session begins (the window shows it as it is: nothing was lost)."""


class StationSessionPort(Protocol):
    """What the worker needs of the station session (app.services.station.StationSession)."""

    def handle_scan(self, scan: Scan) -> StationView: ...
    def handle_tags(self, tags: Sequence[TagRead]) -> StationView: ...
    def handle_entry(self, text: str) -> StationView: ...
    def handle_command(self, name: CommandName, arg: str | None = None) -> StationView: ...
    def drain(self) -> StationView | None: ...
    def view(self) -> StationView: ...
    def close(self) -> None: ...


SessionFactory = Callable[[], StationSessionPort]
"""Builds the session; called on the worker's thread (its database connections belong there)."""


def describe(error: BaseException) -> str:
    """An exception as one line for the banner: its kind and its message."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def masked(text: str, secret: str) -> str:
    """`text` with every occurrence of `secret` replaced by as many asterisks."""
    return text.replace(secret, "*" * len(secret))


class StationWorker(QObject):
    """Call `start()` once, `stop()` once; in between, `submit_*` from anywhere."""

    viewReady = Signal(StationView)
    failed = Signal(str)

    _scanIn = Signal(Scan)
    _tagsIn = Signal(object)  # tuple[TagRead, ...]
    _entryIn = Signal(str)
    _commandIn = Signal(object, object)
    _stopRequested = Signal()

    def __init__(self, factory: SessionFactory, drain_interval_ms: int = DRAIN_INTERVAL_MS) -> None:
        super().__init__()  # no parent: it moves to its own thread
        self._factory = factory
        self._drain_interval_ms = drain_interval_ms
        self._home = QThread.currentThread()
        self._thread: QThread | None = None
        self._timer: QTimer | None = None
        self._session: StationSessionPort | None = None
        self._live = False  # only read and written on the worker's thread once started
        self._pin_asked = False  # the last view asked for a PIN (worker's thread too)
        self._last_failure = ""
        self._connect_signals()

    def _connect_signals(self) -> None:
        self._scanIn.connect(self._on_scan)
        self._tagsIn.connect(self._on_tags)
        self._entryIn.connect(self._on_entry)
        self._commandIn.connect(self._on_command)
        self._stopRequested.connect(self._on_stop_requested)

    # --- lifetime, called from the thread that made the worker ---------------------------------

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the station worker was already started")
        self._thread = QThread()
        self._thread.setObjectName("station-worker")
        self.moveToThread(self._thread)
        self._thread.started.connect(self._on_started)
        self._thread.start()

    def stop(self, timeout_ms: int = STOP_TIMEOUT_MS) -> bool:
        """Stop the timer, close the session and end the thread; False if that took longer than
        `timeout_ms`. Safe to call twice, or without `start()`."""
        thread = self._thread
        if thread is None or thread.isFinished():
            return True
        self._stopRequested.emit()
        if thread.wait(QDeadlineTimer(timeout_ms)):
            return True
        log.error("the station worker did not stop within %d ms", timeout_ms)
        return False

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.isRunning()

    # --- input, from any thread -------------------------------------------------------------

    @Slot(Scan)
    def submit_scan(self, scan: Scan) -> None:
        self._scanIn.emit(scan)

    @Slot(object)
    def submit_tags(self, tags: Sequence[TagRead]) -> None:
        """Tags read together (one reader burst: see TagBurstCollector)."""
        self._tagsIn.emit(tuple(tags))

    @Slot(str)
    def submit_entry(self, text: str) -> None:
        self._entryIn.emit(text)

    @Slot(object, object)
    def submit_command(self, name: CommandName, arg: str | None = None) -> None:
        self._commandIn.emit(name, arg)

    @Slot(str)
    def submit_choice(self, code: str) -> None:
        """A receipt or order picked on screen: the same as scanning its code."""
        self._scanIn.emit(Scan(code, Source.MANUAL, device=CHOICE_DEVICE))

    # --- on the worker's thread ---------------------------------------------------------------

    @Slot()
    def _on_started(self) -> None:
        self._live = True
        self._timer = QTimer(self)
        self._timer.setInterval(self._drain_interval_ms)
        self._timer.timeout.connect(self._on_drain_due)
        self._timer.start()
        session = self._ensure_session()
        if session is not None:
            self._answer(session.view)

    @Slot(Scan)
    def _on_scan(self, scan: Scan) -> None:
        self._call(lambda session: session.handle_scan(scan))

    @Slot(object)
    def _on_tags(self, tags: tuple[TagRead, ...]) -> None:
        self._call(lambda session: session.handle_tags(tags))

    @Slot(str)
    def _on_entry(self, text: str) -> None:
        secret = text if self._pin_asked else None
        self._call(lambda session: session.handle_entry(text), secret)

    @Slot(object, object)
    def _on_command(self, name: CommandName, arg: str | None) -> None:
        self._call(lambda session: session.handle_command(name, arg))

    @Slot()
    def _on_drain_due(self) -> None:
        """Nobody asked: a failure the user has already been told about is not told again
        (a red banner and a buzz four times a second help nobody), only logged."""
        if not self._live:
            return
        had_session = self._session is not None
        session = self._ensure_session(asked=False)
        if session is not None:
            self._answer(session.drain if had_session else session.view, asked=False)

    @Slot()
    def _on_stop_requested(self) -> None:
        self._live = False
        if self._timer is not None:
            self._timer.stop()  # a child: it goes home with the worker and dies with it
            self._timer = None
        session, self._session = self._session, None
        if session is not None:
            try:
                session.close()
            except Exception:  # thread boundary: the thread must end all the same
                log.exception("closing the station session failed")
        self.moveToThread(self._home)  # home before the thread ends, so it can be deleted there
        thread = QThread.currentThread()
        thread.quit()

    def _call(
        self, request: Callable[[StationSessionPort], StationView], secret: str | None = None
    ) -> None:
        """`secret`: input text that must not be shown or logged should the session fail."""
        if not self._live:
            log.warning("input dropped: the station worker is not running")
            return
        session = self._ensure_session()
        if session is not None:
            self._answer(lambda: request(session), secret=secret)

    def _answer(
        self,
        request: Callable[[], StationView | None],
        asked: bool = True,
        secret: str | None = None,
    ) -> None:
        try:
            view = request()
        except Exception as error:  # thread boundary: report, keep taking input
            self._fail(describe(error), "the station session failed", asked, secret)
            return
        self._last_failure = ""
        if view is not None:
            self._pin_asked = view.entry is Entry.PIN
            self.viewReady.emit(view)

    def _ensure_session(self, asked: bool = True) -> StationSessionPort | None:
        """The session, built on first need; a factory that fails is tried again at the next
        input or drain tick."""
        if self._session is None:
            try:
                self._session = self._factory()
            except Exception as error:  # thread boundary
                message = f"{NOT_STARTED}{describe(error)}"
                self._fail(message, "building the station session failed", asked)
        return self._session

    def _fail(self, message: str, what: str, asked: bool, secret: str | None = None) -> None:
        """Log with the traceback (once while the same failure repeats) and report it: always
        when it answers an input, otherwise only when it is news. A `secret` (a PIN) is masked
        wherever the error's text holds it."""
        if secret:
            message = masked(message, secret)
        news = message != self._last_failure
        if news and secret:
            log.error("%s\n%s", what, masked(traceback.format_exc().rstrip(), secret))
        elif news:
            log.exception(what)
        else:
            log.info("%s again: %s", what, message)
        self._last_failure = message
        if asked or news:
            self.failed.emit(message)


class DeviceLink(QObject):
    """A device thread's output as Qt signals: give `DeviceWorker` `link.value.emit` and
    `link.status.emit`; connections to GUI-thread objects are queued by Qt."""

    value = Signal(object)
    status = Signal(str)


def tag_read(read: RfidRead) -> TagRead:
    """What a workflow needs of a tag the reader adapter decoded."""
    return TagRead(read.tag.epc, read.tag.gtin, read.tag.serial, read.tag.sscc)


class TagBurstCollector(QObject):
    """RFID reads gathered into bursts: the first read starts a `burst_ms` window, and every read
    in it goes out together in one `burst` (a tuple of TagRead), so the session sees a pallet's
    tags as one input."""

    burst = Signal(object)

    def __init__(self, burst_ms: int = TAG_BURST_MS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tags: list[TagRead] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(burst_ms)
        self._connect_signals()

    def _connect_signals(self) -> None:
        self._timer.timeout.connect(self._on_burst_over)

    @Slot(object)
    def add(self, read: RfidRead) -> None:
        self._tags.append(tag_read(read))
        if not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        """Send what is gathered now (at shutdown), and stop the window."""
        self._timer.stop()
        self._on_burst_over()

    @Slot()
    def _on_burst_over(self) -> None:
        tags, self._tags = tuple(self._tags), []
        if tags:
            self.burst.emit(tags)
