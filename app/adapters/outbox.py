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
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from app.domain.commands import EPHEMERAL, Command, command_from_payload, utc_now
from app.domain.errors import Reason, Rejection
from app.domain.ledger import Outcome, Status
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
CREATE TABLE IF NOT EXISTS outbox_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
# Columns added after outboxes were first written: added in place to an older file.
_LATER_COLUMNS = {
    "late": "INTEGER NOT NULL DEFAULT 0",
    "acknowledged_by": "TEXT",
    "acknowledged_at": "TEXT",
    "approver_pin": "TEXT",
}
"""`approver_pin`: the PIN of a supervisor's approval, which the ledger verifies when the
transaction reaches it (never in the payload). Kept only while the transaction waits: wiped
when the answer is recorded."""


_EPHEMERAL_SQL = ", ".join(f"'{kind.value}'" for kind in sorted(EPHEMERAL))


class OutboxConflict(Exception):
    """The same transaction id was enqueued again with a different payload: a station bug."""


class WrongDatabase(Exception):
    """The queue belongs to another database than the one the station is connected to."""

    def __init__(self, outbox: Path, owner: str, owner_url: str, other: str, depth: int) -> None:
        self.owner, self.other, self.depth = owner, other, depth
        where = f" ({owner_url})" if owner_url else ""
        super().__init__(
            f"{depth} queued transaction(s) in {outbox} belong to database {owner}{where}, not "
            f"to database {other} this station is connected to: they are not sent here. Export "
            f"them with `perpetua outbox export --outbox {outbox} FILE` and give the file to a "
            "supervisor, or start the station on its own database again."
        )


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
    late: bool = False
    """Answered by a drain after waiting in the queue (an outage), or refused by the database
    itself: a refusal then is an exception for a supervisor until acknowledged."""
    acknowledged_by: str | None = None
    approver_pin: str | None = field(default=None, repr=False)

    def command(self) -> Command:
        """The command as it was enqueued, with the same id (and its approval's PIN while it
        waits)."""
        command = command_from_payload(self.tx_id, self.payload)
        return replace(command, approver_pin=self.approver_pin) if self.approver_pin else command


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
        self._db.execute("PRAGMA secure_delete=ON")  # a wiped PIN leaves no trace in the file
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)
        have = {row[1] for row in self._db.execute("PRAGMA table_info(outbox)")}
        for name, decl in _LATER_COLUMNS.items():
            if name not in have:
                self._db.execute(f"ALTER TABLE outbox ADD COLUMN {name} {decl}")
        self._lapse_ephemeral()

    def _lapse_ephemeral(self) -> None:
        """A command that only means something at once (a bin suggestion) and was left queued by
        a station that died while sending it is never sent later: it is answered here, refused,
        as the station would have answered it had it stayed up."""
        for entry in self.entries(QUEUED, f"AND kind IN ({_EPHEMERAL_SQL})"):
            self.mark(
                Outcome(
                    entry.tx_id,
                    entry.kind,
                    Status.REFUSED,
                    "not sent: the station stopped before the database answered, and a bin "
                    "suggestion only means something at once",
                    Reason.OFFLINE.value,
                )
            )

    # --- which database the queue belongs to -----------------------------------------------------

    def _meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM outbox_meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    @property
    def database_id(self) -> str | None:
        """The database this outbox's queue belongs to (None: not yet bound)."""
        return self._meta("database_id")

    @property
    def database_url(self) -> str:
        """Where that database was, as the station was told (password left out)."""
        return self._meta("database_url") or ""

    def bind(self, database_id: str, url: str = "") -> None:
        """Belong to this database. An outbox with nothing queued follows the station to another
        database; one with a queue refuses (WrongDatabase), so it is never sent elsewhere."""
        owner = self.database_id
        if owner is not None and owner != database_id:
            depth = self.depth()
            if depth:
                raise WrongDatabase(self.path, owner, self.database_url, database_id, depth)
        with self._lock:
            self._db.executemany(
                "INSERT INTO outbox_meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [("database_id", database_id), ("database_url", url)],
            )

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
                "INSERT INTO outbox (tx_id, kind, payload, created_at, approver_pin)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (tx_id) DO NOTHING",
                (
                    str(command.tx_id),
                    command.kind.value,
                    payload,
                    utc_now().isoformat(),
                    command.approver_pin,
                ),
            )
            row = self._db.execute(
                "SELECT payload FROM outbox WHERE tx_id = ?", (str(command.tx_id),)
            ).fetchone()
        if row[0] != payload:
            raise OutboxConflict(
                f"transaction {command.tx_id} is already queued with a different payload"
            )

    def mark(self, outcome: Outcome, late: bool = False) -> bool:
        """Record the ledger's answer. The first answer stays; False if it was already answered.
        `late`: it came from a drain, after the command waited in the queue."""
        state = CONFIRMED if outcome.ok else REFUSED
        with self._lock:
            cursor = self._db.execute(
                "UPDATE outbox SET state = ?, outcome = ?, answered_at = ?, late = ?,"
                " approver_pin = NULL WHERE tx_id = ? AND state = ?",
                (
                    state,
                    _dumps(outcome.as_dict()),
                    utc_now().isoformat(),
                    int(late),
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

    def entries(self, state: str | None = None, where: str = "") -> list[OutboxEntry]:
        """Every stored entry (or those in one state), in the order they were enqueued."""
        sql = (
            "SELECT seq, tx_id, kind, payload, created_at, state, outcome, late, acknowledged_by,"
            " approver_pin FROM outbox WHERE 1 = 1"
        )
        params: tuple[str, ...] = ()
        if state is not None:
            sql += " AND state = ?"
            params = (state,)
        with self._lock:
            rows = self._db.execute(f"{sql} {where} ORDER BY seq", params).fetchall()
        return [
            OutboxEntry(
                seq,
                uuid.UUID(tx_id),
                kind,
                json.loads(payload),
                created,
                st,
                json.loads(outcome) if outcome is not None else None,
                bool(late),
                acknowledged,
                pin,
            )
            for seq, tx_id, kind, payload, created, st, outcome, late, acknowledged, pin in rows
        ]

    def exceptions(self) -> list[OutboxEntry]:
        """Transactions refused after waiting in the queue (or by the database itself) and not
        yet acknowledged by a supervisor: the station shows them in red until one does."""
        return self.entries(REFUSED, "AND late = 1 AND acknowledged_by IS NULL")

    def acknowledge(self, supervisor: str) -> int:
        """A supervisor has seen the exceptions: they leave the screen (and stay recorded)."""
        with self._lock:
            cursor = self._db.execute(
                "UPDATE outbox SET acknowledged_by = ?, acknowledged_at = ?"
                " WHERE state = ? AND late = 1 AND acknowledged_by IS NULL",
                (supervisor, utc_now().isoformat(), REFUSED),
            )
            return cursor.rowcount

    def oldest(self) -> str | None:
        """When the oldest queued command was enqueued (ISO text), None with an empty queue."""
        with self._lock:
            row = self._db.execute(
                "SELECT min(created_at) FROM outbox WHERE state = ?", (QUEUED,)
            ).fetchone()
        return None if row is None or row[0] is None else str(row[0])

    def export(self, file: Path) -> int:
        """Write the queued commands, in order, as JSON lines a supervisor can hand over:
        each with its id, kind, payload and when it was queued, and which database it is for.
        Nothing leaves the queue. Returns how many were written."""
        entries = self.entries(QUEUED)
        owner = self.database_id
        with Path(file).open("w", encoding="utf-8") as out:
            for e in entries:
                record = {
                    "tx_id": str(e.tx_id),
                    "kind": e.kind,
                    "queued_at": e.created_at,
                    "database_id": owner,
                    "payload": e.payload,
                }
                out.write(json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n")
        return len(entries)

    def drain(
        self,
        uow_factory: UnitOfWorkFactory,
        submit: Submit,
        on_outcome: Callable[[Command, Outcome], None] | None = None,
        *,
        fresh: frozenset[uuid.UUID] = frozenset(),
    ) -> DrainReport:
        """Send the queued commands in order, with their own ids, and record each answer. This
        is the one drain loop: the station's session runs it, and so do `perpetua outbox drain`
        and the tests.

        Stops at the first DatabaseUnavailable and leaves that command and the rest queued, so
        the order is kept for the next drain. A command refused for good never holds up the
        rest: the ledger stores the database's own refusals as answers (`submit`), and an entry
        this version cannot even read back as a command is answered here. Any other error (a
        bug) propagates and the command stays queued. `on_outcome` hears each answer after it
        is recorded; an answer to a command not in `fresh` (the one being sent right now) is
        late: a refusal then waits as an exception for a supervisor, as does every refusal by
        the database itself.
        """
        outcomes: list[Outcome] = []
        stopped = False
        self._lapse_ephemeral()
        for entry in self.entries(state=QUEUED):
            try:
                command = entry.command()
            except Rejection as unreadable:
                outcome = _unsendable(entry, unreadable)
                self.mark(outcome, late=True)
                outcomes.append(outcome)
                continue
            try:
                outcome = submit(command, uow_factory)
            except DatabaseUnavailable:
                stopped = True
                break
            exception = command.tx_id not in fresh or outcome.reason == Reason.DATABASE_REFUSED
            self.mark(outcome, late=exception)
            outcomes.append(outcome)
            if on_outcome is not None:
                on_outcome(command, outcome)
        return DrainReport(tuple(outcomes), self.depth(), stopped)


def _unsendable(entry: OutboxEntry, why: Rejection) -> Outcome:
    """The answer to a queued entry this version cannot send: stored by an older one that let
    through what this one refuses (a quantity beyond the database's range, say)."""
    return Outcome(
        entry.tx_id,
        entry.kind,
        Status.REFUSED,
        f"not sent: {why.message}",
        why.reason.value,
    )
