"""The rules every ledger transaction is checked against, as pure functions (app/domain/rules.py,
app/domain/policy.py): milliseconds, beside the real-database tests of T12."""

from __future__ import annotations

import pytest

from app.domain.commands import TxKind
from app.domain.model import Operator, Role
from app.domain.policy import KEYS, PolicyError, WarehousePolicy, parse
from app.domain.rules import (
    KINDS_BY_MODE,
    ROLES_BY_KIND,
    PinCheck,
    PinStatus,
    approver_refusal,
    next_failure,
    pin_problem,
    pin_refusal,
    role_refusal,
)
from app.domain.workflow import MODES_BY_ROLE

DANA = Operator(1, "D1", "Dana Dock", Role.DOCK, True)
PAT = Operator(2, "P1", "Pat Picker", Role.PICKER, True)
SUE = Operator(3, "S1", "Sue Supervisor", Role.SUPERVISOR, True)
SID = Operator(4, "S2", "Sid Supervisor", Role.SUPERVISOR, True)


def test_the_roles_follow_the_station_modes_and_supervisors_may_do_everything() -> None:
    assert ROLES_BY_KIND[TxKind.RECEIVE] == {Role.DOCK, Role.SUPERVISOR}
    assert ROLES_BY_KIND[TxKind.ADJUST] == {Role.COUNTER, Role.SUPERVISOR}
    assert ROLES_BY_KIND[TxKind.POST_PICK] == {Role.PICKER, Role.SUPERVISOR}
    assert ROLES_BY_KIND[TxKind.SET_POLICY] == {Role.SUPERVISOR}
    assert ROLES_BY_KIND[TxKind.OPENING] == {Role.SUPERVISOR}
    assert all(Role.SUPERVISOR in roles for roles in ROLES_BY_KIND.values())
    for role, modes in MODES_BY_ROLE.items():  # what a role's screens make, it may make
        assert all(role in ROLES_BY_KIND[k] for m in modes for k in KINDS_BY_MODE[m])


def test_a_refusal_names_who_may() -> None:
    assert role_refusal(DANA, TxKind.RECEIVE) is None
    assert role_refusal(PAT, TxKind.RECEIVE) == (
        "Pat Picker (P1) is a picker and may not receive goods: a dock or supervisor must"
    )


def test_an_approver_is_another_active_supervisor() -> None:
    assert approver_refusal(SID, "S2", SUE, "adjustment") is None
    assert approver_refusal(SUE, "S1", SUE, "adjustment") == (
        "a supervisor may not approve their own adjustment: another supervisor must"
    )
    assert "not an active supervisor's" in (approver_refusal(PAT, "P1", SUE, "x") or "")
    assert "not an active supervisor's" in (approver_refusal(None, "NOBODY", SUE, "x") or "")


@pytest.mark.parametrize(
    ("pin", "problem"),
    [
        ("123456", None),
        ("12345", "a PIN has 6 to 12 digits, not 5"),
        ("١٢٣٤٥٦", "a PIN is made of the digits 0 to 9 only"),
        ("１２３４５６", "a PIN is made of the digits 0 to 9 only"),
        ("12345\u200b6", "a PIN is made of the digits 0 to 9 only"),
        ("", "a PIN is made of the digits 0 to 9 only"),
    ],
)
def test_a_pin_is_ascii_digits_of_the_policys_length(pin: str, problem: str | None) -> None:
    assert pin_problem(pin) == problem


def test_wrong_pins_lock_the_badge_at_the_policys_count() -> None:
    assert next_failure(0, 3, 300) == (1, 0)
    assert next_failure(1, 3, 300) == (2, 0)
    assert next_failure(2, 3, 300) == (0, 300)
    assert pin_refusal("S1", PinCheck(PinStatus.OK)) is None
    assert pin_refusal("S1", PinCheck(PinStatus.WRONG, 0, 300)) == (
        "wrong PIN: badge S1 is now locked for 300 s"
    )


def test_the_policy_parses_only_whole_numbers_in_range() -> None:
    assert parse("count_units", "3") == 3
    with pytest.raises(PolicyError, match="not a policy key"):
        parse("count", "3")
    with pytest.raises(PolicyError, match="from 6 to 12, not 4"):
        parse("pin_min_digits", "4")
    with pytest.raises(PolicyError, match="whole number"):
        parse("count_units", "٣")
    assert {k.name for k in KEYS} == set(WarehousePolicy().values())
    assert WarehousePolicy.from_values({"adjust_units": "7", "future_key": 1}).adjust.units == 7
