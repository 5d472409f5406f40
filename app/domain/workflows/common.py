"""Pieces every workflow uses: naming what was scanned, resolving an item scan to a SKU and its
pack, the quantity for the next item in units, and the answer to an input a step does not take.

Packs: every barcode stands for `pack` units of its SKU (a case GTIN of 12: 12; a unit's own
barcode: 1). A count on the label (GS1 (37)) or a quantity set by QTY or the keypad counts packs
of the barcode scanned next, so QTY 3 and a case of 12 is 36 units; a bare scan of a case is one
case; a bare scan of a unit barcode is the step's own default (1, or what putaway suggests).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypedDict

from app.domain.commands import Command, new_tx_id
from app.domain.interpret import Interpretation, Kind
from app.domain.ledger import Outcome
from app.domain.model import Tracking
from app.domain.quantities import MAX_QUANTITY
from app.domain.workflow import (
    Feedback,
    Level,
    Reply,
    SkuInfo,
    TagRead,
    WorkContext,
    error,
    ok,
    warning,
)


def describe(scan: Interpretation) -> str:
    """What the station took a scan for, in a few words, for messages and the scan list."""
    if scan.kind is Kind.COMMAND:
        arg = f":{scan.command_arg}" if scan.command_arg else ""
        return f"command {scan.command}{arg}"
    if scan.kind is Kind.LOCATION:
        return f"location {scan.code}"
    if scan.kind is Kind.BADGE:
        return f"badge {scan.code}"
    if scan.kind is Kind.RECEIPT:
        return f"receipt {scan.code}"
    if scan.kind is Kind.ORDER:
        return f"order {scan.code}"
    if scan.kind is Kind.LPN:
        return f"licence plate {scan.sscc}"
    if scan.kind is Kind.ITEM:
        parts = [f"item {scan.sku or scan.gtin or scan.content_gtin or scan.code}"]
        if scan.pack > 1:
            parts.append(f"(case of {scan.pack})")
        if scan.lot:
            parts.append(f"lot {scan.lot}")
        if scan.serial:
            parts.append(f"serial {scan.serial}")
        if scan.count:
            parts.append(f"count {scan.count}")
        return " ".join(parts)
    return scan.error or "nothing usable"


def unexpected(scan: Interpretation, expecting: str) -> Feedback:
    """A scan this step does not take: what it was, what the step expects."""
    return error(f"Scanned {describe(scan)}, but this step needs {expecting}.")


@dataclass(frozen=True, slots=True)
class Item:
    """An item scan resolved to its SKU, with what its label says: `count` packs (GS1 (37)), each
    of `pack` units (the pack quantity of the barcode scanned)."""

    sku: SkuInfo
    lot: str | None
    serial: str | None
    count: int | None
    expiry_iso: str | None
    pack: int = 1

    def packs(self, units: int) -> str:
        """`units` of this item in cases, for a banner: " (3 cases of 12)"; "" for single units."""
        if self.pack <= 1 or units % self.pack:
            return ""
        cases = units // self.pack
        return f" ({cases} case{'' if cases == 1 else 's'} of {self.pack})"


def resolve_item(ctx: WorkContext, scan: Interpretation) -> Item | Feedback:
    """The SKU an item scan (a content label (02)+(37), or a licence plate that says what it
    holds) stands for, with the pack of the barcode scanned."""
    if scan.kind is Kind.LPN:
        if not scan.content_gtin:
            return error(
                f"Licence plate {scan.sscc} does not say what it holds. Scan the labels of the "
                "items on it."
            )
        gtin: str | None = scan.content_gtin
    elif scan.kind is Kind.ITEM:
        gtin = scan.gtin or scan.content_gtin
    else:
        return unexpected(scan, "an item barcode")
    sku = ctx.data.sku(scan.sku) if scan.sku else None
    if sku is None and gtin:
        sku = ctx.data.sku_by_gtin(gtin)
    if sku is None:
        code = gtin or scan.code or "this barcode"
        return error(
            f"No item in the catalogue has barcode {code}. Set it aside and ask a supervisor "
            "to register it."
        )
    expiry = scan.expiry.isoformat() if scan.expiry else None
    return Item(sku, scan.lot, scan.serial, scan.count, expiry, max(scan.pack, 1))


def tracking_problem(item: Item, qty: int) -> Feedback | None:
    """What is missing from the label of a lot- or serial-tracked item, if anything; or a
    quantity (`qty` units) beyond what the ledger keeps (a big count of big cases)."""
    if qty > MAX_QUANTITY:
        return error(
            f"{qty} x {item.sku.code}{item.packs(qty)} is more than the ledger can take in one "
            f"transaction ({MAX_QUANTITY}). Check the count or QTY, and scan a smaller quantity."
        )
    if item.sku.tracking is Tracking.LOT and not item.lot:
        return error(
            f"{item.sku.code} is tracked by lot, and this label has no lot (10). Scan the GS1 "
            "barcode that carries the lot."
        )
    if item.sku.tracking is Tracking.SERIAL:
        if not item.serial:
            return error(
                f"{item.sku.code} is tracked by serial number. Scan the GS1 barcode with the "
                "serial (21), one unit at a time."
            )
        if qty != 1:
            return error(f"{item.sku.code} is tracked by serial number: scan each unit alone.")
    return None


class Quantity:
    """The quantity for the next item scan, in units: `@CMD:QTY:n` or the keypad set how many
    packs, a GS1 count on the label overrides it, and it goes back to the default after each use.
    A pack is what the scanned barcode stands for (`Item.pack`): QTY 3 and a case of 12 is 36;
    a case scanned bare is its 12; a unit barcode scanned bare is the step's `default`."""

    def __init__(self) -> None:
        self.pending: int | None = None

    def set(self, qty: int) -> None:
        self.pending = qty

    def peek(self, item: Item, default: int = 1) -> int:
        """The quantity `take` would give, without using it up: a step checks it first and
        keeps the pending quantity when the scan is refused."""
        packs = item.count or self.pending
        if packs is not None:
            return packs * item.pack
        return item.pack if item.pack > 1 else default

    def take(self, item: Item, default: int = 1) -> int:
        qty = self.peek(item, default)
        self.pending = None
        return qty

    def clear(self) -> None:
        self.pending = None

    def enter(self, text: str) -> Feedback:
        """A keypad entry: set as the next item's quantity, or why it is not a quantity."""
        qty = parse_quantity(text)
        if isinstance(qty, Feedback):
            return qty
        self.set(qty)
        return ok(f"Quantity {qty} set for the next item scan.")


