"""The ledger's use cases: one function per transaction kind.

Each runs as one database transaction that claims its id, returns the stored outcome to a resend,
locks the balance rows it touches in sorted order, enforces the invariants and records the outcome,
refusals included. Transient failures are retried with the same id, a bounded number of times.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, date
from functools import partial
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
    SetPolicy,
    Ship,
    ShipOrder,
    TakeList,
    Transfer,
    Void,
)
from app.domain.errors import Reason, Rejection
from app.domain.ledger import Outcome, Status
from app.domain.model import (
    NO_LOT_ID,
    Location,
    LocationKind,
    Lot,
    Move,
    Operator,
    Quant,
    QuantKey,
    ReservationState,
    Sku,
    Station,
    Tracking,
    VirtualLocation,
)
from app.domain.policy import PolicyError, parse
from app.domain.ports import (
    DatabaseUnavailable,
    LedgerStore,
    TransactionRecord,
    TransientDatabaseError,
    UnitOfWorkFactory,
    Who,
)
from app.domain.rules import (
    beyond,
    pin_refusal,
    role_refusal,
    supervisor_refusal,
    tolerance_text,
)
from app.domain.stow import StowPolicy, lookalike_warning
from app.services import count_planning, exceptions, holds, order_ledger, receiving, work_ledger
from app.services.ledger_steps import (
    DEFAULT_STOW,
    REAL_KINDS,
    Context,
    Handler,
    adjust_stock,
    allocate_line,
    check_approver,
    check_serials,
    held_text,
    known_location,
    known_sku,
    lot_for_take,
    move_line,
    moved,
    open_reservation,
    refuse_held,
    refuse_unpickable,
    virtual_location,
    void_reservation,
)
from app.services.retry import DEFAULT_RETRY, RetryPolicy

log = logging.getLogger(__name__)

C = TypeVar("C", bound=Command)


def submit(
    command: Command,
    uow_factory: UnitOfWorkFactory,
    retry: RetryPolicy = DEFAULT_RETRY,
    stow: StowPolicy = DEFAULT_STOW,
) -> Outcome:
    """Apply a command exactly once and return its outcome (the stored one for a resend).

    Transient failures are retried with the same id (DatabaseUnavailable once retries run out:
    the command stays queued). A refusal by the database itself (a broken rule, a number or a
    text it cannot keep) is never raised: it is stored as the transaction's refusal, so that a
    station's queue moves on and a resend gets the same answer.
    """
    handler = HANDLERS[type(command)]
    try:
        return _in_transaction(
            command, uow_factory, retry, lambda store: _apply(command, store, handler, stow)
        )
    except Rejection as refused:
        # Refused by the database outside the handler's savepoint (recording the outcome, or
        # at commit); inside it, the refusal is recorded with the rest (store.savepoint).
        log.warning("transaction %s refused by the database: %s", command.tx_id, refused)
        return _refuse(command, uow_factory, retry, refused)


def _in_transaction(
    command: Command,
    uow_factory: UnitOfWorkFactory,
    retry: RetryPolicy,
    work: Callable[[LedgerStore], Outcome],
) -> Outcome:
    """Run `work` in one database transaction and commit it; run it again with the same id
    after a transient failure, a bounded number of times."""
    for attempt in range(retry.attempts):
        try:
            with uow_factory() as uow:
                outcome = work(uow.store)
                uow.commit()
                return outcome
        except TransientDatabaseError as exc:
            log.info("transaction %s attempt %d failed: %s", command.tx_id, attempt + 1, exc)
            if attempt + 1 < retry.attempts:
                retry.pause(attempt)
    raise DatabaseUnavailable(
        f"the database did not take transaction {command.tx_id} after {retry.attempts} attempts"
    )


def _refuse(
    command: Command, uow_factory: UnitOfWorkFactory, retry: RetryPolicy, refused: Rejection
) -> Outcome:
    """Store the database's refusal of a command in a transaction of its own. Should the
    database refuse even that (the payload or the reference breaks its rule too), the refusal
    is stored with only the id, kind and payload hash; should that fail as well, it is answered
    unstored (a resend then meets the same refusal again)."""
    for full in (True, False):
        try:
            record = partial(_record_refusal, command, refused=refused, full=full)
            return _in_transaction(command, uow_factory, retry, record)
        except Rejection as again:
            log.error("the refusal of transaction %s was refused too: %s", command.tx_id, again)
    return _refusal(command, refused)


def _refusal(command: Command, refused: Rejection) -> Outcome:
    return Outcome(
        command.tx_id,
        command.kind.value,
        Status.REFUSED,
        refused.message,
        refused.reason.value,
        refused.result,
    )


def _record_refusal(
    command: Command, store: LedgerStore, refused: Rejection, full: bool
) -> Outcome:
    store.claim_tx_id(command.tx_id)
    stored = store.stored_transaction(command.tx_id)
    if stored is not None:  # answered meanwhile (another drain sent the same id)
        return Outcome(**{**stored.outcome.__dict__, "replayed": True})
    station = store.station(command.station) if full else None
    operator = store.operator(command.operator) if full else None
    if full:
        _refused_late(command, store, station, operator, refused.message)
    store.record_transaction(
        TransactionRecord(
            tx_id=command.tx_id,
            kind=command.kind.value,
            station_id=station.id if station else None,
            operator_id=operator.id if operator else None,
            station_time=command.station_time,
            payload_hash=command.payload_hash(),
            payload=command.payload() if full else {"kind": command.kind.value},
            status=Status.REFUSED.value,
            reason=refused.reason.value,
            message=refused.message,
            result=refused.result,
            reference=command.reference if full else None,
        )
    )
    return _refusal(command, refused)


def _apply(command: Command, store: LedgerStore, handler: Handler, stow: StowPolicy) -> Outcome:
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
            raise Rejection(
                Reason.INACTIVE_OPERATOR,
                f"badge {command.operator} is deactivated: nothing is done with it; ask a "
                f"supervisor (perpetua activate operator {command.operator})",
            )
        authorise(command, operator, store)
        with store.savepoint():
            message, result = handler(
                command, Context(store, station, operator, command.tx_id, _day(command), stow)
            )
    except Rejection as rejection:
        status, reason, message = Status.REFUSED, rejection.reason.value, rejection.message
        result = rejection.result
        _refused_late(command, store, station, operator, message)

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


def _refused_late(
    command: Command,
    store: LedgerStore,
    station: Station | None,
    operator: Operator | None,
    message: str,
) -> None:
    """A refusal after an outage goes on the exceptions list, beside the refusal. Should the
    database refuse that exception row, the refusal is recorded all the same: it is what the
    station's queue waits for."""
    try:
        with store.savepoint():
            exceptions.refused_late(store, command, station, operator, message)
    except Rejection as again:
        log.error("the late refusal of %s was not listed as an exception: %s", command.tx_id, again)


