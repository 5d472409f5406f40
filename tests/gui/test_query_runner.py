"""The one background runner of the query screens (app/ui/runner.py): jobs run on its thread,
never the GUI's, one at a time; answers come back on the GUI thread; an answer superseded by a
newer job of the same key is dropped; a failure is delivered as a message; stop() closes the
context on the runner's thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pytestqt.qtbot import QtBot

from app.ui.runner import Runner


@dataclass
class Context:
    made_on: int = field(default_factory=threading.get_ident)
    closed_on: int | None = None
    running: int = 0
    most_at_once: int = 0

    def job(self, value: int, pause: float = 0.0) -> tuple[int, int]:
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        time.sleep(pause)
        self.running -= 1
        return value, threading.get_ident()

    def close(self) -> None:
        self.closed_on = threading.get_ident()


def test_jobs_run_off_the_gui_thread_and_answer_on_it(qtbot: QtBot) -> None:
    contexts: list[Context] = []

    def make() -> Context:
        contexts.append(Context())
        return contexts[-1]

    runner: Runner[Context] = Runner(make)
    gui = threading.get_ident()
    answers: list[tuple[int, int, int]] = []

    def job(n: int) -> Callable[[Context], tuple[int, int]]:
        return lambda c: c.job(n, 0.02)

    def done(value: tuple[int, int]) -> None:
        answers.append((*value, threading.get_ident()))

    for n in range(3):
        runner.submit(job(n), done, lambda m: answers.append((-1, 0, 0)))
    qtbot.waitUntil(lambda: len(answers) == 3, timeout=5000)
    assert [a[0] for a in answers] == [0, 1, 2]
    assert all(ran_on != gui and delivered_on == gui for _, ran_on, delivered_on in answers)
    assert len(contexts) == 1 and contexts[0].made_on != gui  # one context, made on its thread
    assert contexts[0].most_at_once == 1  # one thread: one job at a time
    assert not runner.busy
    assert runner.stop()
    assert contexts[0].closed_on not in (None, gui)


def test_an_older_answer_of_the_same_key_is_dropped(qtbot: QtBot) -> None:
    runner: Runner[Context] = Runner(Context)
    shown: list[int] = []
    runner.submit(lambda c: c.job(1, 0.2)[0], shown.append, lambda m: None, key="lookup")
    runner.submit(lambda c: c.job(2)[0], shown.append, lambda m: None, key="lookup")
    runner.submit(lambda c: c.job(3)[0], shown.append, lambda m: None, key="other")
    qtbot.waitUntil(lambda: not runner.busy, timeout=5000)
    assert shown == [2, 3]
    runner.stop()


def test_a_failure_comes_back_as_a_message_and_the_runner_goes_on(qtbot: QtBot) -> None:
    runner: Runner[Context] = Runner(Context)
    failures: list[str] = []
    values: list[int] = []

    def broken(c: Context) -> int:
        raise RuntimeError("the database is out of reach")

    runner.submit(broken, values.append, failures.append)
    runner.submit(lambda c: c.job(7)[0], values.append, failures.append)
    qtbot.waitUntil(lambda: len(values) + len(failures) == 2, timeout=5000)
    assert failures == ["the database is out of reach"] and values == [7]
    runner.stop()
