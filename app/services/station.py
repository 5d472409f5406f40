"""A station's session: scans in, the shift's state machines, every transaction through the
station's outbox, and the `StationView` the window renders.

It runs on one thread: the station's database worker (DESIGN.md section 7), or the `replay`
command for batch-mode scanners. Workflows read the station's replica, never the shared database
(DESIGN.md section 2), so a scan costs the database one transaction, the ledger's, and an outage
costs the station only what needs the ledger's answer now.

Every transaction a workflow asks for is written to the outbox with its id *before* it is sent.
While the database is out of reach (the `Link` says so, or a send fails for want of it), what may
wait is queued and shows in the replica at once; what may not is refused with one plain sentence
(domain/offline.py). `drain()` sends the queue in order with the same ids through the outbox's one
drain loop, and a new transaction never overtakes a queued one. A queued transaction refused when
it finally arrives is an exception: shown in red until a supervisor acknowledges it (`@CMD:ACK`).
"""

from __future__ import annotations

import logging
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Protocol

from app.domain.commands import EPHEMERAL, Command
from app.domain.errors import Reason
from app.domain.interpret import (
    COMMAND_PREFIX,
    Catalogue,
    CommandName,
    Interpretation,
    Kind,
    Refusal,
    ScanRules,
    StationMode,
    interpret,
)
from app.domain.ledger import Outcome, Status
from app.domain.model import Role
from app.domain.offline import offline_refusal, out_of_reach, still_working
from app.domain.orders import clock
from app.domain.ports import DatabaseUnavailable, Link, UnitOfWorkFactory
from app.domain.scan import Scan, Source
from app.domain.shift import Shift
from app.domain.workflow import (
    Entry,
    Feedback,
    Level,
    Reply,
    StationData,
    TagRead,
    error,
    ok,
    warning,
)
from app.domain.workflows.common import describe
from app.services.station_view import ScanRow, ScanState, StationView, TxRow, TxState

log = logging.getLogger(__name__)

HISTORY = 20
CHOICES = 12
CHOOSING = (StationMode.RECEIVE, StationMode.PICK, StationMode.SHIP, StationMode.COUNT)
"""Modes whose first step offers tiles: open receipts, orders to pick, orders to ship, the bins
of the operator's count tasks in pick-path order."""

Submit = Callable[[Command, UnitOfWorkFactory], Outcome]


class DrainReport(Protocol):
    @property
    def stopped(self) -> bool: ...


class StationOutbox(Protocol):
    """What the session needs of the outbox (app.adapters.outbox.Outbox)."""

    def enqueue(self, command: Command) -> None: ...
    def mark(self, outcome: Outcome, late: bool = False) -> bool: ...
    def depth(self) -> int: ...
    def drain(
        self,
        uow_factory: UnitOfWorkFactory,
        submit: Submit,
        on_outcome: Callable[[Command, Outcome], None] | None = None,
        *,
        fresh: frozenset[uuid.UUID] = frozenset(),
    ) -> DrainReport: ...
    def exceptions(self) -> Sequence[object]: ...
    def acknowledge(self, supervisor: str) -> int: ...
    def close(self) -> None: ...


class Replica(Protocol):
    """What the session needs of the station's replica (app.adapters.replica.Replica)."""

    def add_effect(self, command: Command) -> None: ...
    def answered(self, outcome: Outcome) -> None: ...
    @property
    def refreshed_at(self) -> datetime | None: ...


class SeenLink:
    """A link known only from what the session sees: up until a send fails for want of the
    database, down until one goes through (for a session without a watcher: tests, replay)."""

    def __init__(self) -> None:
        self.up = True
        self.since = datetime.now(UTC)
        self.why = ""

    def down(self, why: str) -> None:
        if self.up:
            self.since = datetime.now(UTC)
        self.up, self.why = False, why

    def confirmed(self) -> None:
        if not self.up:
            self.since = datetime.now(UTC)
        self.up = True


