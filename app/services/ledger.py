"""The ledger's use cases: one function per transaction kind.

Each runs as one database transaction that claims its id, returns the stored outcome to a resend,
locks the balance rows it touches in sorted order, enforces the invariants and records the outcome,
refusals included. Transient failures are retried with the same id, a bounded number of times.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from app.domain.commands import (
    Adjust,
    CancelOrder,
    Command,
    Expire,
    Opening,
    PostPick,
    Putaway,
    Receive,
    ReleaseList,
    Reserve,
    Return,
    Scrap,
    Ship,
    ShipOrder,
    TakeList,
    Transfer,
    Void,
)
from app.domain.errors import Reason, Rejection
from app.domain.ledger import Candidate, Outcome, Status, allocate, check_take
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
    Role,
    Sku,
    Station,
    Tracking,
    VirtualLocation,
)
from app.domain.orders import OrderPolicy, clock
from app.domain.ports import (
    DatabaseUnavailable,
    LedgerStore,
    TransactionRecord,
    TransientDatabaseError,
    UnitOfWorkFactory,
)
from app.domain.stow import Need, StowPolicy, lookalike_warning, refuse_if_full
from app.services import stow
from app.services.retry import DEFAULT_RETRY, RetryPolicy

log = logging.getLogger(__name__)

C = TypeVar("C", bound=Command)
DEFAULT_STOW = StowPolicy()
DEFAULT_ORDERS = OrderPolicy()


@dataclass(frozen=True)
class Context:
    """Who asks: resolved once per transaction."""

    store: LedgerStore
    station: Station
    operator: Operator
    tx_id: uuid.UUID
    stow: StowPolicy = DEFAULT_STOW
    orders: OrderPolicy = DEFAULT_ORDERS


Handler = Callable[[Any, Context], tuple[str, dict[str, Any]]]


def submit(
    command: Command,
    uow_factory: UnitOfWorkFactory,
    retry: RetryPolicy = DEFAULT_RETRY,
    stow: StowPolicy = DEFAULT_STOW,
    orders: OrderPolicy = DEFAULT_ORDERS,
) -> Outcome:
    """Apply a command exactly once and return its outcome (the stored one for a resend)."""
    handler = HANDLERS[type(command)]
    for attempt in range(retry.attempts):
        try:
            with uow_factory() as uow:
                outcome = _apply(command, uow.store, handler, stow, orders)
                uow.commit()
                return outcome
        except TransientDatabaseError as exc:
            log.info("transaction %s attempt %d failed: %s", command.tx_id, attempt + 1, exc)
            if attempt + 1 < retry.attempts:
                retry.pause(attempt)
    raise DatabaseUnavailable(
        f"the database did not take transaction {command.tx_id} after {retry.attempts} attempts"
    )


def _apply(
    command: Command, store: LedgerStore, handler: Handler, stow: StowPolicy, orders: OrderPolicy
) -> Outcome:
    payload_hash = command.payload_hash()
    store.claim_tx_id(command.tx_id)
    stored = store.stored_transaction(command.tx_id)
    if stored is not None:
        if stored.payload_hash != payload_hash:
            log.warning("transaction id %s reused with a different payload", command.tx_id)
            return Outcome(
                command.tx_id,
                command.kind.value,
                Status.REFUSED,
                f"transaction {command.tx_id} was already used for a different "
                f"{stored.outcome.kind}; nothing was changed. Scan again to start a new one.",
                Reason.ID_REUSED.value,
                replayed=True,
            )
        return Outcome(**{**stored.outcome.__dict__, "replayed": True})

    station = store.station(command.station)
    operator = store.operator(command.operator)
    status, reason, result = Status.CONFIRMED, None, dict[str, Any]()
    try:
        if station is None:
            raise Rejection(
                Reason.UNKNOWN_STATION, f"station {command.station!r} is not registered"
            )
        if operator is None:
            raise Rejection(
                Reason.UNKNOWN_OPERATOR,
                f"badge {command.operator!r} is not known; scan your own badge or ask a supervisor",
            )
        if not operator.active:
            raise Rejection(Reason.INACTIVE_OPERATOR, f"badge {command.operator!r} is disabled")
        with store.savepoint():
            message, result = handler(
                command, Context(store, station, operator, command.tx_id, stow, orders)
            )
    except Rejection as rejection:
        status, reason, message = Status.REFUSED, rejection.reason.value, rejection.message
        result = rejection.result

    store.record_transaction(
        TransactionRecord(
            tx_id=command.tx_id,
            kind=command.kind.value,
            station_id=station.id if station else None,
            operator_id=operator.id if operator else None,
            station_time=command.station_time,
            payload_hash=payload_hash,
            payload=command.payload(),
            status=status.value,
            reason=reason,
            message=message,
            result=result,
            reference=command.reference,
        )
    )
    return Outcome(command.tx_id, command.kind.value, status, message, reason, result)


# --- lookups that refuse with a message the user can act on ---------------------------------


def _sku(store: LedgerStore, code: str) -> Sku:
    sku = store.sku(code)
    if sku is None:
        raise Rejection(Reason.UNKNOWN_SKU, f"item {code!r} is not in the catalogue")
    if not sku.active:
        raise Rejection(Reason.INACTIVE_SKU, f"item {code} is discontinued")
    return sku


def _location(store: LedgerStore, code: str, kinds: Sequence[LocationKind], role: str) -> Location:
    location = store.location(code)
    if location is None:
        raise Rejection(Reason.UNKNOWN_LOCATION, f"location {code!r} does not exist")
    if not location.active:
        raise Rejection(Reason.INACTIVE_LOCATION, f"location {code} is blocked; choose another")
    if location.kind not in kinds:
        wanted = " or ".join(k.value for k in kinds)
        raise Rejection(
            Reason.WRONG_LOCATION_KIND,
            f"{code} is a {location.kind.value}; the {role} must be a {wanted}",
        )
    return location


def _virtual(store: LedgerStore, which: VirtualLocation) -> Location:
    location = store.location(which.value)
    if location is None:  # the first migration creates them; their absence is a broken database
        raise RuntimeError(f"virtual location {which.value} is missing")
    return location


REAL_KINDS = tuple(k for k in LocationKind if k is not LocationKind.VIRTUAL)


def _lot_for_take(
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


def _check_serials(sku: Sku, qty: int, serials: Sequence[str]) -> None:
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


def _move_line(
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
) -> list[Move]:
    """Lock both balances, check availability at the source and write the moves.

    `release` is a reservation on the source given up by this move (a pick): that stock counts
    as available to it. With `fit`, a bin target must have room (putaway, transfer).
    """
    store = ctx.store
    lot_id = lot.id if lot else NO_LOT_ID
    src, dst = QuantKey(source.id, sku.id, lot_id), QuantKey(target.id, sku.id, lot_id)
    quants = store.lock_quants([src, dst])
    held = quants[src]
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


def _lookalike_note(ctx: Context, sku: Sku, lot: Lot | None, target: Location) -> str | None:
    inside = ctx.store.contents([target.id]).get(target.id, [])
    return lookalike_warning(inside, sku, lot.id if lot else NO_LOT_ID)


def _moved(moves: Sequence[Move]) -> dict[str, Any]:
    return {"moves": len(moves), "qty": sum(m.qty for m in moves)}


# --- handlers ---------------------------------------------------------------------------------


def _receive(cmd: Receive, ctx: Context) -> tuple[str, dict[str, Any]]:
    store = ctx.store
    _check_approver(ctx, cmd.approved_by, "receipt")
    sku = _sku(store, cmd.sku)
    target = _location(
        store, cmd.to_location, (LocationKind.DOCK, LocationKind.QUARANTINE), "receiving location"
    )
    _check_serials(sku, cmd.qty, cmd.serials)
    lot: Lot | None = None
    if sku.tracking is Tracking.LOT and not cmd.lot:
        raise Rejection(Reason.LOT_REQUIRED, f"{sku.code} is tracked by lot: scan the lot")
    if cmd.lot:
        if sku.tracking is Tracking.NONE:
            raise Rejection(Reason.LOT_NOT_TRACKED, f"{sku.code} is not tracked by lot")
        lot = store.lot(sku.id, cmd.lot)
        if lot is None:
            lot = store.add_lot(sku.id, cmd.lot, cmd.expiry)
        elif lot.expiry is None and cmd.expiry is not None:
            # A lot first seen undated (a return, a count) learns its expiry from the label.
            lot = store.set_lot_expiry(lot.id, cmd.expiry)
        elif cmd.expiry is not None and lot.expiry is not None and lot.expiry != cmd.expiry:
            raise Rejection(
                Reason.EXPIRY_MISMATCH,
                f"lot {cmd.lot} of {sku.code} expires {lot.expiry.isoformat()}, "
                f"the label says {cmd.expiry.isoformat()}; "
                "set the goods aside and call a supervisor",
            )
    vendor = _virtual(store, VirtualLocation.VENDOR)
    moves = _move_line(ctx, sku, lot, cmd.qty, cmd.serials, vendor, target, "receive")
    return f"received {cmd.qty} x {sku.code} into {target.code}", _moved(moves)


def _take_and_move(
    ctx: Context,
    cmd_sku: str,
    qty: int,
    lot_code: str | None,
    serials: Sequence[str],
    source: Location,
    target: Location,
    reason: str,
    fit: bool = False,
    suggested: Location | None = None,
    order: str | None = None,
) -> tuple[Sku, list[Move], str | None]:
    """Move from a real location; with `fit`, into a bin with room. Returns a look-alike note
    when the target bin already holds something that could be mistaken for this SKU."""
    sku = _sku(ctx.store, cmd_sku)
    _check_serials(sku, qty, serials)
    line_id = order_ledger.putback_line(ctx, order, sku, source.id, qty) if order else None
    lot = _lot_for_take(ctx.store, sku, lot_code, source, qty)
    note = _lookalike_note(ctx, sku, lot, target) if target.kind is LocationKind.BIN else None
    moves = _move_line(
        ctx,
        sku,
        lot,
        qty,
        serials,
        source,
        target,
        reason,
        fit=fit,
        suggested=suggested,
        order_line_id=line_id,
    )
    return sku, moves, note


def _putaway(cmd: Putaway, ctx: Context) -> tuple[str, dict[str, Any]]:
    kinds: tuple[LocationKind, ...] = (
        LocationKind.DOCK,
        LocationKind.STAGING,
        LocationKind.RETURNS,
        LocationKind.QUARANTINE,
    )
    if cmd.order:  # a cancelled order's picks go back to stock from the outbound lane
        kinds = (*kinds, LocationKind.OUTBOUND)
    source = _location(ctx.store, cmd.from_location, kinds, "putaway source")
    target = _location(ctx.store, cmd.to_location, (LocationKind.BIN,), "putaway target")
    suggested = ctx.store.location(cmd.suggested) if cmd.suggested else None
    sku, moves, note = _take_and_move(
        ctx,
        cmd.sku,
        cmd.qty,
        cmd.lot,
        cmd.serials,
        source,
        target,
        "putaway",
        True,
        suggested,
        cmd.order,
    )
    result = _moved(moves)
    done = f"put {cmd.qty} x {sku.code} into {target.code}"
    if cmd.suggested is not None and cmd.suggested != target.code:
        result["override"] = {"suggested": cmd.suggested, "chosen": target.code}
        done += f" instead of the suggested {cmd.suggested}"
    return _noted(done, note), result


def _transfer(cmd: Transfer, ctx: Context) -> tuple[str, dict[str, Any]]:
    source = _location(ctx.store, cmd.from_location, REAL_KINDS, "source")
    target = _location(ctx.store, cmd.to_location, REAL_KINDS, "target")
    if source.id == target.id:
        raise Rejection(
            Reason.BAD_INPUT, f"{source.code} is both source and target; scan another bin"
        )
    sku, moves, note = _take_and_move(
        ctx, cmd.sku, cmd.qty, cmd.lot, cmd.serials, source, target, "transfer", fit=True
    )
    done = f"moved {cmd.qty} x {sku.code} from {source.code} to {target.code}"
    return _noted(done, note), _moved(moves)


def _noted(message: str, note: str | None) -> str:
    return f"{message}; {note}" if note else message


def _ship(cmd: Ship, ctx: Context) -> tuple[str, dict[str, Any]]:
    kinds = (LocationKind.STAGING, LocationKind.OUTBOUND)
    source = _location(ctx.store, cmd.from_location, kinds, "shipping source")
    customer = _virtual(ctx.store, VirtualLocation.CUSTOMER)
    sku, moves, _ = _take_and_move(
        ctx, cmd.sku, cmd.qty, cmd.lot, cmd.serials, source, customer, "ship"
    )
    return f"shipped {cmd.qty} x {sku.code}", _moved(moves)


def _return(cmd: Return, ctx: Context) -> tuple[str, dict[str, Any]]:
    store = ctx.store
    sku = _sku(store, cmd.sku)
    target = _location(store, cmd.to_location, (LocationKind.RETURNS,), "returns lane")
    _check_serials(sku, cmd.qty, cmd.serials)
    _check_approver(ctx, cmd.approved_by, "unexpected return")
    lot = None
    if cmd.lot:
        if sku.tracking is Tracking.NONE:
            raise Rejection(Reason.LOT_NOT_TRACKED, f"{sku.code} is not tracked by lot")
        lot = store.lot(sku.id, cmd.lot) or store.add_lot(sku.id, cmd.lot, None)
    elif sku.tracking is Tracking.LOT:
        raise Rejection(Reason.LOT_REQUIRED, f"{sku.code} is tracked by lot: scan the lot")
    customer = _virtual(store, VirtualLocation.CUSTOMER)
    if cmd.serials:
        # A returned serial left stock when it shipped; it re-enters from CUSTOMER.
        known = store.serials(sku.id, cmd.serials)
        in_stock = [s.code for s in known.values() if s.location_id is not None]
        if in_stock:
            raise Rejection(
                Reason.SERIAL_ALREADY_IN_STOCK, f"serial {in_stock[0]} of {sku.code} is in stock"
            )
    split = order_ledger.return_split(ctx, cmd.order, sku, cmd.qty, cmd.approved_by is not None)
    reason = f"return: {cmd.reason.value}" if cmd.reason else "return"
    moves: list[Move] = []
    serials = list(cmd.serials)
    for line_id, qty in split:
        mine, serials = serials[:qty] if serials else [], serials[qty:] if serials else []
        moves += _move_line(
            ctx, sku, lot, qty, mine, customer, target, reason, order_line_id=line_id
        )
    result = _moved(moves)
    unexpected = any(line_id is None for line_id, _ in split)
    if unexpected:
        result["unexpected"] = True
    why = f" ({cmd.reason.value.replace('_', ' ')})" if cmd.reason else ""
    done = f"returned {cmd.qty} x {sku.code}{why} to {target.code} for inspection"
    if unexpected:
        done += f", accepted by {cmd.approved_by} as an unexpected return"
    return done, result


def _scrap(cmd: Scrap, ctx: Context) -> tuple[str, dict[str, Any]]:
    if not cmd.reason.strip():
        raise Rejection(Reason.REASON_REQUIRED, "scrapping needs a reason")
    source = _location(ctx.store, cmd.from_location, REAL_KINDS, "source")
    scrap = _virtual(ctx.store, VirtualLocation.SCRAP)
    sku, moves, _ = _take_and_move(
        ctx, cmd.sku, cmd.qty, cmd.lot, cmd.serials, source, scrap, f"scrap: {cmd.reason}"
    )
    return f"scrapped {cmd.qty} x {sku.code} from {source.code}", _moved(moves)


ADJUST_ROLES = (Role.COUNTER, Role.SUPERVISOR)


def _check_approver(ctx: Context, badge: str | None, what: str) -> None:
    """A supervisor's approval names an active supervisor other than the operator."""
    if badge is None:
        return
    approver = ctx.store.operator(badge)
    if approver is None or approver.role is not Role.SUPERVISOR or not approver.active:
        raise Rejection(Reason.NOT_ALLOWED, f"badge {badge!r} is not a supervisor's")
    if approver.id == ctx.operator.id:
        raise Rejection(Reason.NOT_ALLOWED, f"a supervisor may not approve their own {what}")


