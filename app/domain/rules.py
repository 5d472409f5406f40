"""Who may do what, and the checks every ledger transaction, station and import share.

Pure functions over values. The ledger (app/services/ledger.py) applies them to every command,
whoever sends it; the station applies the same ones to choose its screens and prompts, so a
rule is written once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from app.domain.commands import TxKind
from app.domain.interpret import StationMode
from app.domain.model import Operator, Role
from app.domain.workflow import MODES_BY_ROLE, Tolerance

PIN_MIN_DIGITS = 6
"""The fewest digits a PIN may have (the warehouse policy may ask for more)."""

PIN_MAX_DIGITS = 12

KINDS_BY_MODE: Mapping[StationMode, frozenset[TxKind]] = {
    StationMode.RECEIVE: frozenset({TxKind.RECEIVE, TxKind.CLOSE_RECEIPT}),
    StationMode.PUTAWAY: frozenset({TxKind.PUTAWAY, TxKind.HOLD_BIN}),
    StationMode.TRANSFER: frozenset({TxKind.TRANSFER}),
    StationMode.RETURN: frozenset({TxKind.RETURN, TxKind.SCRAP, TxKind.TRANSFER}),
    StationMode.SHIP: frozenset({TxKind.SHIP, TxKind.SHIP_ORDER, TxKind.CANCEL_ORDER}),
    StationMode.PICK: frozenset(
        {
            TxKind.TAKE_LIST,
            TxKind.RESERVE,
            TxKind.POST_PICK,
            TxKind.VOID,
            TxKind.RELEASE_LIST,
            TxKind.RAISE_COUNT,
        }
    ),
    StationMode.COUNT: frozenset({TxKind.ADJUST, TxKind.SAVE_COUNT, TxKind.RAISE_COUNT}),
}
"""The transactions each station mode makes."""

HOUSEKEEPING: frozenset[TxKind] = frozenset({TxKind.EXPIRE, TxKind.HOLD, TxKind.RELEASE_HOLD})
"""Transactions anyone may make: an expiry only gives back what ran out of time; a hold only
stops stock from moving (whoever finds damaged goods puts them on hold); a release carries a
supervisor's badge and PIN, verified whoever sends it."""


def _roles_by_kind() -> dict[TxKind, frozenset[Role]]:
    roles: dict[TxKind, set[Role]] = {kind: {Role.SUPERVISOR} for kind in TxKind}
    for role, modes in MODES_BY_ROLE.items():
        for mode in modes:
            for kind in KINDS_BY_MODE[mode]:
                roles[kind].add(role)
    for kind in HOUSEKEEPING:
        roles[kind] = set(Role)
    return {kind: frozenset(r) for kind, r in roles.items()}


ROLES_BY_KIND: Mapping[TxKind, frozenset[Role]] = _roles_by_kind()
"""Who may make each kind of transaction: the roles whose station modes make it (MODES_BY_ROLE,
the table the station shows its modes from), and supervisors, who may do everything."""


DOING: Mapping[TxKind, str] = {
    TxKind.RECEIVE: "receive goods",
    TxKind.PUTAWAY: "put goods away",
    TxKind.TRANSFER: "move stock between locations",
    TxKind.RESERVE: "reserve stock for an order",
    TxKind.POST_PICK: "pick",
    TxKind.VOID: "release a pick task",
    TxKind.EXPIRE: "expire pick tasks",
    TxKind.SHIP: "ship goods",
    TxKind.RETURN: "receive a return",
    TxKind.ADJUST: "adjust stock",
    TxKind.SCRAP: "scrap stock",
    TxKind.OPENING: "load opening stock",
    TxKind.TAKE_LIST: "take a pick list",
    TxKind.RELEASE_LIST: "let go of a pick list",
    TxKind.SHIP_ORDER: "ship an order",
    TxKind.CANCEL_ORDER: "cancel an order",
    TxKind.CLOSE_RECEIPT: "close a receipt",
    TxKind.RAISE_COUNT: "raise a count",
    TxKind.SAVE_COUNT: "save a count",
    TxKind.HOLD_BIN: "hold a bin for putaway",
    TxKind.SET_POLICY: "change the warehouse policy",
    TxKind.HOLD: "put stock on hold",
    TxKind.RELEASE_HOLD: "release held stock",
    TxKind.PLAN_COUNTS: "plan cycle counts",
    TxKind.ASSIGN_COUNT: "assign count tasks",
    TxKind.DECIDE: "decide an exception",
}
"""What each kind of transaction does, in the words of a refusal."""


