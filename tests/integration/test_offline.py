"""A station whose network really goes: PostgreSQL behind a loopback TCP proxy the test cuts.

Nothing is stubbed: the station is built by the composition root, reads its replica, watches the
link, and every failure comes from the cut socket (RELIABILITY.md: a fault is put where it
happens in life). What a dock worker does during the cut must keep working, be queued, and reach
the ledger exactly once when the link is back; what cannot wait is refused in one plain sentence.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.adapters.db import catalogue
from app.adapters.db.engine import make_engine
from app.adapters.db.uow import SqlLedger
from app.adapters.outbox import Outbox
from app.adapters.replica import Replica
from app.bootstrap import StationOffline, open_station, replica_path
from app.cli import main
from app.config import Settings
from app.domain.catalogue import OrderLineSpec
from app.domain.commands import Opening, OpeningLine
from app.services.station import StationSession
from app.services.station_view import ScanState, StationView
from tests.support.proxy import TcpProxy
from tests.support.scenarios import PICK, WIDGET_GTIN
from tests.support.session import scan
from tests.support.warehouse import Warehouse, seed

pytestmark = pytest.mark.postgres

PATIENCE_S = 20.0


@pytest.fixture
def pg_warehouse(postgres_url: str) -> Iterator[Warehouse]:
    engine = make_engine(postgres_url)
    seed(engine)
    yield Warehouse(engine, SqlLedger(engine))
    engine.dispose()


@pytest.fixture
def proxy(postgres_url: str) -> Iterator[TcpProxy]:
    url = make_url(postgres_url)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as running:
        yield running


def through(postgres_url: str, proxy: TcpProxy) -> str:
    url = make_url(postgres_url).set(port=proxy.port, query={"sslmode": "disable"})
    return url.render_as_string(hide_password=False)


def until(session: StationSession, done: Callable[[StationView], bool]) -> StationView:
    """Drain ticks (what the window's worker does twice a second) until `done`."""
    deadline = time.monotonic() + PATIENCE_S
    view = session.view()
    while not done(view):
        if time.monotonic() > deadline:
            raise AssertionError(f"the station never got there: {view.database}, {view.prompt}")
        time.sleep(0.1)
        view = session.drain() or session.view()
    return view


def offline(view: StationView) -> bool:
    return view.database.startswith("out of reach")


@pytest.fixture
def station(
    pg_warehouse: Warehouse, postgres_url: str, proxy: TcpProxy, tmp_path: Path
) -> Iterator[StationSession]:
    session = open_station(Settings(through(postgres_url, proxy), "test"), "ST-1", tmp_path / "ob")
    yield session
    session.close()


def test_receiving_and_putaway_go_on_through_a_cut_and_land_once(
    station: StationSession, pg_warehouse: Warehouse, proxy: TcpProxy
) -> None:
    scan(station, "D1")
    proxy.cut("reset")
    view = until(station, offline)
    assert view.feedback is not None and view.feedback.text.startswith(
        "The database is out of reach since"
    )
    for _ in range(3):
        view = scan(station, WIDGET_GTIN)
        assert view.scans[0].state is ScanState.QUEUED, view.feedback
    assert view.queue_depth == 3
    # Putaway from the station's own dock lane: the replica knows the queued receipts.
    scan(station, "@CMD:MODE:putaway")
    view = scan(station, "@CMD:QTY:2")
    view = scan(station, WIDGET_GTIN)
    assert view.feedback is not None and "No bin suggestion" in view.feedback.text
    view = scan(station, "A-01-01")
    assert view.scans[0].state is ScanState.QUEUED, view.feedback
    assert view.queue_depth == 4
    # What needs the ledger now is refused in one sentence, with nothing queued.
    scan(station, "@CMD:MODE:transfer")
    scan(station, "A-01-01")
    view = scan(station, WIDGET_GTIN)
    view = scan(station, "A-01-02")
    assert view.feedback is not None
    assert view.feedback.text.startswith("The database is out of reach since")
    assert "transfers can't be done now" in view.feedback.text
    assert "Receiving, putaway from DOCK-1, counts and the lists you hold keep working" in (
        view.feedback.text
    )
    assert "psycopg" not in view.feedback.text and "port" not in view.feedback.text
    assert view.queue_depth == 4
    assert pg_warehouse.on_hand("DOCK-1", "WIDGET") == 0

    proxy.restore()
    view = until(station, lambda v: v.database == "connected" and v.queue_depth == 0)
    assert pg_warehouse.on_hand("DOCK-1", "WIDGET") == 1
    assert pg_warehouse.on_hand("A-01-01", "WIDGET") == 2
    assert pg_warehouse.invariants().total == 0
    assert view.exceptions == ()


def test_logout_with_a_queue_needs_a_supervisor_known_from_the_replica(
    station: StationSession, proxy: TcpProxy
) -> None:
    scan(station, "D1")
    proxy.cut("refuse")
    until(station, offline)
    scan(station, WIDGET_GTIN)
    view = scan(station, "@CMD:LOGOUT")
    assert view.operator is not None and "supervisor" in view.prompt.lower()
    scan(station, "S1")
    view = station.handle_entry("123456")
    assert view.operator is None, view.feedback
    assert view.queue_depth == 1
    # A supervisor logs in offline: the PIN is checked against the replica.
    scan(station, "S2")
    view = station.handle_entry("567890")
    assert view.operator is not None and view.operator.badge == "S2"
    assert view.scans == () or all(row.text != "567890" for row in view.scans)


def test_a_station_restarts_offline_from_its_replica_and_drains_after(
    pg_warehouse: Warehouse, postgres_url: str, proxy: TcpProxy, tmp_path: Path
) -> None:
    settings = Settings(through(postgres_url, proxy), "test")
    first = open_station(settings, "ST-1", tmp_path / "ob")
    scan(first, "D1")
    proxy.cut("refuse")
    until(first, offline)
    scan(first, WIDGET_GTIN)
    first.close()
    again = open_station(settings, "ST-1", tmp_path / "ob")  # the database is still away
    try:
        view = again.view()
        assert offline(view) and view.queue_depth == 1
        scan(again, "D1")
        view = scan(again, WIDGET_GTIN)
        assert view.scans[0].state is ScanState.QUEUED and view.queue_depth == 2
        proxy.restore()
        until(again, lambda v: v.queue_depth == 0)
    finally:
        again.close()
    assert pg_warehouse.on_hand("DOCK-1", "WIDGET") == 2


def test_without_a_replica_the_station_says_it_must_reach_the_database_once(
    pg_warehouse: Warehouse, postgres_url: str, proxy: TcpProxy, tmp_path: Path
) -> None:
    proxy.cut("refuse")
    with pytest.raises(StationOffline, match="no copy of the warehouse yet"):
        open_station(Settings(through(postgres_url, proxy), "test"), "ST-1", tmp_path / "new")
    copy = Replica(replica_path(tmp_path / "new"))
    try:
        assert not copy.ready  # an empty file: filled the first time the database answers
    finally:
        copy.close()


def test_a_refusal_after_the_outage_stays_red_until_a_supervisor_acknowledges_it(
    station: StationSession, pg_warehouse: Warehouse, proxy: TcpProxy
) -> None:
    scan(station, "D1")
    proxy.cut("reset")
    until(station, offline)
    scan(station, WIDGET_GTIN)
    scan(station, "@CMD:MODE:putaway")
    scan(station, WIDGET_GTIN)
    view = scan(station, "BLOCKED")  # the replica knows it as a bin; the ledger refuses it
    assert view.scans[0].state is ScanState.QUEUED, view.feedback
    proxy.restore()
    view = until(station, lambda v: v.queue_depth == 0)
    assert len(view.exceptions) == 1 and "putaway" in view.exceptions[0]
    assert pg_warehouse.on_hand("DOCK-1", "WIDGET") == 1  # received, not put away
    view = scan(station, "@CMD:ACK")
    scan(station, "S1")
    view = station.handle_entry("123456")
    assert view.exceptions == ()
    assert view.feedback is not None and "acknowledged by S1" in view.feedback.text


def test_a_queue_is_never_sent_to_another_database(
    pg_warehouse: Warehouse, postgres_url: str, proxy: TcpProxy, tmp_path: Path
) -> None:
    settings = Settings(through(postgres_url, proxy), "test")
    session = open_station(settings, "ST-1", tmp_path / "ob")
    scan(session, "D1")
    proxy.cut("refuse")
    until(session, offline)
    scan(session, WIDGET_GTIN)
    session.close()
    # The same address now holds another database (restored elsewhere, re-created...).
    with pg_warehouse.engine.begin() as c:
        c.execute(text("UPDATE database_identity SET database_id = :i"), {"i": str(uuid.uuid4())})
    proxy.restore()
    moved = open_station(settings, "ST-1", tmp_path / "ob")
    try:
        view = moved.drain() or moved.view()
        assert view.queue_depth == 1
        assert view.database.startswith("not used: 1 queued transaction(s)")
        assert "perpetua outbox export" in view.database
        view = scan(moved, WIDGET_GTIN)
        assert view.scans[0].state is not ScanState.QUEUED
        assert view.queue_depth == 1
    finally:
        moved.close()
    assert pg_warehouse.on_hand("DOCK-1", "WIDGET") == 0
    exported = tmp_path / "queue.jsonl"
    result = CliRunner().invoke(
        main, ["outbox", "export", "--outbox", str(tmp_path / "ob"), str(exported)]
    )
    assert result.exit_code == 0, result.output
    assert len(exported.read_text().splitlines()) == 1
    with Outbox(tmp_path / "ob") as outbox:
        assert outbox.depth() == 1


def test_a_list_taken_online_is_picked_offline_and_a_new_list_is_refused(
    station: StationSession, pg_warehouse: Warehouse, proxy: TcpProxy
) -> None:
    PICK.setup(pg_warehouse)
    with pg_warehouse.engine.begin() as c:
        catalogue.add_orders(c, [OrderLineSpec("SO-9", 1, "BOLT", 2)])
    scan(station, "P1")
    view = scan(station, "SO-1")  # taken online: the claim and its reservation
    assert view.scans[0].state is ScanState.CONFIRMED, view.feedback
    scan(station, "OUT-1")
    proxy.cut("reset")
    until(station, offline)
    scan(station, "A-01-03")
    scan(station, "@CMD:QTY:3")
    view = scan(station, "BOLT-ALIAS")
    assert view.scans[0].state is ScanState.QUEUED, view.feedback
    assert view.queue_depth == 2  # the pick and the release of the finished list
    assert view.feedback is not None and "Releasing SO-1 is queued" in view.feedback.text
    view = scan(station, "SO-9")
    assert view.feedback is not None
    assert view.feedback.text.startswith("The database is out of reach since"), view.feedback
    assert "pick lists can't be taken now" in view.feedback.text
    proxy.restore()
    until(station, lambda v: v.queue_depth == 0 and v.database == "connected")
    PICK.check(pg_warehouse)
    assert pg_warehouse.invariants().total == 0


def test_a_count_offline_is_recorded_and_checked_when_it_arrives(
    station: StationSession, pg_warehouse: Warehouse, proxy: TcpProxy
) -> None:
    pg_warehouse.run(Opening, lines=(OpeningLine("BOLT", "A-02-01", 10),))
    station.refresh()
    scan(station, "C1")
    proxy.cut("refuse")
    until(station, offline)
    scan(station, "A-02-01")
    scan(station, "@CMD:QTY:10")
    scan(station, "BOLT-ALIAS")
    view = scan(station, "@CMD:DONE")  # 10 counted, 10 in the copy: a matching count
    assert view.feedback is not None and "posted" in view.feedback.text, view.feedback
    assert view.queue_depth == 1  # the saved count, as a transaction
    scan(station, "A-02-01")
    scan(station, "@CMD:QTY:9")
    scan(station, "BOLT-ALIAS")
    view = scan(station, "@CMD:DONE")  # 9 of 10: within the tolerance, one adjustment
    assert view.queue_depth == 3
    proxy.restore()
    until(station, lambda v: v.queue_depth == 0 and v.database == "connected")
    assert pg_warehouse.on_hand("A-02-01", "BOLT") == 9
    assert pg_warehouse.invariants().total == 0


def test_replay_works_offline_and_the_outbox_commands_send_the_queue(
    pg_warehouse: Warehouse, postgres_url: str, proxy: TcpProxy, tmp_path: Path
) -> None:
    url = through(postgres_url, proxy)
    outbox = tmp_path / "ob"
    scans = tmp_path / "scans.txt"
    scans.write_text(f"{WIDGET_GTIN}\n", encoding="utf-8")
    replay = ["--db", url, "replay", "--station", "ST-1", "--operator", "D1", "--mode", "receive"]
    replay += ["--outbox", str(outbox), str(scans)]
    first = CliRunner().invoke(main, replay, catch_exceptions=False)  # online: makes the copy
    assert first.exit_code == 0, first.output
    proxy.cut("refuse")
    offline_run = CliRunner().invoke(main, replay, catch_exceptions=False)
    assert offline_run.exit_code == 0, offline_run.output
    record = json.loads(offline_run.output.splitlines()[0])
    assert record["state"] == "queued" and record["transactions"][0]["state"] == "queued"
    status = CliRunner().invoke(main, ["outbox", "status", "--outbox", str(outbox), "--json"])
    report = json.loads(status.output)
    assert report["queued"] == 1 and report["kinds"] == {"receive": 1}
    assert report["database_id"] and f":{proxy.port}/" in report["database"]  # where it was
    refused = CliRunner().invoke(main, ["--db", url, "outbox", "drain", "--outbox", str(outbox)])
    assert refused.exit_code != 0 and "out of reach" in refused.output
    proxy.restore()
    sent = CliRunner().invoke(main, ["--db", url, "outbox", "drain", "--outbox", str(outbox)])
    assert sent.exit_code == 0, sent.output
    assert "sent 1, 0 still queued" in sent.output
    assert pg_warehouse.on_hand("DOCK-1", "WIDGET") == 2
    again = CliRunner().invoke(main, ["--db", url, "outbox", "drain", "--outbox", str(outbox)])
    assert "nothing queued" in again.output
    assert pg_warehouse.on_hand("DOCK-1", "WIDGET") == 2
