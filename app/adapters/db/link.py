"""Whether the shared database answers, watched from a thread of its own.

A station must know it is cut off before a worker scans into a hanging connection: the screen
says so within a second (RELIABILITY.md T14), and while it is cut off, transactions go straight
into the outbox instead of waiting for a connection to time out. `Link` asks the database for
its id four times a second on a connection of its own, and gives up on an answer after `timeout`
seconds (a cable pulled answers nothing at all, so the question runs on a helper thread and is
abandoned rather than waited for). The session reports what it sees too: a transaction that
failed for want of the database marks the link down at once.

The answer also carries the database's permanent id and schema revision, so that a station
started while the database was away checks both as soon as it is back.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, text

from .engine import READONLY
from .outage import first_line

log = logging.getLogger(__name__)

INTERVAL_S = 0.25
TIMEOUT_S = 1.0


@dataclass(frozen=True)
class Seen:
    """What the last answer said."""

    database_id: str | None
    revision: str | None


class Link:
    """The link to one database. `start()` once, `stop()` once; properties from any thread."""

    def __init__(
        self,
        engine: Engine,
        interval_s: float = INTERVAL_S,
        timeout_s: float = TIMEOUT_S,
        on_change: Callable[[bool], None] | None = None,
    ) -> None:
        self._engine = engine
        self._interval = interval_s
        self._timeout = timeout_s
        self._on_change = on_change
        self._lock = threading.Lock()
        self._up: bool | None = None  # None: not asked yet
        self._since = datetime.now(UTC)
        self._why = "not checked yet"
        self._seen = Seen(None, None)
        self._stop = threading.Event()
        self._asked = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="db-probe")
        self._probe: concurrent.futures.Future[Seen] | None = None

    # --- state ---------------------------------------------------------------------------------

    @property
    def up(self) -> bool:
        with self._lock:
            return bool(self._up)

    @property
    def known(self) -> bool:
        """Whether the database has been asked at least once."""
        with self._lock:
            return self._up is not None

    @property
    def since(self) -> datetime:
        """When the link last went up or down."""
        with self._lock:
            return self._since

    @property
    def why(self) -> str:
        with self._lock:
            return self._why

    @property
    def seen(self) -> Seen:
        with self._lock:
            return self._seen

    def down(self, why: str) -> None:
        """Something failed for want of the database (the session reports it)."""
        self._set(False, why)

    def confirmed(self) -> None:
        """Something went through (the session reports it)."""
        self._set(True, "")

    def _set(self, up: bool, why: str, seen: Seen | None = None) -> None:
        with self._lock:
            changed = self._up is not up
            if changed:
                self._since = datetime.now(UTC)
            self._up = up
            if not up:
                self._why = why
            if seen is not None:
                self._seen = seen
        if changed:
            log.info("database link %s%s", "up" if up else "down", f": {why}" if why else "")
            if self._on_change is not None:
                self._on_change(up)

    # --- the watcher ---------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="db-link", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def check(self, timeout_s: float | None = None) -> bool:
        """Ask now (on the caller's thread, within the timeout or `timeout_s`) and return whether
        it is up. A station's first question may wait longer: a new connection on a busy
        machine can take more than the second a watcher allows an established link."""
        self._ask(timeout_s)
        return self.up

    def wait_known(self, timeout_s: float) -> bool:
        """Wait until the database has been asked once (True), or `timeout_s` passed."""
        return self._asked.wait(timeout_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._ask()
            self._stop.wait(self._interval)

    def _ask(self, timeout_s: float | None = None) -> None:
        timeout = self._timeout if timeout_s is None else timeout_s
        probe = self._probe
        if probe is None or probe.done():
            probe = self._probe = self._pool.submit(self._query)
        try:
            seen = probe.result(timeout=timeout)
        except concurrent.futures.TimeoutError:
            self._set(False, f"no answer within {timeout:g} s")
        except Exception as error:  # any failure to answer is an outage, whatever the driver
            self._set(False, first_line(error))
        else:
            self._set(True, "", seen)
        self._asked.set()

    def _query(self) -> Seen:
        with self._engine.connect() as c:
            # A plain read: on SQLite, never the write lock (busy writers must not look like an
            # outage).
            c.execution_options(**{READONLY: True})
            database_id = c.execute(
                text("SELECT database_id FROM database_identity WHERE id = 1")
            ).scalar()
            revision = c.execute(text("SELECT version_num FROM alembic_version")).scalar()
            c.rollback()
        return Seen(
            None if database_id is None else str(database_id),
            None if revision is None else str(revision),
        )
