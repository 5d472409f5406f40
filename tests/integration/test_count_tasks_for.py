"""Which count tasks a counter's station lists (StationData.count_tasks_for), on both databases
and through both adapters: live over SQL, and from the station's replica with the link down.

The tasks are raised and counted through the ledger; their assignment (a supervisor's
`AssignCount`, or a count planning) is written into the table as those transactions leave it.
A counter sees the open tasks assigned to them, or to nobody and to no zone or their station's
zone, and the recounts they did not count; a supervisor also the approvals they did not count;
always in pick-path order."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import pytest
from sqlalchemy import Engine, select, update

from app.adapters.db import catalogue
from app.adapters.db.replica_source import Source
from app.adapters.db.schema import CountTaskRow, LocationRow, table
from app.adapters.db.station_data import SqlStationData
from app.adapters.replica import Replica
from app.adapters.station_reads import ReplicaStationData
from app.domain.catalogue import OperatorSpec
from app.domain.commands import AssignCount, CountLine, RaiseCount, SaveCount
from app.domain.model import Role
from app.domain.workflow import CountState, CountTaskChoice, StationData
from tests.support.warehouse import Warehouse

SHORT = "short pick: 3 of 5 WIDGET found"
"""A short pick's reason names quantities: what a counter must not be shown."""


class Link:
    """The station's view of the link, set by the test."""

    def __init__(self) -> None:
        self.up, self.why, self.since = True, "", datetime.now(UTC)

    def down(self, why: str) -> None:
        self.up, self.why = False, why

    def confirmed(self) -> None:
        self.up, self.why = True, ""


def assign(engine: Engine, location: str, to: str | None = None, zone: str | None = None) -> None:
    """The task of `location` assigned as an AssignCount leaves it."""
    t, loc = table(CountTaskRow), table(LocationRow)
    where = select(loc.c.id).where(loc.c.code == location).scalar_subquery()
    with engine.begin() as c:
        c.execute(update(t).where(t.c.location_id == where).values(assigned_to=to, zone=zone))


def save(warehouse: Warehouse, location: str, state: str, counter: str) -> None:
    line = (CountLine("WIDGET", 2),)
    outcome = warehouse.run(
        SaveCount,
        operator=counter,
        location=location,
        state=state,
        counter=counter,
        counts=line,
        snapshot=line,
    )
    assert outcome.ok, outcome.message


@pytest.fixture
def tasks(warehouse: Warehouse) -> Warehouse:
    """Bins on the pick path A-01-01 (1), A-01-02 (2), A-01-03 (3), A-02-01 (4), B-01-01 (5),
    B-01-02 (6), each with a task: assigned to C1; to C2; to zone A; to zone B; a recount C1
    must not do; unassigned, raised by a short pick."""
    with warehouse.engine.begin() as c:
        catalogue.add_operators(c, [OperatorSpec("C2", "Cid Counter", Role.COUNTER)])
    for code in ("B-01-02", "A-01-01", "A-01-02", "A-01-03", "A-02-01", "B-01-01"):
        reason = SHORT if code == "B-01-02" else "a doubt"
        assert warehouse.run(RaiseCount, location=code, reason=reason).ok
    assign(warehouse.engine, "A-01-01", to="C1")
    assign(warehouse.engine, "A-01-02", to="C2")
    assign(warehouse.engine, "A-01-03", zone="A")
    assign(warehouse.engine, "A-02-01", zone="B")
    save(warehouse, "B-01-01", "recount", "C1")
    return warehouse


@pytest.fixture
def replica(tmp_path: Path) -> Iterator[Replica]:
    r = Replica(tmp_path / "replica.sqlite")
    yield r
    r.close()


Reads = Callable[[], StationData]


@pytest.fixture(params=["live", "replica"])
def reads(request: pytest.FixtureRequest, tasks: Warehouse, replica: Replica) -> Reads:
    """The station's reads as they stand now: live, or from a replica refreshed now and then
    cut from the database."""
    live = SqlStationData(tasks.engine)
    if request.param == "live":
        return lambda: live

    def copied() -> StationData:
        replica.refresh(Source(tasks.engine), "ST-1")
        link = Link()
        link.down("network cut by the test")
        return ReplicaStationData(replica, live, link)

    return copied


class Lists(Protocol):
    """What lists count tasks: StationData, and the replica itself."""

    def count_tasks_for(
        self, badge: str, zone: str | None, limit: int, *, supervisor: bool = False
    ) -> list[CountTaskChoice]: ...


def bins(data: Lists, badge: str, zone: str | None, supervisor: bool = False) -> list[str]:
    return [t.location for t in data.count_tasks_for(badge, zone, 12, supervisor=supervisor)]


