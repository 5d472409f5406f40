"""The station outbox (DESIGN.md section 2): stored before sending, drained in order, exactly once."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.adapters.db.schema import MoveRow, TransactionRow
from app.adapters.outbox import CONFIRMED, QUEUED, REFUSED, Outbox, OutboxConflict
from app.domain.commands import Command, HoldBin, Putaway, Receive
from app.domain.ledger import Outcome, Status
from app.domain.ports import DatabaseUnavailable, UnitOfWorkFactory
from app.services.ledger import submit
from tests.support.checker import check
from tests.support.warehouse import Warehouse

ROOT = Path(__file__).resolve().parents[2]


def receive(qty: int = 1, tx_id: uuid.UUID | None = None) -> Receive:
    return Receive(
        tx_id=tx_id or uuid.uuid4(),
        station="ST-1",
        operator="D1",
        sku="WIDGET",
        qty=qty,
        to_location="DOCK-1",
    )


def test_enqueued_commands_survive_reopening_in_order(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    commands = [receive(qty) for qty in (1, 2, 3)]
    with Outbox(path) as outbox:
        for command in commands:
            outbox.enqueue(command)
        assert outbox.depth() == 3
    with Outbox(path) as outbox:
        assert outbox.pending() == commands
        entries = outbox.entries()
        assert [e.tx_id for e in entries] == [c.tx_id for c in commands]
        assert all(e.state == QUEUED and e.outcome is None and e.kind == "receive" for e in entries)
        assert entries[0].payload == commands[0].payload()


def test_outbox_file_is_wal_with_full_sync(tmp_path: Path) -> None:
    with Outbox(tmp_path / "outbox.db") as outbox:
        assert outbox._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert outbox._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with sqlite3.connect(tmp_path / "outbox.db") as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_enqueue_again_is_a_no_op_but_a_changed_payload_is_refused(tmp_path: Path) -> None:
    with Outbox(tmp_path / "outbox.db") as outbox:
        command = receive(2)
        outbox.enqueue(command)
        outbox.enqueue(command)
        assert outbox.depth() == 1
        with pytest.raises(OutboxConflict):
            outbox.enqueue(receive(5, tx_id=command.tx_id))
        assert outbox.pending() == [command]


def test_mark_keeps_the_first_answer_and_refuses_unknown_ids(tmp_path: Path) -> None:
    with Outbox(tmp_path / "outbox.db") as outbox:
        command = receive()
        outbox.enqueue(command)
        first = Outcome(command.tx_id, "receive", Status.CONFIRMED, "received")
        assert outbox.mark(first) is True
        assert outbox.mark(Outcome(command.tx_id, "receive", Status.REFUSED, "x")) is False
        (entry,) = outbox.entries()
        assert entry.state == CONFIRMED and entry.outcome == first.as_dict()
        assert outbox.depth() == 0 and outbox.pending() == []
        with pytest.raises(KeyError):
            outbox.mark(Outcome(uuid.uuid4(), "receive", Status.CONFIRMED, "?"))


def test_drain_sends_in_order_and_records_every_answer(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    commands: list[Command] = [
        receive(5),
        warehouse.command(
            Putaway, sku="WIDGET", qty=3, from_location="DOCK-1", to_location="A-01-01"
        ),
        warehouse.command(
            Putaway, sku="WIDGET", qty=9, from_location="DOCK-1", to_location="A-01-02"
        ),
    ]
    with Outbox(tmp_path / "outbox.db") as outbox:
        for command in commands:
            outbox.enqueue(command)
        report = outbox.drain(warehouse.ledger, submit)
        assert [o.tx_id for o in report.outcomes] == [c.tx_id for c in commands]
        assert [o.status for o in report.outcomes] == [
            Status.CONFIRMED,
            Status.CONFIRMED,
            Status.REFUSED,
        ]
        assert (report.sent, report.remaining, report.stopped) == (3, 0, False)
        assert [e.state for e in outbox.entries()] == [CONFIRMED, CONFIRMED, REFUSED]
        assert outbox.drain(warehouse.ledger, submit).sent == 0
        assert check(warehouse.engine, outbox.entries()).ok
    assert warehouse.on_hand("A-01-01", "WIDGET") == 3
    assert warehouse.on_hand("DOCK-1", "WIDGET") == 2


def test_drain_stops_at_the_first_unavailable_and_keeps_the_order(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    commands = [receive(qty) for qty in (1, 2, 3, 4)]
    down_after = 1

    def flaky(command: Command, uow_factory: UnitOfWorkFactory) -> Outcome:
        nonlocal down_after
        if down_after == 0:
            raise DatabaseUnavailable("the network is down")
        down_after -= 1
        return submit(command, uow_factory)

    with Outbox(tmp_path / "outbox.db") as outbox:
        for command in commands:
            outbox.enqueue(command)
        report = outbox.drain(warehouse.ledger, flaky)
        assert (report.sent, report.remaining, report.stopped) == (1, 3, True)
        assert outbox.pending() == commands[1:]
        report = outbox.drain(warehouse.ledger, submit)
        assert [o.tx_id for o in report.outcomes] == [c.tx_id for c in commands[1:]]
        assert not any(o.replayed for o in report.outcomes)
        assert check(warehouse.engine, outbox.entries()).ok
    assert warehouse.on_hand("DOCK-1", "WIDGET") == 10


def test_a_lost_answer_is_resent_with_the_same_id_and_replayed(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    with Outbox(tmp_path / "outbox.db") as outbox:
        command = receive(7)
        outbox.enqueue(command)
        first = submit(command, warehouse.ledger)  # the reply is lost on the way back
        report = outbox.drain(warehouse.ledger, submit)
        (again,) = report.outcomes
        assert again.replayed and again.status is first.status and again.message == first.message
        result = check(warehouse.engine, outbox.entries())
        assert result.ok and result.transactions == 1 and result.moves == 1
    assert warehouse.on_hand("DOCK-1", "WIDGET") == 7


CRASHING_STATION = """
import os, signal, sys, uuid
from app.adapters.db.engine import make_engine
from app.adapters.db.uow import SqlLedger
from app.adapters.outbox import Outbox
from app.domain.commands import Receive
from app.services.ledger import submit

