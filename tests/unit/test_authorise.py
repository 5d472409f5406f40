"""The ledger's who-may-do-what check (`authorise`, app/services/ledger.py) against a small
in-memory port, in milliseconds; tests/integration/test_rules_enforced.py runs the same rules
through `submit()` on both real databases."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import pytest

from app.domain.commands import Adjust, AdjustReason, Command, Receive, SetPolicy
from app.domain.errors import Reason, Rejection
from app.domain.model import Operator, Role, Station
from app.domain.rules import PinCheck, PinStatus, next_failure
from app.services.ledger import authorise

PEOPLE = {
    op.badge: op
    for op in (
        Operator(1, "D1", "Dana Dock", Role.DOCK, True),
        Operator(2, "C1", "Cam Counter", Role.COUNTER, True),
        Operator(3, "S1", "Sue Supervisor", Role.SUPERVISOR, True),
        Operator(4, "S2", "Sid Supervisor", Role.SUPERVISOR, True),
        Operator(5, "S9", "Old Supervisor", Role.SUPERVISOR, False),
    )
}


@dataclass
class MemoryWho:
    """Operators and PINs in memory, with the database's lockout rule (3 tries)."""

    pins: dict[str, str] = field(default_factory=lambda: {"S1": "123456", "S2": "567890"})
    failures: dict[str, int] = field(default_factory=dict)
    locked: set[str] = field(default_factory=set)

    def operator(self, badge: str) -> Operator | None:
        return PEOPLE.get(badge)

    def station(self, code: str) -> Station | None:
        return None

    def check_pin(self, badge: str, pin: str) -> PinCheck:
        if badge in self.locked:
            return PinCheck(PinStatus.LOCKED, locked_s=300)
        if self.pins.get(badge) == pin:
            return PinCheck(PinStatus.OK)
        failures, lock_s = next_failure(self.failures.get(badge, 0), 3, 300)
        self.failures[badge] = failures
        if lock_s:
            self.locked.add(badge)
        return PinCheck(PinStatus.WRONG, 3 - failures if not lock_s else 0, lock_s)


def adjust(operator: str = "C1", **extra: object) -> Adjust:
    return Adjust(
        tx_id=uuid.uuid4(),
        station="ST-1",
        operator=operator,
        sku="WIDGET",
        location="A-01-01",
        delta=-80,
        reason=AdjustReason.COUNT,
        **extra,  # type: ignore[arg-type]
    )


def refusal(command: Command, who: MemoryWho | None = None) -> tuple[str, str] | None:
    try:
        authorise(command, PEOPLE[command.operator], who or MemoryWho())
    except Rejection as refused:
        return refused.reason.value, refused.message
    return None


def test_a_role_outside_the_table_is_refused_with_who_may() -> None:
    receive = Receive(
        tx_id=uuid.uuid4(), station="ST-1", operator="C1", sku="W", qty=1, to_location="DOCK-1"
    )
    assert refusal(receive) == (
        Reason.NOT_ALLOWED.value,
        "Cam Counter (C1) is a counter and may not receive goods: a dock or supervisor must. "
        "Nothing was done.",
    )
    assert refusal(adjust()) is None  # a counter adjusts; the threshold is the handler's


@pytest.mark.parametrize(
    ("extra", "reason", "text"),
    [
        ({"approved_by": "S2"}, Reason.APPROVAL_REQUIRED, "the approval by S2 came without a PIN"),
        (
            {"approved_by": "D1", "approver_pin": "1"},
            Reason.NOT_ALLOWED,
            "not an active supervisor",
        ),
        (
            {"approved_by": "S9", "approver_pin": "1"},
            Reason.NOT_ALLOWED,
            "not an active supervisor",
        ),
        ({"approved_by": "S2", "approver_pin": "123456"}, Reason.PIN_REFUSED, "2 attempt(s) left"),
    ],
)
def test_an_approval_needs_an_active_supervisor_and_their_pin(
    extra: dict[str, str], reason: Reason, text: str
) -> None:
    found = refusal(adjust(**extra))
    assert found is not None and found[0] == reason.value and text in found[1], found
    assert refusal(adjust(approved_by="S2", approver_pin="567890")) is None


def test_the_third_wrong_pin_locks_and_the_right_one_is_then_refused_too() -> None:
    who = MemoryWho()
    for _ in range(3):
        refusal(adjust(approved_by="S2", approver_pin="000000"), who)
    found = refusal(adjust(approved_by="S2", approver_pin="567890"), who)
    assert found == (
        Reason.PIN_REFUSED.value,
        "badge S2 is locked after wrong PINs; try again in 300 s. Nothing was done.",
    )


def test_a_policy_change_is_the_supervisors_own_act_with_their_own_pin() -> None:
    def change(operator: str, pin: str) -> SetPolicy:
        return SetPolicy(
            tx_id=uuid.uuid4(),
            station="ST-1",
            operator=operator,
            key="count_units",
            value=2,
            approver_pin=pin,
        )

    assert refusal(change("S1", "123456")) is None
    assert refusal(change("S1", "567890")) == (
        Reason.PIN_REFUSED.value,
        "wrong PIN for badge S1; 2 attempt(s) left. Nothing was done.",
    )
    assert refusal(change("C1", "123456")) is not None