class StationSession:
    def __init__(
        self,
        shift: Shift,
        *,
        ledger: UnitOfWorkFactory,
        outbox: StationOutbox,
        data: StationData,
        catalogue: Catalogue | None,
        submit: Submit,
        rules: ScanRules | None = None,
        on_close: Callable[[], None] | None = None,
        link: Link | None = None,
        replica: Replica | None = None,
        refresh: Callable[[], None] | None = None,
        blocked: Callable[[], str | None] | None = None,
    ) -> None:
        self._shift = shift
        self._on_close = on_close
        self._ledger = ledger
        self._outbox = outbox
        self._data = data
        self._catalogue = catalogue
        self._submit = submit
        self._rules = rules or ScanRules()
        self._link: Link = link or SeenLink()
        self._replica = replica
        self._refresh = refresh
        self._blocked = blocked or (lambda: None)
        self._scans: deque[ScanRow] = deque(maxlen=HISTORY)
        self._txs: dict[uuid.UUID, TxRow] = {}
        self._seq = 0
        self._shown_up: bool | None = None
        self._operator = shift.operator
        self._fresh: dict[uuid.UUID, Outcome] = {}
        """The ledger's answer to the command being sent now, as the drain received it."""
        self._reply = shift.start()

    @property
    def shift(self) -> Shift:
        return self._shift

    # --- inputs ---

    def handle_scan(self, scan: Scan) -> StationView:
        if self._reply.entry is Entry.PIN and _typed_pin(scan):
            # Digits typed on a keyboard while a PIN is asked are the PIN, not a scan to show.
            return self.handle_entry(scan.text)
        self._seq += 1
        meaning = self._interpret(scan)
        if not meaning.accepted:
            reply = self._shift.refuse(meaning)
            what = meaning.error or "refused"
            row = ScanRow(self._seq, scan.text, scan.source.value, what, ScanState.REFUSED, scan.at)
            return self._finish(reply, row)
        return self._step(
            lambda: self._shift.on_scan(meaning, self._outbox.depth()), scan, describe(meaning)
        )

    def handle_command(self, name: CommandName, arg: str | None = None) -> StationView:
        """A button or keyboard shortcut: exactly as if its command barcode were scanned."""
        text = f"{COMMAND_PREFIX}{name.value}" + (f":{arg}" if arg else "")
        return self.handle_scan(Scan(text, Source.MANUAL, device="keyboard"))

    def handle_tags(self, tags: Sequence[TagRead]) -> StationView:
        self._seq += 1
        text = " ".join(tag.epc for tag in tags)[:256]
        scan = Scan(text, Source.RFID, device="rfid")
        return self._step(lambda: self._shift.on_tags(tags), scan, f"{len(tags)} RFID tag(s)")

    def handle_entry(self, text: str) -> StationView:
        self._seq += 1
        pin = self._reply.entry is Entry.PIN
        shown = "(PIN)" if pin else text  # a PIN never reaches the history, not even its length
        scan = Scan(shown[:32], Source.MANUAL, device="keypad")
        return self._step(lambda: self._shift.on_entry(text), scan, "PIN" if pin else "keypad")

    def drain(self) -> StationView | None:
        """Send what is queued, in order. None when there was nothing to do and nothing to
        show: the worker calls this four times a second."""
        feedback: Feedback | None = None
        if self._link.up and self._blocked() is None and self._outbox.depth() > 0:
            feedback = self._drain()
        changed = self._shown_up is not self._link.up
        if feedback is None and not changed:
            return None
        if changed and feedback is None:
            feedback = self._link_news()
        return self.view(feedback)

    def _link_news(self) -> Feedback | None:
        if self._link.up:
            if self._shown_up is None:
                return None
            queued = self._outbox.depth()
            rest = f"; {queued} queued transaction(s) are being sent" if queued else ""
            return ok(f"The database is back{rest}.")
        if self._shown_up is False:
            return None
        return warning(
            f"{out_of_reach(self._link.since)}. {still_working(self._shift.station)} "
            "What you do is queued and sent when it is back."
        )

    def view(self, feedback: Feedback | None = None, input_seq: int = 0) -> StationView:
        shift = self._shift
        reply = self._reply
        self._shown_up = self._link.up
        exceptions = tuple(self._exception_lines())
        shift.exceptions = len(exceptions)
        return StationView(
            station=shift.station.code,
            operator=shift.operator,
            mode=shift.mode,
            modes=shift.modes,
            prompt=reply.prompt,
            feedback=feedback,
            lines=reply.lines,
            entry=reply.entry,
            choices=self._choices(),
            scans=tuple(self._current(row) for row in reversed(self._scans)),
            transactions=tuple(reversed(list(self._txs.values())[-HISTORY:])),
            queue_depth=self._outbox.depth(),
            database=self._database_text(),
            input_seq=input_seq,
            replica=self._replica_text(),
            exceptions=exceptions,
        )

    def _database_text(self) -> str:
        blocked = self._blocked()
        if blocked is not None:
            return f"not used: {blocked}"
        if self._link.up:
            return "connected"
        return f"out of reach since {clock(self._link.since)}"

    def _replica_text(self) -> str:
        at = self._replica.refreshed_at if self._replica is not None else None
        if at is None:
            return "" if self._replica is None else "no copy yet"
        age = int((datetime.now(UTC) - at).total_seconds())
        if age < 120:
            return f"copy {max(age, 0)} s old"
        if age < 7200:
            return f"copy {age // 60} min old"
        return f"copy from {at.astimezone():%d %b %H:%M}"

    def _exception_lines(self) -> list[str]:
        lines = []
        for entry in self._outbox.exceptions():
            outcome = getattr(entry, "outcome", None) or {}
            kind = str(getattr(entry, "kind", "")).replace("_", " ")
            message = outcome.get("message", "") if isinstance(outcome, dict) else ""
            at = str(getattr(entry, "created_at", ""))[11:16]
            reason = outcome.get("reason") if isinstance(outcome, dict) else None
            why = "by the database" if reason == Reason.DATABASE_REFUSED else "after the outage"
            lines.append(f"Refused {why}: {kind} queued at {at} UTC: {message}")
        return lines

    def refresh(self) -> None:
        """Bring the replica up to date now (it refreshes itself every few seconds while the
        database answers; a supervisor's import, or a test's setup, need not wait for that)."""
        if self._refresh is not None and self._link.up:
            self._refresh()

    def close(self) -> None:
        try:
            self._outbox.close()
        finally:
            if self._on_close is not None:
                self._on_close()

    # --- the step: the shift's reply, then its transactions through the outbox ---

    def _step(self, ask: Callable[[], Reply], scan: Scan, what: str) -> StationView:
        sent: list[Command] = []
        feedbacks: list[Feedback | None] = []
        try:
            reply = ask()
            feedbacks.append(reply.feedback)
            queue = list(reply.commands)
            while queue:
                command = queue.pop(0)
                outcome = self._send(command)
                if not _offline(outcome):
                    sent.append(command)
                reply = self._shift.on_outcome(command, outcome)
                feedbacks.append(reply.feedback)
                if _offline(outcome) and command.kind not in EPHEMERAL:
                    assert outcome is not None
                    feedbacks.append(error(outcome.message))  # the plain sentence, as it is
                queue.extend(reply.commands)
        except DatabaseUnavailable as problem:
            # A live read (the ship station's) failed: the replica cannot answer it.
            self._link.down(str(problem))
            done = " What was sent is kept in the queue." if sent else ""
            reply = self._shift.again(
                error(
                    f"{out_of_reach(self._link.since)}: this needs the database now.{done} "
                    f"{still_working(self._shift.station)}"
                )
            )
            feedbacks.append(reply.feedback)
        sent = [c for c in sent if c.kind not in EPHEMERAL]
        if sent:
            state = ScanState.QUEUED
        elif reply.feedback is not None and reply.feedback.level is Level.ERROR:
            state = ScanState.REFUSED
        else:
            state = ScanState.ACCEPTED
        row = ScanRow(
            self._seq,
            scan.text,
            scan.source.value,
            what,
            state,
            scan.at,
            tuple(c.tx_id for c in sent),
        )
        return self._finish(reply, row, _worst(feedbacks))

    def _after_shift(self) -> None:
        """What the shift asks of the session: a supervisor acknowledged the exceptions; a new
        operator starts with an empty scan history (nobody sees the last one's, and nothing of
        it stays on a logged-out screen)."""
        shift = self._shift
        if shift.acknowledged is not None:
            self._outbox.acknowledge(shift.acknowledged)
            shift.acknowledged = None
        if shift.operator != self._operator:
            self._operator = shift.operator
            self._scans.clear()
            self._txs.clear()
            if shift.operator is not None and self._refresh is not None and self._link.up:
                self._refresh_now()  # a shift starts from the database's latest

    def _send(self, command: Command) -> Outcome | None:
        """Outbox first, then the ledger; None when the command stays queued."""
        blocked = self._blocked()
        if blocked is not None:
            return self._local_refusal(command, f"Nothing is sent: {blocked}")
        if command.kind in EPHEMERAL:
            return self._send_now(command)
        if not self._link.up:
            refusal = offline_refusal(command, self._shift.station, self._link.since)
            if refusal is not None:
                return self._local_refusal(command, refusal)
        self._outbox.enqueue(command)
        if self._replica is not None:
            self._replica.add_effect(command)
        self._txs[command.tx_id] = TxRow(command.tx_id, command.kind.value, TxState.QUEUED, "")
        if not self._link.up:
            return None
        # Older commands wait in the queue: they go first, in the same drain, so this one never
        # overtakes them.
        self._drain(fresh=command.tx_id)
        outcome = self._fresh.pop(command.tx_id, None)
        if outcome is None:
            return None
        if outcome.ok and command.kind.value == "take_list" and self._refresh is not None:
            self._refresh_now()
        return outcome

    def _send_now(self, command: Command) -> Outcome:
        """A command worth sending only now (a bin suggestion): never queued behind others."""
        if not self._link.up or self._outbox.depth() > 0:
            return self._local_refusal(command, out_of_reach(self._link.since))
        self._outbox.enqueue(command)
        try:
            outcome = self._submit(command, self._ledger)
        except DatabaseUnavailable as problem:
            self._link.down(str(problem))
            outcome = self._local_refusal(command, out_of_reach(self._link.since))
        else:
            self._link.confirmed()
        self._outbox.mark(outcome)
        return outcome

    def _local_refusal(self, command: Command, message: str) -> Outcome:
        return Outcome(command.tx_id, command.kind.value, Status.REFUSED, message, Reason.OFFLINE)

    def _refresh_now(self) -> None:
        assert self._refresh is not None
        try:
            self._refresh()
        except Exception as problem:  # the copy catches up at its next refresh
            log.info("refreshing the replica failed: %s", problem)

    def _drain(self, fresh: uuid.UUID | None = None) -> Feedback | None:
        """The outbox's drain, with the session's bookkeeping for each answer. Refusals of
        commands that waited in the queue become exceptions (red until acknowledged)."""
        refused: list[str] = []
        confirmed = 0

        def answered(command: Command, outcome: Outcome) -> None:
            nonlocal confirmed
            self._link.confirmed()
            self._answered(outcome)
            if command.tx_id == fresh:
                self._fresh[command.tx_id] = outcome
                return
            if outcome.ok:
                confirmed += 1
            else:
                refused.append(f"{outcome.kind} {str(outcome.tx_id)[:8]}: {outcome.message}")

        report = self._outbox.drain(
            self._ledger,
            self._submit,
            answered,
            fresh=frozenset({fresh}) if fresh else frozenset(),
        )
        if report.stopped:
            self._link.down("the database did not take the queued transactions")
        if refused:
            return error(
                f"{len(refused)} queued transaction(s) were refused when sent: "
                + "; ".join(refused)
                + ". They stay on screen until a supervisor acknowledges them (ACK)."
            )
        if confirmed:
            left = self._outbox.depth()
            more = f"; {left} still queued" if left else ""
            return ok(f"{confirmed} queued transaction(s) confirmed by the ledger{more}.")
        return None

    def _answered(self, outcome: Outcome) -> None:
        if self._replica is not None:
            self._replica.answered(outcome)
        state = TxState.CONFIRMED if outcome.ok else TxState.REFUSED
        self._txs[outcome.tx_id] = TxRow(outcome.tx_id, outcome.kind, state, outcome.message)
        if len(self._txs) > 4 * HISTORY:
            for key in list(self._txs)[: len(self._txs) - HISTORY]:
                del self._txs[key]

    # --- scans and views ---

    def _interpret(self, scan: Scan) -> Interpretation:
        meaning = interpret(scan, self._catalogue, self._rules)
        if _missed(meaning) and self._refresh is not None and self._link.up:
            # A code the copy does not know may be minutes old in the database (a receipt just
            # imported, a new badge): look again after a refresh before refusing it.
            self._refresh_now()
            meaning = interpret(scan, self._catalogue, self._rules)
        return meaning

    def _current(self, row: ScanRow) -> ScanRow:
        """A scan row with the present state of its transactions."""
        if not row.tx_ids or row.state is ScanState.REFUSED:
            return row
        states = [self._txs[t].state if t in self._txs else TxState.QUEUED for t in row.tx_ids]
        if TxState.REFUSED in states:
            return replace(row, state=ScanState.REJECTED)
        if TxState.QUEUED in states:
            return replace(row, state=ScanState.QUEUED)
        return replace(row, state=ScanState.CONFIRMED)

    def _choices(self) -> tuple[str, ...]:
        mode = self._shift.mode
        if self._shift.busy or mode not in CHOOSING:
            return ()
        try:
            if mode is StationMode.RECEIVE:
                return tuple(self._data.open_receipts(CHOICES))
            if mode is StationMode.SHIP:
                return tuple(self._data.shippable_orders(CHOICES))
            if mode is StationMode.COUNT:
                return self._count_choices()
            return tuple(self._data.open_orders(CHOICES))
        except DatabaseUnavailable:
            return ()

    def _count_choices(self) -> tuple[str, ...]:
        """The bins of the logged-in operator's count tasks (touching one scans it)."""
        me = self._shift.operator
        if me is None:
            return ()
        supervisor = me.role is Role.SUPERVISOR
        zone = self._shift.station.zone
        tasks = self._data.count_tasks_for(me.badge, zone, CHOICES, supervisor=supervisor)
        return tuple(task.location for task in tasks)

    def _finish(
        self, reply: Reply, row: ScanRow | None, feedback: Feedback | None = None
    ) -> StationView:
        self._reply = reply
        out = self._operator is not None and self._shift.operator is None
        self._after_shift()  # a new operator starts with an empty history: their badge first
        if row is not None and not out:
            self._scans.append(row)
        return self.view(feedback or reply.feedback, self._seq)