def _adjust(cmd: Adjust, ctx: Context) -> tuple[str, dict[str, Any]]:
    store = ctx.store
    if ctx.operator.role not in ADJUST_ROLES:
        raise Rejection(
            Reason.NOT_ALLOWED,
            f"{ctx.operator.name} ({ctx.operator.role.value}) may not adjust stock; "
            "a counter or supervisor must",
        )
    _check_approver(ctx, cmd.approved_by, "adjustment")
    sku = _sku(store, cmd.sku)
    location = _location(store, cmd.location, REAL_KINDS, "counted location")
    qty = abs(cmd.delta)
    _check_serials(sku, qty, cmd.serials)
    adjustment = _virtual(store, VirtualLocation.ADJUSTMENT)
    reason = f"adjust: {cmd.reason.value}"
    if cmd.delta > 0:
        lot = None
        if cmd.lot:
            if sku.tracking is Tracking.NONE:
                raise Rejection(Reason.LOT_NOT_TRACKED, f"{sku.code} is not tracked by lot")
            lot = store.lot(sku.id, cmd.lot) or store.add_lot(sku.id, cmd.lot, cmd.expiry)
        elif sku.tracking is Tracking.LOT:
            raise Rejection(Reason.LOT_REQUIRED, f"{sku.code} is tracked by lot: scan the lot")
        moves = _move_line(ctx, sku, lot, qty, cmd.serials, adjustment, location, reason)
        return f"counted {qty} more {sku.code} in {location.code}", _moved(moves)
    lot = _lot_for_take(store, sku, cmd.lot, location, qty)
    moves = _move_line(ctx, sku, lot, qty, cmd.serials, location, adjustment, reason)
    return f"counted {qty} fewer {sku.code} in {location.code}", _moved(moves)