def test_a_counter_sees_their_tasks_in_pick_path_order(reads: Reads) -> None:
    data = reads()
    assert bins(data, "C1", "A") == ["A-01-01", "A-01-03", "B-01-02"]
    assert bins(data, "C2", "A") == ["A-01-02", "A-01-03", "B-01-01", "B-01-02"]
    assert bins(data, "C2", "B") == ["A-01-02", "A-02-01", "B-01-01", "B-01-02"]
    assert bins(data, "C1", None) == ["A-01-01", "B-01-02"]
    assert [t.location for t in data.count_tasks_for("C1", "A", 2)] == ["A-01-01", "A-01-03"]
    assert data.count_tasks_for("C1", "A", 0) == []
    assert data.count_tasks_for("x" * 500, "A", 12) == []
    first, *_ = data.count_tasks_for("C2", "A", 12)
    assert first == CountTaskChoice("A-01-02", CountState.OPEN, 2, "a doubt", "C2", None, ())
    recount = data.count_tasks_for("C2", "A", 12)[2]
    assert (recount.state, recount.counters) == (CountState.RECOUNT, ("C1",))
    assert data.count_tasks_for("C1", "A", 12)[-1].reason == SHORT  # for the workflow to hide


def test_a_recount_is_anyones_but_its_first_counters_and_an_approval_a_supervisors(
    reads: Reads, tasks: Warehouse
) -> None:
    save(tasks, "A-01-01", "recount", "C1")  # assigned to C1, who counted it: anyone recounts
    save(tasks, "B-01-01", "approval", "C2")
    data = reads()
    assert bins(data, "C1", "A") == ["A-01-03", "B-01-02"]
    assert bins(data, "C2", "A") == ["A-01-01", "A-01-02", "A-01-03", "B-01-02"]
    assert bins(data, "S1", "A") == ["A-01-01", "A-01-03", "B-01-02"]
    assert bins(data, "S1", "A", supervisor=True) == ["A-01-01", "A-01-03", "B-01-01", "B-01-02"]
    assert bins(data, "C2", "A", supervisor=True)[2:] == ["A-01-03", "B-01-02"]  # C2 counted it
    save(tasks, "B-01-02", "done", "C1")
    assert bins(reads(), "C1", "A") == ["A-01-03"]


def test_the_replica_folds_in_the_stations_own_counts_raises_and_assignments(
    tasks: Warehouse, replica: Replica
) -> None:
    replica.refresh(Source(tasks.engine), "ST-1")
    line = (CountLine("WIDGET", 2),)
    replica.add_effect(
        tasks.command(
            SaveCount, location="A-01-03", state="done", counter="C1", counts=line, snapshot=line
        )
    )
    assert bins(replica, "C1", "A") == ["A-01-01", "B-01-02"]
    replica.add_effect(tasks.command(RaiseCount, location="A-01-03", reason="counted again"))
    replica.add_effect(tasks.command(AssignCount, locations=("B-01-02",), to="C2"))
    replica.add_effect(
        tasks.command(
            SaveCount, location="A-01-01", state="recount", counter="C1", counts=line, snapshot=line
        )
    )
    assert bins(replica, "C1", "A") == ["A-01-03"]
    assert bins(replica, "C2", "A") == ["A-01-01", "A-01-02", "A-01-03", "B-01-01", "B-01-02"]
    assert replica.count_tasks_for("C1", "A", 12)[0].reason == "counted again"
    task = replica.count_task("B-01-02")
    assert task is not None and task.assigned_to == "C2"


def test_a_replica_of_the_layout_before_is_copied_again_keeping_its_queue(
    tasks: Warehouse, tmp_path: Path
) -> None:
    """A station upgraded from version 3 of the replica (count tasks without assignee or zone)
    starts from an empty copy, fills it at its first refresh, and keeps its queued effects."""
    path = tmp_path / "old.sqlite"
    old = Replica(path)
    old.refresh(Source(tasks.engine), "ST-1")
    queued = tasks.command(RaiseCount, location="A-02-01", reason="queued before the upgrade")
    old.add_effect(queued)
    old.close()
    with sqlite3.connect(path) as db:  # what version 3 left
        db.execute("DROP TABLE count_tasks")
        db.execute(
            "CREATE TABLE count_tasks (id INTEGER PRIMARY KEY, location_id INTEGER NOT NULL, "
            "state TEXT NOT NULL, reason TEXT NOT NULL, counted_by TEXT, counts TEXT, "
            "snapshot TEXT, counters TEXT)"
        )
        db.execute("UPDATE meta SET value = '3' WHERE key = 'schema'")
    db.close()
    upgraded = Replica(path)
    try:
        assert not upgraded.ready and upgraded.counts()["count_tasks"] == 0
        upgraded.refresh(Source(tasks.engine), "ST-1")
        assert bins(upgraded, "C2", "B") == ["A-01-02", "A-02-01", "B-01-01", "B-01-02"]
        assert bins(upgraded, "C1", None) == ["A-01-01", "B-01-02"]
        assert upgraded.counts()["effects"] == 1
    finally:
        upgraded.close()
