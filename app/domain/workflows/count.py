"""Cycle counting (DESIGN.md section 5; RELIABILITY.md promise 9): blind counts of one bin.

Blind: the counter never sees what the ledger expects, only what they have counted. A count
within the station's tolerance (per SKU and lot) posts its adjustments at once. Beyond it, the
first count is saved and another operator must recount; a recount beyond tolerance too needs a
supervisor's approval (badge and PIN at once, or later by a supervisor logged in who scans the
bin) and a reason code. Nobody approves a count they made.

Moves during a count: the bin's ledger position is taken (the snapshot) when the bin is scanned,
and the variance is counted minus snapshot, per SKU and lot. It is posted as a delta against the
bin's current balance, not as "the balance is now what was counted". A pick or putaway that moved
stock in or out of the bin while the counter was counting is already in the current balance, so
the adjustment leaves it accounted for instead of undoing it. A recount takes a fresh snapshot;
a supervisor's later approval applies the saved recount against the snapshot saved with it.
This module is the state machine; the count and its variance arithmetic are `count_variance`.

Between bins the prompt says how many count tasks wait for the operator (the station shows their
bins as tiles, in pick-path order); only a supervisor is shown why each exists. Any bin may still
be counted: one assigned to someone else is counted with a warning.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from enum import StrEnum

from app.domain.approval import Approval, Approved
from app.domain.commands import Adjust, AdjustReason, Command, CountLine, SaveCount
from app.domain.interpret import CommandName, Interpretation, Kind, StationMode
from app.domain.ledger import Outcome
from app.domain.model import Role, Tracking
from app.domain.workflow import (
    CountState,
    CountTask,
    CountTaskChoice,
    Entry,
    Feedback,
    Holding,
    Reply,
    TagRead,
    WorkContext,
    error,
    ok,
    warning,
)
from app.domain.workflows.common import (
    Answers,
    Quantity,
    combine,
    late_answer,
    no_tags,
    queued,
    resolve_item,
    signed,
    tracking_problem,
    unexpected,
)
from app.domain.workflows.count_variance import (
    Count,
    beyond_tolerance,
    label,
    tally,
    variances,
    with_posted,
)

REASONS = ", ".join(r.value.upper() for r in AdjustReason)
TASKS_SHOWN = 12
"""The count tasks the screen lists at most (as many as the station shows tiles)."""


class Step(StrEnum):
    BIN = "bin"
    COUNTING = "counting"
    POSTING = "posting"
    APPROVAL = "approval"
    """A supervisor's badge and PIN, for a recount beyond tolerance."""
    REASON = "reason"
    """Approved (or a supervisor reviewing a saved recount): waiting for the reason code."""


def _lines(holdings: Sequence[Holding]) -> tuple[CountLine, ...]:
    return tuple(CountLine(h.sku, h.qty, h.lot) for h in holdings)


def _assigned_elsewhere(task: CountTask | None, badge: str, zone: str | None) -> str | None:
    """Whom the bin's task is assigned to when it is not this operator's to do (None: it is
    theirs, or anyone's here). As CountTaskChoice.open_to: a recount is anyone's when its
    assignee made the first count."""
    if task is None:
        return None
    assignee = task.assigned_to
    if task.state is CountState.RECOUNT and assignee in _counters(task):
        assignee = None
    if assignee:
        return None if assignee == badge else assignee
    if task.zone and task.zone != zone:
        return f"the counters of zone {task.zone}"
    return None


def _task_line(task: CountTaskChoice) -> str:
    """A task as a supervisor sees it listed: the bin, its state past open, and why it exists."""
    state = "" if task.state is CountState.OPEN else f" ({task.state.value})"
    return f"{task.location}{state}: {task.reason}"


def _counters(task: CountTask | None) -> frozenset[str]:
    """Everyone whose count is recorded on the task: none of them may recount or approve it."""
    if task is None:
        return frozenset()
    return frozenset(task.counters) | ({task.counted_by} if task.counted_by else set())