def _opening(cmd: Opening, ctx: Context) -> tuple[str, dict[str, Any]]:
    """Opening balances, looked up in bulk: a go-live loads hundreds of thousands of lines."""
    store = ctx.store
    vendor = _virtual(store, VirtualLocation.VENDOR)
    skus = store.skus_by_code({line.sku for line in cmd.lines})
    locations = store.locations_by_code({line.location for line in cmd.lines})
    lots = store.lots_by_code(
        {(skus[ln.sku].id, ln.lot) for ln in cmd.lines if ln.lot and ln.sku in skus}
    )
    all_moves: list[Move] = []
    for line in cmd.lines:
        sku = skus.get(line.sku)
        if sku is None:
            raise Rejection(Reason.UNKNOWN_SKU, f"item {line.sku!r} is not in the catalogue")
        if sku.tracking is Tracking.SERIAL:
            raise Rejection(Reason.BAD_INPUT, f"{sku.code} is serial-tracked: receive it by serial")
        target = locations.get(line.location)
        if target is None or target.is_virtual:
            raise Rejection(Reason.UNKNOWN_LOCATION, f"location {line.location!r} does not exist")
        if line.qty <= 0:
            raise Rejection(Reason.BAD_QUANTITY, f"opening quantity of {sku.code} must be above 0")
        lot_id = NO_LOT_ID
        if line.lot:
            if sku.tracking is Tracking.NONE:
                raise Rejection(Reason.LOT_NOT_TRACKED, f"{sku.code} is not tracked by lot")
            lot = lots.get((sku.id, line.lot))
            if lot is None:
                lot = lots[(sku.id, line.lot)] = store.add_lot(sku.id, line.lot, line.expiry)
            lot_id = lot.id
        elif sku.tracking is Tracking.LOT:
            raise Rejection(Reason.LOT_REQUIRED, f"{sku.code} is tracked by lot")
        all_moves.append(Move(sku.id, lot_id, vendor.id, target.id, line.qty, "opening balance"))
    keys = {QuantKey(m.to_location_id, m.sku_id, m.lot_id) for m in all_moves}
    keys |= {QuantKey(vendor.id, m.sku_id, m.lot_id) for m in all_moves}
    store.lock_quants(keys)
    store.write_moves(ctx.tx_id, all_moves, {})
    return f"loaded {len(all_moves)} opening balances", _moved(all_moves)


