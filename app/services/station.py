"""A station's session: scans in, the shift's state machines, every transaction through the
station's outbox, and the `StationView` the window renders.

It runs on one thread: the station's database worker (DESIGN.md section 7), or the `replay`
command for batch-mode scanners. Every transaction a workflow asks for is written to the outbox
with its id *before* it is sent (DESIGN.md section 2). When the database cannot be reached, it
stays queued and the workflow is told so; `drain()` sends the queue again in order, with the same
ids, and a new transaction never overtakes an older queued one.
"""

from __future__ import annotations

import logging
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Protocol

from app.domain.commands import Command
from app.domain.errors import Rejection
from app.domain.interpret import (
    COMMAND_PREFIX,
    Catalogue,
    CommandName,
    Interpretation,
    ScanRules,
    StationMode,
    interpret,
)
from app.domain.ledger import Outcome, Status
from app.domain.ports import DatabaseUnavailable, UnitOfWorkFactory
from app.domain.scan import Scan, Source
from app.domain.shift import Shift
from app.domain.stow import StowPolicy
from app.domain.workflow import (
    BinSuggestion,
    Entry,
    Feedback,
    Level,
    Reply,
    StationData,
    TagRead,
    error,
    warning,
)
from app.domain.workflows.common import describe
from app.services import stow
from app.services.station_view import ScanRow, ScanState, StationView, TxRow, TxState

log = logging.getLogger(__name__)

HISTORY = 20
CHOICES = 12
CHOOSING = (StationMode.RECEIVE, StationMode.PICK, StationMode.SHIP)
"""Modes whose first step offers tiles: open receipts, orders to pick, orders to ship."""

Submit = Callable[[Command, UnitOfWorkFactory], Outcome]


