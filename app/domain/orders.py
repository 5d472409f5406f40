"""Customer orders (DESIGN.md section 1, invariant 5): their states, who holds a pick list, and
how much of a line may still be reserved, shipped or returned.

Pure rules: the ledger services call them with the order and line rows they have locked, and
the station's pick and ship workflows use the same wording for what they show.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from app.domain.errors import Reason, Rejection


class OrderState(StrEnum):
    """open -> picking -> picked -> shipped, or cancelled (from any state before shipped)."""

    OPEN = "open"
    PICKING = "picking"
    PICKED = "picked"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


PICKABLE = (OrderState.OPEN, OrderState.PICKING)


@dataclass(frozen=True, slots=True)
class Person:
    """An operator at a station, as a refusal names them."""

    badge: str
    name: str
    station: str


@dataclass(frozen=True, slots=True)
class Claim:
    """Who holds an order's pick list, since when, and when they last worked on it."""

    holder: Person
    since: datetime
    active_at: datetime

    def idle(self, now: datetime, idle_minutes: int) -> bool:
        return now - self.active_at > timedelta(minutes=idle_minutes)

    def held_by(self, station: str, badge: str) -> bool:
        return self.holder.station == station and self.holder.badge == badge


def clock(at: datetime) -> str:
    """A time as a person on the floor reads it: 10:02, in the station's local time."""
    return at.astimezone().strftime("%H:%M")


def claim_text(order: str, claim: Claim) -> str:
    who = claim.holder
    return f"{order} is being picked by {who.name} at {who.station} since {clock(claim.since)}."


def claimed_elsewhere(order: str, claim: Claim) -> Rejection:
    return Rejection(
        Reason.ORDER_CLAIMED,
        f"{claim_text(order, claim)} Scan another order; a supervisor can take it over.",
        {"holder": claim.holder.badge, "station": claim.holder.station},
    )


def taken_over(order: str, claim: Claim | None, taken_at: datetime | None) -> Rejection:
    """The answer to a picker whose list was taken over (or released) in the meantime."""
    if claim is None:
        return Rejection(
            Reason.ORDER_CLAIMED,
            f"{order} is no longer yours to pick: the list was released. Scan it again to take it.",
        )
    who, at = claim.holder, clock(taken_at or claim.since)
    return Rejection(
        Reason.ORDER_CLAIMED,
        f"{order} was taken over by {who.name} at {who.station} at {at}. Stop picking it: "
        "what you already picked stays where you put it.",
        {"holder": who.badge, "station": who.station},
    )


@dataclass(frozen=True, slots=True)
class LineFigures:
    """One order line: ordered, still reserved (open reservations), picked, closed short
    and shipped units. Invariant 5: reserved + picked + short <= ordered; shipped <= picked."""

    line: int
    sku: str
    ordered: int
    reserved: int = 0
    picked: int = 0
    short: int = 0
    shipped: int = 0

    @property
    def to_allocate(self) -> int:
        """What may still be reserved for this line."""
        return max(self.ordered - self.reserved - self.picked - self.short, 0)


def state_refusal(order: str, state: OrderState, doing: str, claim: Claim | None = None) -> str:
    """Why `doing` ("ship", "cancel", "pick") cannot be done to an order in `state`, and what
    to do instead."""
    if state is OrderState.SHIPPED:
        return f"{order} is already shipped: it cannot {doing_verb(doing)}. Scan another order."
    if state is OrderState.CANCELLED:
        return f"{order} is cancelled: it cannot {doing_verb(doing)}. Scan another order."
    if state is OrderState.OPEN:
        return f"{order} is open: nothing of it is picked yet. Pick it first, then ship it."
    if state is OrderState.PICKING:
        who = f" ({claim_text(order, claim)[:-1]})" if claim else ""
        return (
            f"{order} is still being picked{who}: finish or release the pick list first, "
            "then ship it."
        )
    if doing == "pick":
        return f"{order} is already picked: it waits to be shipped. Scan another pick list."
    return f"{order} is picked: it cannot {doing_verb(doing)} now."


def doing_verb(doing: str) -> str:
    return {"ship": "be shipped", "cancel": "be cancelled", "pick": "be picked"}.get(doing, doing)


def after_release(
    lines: Iterable[LineFigures], finished: bool
) -> tuple[OrderState, dict[int, int]]:
    """The order's state once its claim is released, and the units each line closes short.

    A finished walk that picked something closes what is neither picked nor reserved short, and
    the order is picked once nothing is left reserved. Nothing picked: it is open again."""
    lines = list(lines)
    picked = sum(line.picked for line in lines)
    reserved = sum(line.reserved for line in lines)
    if picked == 0 and reserved == 0:
        return OrderState.OPEN, {}
    if not finished or reserved:
        return OrderState.PICKING, {}
    return OrderState.PICKED, {line.line: line.to_allocate for line in lines if line.to_allocate}


def shipping_short(ordered: int, shipping: int, units: int, percent: int) -> bool:
    """Whether shipping `shipping` of `ordered` is short beyond the tolerance (at most `units`,
    or `percent` of the ordered quantity, whichever is larger)."""
    return (ordered - shipping) * 100 > max(units * 100, percent * ordered)


@dataclass(frozen=True, slots=True)
class OrderPolicy:
    """What the ledger enforces about orders."""

    claim_idle_minutes: int = 30
    """A claim nobody has worked on for this long may be taken by another picker."""
    ship_short_units: int = 0
    ship_short_percent: int = 0
    """Shipping a line short by more than this needs a supervisor's approval."""


@dataclass(frozen=True, slots=True)
class OrderHead:
    """An order row as a ledger transaction locked it."""

    id: int
    code: str
    state: OrderState
    claim: Claim | None = None


@dataclass(frozen=True, slots=True)
class LineRecord:
    """An order line as a ledger transaction locked it, with its figures read after the lock."""

    id: int
    sku_id: int
    figures: LineFigures


@dataclass(frozen=True, slots=True)
class Staged:
    """Units picked for an order line that still stand in an outbound or staging location."""

    line_id: int
    line: int
    sku_id: int
    lot_id: int
    location_id: int
    qty: int
    serials: tuple[str, ...] = ()
