"""Supervisor approval at a station (RELIABILITY.md promise 9): a supervisor's badge, then their
PIN on the keypad. Used for over- and under-receipts beyond tolerance, count variances beyond a
recount, and logging out with transactions still queued.

`PinGuard` is station-wide: after `pin_attempts` wrong PINs a badge is locked out for
`lockout_seconds`, whichever workflow asked. `Approval` is the two-step exchange inside one
workflow; nobody approves their own work.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from app.domain.interpret import Interpretation, Kind
from app.domain.model import Role
from app.domain.rules import PinStatus
from app.domain.workflow import (
    Entry,
    Feedback,
    Reply,
    StationData,
    StationPolicy,
    error,
    warning,
)


@dataclass
class PinGuard:
    """Checks supervisor PINs where the station's data says (the database, which counts wrong
    attempts and locks a badge for every station and process at once; or, offline, the
    station's copy), and says what happened in words."""

    data: StationData
    policy: StationPolicy
    clock: Callable[[], float] = time.monotonic
    _locked_until: dict[str, float] = field(default_factory=dict)

    def locked(self, badge: str) -> float:
        """Seconds the badge stays locked out (0 when it is not), as last heard."""
        return max(0.0, self._locked_until.get(badge, 0.0) - self.clock())

    def check(self, badge: str, pin: str) -> str | None:
        """None when the PIN is right; otherwise what to tell the user."""
        result = self.data.check_pin(badge, pin)
        if result.locked_s:
            self._locked_until[badge] = self.clock() + result.locked_s
        match result.status:
            case PinStatus.OK:
                self._locked_until.pop(badge, None)
                return None
            case PinStatus.LOCKED:
                return (
                    f"Badge {badge} is locked after wrong PINs; try again in {result.locked_s} s."
                )
            case PinStatus.NO_PIN:
                return f"Badge {badge} has no supervisor's PIN here. Ask another supervisor."
        if result.locked_s:
            return (
                f"Wrong PIN {self.policy.pin_attempts} times: badge {badge} is locked for "
                f"{result.locked_s} s."
            )
        return f"Wrong PIN for badge {badge}; {result.left} attempt(s) left. Enter the PIN again."


@dataclass(frozen=True, slots=True)
class Approved:
    supervisor: str
    pin: str = field(repr=False)
    """The supervisor's PIN, for the ledger to verify again with the transaction it approves."""


@dataclass
class Approval:
    """Asks for a supervisor's badge, then PIN. `on_scan`/`on_entry` return a Reply to show while
    the exchange goes on, or `Approved` once it succeeded."""

    data: StationData
    pins: PinGuard
    what: str
    """What is being approved, for the prompt: "receiving 12 over the expected 100"."""
    not_by: frozenset[str] = frozenset()
    """Badges that may not approve (the operator whose work it is)."""
    lines: tuple[str, ...] = ()
    badge: str | None = None

    def prompt(self) -> Reply:
        if self.badge is None:
            return Reply(
                f"Supervisor: scan your badge to approve {self.what}. CANCEL to go back.",
                lines=self.lines,
            )
        return Reply(
            f"Supervisor {self.badge}: enter your PIN on the keypad.",
            entry=Entry.PIN,
            lines=self.lines,
        )

    def on_scan(self, scan: Interpretation) -> Reply | Approved:
        if scan.kind is not Kind.BADGE or scan.code is None:
            return self._again(error("A supervisor's badge is needed here, not that scan."))
        operator = self.data.operator(scan.code)
        if operator is None or not operator.active or operator.role is not Role.SUPERVISOR:
            return self._again(error(f"Badge {scan.code} is not an active supervisor's badge."))
        if operator.badge in self.not_by:
            return self._again(
                error(f"{operator.badge} cannot approve their own work: another supervisor must.")
            )
        self.badge = operator.badge
        return self.prompt()

    def on_entry(self, text: str) -> Reply | Approved:
        if self.badge is None:
            return self._again(error("Scan the supervisor's badge first, then enter the PIN."))
        problem = self.pins.check(self.badge, text)
        if problem is None:
            return Approved(self.badge, text)
        if self.pins.locked(self.badge):
            self.badge = None
        return self._again(warning(problem) if self.badge else error(problem))

    def _again(self, feedback: Feedback) -> Reply:
        reply = self.prompt()
        return Reply(reply.prompt, feedback=feedback, lines=reply.lines, entry=reply.entry)
