"""The station's top-level machine: badge login (supervisors with a PIN), PIN lockout, modes by
role, refused scans, and logout that needs a supervisor while transactions are queued."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace

from app.domain.commands import Command, Hold
from app.domain.interpret import CommandName, Interpretation, Kind, StationMode
from app.domain.ledger import Outcome, Status
from app.domain.scan import Scan, Source
from app.domain.shift import LOGIN_PROMPT, Shift
from app.domain.workflow import Level, Reply, StationPolicy, TagRead, WorkContext, ok
from tests.support.fake_station import STATION, FakeStationData, meaning


class EchoWorkflow:
    """A stand-in mode that says what it got: the shift's own behaviour is under test here."""

    def __init__(self, ctx: WorkContext, mode: StationMode) -> None:
        self.mode = mode
        self.ctx = ctx
        self.busy = False
        self.wants_badge = False

    def start(self) -> Reply:
        return Reply(f"{self.mode.value}: scan something")

    def on_scan(self, scan: Interpretation) -> Reply:
        self.busy = True
        return Reply(f"{self.mode.value}: got {scan.kind.value}", ok("taken"))

    def on_tags(self, tags: Sequence[TagRead]) -> Reply:
        return Reply(f"{len(tags)} tags")

    def on_entry(self, text: str) -> Reply:
        return Reply(f"keypad {text}")

    def on_outcome(self, command: Command, outcome: Outcome | None) -> Reply:
        return Reply("answered")


def make_shift(
    policy: StationPolicy | None = None,
    now: list[float] | None = None,
    data: FakeStationData | None = None,
) -> Shift:
    clock = now or [0.0]
    workflows = {mode: (lambda ctx, m=mode: EchoWorkflow(ctx, m)) for mode in StationMode}
    policy = policy or StationPolicy()
    # The fake database keeps the lockout, as the real one does, on the same clock.
    data = data or FakeStationData(station_policy=policy, pin_clock=lambda: clock[0])
    return Shift(STATION, data, policy, workflows, lambda: clock[0])


def badge(code: str) -> Interpretation:
    return meaning(Kind.BADGE, code=code)


def command(name: CommandName, arg: str | None = None) -> Interpretation:
    return meaning(Kind.COMMAND, command=name, command_arg=arg)


def test_an_operator_logs_in_with_a_badge_into_the_first_mode_of_the_role() -> None:
    shift = make_shift()
    assert shift.start().prompt == LOGIN_PROMPT
    reply = shift.on_scan(badge("P001"), 0)
    assert shift.operator is not None and shift.operator.name == "Pat Picker"
    assert shift.mode is StationMode.PICK
    assert shift.modes == (StationMode.PICK, StationMode.TRANSFER)
    assert reply.feedback is not None and "Logged in: Pat Picker" in reply.feedback.text


def test_only_a_badge_is_taken_while_logged_out() -> None:
    shift = make_shift()
    reply = shift.on_scan(meaning(Kind.LOCATION, code="A-01"), 0)
    assert reply.prompt == LOGIN_PROMPT
    assert reply.feedback is not None and reply.feedback.level is Level.ERROR
    assert "location A-01" in reply.feedback.text
    unknown = shift.on_scan(badge("X999"), 0)
    assert unknown.feedback is not None and "not an active operator" in unknown.feedback.text
    assert shift.operator is None


def test_a_supervisor_needs_the_pin_and_is_locked_out_after_wrong_ones() -> None:
    now = [100.0]
    shift = make_shift(StationPolicy(pin_attempts=3, lockout_seconds=60), now)
    asked = shift.on_scan(badge("S001"), 0)
    assert asked.entry is not None and asked.entry.value == "pin"
    assert shift.operator is None
    for left in (2, 1):
        wrong = shift.on_entry("0000")
        assert wrong.feedback is not None and f"{left} attempt(s) left" in wrong.feedback.text
    locked = shift.on_entry("0000")
    assert locked.feedback is not None and "locked for 60 s" in locked.feedback.text
    assert locked.prompt == LOGIN_PROMPT
    shift.on_scan(badge("S001"), 0)
    still = shift.on_entry("123456")
    assert shift.operator is None
    assert still.feedback is not None and "locked" in still.feedback.text
    now[0] += 61
    shift.on_scan(badge("S001"), 0)
    shift.on_entry("123456")
    assert shift.operator is not None and shift.operator.badge == "S001"
    assert shift.modes == tuple(StationMode)


def test_modes_the_role_does_not_allow_are_refused() -> None:
    shift = make_shift()
    shift.on_scan(badge("D001"), 0)
    refused = shift.on_scan(command(CommandName.MODE, "pick"), 0)
    assert shift.mode is StationMode.RECEIVE
    assert refused.feedback is not None and refused.feedback.level is Level.ERROR
    assert "may not work in pick mode" in refused.feedback.text
    switched = shift.on_scan(command(CommandName.MODE, "putaway"), 0)
    assert switched.prompt == "putaway: scan something"
    assert shift.modes and shift.mode in shift.modes


def test_switching_mode_mid_task_warns_that_the_task_was_abandoned() -> None:
    shift = make_shift()
    shift.on_scan(badge("D001"), 0)
    shift.on_scan(meaning(Kind.ITEM, gtin="05901234123457"), 0)
    reply = shift.on_scan(command(CommandName.MODE, "return"), 0)
    assert reply.feedback is not None and reply.feedback.level is Level.WARNING
    assert "abandoned" in reply.feedback.text


