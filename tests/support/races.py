"""Races staged on PostgreSQL by holding a lock: a warehouse whose connections never give up
waiting for one, and a way to see that another transaction is waiting."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event, text

from app.adapters.db.engine import make_engine
from app.adapters.db.uow import SqlLedger
from tests.support.warehouse import Warehouse, seed


@contextmanager
def patient_warehouse(postgres_url: str) -> Iterator[Warehouse]:
    """The seeded warehouse on `postgres_url`, whose connections wait for a lock as long as it
    is held (the test holds it to stage the race)."""
    engine = make_engine(postgres_url)

    @event.listens_for(engine, "connect")
    def patient(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = 0")
        dbapi_connection.commit()

    seed(engine)
    try:
        yield Warehouse(engine, SqlLedger(engine))
    finally:
        engine.dispose()


def waiting(engine: Engine, query: str) -> bool:
    """A backend of this database is waiting for a lock while running a query LIKE `query`."""
    with engine.connect() as c:
        found = c.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query LIKE :q"
            ),
            {"q": query},
        ).scalar_one()
    return bool(found)


def until(done: Callable[[], bool], what: str) -> None:
    """Poll `done` until it holds; the bound only ends a broken test, nothing is timed."""
    for _ in range(6_000):
        if done():
            return
        time.sleep(0.01)
    raise AssertionError(f"never saw {what}")
