"""A counter's count tasks while the network is cut for real (PostgreSQL behind a loopback TCP
proxy): the station built by the composition root lists them from its replica, a count made
offline takes its task off the list at once, and the count reaches the ledger when the link is
back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from app.adapters.db.schema import CountTaskRow, LocationRow, table
from app.bootstrap import open_station
from app.config import Settings
from app.domain.commands import Opening, OpeningLine, RaiseCount
from app.services.station import StationSession
from app.services.station_view import ScanState
from tests.integration import test_offline as cut
from tests.integration.test_offline import offline, through, until
from tests.support.proxy import TcpProxy
from tests.support.scenarios import WIDGET_GTIN
from tests.support.session import scan
from tests.support.warehouse import Warehouse

pytestmark = pytest.mark.postgres

pg_warehouse, proxy = cut.pg_warehouse, cut.proxy
"""A warehouse on PostgreSQL and the proxy that cuts it, from the other offline tests."""


@pytest.fixture
def station(
    pg_warehouse: Warehouse, postgres_url: str, proxy: TcpProxy, tmp_path: Path
) -> Iterator[StationSession]:
    """ST-1 (zone A) with two count tasks waiting, one raised by a short pick."""
    assert pg_warehouse.run(Opening, lines=(OpeningLine("WIDGET", "A-01-02", 3),)).ok
    for code, reason in (("B-01-01", "a doubt"), ("A-01-02", "short pick: 3 of 5 WIDGET")):
        assert pg_warehouse.run(RaiseCount, location=code, reason=reason).ok
    session = open_station(Settings(through(postgres_url, proxy), "test"), "ST-1", tmp_path / "ob")
    yield session
    session.close()


def test_the_replica_lists_the_tasks_and_takes_an_offline_count_off_the_list(
    station: StationSession, pg_warehouse: Warehouse, proxy: TcpProxy
) -> None:
    scan(station, "C1")
    view = scan(station, "@CMD:MODE:COUNT")
    assert view.choices == ("A-01-02", "B-01-01")
    proxy.cut("reset")
    view = until(station, offline)
    assert view.choices == ("A-01-02", "B-01-01")
    assert view.prompt == "2 count tasks for you: scan a bin or touch it below."

    scan(station, "A-01-02")
    for _ in range(3):
        scan(station, WIDGET_GTIN)
    view = scan(station, "@CMD:DONE")
    assert view.scans[0].state is ScanState.QUEUED, view.feedback
    assert view.choices == ("B-01-01",)
    assert view.prompt == "1 count task for you: scan a bin or touch it below."
    assert view.queue_depth == 1

    proxy.restore()
    view = until(station, lambda v: v.database == "connected" and v.queue_depth == 0)
    assert view.choices == ("B-01-01",)
    t, loc = table(CountTaskRow), table(LocationRow)
    with pg_warehouse.engine.connect() as c:
        state = c.execute(
            select(t.c.state).join(loc, loc.c.id == t.c.location_id).where(loc.c.code == "A-01-02")
        ).scalar_one()
    assert state == "done"
