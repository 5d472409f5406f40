"""A supervisor's approval made offline travels with its queued transaction (the PIN the
database verifies when it is sent), and no trace of the PIN stays in the outbox after."""

from __future__ import annotations

import uuid
from pathlib import Path

from app.adapters.outbox import Outbox
from app.domain.commands import Adjust, AdjustReason, Putaway, Receive
from app.domain.ledger import Outcome, Status
from app.services.ledger import submit
from tests.support.warehouse import Warehouse


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
