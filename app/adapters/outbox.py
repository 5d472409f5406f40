"""The station's local outbox: every transaction is written here before it is sent.

DESIGN.md section 2: a scan becomes a command with a station-generated id, and that command is
stored durably in a small SQLite file of the station's own (never the ledger database) *before*
it goes to the ledger. If the station crashes, the reply is lost or the database is down, the
command is still here and `drain` sends it again with the same id, so the ledger applies it
exactly once and the resend gets the stored outcome back. Nothing is ever deleted: an entry moves
from `queued` to `confirmed` or `refused` once the ledger has answered, and keeps the answer.

Plain `sqlite3` in autocommit mode, WAL and `synchronous=FULL`: each write is its own durable
transaction, so a command that `enqueue` returned for survives a kill -9 or a power cut. One
connection guarded by a lock, so the database worker can send while the GUI reads the depth.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from app.domain.commands import Command, command_from_payload, utc_now
from app.domain.ledger import Outcome
from app.domain.ports import DatabaseUnavailable, UnitOfWorkFactory

QUEUED, CONFIRMED, REFUSED = "queued", "confirmed", "refused"

Submit = Callable[[Command, UnitOfWorkFactory], Outcome]
"""How a command reaches the ledger: `app.services.ledger.submit`, passed in by the caller so
that this adapter does not import the services layer (DESIGN.md section 8)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tx_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'confirmed', 'refused')),
    outcome TEXT,
    answered_at TEXT
);
CREATE INDEX IF NOT EXISTS ix_outbox_state ON outbox (state, seq);
"""


class OutboxConflict(Exception):
    """The same transaction id was enqueued again with a different payload: a station bug."""


@dataclass(frozen=True)
class OutboxEntry:
    """One stored command and, once the ledger answered, its outcome (as `Outcome.as_dict()`)."""

    seq: int
    tx_id: uuid.UUID
    kind: str
    payload: dict[str, Any]
    created_at: str
    state: str
    outcome: dict[str, Any] | None

    def command(self) -> Command:
        """The command as it was enqueued, with the same id."""
        return command_from_payload(self.tx_id, self.payload)


@dataclass(frozen=True)
class DrainReport:
    """What one `drain` did: the outcomes it received, in order, and what is still queued."""

    outcomes: tuple[Outcome, ...]
    remaining: int
    stopped: bool
    """True when the database was unavailable and the rest of the queue was left for later."""

    @property
    def sent(self) -> int:
        return len(self.outcomes)


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


class Outbox:
    """A durable, ordered queue of commands waiting for (or holding) the ledger's answer."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def enqueue(self, command: Command) -> None:
        """Store the command durably, before it is sent. Enqueueing it again is a no-op."""
        payload = _dumps(command.payload())
        with self._lock:
            self._db.execute(
                "INSERT INTO outbox (tx_id, kind, payload, created_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (tx_id) DO NOTHING",
                (str(command.tx_id), command.kind.value, payload, utc_now().isoformat()),
            )
            row = self._db.execute(
                "SELECT payload FROM outbox WHERE tx_id = ?", (str(command.tx_id),)
            ).fetchone()
        if row[0] != payload:
            raise OutboxConflict(
                f"transaction {command.tx_id} is already queued with a different payload"
            )

    def mark(self, outcome: Outcome) -> bool:
        """Record the ledger's answer. The first answer stays; False if it was already answered."""
        state = CONFIRMED if outcome.ok else REFUSED
        with self._lock:
            cursor = self._db.execute(
                "UPDATE outbox SET state = ?, outcome = ?, answered_at = ?"
                " WHERE tx_id = ? AND state = ?",
                (
                    state,
                    _dumps(outcome.as_dict()),
                    utc_now().isoformat(),
                    str(outcome.tx_id),
                    QUEUED,
                ),
            )
            if cursor.rowcount:
                return True
            known = self._db.execute(
                "SELECT 1 FROM outbox WHERE tx_id = ?", (str(outcome.tx_id),)
            ).fetchone()
        if known is None:
            raise KeyError(f"transaction {outcome.tx_id} is not in this outbox")
        return False

    def depth(self) -> int:
        """How many commands still wait for an answer (shown on screen; blocks logout)."""
        with self._lock:
            row = self._db.execute("SELECT count(*) FROM outbox WHERE state = ?", (QUEUED,))
            return int(row.fetchone()[0])

    def pending(self) -> list[Command]:
        """The commands still waiting for an answer, in the order they were enqueued."""
        return [e.command() for e in self.entries(state=QUEUED)]

    def entries(self, state: str | None = None) -> list[OutboxEntry]:
        """Every stored entry (or those in one state), in the order they were enqueued."""
        sql = "SELECT seq, tx_id, kind, payload, created_at, state, outcome FROM outbox"
        params: tuple[str, ...] = ()
        if state is not None:
            sql += " WHERE state = ?"
            params = (state,)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY seq", params).fetchall()
        return [
            OutboxEntry(
                seq,
                uuid.UUID(tx_id),
                kind,
                json.loads(payload),
                created,
                st,
                json.loads(outcome) if outcome is not None else None,
            )
            for seq, tx_id, kind, payload, created, st, outcome in rows
        ]

    def drain(self, uow_factory: UnitOfWorkFactory, submit: Submit) -> DrainReport:
        """Send the queued commands in order, with their own ids, and record each answer.

        Stops at the first DatabaseUnavailable and leaves that command and the rest queued, so
        the order is kept for the next drain. Any other error propagates (the command stays
        queued: nothing in the outbox is ever dropped).
        """
        outcomes: list[Outcome] = []
        stopped = False
        for command in self.pending():
            try:
                outcome = submit(command, uow_factory)
            except DatabaseUnavailable:
                stopped = True
                break
            self.mark(outcome)
            outcomes.append(outcome)
        return DrainReport(tuple(outcomes), self.depth(), stopped)
