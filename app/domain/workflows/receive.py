"""Receiving at a dock (DESIGN.md sections 1, 2, 5): against an expected receipt (ASN or purchase
order) or blind, one item scan or one RFID burst at a time; damaged goods go to quarantine;
receiving beyond the receipt's tolerance, and closing a receipt short beyond it, need a
supervisor. Receiving is safe offline: a receive left queued in the outbox counts as received.

A lot the receipt does not expect or dates otherwise, and a lot expired or short of its SKU's
shelf life, are refused at once (receive_lines.py); a supervisor (badge + PIN) may accept them,
an expired or short-dated lot into the station's quarantine location only. When the ledger
refuses a receive for one of these reasons the station did not know of (a lot whose expiry only
the ledger has), the same approval is offered. A refused item scan drops the quantity set for
it, as leaving or closing a receipt does.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

from app.domain.approval import Approval, Approved
from app.domain.commands import CloseReceipt, Command, Receive, new_tx_id
from app.domain.interpret import CommandName, Interpretation, Kind, StationMode
from app.domain.ledger import Outcome
from app.domain.model import Tracking
from app.domain.workflow import (
    Feedback,
    Receipt,
    Reply,
    SkuInfo,
    TagRead,
    WorkContext,
    error,
    ok,
    warning,
)
from app.domain.workflows.common import (
    Quantity,
    describe,
    queued,
    resolve_item,
    signed,
    tracking_problem,
    unexpected,
)
from app.domain.workflows.receipts import (
    LineCheck,
    check_receipt,
    discrepancy_lines,
    named,
    progress_lines,
    short_beyond,
)
from app.domain.workflows.receive_lines import (
    SUPERVISOR_MAY,
    Line,
    check_label,
    dated,
    scan_day,
    sentence,
    what,
)

# --- the state machine -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Tag:
    """A tag in the field: the SKU it receives as, or why it cannot be received."""

    read: TagRead
    sku: SkuInfo | None
    problem: str | None = None


class ReceiveWorkflow:
    """Receive mode: `ReceiveWorkflow(ctx)`."""

    mode = StationMode.RECEIVE

    def __init__(self, ctx: WorkContext) -> None:
        self.ctx = ctx
        self._qty = Quantity()
        self._damaged = False
        self._receipt: Receipt | None = None
        self._tally: Counter[str] = Counter()
        """Units this session received against the open receipt since it was loaded."""
        self._in_flight: dict[uuid.UUID, Line] = {}
        self._tags: dict[str, _Tag] = {}
        self._received_epcs: set[str] = set()
        self._approval: Approval | None = None
        self._held: tuple[Line, ...] = ()
        self._closing: tuple[LineCheck, ...] = ()
        self._report: tuple[str, ...] = ()
        """The discrepancy report of the receipt just closed, kept on screen after the ledger
        confirms the close."""
        self._names: dict[str, str] = {}

    @property
    def wants_badge(self) -> bool:
        return self._approval is not None and self._approval.badge is None

    @property
    def busy(self) -> bool:
        return bool(
            self._receipt or self._approval or self._tags or self._in_flight or self._damaged
        ) or (self._qty.pending is not None)

    def start(self) -> Reply:
        return self._reply(None if self.ctx.station.dock else error(self._no_dock()))

    # --- inputs ---

    def on_scan(self, scan: Interpretation) -> Reply:
        if self._approval is not None:
            if scan.kind is Kind.COMMAND and scan.command is CommandName.CANCEL:
                return self._drop_approval()
            if scan.kind is Kind.COMMAND:
                return self._waiting(scan)
            return self._approval_step(self._approval.on_scan(scan))
        if scan.kind is Kind.COMMAND:
            return self._command(scan)
        if self._tags:
            return self._fail(f"Scanned {describe(scan)}, but {self._tags_waiting()}")
        if scan.kind is Kind.RECEIPT and scan.code:
            return self._open(scan.code)
        if scan.kind in (Kind.ITEM, Kind.LPN):
            return self._item(scan)
        return self._reply(
            unexpected(scan, "an item barcode" if self._receipt else "a receipt or an item barcode")
        )

    def on_entry(self, text: str) -> Reply:
        if self._approval is not None:
            return self._approval_step(self._approval.on_entry(text))
        if self._tags:
            return self._fail(f"The keypad sets no quantity for {self._tags_waiting()}")
        return self._reply(self._qty.enter(text))

    def on_tags(self, tags: Sequence[TagRead]) -> Reply:
        if self._approval is not None:
            return self._fail(f"{len(tags)} RFID tag(s) ignored: {self._approval_text()}.")
        if not self.ctx.station.dock:
            return self._fail(self._no_dock())
        known = {(t.read.gtin, t.read.serial) for t in self._tags.values() if t.read.serial}
        new = [
            self._classify(t)
            for t in {t.epc: t for t in tags}.values()
            if t.epc not in self._tags
            and t.epc not in self._received_epcs
            and (t.gtin, t.serial) not in known
        ]
        self._tags.update((t.read.epc, t) for t in new)
        seen = f"{len(new)} new tag(s), {len(tags) - len(new)} already read."
        if not self._tags:
            return self._ok(f"{seen} Those tags were received already.")
        bad = [t for t in new if t.problem]
        if bad:
            return self._warn(f"{seen} {len(bad)} cannot be received: see the list.")
        return self._ok(seen)

    def on_outcome(self, command: Command, outcome: Outcome | None) -> Reply:
        line = self._in_flight.pop(command.tx_id, None)
        if isinstance(command, CloseReceipt):
            if outcome is None:
                return self._reply(queued(f"Closing receipt {command.receipt}"))
            if not outcome.ok:
                return self._fail(
                    f"Closing receipt {command.receipt} was refused: {outcome.message}."
                )
            return self._reply(None, self._report)
        if not isinstance(command, Receive):
            return self._reply()
        where = command.to_location
        if command.to_location == self.ctx.station.quarantine:
            marks = ["damaged"] if line is None or line.damaged else []
            marks += [line.expired] if line is not None and line.expired else []
            where = f"quarantine {where} ({', '.join(marks)})" if marks else f"quarantine {where}"
        if outcome is not None and not outcome.ok:
            if line is not None:
                self._received_epcs -= line.epcs
            refused = f"Receiving {what(command)} was refused: {outcome.message}."
            retry = self._overrule(command, line, outcome)
            if retry is not None:
                return retry
            return self._fail(
                f"{refused} Nothing was received; set the goods aside and scan them again, or "
                "call a supervisor."
            )
        if line is not None and self._receipt and command.receipt == self._receipt.code:
            self._tally[command.sku] += command.qty
        packs = line.packs if line is not None else ""
        if outcome is None:
            return self._reply(queued(f"Receiving {dated(command, None, packs)} into {where}"))
        by = f", approved by {command.approved_by}" if command.approved_by else ""
        return self._ok(f"Received {dated(command, outcome, packs)} into {where}{by}.")

    def _overrule(self, command: Receive, line: Line | None, outcome: Outcome) -> Reply | None:
        """A refusal a supervisor may overrule (a lot whose expiry only the ledger knew, a
        receipt changed since the station's copy): the same approval as had the station known.
        None when it is not one of those, or an approval is under way already."""
        into = SUPERVISOR_MAY.get(outcome.reason or "")
        if into is None or line is None or command.approved_by or self._approval is not None:
            return None
        refused = f"Receiving {what(command)} was refused: {outcome.message.rstrip('.')}."
        quarantine = self.ctx.station.quarantine
        if into:
            if not quarantine:
                return self._fail(
                    f"{refused} Set the goods aside and call a supervisor: station "
                    f"{self.ctx.station.code} has no quarantine location to accept them into."
                )
            again = replace(command, tx_id=new_tx_id(), to_location=quarantine)
            retry = replace(line, command=again, expired="not sellable by its expiry")
        else:
            again = replace(command, tx_id=new_tx_id())
            retry = replace(line, command=again, unlisted="not as the receipt lists it")
        reply = self._submit((retry,), refused)
        where = f" {into} {quarantine}" if into else ""
        asked = f"Supervisor: scan your badge to accept it{where}; CANCEL to drop it."
        return replace(reply, feedback=error(f"{refused} {asked}"))

    # --- commands ---

    def _command(self, scan: Interpretation) -> Reply:
        name = scan.command
        if name is CommandName.CANCEL:
            return self._cancel()
        if name is CommandName.CONFIRM:
            if not self._tags:
                return self._fail(
                    "CONFIRM receives RFID tags read in the field, and none are. Hold the "
                    "goods to the reader, or scan an item."
                )
            return self._confirm_tags()
        if self._tags:
            return self._fail(f"Scanned {describe(scan)}, but {self._tags_waiting()}")
        if name is CommandName.QTY and scan.quantity:
            self._qty.set(scan.quantity)
            return self._ok(f"Quantity {scan.quantity} set for the next item scan.")
        if name is CommandName.DAMAGED:
            quarantine = self.ctx.station.quarantine
            if not quarantine:
                return self._fail(
                    f"Station {self.ctx.station.code} has no quarantine location, so it "
                    "cannot receive damaged goods. Set them aside and call a supervisor."
                )
            self._damaged = True
            return self._ok(f"Next item marked damaged: it goes to quarantine {quarantine}.")
        if name is CommandName.UNDO:
            return self._undo()
        if name is CommandName.DONE:
            return self._done()
        return self._fail(
            f"Scanned {describe(scan)}: it does not apply when receiving. Scan an item, or "
            "DONE to close the receipt."
        )

    def _cancel(self) -> Reply:
        if self._tags:
            count = len(self._tags)
            self._tags.clear()
            return self._ok(f"{count} RFID tag(s) cleared; nothing was received.")
        if self._qty.pending is not None or self._damaged:
            self._qty.clear()
            self._damaged = False
            more = f" CANCEL again to leave receipt {self._receipt.code}." if self._receipt else ""
            return self._ok(f"Quantity and damaged mark dropped.{more}")
        if self._receipt is not None:
            code = self._receipt.code
            self._leave()  # nothing is set: the first CANCEL dropped it
            return self._reply(
                ok(f"Left receipt {code}; it stays open. Scan it again to go on receiving.")
            )
        return self._fail("Nothing to cancel: no receipt, quantity or tags are pending.")

    def _undo(self) -> Reply:
        dropped = [f"quantity {self._qty.pending}"] if self._qty.pending is not None else []
        dropped += ["damaged mark"] if self._damaged else []
        if not dropped:
            return self._fail(
                "Nothing to undo: UNDO takes back a quantity or damaged mark not yet used. "
                "A receive already sent is corrected by a supervisor."
            )
        self._qty.clear()
        self._damaged = False
        return self._ok(f"Took back the {' and '.join(dropped)}.")

    # --- receipts ---

    def _open(self, code: str) -> Reply:
        if self._receipt is not None and self._receipt.code != code:
            return self._fail(
                f"Scanned receipt {code}, but receipt {self._receipt.code} is open. DONE "
                f"closes it or CANCEL leaves it open; then scan {code}."
            )
        receipt = self.ctx.data.receipt(code)
        if receipt is None or receipt.status != "open":
            state = "is not an expected receipt" if receipt is None else f"is {receipt.status}"
            return self._fail(
                f"Scanned receipt {code}, but it {state}. Scan an open receipt, or scan "
                "an item to receive it blind."
            )
        self._load(receipt)
        n = len(receipt.lines)
        return self._ok(f"Receiving against receipt {code} ({n} line{'' if n == 1 else 's'}).")

    def _load(self, receipt: Receipt) -> None:
        self._receipt = receipt
        self._tally.clear()
        for sku in {line.sku for line in receipt.lines} | set(receipt.received):
            if sku not in self._names:
                info = self.ctx.data.sku(sku)
                self._names[sku] = info.name if info else ""

    def _leave(self) -> str:
        """Forget the open receipt, and the quantity or damaged mark set while it was open (it
        would otherwise apply to the next item, of another receipt). Says what was dropped."""
        dropped = self._drop_marks()
        self._receipt = None
        self._tally.clear()
        return f" The {dropped} set before was dropped." if dropped else ""

    def _drop_marks(self) -> str:
        """Clear the quantity and damaged mark set for the next item: what they were, in words
        ("" when none was set)."""
        dropped = [f"quantity {self._qty.pending}"] if self._qty.pending is not None else []
        dropped += ["damaged mark"] if self._damaged else []
        self._qty.clear()
        self._damaged = False
        return " and the ".join(dropped)

    def _done(self) -> Reply:
        if self._receipt is None:
            return self._ok("No receipt is open: nothing to close.")
        code = self._receipt.code
        if self._in_flight:
            return self._reply(
                error(f"Receives for {code} are still on their way: wait, then scan DONE again.")
            )
        receipt = self.ctx.data.receipt(code)
        if receipt is None or receipt.status != "open":
            dropped = self._leave()
            return self._warn(f"Receipt {code} is already closed; nothing to close.{dropped}")
        self._load(receipt)  # the database's figures win from here on
        checks = check_receipt(receipt)
        short = short_beyond(checks, self.ctx.policy.receipt_under)
        if not short:
            return self._close(checks, None)
        shortfall = ", ".join(f"{c.sku}: {c.received} of {c.expected}" for c in short)
        self._closing = checks
        self._approval = self._approval_for(
            f"closing receipt {code} short ({shortfall})", discrepancy_lines(checks, self._names)
        )
        return self._warn(
            f"Receipt {code} is short beyond the tolerance ({shortfall}): a supervisor must "
            "approve closing it. CANCEL keeps it open."
        )

    def _close(self, checks: Sequence[LineCheck], approved: Approved | None) -> Reply:
        assert self._receipt is not None
        code = self._receipt.code
        approved_by = approved.supervisor if approved else None
        close = CloseReceipt(
            **signed(self.ctx),
            receipt=code,
            approved_by=approved_by,
            approver_pin=approved.pin if approved else None,
        )
        dropped = self._leave()
        lines = discrepancy_lines(checks, self._names)
        self._report = lines
        short = sum(1 for c in checks if c.short)
        over = sum(1 for c in checks if c.over)
        if not short and not over:
            return self._reply(
                ok(f"Receipt {code} closed: everything as expected.{dropped}"), lines, (close,)
            )
        by = f", approved by {approved_by}" if approved_by else ""
        return self._reply(
            warning(
                f"Receipt {code} closed with discrepancies{by}: {short} short, {over} over."
                f"{dropped}"
            ),
            lines,
            (close,),
        )

    # --- items and tags ---

    def _item(self, scan: Interpretation) -> Reply:
        dock = self.ctx.station.dock
        if not dock:
            return self._fail(self._no_dock())
        item = resolve_item(self.ctx, scan)
        if isinstance(item, Feedback):
            return self._refuse(item.text)
        sku = item.sku.code
        self._names[sku] = item.sku.name
        problem = tracking_problem(item, self._qty.peek(item))
        if problem is not None:
            return self._refuse(problem.text)
        if self._receipt is not None and not self._receipt.expected(sku):
            return self._refuse(
                f"Scanned {describe(scan)}: {sku} is not on receipt {self._receipt.code}. "
                "Set it aside for a supervisor, or CANCEL the receipt and receive it blind."
            )
        label = scan.expiry or scan.best_before
        check = check_label(self._receipt, item.sku, item.lot, label, scan_day(scan))
        quarantine = self.ctx.station.quarantine
        if check.shelf is not None and not quarantine:
            return self._refuse(
                f"{sentence(check.shelf)}. Set it aside and call a supervisor: station "
                f"{self.ctx.station.code} has no quarantine location, so it cannot take this lot "
                "in."
            )
        target = quarantine if self._damaged or check.shelf is not None else dock
        assert target is not None  # DAMAGED is refused at a station without quarantine
        serials = (item.serial,) if item.serial else ()
        qty = self._qty.take(item)
        command = self._receive(sku, qty, target, item.lot, serials, check.expiry)
        line = Line(
            command,
            damaged=self._damaged,
            expired=check.expired,
            unlisted=check.unlisted,
            packs=item.packs(qty),
        )
        self._damaged = False
        return self._submit((line,), check.problem)

    def _refuse(self, text: str) -> Reply:
        """An item scan refused: the quantity and damaged mark set for it go with it, so that
        they never apply to whatever is scanned next."""
        dropped = self._drop_marks()
        if dropped:
            was = "were" if " and " in dropped else "was"
            text += f" The {dropped} {was} dropped with it: set it again for the next item."
        return self._fail(text)

    def _classify(self, tag: TagRead) -> _Tag:
        if not tag.gtin:
            return _Tag(tag, None, "not an item tag (no GTIN)")
        sku = self.ctx.data.sku_by_gtin(tag.gtin)
        if sku is None:
            return _Tag(tag, None, f"GTIN {tag.gtin} is not in the catalogue")
        self._names[sku.code] = sku.name
        if not tag.serial:
            return _Tag(tag, sku, f"{sku.code} tag without a serial number")
        if sku.tracking is Tracking.LOT:
            return _Tag(tag, sku, f"{sku.code} is tracked by lot: scan its GS1 label")
        if self._receipt is not None and not self._receipt.expected(sku.code):
            return _Tag(tag, sku, f"{sku.code} is not on receipt {self._receipt.code}")
        return _Tag(tag, sku)

    def _tag_groups(self) -> dict[str, list[_Tag]]:
        groups: dict[str, list[_Tag]] = {}
        for tag in self._tags.values():
            if tag.sku is not None and tag.problem is None:
                groups.setdefault(tag.sku.code, []).append(tag)
        return groups

    def _confirm_tags(self) -> Reply:
        dock = self.ctx.station.dock
        if not dock:
            return self._fail(self._no_dock())
        if self._damaged:
            return self._fail(
                "DAMAGED marks one scanned item, and tags are received onto the dock. "
                "UNDO the mark, or CANCEL the tags and scan the damaged item."
            )
        groups = self._tag_groups()
        if not groups:
            return self._fail(f"None of the {len(self._tags)} tag(s) can be received.")
        lines = []
        for code, tags in groups.items():
            by_serial = tags[0].sku is not None and tags[0].sku.tracking is Tracking.SERIAL
            serials = tuple(str(t.read.serial) for t in tags) if by_serial else ()
            command = self._receive(code, len(tags), dock, None, serials, None)
            lines.append(Line(command, frozenset(t.read.epc for t in tags)))
        left = len(self._tags) - sum(len(tags) for tags in groups.values())
        self._tags.clear()
        reply = self._submit(tuple(lines))
        if left and reply.feedback is None:
            text = f"{left} tag(s) not received: set those goods aside for a supervisor."
            return replace(reply, feedback=warning(text))
        return reply

    def _receive(
        self,
        sku: str,
        qty: int,
        to: str,
        lot: str | None,
        serials: tuple[str, ...],
        expiry: date | None,
    ) -> Receive:
        return Receive(
            **signed(self.ctx),
            sku=sku,
            qty=qty,
            lot=lot,
            serials=serials,
            expiry=expiry,
            to_location=to,
            receipt=self._receipt.code if self._receipt else None,
        )

    def _submit(self, lines: Sequence[Line], problem: str | None = None) -> Reply:
        """Send the receives, or hold them for a supervisor: beyond the receipt's tolerance, or
        an exception (`problem` says which: a lot not sellable, which goes to quarantine if
        accepted, or not as the receipt lists it)."""
        checked, overs = self._overs(lines)
        if not overs and problem is None:
            return self._emit(lines)
        self._held = tuple(checked)
        code = self._receipt.code if self._receipt else ""
        asks = [f"accepting {line.accepting()}" for line in checked if line.exception]
        asks += ["receiving " + " and ".join(overs)] if overs else []
        self._approval = self._approval_for(" and ".join(asks), self._lines())
        if problem is not None:
            into = " into quarantine" if any(line.expired for line in checked) else ""
            also = f" It is also {' and '.join(overs)} on receipt {code}." if overs else ""
            return self._fail(
                f"{problem}. Set it aside; a supervisor may accept it{into}: supervisor, scan "
                f"your badge; CANCEL to drop it.{also}"
            )
        return self._warn(
            f"That is {' and '.join(overs)} on receipt {code}, beyond the tolerance: "
            "a supervisor must approve. CANCEL drops this scan."
        )

    def _overs(self, lines: Sequence[Line]) -> tuple[list[Line], list[str]]:
        """The lines, marked when they go beyond the open receipt's tolerance, and those
        excesses in words."""
        receipt = self._receipt
        if receipt is None:
            return list(lines), []
        so_far = Counter(receipt.received) + self._tally
        for sent in self._in_flight.values():
            if sent.command.receipt == receipt.code:
                so_far[sent.command.sku] += sent.command.qty
        checked, overs = [], []
        for line in lines:
            expected = receipt.expected(line.command.sku)
            so_far[line.command.sku] += line.command.qty
            total = so_far[line.command.sku]
            over = total > expected and not self.ctx.policy.receipt_over.allows(expected, total)
            checked.append(replace(line, over=over))
            if over:
                overs.append(
                    f"{total - expected} over the expected {expected} of {line.command.sku}"
                )
        return checked, overs

    def _emit(self, lines: Sequence[Line]) -> Reply:
        for line in lines:
            self._in_flight[line.command.tx_id] = line
            self._received_epcs |= line.epcs
        return self._reply(commands=tuple(line.command for line in lines))

    # --- supervisor approval ---

    def _approval_for(self, what: str, lines: tuple[str, ...]) -> Approval:
        badge = self.ctx.operator.badge
        return Approval(self.ctx.data, self.ctx.pins, what, frozenset({badge}), lines)

    def _approval_step(self, result: Reply | Approved) -> Reply:
        if not isinstance(result, Approved):
            return result
        held, closing = self._held, self._closing
        self._approval, self._held, self._closing = None, (), ()
        if closing:
            return self._close(closing, result)
        approved = tuple(
            replace(
                line,
                command=replace(
                    line.command, approved_by=result.supervisor, approver_pin=result.pin
                ),
            )
            if line.over or line.exception
            else line
            for line in held
        )
        return self._emit(approved)

    def _drop_approval(self) -> Reply:
        what = self._approval.what if self._approval else ""
        aside = " Set the goods aside." if any(line.exception for line in self._held) else ""
        self._approval, self._held, self._closing = None, (), ()
        return self._ok(f"Cancelled {what}; nothing was sent.{aside}")

    def _approval_text(self) -> str:
        return (
            f"waiting for a supervisor to approve {self._approval.what}" if self._approval else ""
        )

    def _waiting(self, scan: Interpretation) -> Reply:
        return self._fail(
            f"Scanned {describe(scan)}, but the station is {self._approval_text()}. "
            "Supervisor: scan your badge; or CANCEL."
        )

    # --- what the station shows ---

    def _no_dock(self) -> str:
        return (
            f"Station {self.ctx.station.code} has no dock lane, so it cannot receive. Ask a "
            "supervisor to give it one, or receive at a dock station."
        )

    def _tags_waiting(self) -> str:
        return (
            f"{len(self._tags)} RFID tag(s) are waiting: CONFIRM receives them, CANCEL clears them."
        )

    def _prompt(self) -> str:
        if not self.ctx.station.dock:
            return "Receiving is not possible at this station: switch mode or log out."
        if self._tags:
            groups = self._tag_groups()
            parts = [f"{len(tags)} x {sku}" for sku, tags in groups.items()]
            bad = len(self._tags) - sum(len(tags) for tags in groups.values())
            parts += [f"{bad} not receivable"] if bad else []
            confirm = "CONFIRM receives them, " if groups else ""
            parts_text = ", ".join(parts)
            return (
                f"{len(self._tags)} tags in the field: {parts_text}. {confirm}CANCEL clears them."
            )
        item = "the next item"
        if self._damaged:
            item = f"the damaged item (to quarantine {self.ctx.station.quarantine})"
        if self._qty.pending is not None:
            item += f", quantity {self._qty.pending}"
        if self._receipt is not None:
            return f"Receipt {self._receipt.code}: scan {item}. DONE closes the receipt."
        return f"Scan a receipt to receive against it, or scan {item} to receive it blind."

    def _lines(self) -> tuple[str, ...]:
        lines: list[str] = []
        for sku, tags in self._tag_groups().items():
            lines.append(f"{named(sku, self._names)}: {len(tags)} tag(s)")
        lines += [f"Tag {t.read.epc}: {t.problem}" for t in self._tags.values() if t.problem]
        if self._receipt is not None:
            lines += progress_lines(check_receipt(self._receipt, self._tally), self._names)
        return tuple(lines)

    def _reply(
        self,
        feedback: Feedback | None = None,
        lines: tuple[str, ...] | None = None,
        commands: tuple[Command, ...] = (),
    ) -> Reply:
        if self._approval is not None:  # its prompt, lines and PIN keypad
            return replace(self._approval.prompt(), feedback=feedback, commands=commands)
        return Reply(self._prompt(), feedback, commands, self._lines() if lines is None else lines)

    def _ok(self, text: str) -> Reply:
        return self._reply(ok(text))

    def _warn(self, text: str) -> Reply:
        return self._reply(warning(text))

    def _fail(self, text: str) -> Reply:
        return self._reply(error(text))
