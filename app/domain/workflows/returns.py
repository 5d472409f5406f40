"""Customer returns (DESIGN.md sections 1 and 5): CUSTOMER -> the station's returns lane, then
an inspection that restocks the goods into a bin or scraps them.

A customer return names its order (scan it first; it stays for the next items until DONE or
CANCEL). Each item scan asks for the reason code (`@CMD:REASON:...`), then sends one Return into
the returns lane. The ledger checks it against what the order shipped: an item or a quantity the
order never shipped is refused (not_shipped), and a supervisor (badge + PIN, not the operator)
may accept the goods as an unexpected return, as may they for goods scanned with no order. Once
the ledger confirmed the return (or it is queued for the database), the worker inspects the
goods: a bin scan moves them there, DAMAGED then CONFIRM scraps them. A station without a
returns lane takes no returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from app.domain.approval import Approval, Approved
from app.domain.commands import Command, Return, ReturnReason, Scrap, Transfer
from app.domain.errors import Reason
from app.domain.interpret import CommandName, Interpretation, Kind, StationMode
from app.domain.ledger import Outcome
from app.domain.model import Tracking
from app.domain.workflow import (
    Entry,
    Feedback,
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
    describe,
    late_answer,
    no_tags,
    queued,
    resolve_item,
    signed,
    tracking_problem,
    unexpected,
)

SCRAP_REASON = "damaged on return"
REASONS = ", ".join(r.value.upper() for r in ReturnReason)
"""The reason codes a return takes, as printed on the command sheet."""


@dataclass(frozen=True, slots=True)
class Returned:
    """Goods taken back into the returns lane, waiting for inspection."""

    sku: str
    qty: int
    lot: str | None
    serials: tuple[str, ...]

    def __str__(self) -> str:
        lot = f" lot {self.lot}" if self.lot else ""
        return f"{self.qty} x {self.sku}{lot}"


class Step(StrEnum):
    ITEM = "item"
    REASON = "reason"
    """The goods are scanned; waiting for the reason code."""
    RETURNING = "returning"
    OFFER = "offer"
    """The goods are not (or not yet) part of the order's shipment: a supervisor may accept them
    (CONFIRM or their badge), or CANCEL sets them aside."""
    APPROVAL = "approval"
    INSPECT = "inspect"
    SCRAP = "scrap"
    """DAMAGED was scanned at inspection: waiting for CONFIRM (or CANCEL)."""
    PUTTING = "putting"
    """A restock or scrap is sent; waiting for the ledger."""


def return_reason(scan: Interpretation) -> ReturnReason | None:
    """The return reason a command scan gives: `@CMD:REASON:<CODE>`, or DAMAGED on its own."""
    if scan.command is CommandName.DAMAGED:
        return ReturnReason.DAMAGED
    if scan.command is CommandName.REASON and scan.command_arg:
        try:
            return ReturnReason(scan.command_arg.lower())
        except ValueError:
            return None
    return None


class ReturnWorkflow:
    """RETURN mode: order -> item -> reason -> returns lane -> restock or scrap."""

    mode = StationMode.RETURN

    def __init__(self, ctx: WorkContext) -> None:
        self.ctx = ctx
        self.lane = ctx.station.returns
        self.step = Step.ITEM
        self.order: str | None = None
        self.goods: Returned | None = None
        self.reason: ReturnReason | None = None
        self.approved: Approved | None = None
        """The supervisor who accepted the goods in hand as an unexpected return."""
        self.approval: Approval | None = None
        self.qty = Quantity()
        self.answers = Answers()

    @property
    def wants_badge(self) -> bool:
        if self.step is Step.OFFER:
            return True
        return self.approval is not None and self.approval.badge is None

    @property
    def busy(self) -> bool:
        return self.step is not Step.ITEM or self.order is not None

    def start(self) -> Reply:
        return self._reply(self._no_lane())

    def on_tags(self, tags: Sequence[TagRead]) -> Reply:
        return self._reply(no_tags("", tags).feedback)

    def on_entry(self, text: str) -> Reply:
        if self.step is Step.APPROVAL and self.approval is not None:
            return self._approval_step(self.approval.on_entry(text))
        if self.step is not Step.ITEM:
            return self._reply(error("The keypad is not used at this step."))
        return self._reply(self.qty.enter(text))

    def on_scan(self, scan: Interpretation) -> Reply:
        refusal = self._no_lane()
        if refusal is not None:
            return self._reply(refusal)
        step, kind = self.step, scan.kind
        if step is Step.APPROVAL:
            return self._approving(scan)
        if kind is Kind.COMMAND:
            return self._command(scan)
        if step in (Step.RETURNING, Step.PUTTING):
            return self._reply(error("Wait: the ledger has not answered yet."))
        if step is Step.ITEM and kind is Kind.ORDER and scan.code:
            self.order = scan.code
            return self._reply(ok(f"Return for order {scan.code}: scan the returned items."))
        if step is Step.ITEM and kind in (Kind.ITEM, Kind.LPN):
            return self._item(scan)
        if step is Step.OFFER and kind is Kind.BADGE:
            self._ask_approval()
            return self._approving(scan)
        if step is Step.OFFER and kind is Kind.ORDER and scan.code and self.reason is None:
            # Goods scanned with no order: the worker found the order after all.
            self.order, self.step = scan.code, Step.REASON
            return self._reply(ok(f"{self.goods} for order {scan.code}: scan the reason code."))
        if step is Step.INSPECT and kind is Kind.LOCATION and scan.code:
            return self._restock(scan.code)
        return self._reply(unexpected(scan, self._expecting()))

    def _command(self, scan: Interpretation) -> Reply:
        name, step = scan.command, self.step
        if name is CommandName.CANCEL:
            return self._cancel()
        if step is Step.ITEM and name is CommandName.QTY and scan.quantity:
            self.qty.set(scan.quantity)
            return self._reply(ok(f"The next item scan counts {scan.quantity}."))
        if step is Step.ITEM and name is CommandName.DONE:
            order, self.order = self.order, None
            return self._reply(ok(f"Return for {order} done." if order else "Ready."))
        if step is Step.REASON and name in (CommandName.REASON, CommandName.DAMAGED):
            return self._reason(scan)
        if step is Step.OFFER and name is CommandName.CONFIRM:
            self._ask_approval()
            return self._reply()
        if step is Step.INSPECT and name is CommandName.DAMAGED:
            self.step = Step.SCRAP
            return self._reply(
                warning(f"Scrap {self.goods}? CONFIRM to scrap, CANCEL to keep inspecting.")
            )
        if step is Step.SCRAP and name is CommandName.CONFIRM:
            return self._scrap()
        return self._reply(unexpected(scan, self._expecting()))

    # --- steps ---

    def _item(self, scan: Interpretation) -> Reply:
        item = resolve_item(self.ctx, scan)
        if isinstance(item, Feedback):
            return self._reply(item)
        qty = self.qty.peek(item)
        problem = tracking_problem(item, qty)
        if problem is not None:
            return self._reply(problem)
        self.qty.take(item)
        tracking = item.sku.tracking
        serials = (item.serial,) if item.serial and tracking is Tracking.SERIAL else ()
        lot = item.lot if tracking is not Tracking.NONE else None
        self.goods = Returned(item.sku.code, qty, lot, serials)
        self.reason, self.approved = None, None
        if self.order is None:
            self.step = Step.OFFER
            return self._reply(
                error(
                    f"Scanned {describe(scan)} with no order: a customer return names its order. "
                    "Scan the order the goods came from first; a supervisor may accept goods "
                    "without an order as an unexpected return (CONFIRM, or the supervisor scans "
                    "their badge). CANCEL sets the goods aside."
                )
            )
        self.step = Step.REASON
        goods = f"{self.goods}{item.packs(qty)}"
        return self._reply(ok(f"{goods} for order {self.order}: scan the reason code."))

    def _reason(self, scan: Interpretation) -> Reply:
        reason = return_reason(scan)
        if reason is None:
            return self._reply(
                error(
                    f"Scanned {describe(scan)}: that is not a return reason. Scan one of "
                    f"{REASONS} (@CMD:REASON:...), or CANCEL."
                )
            )
        self.reason = reason
        return self._send_return(self.approved)

    def _send_return(self, approved: Approved | None) -> Reply:
        goods, lane = self.goods, self.lane
        assert goods is not None and lane is not None
        command = Return(
            **signed(self.ctx),
            sku=goods.sku,
            qty=goods.qty,
            lot=goods.lot,
            serials=goods.serials,
            to_location=lane,
            order=self.order,
            reason=self.reason,
            approved_by=approved.supervisor if approved else None,
            approver_pin=approved.pin if approved else None,
        )
        self.step = Step.RETURNING
        return self._reply(commands=self.answers.send(command))

    def _restock(self, code: str) -> Reply:
        goods, lane = self.goods, self.lane
        assert goods is not None and lane is not None
        kind = self.ctx.data.location_kind(code)
        if code == lane or kind != "bin":
            return self._reply(
                error(
                    f"Scanned location {code} (a {kind}), but restocked goods go into a bin: "
                    "scan a bin label, or DAMAGED to scrap them."
                )
            )
        command = Transfer(
            **signed(self.ctx),
            sku=goods.sku,
            qty=goods.qty,
            lot=goods.lot,
            serials=goods.serials,
            from_location=lane,
            to_location=code,
        )
        self.step = Step.PUTTING
        return self._reply(commands=self.answers.send(command))

    def _scrap(self) -> Reply:
        goods, lane = self.goods, self.lane
        assert goods is not None and lane is not None
        command = Scrap(
            **signed(self.ctx),
            sku=goods.sku,
            qty=goods.qty,
            lot=goods.lot,
            serials=goods.serials,
            from_location=lane,
            reason=SCRAP_REASON,
        )
        self.step = Step.PUTTING
        return self._reply(commands=self.answers.send(command))

    def _cancel(self) -> Reply:
        self.qty.clear()
        goods, step = self.goods, self.step
        if step is Step.SCRAP:
            self.step = Step.INSPECT
            return self._reply(ok(f"{goods} not scrapped: keep inspecting."))
        if step is Step.INSPECT and goods is not None:
            self.goods, self.step = None, Step.ITEM
            return self._reply(
                warning(f"{goods} stay in {self.lane}, not inspected: move them from there later.")
            )
        if step in (Step.REASON, Step.OFFER) and goods is not None:
            self._drop_goods()
            if step is Step.REASON:
                return self._reply(ok(f"Return of {goods} cancelled; nothing was sent."))
            return self._reply(
                warning(f"{goods} not returned: set the goods aside for a supervisor.")
            )
        if step is Step.ITEM and self.order is not None:
            order, self.order = self.order, None
            return self._reply(ok(f"Left the return for order {order}."))
        return self._reply(ok("Nothing to cancel."))

    def _drop_goods(self) -> None:
        self.goods, self.reason, self.approved, self.approval = None, None, None, None
        self.step = Step.ITEM

    # --- supervisor acceptance of an unexpected return ---

    def _ask_approval(self) -> None:
        where = f" for {self.order}" if self.order else " with no order"
        self.approval = Approval(
            self.ctx.data,
            self.ctx.pins,
            f"accepting {self.goods}{where} as an unexpected return",
            frozenset({self.ctx.operator.badge}),
            self._lines(),
        )
        self.step = Step.APPROVAL

    def _approving(self, scan: Interpretation) -> Reply:
        assert self.approval is not None
        if scan.kind is Kind.COMMAND and scan.command is CommandName.CANCEL:
            self.approval, self.step = None, Step.OFFER
            return self._reply(
                ok("No supervisor approval: CONFIRM to ask again, or CANCEL to set them aside.")
            )
        if scan.kind is Kind.COMMAND:
            return self._reply(
                error(
                    f"Scanned {describe(scan)}, but the station is waiting for a supervisor to "
                    f"approve {self.approval.what}. Supervisor: scan your badge; or CANCEL."
                )
            )
        return self._approval_step(self.approval.on_scan(scan))

    def _approval_step(self, result: Reply | Approved) -> Reply:
        if not isinstance(result, Approved):
            return result
        self.approval = None
        if self.reason is None:  # goods with no order: the reason comes next
            self.approved, self.step = result, Step.REASON
            return self._reply(
                ok(f"{result.supervisor} accepts {self.goods} as an unexpected return.")
            )
        return self._send_return(result)

    # --- the ledger's answers ---

    def on_outcome(self, command: Command, outcome: Outcome | None) -> Reply:
        goods = self.goods
        if not self.answers.take(command, outcome) or goods is None:
            return self._reply(late_answer(command, outcome))
        self.answers.clear()
        refused = outcome is not None and not outcome.ok
        message = outcome.message.rstrip(".") if outcome is not None else ""
        if isinstance(command, Return):
            return self._returned(command, goods, outcome)
        scrap = isinstance(command, Scrap)
        where = f" into {command.to_location}" if isinstance(command, Transfer) else ""
        doing = f"{'Scrapping' if scrap else 'Restocking'} {goods}{where}"
        if refused:
            self.step = Step.INSPECT
            return self._reply(error(f"{doing} was refused: {message}. Try again."))
        self._drop_goods()
        if outcome is None:
            return self._reply(queued(doing))
        return self._reply(ok(f"{'Scrapped' if scrap else 'Restocked'} {goods}{where}."))

    def _returned(self, command: Return, goods: Returned, outcome: Outcome | None) -> Reply:
        if outcome is not None and not outcome.ok:
            message = outcome.message.rstrip(".")
            if outcome.reason == Reason.NOT_SHIPPED.value and command.approved_by is None:
                self.step = Step.OFFER
                return self._reply(
                    error(
                        f"Return of {goods} refused: {message}. CONFIRM (or a supervisor's "
                        "badge) to accept them now; CANCEL sets them aside."
                    )
                )
            self._drop_goods()
            return self._reply(
                error(
                    f"Return of {goods} refused: {message}. Set the goods aside for a "
                    "supervisor, or scan them again."
                )
            )
        self.step, self.approval = Step.INSPECT, None
        if outcome is None:
            return self._reply(queued(f"Return of {goods}"))
        if outcome.result.get("unexpected") or command.approved_by:
            return self._reply(
                ok(
                    f"Returned {goods} to {self.lane} as an unexpected return, accepted by "
                    f"{command.approved_by}."
                )
            )
        return self._reply(ok(f"Returned {goods} to {self.lane}."))

    # --- what the station shows ---

    def _no_lane(self) -> Feedback | None:
        if self.lane:
            return None
        return error(
            f"Station {self.ctx.station.code} has no returns lane, so it takes no returns. Ask a "
            "supervisor to set one up, or switch to another mode."
        )

    def _expecting(self) -> str:
        step = self.step
        if step is Step.ITEM:
            return "a returned item" if self.order else "the order the goods came from"
        if step is Step.REASON:
            return f"the reason code ({REASONS}), or CANCEL"
        if step is Step.OFFER:
            order = " or the order they came from" if self.reason is None else ""
            return f"CONFIRM or a supervisor's badge to accept the goods{order}, or CANCEL"
        if step is Step.INSPECT:
            return "a bin to restock the goods into, or DAMAGED to scrap them"
        if step is Step.SCRAP:
            return "CONFIRM to scrap the goods, or CANCEL to keep inspecting"
        return "nothing until the ledger has answered"

    def _lines(self) -> tuple[str, ...]:
        lines = (f"Order {self.order}",) if self.order else ()
        goods = self.goods
        if goods is None:
            return lines
        if self.step in (Step.INSPECT, Step.SCRAP, Step.PUTTING):
            return (*lines, f"In {self.lane}: {goods}")
        why = f" ({self.reason.value.replace('_', ' ')})" if self.reason else ""
        accepted = f", accepted by {self.approved.supervisor}" if self.approved else ""
        return (*lines, f"Returning {goods}{why}{accepted}")

    def _reply(self, feedback: Feedback | None = None, commands: tuple[Command, ...] = ()) -> Reply:
        if not self.lane:
            return Reply("No returns at this station.", feedback)
        lines, goods, step = self._lines(), self.goods, self.step
        if step is Step.APPROVAL and self.approval is not None:
            return replace(self.approval.prompt(), feedback=feedback, commands=commands)
        if step is Step.REASON:
            prompt = f"Why did {goods} come back? Scan the reason: {REASONS}."
            return Reply(prompt, feedback, commands, lines)
        if step is Step.OFFER:
            order = "Scan the order, or " if self.reason is None else ""
            prompt = f"{order}CONFIRM for a supervisor to accept {goods}; CANCEL sets them aside."
            return Reply(prompt, feedback, commands, lines)
        if step is Step.INSPECT and goods is not None:
            prompt = f"Inspect {goods}: scan a bin to restock it, or DAMAGED to scrap it."
            return Reply(prompt, feedback, commands, lines)
        if step is Step.SCRAP:
            prompt = f"Scrap {goods}? CONFIRM to scrap, CANCEL to keep inspecting."
            return Reply(prompt, feedback, commands, lines)
        if step in (Step.RETURNING, Step.PUTTING):
            return Reply("Wait for the ledger.", feedback, commands, lines)
        if self.order is None:
            prompt = "Scan the order the returned goods came from."
        else:
            prompt = f"Scan the returned items of {self.order} (QTY for several); DONE when done."
        return Reply(prompt, feedback, commands, lines, Entry.QUANTITY)