def _offline(outcome: Outcome | None) -> bool:
    """Refused by the station itself because the database is out of reach."""
    return outcome is not None and outcome.reason == Reason.OFFLINE.value


def _missed(meaning: Interpretation) -> bool:
    """A scan the replica could not place: an unknown code, or a GTIN of no known item."""
    if meaning.reason is Refusal.UNKNOWN_CODE:
        return True
    return meaning.kind is Kind.ITEM and meaning.gtin is not None and meaning.sku is None


def _typed_pin(scan: Scan) -> bool:
    """Digits from a keyboard (typed slowly, or fast enough to pass for a scanner) while a PIN is
    asked: a PIN. Badges are not all digits, so a badge scan at a PIN step is still a scan."""
    keyboard = scan.source in (Source.MANUAL, Source.WEDGE)
    return keyboard and scan.text.isdigit() and len(scan.text) <= 12


def _worst(feedbacks: Sequence[Feedback | None]) -> Feedback | None:
    """The feedback to show for a step: the most serious one, the latest among equals."""
    order = (Level.OK, Level.WARNING, Level.ERROR)
    best: Feedback | None = None
    for feedback in feedbacks:
        if feedback is not None and (
            best is None or order.index(feedback.level) >= order.index(best.level)
        ):
            best = feedback
    return best
