"""Shipping (DESIGN.md section 1, issue 9): scan a picked order, or the outbound location or tote
that holds it; the screen shows per line what is staged against what was ordered; CONFIRM ships
everything staged (outbound -> CUSTOMER) in one ShipOrder, and the order becomes shipped.

The ledger decides whether lines are short beyond the tolerance: it refuses with
approval_required, the station asks for a supervisor (badge and PIN, not the operator) and sends
a new ShipOrder that names them. CANCELORDER, with an order on screen, cancels it (at once for a
supervisor, otherwise with a supervisor's approval) and lists the picked goods the putaway screen
offers back to stock. Every refusal leaves the station ready for the next order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from app.domain.approval import Approval, Approved
from app.domain.commands import CancelOrder, Command, ShipOrder
from app.domain.errors import Reason
from app.domain.interpret import CommandName, Interpretation, Kind, StationMode
from app.domain.ledger import Outcome
from app.domain.model import Role
from app.domain.orders import OrderState, state_refusal
from app.domain.workflow import (
    Feedback,
    Reply,
    Shipment,
    TagRead,
    WorkContext,
    error,
    ok,
    warning,
)
from app.domain.workflows.common import (
    Answers,
    late_answer,
    no_tags,
    queued,
    signed,
    unexpected,
)

WAITING_SHOWN = 10
STAGING_KINDS = ("outbound", "staging")


class Step(StrEnum):
    ORDER = "order"
    """Waiting for an order, or the outbound location or tote that holds one."""
    READY = "ready"
    """An order is on screen: CONFIRM ships it, CANCEL leaves it, CANCELORDER cancels it."""
    APPROVAL = "approval"
    """A supervisor approves shipping short, or cancelling the order."""
    SENDING = "sending"
    """A ShipOrder or CancelOrder waits for the ledger."""


EXPECTING = {
    Step.ORDER: "an order barcode, or the outbound location or tote that holds the order",
    Step.READY: "CONFIRM to ship, CANCEL, or another order",
    Step.APPROVAL: "a supervisor's badge and PIN, or CANCEL",
    Step.SENDING: "nothing until the ledger has answered",
}


class ShipWorkflow:
    """SHIP mode: order (or its outbound location) -> staged against ordered -> CONFIRM."""

    mode = StationMode.SHIP

    def __init__(self, ctx: WorkContext) -> None:
        self.ctx = ctx
        self.step = Step.ORDER
        self.shipment: Shipment | None = None
        self.approval: Approval | None = None
        self.cancelling = False
        """What the approval (or the command sent) is for: cancelling, not shipping."""
        self.answers = Answers()

    @property
    def wants_badge(self) -> bool:
        return self.approval is not None and self.approval.badge is None

    @property
    def busy(self) -> bool:
        return self.step is not Step.ORDER or bool(self.answers.waiting)

    def start(self) -> Reply:
        return self._reply()

    def on_tags(self, tags: Sequence[TagRead]) -> Reply:
        return self._reply(no_tags("", tags).feedback)

    def on_entry(self, text: str) -> Reply:
        if self.approval is not None:
            return self._approval_step(self.approval.on_entry(text))
        return self._reply(
            error(f"The keypad is not used here: this step needs {EXPECTING[self.step]}.")
        )

    # --- scans ---

    def on_scan(self, scan: Interpretation) -> Reply:
        kind, code = scan.kind, scan.code
        if self.approval is not None:
            if kind is Kind.COMMAND and scan.command is CommandName.CANCEL:
                return self._drop_approval()
            if kind is Kind.COMMAND:
                return self._reply(unexpected(scan, EXPECTING[Step.APPROVAL]))
            return self._approval_step(self.approval.on_scan(scan))
        if kind is Kind.COMMAND:
            return self._command(scan)
        if self.step is Step.SENDING:
            return self._reply(unexpected(scan, EXPECTING[Step.SENDING]))
        if kind is Kind.ORDER and code:
            return self._show(code)
        if kind is Kind.LOCATION and code:
            return self._location(code)
        return self._reply(unexpected(scan, EXPECTING[self.step]))

    def _command(self, scan: Interpretation) -> Reply:
        name = scan.command
        if name is CommandName.CANCEL:
            return self._cancel()
        if self.step is Step.SENDING:
            return self._reply(unexpected(scan, EXPECTING[Step.SENDING]))
        if name is CommandName.CONFIRM:
            return self._confirm()
        if name is CommandName.CANCELORDER:
            return self._cancel_order()
        return self._reply(unexpected(scan, EXPECTING[self.step]))

    def _show(self, code: str, via: str | None = None) -> Reply:
        """Put the order on screen, or say why it cannot be shipped."""
        shipment = self.ctx.data.shipment(code)
        if shipment is None:
            self._leave()
            return self._reply(
                error(
                    f"Scanned order {code}, but no such order is known. Check the order number "
                    "on the paperwork, or scan another order."
                )
            )
        state = shipment.state
        if state in (OrderState.SHIPPED, OrderState.CANCELLED):
            self._leave()
            return self._reply(error(state_refusal(code, state, "ship")))
        self.shipment, self.step = shipment, Step.READY
        problem = self._not_shippable(shipment)
        if problem is not None:
            return self._reply(error(problem))
        staged = sum(line.staged for line in shipment.lines)
        where = ", ".join(shipment.locations)
        held = f"{via} holds {code}: " if via else ""
        text = f"{held}{staged} unit(s) of {code} staged in {where}."
        short = [line for line in shipment.lines if line.staged < line.ordered]
        if short:
            return self._reply(
                warning(
                    f"{text} {len(short)} line(s) short: CONFIRM ships what is staged (beyond "
                    "the tolerance a supervisor must approve), or pick the rest first."
                )
            )
        return self._reply(ok(f"{text} CONFIRM to ship."))

    def _location(self, code: str) -> Reply:
        kind = self.ctx.data.location_kind(code)
        if kind not in STAGING_KINDS:
            return self._reply(
                error(
                    f"Scanned location {code} (a {kind or 'unknown location'}), but shipping "
                    "starts from an order, or the outbound location or tote that holds it. Scan "
                    "the order's barcode."
                )
            )
        orders = self.ctx.data.orders_at(code)
        if not orders:
            return self._reply(
                error(
                    f"{code} holds nothing picked for an order. Scan the order's barcode, or the "
                    "location that holds its picks."
                )
            )
        if len(orders) > 1:
            return self._reply(error(f"{code} holds {', '.join(orders)}: scan the order."))
        return self._show(orders[0], via=code)

    def _not_shippable(self, shipment: Shipment) -> str | None:
        """Why the order on screen cannot ship now (it can still be cancelled), or None."""
        code, state = shipment.order, shipment.state
        cancel = " A supervisor may cancel it: CANCELORDER."
        if state is not OrderState.PICKED:
            return state_refusal(code, state, "ship", shipment.claim) + cancel
        if not shipment.staged:
            return (
                f"Nothing of {code} stands in an outbound location: its picks were moved or put "
                f"back.{cancel}"
            )
        return None

    # --- confirm, cancel, cancel the order ---

    def _confirm(self) -> Reply:
        shipment = self.shipment
        if self.step is not Step.READY or shipment is None:
            return self._reply(error("Scan the order to ship first, then CONFIRM."))
        problem = self._not_shippable(shipment)
        if problem is not None:
            return self._reply(error(problem))
        return self._send(ShipOrder(**signed(self.ctx), order=shipment.order))

    def _cancel_order(self) -> Reply:
        shipment = self.shipment
        if self.step is not Step.READY or shipment is None:
            return self._reply(error("Scan the order to cancel first, then CANCELORDER."))
        self.cancelling = True
        if self.ctx.operator.role is Role.SUPERVISOR:
            return self._send(self._cancel_command(None))
        operator = self.ctx.operator
        self.approval = Approval(
            self.ctx.data,
            self.ctx.pins,
            f"cancelling order {shipment.order}",
            frozenset({operator.badge}),
            self._lines(),
        )
        self.step = Step.APPROVAL
        return self._reply(
            warning(
                f"{operator.name} ({operator.role.value}) may not cancel {shipment.order} alone: "
                "a supervisor must approve."
            )
        )

    def _cancel_command(self, approved: Approved | None) -> CancelOrder:
        assert self.shipment is not None
        return CancelOrder(
            **signed(self.ctx),
            order=self.shipment.order,
            reason=f"cancelled at station {self.ctx.station.code}",
            approved_by=approved.supervisor if approved else None,
            approver_pin=approved.pin if approved else None,
        )

    def _cancel(self) -> Reply:
        if self.step is Step.SENDING:
            return self._reply(error("Wait: the ledger has not answered yet."))
        if self.shipment is not None:
            order = self.shipment.order
            self._leave()
            return self._reply(ok(f"Left order {order}: nothing was shipped."))
        return self._reply(ok("Nothing to cancel."))

    # --- supervisor approval ---

    def _approval_step(self, result: Reply | Approved) -> Reply:
        if not isinstance(result, Approved):
            return result
        self.approval = None
        if self.cancelling:
            return self._send(self._cancel_command(result))
        assert self.shipment is not None
        command = ShipOrder(
            **signed(self.ctx),
            order=self.shipment.order,
            approved_by=result.supervisor,
            approver_pin=result.pin,
        )
        return self._send(command)

    def _drop_approval(self) -> Reply:
        assert self.shipment is not None
        what = "cancelled" if self.cancelling else "shipped"
        self.approval, self.cancelling, self.step = None, False, Step.READY
        return self._reply(warning(f"{self.shipment.order} was not {what}: nothing was sent."))

    # --- the ledger's answers ---

    def _send(self, command: Command) -> Reply:
        self.step = Step.SENDING
        return self._reply(commands=self.answers.send(command))

    def on_outcome(self, command: Command, outcome: Outcome | None) -> Reply:
        if not self.answers.take(command, outcome):
            return self._reply(late_answer(command, outcome))
        self.answers.clear()
        if isinstance(command, ShipOrder):
            return self._shipped(command, outcome)
        if isinstance(command, CancelOrder):
            return self._cancelled(command, outcome)
        return self._reply(late_answer(command, outcome))

    def _shipped(self, command: ShipOrder, outcome: Outcome | None) -> Reply:
        order = command.order
        if outcome is None:
            self._leave()
            return self._reply(queued(f"Shipping {order}"))
        approval = outcome.reason == Reason.APPROVAL_REQUIRED.value
        if not outcome.ok and approval and command.approved_by is None:
            lines = _report(outcome.result, staged=True) or self._lines()
            self.approval = Approval(
                self.ctx.data,
                self.ctx.pins,
                f"shipping {order} short",
                frozenset({self.ctx.operator.badge}),
                lines,
            )
            self.step = Step.APPROVAL
            return self._reply(warning(f"{order} is not shipped yet: {outcome.message}"))
        self._leave()
        if not outcome.ok:
            return self._reply(error(f"{order} was not shipped: {outcome.message}"))
        by = f", approved by {command.approved_by}" if command.approved_by else ""
        report = outcome.result.get("lines", ())
        units = sum(int(line["shipped"]) for line in report)
        short = sum(int(line.get("short", 0)) for line in report)
        closed = f", {short} closed short" if short else ""
        return self._reply(
            ok(f"Shipped {order}{by}: {units} unit(s) to the customer{closed}."),
            extra=_report(outcome.result, staged=False),
        )

    def _cancelled(self, command: CancelOrder, outcome: Outcome | None) -> Reply:
        order = command.order
        self._leave()
        if outcome is None:
            return self._reply(queued(f"Cancelling {order}"))
        if not outcome.ok:
            return self._reply(error(f"{order} was not cancelled: {outcome.message}"))
        putaway = [_goods(p) for p in outcome.result.get("putaway", ())]
        by = f", approved by {command.approved_by}" if command.approved_by else ""
        text = f"Cancelled {order}{by}."
        if putaway:
            text += " Put its picked goods back to stock: the putaway screen offers them."
        lines = tuple(f"put back: {goods} (the putaway screen offers them)" for goods in putaway)
        return self._reply(ok(text), extra=lines)

    # --- what the station shows ---

    def _leave(self) -> None:
        self.shipment, self.approval, self.cancelling = None, None, False
        self.step = Step.ORDER

    def _reply(
        self,
        feedback: Feedback | None = None,
        commands: tuple[Command, ...] = (),
        extra: tuple[str, ...] = (),
    ) -> Reply:
        if self.approval is not None:
            asked = self.approval.prompt()
            return Reply(asked.prompt, feedback, commands, asked.lines, asked.entry)
        return Reply(self._prompt(), feedback, commands, self._lines() + extra)

    def _prompt(self) -> str:
        shipment = self.shipment
        if self.step is Step.ORDER or shipment is None:
            return "Scan the order to ship, or the outbound location or tote that holds it."
        code = shipment.order
        if self.step is Step.SENDING:
            doing = "Cancelling" if self.cancelling else "Shipping"
            return f"{doing} {code}: wait for the ledger."
        if self._not_shippable(shipment) is not None:
            return f"{code} cannot ship now: scan another order, or CANCELORDER to cancel it."
        return f"CONFIRM to ship {code}, or CANCEL to leave it."

    def _lines(self) -> tuple[str, ...]:
        shipment = self.shipment
        if shipment is None:
            waiting = self.ctx.data.shippable_orders(WAITING_SHOWN)
            return (f"Picked, waiting to ship: {', '.join(waiting)}",) if waiting else ()
        lines = [f"Order {shipment.order} ({shipment.state.value})"]
        for line in shipment.lines:
            short = line.ordered - line.staged
            note = f" ({short} short)" if short > 0 else ""
            lines.append(
                f"line {line.line} {line.sku}: staged {line.staged} of {line.ordered} ordered{note}"
            )
        if shipment.locations:
            lines.append(f"Staged in {', '.join(shipment.locations)}")
        return tuple(lines)


def _report(result: Mapping[str, Any], staged: bool) -> tuple[str, ...]:
    """The ledger's per-line report of a ShipOrder: what would ship (staged) or what shipped."""
    out = []
    for line in result.get("lines", ()):
        what = "staged" if staged else "shipped"
        short = int(line.get("short", 0))
        note = f" ({short} short)" if short else ""
        out.append(
            f"line {line['line']} {line['sku']}: {what} {line['shipped']} of "
            f"{line['ordered']} ordered{note}"
        )
    return tuple(out)


def _goods(putaway: Mapping[str, Any]) -> str:
    lot = f" lot {putaway['lot']}" if putaway.get("lot") else ""
    return f"{putaway['qty']} x {putaway['sku']}{lot} in {putaway['location']}"
