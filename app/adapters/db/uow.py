"""Unit of work over one connection and one database transaction.

Rolls back unless told to commit. What the database raises leaves as the services understand it
(errors.py decides, for every adapter): a failure worth a retry with the same transaction id
(lock conflicts, deadlocks, lost connections, a busy SQLite file) as TransientDatabaseError; a
refusal for good (a rule of the stored data, a number out of range, a value it cannot store)
as a Rejection with a plain message, recorded as the transaction's refusal; anything else (a
bug) as it is.
"""

from __future__ import annotations

import contextlib
from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine, RootTransaction, exc, select

from app.domain.model import LocationKind
from app.domain.ports import TransientDatabaseError

from .engine import READONLY
from .errors import RETRYABLE, classify, first_line, refusal
from .schema import LocationRow, table
from .store import SqlLedgerStore


def translated(error: BaseException) -> BaseException | None:
    """What a database error raised in a unit of work leaves as (None: leave it as it is)."""
    failure = classify(error)
    if failure is None:
        return None
    if failure in RETRYABLE:
        return TransientDatabaseError(first_line(error))
    return refusal(error, failure)


class SqlUnitOfWork:
    def __init__(self, engine: Engine, virtual_ids: frozenset[int], readonly: bool = False) -> None:
        self._engine = engine
        self._virtual_ids = virtual_ids
        self._readonly = readonly
        self._connection: Connection | None = None
        self._transaction: RootTransaction | None = None
        self._committed = False
        self._store: SqlLedgerStore | None = None

    def __enter__(self) -> Self:
        try:
            connection = self._engine.connect()
            if self._readonly:
                connection = connection.execution_options(**{READONLY: True})
            self._connection = connection
            self._transaction = connection.begin()
        except exc.DBAPIError as error:
            if self._connection is not None:
                self._connection.close()
            replacement = translated(error)
            if replacement is None:
                raise
            raise replacement from error
        self._store = SqlLedgerStore(connection, self._virtual_ids)
        return self

    @property
    def store(self) -> SqlLedgerStore:
        assert self._store is not None, "the unit of work is not open"
        return self._store

    @property
    def connection(self) -> Connection:
        assert self._connection is not None, "the unit of work is not open"
        return self._connection

    def commit(self) -> None:
        assert self._transaction is not None
        self._transaction.commit()
        self._committed = True

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._transaction is not None and not self._committed:
                # If the connection is gone, the server rolls the transaction back itself.
                with contextlib.suppress(exc.DBAPIError):
                    self._transaction.rollback()
        finally:
            if self._connection is not None:
                self._connection.close()
        if error is not None:
            replacement = translated(error)
            if replacement is not None:
                raise replacement from error


class SqlLedger:
    """Makes units of work on one engine: the UnitOfWorkFactory the services take."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._virtual_ids: frozenset[int] | None = None

    @property
    def virtual_ids(self) -> frozenset[int]:
        if self._virtual_ids is None:
            t = table(LocationRow)
            try:
                with self.engine.connect() as c:
                    ids = c.execute(select(t.c.id).where(t.c.kind == LocationKind.VIRTUAL.value))
                    self._virtual_ids = frozenset(ids.scalars())
            except exc.DBAPIError as error:
                # A station may start while the database is away: this is asked again later.
                if classify(error) in RETRYABLE:
                    raise TransientDatabaseError(first_line(error)) from error
                raise
        return self._virtual_ids

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self.virtual_ids)

    def reader(self) -> SqlUnitOfWork:
        """A unit of work for queries: on SQLite it does not take the write lock."""
        return SqlUnitOfWork(self.engine, self.virtual_ids, readonly=True)
