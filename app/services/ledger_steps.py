"""The steps ledger transactions are made of (DESIGN.md section 1): who asks (`Context`),
lookups that refuse with a message the user can act on, the refusal of held stock, moving one
line with its checks (availability, serials, bin room), allocating stock to an order line (never
held stock, nor a lot short of shelf life on the day), and reservations.

The handlers in `ledger` (stock moves) and `order_ledger` (orders) are built from these; both
import this module, which imports neither.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from app.domain.errors import Reason, Rejection
from app.domain.expiry import ShelfLife, shelf_problem
from app.domain.holds import RELEASE_NEEDED, hold_text
from app.domain.ledger import Candidate, allocate, check_take
from app.domain.model import (
    NO_LOT_ID,
    Location,
    LocationKind,
    Lot,
    Move,
    Operator,
    Quant,
    QuantKey,
    Reservation,
    ReservationState,
    Sku,
    Station,
    Tracking,
    VirtualLocation,
)
from app.domain.orders import OrderPolicy, clock
from app.domain.policy import WarehousePolicy
from app.domain.ports import LedgerStore
from app.domain.rules import approver_refusal
from app.domain.stow import Need, StowPolicy, refuse_if_full
from app.services import stow

DEFAULT_STOW = StowPolicy()


@dataclass(frozen=True)
class Context:
    """Who asks: resolved once per transaction."""

    store: LedgerStore
    station: Station
    operator: Operator
    tx_id: uuid.UUID
    day: date
    """The day of the scan (the command's station time, in UTC): shelf life is judged on it."""
    stow: StowPolicy = DEFAULT_STOW

    @property
    def policy(self) -> WarehousePolicy:
        """The warehouse policy, read from the database when a rule first needs it."""
        return self.store.policy()

    @property
    def orders(self) -> OrderPolicy:
        return self.store.policy().orders()


Handler = Callable[[Any, Context], tuple[str, dict[str, Any]]]


def known_sku(store: LedgerStore, code: str) -> Sku:
    sku = store.sku(code)
    if sku is None:
        raise Rejection(Reason.UNKNOWN_SKU, f"item {code!r} is not in the catalogue")
    if not sku.active:
        raise Rejection(
            Reason.INACTIVE_SKU,
            f"item {code} is deactivated: nothing of it is received, moved or picked; ask a "
            f"supervisor (perpetua activate sku {code})",
        )
    return sku


def known_location(
    store: LedgerStore, code: str, kinds: Sequence[LocationKind], role: str
) -> Location:
    location = store.location(code)
    if location is None:
        raise Rejection(Reason.UNKNOWN_LOCATION, f"location {code!r} does not exist")
    if not location.active:
        raise Rejection(
            Reason.INACTIVE_LOCATION,
            f"location {code} is deactivated; choose another (a supervisor may activate it: "
            f"perpetua activate location {code})",
        )
    if location.kind not in kinds:
        wanted = " or ".join(k.value for k in kinds)
        raise Rejection(
            Reason.WRONG_LOCATION_KIND,
            f"{code} is a {location.kind.value}; the {role} must be a {wanted}",
        )
    return location


def virtual_location(store: LedgerStore, which: VirtualLocation) -> Location:
    location = store.location(which.value)
    if location is None:  # the first migration creates them; their absence is a broken database
        raise RuntimeError(f"virtual location {which.value} is missing")
    return location


REAL_KINDS = tuple(k for k in LocationKind if k is not LocationKind.VIRTUAL)


def lot_for_take(
    store: LedgerStore, sku: Sku, lot_code: str | None, location: Location, qty: int
) -> Lot | None:
    """The lot to take from; for a lot-tracked SKU with one lot in the location, that one."""
    if sku.tracking is Tracking.NONE:
        if lot_code:
            raise Rejection(Reason.LOT_NOT_TRACKED, f"{sku.code} is not tracked by lot")
        return None
    if lot_code:
        lot = store.lot(sku.id, lot_code)
        if lot is None:
            raise Rejection(
                Reason.NOT_ENOUGH_STOCK, f"{location.code} holds no {sku.code} of lot {lot_code}"
            )
        return lot
    if sku.tracking is Tracking.SERIAL:
        return None
    held = [q for q in store.quants_at(location.id, sku.id) if q.available > 0]
    if len(held) == 1:
        return store.lots_by_id([held[0].key.lot_id]).get(held[0].key.lot_id)
    codes = sorted(lot.code for lot in store.lots_by_id(q.key.lot_id for q in held).values())
    raise Rejection(
        Reason.LOT_REQUIRED,
        f"{sku.code} is tracked by lot and {location.code} holds lots "
        f"{', '.join(codes) or 'none'}; scan the lot",
    )


def held_text(ctx: Context, location: Location, sku: Sku, lot: Lot | None) -> str | None:
    """Why stock of `lot` of `sku` in `location` is held (domain/holds.hold_text); None when
    it is not."""
    holds = ctx.store.active_holds([location.id], [lot.id] if lot else [])
    on_location = next((h.reason for h in holds if h.location_id == location.id), None)
    on_lot = next((h.reason for h in holds if lot and h.lot_id == lot.id), None)
    return hold_text(
        location.code,
        quarantine=location.kind is LocationKind.QUARANTINE,
        location_reason=on_location,
        sku=sku.code,
        lot=lot.code if lot else None,
        lot_reason=on_lot,
    )


def refuse_held(
    ctx: Context, location: Location, sku: Sku, lot: Lot | None, then: str = RELEASE_NEEDED
) -> None:
    """Refuse taking held stock (a pick, transfer, putaway, shipment); what to do is `then`.
    Scrapping and count adjustments may take it."""
    held = held_text(ctx, location, sku, lot)
    if held is not None:
        raise Rejection(Reason.HELD, f"{held}; {then}")


def refuse_unpickable(ctx: Context, location: Location, sku: Sku, lot: Lot | None) -> None:
    """A reserved lot that has expired since, or is held now, is not picked: the picker leaves
    it and picks the line short; the stock shows on the supervisors' reports."""
    leave = f"leave it in {location.code} and pick this line short"
    if lot is not None and lot.expiry is not None and ShelfLife(lot.expiry, ctx.day).expired:
        problem = shelf_problem(sku.code, lot.code, lot.expiry, None, ctx.day)
        raise Rejection(
            Reason.EXPIRED,
            f"{problem}: {leave}; it is reported to the supervisors (perpetua expired)",
        )
    refuse_held(ctx, location, sku, lot, f"{leave}. {_capitalised(RELEASE_NEEDED)}")


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def check_serials(sku: Sku, qty: int, serials: Sequence[str]) -> None:
    if sku.tracking is not Tracking.SERIAL:
        if serials:
            raise Rejection(Reason.SERIALS_NOT_TRACKED, f"{sku.code} is not tracked by serial")
        return
    if len(serials) != qty:
        raise Rejection(
            Reason.SERIALS_REQUIRED,
            f"{sku.code} is tracked by serial: scan {qty} serial numbers, not {len(serials)}",
        )
    if len(set(serials)) != len(serials):
        raise Rejection(Reason.SERIAL_DUPLICATE, "the same serial number was scanned twice")


def move_line(
    ctx: Context,
    sku: Sku,
    lot: Lot | None,
    qty: int,
    serials: Sequence[str],
    source: Location,
    target: Location,
    reason: str,
    release: int = 0,
    fit: bool = False,
    suggested: Location | None = None,
    order_line_id: int | None = None,
    limit: Callable[[Quant], None] | None = None,
) -> list[Move]:
    """Lock both balances, check availability at the source and write the moves.

    `release` is a reservation on the source given up by this move (a pick): that stock counts
    as available to it. With `fit`, a bin target must have room (putaway, transfer). `limit` is
    a further check of the real location's balance as locked (it raises a Rejection), which
    rides on the lock the move takes anyway.
    """
    store = ctx.store
    lot_id = lot.id if lot else NO_LOT_ID
    src, dst = QuantKey(source.id, sku.id, lot_id), QuantKey(target.id, sku.id, lot_id)
    quants = store.lock_quants([src, dst])
    held = quants[src]
    if limit is not None:
        limit(quants[dst] if source.is_virtual else held)
    check_take(
        Quant(src, held.on_hand, held.reserved - release),
        qty,
        source,
        sku.code,
        lot.code if lot else None,
    )
    if fit and target.kind is LocationKind.BIN:
        _check_room(ctx, sku, lot_id, qty, source, target, suggested)

    serial_ids: list[int | None] = [None]
    if serials:
        known = store.serials(sku.id, serials)
        if source.is_virtual:
            in_stock = [s.code for s in known.values() if s.location_id is not None]
            if in_stock:
                raise Rejection(
                    Reason.SERIAL_ALREADY_IN_STOCK,
                    f"serial {in_stock[0]} of {sku.code} is already in stock",
                )
            known.update(store.add_serials(sku.id, lot_id, [s for s in serials if s not in known]))
        else:
            elsewhere = [s for s in serials if s not in known or known[s].location_id != source.id]
            if elsewhere:
                raise Rejection(
                    Reason.SERIAL_NOT_HERE,
                    f"serial {elsewhere[0]} of {sku.code} is not in {source.code}",
                )
        serial_ids = [known[s].id for s in serials]
        store.place_serials(
            [i for i in serial_ids if i is not None], None if target.is_virtual else target.id
        )
    per_move = 1 if serials else qty
    moves = [
        Move(sku.id, lot_id, source.id, target.id, per_move, reason, sid, order_line_id)
        for sid in serial_ids
    ]
    store.write_moves(ctx.tx_id, moves, {src: -release} if release else {})
    return moves


def _check_room(
    ctx: Context,
    sku: Sku,
    lot_id: int,
    qty: int,
    source: Location,
    target: Location,
    suggested: Location | None = None,
) -> None:
    """Refuse a bin without room, naming what it holds and the next bin that has room."""
    store = ctx.store
    store.lock_spaces([source.id, target.id, *([suggested.id] if suggested else [])])
    # This station's hold on the bin was for this very putaway: it becomes the goods. A hold on
    # a suggested bin the worker did not take is given back at once.
    store.take_holds(ctx.station.id, target.id, sku.id)
    if suggested is not None and suggested.id != target.id:
        store.take_holds(ctx.station.id, suggested.id, sku.id)
    space = store.lock_spaces([target.id]).get(target.id)
    if space is None:
        return
    try:
        refuse_if_full(space, Need.of(sku, qty), sku.code)
    except Rejection as full:
        # Not the bin the goods are in (a transfer): "put them back" is no suggestion.
        elsewhere = [target.id, source.id]
        ranked = stow.plan(
            store, sku, lot_id, qty, ctx.station.zone, ctx.stow, random.Random(), elsewhere
        )
        advice = (
            f". Put them in {ranked[0].code} ({ranked[0].why}) instead"
            if ranked
            else ". No bin has room for them now: leave them on the dock and tell a supervisor"
        )
        raise Rejection(
            Reason.BIN_FULL,
            full.message + advice,
            {"suggestions": [{"location": s.code, "zone": s.zone, "why": s.why} for s in ranked]},
        ) from None


def moved(moves: Sequence[Move]) -> dict[str, Any]:
    return {"moves": len(moves), "qty": sum(m.qty for m in moves)}


def adjust_stock(
    ctx: Context,
    sku: Sku,
    location: Location,
    delta: int,
    reason: str,
    *,
    lot_code: str | None = None,
    expiry: date | None = None,
    serials: Sequence[str] = (),
    limit: Callable[[Quant], None] | None = None,
) -> tuple[str, list[Move]]:
    """A count gain (ADJUSTMENT -> location) or loss (location -> ADJUSTMENT) of `delta` units
    against the location's current balance, with an adjustment reason code: a counter's
    adjustment, a supervisor's approval of a count at a station or from the exceptions list.
    `limit` checks the balance as locked (an adjustment beyond what may be made unapproved)."""
    store = ctx.store
    qty = abs(delta)
    check_serials(sku, qty, serials)
    adjustment = virtual_location(store, VirtualLocation.ADJUSTMENT)
    why = f"adjust: {reason}"
    if delta > 0:
        lot = None
        if lot_code:
            if sku.tracking is Tracking.NONE:
                raise Rejection(Reason.LOT_NOT_TRACKED, f"{sku.code} is not tracked by lot")
            lot = store.lot(sku.id, lot_code) or store.add_lot(sku.id, lot_code, expiry)
        elif sku.tracking is Tracking.LOT:
            raise Rejection(Reason.LOT_REQUIRED, f"{sku.code} is tracked by lot: scan the lot")
        moves = move_line(ctx, sku, lot, qty, serials, adjustment, location, why, limit=limit)
        return f"counted {qty} more {sku.code} in {location.code}", moves
    taken = lot_for_take(store, sku, lot_code, location, qty)
    moves = move_line(ctx, sku, taken, qty, serials, location, adjustment, why, limit=limit)
    return f"counted {qty} fewer {sku.code} in {location.code}", moves


def check_approver(ctx: Context, badge: str | None, what: str) -> None:
    """A supervisor's approval names an active supervisor other than the operator."""
    if badge is None:
        return
    refusal = approver_refusal(ctx.store.operator(badge), badge, ctx.operator, what)
    if refusal:
        raise Rejection(Reason.NOT_ALLOWED, refusal)


def allocate_line(
    ctx: Context,
    sku: Sku,
    order: str,
    line: int,
    qty: int,
    *,
    location: Location | None = None,
    lot: str | None = None,
    expires_at: datetime | None = None,
    avoid: Sequence[str] = (),
) -> tuple[int, list[dict[str, Any]]]:
    """Reserve up to `qty` of a SKU for an order line: first expiry first out, then the pick
    path. Held stock is never reserved, nor a lot expired or short of the SKU's minimum shelf
    life on the day of the scan (the line comes up short instead). Returns what was found and
    the reservations made."""
    store = ctx.store
    if qty <= 0:
        return 0, []
    lot_id: int | None = None
    if lot:
        found_lot = store.lot(sku.id, lot)
        if found_lot is None:
            raise Rejection(Reason.NOT_ENOUGH_STOCK, f"no {sku.code} of lot {lot} in stock")
        lot_id = found_lot.id
    # The first expiry that is sellable on the day (domain/expiry.sellable), for the store.
    candidates = store.pick_candidates(
        sku.id,
        lot_id,
        location.id if location else None,
        200,
        expiring_from=ctx.day + timedelta(days=sku.min_shelf_days or 0),
    )
    if avoid:
        candidates = [c for c in candidates if c.location.code not in avoid]
    # Read unlocked to choose, then lock in key order and allocate again from the locked rows.
    locked = store.lock_quants(c.quant.key for c in candidates)
    fresh = [
        Candidate(locked[c.quant.key], c.location, c.lot_code, c.expiry)
        for c in candidates
        if c.quant.key in locked
    ]
    plan = allocate(fresh, qty)
    lines = []
    for candidate, taken in plan:
        rid = store.add_reservation(ctx.tx_id, order, line, candidate.quant.key, taken, expires_at)
        lines.append(
            {
                "reservation": rid,
                "location": candidate.location.code,
                "lot": candidate.lot_code,
                "qty": taken,
            }
        )
    store.write_moves(ctx.tx_id, [], {c.quant.key: taken for c, taken in plan})
    return sum(taken for _, taken in plan), lines


def open_reservation(store: LedgerStore, reservation_id: int) -> Reservation:
    reservation = store.lock_reservation(reservation_id)
    if reservation is None:
        raise Rejection(
            Reason.UNKNOWN_RESERVATION,
            f"this pick (reservation {reservation_id}) does not exist; take the pick list again",
        )
    if reservation.state is not ReservationState.OPEN:
        raise Rejection(Reason.RESERVATION_RESOLVED, _resolved_text(store, reservation))
    return reservation


def _resolved_text(store: LedgerStore, reservation: Reservation) -> str:
    """Who resolved a pick and when, in words a picker can act on (no internal numbers)."""
    key = reservation.key
    sku = store.sku_by_id(key.sku_id).code
    where = store.locations_by_id([key.location_id])[key.location_id].code
    what = f"the pick of {reservation.qty} x {sku} from {where} for {reservation.order_ref}"
    done = {
        ReservationState.POSTED: "picked",
        ReservationState.PARTLY_POSTED: "picked short",
        ReservationState.VOIDED: "given back to stock",
        ReservationState.EXPIRED: "expired",
    }[reservation.state]
    by = store.done_by(reservation.resolved_tx_id) if reservation.resolved_tx_id else None
    if by is None:
        return f"{what} was already {done}. Take the pick list again."
    who, at = by
    return (
        f"{what} was already {done} by {who.name} at {who.station} at {clock(at)}. "
        "Take the pick list again to see what is left."
    )


def void_reservation(ctx: Context, reservation: Reservation) -> None:
    """Give an open reservation (locked) back to stock."""
    store = ctx.store
    store.lock_quants([reservation.key])
    store.write_moves(ctx.tx_id, [], {reservation.key: -reservation.qty})
    store.resolve_reservation(reservation.id, ReservationState.VOIDED, 0, ctx.tx_id)