class CountWorkflow:
    """COUNT mode: blind count, recount by another operator, supervisor approval."""

    mode = StationMode.COUNT

    def __init__(self, ctx: WorkContext) -> None:
        self.ctx = ctx
        self.step = Step.BIN
        self.count: Count | None = None
        self.approval: Approval | None = None
        self.approver: Approved | None = None
        self.qty = Quantity()
        self.answers = Answers()
        self._saves: list[Command] = []
        self._report: tuple[str, ...] = ()
        """What was counted, kept on screen after the ledger saves the count."""
        """Count-task saves to send with the next reply (transactions, like the adjustments)."""

    def _save(
        self,
        bin_code: str,
        state: CountState,
        counter: str,
        counts: Sequence[Holding],
        snapshot: Sequence[Holding],
    ) -> None:
        self._saves.append(
            SaveCount(
                **signed(self.ctx),
                location=bin_code,
                state=state.value,
                counter=counter,
                counts=_lines(counts),
                snapshot=_lines(snapshot),
            )
        )

    @property
    def wants_badge(self) -> bool:
        return self.step is Step.APPROVAL and self.approval is not None and not self.approval.badge

    @property
    def busy(self) -> bool:
        return self.step is not Step.BIN

    def start(self) -> Reply:
        return self._reply()

    def on_tags(self, tags: Sequence[TagRead]) -> Reply:
        return self._reply(no_tags("", tags).feedback)

    def on_entry(self, text: str) -> Reply:
        if self.step is Step.APPROVAL and self.approval is not None:
            return self._approval(self.approval.on_entry(text))
        if self.step is not Step.COUNTING:
            return self._reply(error("The keypad is not used at this step."))
        return self._reply(self.qty.enter(text))

    # --- scans ---

    def on_scan(self, scan: Interpretation) -> Reply:
        step, count = self.step, self.count
        if scan.kind is Kind.COMMAND and scan.command is CommandName.CANCEL:
            return self._cancel()
        if step is Step.APPROVAL and self.approval is not None:
            return self._approval(self.approval.on_scan(scan))
        if scan.kind is Kind.COMMAND:
            return self._command(scan)
        if step is Step.BIN and scan.kind is Kind.LOCATION and scan.code:
            return self._start(scan.code)
        if step is Step.COUNTING and count is not None:
            if scan.kind in (Kind.ITEM, Kind.LPN):
                return self._item(count, scan)
            if scan.kind is Kind.LOCATION and scan.code != count.bin:
                return self._reply(
                    error(
                        f"Scanned location {scan.code} while counting {count.bin}: finish it "
                        "with DONE, or CANCEL it, before counting another bin."
                    )
                )
            return self._reply(unexpected(scan, f"the items in {count.bin}, then DONE"))
        return self._reply(unexpected(scan, self._expecting()))

    def _command(self, scan: Interpretation) -> Reply:
        name, count = scan.command, self.count
        if self.step is Step.COUNTING and count is not None:
            if name is CommandName.QTY and scan.quantity:
                self.qty.set(scan.quantity)
                return self._reply(ok(f"The next item scan counts {scan.quantity}."))
            if name is CommandName.UNDO:
                return self._undo(count)
            if name is CommandName.DONE:
                return self._done(count)
        if self.step is Step.REASON and name is CommandName.REASON and scan.command_arg:
            return self._post(AdjustReason(scan.command_arg), self.approver)
        return self._reply(unexpected(scan, self._expecting()))

    def _start(self, code: str) -> Reply:
        data, me = self.ctx.data, self.ctx.operator
        kind = data.location_kind(code)
        if kind != "bin":
            return self._reply(
                error(f"Scanned location {code} (a {kind}): counts are of bins. Scan a bin label.")
            )
        task = data.count_task(code)
        counted = _counters(task)
        if task is not None and task.state is CountState.APPROVAL:
            if me.role is not Role.SUPERVISOR:
                return self._reply(
                    error(
                        f"The recount of {code} waits for a supervisor's approval: a supervisor "
                        f"must log in here and scan {code}. Scan another bin."
                    )
                )
            if me.badge in counted:
                return self._reply(
                    error(f"You counted {code}: another supervisor must approve its recount.")
                )
            by = task.counted_by or ""
            self.count = Count(
                code,
                task.snapshot,
                counted,
                counted_by=by,
                recount=True,
                approving=True,
                counted=tally(task.counts),
            )
            self.step, self.approver = Step.REASON, None
            return self._reply(
                warning(f"The recount of {code} by {task.counted_by} is beyond tolerance.")
            )
        recount = task is not None and task.state is CountState.RECOUNT
        if recount and me.badge in counted:
            return self._reply(
                error(
                    f"You counted {code} first: another operator must recount it. Scan another bin."
                )
            )
        counters = counted | {me.badge} if recount else frozenset({me.badge})
        self.count = Count(code, tuple(data.contents(code)), counters, me.badge, recount)
        self.step = Step.COUNTING
        # Counting at will stays: a bin assigned to someone else is counted, with a warning.
        elsewhere = _assigned_elsewhere(task, me.badge, self.ctx.station.zone)
        if elsewhere is not None:
            verb = "recounting" if recount else "counting"
            return self._reply(warning(f"{code} is assigned to {elsewhere}; {verb} it anyway."))
        return self._reply(ok(f"{'Recounting' if recount else 'Counting'} {code}."))

    def _item(self, count: Count, scan: Interpretation) -> Reply:
        item = resolve_item(self.ctx, scan)
        if isinstance(item, Feedback):
            return self._reply(item)
        qty = self.qty.peek(item)
        problem = tracking_problem(item, qty)
        serial = item.serial if item.sku.tracking is Tracking.SERIAL else None
        if problem is None and serial and any(s == serial for _, _, s in count.scans):
            problem = error(f"Serial {serial} is already counted: scan the next unit.")
        if problem is not None:
            return self._reply(problem)
        self.qty.take(item)
        key = (item.sku.code, item.lot if item.sku.tracking is not Tracking.NONE else None)
        expiry = date.fromisoformat(item.expiry_iso) if item.expiry_iso else None
        total = count.add(key, qty, serial, expiry)
        return self._reply(ok(f"Counted {qty} x {label(key)}{item.packs(qty)}: {total} so far."))

    def _undo(self, count: Count) -> Reply:
        if not count.scans:
            return self._reply(error("Nothing to take back: no item is counted yet."))
        key, qty, _ = count.scans.pop()
        count.counted[key] -= qty
        return self._reply(ok(f"Took back {qty} x {label(key)}: {count.counted[key]} counted."))

    def _done(self, count: Count) -> Reply:
        data, me = self.ctx.data, self.ctx.operator.badge
        counts = count.holdings()
        policy = self.ctx.policy
        recount = bool(beyond_tolerance(policy.count, count.snapshot, counts))
        approve = bool(beyond_tolerance(policy.adjust, count.snapshot, counts))
        if not recount and not approve:
            return self._post(AdjustReason.COUNT, None)
        if recount and not count.recount:
            self._save(count.bin, CountState.RECOUNT, me, counts, count.snapshot)
            self.step, self.count = Step.BIN, None
            return self._reply(
                warning(f"Variance beyond tolerance: another operator must recount {count.bin}."),
                lines=count.counted_lines(),
            )
        if not approve:  # the recount agrees, within what may be adjusted without approval
            return self._post(AdjustReason.COUNT, None)
        self._save(count.bin, CountState.APPROVAL, me, counts, count.snapshot)
        self.approval = Approval(
            data,
            self.ctx.pins,
            f"the recount of {count.bin}",
            not_by=count.counters,
            lines=count.counted_lines(),
        )
        self.step = Step.APPROVAL
        return self._reply(
            warning(
                f"The recount of {count.bin} is beyond tolerance too: a supervisor must approve "
                "it (now, or later: CANCEL)."
            )
        )

    def _approval(self, answer: Reply | Approved) -> Reply:
        if isinstance(answer, Reply):
            return answer
        self.step, self.approver, self.approval = Step.REASON, answer, None
        if self.count is not None:
            self.count.approving = True
        return self._reply(ok(f"Approved by {answer.supervisor}."))

    def _cancel(self) -> Reply:
        count, step = self.count, self.step
        self.qty.clear()
        if count is None:
            return self._reply(ok("Nothing to cancel."))
        if step is Step.POSTING:
            return self._reply(error("Wait: the count is being posted; it cannot be cancelled."))
        self.step, self.count, self.approval = Step.BIN, None, None
        if step is Step.COUNTING:
            return self._reply(warning(f"Count of {count.bin} abandoned: nothing was saved."))
        return self._reply(
            warning(
                f"The recount of {count.bin} waits for a supervisor's approval: a supervisor can "
                f"log in and scan {count.bin} to approve it."
            )
        )

    # --- posting ---

    def _post(self, reason: AdjustReason, approved: Approved | None) -> Reply:
        count = self.count
        assert count is not None
        diffs = variances(count.snapshot, count.holdings())
        commands = self.answers.send(
            *(
                Adjust(
                    **signed(self.ctx),
                    sku=sku,
                    location=count.bin,
                    delta=delta,
                    reason=reason,
                    lot=lot,
                    expiry=count.expiry.get((sku, lot)) if delta > 0 else None,
                    approved_by=approved.supervisor if approved else None,
                    approver_pin=approved.pin if approved else None,
                )
                for (sku, lot), delta in diffs.items()
            )
        )
        if not commands:
            return self._finish(None)
        self.step = Step.POSTING
        return self._reply(commands=commands)

    def on_outcome(self, command: Command, outcome: Outcome | None) -> Reply:
        if isinstance(command, SaveCount):
            if outcome is not None and not outcome.ok:
                return self._reply(
                    error(
                        f"Saving the count of {command.location} was refused: {outcome.message}."
                        " Call a supervisor."
                    )
                )
            return self._reply(lines=self._report or None)
        if not self.answers.take(command, outcome):
            return self._reply(late_answer(command, outcome))
        if not self.answers.complete:
            return self._reply()
        refused, answers = self.answers.refused, self.answers
        late = queued(f"{len(answers.queued)} adjustment(s)") if answers.queued else None
        if not refused:
            return self._finish(late)
        count = self.count
        assert count is not None
        if count.approving:
            # Only the refused part is left to approve: the posted deltas join the snapshot.
            sent = [c for c, _ in answers.confirmed] + answers.queued
            posted = {(c.sku, c.lot): c.delta for c in sent if isinstance(c, Adjust)}
            snapshot = with_posted(count.snapshot, posted)
            self._save(count.bin, CountState.APPROVAL, count.counted_by, count.holdings(), snapshot)
        messages = "; ".join(o.message for _, o in refused)
        self.step, self.count = Step.BIN, None
        answers.clear()
        return self._reply(
            combine(
                error(
                    f"{len(refused)} adjustment(s) of {count.bin} refused: {messages}. The count "
                    "is not finished: check the bin, or call a supervisor."
                ),
                late,
            )
        )

    def _finish(self, note: Feedback | None) -> Reply:
        count = self.count
        assert count is not None
        adjusted = len(self.answers.confirmed) + len(self.answers.queued)
        me = self.ctx.operator.badge
        self._save(count.bin, CountState.DONE, me, count.holdings(), count.snapshot)
        self.step, self.count, self.approver = Step.BIN, None, None
        self.answers.clear()
        posted = ok(f"Count of {count.bin} posted: {adjusted} adjustment(s).")
        return self._reply(combine(posted, note), lines=count.counted_lines())

    # --- replies ---

    def _tasks(self) -> tuple[str, tuple[str, ...]]:
        """The prompt between bins: how many count tasks wait for this operator (the screen's
        tiles are their bins), and for a supervisor why each exists. A counter is shown no
        reason: a short pick's names quantities, and counts are blind."""
        me = self.ctx.operator
        supervisor = me.role is Role.SUPERVISOR
        tasks = self.ctx.data.count_tasks_for(
            me.badge, self.ctx.station.zone, TASKS_SHOWN + 1, supervisor=supervisor
        )
        if not tasks:
            return "Scan the label of the bin to count.", ()
        if len(tasks) > TASKS_SHOWN:
            many = f"More than {TASKS_SHOWN} count tasks"
        else:
            many = f"{len(tasks)} count task{'s' if len(tasks) > 1 else ''}"
        listed = tuple(_task_line(t) for t in tasks[:TASKS_SHOWN]) if supervisor else ()
        return f"{many} for you: scan a bin or touch it below.", listed

    def _expecting(self) -> str:
        if self.step is Step.BIN:
            return "the label of a bin to count"
        if self.step is Step.REASON:
            return f"a reason code ({REASONS}) or CANCEL"
        if self.step is Step.COUNTING:
            return "an item, QTY, UNDO, DONE or CANCEL"
        return "nothing until the ledger has answered"

    def _reply(
        self,
        feedback: Feedback | None = None,
        commands: tuple[Command, ...] = (),
        lines: tuple[str, ...] | None = None,
    ) -> Reply:
        step, count = self.step, self.count
        if self._saves:
            self._report = lines or ()
        commands, self._saves = (*self._saves, *commands), []
        if step is Step.APPROVAL and self.approval is not None:
            asked = self.approval.prompt()
            return Reply(asked.prompt, feedback, commands, asked.lines, asked.entry)
        entry = Entry.QUANTITY if step is Step.COUNTING else None
        if count is None:
            prompt, listed = self._tasks()
            return Reply(prompt, feedback, commands, (*(lines or ()), *listed))
        if step is Step.REASON:
            prompt = f"Approve the recount of {count.bin}: scan the reason code ({REASONS}), or "
            prompt += "CANCEL to leave it for later."
            return Reply(prompt, feedback, commands, count.variance_lines())
        if step is Step.POSTING:
            prompt = f"Posting the count of {count.bin}: wait for the ledger."
        else:
            prompt = f"Count everything in {count.bin}: scan each item (QTY: several), then DONE."
        return Reply(prompt, feedback, commands, count.counted_lines(), entry)
