"""The station's top-level state machine: who is logged in, which mode they work in, and the
workflow of that mode (DESIGN.md section 5).

Logged out, a station takes only badges: an operator's badge logs them in; a supervisor's badge
also needs their PIN on the keypad. Logged in, `@CMD:MODE:<mode>` switches to a mode the role
allows, `@CMD:LOGOUT` signs out (with transactions still queued in the outbox, only after a
supervisor's approval: RELIABILITY.md promise 7), `@CMD:HOLD` puts a location or lot on hold from
any mode (workflows/hold.py), `@CMD:LOOKUP` shows what a location holds or where an item stands
from any mode until DONE or CANCEL (workflows/lookup.py), and every other scan goes to the
workflow. Refused scans never
reach a workflow: the shift repeats the current prompt with the refusal. An operator whose badge
was deactivated while logged in is logged out at their next input, or when the ledger refuses
their transaction for it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence

from app.domain.approval import Approval, Approved, PinGuard
from app.domain.commands import Command, Hold
from app.domain.errors import Reason
from app.domain.interpret import CommandName, Interpretation, Kind, StationMode
from app.domain.ledger import Outcome
from app.domain.model import Operator, Role
from app.domain.workflow import (
    MODES_BY_ROLE,
    Entry,
    Feedback,
    Reply,
    StationData,
    StationInfo,
    StationPolicy,
    TagRead,
    WorkContext,
    Workflow,
    error,
    ok,
    warning,
)
from app.domain.workflows.common import describe
from app.domain.workflows.hold import HoldStep, hold_answer
from app.domain.workflows.lookup import LookupStep

WorkflowFactory = Callable[[WorkContext], Workflow]

LOGIN_PROMPT = "Scan your badge to log in."


class Shift:
    """One station's session of work: login, mode, logout, and the current workflow."""

    def __init__(
        self,
        station: StationInfo,
        data: StationData,
        policy: StationPolicy | None,
        workflows: Mapping[StationMode, WorkflowFactory],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.station = station
        self._data = data
        self._policy = policy
        self._workflows = workflows
        self.pins = PinGuard(data, policy or StationPolicy(), clock)
        self.operator: Operator | None = None
        self.workflow: Workflow | None = None
        self._pending_login: Operator | None = None
        self._logout_approval: Approval | None = None
        self._ack_approval: Approval | None = None
        self._hold: HoldStep | None = None
        self._lookup: LookupStep | None = None
        self._holds: dict[uuid.UUID, Hold] = {}
        """Holds sent and not answered yet."""
        self.exceptions = 0
        """Transactions refused after an outage and not yet acknowledged (the session's count)."""
        self.acknowledged: str | None = None
        """The supervisor who just acknowledged them: the session records it and clears it."""
        self.last = Reply(LOGIN_PROMPT)
        self._before_logout = self.last
        self._before_hold = self.last
        self._before_lookup = self.last

    # --- what the screen shows ---

    @property
    def mode(self) -> StationMode | None:
        return self.workflow.mode if self.workflow is not None else None

    @property
    def modes(self) -> tuple[StationMode, ...]:
        if self.operator is None:
            return ()
        return tuple(m for m in MODES_BY_ROLE[self.operator.role] if m in self._workflows)

    @property
    def busy(self) -> bool:
        if self._hold is not None or self._lookup is not None:
            return True
        return self.workflow is not None and self.workflow.busy

    # --- inputs ---

    def start(self) -> Reply:
        return self._show(Reply(LOGIN_PROMPT))

    def refuse(self, scan: Interpretation) -> Reply:
        """A scan the interpreter refused: the same prompt again, with why."""
        gone = self._deactivated()
        if gone is not None:
            return self._show(gone)
        return self.again(error(scan.error or f"Scanned {describe(scan)}: not accepted."))

    def on_scan(self, scan: Interpretation, queue_depth: int) -> Reply:
        if not scan.accepted:
            return self.refuse(scan)
        gone = self._deactivated()
        if gone is not None:
            return self._show(gone)
        if self._ack_approval is not None:
            return self._show(self._ack_step(self._ack_approval.on_scan(scan), scan))
        if scan.kind is Kind.COMMAND and scan.command is CommandName.ACK:
            return self._show(self._ack())
        if self.operator is None:
            return self._show(self._login_scan(scan))
        if self._logout_approval is not None:
            return self._show(self._logout_step(self._logout_approval.on_scan(scan), scan))
        if self._hold is not None:
            return self._show(self._hold_step(self._hold, scan))
        if self._lookup is not None:
            return self._show(self._lookup_step(self._lookup, scan))
        if scan.kind is Kind.COMMAND and scan.command is CommandName.LOGOUT:
            return self._show(self._logout(queue_depth))
        if scan.kind is Kind.COMMAND and scan.command is CommandName.MODE:
            return self._show(self._switch(StationMode(scan.command_arg or "")))
        if scan.kind is Kind.COMMAND and scan.command is CommandName.HOLD:
            return self._show(self._start_hold())
        if scan.kind is Kind.COMMAND and scan.command is CommandName.LOOKUP:
            return self._show(self._start_lookup())
        assert self.workflow is not None
        if scan.kind is Kind.BADGE and not self.workflow.wants_badge:
            if scan.code == self.operator.badge:
                return self.again(ok(f"{self.operator.name} is logged in here."))
            return self.again(
                error(
                    f"Scanned badge {scan.code} while {self.operator.name} is logged in. "
                    "Scan LOGOUT first, then the new badge."
                )
            )
        return self._show(self.workflow.on_scan(scan))

    def on_tags(self, tags: Sequence[TagRead]) -> Reply:
        gone = self._deactivated()
        if gone is not None:
            return self._show(gone)
        if self.workflow is None or self._logout_approval is not None:
            return self.again(error(f"{len(tags)} RFID tag(s) read: log in first."))
        if self._hold is not None:
            return self._show(self._hold.refuse_input(f"{len(tags)} RFID tag(s) read: that"))
        if self._lookup is not None:
            return self._show(self._lookup.refuse_input(f"{len(tags)} RFID tag(s) read: that"))
        return self._show(self.workflow.on_tags(tags))

    def on_entry(self, text: str) -> Reply:
        gone = self._deactivated()
        if gone is not None:
            return self._show(gone)
        if self._ack_approval is not None:
            return self._show(self._ack_step(self._ack_approval.on_entry(text), None))
        if self._pending_login is not None:
            return self._show(self._login_pin(self._pending_login, text))
        if self._logout_approval is not None:
            return self._show(self._logout_step(self._logout_approval.on_entry(text), None))
        if self.workflow is None:
            return self.again(error("Scan your badge first; the keypad is for PINs after that."))
        if self._hold is not None:
            return self._show(self._hold.refuse_input("The keypad"))
        if self._lookup is not None:
            return self._show(self._lookup.refuse_input("The keypad"))
        return self._show(self.workflow.on_entry(text))

    def on_outcome(self, command: Command, outcome: Outcome | None) -> Reply:
        operator = self.operator
        if (
            operator is not None
            and outcome is not None
            and outcome.reason == Reason.INACTIVE_OPERATOR.value
            and command.operator == operator.badge
        ):
            self._holds.pop(command.tx_id, None)
            kind = command.kind.value.replace("_", " ")
            return self._show(
                self._signed_out(
                    f"The {kind} was refused: {outcome.message}. Badge {operator.badge} was "
                    "deactivated: logged out. Ask a supervisor.",
                    mid_task=False,
                )
            )
        hold = self._holds.pop(command.tx_id, None)
        if hold is not None:
            return self.again(hold_answer(hold, outcome))
        if self.workflow is None:
            return self.last
        reply = self.workflow.on_outcome(command, outcome)
        if self._lookup is not None:
            # The answer comes during a lookup: the lookup stays on screen with its feedback
            # (and any transactions it asks for); DONE goes back to the workflow's new step.
            self._before_lookup = Reply(reply.prompt, None, (), reply.lines, reply.entry)
            shown = self.last
            return self._show(
                Reply(shown.prompt, reply.feedback, reply.commands, shown.lines, shown.entry)
            )
        return self._show(reply)

    # --- login and logout ---

    def _login_scan(self, scan: Interpretation) -> Reply:
        if scan.kind is Kind.COMMAND and scan.command is CommandName.CANCEL:
            self._pending_login = None
            return Reply(LOGIN_PROMPT)
        if scan.kind is not Kind.BADGE or scan.code is None:
            return Reply(
                LOGIN_PROMPT, error(f"Scanned {describe(scan)}. Log in first: {LOGIN_PROMPT}")
            )
        operator = self._data.operator(scan.code)
        if operator is None or not operator.active:
            return Reply(
                LOGIN_PROMPT,
                error(f"Badge {scan.code} is not an active operator's badge. Ask a supervisor."),
            )
        if operator.role is Role.SUPERVISOR:
            self._pending_login = operator
            return Reply(f"{operator.name}: enter your PIN on the keypad.", entry=Entry.PIN)
        return self._login(operator)

    def _login_pin(self, operator: Operator, pin: str) -> Reply:
        problem = self.pins.check(operator.badge, pin)
        if problem is None:
            self._pending_login = None
            return self._login(operator)
        if self.pins.locked(operator.badge):
            self._pending_login = None
            return Reply(LOGIN_PROMPT, error(problem))
        return Reply(
            f"{operator.name}: enter your PIN on the keypad.", warning(problem), entry=Entry.PIN
        )

    def _login(self, operator: Operator) -> Reply:
        self.operator = operator
        mode = self.modes[0]
        self.workflow = self._workflows[mode](self._context(operator))
        first = self.workflow.start()
        return _with(first, ok(f"Logged in: {operator.name}. Mode: {mode.value}."))

    def _logout(self, queue_depth: int) -> Reply:
        assert self.operator is not None
        if queue_depth > 0:
            self._before_logout = self.last
            self._logout_approval = Approval(
                self._data,
                self.pins,
                f"logging out with {queue_depth} transaction(s) still queued",
                not_by=frozenset({self.operator.badge}),
            )
            return _with(
                self._logout_approval.prompt(),
                warning(
                    f"{queue_depth} transaction(s) are still queued for the database. "
                    "A supervisor must approve logging out."
                ),
            )
        return self._logged_out(None)

    def _logout_step(self, step: Reply | Approved, scan: Interpretation | None) -> Reply:
        if scan is not None and scan.kind is Kind.COMMAND and scan.command is CommandName.CANCEL:
            self._logout_approval = None
            return self._resume(warning("Logout cancelled."))
        if isinstance(step, Approved):
            self._logout_approval = None
            return self._logged_out(step.supervisor)
        return step

    def _logged_out(self, approved_by: str | None) -> Reply:
        assert self.operator is not None
        name = self.operator.name
        note = ""
        if self.busy:
            note = " The unfinished task was abandoned; nothing of it was sent."
        if approved_by:
            note += f" Queued transactions stay in the outbox (approved by {approved_by})."
        self._sign_out()
        return Reply(LOGIN_PROMPT, ok(f"Logged out: {name}.{note}"))

    def _deactivated(self) -> Reply | None:
        """Logged out when the logged-in operator's badge is no longer active (a supervisor
        deactivated it; the station's copy has it): None while it is."""
        if self.operator is None:
            return None
        now = self._data.operator(self.operator.badge)
        if now is not None and now.active:
            return None
        return self._signed_out(
            f"Badge {self.operator.badge} was deactivated: logged out. Ask a supervisor."
        )

    def _signed_out(self, text: str, mid_task: bool = True) -> Reply:
        """Logged out without asking: the operator may no longer work here. `mid_task`: say
        so when a task was under way (not when its own transaction was just refused)."""
        if mid_task and self.busy:
            text += " The unfinished task was abandoned; nothing of it was sent."
        self._sign_out()
        return Reply(LOGIN_PROMPT, error(text))

    def _sign_out(self) -> None:
        self.operator, self.workflow = None, None
        self._hold, self._logout_approval, self._ack_approval = None, None, None
        self._lookup = None

    # --- exceptions: transactions refused after an outage ---

    def _ack(self) -> Reply:
        if self.exceptions == 0:
            return _with(self.last, ok("Nothing to acknowledge: no transaction was refused."))
        self._before_logout = self.last
        self._ack_approval = Approval(
            self._data,
            self.pins,
            f"acknowledging {self.exceptions} transaction(s) refused after the outage",
            not_by=frozenset(),
        )
        return self._ack_approval.prompt()

    def _ack_step(self, step: Reply | Approved, scan: Interpretation | None) -> Reply:
        if scan is not None and scan.kind is Kind.COMMAND and scan.command is CommandName.CANCEL:
            self._ack_approval = None
            return self._resume(warning("Not acknowledged: the refused transactions stay shown."))
        if isinstance(step, Approved):
            self._ack_approval = None
            self.acknowledged = step.supervisor
            return self._resume(
                ok(f"{self.exceptions} refused transaction(s) acknowledged by {step.supervisor}.")
            )
        return step

    # --- holds: @CMD:HOLD from any mode ---

    def _start_hold(self) -> Reply:
        assert self.operator is not None
        self._before_hold = self.last
        self._hold = HoldStep(self._data, self.station.code, self.operator.badge)
        return self._hold.prompt()

    def _hold_step(self, hold: HoldStep, scan: Interpretation) -> Reply:
        if scan.kind is Kind.COMMAND and scan.command is CommandName.CANCEL:
            self._hold = None
            return _resumed(self._before_hold, warning("Hold cancelled: nothing was put on hold."))
        step = hold.on_scan(scan)
        if isinstance(step, Reply):
            return step
        self._hold = None
        assert isinstance(step, Hold)
        self._holds[step.tx_id] = step
        before = self._before_hold
        return Reply(before.prompt, None, (step,), before.lines, before.entry)

    # --- stock lookup: @CMD:LOOKUP from any mode ---

    def _start_lookup(self) -> Reply:
        assert self.operator is not None
        self._before_lookup = self.last
        self._lookup = LookupStep(self._context(self.operator))
        return self._lookup.prompt()

    def _lookup_step(self, lookup: LookupStep, scan: Interpretation) -> Reply:
        if scan.kind is Kind.COMMAND and scan.command in (CommandName.CANCEL, CommandName.DONE):
            self._lookup = None
            return _resumed(self._before_lookup, ok("Lookup closed: nothing was changed."))
        return lookup.on_scan(scan)

    # --- modes ---

    def _switch(self, mode: StationMode) -> Reply:
        assert self.operator is not None
        if mode not in self.modes:
            allowed = ", ".join(m.value for m in self.modes)
            return _with(
                self.last,
                error(
                    f"{self.operator.name} ({self.operator.role.value}) may not work in "
                    f"{mode.value} mode; allowed: {allowed}."
                ),
            )
        abandoned = self.busy
        self.workflow = self._workflows[mode](self._context(self.operator))
        first = self.workflow.start()
        if abandoned:
            return _with(first, warning(f"Mode: {mode.value}. The unfinished task was abandoned."))
        return _with(first, ok(f"Mode: {mode.value}."))

    def _context(self, operator: Operator) -> WorkContext:
        # The warehouse policy as the station's copy has it now (None: the database's, read at
        # each login and mode change, so a change reaches every station within a refresh).
        policy = self._policy or self._data.policy()
        self.pins.policy = policy
        return WorkContext(self.station, operator, policy, self._data, self.pins)

    # --- replies ---

    def _show(self, reply: Reply) -> Reply:
        self.last = reply
        return reply

    def again(self, feedback: Feedback) -> Reply:
        """The current prompt again, with new feedback and no commands."""
        return self._show(
            _with(Reply(self.last.prompt, None, (), self.last.lines, self.last.entry), feedback)
        )

    def _resume(self, feedback: Feedback) -> Reply:
        """Back to where the operator was before asking to log out."""
        return _resumed(self._before_logout, feedback)


def _resumed(before: Reply, feedback: Feedback) -> Reply:
    """`before`'s prompt, lines and keypad again (without its commands), with `feedback`."""
    return _with(Reply(before.prompt, None, (), before.lines, before.entry), feedback)


def _with(reply: Reply, feedback: Feedback) -> Reply:
    """`reply` with `feedback`, unless it already carries more important feedback."""
    if reply.feedback is not None and _rank(reply.feedback) >= _rank(feedback):
        return reply
    return Reply(reply.prompt, feedback, reply.commands, reply.lines, reply.entry)


def _rank(feedback: Feedback) -> int:
    return ("ok", "warning", "error").index(feedback.level.value)
