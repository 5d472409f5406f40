"""T12: roles, thresholds, approvals and lockout enforced by the ledger itself, through
`submit()` with no station code in between, and across processes (issue 11).

A command is built as an attacker would build one: any operator, any approver, with or without a
PIN. The refusal a user would read is asserted, and that nothing moved.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine

from app.adapters.db import authority
from app.adapters.db.replica_source import Source
from app.adapters.replica import Replica
from app.domain.commands import Adjust, AdjustReason, Putaway, Receive, Scrap, SetPolicy
from app.domain.errors import Reason
from app.domain.ledger import Outcome
from app.domain.rules import PinStatus
from tests.support.warehouse import Warehouse


def stock_92(w: Warehouse) -> None:
    assert w.run(Receive, sku="WIDGET", qty=92, to_location="DOCK-1").ok
    assert w.run(Putaway, sku="WIDGET", qty=92, from_location="DOCK-1", to_location="A-01-01").ok


def refused(outcome: Outcome, reason: Reason, text: str) -> None:
    assert not outcome.ok, outcome.message
    assert outcome.reason == reason.value, (outcome.reason, outcome.message)
    assert text in outcome.message, outcome.message


def test_a_role_may_only_make_its_own_transactions(warehouse: Warehouse) -> None:
    w = warehouse
    refused(
        w.run(Receive, sku="WIDGET", qty=5, to_location="DOCK-1", operator="P1"),
        Reason.NOT_ALLOWED,
        "Pat Picker (P1) is a picker and may not receive goods: a dock or supervisor must",
    )
    stock_92(w)
    refused(
        w.run(Scrap, sku="WIDGET", qty=5, from_location="A-01-01", reason="x", operator="P1"),
        Reason.NOT_ALLOWED,
        "may not scrap stock: a dock or supervisor must",
    )
    refused(
        w.run(
            Adjust,
            sku="WIDGET",
            location="A-01-01",
            delta=-1,
            reason=AdjustReason.COUNT,
            operator="D1",
        ),
        Reason.NOT_ALLOWED,
        "Dana Dock (D1) is a dock and may not adjust stock: a counter or supervisor must",
    )
    assert w.on_hand("A-01-01", "WIDGET") == 92


def adjust(w: Warehouse, delta: int, **extra: object) -> Outcome:
    return w.run(
        Adjust,
        sku="WIDGET",
        location="A-01-01",
        delta=delta,
        reason=AdjustReason.COUNT,
        operator="C1",
        **extra,
    )


def test_an_adjustment_beyond_the_threshold_needs_a_supervisor_with_the_pin(
    warehouse: Warehouse,
) -> None:
    w = warehouse
    stock_92(w)
    beyond = "is beyond the tolerance (1 unit or 5 %): a supervisor must approve it"
    refused(
        adjust(w, -80), Reason.APPROVAL_REQUIRED, "-80 WIDGET in A-01-01, where the ledger holds 92"
    )
    refused(adjust(w, 1_000_000), Reason.APPROVAL_REQUIRED, beyond)
    refused(
        adjust(w, -80, approved_by="S2", approver_pin=None),
        Reason.APPROVAL_REQUIRED,
        "the approval by S2 came without a PIN",
    )
    refused(
        adjust(w, -80, approved_by="S2", approver_pin="000000"),
        Reason.PIN_REFUSED,
        "wrong PIN for badge S2; 2 attempt(s) left",
    )
    refused(
        adjust(w, -80, approved_by="P1", approver_pin="123456"),
        Reason.NOT_ALLOWED,
        "badge 'P1' is not an active supervisor's",
    )
    assert w.on_hand("A-01-01", "WIDGET") == 92
    assert adjust(w, -4).ok  # within 5 % of 92: no approval needed
    assert adjust(w, -80, approved_by="S2").ok  # the right PIN, verified by the database
    assert w.on_hand("A-01-01", "WIDGET") == 8


def test_nobody_approves_their_own_work(warehouse: Warehouse) -> None:
    w = warehouse
    stock_92(w)
    outcome = w.run(
        Adjust,
        sku="WIDGET",
        location="A-01-01",
        delta=-50,
        reason=AdjustReason.LOST,
        operator="S1",
        approved_by="S1",
    )
    refused(outcome, Reason.NOT_ALLOWED, "a supervisor may not approve their own adjustment")


def test_the_policy_is_the_databases_and_changing_it_takes_a_supervisors_pin(
    warehouse: Warehouse,
) -> None:
    w = warehouse
    stock_92(w)
    refused(adjust(w, -10), Reason.APPROVAL_REQUIRED, "beyond the tolerance (1 unit or 5 %)")
    refused(
        w.run(SetPolicy, key="adjust_units", value=10, operator="C1", approver_pin="123456"),
        Reason.NOT_ALLOWED,
        "Cam Counter (C1) is a counter and may not change the warehouse policy: a supervisor must",
    )
    refused(
        w.run(SetPolicy, key="adjust_units", value=10, operator="S1", approver_pin="999999"),
        Reason.PIN_REFUSED,
        "wrong PIN for badge S1",
    )
    refused(
        w.run(SetPolicy, key="adjust_units", value=-3, operator="S1", approver_pin="123456"),
        Reason.BAD_INPUT,
        "adjust_units is a whole number from 0 to 1000000, not '-3'",
    )
    changed = w.run(SetPolicy, key="adjust_units", value=10, operator="S1", approver_pin="123456")
    assert changed.ok and changed.message == "policy adjust_units set to 10 (was 1) by S1"
    assert adjust(w, -10).ok
    with w.engine.connect() as c:
        assert authority.policy(c).adjust_units == 10


def perpetua(url: str, *args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PERPETUA_CONFIG": os.devnull}
    return subprocess.run(
        [sys.executable, "-m", "app", "--db", url, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_a_lockout_holds_for_every_process_and_for_the_offline_copy(
    warehouse: Warehouse, db_url: str, engine: Engine, tmp_path: Path
) -> None:
    """Three wrong PINs, each from its own process, lock the badge in the database: a fourth
    process with the right PIN is refused, and so is a station working from its copy."""
    change = ("policy", "set", "count_units", "2", "--badge", "S1", "--station", "ST-1")
    for left in ("2 attempt(s) left", "1 attempt(s) left", "is now locked for 300 s"):
        run = perpetua(db_url, *change, stdin="000000\n")
        assert run.returncode == 1 and left in run.stderr, run.stderr
    run = perpetua(db_url, *change, stdin="123456\n")
    assert run.returncode == 1
    assert "badge S1 is locked after wrong PINs; try again in" in run.stderr
    with engine.connect() as c:
        assert authority.policy(c).count_units == 1

    replica = Replica(tmp_path / "replica.sqlite")
    try:
        replica.refresh(Source(engine), "ST-1")
        assert replica.check_pin("S1", "123456").status is PinStatus.LOCKED
        assert replica.check_pin("S2", "567890").ok
    finally:
        replica.close()


@pytest.mark.parametrize("pin", ["12345", "١٢٣٤٥٦", "12 3456", "１２３４５６"])
def test_a_pin_is_six_ascii_digits_at_least(warehouse: Warehouse, pin: str, db_url: str) -> None:
    run = perpetua(db_url, "operators", "set-pin", "S1", stdin=f"{pin}\n")
    assert run.returncode == 1
    assert "a PIN" in run.stderr and "nothing was changed" in run.stderr, run.stderr
