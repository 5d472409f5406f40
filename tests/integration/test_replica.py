"""The station replica (app/adapters/replica.py) against real databases: what it copies, how it
refreshes only what changed, how the station's own transactions show before the ledger has them
and are never counted twice after, and that it belongs to one database."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text, update

from app.adapters.db.engine import make_engine
from app.adapters.db.replica_source import Source
from app.adapters.db.schema import SkuRow, table
from app.adapters.replica import Replica, ReplicaMismatch
from app.domain.commands import CloseReceipt, Putaway, Receive, SaveCount
from app.domain.ledger import Outcome, Status
from app.domain.rules import PinStatus
from app.domain.workflow import CountState, Holding
from app.services.ledger import submit
from tests.support.warehouse import Warehouse, seed


@pytest.fixture
def replica(tmp_path: Path) -> Iterator[Replica]:
    r = Replica(tmp_path / "replica.sqlite")
    yield r
    r.close()


def test_first_refresh_copies_what_a_station_needs(
    warehouse: Warehouse, engine: Engine, replica: Replica
) -> None:
    report = replica.refresh(Source(engine), "ST-1")
    assert report.full
    assert replica.ready and replica.database_id
    assert replica.station("ST-1") is not None
    assert replica.station("ST-1").dock == "DOCK-1"  # type: ignore[union-attr]
    assert replica.operator("S1") is not None
    assert replica.check_pin("S1", "123456").ok  # the offline verifier, copied
    assert replica.check_pin("S1", "999999").status is PinStatus.WRONG
    assert replica.check_pin("D1", "123456").status is PinStatus.NO_PIN  # not a supervisor
    assert replica.identify("BOLT-ALIAS").alias_sku == "BOLT"
    assert replica.identify("A-01-01").location
    assert not replica.identify("VENDOR").location  # virtual counterparties are no labels
    assert replica.gtin_sku("05901234123457") == "WIDGET"
    assert replica.location_kind("A-01-01") == "bin"


def test_a_refresh_copies_only_what_changed(
    warehouse: Warehouse, engine: Engine, replica: Replica, db_url: str
) -> None:
    full = replica.refresh(Source(engine), "ST-1")
    # On PostgreSQL a refresh copies again what transactions still running when the last one
    # read may have written (anywhere on the server: other tests write too); once they are
    # over, a refresh copies nothing. SQLite has one writer at a time: quiet at once.
    for _ in range(100):
        quiet = replica.refresh(Source(engine), "ST-1")
        if sum(quiet.rows.values()) == 0:
            break
        time.sleep(0.05)
    assert sum(quiet.rows.values()) == 0
    s = table(SkuRow)
    with engine.begin() as c:
        c.execute(update(s).where(s.c.code == "BOLT").values(name="Hex bolt M8 zinc"))
    changed = replica.refresh(Source(engine), "ST-1")
    assert changed.rows["skus"] >= 1
    assert sum(changed.rows.values()) < sum(full.rows.values())
    if db_url.startswith("sqlite"):
        assert changed.rows == {**{name: 0 for name in changed.rows}, "skus": 1}
    assert replica.sku("BOLT").name == "Hex bolt M8 zinc"  # type: ignore[union-attr]


@pytest.mark.postgres
def test_a_write_committed_after_a_refresh_started_is_not_lost(
    postgres_url: str, replica: Replica
) -> None:
    """A writer that began before a refresh and commits after it: the next refresh has it.
    PostgreSQL stamps rows with the writer's transaction id and a refresh reads from the oldest
    transaction still running (SQLite has one writer at a time: nothing commits around a read)."""
    engine = make_engine(postgres_url)
    try:
        seed(engine)
        replica.refresh(Source(engine), "ST-1")
        s = table(SkuRow)
        with engine.connect() as writer:
            slow = writer.begin()
            writer.execute(update(s).where(s.c.code == "MILK").values(name="Milk 1 l, organic"))
            with engine.begin() as c:  # a later writer commits first
                c.execute(update(s).where(s.c.code == "BOLT").values(name="Bolt, later writer"))
            replica.refresh(Source(engine), "ST-1")
            assert replica.sku("BOLT").name == "Bolt, later writer"  # type: ignore[union-attr]
            slow.commit()
        replica.refresh(Source(engine), "ST-1")
        assert replica.sku("MILK").name == "Milk 1 l, organic"  # type: ignore[union-attr]
    finally:
        engine.dispose()


def _ok(command: object) -> Outcome:
    return Outcome(command.tx_id, "receive", Status.CONFIRMED, "ok")  # type: ignore[attr-defined]


def test_queued_transactions_show_at_once_and_count_once(
    warehouse: Warehouse, engine: Engine, replica: Replica
) -> None:
    replica.refresh(Source(engine), "ST-1")
    receive = warehouse.command(Receive, sku="BOLT", qty=30, to_location="DOCK-1", receipt="ASN-X")
    putaway = warehouse.command(
        Putaway, sku="BOLT", qty=10, from_location="DOCK-1", to_location="A-01-01"
    )
    replica.add_effect(receive)
    replica.add_effect(putaway)
    # Offline: the station sees its own queue.
    assert replica.contents("DOCK-1") == [Holding("BOLT", None, 20)]
    assert replica.contents("A-01-01") == [Holding("BOLT", None, 10)]
    # The ledger takes them; until a refresh shows its figures, the effects stand in.
    for command in (receive, putaway):
        outcome = submit(command, warehouse.ledger)
        assert outcome.ok, outcome.message
        replica.answered(outcome)
    assert replica.contents("DOCK-1") == [Holding("BOLT", None, 20)]
    report = replica.refresh(Source(engine), "ST-1")
    assert report.applied == 2
    assert replica.contents("DOCK-1") == [Holding("BOLT", None, 20)]
    assert replica.contents("A-01-01") == [Holding("BOLT", None, 10)]
    assert replica.counts()["effects"] == 0


def test_a_refused_transaction_leaves_no_trace(
    warehouse: Warehouse, engine: Engine, replica: Replica
) -> None:
    replica.refresh(Source(engine), "ST-1")
    putaway = warehouse.command(
        Putaway, sku="BOLT", qty=10, from_location="DOCK-1", to_location="A-01-01"
    )
    replica.add_effect(putaway)
    assert replica.contents("A-01-01") == [Holding("BOLT", None, 10)]
    outcome = submit(putaway, warehouse.ledger)  # nothing on the dock: refused
    assert not outcome.ok
    replica.answered(outcome)
    assert replica.contents("A-01-01") == []
    assert replica.contents("DOCK-1") == []


def test_receipts_and_count_tasks_fold_in_the_stations_own_work(
    warehouse: Warehouse, engine: Engine, replica: Replica
) -> None:
    with engine.begin() as c:
        rid = c.execute(
            text("INSERT INTO receipts (code, status) VALUES ('ASN-1', 'open') RETURNING id")
        ).scalar_one()
        sku = c.execute(text("SELECT id FROM skus WHERE code = 'BOLT'")).scalar_one()
        c.execute(
            text(
                "INSERT INTO receipt_lines (receipt_id, line, sku_id, qty) VALUES (:r, 1, :s, 50)"
            ),
            {"r": rid, "s": sku},
        )
    replica.refresh(Source(engine), "ST-1")
    assert replica.open_receipts(5) == ["ASN-1"]
    replica.add_effect(
        warehouse.command(Receive, sku="BOLT", qty=12, to_location="DOCK-1", receipt="ASN-1")
    )
    assert replica.receipt("ASN-1").received == {"BOLT": 12}  # type: ignore[union-attr]
    replica.add_effect(warehouse.command(CloseReceipt, receipt="ASN-1"))
    assert replica.receipt("ASN-1").status == "closed"  # type: ignore[union-attr]
    assert replica.open_receipts(5) == []
    save = warehouse.command(
        SaveCount, location="A-01-01", state="recount", counter="C1", counts=(), snapshot=()
    )
    replica.add_effect(save)
    task = replica.count_task("A-01-01")
    assert task is not None and task.state is CountState.RECOUNT and task.counters == ("C1",)


def test_a_replica_belongs_to_one_database(
    warehouse: Warehouse, engine: Engine, replica: Replica
) -> None:
    replica.refresh(Source(engine), "ST-1")
    with engine.begin() as c:
        c.execute(text("UPDATE database_identity SET database_id = :id"), {"id": str(uuid.uuid4())})
    with pytest.raises(ReplicaMismatch):
        replica.refresh(Source(engine), "ST-1")
    replica.reset()
    replica.refresh(Source(engine), "ST-1")
    assert replica.ready