class StationOutbox(Protocol):
    """What the session needs of the outbox (app.adapters.outbox.Outbox)."""

    def enqueue(self, command: Command) -> None: ...
    def mark(self, outcome: Outcome) -> bool: ...
    def depth(self) -> int: ...
    def pending(self) -> list[Command]: ...
    def close(self) -> None: ...


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
    ) -> None:
        self._shift = shift
        self._on_close = on_close
        self._ledger = ledger
        self._outbox = outbox
        self._data = data
        self._catalogue = catalogue
        self._submit = submit
        self._rules = rules or ScanRules()
        self._scans: deque[ScanRow] = deque(maxlen=HISTORY)
        self._txs: dict[uuid.UUID, TxRow] = {}
        self._seq = 0
        self._database = "connected"
        self._reply = shift.start()

    @property
    def shift(self) -> Shift:
        return self._shift

    # --- inputs ---

    def handle_scan(self, scan: Scan) -> StationView:
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
        shown = "*" * len(text) if pin else text
        scan = Scan(shown[:32], Source.MANUAL, device="keypad")
        return self._step(lambda: self._shift.on_entry(text), scan, "PIN" if pin else "keypad")

    def drain(self) -> StationView | None:
        """Send what is queued, in order; None when there was nothing to do and nothing changed."""
        if self._outbox.depth() == 0:
            if self._database == "connected":
                return None
            try:
                self._data.station(self._shift.station.code)
            except DatabaseUnavailable as problem:
                return self._offline(problem)
            self._database = "connected"
            return self.view(None)
        feedback = self._drain_queue()
        if feedback is None and self._database != "connected":
            return self.view(None)
        return self.view(feedback)

    def view(self, feedback: Feedback | None = None, input_seq: int = 0) -> StationView:
        shift = self._shift
        reply = self._reply
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
            database=self._database,
            input_seq=input_seq,
        )

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
                sent.append(command)
                reply = self._shift.on_outcome(command, outcome)
                feedbacks.append(reply.feedback)
                queue.extend(reply.commands)
        except DatabaseUnavailable as problem:
            # A read the workflow needed failed. What was already sent stays in the outbox.
            self._database = f"unreachable: {problem}"
            done = " What was sent is kept in the queue." if sent else " Nothing was changed."
            reply = self._shift.again(
                error(
                    f"The database cannot be reached ({problem}).{done} Scan again when the "
                    "status shows connected."
                )
            )
            feedbacks.append(reply.feedback)
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

    def _send(self, command: Command) -> Outcome | None:
        """Outbox first, then the ledger; None when the command stays queued."""
        self._outbox.enqueue(command)
        self._txs[command.tx_id] = TxRow(command.tx_id, command.kind.value, TxState.QUEUED, "")
        if len(self._outbox.pending()) > 1:
            # Older commands wait in the queue: they go first, so this one never overtakes them.
            self._drain_queue()
            if self._outbox.depth() > 0:
                return None
            row = self._txs[command.tx_id]
            return None if row.state is TxState.QUEUED else self._stored(row)
        try:
            outcome = self._submit(command, self._ledger)
        except DatabaseUnavailable as problem:
            self._database = f"unreachable: {problem}"
            return None
        self._database = "connected"
        self._answered(outcome)
        return outcome

    def _drain_queue(self) -> Feedback | None:
        """Send queued commands in order. Late refusals become an error for a supervisor."""
        refused: list[str] = []
        for command in self._outbox.pending():
            try:
                outcome = self._submit(command, self._ledger)
            except DatabaseUnavailable as problem:
                self._database = f"unreachable: {problem}"
                break
            self._database = "connected"
            self._answered(outcome)
            if not outcome.ok:
                refused.append(f"{outcome.kind} {str(outcome.tx_id)[:8]}: {outcome.message}")
        if refused:
            return error(
                "Queued transaction(s) were refused when sent; call a supervisor: "
                + "; ".join(refused)
            )
        return None

    def _answered(self, outcome: Outcome) -> None:
        self._outbox.mark(outcome)
        state = TxState.CONFIRMED if outcome.ok else TxState.REFUSED
        self._txs[outcome.tx_id] = TxRow(outcome.tx_id, outcome.kind, state, outcome.message)
        if len(self._txs) > 4 * HISTORY:
            for key in list(self._txs)[: len(self._txs) - HISTORY]:
                del self._txs[key]

    def _stored(self, row: TxRow) -> Outcome:
        status = Status.CONFIRMED if row.state is TxState.CONFIRMED else Status.REFUSED
        return Outcome(row.tx_id, row.kind, status, row.message)

    def _offline(self, problem: Exception) -> StationView:
        was = self._database
        self._database = f"unreachable: {problem}"
        if was == self._database:
            return self.view(None)
        return self.view(warning(f"The database cannot be reached: {problem}"))

    # --- scans and views ---

    def _interpret(self, scan: Scan) -> Interpretation:
        try:
            return interpret(scan, self._catalogue, self._rules)
        except DatabaseUnavailable as problem:
            self._database = f"unreachable: {problem}"
            return interpret(scan, None, self._rules)

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
            return tuple(self._data.open_orders(CHOICES))
        except DatabaseUnavailable:
            return ()

    def _finish(
        self, reply: Reply, row: ScanRow | None, feedback: Feedback | None = None
    ) -> StationView:
        self._reply = reply
        if row is not None:
            self._scans.append(row)
        return self.view(feedback or reply.feedback, self._seq)


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


def stow_suggester(
    ledger: UnitOfWorkFactory, policy: StowPolicy
) -> Callable[[str, str | None, int, str], BinSuggestion]:
    """The putaway workflow's bin suggestion: the stow service, holding space in the first bin."""

    def suggest_bin(sku: str, lot: str | None, qty: int, station: str) -> BinSuggestion:
        try:
            answer = stow.suggest(ledger, sku, qty, lot=lot, station=station, policy=policy)
        except Rejection as refused:
            return BinSuggestion(None, refused.message)
        if answer.held is None:
            return BinSuggestion(
                None, f"No bin has room for {qty} x {sku}; scan any bin that can take it."
            )
        others = ", ".join(s.code for s in answer.suggestions if s.code != answer.held.code)
        also = f" (also: {others})" if others else ""
        return BinSuggestion(answer.held.code, f"{answer.held.code}: {answer.held.why}{also}")

    return suggest_bin
