"""The composition root: the one place where the engine and the ledger are built and wired."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from app.adapters.db import migrate
from app.adapters.db.engine import make_engine
from app.adapters.db.uow import SqlLedger


class SchemaOutOfDate(Exception):
    pass


@dataclass
class Runtime:
    engine: Engine
    ledger: SqlLedger

    def close(self) -> None:
        self.engine.dispose()


def open_runtime(database_url: str, *, upgrade: bool = False) -> Runtime:
    """Open the database; with `upgrade`, migrate it to the newest schema first.

    Without `upgrade`, a database whose schema is not the newest is refused, so that a station
    never writes into a schema it does not know.
    """
    engine = make_engine(database_url)
    try:
        if upgrade:
            migrate.upgrade(engine)
        elif not migrate.is_current(engine):
            current = migrate.current_revision(engine) or "empty"
            raise SchemaOutOfDate(
                f"the database schema is {current}, this program needs "
                f"{migrate.head_revision(engine)}: run `perpetua db upgrade`"
            )
    except BaseException:
        engine.dispose()
        raise
    return Runtime(engine, SqlLedger(engine))
