"""A supervisor's approval made offline travels with its queued transaction (the PIN the
database verifies when it is sent), and no trace of the PIN stays in the outbox after."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import make_url

from app.adapters.db.engine import make_engine
from app.adapters.db.replica_source import Source
from app.adapters.db.station_data import SqlStationData
from app.adapters.outbox import Outbox
from app.adapters.replica import Replica
from app.adapters.station_reads import ReplicaStationData
from app.domain.commands import Adjust, AdjustReason, Putaway, Receive
from app.domain.ledger import Outcome, Status
from app.domain.rules import PinStatus
from app.services.ledger import submit
from tests.support.drill import through_proxy
from tests.support.proxy import TcpProxy
from tests.support.warehouse import Warehouse, seed


def test_the_pin_waits_with_the_transaction_and_is_wiped_once_answered(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    command = Adjust(
        tx_id=uuid.uuid4(),
        station="ST-1",
        operator="C1",
        sku="WIDGET",
        location="A-01-01",
        delta=-40,
        reason=AdjustReason.COUNT,
        approved_by="S2",
        approver_pin="567890",
    )
    assert "567890" not in str(command.payload()) and "567890" not in repr(command)
    with Outbox(path) as outbox:
        outbox.enqueue(command)
    with Outbox(path) as outbox:  # a restart: the queued command still carries it
        (waiting,) = outbox.pending()
        assert waiting.approver_pin == "567890"
        assert waiting.payload_hash() == command.payload_hash()
        outbox.mark(Outcome(command.tx_id, "adjust", Status.CONFIRMED, "counted 40 fewer"))
        assert outbox.entries()[0].approver_pin is None
    data = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert b"567890" not in data


def test_an_offline_approval_is_verified_by_the_database_when_it_is_sent(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    """A count approved offline (the station checked the supervisor against its copy) reaches
    the database with the PIN and is applied; one whose PIN the database does not take (it was
    changed meanwhile) is refused, shown as an exception, and the queue behind it goes on."""
    w = warehouse
    assert w.run(Receive, sku="WIDGET", qty=92, to_location="DOCK-1").ok
    assert w.run(Putaway, sku="WIDGET", qty=92, from_location="DOCK-1", to_location="A-01-01").ok

    def count(delta: int, pin: str) -> Adjust:
        command: Adjust = w.command(
            Adjust,
            operator="C1",
            sku="WIDGET",
            location="A-01-01",
            delta=delta,
            reason=AdjustReason.COUNT,
            approved_by="S2",
            approver_pin=pin,
        )
        return command

    with Outbox(tmp_path / "outbox.sqlite") as outbox:
        outbox.enqueue(count(-40, "111111"))  # S2's PIN changed while the station was out
        outbox.enqueue(count(-30, "567890"))
        report = outbox.drain(w.ledger, submit)
        assert [o.ok for o in report.outcomes] == [False, True]
        (late,) = outbox.exceptions()
        assert late.outcome is not None
        assert late.outcome["message"] == (
            "wrong PIN for badge S2; 2 attempt(s) left. Nothing was done."
        )
        assert all(e.approver_pin is None for e in outbox.entries())
    assert w.on_hand("A-01-01", "WIDGET") == 62


@dataclass
class BelievedUp:
    """The link as it stands in the instant after a cut: not yet noticed."""

    up: bool = True
    why: str = ""
    since: datetime = field(default_factory=lambda: datetime.now(UTC))

    def down(self, why: str) -> None:
        self.up, self.why = False, why

    def confirmed(self) -> None:
        self.up = True


@pytest.mark.postgres
def test_a_pin_checked_as_the_network_goes_is_answered_by_the_copy(
    postgres_url: str, tmp_path: Path
) -> None:
    """A supervisor types the PIN in the second the network goes, before the link watcher has
    noticed: the database cannot be reached (a real cut, through a proxy), so the station's copy
    answers, and a wrong PIN is counted there."""
    url = make_url(postgres_url)
    engine = make_engine(postgres_url)
    seed(engine)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        live_engine = make_engine(through_proxy(postgres_url, proxy))
        replica = Replica(tmp_path / "replica.sqlite")
        try:
            replica.refresh(Source(engine), "ST-1")
            data = ReplicaStationData(replica, SqlStationData(live_engine), BelievedUp())
            assert data.check_pin("S2", "000000").left == 2  # online: the database counts it
            proxy.cut("refuse")
            live_engine.dispose()  # no pooled connection outlives the cut
            assert data.check_pin("S2", "567890").ok  # offline: the copy's verifier
            wrong = data.check_pin("S2", "000000")
            assert (wrong.status, wrong.left) == (PinStatus.WRONG, 2)  # the copy's own count
        finally:
            replica.close()
            live_engine.dispose()
            engine.dispose()
