"""Customer returns (DESIGN.md sections 1 and 5): CUSTOMER -> the station's returns lane, then
an inspection that restocks the goods into a bin or scraps them.

The order a return belongs to is optional (scan it first; it stays for the next items until DONE
or CANCEL). Each item scan is one Return into the returns lane; once the ledger confirmed it (or
it is queued for the database), the worker inspects those goods: a bin scan moves them there, the
DAMAGED command scraps them. A station without a returns lane takes no returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from app.domain.commands import Command, Return, Scrap, Transfer
from app.domain.interpret import CommandName, Interpretation, Kind, StationMode
from app.domain.ledger import Outcome
from app.domain.model import Tracking
from app.domain.workflow import Entry, Feedback, Reply, TagRead, WorkContext, error, ok, warning
from app.domain.workflows.common import (
    Answers,
    Quantity,
    late_answer,
    no_tags,
    queued,
    resolve_item,
    signed,
    tracking_problem,
    unexpected,
)

SCRAP_REASON = "damaged on return"


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
    RETURNING = "returning"
    INSPECT = "inspect"
    PUTTING = "putting"
    """A restock or scrap is sent; waiting for the ledger."""


class ReturnWorkflow:
    """RETURN mode: (order,) item -> returns lane -> restock or scrap."""

    mode = StationMode.RETURN

    def __init__(self, ctx: WorkContext) -> None:
        self.ctx = ctx
        self.lane = ctx.station.returns
        self.step = Step.ITEM
        self.order: str | None = None
        self.goods: Returned | None = None
        self.qty = Quantity()
        self.answers = Answers()

    @property
    def wants_badge(self) -> bool:
        return False

    @property
    def busy(self) -> bool:
        return self.step is not Step.ITEM or self.order is not None

    def start(self) -> Reply:
        return self._reply(self._no_lane())

    def on_tags(self, tags: Sequence[TagRead]) -> Reply:
        return self._reply(no_tags("", tags).feedback)

    def on_entry(self, text: str) -> Reply:
        if self.step is not Step.ITEM:
            return self._reply(error("The keypad is not used while inspecting."))
        return self._reply(self.qty.enter(text))

    def on_scan(self, scan: Interpretation) -> Reply:
        refusal = self._no_lane()
        if refusal is not None:
            return self._reply(refusal)
        step, kind = self.step, scan.kind
        if kind is Kind.COMMAND:
            return self._command(scan)
        if step in (Step.RETURNING, Step.PUTTING):
            return self._reply(error("Wait: the ledger has not answered yet."))
        if step is Step.ITEM and kind is Kind.ORDER and scan.code:
            self.order = scan.code
            return self._reply(ok(f"Return for order {scan.code}: scan the returned items."))
        if step is Step.ITEM and kind in (Kind.ITEM, Kind.LPN):
            return self._item(scan)
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
        if step is Step.INSPECT and name is CommandName.DAMAGED:
            return self._scrap()
        return self._reply(unexpected(scan, self._expecting()))

    def _item(self, scan: Interpretation) -> Reply:
        assert self.lane is not None
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
        command = Return(
            **signed(self.ctx),
            sku=item.sku.code,
            qty=qty,
            lot=lot,
            serials=serials,
            to_location=self.lane,
            order=self.order,
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
        if self.step is Step.INSPECT and self.goods is not None:
            goods, self.goods, self.step = self.goods, None, Step.ITEM
            return self._reply(
                warning(f"{goods} stay in {self.lane}, not inspected: move them from there later.")
            )
        if self.step is Step.ITEM and self.order is not None:
            order, self.order = self.order, None
            return self._reply(ok(f"Left the return for order {order}."))
        return self._reply(ok("Nothing to cancel."))

    def on_outcome(self, command: Command, outcome: Outcome | None) -> Reply:
        goods = self.goods
        if not self.answers.take(command, outcome) or goods is None:
            return self._reply(late_answer(command, outcome))
        self.answers.clear()
        refused = outcome is not None and not outcome.ok
        message = outcome.message if outcome is not None else ""
        if isinstance(command, Return):
            if refused:
                self.step, self.goods = Step.ITEM, None
                return self._reply(
                    error(
                        f"Return of {goods} refused: {message}. Set the goods aside for a "
                        "supervisor, or scan them again."
                    )
                )
            self.step = Step.INSPECT
            if outcome is None:
                return self._reply(queued(f"Return of {goods}"))
            return self._reply(ok(f"Returned {goods} to {self.lane}."))
        scrap = isinstance(command, Scrap)
        where = f" into {command.to_location}" if isinstance(command, Transfer) else ""
        doing = f"{'Scrapping' if scrap else 'Restocking'} {goods}{where}"
        if refused:
            self.step = Step.INSPECT
            return self._reply(error(f"{doing} was refused: {message}. Try again."))
        self.step, self.goods = Step.ITEM, None
        if outcome is None:
            return self._reply(queued(doing))
        return self._reply(ok(f"{'Scrapped' if scrap else 'Restocked'} {goods}{where}."))

    def _no_lane(self) -> Feedback | None:
        if self.lane:
            return None
        return error(
            f"Station {self.ctx.station.code} has no returns lane, so it takes no returns. Ask a "
            "supervisor to set one up, or switch to another mode."
        )

    def _expecting(self) -> str:
        if self.step is Step.ITEM:
            return "a returned item (or its order first)"
        if self.step is Step.INSPECT:
            return "a bin to restock the goods into, or DAMAGED to scrap them"
        return "nothing until the ledger has answered"

    def _reply(self, feedback: Feedback | None = None, commands: tuple[Command, ...] = ()) -> Reply:
        lines = (f"Order {self.order}",) if self.order else ()
        if not self.lane:
            return Reply("No returns at this station.", feedback)
        if self.step is Step.INSPECT and self.goods is not None:
            prompt = f"Inspect {self.goods}: scan a bin to restock it, or DAMAGED to scrap it."
            return Reply(prompt, feedback, commands, (*lines, f"In {self.lane}: {self.goods}"))
        if self.step in (Step.RETURNING, Step.PUTTING):
            return Reply("Wait for the ledger.", feedback, commands, lines)
        prompt = "Scan the returned item (or its order first; QTY for several)."
        return Reply(prompt, feedback, commands, lines, Entry.QUANTITY)
