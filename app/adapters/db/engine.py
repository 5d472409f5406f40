"""Engines for the two databases, set up the way the ledger needs them.

SQLite: WAL, `synchronous=FULL` (a confirmed scan survives a power cut), foreign keys on, a busy
timeout, and `BEGIN IMMEDIATE` for every write transaction: with a deferred BEGIN, read-then-write
transactions from several processes fail with "database is locked" (REFERENCE.md, Databases).
PostgreSQL: READ COMMITTED with explicit row locks, and a lock timeout so a stuck lock becomes
SQLSTATE 55P03, which the services retry. The engine's URL never holds the password: it is handed
to each new connection (app/adapters/passwords.py), so no URL that SQLAlchemy prints carries it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection

from app.adapters import passwords

READONLY = "perpetua_readonly"
"""Execution option: start this connection's transactions with a plain deferred BEGIN."""

SQLITE_BUSY_TIMEOUT_MS = 30_000
PG_LOCK_TIMEOUT = "5s"


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(
    url: str, *, password: str | None = None, pool_size: int = 5, echo: bool = False
) -> Engine:
    """An engine for `url` (sqlite:/// or postgresql://). `password`, or else the one the URL
    carries, is used for PostgreSQL; without either, the environment, the system keyring and a
    pgpass file are asked in that order. BadDatabaseUrl, which never quotes the URL, for a URL
    that cannot be read or names another database."""
    parsed = passwords.parse(url)
    given = password or passwords.password_in(parsed)
    parsed = passwords.without_password(parsed)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            parsed, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        engine = create_engine(
            parsed,
            echo=echo,
            pool_size=pool_size,
            max_overflow=pool_size,
            # No pre-ping: a dropped connection fails the attempt, retried with the same id.
            pool_pre_ping=False,
            isolation_level="READ COMMITTED",
            connect_args={
                "options": f"-c lock_timeout={PG_LOCK_TIMEOUT}",
                "connect_timeout": 10,
                # A link that dies without a word (a cable pulled, a switch gone) is noticed in
                # about 10 s instead of the operating system's two hours: TCP keepalives while a
                # connection waits, and a limit on data left unacknowledged while it sends.
                "keepalives": 1,
                "keepalives_idle": 5,
                "keepalives_interval": 2,
                "keepalives_count": 2,
                "tcp_user_timeout": 10_000,
            },
        )
        event.listen(engine, "do_connect", passwords.connect_with_password(parsed, given))
        return engine
    raise AssertionError(f"passwords.parse let {parsed.get_backend_name()} through")


def _sqlite_on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    # Autocommit at the driver level, so that the "begin" listener below issues BEGIN itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    if connection.get_execution_options().get(READONLY):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