def test_refused_scans_repeat_the_prompt_with_the_reason() -> None:
    shift = make_shift()
    shift.on_scan(badge("D001"), 0)
    bad = Interpretation(Scan("???", Source.WEDGE), Kind.INVALID, error="Scanned ???: unknown")
    reply = shift.on_scan(bad, 0)
    assert reply.prompt == "receive: scan something"
    assert reply.feedback is not None and reply.feedback.text == "Scanned ???: unknown"
    assert reply.commands == ()


def test_another_badge_while_logged_in_asks_to_log_out_first() -> None:
    shift = make_shift()
    shift.on_scan(badge("D001"), 0)
    reply = shift.on_scan(badge("P001"), 0)
    assert shift.operator is not None and shift.operator.badge == "D001"
    assert reply.feedback is not None and "Scan LOGOUT first" in reply.feedback.text


def test_logout_with_an_empty_queue_needs_nobody() -> None:
    shift = make_shift()
    shift.on_scan(badge("D001"), 0)
    reply = shift.on_scan(command(CommandName.LOGOUT), 0)
    assert shift.operator is None and reply.prompt == LOGIN_PROMPT


def test_logout_with_queued_transactions_needs_another_supervisor() -> None:
    shift = make_shift()
    shift.on_scan(badge("S001"), 0)
    shift.on_entry("123456")
    asked = shift.on_scan(command(CommandName.LOGOUT), 3)
    assert asked.feedback is not None and "3 transaction(s) are still queued" in asked.feedback.text
    own = shift.on_scan(badge("S001"), 3)
    assert own.feedback is not None and "cannot approve their own work" in own.feedback.text
    not_a_supervisor = shift.on_scan(badge("D001"), 3)
    assert not_a_supervisor.feedback is not None
    assert "not an active supervisor" in not_a_supervisor.feedback.text
    shift.on_scan(badge("S002"), 3)
    wrong = shift.on_entry("1111")
    assert shift.operator is not None
    assert wrong.feedback is not None and "Wrong PIN" in wrong.feedback.text
    done = shift.on_entry("567890")
    assert shift.operator is None
    assert done.feedback is not None and "approved by S002" in done.feedback.text


def test_cancelling_a_logout_returns_to_the_work() -> None:
    shift = make_shift()
    shift.on_scan(badge("D001"), 0)
    shift.on_scan(meaning(Kind.ITEM, gtin="05901234123457"), 0)
    shift.on_scan(command(CommandName.LOGOUT), 2)
    back = shift.on_scan(command(CommandName.CANCEL), 2)
    assert shift.operator is not None
    assert back.prompt == "receive: got item"
    assert back.feedback is not None and "Logout cancelled" in back.feedback.text


# --- an operator deactivated while logged in ---------------------------------------------------


def deactivate(data: FakeStationData, badge_code: str) -> None:
    """What the station's copy holds after a supervisor ran `perpetua deactivate operator`."""
    data.operators[badge_code] = replace(data.operators[badge_code], active=False)


def test_a_deactivated_operator_is_logged_out_at_their_next_scan() -> None:
    data = FakeStationData()
    shift = make_shift(data=data)
    shift.on_scan(badge("D001"), 0)
    shift.on_scan(meaning(Kind.ITEM, gtin="05901234123457"), 0)  # a task under way
    deactivate(data, "D001")
    reply = shift.on_scan(meaning(Kind.LOCATION, code="A-01"), 0)
    assert shift.operator is None and shift.workflow is None
    assert reply.prompt == LOGIN_PROMPT and not reply.commands
    assert reply.feedback is not None and reply.feedback.level is Level.ERROR
    assert reply.feedback.text == (
        "Badge D001 was deactivated: logged out. Ask a supervisor. The unfinished task was "
        "abandoned; nothing of it was sent."
    )
    again = shift.on_scan(badge("D001"), 0)
    assert shift.operator is None
    assert again.feedback is not None and "not an active operator" in again.feedback.text


def test_any_input_of_a_deactivated_operator_logs_them_out() -> None:
    bad = Interpretation(Scan("???", Source.WEDGE), Kind.INVALID, error="Scanned ???: unknown")
    inputs: list[Callable[[Shift], Reply]] = [
        lambda shift: shift.on_entry("5"),
        lambda shift: shift.on_tags([TagRead("E1")]),
        lambda shift: shift.refuse(bad),
        lambda shift: shift.on_scan(command(CommandName.HOLD), 0),
    ]
    for give in inputs:
        data = FakeStationData()
        shift = make_shift(data=data)
        shift.on_scan(badge("P001"), 0)
        deactivate(data, "P001")
        reply = give(shift)
        assert shift.operator is None and reply.prompt == LOGIN_PROMPT
        assert reply.feedback is not None
        assert reply.feedback.text == "Badge P001 was deactivated: logged out. Ask a supervisor."


def test_a_transaction_refused_for_an_inactive_operator_logs_them_out() -> None:
    shift = make_shift()
    shift.on_scan(badge("D001"), 0)
    sent = Hold(tx_id=uuid.uuid4(), station="ST-1", operator="D001", reason="x", location="A")
    refused = Outcome(
        sent.tx_id, "hold", Status.REFUSED, "badge 'D001' is disabled", "inactive_operator"
    )
    reply = shift.on_outcome(sent, refused)
    assert shift.operator is None and reply.prompt == LOGIN_PROMPT
    assert reply.feedback is not None and reply.feedback.level is Level.ERROR
    assert reply.feedback.text == (
        "The hold was refused: badge 'D001' is disabled. Badge D001 was deactivated: logged "
        "out. Ask a supervisor."
    )


def test_an_active_operator_works_on() -> None:
    shift = make_shift()
    shift.on_scan(badge("D001"), 0)
    reply = shift.on_scan(meaning(Kind.LOCATION, code="A-01"), 0)
    assert shift.operator is not None and reply.prompt == "receive: got location"
