"""The composition root: the one place where the engine, the ledger and a station's session are
built and wired."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import platformdirs
from sqlalchemy import Engine

from app.adapters.db import migrate
from app.adapters.db.catalogue_lookup import EngineCatalogue
from app.adapters.db.engine import make_engine
from app.adapters.db.outage import guarded
from app.adapters.db.station_data import SqlStationData
from app.adapters.db.uow import SqlLedger
from app.adapters.outbox import Outbox
from app.config import APP_NAME, Settings
from app.domain.shift import Shift
from app.domain.workflows.registry import WORKFLOWS
from app.services import ledger as ledger_service
from app.services.station import StationSession, stow_suggester


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


class StationNotRegistered(Exception):
    pass


def default_outbox_path(station: str) -> Path:
    """The station's own outbox file, beside (never inside) the ledger database."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", station)
    return Path(platformdirs.user_data_dir(APP_NAME)) / f"outbox-{safe}.sqlite"


def open_station(
    settings: Settings, station: str, outbox_path: Path | None = None
) -> StationSession:
    """A station's session on the settings' database: its shift, workflows, outbox and reads.

    Call it on the thread that will use the session (the station's database worker)."""
    runtime = open_runtime(settings.database_url)
    try:
        ledger = runtime.ledger
        data = guarded(SqlStationData(runtime.engine, stow_suggester(ledger, settings.stow)))
        info = data.station(station)
        if info is None:
            raise StationNotRegistered(
                f"station {station!r} is not registered in the database; "
                "set `station` in the config file or pass --station"
            )
        shift = Shift(info, data, settings.policy, WORKFLOWS)
        outbox = Outbox(outbox_path or default_outbox_path(station))
    except BaseException:
        runtime.close()
        raise
    return StationSession(
        shift,
        ledger=ledger,
        outbox=outbox,
        data=data,
        catalogue=guarded(EngineCatalogue(runtime.engine)),
        submit=functools.partial(ledger_service.submit, stow=settings.stow, orders=settings.orders),
        on_close=runtime.close,
    )


def station_factory(
    settings: Settings, station: str, outbox_path: Path | None = None
) -> Callable[[], StationSession]:
    """What the window's database worker calls, on its own thread, to build the session."""
    return functools.partial(open_station, settings, station, outbox_path)
