"""The one classifier of database errors, for both databases.

Every adapter that meets a database error asks `classify` what it means, and nothing else looks
at SQLSTATEs or driver messages:

- TRANSIENT: worth sending again at once with the same transaction id (a lock conflict, a
  deadlock, a busy SQLite file, two attempts of one id racing to record it).
- UNREACHABLE: the database cannot be used now (a lost or refused connection, a server shutting
  down, a standby that takes no writes). Retried too; when retries run out the station queues.
- CONSTRAINT, RANGE, DATA: the database refused this transaction for good (a rule of the stored
  data, a number beyond a column's range, a value it cannot store). Sending it again gives the
  same answer, so it becomes the transaction's refusal and the queue moves on.
- None: not a failure of the data or of the link but of the program (a missing table, a
  statement the role may not make): a bug, left to the crash handler.
"""

from __future__ import annotations

import sqlite3
from enum import StrEnum

from sqlalchemy import exc

from app.domain.errors import Reason, Rejection
from app.domain.quantities import MAX_QUANTITY


class Failure(StrEnum):
    TRANSIENT = "transient"
    UNREACHABLE = "unreachable"
    CONSTRAINT = "constraint"
    RANGE = "range"
    DATA = "data"


RETRYABLE = frozenset({Failure.TRANSIENT, Failure.UNREACHABLE})
PERMANENT = frozenset({Failure.CONSTRAINT, Failure.RANGE, Failure.DATA})

_PG_TRANSIENT = {
    "40001",  # serialization_failure
    "40P01",  # deadlock_detected
    "55P03",  # lock_not_available (lock_timeout)
    "55006",  # object_in_use
    "57014",  # query_canceled (statement_timeout)
}
_PG_UNREACHABLE = {
    "25006",  # read_only_sql_transaction: a standby after a failover
    "57P01",  # admin_shutdown
    "57P02",  # crash_shutdown
    "57P03",  # cannot_connect_now
    "3D000",  # invalid_catalog_name: the database is not there (yet)
}
_PG_UNREACHABLE_CLASSES = (
    "08",  # connection exception
    "28",  # invalid authorization (a password changed under the station)
    "53",  # insufficient resources (too many connections, disk full)
    "58",  # system error (I/O)
)
_PG_CONSTRAINT_CLASSES = ("23", "44")  # integrity constraint, WITH CHECK OPTION
_PG_RAISED = "P0001"  # a trigger's RAISE EXCEPTION: a rule of the database's own
_PG_RANGE = {"22003", "22008", "22015"}  # numeric, datetime and interval field overflow

_SQLITE_TRANSIENT = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}
_SQLITE_UNREACHABLE = {
    sqlite3.SQLITE_CANTOPEN,
    sqlite3.SQLITE_IOERR,
    sqlite3.SQLITE_FULL,
    sqlite3.SQLITE_PROTOCOL,
    sqlite3.SQLITE_READONLY,
    sqlite3.SQLITE_NOTADB,
}
_SQLITE_DATA = {sqlite3.SQLITE_TOOBIG, sqlite3.SQLITE_MISMATCH}

_TX_ID_RACE = ("pk_transactions", "transactions.id")
"""Two attempts with one transaction id raced to record it: the next attempt replays."""


def classify(error: BaseException) -> Failure | None:
    """What a failure raised by a database call means (None: a bug, not the data or the link)."""
    if isinstance(error, exc.TimeoutError):  # no connection free in the pool in time
        return Failure.TRANSIENT
    if isinstance(error, OverflowError):  # sqlite3 binding an int beyond 64 bits
        return Failure.RANGE
    if not isinstance(error, exc.DBAPIError):
        return None
    if error.connection_invalidated:
        return Failure.UNREACHABLE
    orig = error.orig
    if isinstance(orig, sqlite3.Error):
        return _sqlite(orig)
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate is None:
        # psycopg: no SQLSTATE means the server never answered, or the driver refused a value
        # before sending it (a NUL character in a text).
        if isinstance(error, exc.DataError):
            return Failure.DATA
        if isinstance(error, exc.OperationalError | exc.InterfaceError):
            return Failure.UNREACHABLE
        return None
    return _postgres(sqlstate, constraint(error))


