"""The one classifier of database errors (app/adapters/db/errors.py), with no database server.

SQLite's errors are real ones, raised by an in-memory SQLite through SQLAlchemy as the ledger
meets them; PostgreSQL's are psycopg's own classes for each SQLSTATE, wrapped by SQLAlchemy as
it wraps them (the same errors from a real server: tests/integration/test_poison_pill.py).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import psycopg
import psycopg.errors as pg
import pytest
from sqlalchemy import Connection, create_engine, exc, text

from app.adapters.db.errors import Failure, as_refusal, classify, refusal, retryable
from app.adapters.db.uow import translated
from app.domain.errors import Reason, Rejection
from app.domain.ports import TransientDatabaseError


@pytest.fixture
def sqlite() -> Iterator[Connection]:
    engine = create_engine("sqlite://")
    with engine.connect() as c:
        c.exec_driver_sql(
            "CREATE TABLE quants (id INTEGER PRIMARY KEY, on_hand INTEGER,"
            " CONSTRAINT on_hand_not_negative CHECK (on_hand >= 0))"
        )
        c.exec_driver_sql("CREATE TABLE transactions (id TEXT PRIMARY KEY)")
        c.exec_driver_sql(
            "CREATE TRIGGER lots_closed BEFORE INSERT ON quants WHEN NEW.on_hand = 13 "
            "BEGIN SELECT RAISE(ABORT, 'the stock take has closed this bin'); END"
        )
        yield c
    engine.dispose()


def raised(c: Connection, sql: str, **params: object) -> BaseException:
    with pytest.raises((exc.DBAPIError, OverflowError)) as caught:
        c.execute(text(sql), params)
    return caught.value


def wrapped(orig: Exception) -> exc.DBAPIError:
    """A psycopg error as SQLAlchemy hands it over."""
    error = exc.DBAPIError.instance("UPDATE quants ...", {}, orig, psycopg.Error)
    assert isinstance(error, exc.DBAPIError)
    return error


@pytest.mark.parametrize(
    ("sql", "params", "failure"),
    [
        ("INSERT INTO quants VALUES (1, -1)", {}, Failure.CONSTRAINT),
        ("INSERT INTO quants VALUES (1, 13)", {}, Failure.CONSTRAINT),
        ("INSERT INTO quants VALUES (1, :big)", {"big": 2**70}, Failure.RANGE),
        (
            "SELECT sum(v) FROM (SELECT 9223372036854775807 AS v UNION ALL SELECT 1)",
            {},
            Failure.RANGE,
        ),
        ("SELECT * FROM no_such_table", {}, None),
    ],
)
def test_sqlite_errors_as_the_ledger_meets_them(
    sqlite: Connection, sql: str, params: dict[str, object], failure: Failure | None
) -> None:
    assert classify(raised(sqlite, sql, **params)) is failure


def test_sqlite_the_same_id_recorded_twice_is_a_race_to_replay(sqlite: Connection) -> None:
    sqlite.execute(text("INSERT INTO transactions VALUES ('t1')"))
    error = raised(sqlite, "INSERT INTO transactions VALUES ('t1')")
    assert classify(error) is Failure.TRANSIENT
    assert retryable(error)


def test_a_busy_sqlite_file_is_transient_and_a_missing_one_unreachable(tmp_path: object) -> None:
    busy = exc.OperationalError("BEGIN", {}, _sqlite_error(sqlite3.SQLITE_BUSY, "locked"))
    assert classify(busy) is Failure.TRANSIENT
    gone = exc.OperationalError("BEGIN", {}, _sqlite_error(sqlite3.SQLITE_CANTOPEN, "open"))
    assert classify(gone) is Failure.UNREACHABLE


def test_a_trigger_message_mentioning_locked_is_still_a_rule(sqlite: Connection) -> None:
    sqlite.exec_driver_sql(
        "CREATE TRIGGER badge BEFORE INSERT ON quants WHEN NEW.on_hand = 14 "
        "BEGIN SELECT RAISE(ABORT, 'this badge is locked'); END"
    )
    assert classify(raised(sqlite, "INSERT INTO quants VALUES (2, 14)")) is Failure.CONSTRAINT


def _sqlite_error(code: int, message: str) -> sqlite3.Error:
    error = sqlite3.OperationalError(message)
    error.sqlite_errorcode = code
    return error


@pytest.mark.parametrize(
    ("orig", "failure"),
    [
        (pg.SerializationFailure("could not serialize"), Failure.TRANSIENT),
        (pg.DeadlockDetected("deadlock detected"), Failure.TRANSIENT),
        (pg.LockNotAvailable("canceling statement due to lock timeout"), Failure.TRANSIENT),
        (pg.QueryCanceled("canceling statement due to statement timeout"), Failure.TRANSIENT),
        (pg.AdminShutdown("terminating connection"), Failure.UNREACHABLE),
        (pg.CannotConnectNow("the database system is starting up"), Failure.UNREACHABLE),
        (pg.ConnectionFailure("connection failure"), Failure.UNREACHABLE),
        (pg.InvalidPassword("password authentication failed"), Failure.UNREACHABLE),
        (pg.TooManyConnections("too many clients"), Failure.UNREACHABLE),
        (pg.ReadOnlySqlTransaction("read-only transaction"), Failure.UNREACHABLE),
        (psycopg.OperationalError("connection refused"), Failure.UNREACHABLE),
        (pg.CheckViolation("violates check constraint"), Failure.CONSTRAINT),
        (pg.UniqueViolation("duplicate key value"), Failure.CONSTRAINT),
        (pg.ForeignKeyViolation("violates foreign key constraint"), Failure.CONSTRAINT),
        (pg.RaiseException("the stock take has closed this bin"), Failure.CONSTRAINT),
        (pg.NumericValueOutOfRange("integer out of range"), Failure.RANGE),
        (pg.StringDataRightTruncation("value too long"), Failure.DATA),
        (pg.UntranslatableCharacter("unsupported Unicode escape"), Failure.DATA),
        (psycopg.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes"), Failure.DATA),
        (pg.UndefinedTable('relation "nope" does not exist'), None),
        (pg.InsufficientPrivilege("permission denied for table moves"), None),
        (pg.SyntaxError("syntax error"), None),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else str(v),
)
def test_postgres_errors_by_sqlstate(orig: Exception, failure: Failure | None) -> None:
    assert classify(wrapped(orig)) is failure


def test_errors_that_are_not_the_databases_are_left_alone() -> None:
    assert classify(ValueError("a bug")) is None
    assert classify(TransientDatabaseError("already translated")) is None
    assert as_refusal(KeyError("x")) is None
    assert classify(exc.TimeoutError("QueuePool limit reached")) is Failure.TRANSIENT


def test_a_refusal_says_what_happened_in_plain_words(sqlite: Connection) -> None:
    rule = as_refusal(raised(sqlite, "INSERT INTO quants VALUES (1, -1)"))
    assert rule is not None and rule.reason is Reason.DATABASE_REFUSED
    assert rule.message == (
        "the database refused this transaction: it breaks rule on_hand_not_negative. Nothing "
        "was changed: show this to a supervisor"
    )
    trigger = as_refusal(raised(sqlite, "INSERT INTO quants VALUES (1, 13)"))
    assert trigger is not None and trigger.message == (
        "the database refused this transaction: the stock take has closed this bin. Nothing "
        "was changed: show this to a supervisor"
    )
    big = as_refusal(raised(sqlite, "INSERT INTO quants VALUES (1, :v)", v=2**70))
    assert big is not None and big.result == {"failure": "range"}
    assert big.message == (
        "the database refused this transaction: a number in it is beyond the largest quantity "
        "2147483647. Nothing was changed: check the quantities and enter it again"
    )
    long = refusal(wrapped(pg.StringDataRightTruncation("value too long")), Failure.DATA)
    assert "it holds a text longer than the database keeps" in long.message
    # No driver wording reaches the user.
    for message in (rule.message, trigger.message, big.message, long.message):
        assert "sqlite" not in message.lower() and "psycopg" not in message.lower()


def test_the_unit_of_work_hands_the_services_retries_and_refusals() -> None:
    assert isinstance(translated(wrapped(pg.DeadlockDetected("deadlock"))), TransientDatabaseError)
    refused = translated(wrapped(pg.NumericValueOutOfRange("integer out of range")))
    assert isinstance(refused, Rejection) and refused.reason is Reason.DATABASE_REFUSED
    assert translated(wrapped(pg.UndefinedTable("nope"))) is None