def _day(command: Command) -> date:
    """The day of the scan, in UTC: the day shelf life is judged on, wherever the station is."""
    return command.station_time.astimezone(UTC).date()


def authorise(command: Command, operator: Operator, store: Who) -> None:
    """Refuse what the operator's role may not do, and an approval without its supervisor's
    PIN, verified by the database. Runs outside the handler's savepoint: a wrong PIN is counted
    towards the badge's lockout even though the transaction is refused."""
    refusal = role_refusal(operator, command.kind)
    if refusal:
        raise Rejection(Reason.NOT_ALLOWED, f"{refusal}. Nothing was done.")
    badge = command.approver
    if badge is None:
        return
    if not command.self_approved:  # approving their own work is refused by the handler
        refusal = supervisor_refusal(
            store.operator(badge), badge, command.kind.value.replace("_", " ")
        )
        if refusal:
            raise Rejection(Reason.NOT_ALLOWED, refusal)
    if not command.approver_pin:
        raise Rejection(
            Reason.APPROVAL_REQUIRED,
            f"the approval by {badge} came without a PIN: a supervisor approves with badge and "
            "PIN. Nothing was done.",
        )
    refusal = pin_refusal(badge, store.check_pin(badge, command.approver_pin))
    if refusal:
        raise Rejection(Reason.PIN_REFUSED, f"{refusal}. Nothing was done.")


def _lookalike_note(ctx: Context, sku: Sku, lot: Lot | None, target: Location) -> str | None:
    inside = ctx.store.contents([target.id]).get(target.id, [])
    return lookalike_warning(inside, sku, lot.id if lot else NO_LOT_ID)


# --- handlers ---------------------------------------------------------------------------------