def _postgres(sqlstate: str, rule: str | None) -> Failure | None:
    if sqlstate in _PG_TRANSIENT:
        return Failure.TRANSIENT
    if sqlstate in _PG_UNREACHABLE or sqlstate.startswith(_PG_UNREACHABLE_CLASSES):
        return Failure.UNREACHABLE
    if sqlstate == "23505" and rule in _TX_ID_RACE:
        return Failure.TRANSIENT
    if sqlstate.startswith(_PG_CONSTRAINT_CLASSES) or sqlstate == _PG_RAISED:
        return Failure.CONSTRAINT
    if sqlstate in _PG_RANGE:
        return Failure.RANGE
    if sqlstate.startswith(("22", "54")):  # data exception; program limit (a value too big)
        return Failure.DATA
    return None


def _sqlite(orig: sqlite3.Error) -> Failure | None:
    code = getattr(orig, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    text = str(orig).lower()
    if primary in _SQLITE_TRANSIENT:
        return Failure.TRANSIENT
    if primary is None and ("locked" in text or "busy" in text):  # a driver without codes
        return Failure.TRANSIENT
    if primary in _SQLITE_UNREACHABLE:
        return Failure.UNREACHABLE
    if primary == sqlite3.SQLITE_CONSTRAINT or isinstance(orig, sqlite3.IntegrityError):
        return Failure.TRANSIENT if _TX_ID_RACE[1] in str(orig) else Failure.CONSTRAINT
    if "integer overflow" in text:  # an aggregate past 64 bits
        return Failure.RANGE
    if primary in _SQLITE_DATA or isinstance(orig, sqlite3.DataError):
        return Failure.DATA
    return None


def retryable(error: BaseException) -> bool:
    """Send again with the same id: a transient failure or an outage."""
    return classify(error) in RETRYABLE


def constraint(error: BaseException) -> str | None:
    """The name of the rule the database says was broken, when it names one."""
    orig = getattr(error, "orig", None)
    diag = getattr(orig, "diag", None)
    name = getattr(diag, "constraint_name", None)
    if name:
        return str(name)
    if isinstance(orig, sqlite3.Error):
        _, found, rule = str(orig).partition("constraint failed: ")
        if found and rule.strip():
            return rule.strip()
    return None


def first_line(error: BaseException) -> str:
    """The first line of the driver's message (for logs, never the whole traceback)."""
    text = str(getattr(error, "orig", None) or error)
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__


def _broken(error: BaseException) -> str:
    """What rule the transaction broke: a trigger's own message (written for people), or the
    name of the constraint, for whoever looks into it."""
    orig = getattr(error, "orig", None)
    if getattr(orig, "sqlstate", None) == _PG_RAISED:
        primary = getattr(getattr(orig, "diag", None), "message_primary", None)
        return str(primary or first_line(error))
    if getattr(orig, "sqlite_errorname", None) == "SQLITE_CONSTRAINT_TRIGGER":
        return first_line(error)
    name = constraint(error)
    return f"it breaks rule {name}" if name else "it breaks a rule of the database"


def _value_text(error: BaseException) -> str:
    sqlstate = getattr(getattr(error, "orig", None), "sqlstate", None)
    if sqlstate == "22001":
        return "a text longer than the database keeps"
    if sqlstate in ("22021", "22P05") or "NUL" in first_line(error):
        return "characters the database cannot store"
    if sqlstate in ("22007", "22008"):
        return "a date or time the database cannot store"
    return "a value the database cannot store"


def refusal(error: BaseException, failure: Failure) -> Rejection:
    """The refusal a user reads for a transaction the database refused for good."""
    if failure is Failure.RANGE:
        why = f"a number in it is beyond the largest quantity {MAX_QUANTITY}"
        then = "check the quantities and enter it again"
    elif failure is Failure.CONSTRAINT:
        why, then = _broken(error), "show this to a supervisor"
    else:
        why = f"it holds {_value_text(error)}"
        then = "check what was scanned or typed and enter it again"
    message = f"the database refused this transaction: {why}. Nothing was changed: {then}"
    return Rejection(Reason.DATABASE_REFUSED, message, {"failure": failure.value})


def as_refusal(error: BaseException) -> Rejection | None:
    """The refusal for an error the database raised for good; None for any other error."""
    failure = classify(error)
    return refusal(error, failure) if failure in PERMANENT else None