def role_refusal(operator: Operator, kind: TxKind) -> str | None:
    """Why `operator` may not make a `kind` transaction, or None when they may."""
    allowed = ROLES_BY_KIND[kind]
    if operator.role in allowed:
        return None
    who = " or ".join(sorted(r.value for r in allowed))
    what = DOING[kind]
    return (
        f"{operator.name} ({operator.badge}) is a {operator.role.value} and may not {what}: "
        f"a {who} must"
    )


def supervisor_refusal(approver: Operator | None, badge: str, what: str) -> str | None:
    """Why the badge `badge` (found as `approver`) cannot approve `what`, or None."""
    if approver is None or approver.role is not Role.SUPERVISOR or not approver.active:
        return f"badge {badge!r} is not an active supervisor's: only a supervisor approves {what}"
    return None


def approver_refusal(
    approver: Operator | None, badge: str, operator: Operator, what: str
) -> str | None:
    """Why `approver` cannot approve `operator`'s `what`, or None: a supervisor, not themself."""
    refusal = supervisor_refusal(approver, badge, what)
    if refusal is None and approver is not None and approver.id == operator.id:
        return f"a supervisor may not approve their own {what}: another supervisor must"
    return refusal


def tolerance_text(tolerance: Tolerance) -> str:
    """ "1 unit or 5 %": a tolerance as a refusal names it."""
    units = "unit" if tolerance.units == 1 else "units"
    return f"{tolerance.units} {units} or {tolerance.percent} %"


def beyond(tolerance: Tolerance, expected: int, actual: int) -> bool:
    return not tolerance.allows(expected, actual)


def pin_problem(pin: str, min_digits: int = PIN_MIN_DIGITS) -> str | None:
    """Why `pin` cannot be a PIN, or None. ASCII digits only: a full-width or Arabic-Indic digit
    types differently on another keypad and would lock its owner out."""
    if not pin or any(c not in "0123456789" for c in pin):
        return "a PIN is made of the digits 0 to 9 only"
    if not min_digits <= len(pin) <= PIN_MAX_DIGITS:
        return f"a PIN has {min_digits} to {PIN_MAX_DIGITS} digits, not {len(pin)}"
    return None


class PinStatus(StrEnum):
    OK = "ok"
    WRONG = "wrong"
    LOCKED = "locked"
    NO_PIN = "no_pin"
    """No such active supervisor, or one without a PIN."""


@dataclass(frozen=True, slots=True)
class PinCheck:
    """What checking a PIN found. `left`: attempts before the badge locks (after WRONG);
    `locked_s`: seconds it stays locked (LOCKED, or WRONG that just locked it)."""

    status: PinStatus
    left: int = 0
    locked_s: int = 0

    @property
    def ok(self) -> bool:
        return self.status is PinStatus.OK


def pin_refusal(badge: str, check: PinCheck) -> str | None:
    """What to tell the user about a PIN check, or None when the PIN was right."""
    match check.status:
        case PinStatus.OK:
            return None
        case PinStatus.NO_PIN:
            return f"badge {badge} is not an active supervisor's with a PIN"
        case PinStatus.LOCKED:
            return f"badge {badge} is locked after wrong PINs; try again in {check.locked_s} s"
    if check.locked_s:
        return f"wrong PIN: badge {badge} is now locked for {check.locked_s} s"
    return f"wrong PIN for badge {badge}; {check.left} attempt(s) left"


def next_failure(failures: int, attempts: int, lockout_s: int) -> tuple[int, int]:
    """After one more wrong PIN: (the failures to store, seconds to lock for: 0 = not locked).
    The same rule runs in the PostgreSQL function `perpetua_check_pin` (migration 0007)."""
    failures += 1
    if failures >= attempts:
        return 0, lockout_s
    return failures, 0