url, path, moment, tx_id = sys.argv[1:]
command = Receive(tx_id=uuid.UUID(tx_id), station="ST-1", operator="D1", sku="WIDGET", qty=4,
                  to_location="DOCK-1")
outbox = Outbox(path)
outbox.enqueue(command)
if moment == "after-commit":
    submit(command, SqlLedger(make_engine(url)))
os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.parametrize("moment", ["before-send", "after-commit"])
def test_a_station_killed_mid_scan_sends_it_on_the_next_drain_exactly_once(
    warehouse: Warehouse, db_url: str, tmp_path: Path, moment: str
) -> None:
    path, tx_id = tmp_path / "outbox.db", uuid.uuid4()
    died = subprocess.run(
        [sys.executable, "-c", CRASHING_STATION, db_url, str(path), moment, str(tx_id)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert died.returncode == -signal.SIGKILL, died.stderr
    with Outbox(path) as outbox:
        assert outbox.depth() == 1 and outbox.pending()[0].tx_id == tx_id
        (outcome,) = outbox.drain(warehouse.ledger, submit).outcomes
        assert outcome.ok and outcome.replayed is (moment == "after-commit")
        assert outbox.drain(warehouse.ledger, submit).sent == 0
        result = check(warehouse.engine, outbox.entries())
        assert result.ok and result.transactions == 1, result
    t, m = TransactionRow.__table__, MoveRow.__table__
    with warehouse.engine.connect() as c:
        assert c.execute(select(func.count()).where(t.c.id == tx_id)).scalar_one() == 1
        assert c.execute(select(func.count()).where(m.c.tx_id == tx_id)).scalar_one() == 1
    assert warehouse.on_hand("DOCK-1", "WIDGET") == 4


def test_a_bin_suggestion_left_queued_by_a_crash_is_never_sent_later(tmp_path: Path) -> None:
    """A station that died between writing a HoldBin and its answer: the next start answers it
    itself (refused, not sent), since a hold made minutes later helps nobody."""
    hold = HoldBin(tx_id=uuid.uuid4(), station="ST-1", operator="D1", sku="WIDGET", qty=2)
    with Outbox(tmp_path / "ob") as outbox:
        outbox.enqueue(hold)
        assert outbox.depth() == 1
    with Outbox(tmp_path / "ob") as outbox:
        assert outbox.depth() == 0
        [entry] = outbox.entries()
        assert entry.state == "refused" and entry.outcome is not None
        assert entry.outcome["reason"] == "offline"
        assert outbox.exceptions() == []  # nobody's refusal to look at: it was never sent
