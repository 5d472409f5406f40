"""Stock lookup from any station mode (`@CMD:LOOKUP`): then a location label (what it holds, per
SKU and lot, with the lot's expiry, what is on hand and reserved, and what of it is held) or an
item barcode (every location holding that SKU, in pick-path order, with what is available).

It reads the station's copy of the warehouse (StationData), so it answers offline too, and says
how old that copy is. It changes nothing and sends no transaction. A counter sees where things
are but no quantity: their counts stay blind. Each scan looks up again; the shift runs this step
above the mode's workflow and leaves it on CANCEL or DONE (domain/shift.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from app.domain.interpret import CommandName, Interpretation, Kind
from app.domain.model import Role
from app.domain.workflow import (
    Feedback,
    Freshness,
    Reply,
    Stock,
    WorkContext,
    error,
    ok,
    warning,
)
from app.domain.workflows.common import describe, resolve_item

LOCATIONS_SHOWN = 10
"""Locations an item lookup lists; the rest are counted ("and 4 more locations")."""
LEAVE = "Scan another location or item to look it up; DONE or CANCEL goes back."


def _utc_now() -> datetime:
    return datetime.now(UTC)


def age_text(freshness: Freshness, now: datetime) -> str:
    """Where the answer comes from and how old it is, for the prompt."""
    if freshness.live:
        return "live from the database"
    at = freshness.copied_at
    if at is None:
        return "the station has no copy of the warehouse yet"
    age = max(int((now - at).total_seconds()), 0)
    if age < 120:
        return f"station's copy, {age} s old"
    if age < 7200:
        return f"station's copy, {age // 60} min old"
    return f"station's copy of {at.astimezone():%d %b %H:%M}"


def lot_text(stock: Stock, today: date) -> str:
    """'lot L1, expires 2025-05-01', 'lot L1, EXPIRED 2025-01-01', 'no lot'."""
    lot = f"lot {stock.lot}" if stock.lot else "no lot"
    if stock.expiry is None:
        return lot
    if stock.expiry < today:
        return f"{lot}, EXPIRED {stock.expiry.isoformat()}"
    return f"{lot}, expires {stock.expiry.isoformat()}"


@dataclass
class LookupStep:
    """The exchange after `@CMD:LOOKUP`: every location or item scanned is looked up."""

    ctx: WorkContext
    now: Callable[[], datetime] = _utc_now
    looked_up: str | None = None
    """What the last answer was about ("location A-01-01", "MILK"), None before the first."""
    _lines: tuple[str, ...] = field(default=(), repr=False)

    @property
    def blind(self) -> bool:
        """Counters count blind: they see no quantities."""
        return self.ctx.operator.role is Role.COUNTER

    def prompt(self, feedback: Feedback | None = None) -> Reply:
        """The question again (with the last answer's lines, if any)."""
        if self.looked_up is None:
            text = (
                "Lookup: scan a location label to see what it holds, or an item barcode to see "
                "where it stands. DONE or CANCEL goes back."
            )
            return Reply(text, feedback)
        return Reply(f"Looked up {self.looked_up}. {LEAVE}", feedback, (), self._lines)

    def on_scan(self, scan: Interpretation) -> Reply:
        if scan.kind is Kind.LOCATION and scan.code:
            return self._location(scan.code)
        if scan.kind in (Kind.ITEM, Kind.LPN):
            item = resolve_item(self.ctx, scan)
            if isinstance(item, Feedback):
                return self.prompt(item)
            return self._item(item.sku.code, item.sku.name)
        if scan.kind is Kind.COMMAND and scan.command is CommandName.LOOKUP:
            return self.prompt(ok("Lookup: scan a location label or an item barcode."))
        return self.prompt(
            error(
                f"Scanned {describe(scan)}, but a lookup needs a location label or an item "
                "barcode. Scan one, or DONE to go back."
            )
        )

    def refuse_input(self, what: str) -> Reply:
        """Keypad or RFID input during the lookup: not taken."""
        return self.prompt(
            error(f"{what} is not taken during a lookup: scan a location label or an item barcode.")
        )

    # --- answers ---

    def _answer(self, what: str, summary: str, lines: list[str], feedback: Feedback) -> Reply:
        data = self.ctx.data
        self.looked_up = what
        self._lines = tuple(lines)
        source = age_text(data.freshness(), self.now())
        return Reply(f"{summary} ({source}). {LEAVE}", feedback, (), self._lines)

    def _location(self, code: str) -> Reply:
        data = self.ctx.data
        kind = data.location_kind(code)
        if kind is None:
            self.looked_up, self._lines = None, ()
            return self.prompt(
                error(f"{code} is not a location the station knows. Scan a location label.")
            )
        today = self.now().date()
        stock = data.stock_at(code)
        lines: list[str] = []
        held = data.held(code)
        if held:
            lines.append(f"ON HOLD: {held}.")
        names: dict[str, str] = {}
        for s in stock:
            name = names.setdefault(s.sku, self._name(s.sku))
            line = f"{s.sku} {name}, {lot_text(s, today)}"
            lot_held = None if held else data.held(code, s.sku, s.lot)
            if not self.blind:
                free = 0 if held or lot_held else s.available  # held stock is not pickable
                line += f": on hand {s.on_hand}, reserved {s.reserved}, available {free}"
            if lot_held:
                line += f". HELD: {lot_held}"
            lines.append(line)
        place = code if kind == "bin" else f"{code} ({kind})"
        if not stock:
            summary = f"{place} holds nothing"
            lines.append(f"Nothing stands in {code} as far as the station knows.")
        elif self.blind:
            summary = f"{place} holds {_count(len(stock), 'SKU and lot', 'SKUs and lots')}"
        else:
            units = sum(s.on_hand for s in stock)
            summary = (
                f"{place} holds {units} unit(s) of "
                f"{_count(len(stock), 'SKU and lot', 'SKUs and lots')}"
            )
        feedback = warning(f"{held[:1].upper()}{held[1:]}.") if held else ok(f"Looked up {code}.")
        return self._answer(f"location {code}", summary, lines, feedback)

    def _item(self, sku: str, name: str) -> Reply:
        data = self.ctx.data
        today = self.now().date()
        found = data.stock_of(sku, LOCATIONS_SHOWN)
        lines: list[str] = []
        kinds: dict[str, str | None] = {}
        held_units = 0
        for s in found.lines:
            kind = kinds.setdefault(s.location, data.location_kind(s.location))
            place = s.location if kind in ("bin", None) else f"{s.location} ({kind})"
            line = f"{place}: {lot_text(s, today)}"
            held = data.held(s.location, s.sku, s.lot)
            if held:
                held_units += s.available  # held stock is not pickable
            if not self.blind:
                free = 0 if held else s.available
                line += f": available {free} (on hand {s.on_hand}, reserved {s.reserved})"
            if held:
                line += f". HELD: {held}"
            lines.append(line)
        if found.more:
            lines.append(f"... and {_count(found.more, 'more location', 'more locations')}.")
        places = len({s.location for s in found.lines}) + found.more
        if not found.lines:
            summary = f"{sku} {name} stands nowhere"
            lines.append(f"No location holds {sku} as far as the station knows.")
        elif self.blind:
            summary = f"{sku} {name} stands in {_count(places, 'location', 'locations')}"
        else:
            free = found.available - held_units
            summary = (
                f"{sku} {name}: {free} available, {found.on_hand} on hand in "
                f"{_count(places, 'location', 'locations')}, {found.reserved} reserved"
            )
        return self._answer(sku, summary, lines, ok(f"Looked up {sku}."))

    def _name(self, sku: str) -> str:
        info = self.ctx.data.sku(sku)
        return info.name if info is not None else ""


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"
