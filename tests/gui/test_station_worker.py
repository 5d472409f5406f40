"""The station worker on its real QThread, with an in-test session: every input reaches the
session on the worker's thread (never the GUI thread), every answer comes back as a view, the
drain timer runs there too, a failing session is reported and the worker carries on, and stopping
closes the session and ends the thread.

`InTestSession` and `make_view` are shared by the other station GUI tests."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from PySide6.QtCore import QObject, QThread, Signal, Slot
from pytestqt.qtbot import QtBot

from app.adapters.rfid import RfidRead
from app.domain.epc import decode_epc
from app.domain.interpret import CommandName, StationMode
from app.domain.model import Operator, Role
from app.domain.scan import Scan, Source
from app.domain.workflow import MODES_BY_ROLE, Feedback, Level, TagRead
from app.services.station_view import StationView
from app.ui.station_worker import StationSessionPort, StationWorker, TagBurstCollector

pytestmark = pytest.mark.qt_log_level_fail("WARNING")

WAIT_MS = 10_000
"""A hang guard for signals from other threads, not a speed limit."""
DANA = Operator(1, "D001", "Dana Dock", Role.DOCK)


def make_view(**changes: Any) -> StationView:
    """A signed-in dock worker in receive mode, with `changes`."""
    base = StationView(
        station="ST-1",
        operator=DANA,
        mode=StationMode.RECEIVE,
        modes=MODES_BY_ROLE[Role.DOCK],
        prompt="Scan the next item",
        feedback=None,
        lines=(),
        entry=None,
        choices=(),
        scans=(),
        transactions=(),
        queue_depth=0,
        database="connected",
    )
    return dataclasses.replace(base, **changes)


def rfid_read(epc: str) -> RfidRead:
    return RfidRead(Scan(epc, Source.RFID, "reader", "EPC"), decode_epc(epc))


class InTestSession:
    """Satisfies StationSessionPort: answers each input with a view whose prompt names it and
    whose input_seq counts it, and records each call with the thread it ran on. A scan of
    `fail_on` raises, as a session whose database connection broke would."""

    def __init__(self, fail_on: str | None = None, drained: Sequence[str] = ()) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.threads: set[int] = set()
        self.fail_on = fail_on
        self.drained = list(drained)
        self.drains = 0
        self.closed_on: int | None = None
        self._seq = 0

    def _answer(self, kind: str, value: Any) -> StationView:
        self.threads.add(threading.get_ident())
        self.calls.append((kind, value))
        if kind == "scan" and value.text == self.fail_on:
            raise RuntimeError("server closed the connection unexpectedly")
        self._seq += 1
        return make_view(
            prompt=f"{kind} {self._seq}",
            feedback=Feedback(Level.OK, f"{kind} done"),
            input_seq=self._seq,
        )

    def of(self, kind: str) -> list[Any]:
        return [value for k, value in self.calls if k == kind]

    def handle_scan(self, scan: Scan) -> StationView:
        return self._answer("scan", scan)

    def handle_tags(self, tags: Sequence[TagRead]) -> StationView:
        return self._answer("tags", tuple(tags))

    def handle_entry(self, text: str) -> StationView:
        return self._answer("entry", text)

    def handle_command(self, name: CommandName, arg: str | None = None) -> StationView:
        return self._answer("command", (name, arg))

    def drain(self) -> StationView | None:
        self.threads.add(threading.get_ident())
        self.drains += 1
        if not self.drained:
            return None
        return make_view(prompt=self.drained.pop(0))

    def view(self) -> StationView:
        self.threads.add(threading.get_ident())
        return make_view(prompt="first view")

    def close(self) -> None:
        self.closed_on = threading.get_ident()


class Factory:
    """Builds the session (or raises, while `error` is set) and notes the thread it ran on."""

    def __init__(self, session: InTestSession, error: Exception | None = None) -> None:
        self.session = session
        self.error = error
        self.threads: list[int] = []

    def __call__(self) -> StationSessionPort:
        self.threads.append(threading.get_ident())
        if self.error is not None:
            raise self.error
        return self.session


class Inbox(QObject):
    """What the worker sends, received on the GUI thread as the window receives it.

    Tests wait on these signals, never on the worker's own: qtbot.waitSignal's callback would
    run on the worker's thread and stop the blocker's timer from there, which Qt refuses."""

    view = Signal(StationView)
    failure = Signal(str)

    def __init__(self, worker: StationWorker) -> None:
        super().__init__()
        self.views: list[StationView] = []
        self.failures: list[str] = []
        worker.viewReady.connect(self._on_view_ready)
        worker.failed.connect(self._on_failed)

    @Slot(StationView)
    def _on_view_ready(self, view: StationView) -> None:
        self.views.append(view)
        self.view.emit(view)

    @Slot(str)
    def _on_failed(self, text: str) -> None:
        self.failures.append(text)
        self.failure.emit(text)


@pytest.fixture
def workers() -> Iterator[list[StationWorker]]:
    """Workers a test started; each must stop, its thread ended, when the test is over."""
    started: list[StationWorker] = []
    yield started
    for worker in started:
        assert worker.stop(), "the station worker's thread did not end"
        assert not worker.running


def start(
    qtbot: QtBot,
    workers: list[StationWorker],
    factory: Callable[[], StationSessionPort],
    **options: Any,
) -> tuple[StationWorker, Inbox]:
    worker = StationWorker(factory, **options)
    workers.append(worker)
    inbox = Inbox(worker)
    with qtbot.waitSignal(inbox.view, timeout=WAIT_MS) as first:
        worker.start()
    assert first.args[0].prompt == "first view"
    return worker, inbox


def answer(qtbot: QtBot, inbox: Inbox, send: Callable[[], None]) -> StationView:
    with qtbot.waitSignal(inbox.view, timeout=WAIT_MS) as blocker:
        send()
    view = blocker.args[0]
    assert isinstance(view, StationView)
    return view


def test_a_scan_goes_in_and_its_view_comes_out_and_the_session_lives_on_the_worker_thread(
    qtbot: QtBot, workers: list[StationWorker]
) -> None:
    session = InTestSession()
    factory = Factory(session)
    worker, inbox = start(qtbot, workers, factory)
    scan = Scan("09506000134352", Source.WEDGE, "wedge")
    view = answer(qtbot, inbox, lambda: worker.submit_scan(scan))
    assert (view.prompt, view.input_seq) == ("scan 1", 1)
    assert session.of("scan") == [scan]
    gui = threading.get_ident()
    assert len(factory.threads) == 1 and factory.threads[0] != gui
    assert session.threads == {factory.threads[0]}


def test_every_kind_of_input_reaches_the_session_in_order(
    qtbot: QtBot, workers: list[StationWorker]
) -> None:
    session = InTestSession()
    worker, inbox = start(qtbot, workers, Factory(session))
    tags = (TagRead("3074257BF7194E4000001A85", "80614141123458", "6789"),)
    answer(qtbot, inbox, lambda: worker.submit_tags(tags))
    answer(qtbot, inbox, lambda: worker.submit_entry("12"))
    answer(qtbot, inbox, lambda: worker.submit_command(CommandName.MODE, "pick"))
    answer(qtbot, inbox, lambda: worker.submit_command(CommandName.DONE))
    view = answer(qtbot, inbox, lambda: worker.submit_choice("ASN-0001"))
    assert view.input_seq == 5
    [choice] = session.of("scan")
    assert (choice.text, choice.source, choice.device) == ("ASN-0001", Source.MANUAL, "screen")
    assert session.calls[:4] == [
        ("tags", tags),
        ("entry", "12"),
        ("command", (CommandName.MODE, "pick")),
        ("command", (CommandName.DONE, None)),
    ]


def test_the_drain_timer_runs_on_the_worker_thread_and_only_changes_are_sent(
    qtbot: QtBot, workers: list[StationWorker]
) -> None:
    session = InTestSession(drained=["queue drained"])
    _, inbox = start(qtbot, workers, Factory(session), drain_interval_ms=20)
    qtbot.waitUntil(lambda: session.drains >= 3, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: len(inbox.views) >= 2, timeout=WAIT_MS)
    prompts = [v.prompt for v in inbox.views]
    assert prompts == ["first view", "queue drained"]  # drains that changed nothing: silent
    assert threading.get_ident() not in session.threads
    assert len(session.threads) == 1


def test_stopping_closes_the_session_on_its_thread_and_ends_the_thread(
    qtbot: QtBot, workers: list[StationWorker]
) -> None:
    session = InTestSession()
    factory = Factory(session)
    worker, _ = start(qtbot, workers, factory, drain_interval_ms=10)
    qtbot.waitUntil(lambda: session.drains >= 1, timeout=WAIT_MS)
    assert worker.stop()
    assert not worker.running
    assert session.closed_on == factory.threads[0]
    assert worker.thread() is QThread.currentThread()  # home again: deletable on this thread
    drains = session.drains
    qtbot.wait(50)
    assert session.drains == drains  # the timer stopped with the thread
    worker.submit_scan(Scan("09506000134352", Source.WEDGE))
    qtbot.wait(20)
    assert session.of("scan") == []  # input after stop is dropped, never run on this thread
    assert worker.stop()  # twice is fine


def test_a_session_that_raises_is_reported_and_the_worker_keeps_going(
    qtbot: QtBot, workers: list[StationWorker]
) -> None:
    session = InTestSession(fail_on="BOOM")
    worker, inbox = start(qtbot, workers, Factory(session))
    with qtbot.waitSignal(inbox.failure, timeout=WAIT_MS) as failure:
        worker.submit_scan(Scan("BOOM", Source.WEDGE))
    assert failure.args == ["RuntimeError: server closed the connection unexpectedly"]
    view = answer(qtbot, inbox, lambda: worker.submit_scan(Scan("09506000134352", Source.WEDGE)))
    assert view.prompt == "scan 1"
    assert worker.running


def test_a_session_that_cannot_be_built_is_reported_and_tried_again(
    qtbot: QtBot, workers: list[StationWorker]
) -> None:
    session = InTestSession()
    factory = Factory(session, OSError("database file is locked"))
    worker = StationWorker(factory, drain_interval_ms=60_000)
    workers.append(worker)
    inbox = Inbox(worker)
    with qtbot.waitSignal(inbox.failure, timeout=WAIT_MS) as failure:
        worker.start()
    assert failure.args == ["The station could not start: OSError: database file is locked"]
    with qtbot.waitSignal(inbox.failure, timeout=WAIT_MS):
        worker.submit_entry("1")  # still failing: reported again, nothing handled
    factory.error = None
    view = answer(qtbot, inbox, lambda: worker.submit_entry("2"))
    assert view.prompt == "entry 1"
    assert session.of("entry") == ["2"]
    assert len(factory.threads) == 3 and threading.get_ident() not in factory.threads


def test_a_failure_repeating_on_the_drain_timer_is_reported_once(
    qtbot: QtBot, workers: list[StationWorker]
) -> None:
    """Retried every tick while nobody is asking: one red banner, not a buzz every tick."""
    session = InTestSession()
    factory = Factory(session, OSError("outbox file is read-only"))
    worker = StationWorker(factory, drain_interval_ms=10)
    workers.append(worker)
    inbox = Inbox(worker)
    worker.start()
    qtbot.waitUntil(lambda: len(factory.threads) >= 5, timeout=WAIT_MS)
    with qtbot.waitSignal(inbox.failure, timeout=WAIT_MS):
        worker.submit_scan(Scan("09506000134352", Source.WEDGE))  # asked: told again
    factory.error = OSError("disk full")
    qtbot.waitUntil(lambda: len(inbox.failures) == 3, timeout=WAIT_MS)  # news: told
    factory.error = None
    qtbot.waitUntil(lambda: len(inbox.views) == 1, timeout=WAIT_MS)
    assert inbox.views[0].prompt == "first view"
    assert inbox.failures == [
        "The station could not start: OSError: outbox file is read-only",
        "The station could not start: OSError: outbox file is read-only",
        "The station could not start: OSError: disk full",
    ]


def test_input_before_start_is_dropped_not_run_on_the_gui_thread(qtbot: QtBot) -> None:
    session = InTestSession()
    factory = Factory(session)
    worker = StationWorker(factory)
    worker.submit_scan(Scan("09506000134352", Source.WEDGE))
    worker.submit_command(CommandName.DONE)
    assert factory.threads == [] and session.calls == []
    assert worker.stop()


def test_rfid_reads_of_one_burst_go_out_together_as_tags(qtbot: QtBot) -> None:
    collector = TagBurstCollector(burst_ms=50)
    bursts: list[tuple[TagRead, ...]] = []
    collector.burst.connect(bursts.append)
    first = [f"3074257BF7194E40000000{n:02X}" for n in range(3)]
    with qtbot.waitSignal(collector.burst, timeout=WAIT_MS):
        for epc in first:
            collector.add(rfid_read(epc))
    later = "E28011700000020A1B2C3D4E"
    with qtbot.waitSignal(collector.burst, timeout=WAIT_MS):
        collector.add(rfid_read(later))
    assert [[tag.epc for tag in burst] for burst in bursts] == [first, [later]]
    sgtin = bursts[0][0]
    assert (sgtin.gtin, sgtin.serial) == (decode_epc(first[0]).gtin, decode_epc(first[0]).serial)
    assert sgtin.gtin is not None and bursts[1][0].gtin is None  # a raw EPC stays raw
    collector.flush()
    assert len(bursts) == 2  # nothing gathered: nothing sent
