"""Stock lookup's reads (StationData.stock_at, stock_of, freshness) on both databases: live over
SQL, and from the station's replica, which gives the same answer after a refresh, folds in the
station's own queued transactions, and answers alone while the link is down. Then `@CMD:LOOKUP`
through the shift on the replica with the link down: a dock worker sees quantities, a counter
does not."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from app.adapters.db.replica_source import Source
from app.adapters.db.station_data import SqlStationData
from app.adapters.replica import Replica
from app.adapters.station_reads import ReplicaStationData
from app.domain.commands import Hold, Opening, OpeningLine, Receive, Reserve, Transfer
from app.domain.interpret import CommandName, Interpretation, Kind, StationMode
from app.domain.ledger import Outcome
from app.domain.shift import Shift
from app.domain.workflow import Stock, StockList, WorkContext, Workflow
from app.domain.workflows.count import CountWorkflow
from app.domain.workflows.receive import ReceiveWorkflow
from app.services.ledger import submit
from tests.support.fake_station import meaning
from tests.support.warehouse import Warehouse

JAN, FEB, MAR = date(2031, 1, 1), date(2031, 2, 1), date(2031, 3, 1)


class Link:
    """The station's view of the link, set by the test."""

    def __init__(self) -> None:
        self.up, self.why, self.since = True, "", datetime.now(UTC)

    def down(self, why: str) -> None:
        self.up, self.why = False, why

    def confirmed(self) -> None:
        self.up, self.why = True, ""


def ok(outcome: Outcome) -> Outcome:
    assert outcome.ok, outcome.message
    return outcome


@pytest.fixture
def stocked(warehouse: Warehouse) -> Warehouse:
    """MILK in three bins and on the dock, some of it reserved, one bin on hold."""
    lines = (
        OpeningLine("MILK", "A-01-01", 6, "L1", JAN),
        OpeningLine("MILK", "A-01-01", 4, "L2", FEB),
        OpeningLine("WIDGET", "A-01-01", 3),
        OpeningLine("MILK", "A-02-01", 3, "L1", JAN),
        OpeningLine("MILK", "A-01-03", 5, "L2", FEB),
        OpeningLine("BOLT", "B-01-01", 8),
    )
    ok(warehouse.run(Opening, lines=lines))
    ok(warehouse.run(Receive, sku="MILK", qty=2, lot="L3", expiry=MAR, to_location="DOCK-1"))
    ok(warehouse.run(Reserve, order="O", line=1, sku="MILK", qty=2, lot="L1", location="A-01-01"))
    ok(warehouse.run(Hold, location="A-01-03", reason="damaged"))
    return warehouse


@pytest.fixture
def replica(tmp_path: Path) -> Iterator[Replica]:
    r = Replica(tmp_path / "replica.sqlite")
    yield r
    r.close()


BIN = [
    Stock("A-01-01", "MILK", "L1", JAN, 6, 2, 1),
    Stock("A-01-01", "MILK", "L2", FEB, 4, 0, 1),
    Stock("A-01-01", "WIDGET", None, None, 3, 0, 1),
]
MILK = [
    Stock("DOCK-1", "MILK", "L3", MAR, 2, 0, 0),
    Stock("A-01-01", "MILK", "L1", JAN, 6, 2, 1),
    Stock("A-01-01", "MILK", "L2", FEB, 4, 0, 1),
    Stock("A-01-03", "MILK", "L2", FEB, 5, 0, 3),
    Stock("A-02-01", "MILK", "L1", JAN, 3, 0, 4),
]


def test_live_reads_give_a_bin_and_an_item(stocked: Warehouse) -> None:
    data = SqlStationData(stocked.engine)
    assert data.stock_at("A-01-01") == BIN
    assert data.stock_at("A-01-02") == []
    assert data.stock_at("VENDOR") == [] and data.stock_at("x" * 500) == []
    assert data.stock_of("MILK", 10) == StockList(tuple(MILK), 0, 20, 2)
    assert data.stock_of("MILK", 2) == StockList(tuple(MILK[:3]), 2, 20, 2)
    assert data.stock_of("PHONE", 10) == StockList((), 0, 0, 0)
    assert data.freshness().live