def _reserve(cmd: Reserve, ctx: Context) -> tuple[str, dict[str, Any]]:
    store = ctx.store
    sku = _sku(store, cmd.sku)
    location = (
        _location(store, cmd.location, (LocationKind.BIN,), "pick bin") if cmd.location else None
    )
    qty = cmd.qty
    order = store.lock_order(cmd.order)
    if order is not None:
        # An imported order: only its claim holder reserves, and never more than the line has
        # still open (read under the line's lock: invariant 5).
        line = order_ledger.claimed_line(ctx, order, cmd.line, sku)
        qty = min(qty, line.to_allocate)
        if qty == 0:
            raise Rejection(
                Reason.NOT_ENOUGH_STOCK,
                f"{cmd.order} line {cmd.line} has nothing left to reserve: {line.reserved} "
                f"reserved, {line.picked} picked, {line.short} closed short of {line.ordered}",
            )
    found, lines = allocate_line(
        ctx,
        sku,
        cmd.order,
        cmd.line,
        qty,
        location=location,
        lot=cmd.lot,
        expires_at=cmd.expires_at,
        avoid=cmd.avoid,
    )
    if found == 0 or (found < cmd.qty and not cmd.allow_partial):
        where = f" in {location.code}" if location else ""
        raise Rejection(
            Reason.NOT_ENOUGH_STOCK,
            f"only {found} of {cmd.qty} x {sku.code} can be allocated{where}",
        )
    short = f" (short {cmd.qty - found})" if found < cmd.qty else ""
    return (
        f"reserved {found} x {sku.code} for {cmd.order}/{cmd.line} in {len(lines)} bin(s){short}",
        {"reserved": found, "lines": lines},
    )


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
    path. Returns what was found and the reservations made."""
    store = ctx.store
    if qty <= 0:
        return 0, []
    lot_id: int | None = None
    if lot:
        found_lot = store.lot(sku.id, lot)
        if found_lot is None:
            raise Rejection(Reason.NOT_ENOUGH_STOCK, f"no {sku.code} of lot {lot} in stock")
        lot_id = found_lot.id
    candidates = store.pick_candidates(sku.id, lot_id, location.id if location else None, 200)
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


def _open_reservation(store: LedgerStore, reservation_id: int) -> Reservation:
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


def _post_pick(cmd: PostPick, ctx: Context) -> tuple[str, dict[str, Any]]:
    store = ctx.store
    seen = store.reservation(cmd.reservation)
    order_line_id = None
    if seen is not None:
        # The order first (locks go order, lines, reservations, balances): a list taken over
        # by another picker no longer takes this picker's posts.
        order = store.lock_order(seen.order_ref)
        if order is not None:
            order_ledger.check_claim_held(ctx, order)
            order_line_id = store.order_line_ids(order.code).get(seen.order_line)
    reservation = _open_reservation(store, cmd.reservation)
    if cmd.qty > reservation.qty:
        raise Rejection(
            Reason.OVER_PICK,
            f"pick task {reservation.id} is for {reservation.qty}; {cmd.qty} is too many. "
            "Put the extra back.",
        )
    target = _location(
        store, cmd.to_location, (LocationKind.OUTBOUND, LocationKind.STAGING), "pick target"
    )
    key = reservation.key
    source = store.locations_by_id([key.location_id])[key.location_id]
    lot = store.lots_by_id([key.lot_id]).get(key.lot_id) if key.lot_id != NO_LOT_ID else None
    moves: list[Move] = []
    if cmd.qty:
        sku = store.sku_by_id(key.sku_id)
        _check_serials(sku, cmd.qty, cmd.serials)
        moves = _move_line(
            ctx,
            sku,
            lot,
            cmd.qty,
            cmd.serials,
            source,
            target,
            "pick",
            release=reservation.qty,
            order_line_id=order_line_id,
        )
    else:
        store.lock_quants([key])
        store.write_moves(ctx.tx_id, [], {key: -reservation.qty})
    state = (
        ReservationState.POSTED if cmd.qty == reservation.qty else ReservationState.PARTLY_POSTED
    )
    store.resolve_reservation(reservation.id, state, cmd.qty, ctx.tx_id)
    return (
        f"picked {cmd.qty} of {reservation.qty} from {source.code}",
        {**_moved(moves), "reservation": reservation.id, "state": state.value},
    )


def _void(cmd: Void, ctx: Context) -> tuple[str, dict[str, Any]]:
    store = ctx.store
    reservation = _open_reservation(store, cmd.reservation)
    store.lock_quants([reservation.key])
    store.write_moves(ctx.tx_id, [], {reservation.key: -reservation.qty})
    store.resolve_reservation(reservation.id, ReservationState.VOIDED, 0, ctx.tx_id)
    return f"released pick task {reservation.id}", {"reservation": reservation.id}


def _expire(cmd: Expire, ctx: Context) -> tuple[str, dict[str, Any]]:
    store = ctx.store
    expired = store.lock_expired_reservations(cmd.now)
    if expired:
        released: dict[QuantKey, int] = {}
        for r in expired:
            released[r.key] = released.get(r.key, 0) - r.qty
        store.lock_quants(released)
        store.write_moves(ctx.tx_id, [], released)
        for r in expired:
            store.resolve_reservation(r.id, ReservationState.EXPIRED, 0, ctx.tx_id)
    return f"expired {len(expired)} pick task(s)", {"expired": [r.id for r in expired]}


# The order handlers use this module's helpers; they are imported here, once those exist.
from app.services import order_ledger  # noqa: E402

HANDLERS: dict[type[Command], Handler] = {
    Receive: _receive,
    Putaway: _putaway,
    Transfer: _transfer,
    Ship: _ship,
    Return: _return,
    Scrap: _scrap,
    Adjust: _adjust,
    Opening: _opening,
    Reserve: _reserve,
    PostPick: _post_pick,
    Void: _void,
    Expire: _expire,
    **order_ledger.HANDLERS,
}


def _entry(kind: type[C]) -> Callable[[C, UnitOfWorkFactory], Outcome]:
    def run(command: C, uow_factory: UnitOfWorkFactory) -> Outcome:
        return submit(command, uow_factory)

    run.__name__ = kind.kind.value
    run.__doc__ = f"Apply a {kind.__name__} command exactly once. {kind.__doc__}"
    return run


receive = _entry(Receive)
putaway = _entry(Putaway)
transfer = _entry(Transfer)
ship = _entry(Ship)
return_goods = _entry(Return)
scrap = _entry(Scrap)
adjust = _entry(Adjust)
opening = _entry(Opening)
reserve = _entry(Reserve)
post_pick = _entry(PostPick)
void = _entry(Void)
expire = _entry(Expire)
take_list = _entry(TakeList)
release_list = _entry(ReleaseList)
ship_order = _entry(ShipOrder)
cancel_order = _entry(CancelOrder)