def parse_quantity(text: str, maximum: int = 999_999) -> int | Feedback:
    """A keypad quantity: a whole number from 1 to `maximum`."""
    text = text.strip()
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= maximum:
        return error(f"Enter a whole number from 1 to {maximum} on the keypad, not {text!r}.")
    return int(text)


def no_tags(prompt: str, tags: Sequence[TagRead]) -> Reply:
    """RFID tags read in a mode that does not use them."""
    return Reply(
        prompt,
        error(f"{len(tags)} RFID tag(s) read, but this mode does not take RFID. Scan barcodes."),
    )


# --- commands and the ledger's answers (added with pick, count, transfer, return) -------------


class Signed(TypedDict):
    """The fields every command carries: a fresh transaction id, who and where."""

    tx_id: uuid.UUID
    station: str
    operator: str


def signed(ctx: WorkContext) -> Signed:
    """A new command's id, station and operator: `Transfer(**signed(ctx), sku=...)`."""
    return Signed(tx_id=new_tx_id(), station=ctx.station.code, operator=ctx.operator.badge)


@dataclass
class Answers:
    """Commands sent to the ledger and not answered yet, and the answers gathered so far. A step
    that sends several commands at once decides what comes next when the last answer is in."""

    waiting: dict[uuid.UUID, Command] = field(default_factory=dict)
    confirmed: list[tuple[Command, Outcome]] = field(default_factory=list)
    refused: list[tuple[Command, Outcome]] = field(default_factory=list)
    queued: list[Command] = field(default_factory=list)

    def send(self, *commands: Command) -> tuple[Command, ...]:
        """Wait for these commands' answers; returns them for the Reply."""
        for command in commands:
            self.waiting[command.tx_id] = command
        return commands

    def take(self, command: Command, outcome: Outcome | None) -> bool:
        """Record an answer (None: queued in the outbox). False for a command not waited for."""
        if self.waiting.pop(command.tx_id, None) is None:
            return False
        if outcome is None:
            self.queued.append(command)
        elif outcome.ok:
            self.confirmed.append((command, outcome))
        else:
            self.refused.append((command, outcome))
        return True

    @property
    def complete(self) -> bool:
        return not self.waiting

    def clear(self) -> None:
        """Forget the answers gathered (not the commands still waited for)."""
        self.confirmed.clear()
        self.refused.clear()
        self.queued.clear()


def queued(what: str) -> Feedback:
    """A transaction kept in the outbox because the database cannot be reached."""
    return warning(
        f"{what} is queued: the database cannot be reached. It is sent when the database is "
        "back; keep working."
    )


def late_answer(command: Command, outcome: Outcome | None) -> Feedback | None:
    """The answer to a command the current step no longer waits for (sent before a CANCEL)."""
    if outcome is None:
        return None
    kind = command.kind.value.replace("_", " ")
    if outcome.ok:
        return ok(f"Earlier {kind} confirmed: {outcome.message}.")
    return error(f"Earlier {kind} refused: {outcome.message}. Tell a supervisor.")


_LEVELS = (Level.OK, Level.WARNING, Level.ERROR)


def combine(*feedbacks: Feedback | None) -> Feedback | None:
    """Several pieces of feedback as one banner: every text, at the most serious level."""
    given = [f for f in feedbacks if f is not None]
    if not given:
        return None
    level = max((f.level for f in given), key=_LEVELS.index)
    return Feedback(level, " ".join(f.text for f in given))
