"""The exceptions list end to end, on both databases: each kind raised by the real ledger
transaction that makes it, then decided by a supervisor's `Decide` transaction (badge, PIN and a
reason code) with its effect on stock, count tasks and holds; and `perpetua exceptions` at a
terminal."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from app.adapters.db import catalogue
from app.adapters.db.exceptions import list_exceptions
from app.adapters.db.schema import CountTaskRow, HoldRow, LocationRow, table
from app.cli import main
from app.domain.catalogue import OperatorSpec, ReceiptLineSpec
from app.domain.commands import (
    CloseReceipt,
    CountLine,
    Decide,
    Hold,
    Opening,
    OpeningLine,
    PostPick,
    Putaway,
    Receive,
    ReleaseHold,
    ReleaseReason,
    Reserve,
    SaveCount,
    Transfer,
)
from app.domain.errors import Reason
from app.domain.exceptions import ExceptionItem, ExceptionKind, ExceptionState
from app.domain.ledger import Outcome
from app.domain.model import Role
from tests.support.warehouse import Warehouse


@pytest.fixture
def wh(warehouse: Warehouse) -> Warehouse:
    """WIDGET 10 in A-01-01, BOLT 20 in A-01-02, MILK lot L1 6 in A-01-03, SCREW-5 50 in
    B-01-01; a second counter, C2."""
    with warehouse.engine.begin() as c:
        catalogue.add_operators(c, [OperatorSpec("C2", "Cy Counter", Role.COUNTER)])
    ok(
        warehouse.run(
            Opening,
            lines=(
                OpeningLine("WIDGET", "A-01-01", 10),
                OpeningLine("BOLT", "A-01-02", 20),
                OpeningLine("MILK", "A-01-03", 6, "L1", date(2030, 1, 1)),
                OpeningLine("SCREW-5", "B-01-01", 50),
            ),
        )
    )
    return warehouse


def ok(outcome: Outcome) -> Outcome:
    assert outcome.ok, outcome.message
    return outcome


def refused(outcome: Outcome, reason: Reason) -> Outcome:
    assert not outcome.ok, outcome.message
    assert outcome.reason == reason.value, outcome.message
    return outcome


def listed(wh: Warehouse, open_only: bool = False) -> list[ExceptionItem]:
    with wh.engine.connect() as c:
        return list_exceptions(c, open_only=open_only)


def only(wh: Warehouse, kind: ExceptionKind) -> ExceptionItem:
    found = [e for e in listed(wh) if e.kind is kind]
    assert len(found) == 1, found
    return found[0]


def state_of(wh: Warehouse, exception_id: int) -> ExceptionState:
    return next(e.state for e in listed(wh) if e.id == exception_id)


def decide(
    wh: Warehouse, exception_id: int, decision: str, reason: str, by: str = "S1", **extra: Any
) -> Outcome:
    return wh.run(
        Decide,
        operator=by,
        exception=exception_id,
        decision=decision,
        reason=reason,
        approved_by=by,
        **extra,
    )


def save_count(
    wh: Warehouse, state: str, counter: str, counted: int, ledger: int = 10, bin_: str = "A-01-01"
) -> Outcome:
    return wh.run(
        SaveCount,
        operator=counter,
        location=bin_,
        state=state,
        counter=counter,
        counts=(CountLine("WIDGET", counted),),
        snapshot=(CountLine("WIDGET", ledger),),
    )


def task_of(wh: Warehouse, bin_: str) -> Any:
    ct, loc = table(CountTaskRow), table(LocationRow)
    with wh.engine.connect() as c:
        return c.execute(
            select(ct)
            .join(loc, loc.c.id == ct.c.location_id)
            .where(loc.c.code == bin_)
            .order_by(ct.c.id.desc())
        ).first()


# --- counts -----------------------------------------------------------------------------------


def test_a_count_variance_then_a_disagreement_approved_from_the_list_posts_the_count(
    wh: Warehouse,
) -> None:
    ok(save_count(wh, "recount", "C1", 7))
    variance = only(wh, ExceptionKind.COUNT_VARIANCE)
    assert variance.state is ExceptionState.OPEN
    assert variance.what == (
        "count of A-01-01 by C1 beyond tolerance, waiting for a recount by another operator: "
        "WIDGET counted 7, ledger 10 (-3)"
    )
    assert (variance.location, variance.sku, variance.qty) == ("A-01-01", "WIDGET", -3)
    assert (variance.raised_by, variance.station) == ("C1", "ST-1")
    assert "approve the count" in variance.action
    ok(save_count(wh, "recount", "C1", 7))  # saved again: still one open variance
    assert [e.kind for e in listed(wh, open_only=True)] == [ExceptionKind.COUNT_VARIANCE]

    ok(save_count(wh, "approval", "C2", 7))
    assert state_of(wh, variance.id) is ExceptionState.RESOLVED
    disagreement = only(wh, ExceptionKind.COUNT_DISAGREEMENT)
    assert disagreement.what.startswith("recount of A-01-01 by C2 (first count by C1) beyond")
    assert [e.id for e in listed(wh, open_only=True)] == [disagreement.id]

    done = ok(decide(wh, disagreement.id, "approve", "lost"))
    assert done.message == (
        f"E-{disagreement.id} approved by S1 (lost): 1 adjustment(s) of A-01-01 posted"
    )
    assert wh.on_hand("A-01-01", "WIDGET") == 7
    task = task_of(wh, "A-01-01")
    assert task.state == "done" and task.done_at is not None
    decided = only(wh, ExceptionKind.COUNT_DISAGREEMENT)
    assert (decided.state, decided.decided_by, decided.decision_reason) == (
        ExceptionState.APPROVED,
        "S1",
        "lost",
    )
    assert decided.decided_at is not None
    assert listed(wh, open_only=True) == []
    assert wh.invariants().total == 0

    again = refused(decide(wh, disagreement.id, "approve", "lost", by="S2"), Reason.BAD_INPUT)
    assert again.message.startswith(f"E-{disagreement.id} was already approved by S1 at ")
    assert wh.on_hand("A-01-01", "WIDGET") == 7  # not posted twice


def test_a_rejected_count_is_discarded_and_the_bin_counted_again(wh: Warehouse) -> None:
    ok(save_count(wh, "recount", "C1", 4))
    variance = only(wh, ExceptionKind.COUNT_VARIANCE)
    done = ok(decide(wh, variance.id, "reject", "recount"))
    assert done.message == (
        f"E-{variance.id} rejected by S1 (recount): the count of A-01-01 is discarded; the bin "
        "is to be counted again"
    )
    task = task_of(wh, "A-01-01")
    assert (task.state, task.counts, task.snapshot, task.counters) == ("open", [], [], ["C1"])
    assert task.first_counts == [{"sku": "WIDGET", "lot": None, "qty": 4}]
    assert task.reason == f"recount: E-{variance.id} rejected by S1 (recount)"  # in the lists
    assert wh.on_hand("A-01-01", "WIDGET") == 10
    assert state_of(wh, variance.id) is ExceptionState.REJECTED
    # Counted again beyond tolerance: a new variance is listed, the rejected one stays as it was.
    ok(save_count(wh, "recount", "C2", 5))
    fresh = [e for e in listed(wh, open_only=True) if e.kind is ExceptionKind.COUNT_VARIANCE]
    assert len(fresh) == 1 and fresh[0].id != variance.id and "by C2" in fresh[0].what


def test_a_count_finished_at_the_station_resolves_its_exception(wh: Warehouse) -> None:
    ok(save_count(wh, "recount", "C1", 7))
    variance = only(wh, ExceptionKind.COUNT_VARIANCE)
    ok(save_count(wh, "done", "C2", 10))
    resolved = only(wh, ExceptionKind.COUNT_VARIANCE)
    assert (resolved.id, resolved.state, resolved.decided_by) == (
        variance.id,
        ExceptionState.RESOLVED,
        "C2",
    )
    assert refused(
        decide(wh, variance.id, "approve", "count"), Reason.BAD_INPUT
    ).message.startswith(f"E-{variance.id} was already resolved by C2 at ")


def test_a_supervisor_cannot_decide_a_count_they_made(wh: Warehouse) -> None:
    ok(save_count(wh, "recount", "S1", 7))
    variance = only(wh, ExceptionKind.COUNT_VARIANCE)
    own = refused(decide(wh, variance.id, "approve", "lost"), Reason.NOT_ALLOWED)
    assert own.message == (
        f"S1 counted A-01-01: another supervisor must decide E-{variance.id}. Nothing was done."
    )
    assert state_of(wh, variance.id) is ExceptionState.OPEN
    assert wh.on_hand("A-01-01", "WIDGET") == 10
    ok(decide(wh, variance.id, "approve", "lost", by="S2"))
    assert wh.on_hand("A-01-01", "WIDGET") == 7


def test_a_wrong_pin_or_a_wrong_reason_is_refused_and_nothing_changes(wh: Warehouse) -> None:
    ok(save_count(wh, "recount", "C1", 7))
    variance = only(wh, ExceptionKind.COUNT_VARIANCE)
    wrong = refused(
        decide(wh, variance.id, "approve", "lost", approver_pin="000000"), Reason.PIN_REFUSED
    )
    assert "wrong PIN for badge S1" in wrong.message
    reason = refused(decide(wh, variance.id, "approve", "checked_ok"), Reason.BAD_INPUT)
    assert reason.message.startswith("'checked_ok' is not a reason to approve a count variance")
    by_counter = refused(decide(wh, variance.id, "approve", "lost", by="C2"), Reason.NOT_ALLOWED)
    assert "may not decide an exception" in by_counter.message
    missing = refused(decide(wh, 999, "approve", "lost"), Reason.BAD_INPUT)
    assert missing.message.startswith("E-999 does not exist")
    assert state_of(wh, variance.id) is ExceptionState.OPEN
    assert task_of(wh, "A-01-01").state == "recount"
    assert wh.on_hand("A-01-01", "WIDGET") == 10


# --- picks, receipts, putaways ----------------------------------------------------------------


def short_pick(wh: Warehouse, order: str, picked: int) -> Outcome:
    reserved = ok(wh.run(Reserve, order=order, line=1, sku="WIDGET", qty=3))
    reservation = reserved.result["lines"][0]["reservation"]
    return wh.run(
        PostPick, reservation=reservation, qty=picked, to_location="OUT-1", short_reason="empty"
    )


def test_a_short_pick_is_listed_and_accepted_or_sent_to_a_count(wh: Warehouse) -> None:
    ok(short_pick(wh, "O-1", 3))  # picked in full: nothing to list
    assert listed(wh) == []
    picked = ok(short_pick(wh, "O-2", 1))
    short = only(wh, ExceptionKind.SHORT_PICK)
    assert short.what == "P1 picked 1 of 3 x WIDGET from A-01-01 for O-2/1: 2 short (empty)"
    assert (short.location, short.sku, short.qty, short.raised_by) == ("A-01-01", "WIDGET", 2, "P1")
    accepted = ok(decide(wh, short.id, "approve", "checked_ok"))
    assert accepted.message == f"E-{short.id} approved by S1 (checked_ok): accepted as it is"
    assert task_of(wh, "A-01-01") is None
    assert picked.ok

    ok(short_pick(wh, "O-3", 0))
    second = next(e for e in listed(wh, open_only=True) if e.kind is ExceptionKind.SHORT_PICK)
    rejected = ok(decide(wh, second.id, "reject", "operator_error"))
    assert rejected.message == (
        f"E-{second.id} rejected by S1 (operator_error): not accepted; a count of A-01-01 is raised"
    )
    task = task_of(wh, "A-01-01")
    assert (task.state, task.origin, task.reason) == (
        "open",
        "event",
        f"rejected E-{second.id}: short pick",
    )


def test_a_damaged_receipt_is_listed_and_a_quarantine_is_not_counted(wh: Warehouse) -> None:
    ok(wh.run(Receive, sku="WIDGET", qty=2, to_location="QUAR-1"))
    ok(wh.run(Receive, sku="WIDGET", qty=2, to_location="DOCK-1"))  # not damaged: not listed
    damaged = only(wh, ExceptionKind.DAMAGED_RECEIPT)
    assert damaged.what == "D1 received 2 x WIDGET into quarantine QUAR-1: damaged (or set aside)"
    assert (damaged.location, damaged.qty) == ("QUAR-1", 2)
    rejected = ok(decide(wh, damaged.id, "reject", "vendor_error"))
    assert rejected.message.endswith("not accepted; QUAR-1 is a quarantine, not counted")
    assert task_of(wh, "QUAR-1") is None
    ok(wh.run(Receive, sku="BOLT", qty=1, to_location="QUAR-1"))
    bolt = next(e for e in listed(wh, open_only=True) if e.kind is ExceptionKind.DAMAGED_RECEIPT)
    ok(decide(wh, bolt.id, "approve", "vendor_error"))
    assert state_of(wh, bolt.id) is ExceptionState.APPROVED


def test_a_receipt_closed_outside_tolerance_is_listed_once(wh: Warehouse) -> None:
    with wh.engine.begin() as c:
        catalogue.add_receipts(
            c,
            [
                ReceiptLineSpec("R-1", 1, "WIDGET", 10),
                ReceiptLineSpec("R-1", 2, "BOLT", 10),
                ReceiptLineSpec("R-2", 1, "BOLT", 10),
            ],
        )
    ok(wh.run(Receive, sku="WIDGET", qty=10, to_location="DOCK-1", receipt="R-1"))
    ok(wh.run(Receive, sku="BOLT", qty=4, to_location="DOCK-1", receipt="R-1"))
    ok(wh.run(CloseReceipt, receipt="R-1", approved_by="S1"))
    ok(wh.run(Receive, sku="BOLT", qty=10, to_location="DOCK-1", receipt="R-2"))
    ok(wh.run(CloseReceipt, receipt="R-2"))  # as expected: not listed
    receipt = only(wh, ExceptionKind.RECEIPT_TOLERANCE)
    assert receipt.what == (
        "receipt R-1 closed by D1 outside the receiving tolerance: BOLT received 4 of 10 "
        "expected (-6), short close approved by S1"
    )
    assert (receipt.sku, receipt.qty, receipt.location) == ("BOLT", -6, None)
    rejected = ok(decide(wh, receipt.id, "reject", "vendor_error"))
    assert rejected.message.endswith("not accepted; it names no bin to count")


def test_an_override_into_a_lookalikes_bin_is_listed_and_rejecting_counts_the_bin(
    wh: Warehouse,
) -> None:
    ok(wh.run(Receive, sku="SCREW-4", qty=5, to_location="DOCK-1"))
    ok(wh.run(Receive, sku="BOLT", qty=5, to_location="DOCK-1"))
    put = dict(from_location="DOCK-1", qty=5, suggested="A-02-01")
    ok(wh.run(Putaway, sku="BOLT", to_location="A-01-02", **put))  # no look-alike: not listed
    ok(wh.run(Putaway, sku="SCREW-4", to_location="B-01-01", **put))
    override = only(wh, ExceptionKind.OVERRIDE)
    assert override.what.startswith(
        "D1 put 5 x SCREW-4 into B-01-01 instead of the suggested A-02-01; note: this bin also "
        "holds"
    )
    assert (override.location, override.sku, override.qty) == ("B-01-01", "SCREW-4", 5)
    ok(decide(wh, override.id, "reject", "operator_error"))
    assert task_of(wh, "B-01-01").reason == f"rejected E-{override.id}: override"


# --- holds ------------------------------------------------------------------------------------


def hold_row(wh: Warehouse, hold_id: int) -> Any:
    h = table(HoldRow)
    with wh.engine.connect() as c:
        return c.execute(select(h).where(h.c.id == hold_id)).one()


def test_a_hold_approved_from_the_list_is_lifted_and_a_rejected_one_stays(
    wh: Warehouse,
) -> None:
    placed = ok(wh.run(Hold, location="A-01-01", reason="water damage"))
    hold = only(wh, ExceptionKind.HOLD)
    assert hold.what == "A-01-01 put on hold by D1: water damage"
    wrong = refused(decide(wh, hold.id, "approve", "lost"), Reason.BAD_INPUT)
    assert "give one of inspected_ok" in wrong.message
    lifted = ok(decide(wh, hold.id, "approve", "inspected_ok"))
    assert lifted.message == (
        f"E-{hold.id} approved by S1 (inspected_ok): the hold on A-01-01 (water damage) is "
        "lifted: its stock may be picked and moved again"
    )
    row = hold_row(wh, placed.result["hold"])
    assert (row.released_at is not None, row.release_reason) == (True, "inspected_ok")
    ok(wh.run(Transfer, sku="WIDGET", qty=1, from_location="A-01-01", to_location="A-02-01"))

    again = ok(wh.run(Hold, sku="MILK", lot="L1", reason="recall"))
    lot = next(e for e in listed(wh, open_only=True) if e.kind is ExceptionKind.HOLD)
    assert (lot.what, lot.sku, lot.lot) == (
        "lot L1 of MILK put on hold by D1: recall",
        "MILK",
        "L1",
    )
    kept = ok(decide(wh, lot.id, "reject", "checked_ok"))
    assert kept.message.endswith("lot L1 of MILK stays on hold")
    assert hold_row(wh, again.result["hold"]).released_at is None


def test_a_hold_released_at_a_terminal_resolves_its_exception(wh: Warehouse) -> None:
    ok(wh.run(Hold, location="A-01-02", reason="broken shelf"))
    hold = only(wh, ExceptionKind.HOLD)
    ok(
        wh.run(
            ReleaseHold,
            operator="S1",
            location="A-01-02",
            reason=ReleaseReason.INSPECTED_OK,
            approved_by="S1",
        )
    )
    assert state_of(wh, hold.id) is ExceptionState.RESOLVED


# --- refusals after an outage -----------------------------------------------------------------


def test_a_refusal_after_waiting_in_a_queue_is_listed_and_an_immediate_one_is_not(
    wh: Warehouse,
) -> None:
    now = refused(
        wh.run(Transfer, sku="WIDGET", qty=99, from_location="A-01-01", to_location="A-02-01"),
        Reason.NOT_ENOUGH_STOCK,
    )
    assert listed(wh) == []
    queued = datetime.now(UTC) - timedelta(minutes=5)
    late = refused(
        wh.run(
            Transfer,
            sku="WIDGET",
            qty=99,
            from_location="A-01-01",
            to_location="A-02-01",
            station_time=queued,
        ),
        Reason.NOT_ENOUGH_STOCK,
    )
    found = only(wh, ExceptionKind.REFUSED_LATE)
    assert found.what.startswith("move stock between locations by D1 at ST-1, scanned at ")
    assert ", was refused 5 min later, after waiting in the station's queue: " in found.what
    assert found.what.endswith(late.message)
    assert (found.location, found.sku, found.qty, found.raised_by) == (
        "A-01-01",
        "WIDGET",
        99,
        "D1",
    )
    assert now.tx_id != late.tx_id
    ok(decide(wh, found.id, "approve", "checked_ok"))
    assert state_of(wh, found.id) is ExceptionState.APPROVED


# --- the command line -------------------------------------------------------------------------


def perpetua(db_url: str, *args: str, pin: str | None = None) -> Result:
    env = {"PERPETUA_PIN": pin} if pin is not None else {}
    return CliRunner().invoke(main, ["--db", db_url, *args], catch_exceptions=False, env=env)


def test_the_list_and_decisions_at_a_terminal(db_url: str, wh: Warehouse) -> None:
    assert perpetua(db_url, "exceptions", "--open").output == "(no open exceptions)\n"
    ok(save_count(wh, "recount", "C1", 7))
    ok(wh.run(Hold, location="A-01-02", reason="water damage"))
    variance, hold = only(wh, ExceptionKind.COUNT_VARIANCE), only(wh, ExceptionKind.HOLD)

    table_ = perpetua(db_url, "exceptions", "--open")
    assert table_.exit_code == 0, table_.output
    head, first, second = table_.output.splitlines()
    assert head.split() == [
        "id",
        "kind",
        "what",
        "where",
        "who",
        "when",
        "action",
        "or",
        "decision",
    ]
    assert first.startswith(f"E-{hold.id}  hold ")  # newest first
    assert "A-01-02" in first and "D1 at ST-1" in first and "approve to release it" in first
    assert second.startswith(f"E-{variance.id}  count_variance  count of A-01-01 by C1")
    assert "A-01-01 WIDGET" in second and "C1 at ST-1" in second
    one = perpetua(db_url, "exceptions", "--json", "--limit", "1")
    assert [json.loads(line)["label"] for line in one.output.splitlines()] == [f"E-{hold.id}"]

    refused_pin = perpetua(
        db_url, "exceptions", "approve", f"E-{variance.id}", "--reason", "lost", "--badge", "S1",
        "--station", "ST-1", pin="111111",
    )  # fmt: skip
    assert refused_pin.exit_code == 1
    assert "refused: wrong PIN for badge S1" in refused_pin.output
    bad_reason = perpetua(
        db_url, "exceptions", "approve", str(variance.id), "--reason", "checked_ok", "--badge",
        "S1", "--station", "ST-1", pin="123456",
    )  # fmt: skip
    assert bad_reason.exit_code == 1
    assert "to approve it, give --reason count or damaged or found or lost" in bad_reason.output
    approved = perpetua(
        db_url, "exceptions", "approve", f"e-{variance.id}", "--reason", "LOST", "--badge", "S1",
        "--station", "ST-1", pin="123456",
    )  # fmt: skip
    assert approved.exit_code == 0, approved.output
    assert approved.output == (
        f"E-{variance.id} approved by S1 (lost): 1 adjustment(s) of A-01-01 posted\n"
    )
    assert wh.on_hand("A-01-01", "WIDGET") == 7
    twice = perpetua(
        db_url, "exceptions", "reject", str(variance.id), "--reason", "recount", "--badge", "S2",
        "--station", "ST-1", pin="567890",
    )  # fmt: skip
    assert twice.exit_code == 1
    assert f"E-{variance.id} was already approved by S1 at " in twice.output
    kept = perpetua(
        db_url, "exceptions", "reject", f"E-{hold.id}", "--reason", "checked_ok", "--badge", "S2",
        "--station", "ST-1", pin="567890",
    )  # fmt: skip
    assert kept.exit_code == 0 and kept.output.endswith("A-01-02 stays on hold\n")
    everything = perpetua(db_url, "exceptions")
    assert "approved by S1 (lost)" in everything.output
    assert "rejected by S2 (checked_ok)" in everything.output
    assert perpetua(db_url, "exceptions", "--open").output == "(no open exceptions)\n"
    not_one = perpetua(db_url, "exceptions", "approve", "E-x", "--reason", "lost", "--badge", "S1")
    assert not_one.exit_code == 2 and "give its number, as 12 or E-12" in not_one.output