def test_the_replica_answers_the_same_and_alone_offline(
    stocked: Warehouse, engine: Engine, replica: Replica
) -> None:
    replica.refresh(Source(engine), "ST-1")
    link = Link()
    data = ReplicaStationData(replica, SqlStationData(engine), link)
    link.down("network cut by the test")
    assert data.stock_at("A-01-01") == BIN
    assert data.stock_of("MILK", 10) == StockList(tuple(MILK), 0, 20, 2)
    assert data.stock_of("MILK", 2) == StockList(tuple(MILK[:3]), 2, 20, 2)
    assert data.held("A-01-03") == "A-01-03 is on hold (damaged)"
    fresh = data.freshness()
    assert not fresh.live and fresh.copied_at is not None
    assert fresh.copied_at == replica.refreshed_at


def test_the_replica_folds_in_the_stations_queued_transactions(
    stocked: Warehouse, engine: Engine, replica: Replica
) -> None:
    replica.refresh(Source(engine), "ST-1")
    move = stocked.command(
        Transfer, sku="MILK", qty=2, lot="L2", from_location="A-01-01", to_location="A-01-02"
    )
    new_lot = stocked.command(
        Receive, sku="MILK", qty=7, lot="L9", expiry=date(2032, 1, 1), to_location="DOCK-1"
    )
    replica.add_effect(move)
    replica.add_effect(new_lot)
    assert replica.stock_at("A-01-02") == [Stock("A-01-02", "MILK", "L2", FEB, 2, 0, 2)]
    assert replica.stock_at("A-01-01")[1] == Stock("A-01-01", "MILK", "L2", FEB, 2, 0, 1)
    assert replica.stock_at("DOCK-1") == [
        Stock("DOCK-1", "MILK", "L3", MAR, 2, 0, 0),
        Stock("DOCK-1", "MILK", "L9", date(2032, 1, 1), 7, 0, 0),
    ]
    found = replica.stock_of("MILK", 10)
    assert (found.on_hand, found.reserved, found.more) == (27, 2, 0)
    assert [s.location for s in found.lines] == [
        "DOCK-1",
        "DOCK-1",
        "A-01-01",
        "A-01-01",
        "A-01-02",
        "A-01-03",
        "A-02-01",
    ]
    # Once the ledger has them and a refresh shows its figures, they count once.
    for command in (move, new_lot):
        replica.answered(ok(submit(command, stocked.ledger)))
    replica.refresh(Source(engine), "ST-1")
    assert replica.counts()["effects"] == 0
    assert replica.stock_of("MILK", 10) == found
    assert SqlStationData(engine).stock_of("MILK", 10) == found


def shift_on(data: ReplicaStationData, engine: Engine, badge: str) -> Shift:
    station = data.station("ST-1")
    assert station is not None
    workflows: dict[StationMode, Callable[[WorkContext], Workflow]] = {
        StationMode.RECEIVE: ReceiveWorkflow,
        StationMode.COUNT: CountWorkflow,
    }
    shift = Shift(station, data, None, workflows)
    shift.on_scan(meaning(Kind.BADGE, code=badge), 0)
    assert shift.operator is not None
    return shift


def cmd(name: CommandName) -> Interpretation:
    return meaning(Kind.COMMAND, command=name)


def test_a_lookup_offline_through_the_shift(
    stocked: Warehouse, engine: Engine, replica: Replica
) -> None:
    replica.refresh(Source(engine), "ST-1")
    link = Link()
    data = ReplicaStationData(replica, SqlStationData(engine), link)
    link.down("network cut by the test")
    dock = shift_on(data, engine, "D1")
    dock.on_scan(cmd(CommandName.LOOKUP), 0)
    looked = dock.on_scan(meaning(Kind.LOCATION, code="A-01-03"), 0)
    assert "(station's copy, " in looked.prompt and not looked.commands
    assert looked.lines == (
        "ON HOLD: A-01-03 is on hold (damaged).",
        "MILK Milk 1 l, lot L2, expires 2031-02-01: on hand 5, reserved 0, available 0",
    )
    item = dock.on_scan(meaning(Kind.ITEM, sku="MILK", gtin=None, lot="L1"), 0)
    # 18 free, less the 5 held in A-01-03: held stock is not available to pick.
    assert item.prompt.startswith("MILK Milk 1 l: 13 available, 20 on hand in 4 locations")
    assert item.lines[0] == (
        "DOCK-1 (dock): lot L3, expires 2031-03-01: available 2 (on hand 2, reserved 0)"
    )
    counter = shift_on(data, engine, "C1")
    counter.on_scan(cmd(CommandName.LOOKUP), 0)
    blind = counter.on_scan(meaning(Kind.LOCATION, code="A-01-01"), 0)
    assert blind.lines == (
        "MILK Milk 1 l, lot L1, expires 2031-01-01",
        "MILK Milk 1 l, lot L2, expires 2031-02-01",
        "WIDGET Blue widget, no lot",
    )