def _receive(cmd: Receive, ctx: Context) -> tuple[str, dict[str, Any]]:
    store = ctx.store
    check_approver(ctx, cmd.approved_by, "receipt")
    sku = known_sku(store, cmd.sku)
    target = known_location(
        store, cmd.to_location, (LocationKind.DOCK, LocationKind.QUARANTINE), "receiving location"
    )
    check_serials(sku, cmd.qty, cmd.serials)
    _receipt_within_tolerance(cmd, ctx, sku)
    lot: Lot | None = None
    if sku.tracking is Tracking.LOT and not cmd.lot:
        raise Rejection(Reason.LOT_REQUIRED, f"{sku.code} is tracked by lot: scan the lot")
    if cmd.lot:
        if sku.tracking is Tracking.NONE:
            raise Rejection(Reason.LOT_NOT_TRACKED, f"{sku.code} is not tracked by lot")
        listed = receiving.listed_expiry(cmd, ctx, sku)
        dated = cmd.expiry or listed  # the label's expiry; else the one the receipt gives it
        lot = store.lot(sku.id, cmd.lot)
        if lot is None:
            lot = store.add_lot(sku.id, cmd.lot, dated)
        elif lot.expiry is None and dated is not None:
            # A lot first seen undated (a return, a count) learns its expiry from the label
            # (or the receipt).
            lot = store.set_lot_expiry(lot.id, dated)
        elif cmd.expiry is not None and lot.expiry is not None and lot.expiry != cmd.expiry:
            raise Rejection(
                Reason.EXPIRY_MISMATCH,
                f"lot {cmd.lot} of {sku.code} expires {lot.expiry.isoformat()}, "
                f"the label says {cmd.expiry.isoformat()}; "
                "set the goods aside and call a supervisor",
            )
    shelf = receiving.check_shelf_life(cmd, ctx, sku, lot, target)
    vendor = virtual_location(store, VirtualLocation.VENDOR)
    moves = move_line(ctx, sku, lot, cmd.qty, cmd.serials, vendor, target, "receive")
    result = moved(moves)
    if target.kind is LocationKind.QUARANTINE:
        accepted_by = shelf.accepted_by if shelf else None
        code = lot.code if lot else None
        exceptions.damaged_receipt(ctx, target, sku, code, cmd.qty, cmd.receipt, accepted_by)
    if shelf is None:
        return f"received {cmd.qty} x {sku.code} into {target.code}", result
    result["expiry"] = shelf.expiry
    done = f"received {cmd.qty} x {sku.code} {shelf.words} into {target.code}"
    if shelf.accepted_by:
        done += f", accepted into quarantine by {shelf.accepted_by}"
        result["accepted_by"] = shelf.accepted_by
    return done, result


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
    held_too: bool = False,
) -> tuple[Sku, list[Move], str | None, str | None]:
    """Move from a real location; with `fit`, into a bin with room. Held stock is refused
    unless `held_too` (scrapping). Returns a note when the target bin already holds something
    that could be mistaken for this SKU, or when the goods are held where they go, and the
    look-alike part of it on its own (an override into such a bin is an exception)."""
    sku = known_sku(ctx.store, cmd_sku)
    check_serials(sku, qty, serials)
    line_id = order_ledger.putback_line(ctx, order, sku, source.id, qty) if order else None
    lot = lot_for_take(ctx.store, sku, lot_code, source, qty)
    if not held_too:
        refuse_held(ctx, source, sku, lot)
    lookalike = _lookalike_note(ctx, sku, lot, target) if target.kind is LocationKind.BIN else None
    note = lookalike
    if not target.is_virtual and (held := held_text(ctx, target, sku, lot)) is not None:
        # Allowed (damaged goods go where they are held), but said: they cannot be picked there.
        note = _noted(f"{held}: these goods are held there too", note)
    moves = move_line(
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
    return sku, moves, note, lookalike


def _putaway(cmd: Putaway, ctx: Context) -> tuple[str, dict[str, Any]]:
    kinds: tuple[LocationKind, ...] = (
        LocationKind.DOCK,
        LocationKind.STAGING,
        LocationKind.RETURNS,
        LocationKind.QUARANTINE,
    )
    if cmd.order:  # a cancelled order's picks go back to stock from the outbound lane
        kinds = (*kinds, LocationKind.OUTBOUND)
    source = known_location(ctx.store, cmd.from_location, kinds, "putaway source")
    target = known_location(ctx.store, cmd.to_location, (LocationKind.BIN,), "putaway target")
    suggested = ctx.store.location(cmd.suggested) if cmd.suggested else None
    sku, moves, note, lookalike = _take_and_move(
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
    result = moved(moves)
    done = f"put {cmd.qty} x {sku.code} into {target.code}"
    if cmd.suggested is not None and cmd.suggested != target.code:
        result["override"] = {"suggested": cmd.suggested, "chosen": target.code}
        done += f" instead of the suggested {cmd.suggested}"
        if lookalike:
            exceptions.override(ctx, target, cmd.suggested, sku, moves, cmd.qty, lookalike)
    return _noted(done, note), result


def _transfer(cmd: Transfer, ctx: Context) -> tuple[str, dict[str, Any]]:
    source = known_location(ctx.store, cmd.from_location, REAL_KINDS, "source")
    target = known_location(ctx.store, cmd.to_location, REAL_KINDS, "target")
    if source.id == target.id:
        raise Rejection(
            Reason.BAD_INPUT, f"{source.code} is both source and target; scan another bin"
        )
    sku, moves, note, _ = _take_and_move(
        ctx, cmd.sku, cmd.qty, cmd.lot, cmd.serials, source, target, "transfer", fit=True
    )
    done = f"moved {cmd.qty} x {sku.code} from {source.code} to {target.code}"
    return _noted(done, note), moved(moves)


def _noted(message: str, note: str | None) -> str:
    return f"{message}; {note}" if note else message


def _ship(cmd: Ship, ctx: Context) -> tuple[str, dict[str, Any]]:
    kinds = (LocationKind.STAGING, LocationKind.OUTBOUND)
    source = known_location(ctx.store, cmd.from_location, kinds, "shipping source")
    customer = virtual_location(ctx.store, VirtualLocation.CUSTOMER)
    sku, moves, _, _ = _take_and_move(
        ctx, cmd.sku, cmd.qty, cmd.lot, cmd.serials, source, customer, "ship"
    )
    return f"shipped {cmd.qty} x {sku.code}", moved(moves)


def _return(cmd: Return, ctx: Context) -> tuple[str, dict[str, Any]]:
    store = ctx.store
    sku = known_sku(store, cmd.sku)
    target = known_location(store, cmd.to_location, (LocationKind.RETURNS,), "returns lane")
    check_serials(sku, cmd.qty, cmd.serials)
    check_approver(ctx, cmd.approved_by, "unexpected return")
    lot = None
    if cmd.lot:
        if sku.tracking is Tracking.NONE:
            raise Rejection(Reason.LOT_NOT_TRACKED, f"{sku.code} is not tracked by lot")
        lot = store.lot(sku.id, cmd.lot) or store.add_lot(sku.id, cmd.lot, None)
    elif sku.tracking is Tracking.LOT:
        raise Rejection(Reason.LOT_REQUIRED, f"{sku.code} is tracked by lot: scan the lot")
    customer = virtual_location(store, VirtualLocation.CUSTOMER)
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
        moves += move_line(
            ctx, sku, lot, qty, mine, customer, target, reason, order_line_id=line_id
        )
    result = moved(moves)
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
    source = known_location(ctx.store, cmd.from_location, REAL_KINDS, "source")
    scrap = virtual_location(ctx.store, VirtualLocation.SCRAP)
    sku, moves, _, _ = _take_and_move(
        ctx,
        cmd.sku,
        cmd.qty,
        cmd.lot,
        cmd.serials,
        source,
        scrap,
        f"scrap: {cmd.reason}",
        held_too=True,
    )
    return f"scrapped {cmd.qty} x {sku.code} from {source.code}", moved(moves)


def _adjust(cmd: Adjust, ctx: Context) -> tuple[str, dict[str, Any]]:
    store = ctx.store
    check_approver(ctx, cmd.approved_by, "adjustment")
    sku = known_sku(store, cmd.sku)
    location = known_location(store, cmd.location, REAL_KINDS, "counted location")
    limit = None if cmd.approved_by else functools.partial(_adjust_within, cmd, ctx, sku, location)
    done, moves = adjust_stock(
        ctx,
        sku,
        location,
        cmd.delta,
        cmd.reason.value,
        lot_code=cmd.lot,
        expiry=cmd.expiry,
        serials=cmd.serials,
        limit=limit,
    )
    return done, moved(moves)


def _adjust_within(cmd: Adjust, ctx: Context, sku: Sku, location: Location, held: Quant) -> None:
    """An adjustment beyond the policy's threshold (of what the ledger holds of the SKU and lot
    there, as the move locked it) needs a supervisor's approval, whoever sends it."""
    on_hand = held.on_hand
    tolerance = ctx.policy.adjust
    if beyond(tolerance, on_hand, on_hand + cmd.delta):
        raise Rejection(
            Reason.APPROVAL_REQUIRED,
            f"an adjustment of {cmd.delta:+d} {sku.code} in {location.code}, where the ledger "
            f"holds {on_hand}, is beyond the tolerance ({tolerance_text(tolerance)}): a "
            "supervisor must approve it with badge and PIN",
        )


def _receipt_within_tolerance(cmd: Receive, ctx: Context, sku: Sku) -> None:
    """Receiving beyond what an expected receipt allows needs a supervisor's approval."""
    if cmd.receipt is None or cmd.approved_by is not None:
        return
    head = ctx.store.lock_receipt(cmd.receipt)
    if head is None or head.status != "open":
        return
    figure = next((f for f in ctx.store.receipt_figures(head) if f.sku == sku.code), None)
    expected, received = (figure.expected, figure.received) if figure else (0, 0)
    total = received + cmd.qty
    tolerance = ctx.policy.receipt_over
    if total > expected and beyond(tolerance, expected, total):
        raise Rejection(
            Reason.APPROVAL_REQUIRED,
            f"receiving {cmd.qty} x {sku.code} makes {total} of the {expected} expected on "
            f"{head.code}, beyond the tolerance ({tolerance_text(tolerance)}): a supervisor "
            "must approve it with badge and PIN",
        )


def _opening(cmd: Opening, ctx: Context) -> tuple[str, dict[str, Any]]:
    """Opening balances, looked up in bulk: a go-live loads hundreds of thousands of lines."""
    store = ctx.store
    vendor = virtual_location(store, VirtualLocation.VENDOR)
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
    return f"loaded {len(all_moves)} opening balances", moved(all_moves)


def _reserve(cmd: Reserve, ctx: Context) -> tuple[str, dict[str, Any]]:
    store = ctx.store
    sku = known_sku(store, cmd.sku)
    location = (
        known_location(store, cmd.location, (LocationKind.BIN,), "pick bin")
        if cmd.location
        else None
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
    reservation = open_reservation(store, cmd.reservation)
    if cmd.qty > reservation.qty:
        raise Rejection(
            Reason.OVER_PICK,
            f"pick task {reservation.id} is for {reservation.qty}; {cmd.qty} is too many. "
            "Put the extra back.",
        )
    target = known_location(
        store, cmd.to_location, (LocationKind.OUTBOUND, LocationKind.STAGING), "pick target"
    )
    key = reservation.key
    source = store.locations_by_id([key.location_id])[key.location_id]
    lot = store.lots_by_id([key.lot_id]).get(key.lot_id) if key.lot_id != NO_LOT_ID else None
    moves: list[Move] = []
    sku = store.sku_by_id(key.sku_id)
    if cmd.qty:
        check_serials(sku, cmd.qty, cmd.serials)
        refuse_unpickable(ctx, source, sku, lot)
        moves = move_line(
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
    if cmd.qty < reservation.qty:
        line = f"{reservation.order_ref}/{reservation.order_line}"
        exceptions.short_pick(
            ctx, source, sku, lot, cmd.qty, reservation.qty, line, cmd.short_reason
        )
    return (
        f"picked {cmd.qty} of {reservation.qty} from {source.code}",
        {**moved(moves), "reservation": reservation.id, "state": state.value},
    )


def _void(cmd: Void, ctx: Context) -> tuple[str, dict[str, Any]]:
    reservation = open_reservation(ctx.store, cmd.reservation)
    void_reservation(ctx, reservation)
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


def _set_policy(cmd: SetPolicy, ctx: Context) -> tuple[str, dict[str, Any]]:
    try:
        value = parse(cmd.key, str(cmd.value))
    except PolicyError as error:
        raise Rejection(Reason.BAD_INPUT, str(error)) from None
    before = ctx.policy.values().get(cmd.key)
    ctx.store.set_policy(cmd.key, value, ctx.operator.id, ctx.tx_id)
    return (
        f"policy {cmd.key} set to {value} (was {before}) by {ctx.operator.badge}",
        {"key": cmd.key, "value": value, "before": before},
    )


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
    SetPolicy: _set_policy,
    **order_ledger.HANDLERS,
    **work_ledger.HANDLERS,
    **holds.HANDLERS,
    **exceptions.HANDLERS,
    **count_planning.HANDLERS,
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
