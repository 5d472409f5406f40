"""The composition root: the one place where the engine, the ledger and a station's session are
built and wired."""

from __future__ import annotations

import functools
import logging
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import platformdirs
from sqlalchemy import Connection, Engine, exc
from sqlalchemy.engine import make_url

from app import report_runs
from app.adapters.db import migrate, reports_flow, reports_stock
from app.adapters.db.accuracy import accuracy as accuracy_report
from app.adapters.db.count_planning import count_tasks
from app.adapters.db.engine import READONLY, make_engine
from app.adapters.db.errors import retryable
from app.adapters.db.exceptions import list_exceptions
from app.adapters.db.link import Link
from app.adapters.db.outage import first_line, guarded
from app.adapters.db.replica_source import Source
from app.adapters.db.station_data import SqlStationData
from app.adapters.db.uow import SqlLedger
from app.adapters.outbox import Outbox, WrongDatabase
from app.adapters.replica import Replica, ReplicaMismatch
from app.adapters.station_reads import ReplicaCatalogue, ReplicaStationData
from app.config import APP_NAME, Settings
from app.domain.accuracy import AccuracyReport, AccuracyRow
from app.domain.approval import PinGuard
from app.domain.commands import AssignCount, Command, Decide, PlanCounts
from app.domain.cycle_counts import CountTaskLine
from app.domain.exceptions import Decision, ExceptionItem
from app.domain.interpret import Kind, interpret
from app.domain.ledger import Outcome
from app.domain.ports import DatabaseUnavailable
from app.domain.report_pages import ExportDone, ReportAsk, ReportShown, StockKey, StockPage
from app.domain.report_table import ReportTable
from app.domain.reports_stock import AdjustmentsBy, adjustments_table
from app.domain.scan import Scan
from app.domain.scan import Source as ScanSource
from app.domain.shift import Shift
from app.domain.workflow import Reply, WorkContext
from app.domain.workflows.lookup import LookupStep
from app.domain.workflows.registry import WORKFLOWS
from app.services import ledger as ledger_service
from app.services.station import StationSession

log = logging.getLogger(__name__)

T = TypeVar("T")

REFRESH_S = 2.0
"""How often a station refreshes its replica while the database answers."""
FIRST_CHECK_S = 5.0
"""How long a starting station waits for the database's first answer before it opens offline."""
SYNC_REFRESH_WAIT_S = 3.0
"""How long the station's worker waits for the refresher thread before it refreshes at once
itself (after a claim, for a code the copy does not know); past that it goes on without."""


class SchemaOutOfDate(Exception):
    pass


@dataclass
class Runtime:
    engine: Engine
    ledger: SqlLedger

    def close(self) -> None:
        self.engine.dispose()


def open_runtime(
    database_url: str, *, upgrade: bool = False, password: str | None = None
) -> Runtime:
    """Open the database; with `upgrade`, migrate it to the newest schema first.

    Without `upgrade`, a database whose schema is not the newest is refused, so that a station
    never writes into a schema it does not know.
    """
    engine = make_engine(database_url, password=password)
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


class StationOffline(Exception):
    """The database is out of reach and the station has no replica to work from yet."""


def replica_path(outbox: Path) -> Path:
    """The station's replica, next to its outbox."""
    return outbox.with_name(f"{outbox.stem}.replica.sqlite")


def shown_url(url: str) -> str:
    """A database URL fit to show and store: without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(a database URL that cannot be read)"


class StationRuntime:
    """What a station's session runs on besides itself: the engine, the link watcher, the replica
    and its refresher thread. `blocked()` says why nothing may be sent now, if anything."""

    def __init__(
        self, settings: Settings, station: str, outbox: Outbox, replica: Replica, engine: Engine
    ) -> None:
        self.station = station
        self.url = settings.database_url
        self.outbox = outbox
        self.replica = replica
        self.engine = engine
        self.link_engine = make_engine(
            settings.database_url, pool_size=1, password=settings.database_password
        )
        self.link = Link(self.link_engine)
        self.source = Source(engine)
        self._problem: str | None = None
        self._stop = threading.Event()
        self._poke = threading.Event()
        self._thread = threading.Thread(target=self._run, name="replica-refresh", daemon=True)
        self._head = migrate.head_revision(engine)

    # --- ownership and schema, checked whenever the link is up ---

    def blocked(self) -> str | None:
        seen = self.link.seen
        if seen.revision is not None and seen.revision != self._head:
            return (
                f"the database schema is {seen.revision}, this program needs {self._head}: "
                "run `perpetua db upgrade`"
            )
        owner = self.outbox.database_id
        if seen.database_id and owner and owner != seen.database_id and self.outbox.depth():
            return str(
                WrongDatabase(
                    self.outbox.path,
                    owner,
                    self.outbox.database_url,
                    seen.database_id,
                    self.outbox.depth(),
                )
            )
        return self._problem

    def _adopt(self) -> None:
        """The link is up: bind the outbox to this database (unless its queue is another's) and
        refresh the replica (a replica of another database is made again from this one)."""
        seen = self.link.seen
        if seen.database_id is None or seen.revision != self._head:
            return
        if self.outbox.database_id != seen.database_id:
            try:
                self.outbox.bind(seen.database_id, shown_url(self.url))
            except WrongDatabase:
                return
        try:
            self.replica.refresh(self.source, self.station)
        except ReplicaMismatch:
            if self.outbox.depth():
                self._problem = "this station's copy of the warehouse is another database's"
                return
            self.replica.reset()
            self.replica.refresh(self.source, self.station)
        self._problem = None

    def refresh(self) -> None:
        """Refresh now, on the caller's thread (after a claim, whose reservations the pick walk
        reads next)."""
        if self.link.up:
            self.replica.refresh(self.source, self.station, wait_s=SYNC_REFRESH_WAIT_S)

    def start(self) -> None:
        self.link.start()
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.link.up:
                try:
                    self._adopt()
                except Exception as error:  # a thread boundary: the next cycle tries again
                    log.info("replica refresh failed: %s", first_line(error))
            self._poke.wait(REFRESH_S)
            self._poke.clear()

    def close(self) -> None:
        self._stop.set()
        self._poke.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self.link.stop()
        self.replica.close()
        self.link_engine.dispose()
        self.engine.dispose()


def open_station(
    settings: Settings, station: str, outbox_path: Path | None = None
) -> StationSession:
    """A station's session on the settings' database: its shift, workflows, outbox, replica and
    the link watcher. It opens while the database is out of reach when a replica is there to
    work from (StationOffline otherwise).

    Call it on the thread that will use the session (the station's database worker)."""
    path = outbox_path or default_outbox_path(station)
    outbox = Outbox(path)
    try:
        replica = Replica(replica_path(path))
        engine = make_engine(settings.database_url, password=settings.database_password)
        parts = StationRuntime(settings, station, outbox, replica, engine)
    except BaseException:
        outbox.close()
        raise
    try:
        if parts.link.check(timeout_s=FIRST_CHECK_S):
            blocked = parts.blocked()
            if blocked is not None and parts.link.seen.revision != parts._head:
                raise SchemaOutOfDate(blocked)
            parts._adopt()
        if not replica.ready:
            log.info("station %s cannot start: %s", station, parts.link.why)
            raise StationOffline(
                f"The database is out of reach and station {station} has no copy of the "
                "warehouse yet: it must reach the database once before it can work alone. It "
                "keeps trying."
            )
        info = replica.station(station)
        if info is None:
            raise StationNotRegistered(
                f"station {station!r} is not registered in the database; "
                "set `station` in the config file or pass --station"
            )
        link = parts.link
        data = ReplicaStationData(replica, guarded(SqlStationData(engine)), link)
        shift = Shift(info, data, None, WORKFLOWS)
        parts.start()
    except BaseException:
        parts.close()
        outbox.close()
        raise
    return StationSession(
        shift,
        ledger=SqlLedger(engine),
        outbox=outbox,
        data=data,
        catalogue=ReplicaCatalogue(replica),
        submit=functools.partial(ledger_service.submit, stow=settings.stow),
        on_close=parts.close,
        link=link,
        replica=replica,
        refresh=parts.refresh,
        blocked=parts.blocked,
    )


def station_factory(
    settings: Settings, station: str, outbox_path: Path | None = None
) -> Callable[[], StationSession]:
    """What the window's database worker calls, on its own thread, to build the session."""
    return functools.partial(open_station, settings, station, outbox_path)


@dataclass(frozen=True)
class ChartData:
    """What the supervisor's charts show (app/ui/charts.py), read at once on the runner."""

    accuracy: tuple[AccuracyRow, ...]
    adjustments: ReportTable
    age: ReportTable
    turnover: ReportTable


def settled(table: ReportTable) -> ReportTable:
    """`table` with its rows read into a tuple: a value fit to cross to the GUI thread."""
    return replace(table, rows=tuple(table.rows))


class SupervisorDesk:
    """What the supervisor's screen reads and sends (app/ui/supervisor.py), built and used on
    the window's query runner thread (app/ui/runner.py): its own engine, and the station's
    replica for stock lookups, which answer from the copy (offline too) as the station's do.

    Every method returns an immutable value. Decisions, plans and assignments are ledger
    transactions made at this station by the supervisor logged in; they need the database."""

    def __init__(self, settings: Settings, station: str, outbox_path: Path | None = None) -> None:
        self.station = station
        self._stow = settings.stow
        self.engine = make_engine(settings.database_url, password=settings.database_password)
        path = outbox_path or default_outbox_path(station)
        self.replica = Replica(replica_path(path))
        # Not watched: the link stays down, so every read below is the replica's, as at the
        # station, and says how old the copy is.
        self._data = ReplicaStationData(
            self.replica, guarded(SqlStationData(self.engine)), Link(self.engine)
        )
        self._catalogue = ReplicaCatalogue(self.replica)
        self._ledger = SqlLedger(self.engine)

    def close(self) -> None:
        self.replica.close()
        self.engine.dispose()

    def _submit(self, command: Command) -> Outcome:
        try:
            return ledger_service.submit(command, self._ledger, stow=self._stow)
        except DatabaseUnavailable as error:
            raise DatabaseUnavailable(f"the database is out of reach ({error})") from error

    def _read(self, query: Callable[[Connection], T]) -> T:
        """`query` on a connection of the desk's engine; an outage is said in words."""
        for attempt in (1, 2):
            try:
                with self.engine.connect() as c:
                    return query(c)
            except exc.DBAPIError as error:
                if attempt == 1 and error.connection_invalidated:
                    continue  # a pooled connection that died while the database was away
                if retryable(error):
                    raise DatabaseUnavailable(
                        f"the database is out of reach ({first_line(error)})"
                    ) from error
                raise
        raise AssertionError("unreachable: the second attempt returns or raises")

    def exceptions(self, open_only: bool) -> tuple[ExceptionItem, ...]:
        return tuple(self._read(lambda c: list_exceptions(c, open_only=open_only, limit=DESK_ROWS)))

    def decide(
        self, operator: str, exception: int, decision: Decision, reason: str, pin: str
    ) -> Outcome:
        return self._submit(
            Decide(
                tx_id=uuid.uuid4(),
                station=self.station,
                operator=operator,
                exception=exception,
                decision=decision.value,
                reason=reason,
                approved_by=operator,
                approver_pin=pin,
            )
        )

    def count_tasks(self) -> tuple[CountTaskLine, ...]:
        return tuple(self._read(lambda c: count_tasks(c, open_only=True, limit=DESK_ROWS)))

    def plan(self, operator: str, day: date, zone: str | None) -> Outcome:
        return self._submit(
            PlanCounts(
                tx_id=uuid.uuid4(), station=self.station, operator=operator, day=day, zone=zone
            )
        )

    def assign(
        self, operator: str, locations: tuple[str, ...], to: str | None, zone: str | None
    ) -> Outcome:
        return self._submit(
            AssignCount(
                tx_id=uuid.uuid4(),
                station=self.station,
                operator=operator,
                locations=locations,
                to=to,
                zone=zone,
            )
        )

    def lookup(self, operator: str, code: str) -> Reply | None:
        """What `code` holds or where it stands, as `@CMD:LOOKUP` answers; None when `code` is
        a badge (someone logging in: the screen hands the scan to the station)."""
        info, who = self.replica.station(self.station), self.replica.operator(operator)
        if info is None or who is None:
            return Reply("This station's copy of the warehouse does not know it yet: try again.")
        policy = self._data.policy()
        meaning = interpret(Scan(code, ScanSource.MANUAL, "supervisor"), self._catalogue)
        if meaning.kind is Kind.BADGE:
            return None
        step = LookupStep(WorkContext(info, who, policy, self._data, PinGuard(self._data, policy)))
        return step.on_scan(meaning)

    def accuracy(self, days: int) -> AccuracyReport:
        end = datetime.now(UTC).date()
        return self._read_only(lambda c: accuracy_report(c, end - timedelta(days=days - 1), end))

    def charts(self, days: int) -> ChartData:
        """The figures of the supervisor's charts over the last `days` days (age: today)."""
        end = datetime.now(UTC).date()
        start = end - timedelta(days=days - 1)

        def read(c: Connection) -> ChartData:
            moves = reports_stock.adjustments(c, start, end)
            return ChartData(
                accuracy_report(c, start, end).by_day,
                settled(adjustments_table(moves, AdjustmentsBy.REASON, start, end)),
                settled(reports_flow.age(c, end)),
                settled(reports_flow.turnover_report(c, start, end, True)),
            )

        return self._read_only(read)

    def _read_only(self, query: Callable[[Connection], T]) -> T:
        """`query` on a read-only connection: a report takes no write lock stations wait on."""
        return self._read(lambda c: query(c.execution_options(**{READONLY: True})))

    def report(self, ask: ReportAsk, cancel: threading.Event) -> ReportShown:
        """A whole report by name (all but stock, which the screen reads in pages)."""
        return self._read_only(lambda c: report_runs.shown(c, ask, cancel))

    def stock_page(self, ask: ReportAsk, after: StockKey | None, limit: int) -> StockPage:
        """`limit` rows of stock on hand after `after`: the screen asks as the table scrolls."""
        return self._read_only(lambda c: report_runs.stock_page(c, ask, after, limit))

    def export_csv(
        self,
        ask: ReportAsk,
        path: Path,
        progress: Callable[[int, int], None],
        cancel: threading.Event,
    ) -> ExportDone:
        """The report streamed to `path` as CSV; `cancel` set stops it and removes the file."""
        return self._read_only(lambda c: report_runs.export(c, ask, path, progress, cancel))


DESK_ROWS = 500
"""The most rows a supervisor's list shows (the newest; the command line lists them all)."""


def supervisor_desk_factory(
    settings: Settings, station: str, outbox_path: Path | None = None
) -> Callable[[], SupervisorDesk]:
    """What the window's query runner calls, on its own thread, to build the desk."""
    return functools.partial(SupervisorDesk, settings, station, outbox_path)
