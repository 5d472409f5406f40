"""The ledger's order transactions (DESIGN.md section 1, invariant 5): take a pick list (claim
and reserve), release it, ship an order, cancel it; and the order rules that reserve, pick,
putaway and return consult.

Every one locks the order's row first, then its lines, then reservations, then balances, so that
two of them on one order queue instead of interleaving. Built from the steps in
`ledger_steps`; their handlers join `ledger.HANDLERS`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from app.domain.commands import CancelOrder, ReleaseHow, ReleaseList, ShipOrder, TakeList
from app.domain.errors import Reason, Rejection
from app.domain.model import (
    NO_LOT_ID,
    Operator,
    QuantKey,
    ReservationState,
    Role,
    Sku,
    VirtualLocation,
)
from app.domain.orders import (
    PICKABLE,
    LineFigures,
    OrderHead,
    OrderState,
    after_release,
    claimed_elsewhere,
    shipping_short,
    state_refusal,
    taken_over,
)
from app.services.ledger_steps import (
    Context,
    Handler,
    allocate_line,
    check_approver,
    known_sku,
    move_line,
    refuse_held,
    virtual_location,
    void_reservation,
)


def order_or_refuse(ctx: Context, code: str) -> OrderHead:
    order = ctx.store.lock_order(code)
    if order is None:
        raise Rejection(
            Reason.UNKNOWN_ORDER,
            f"order {code!r} is not known. Check the order number on the paperwork, or ask a "
            "supervisor to import the order.",
        )
    return order


def _approver(ctx: Context, badge: str | None, what: str) -> Operator | None:
    if badge is None:
        return None
    check_approver(ctx, badge, what)
    return ctx.store.operator(badge)


def check_claim_held(ctx: Context, order: OrderHead) -> None:
    """Refuse work on an order's pick list by anyone but the claim's holder."""
    claim = order.claim
    if claim is None or not claim.held_by(ctx.station.code, ctx.operator.badge):
        raise taken_over(order.code, claim, claim.since if claim else None)
    ctx.store.touch_claim(order)


def claimed_line(ctx: Context, order: OrderHead, line: int, sku: Sku) -> LineFigures:
    """A line of a claimed order, locked, for a Reserve by the claim holder."""
    if order.state not in PICKABLE:
        raise Rejection(Reason.ORDER_STATE, state_refusal(order.code, order.state, "pick"))
    check_claim_held(ctx, order)
    for record in ctx.store.lock_order_lines(order):
        if record.figures.line == line:
            if record.sku_id != sku.id:
                raise Rejection(
                    Reason.BAD_INPUT,
                    f"{order.code} line {line} is {record.figures.sku}, not {sku.code}",
                )
            return record.figures
    raise Rejection(Reason.BAD_INPUT, f"{order.code} has no line {line}")


# --- take a pick list -------------------------------------------------------------------------


def _take_list(cmd: TakeList, ctx: Context) -> tuple[str, dict[str, Any]]:
    store, now = ctx.store, ctx.store.database_now()
    order = order_or_refuse(ctx, cmd.order)
    if order.state not in PICKABLE:
        raise Rejection(Reason.ORDER_STATE, state_refusal(order.code, order.state, "pick"))
    approver = _approver(ctx, cmd.takeover_by, "takeover")
    claim = order.claim
    mine = claim is not None and claim.held_by(ctx.station.code, ctx.operator.badge)
    before: dict[str, Any] = {}
    if claim is None:
        event = "claimed"
    elif mine:
        event = "resumed"
    elif approver is not None:
        event = "taken_over"
    elif claim.idle(now, ctx.orders.claim_idle_minutes):
        event = "idle_taken"
    else:
        raise claimed_elsewhere(order.code, claim)
    if claim is not None and not mine:
        before = {
            "holder": claim.holder.name,
            "badge": claim.holder.badge,
            "station": claim.holder.station,
            "since": claim.since.isoformat(),
        }
    lines = store.lock_order_lines(order)
    reserved: list[dict[str, Any]] = []
    for record in lines:
        figures = record.figures
        sku = known_sku(store, figures.sku)
        found, made = allocate_line(
            ctx, sku, order.code, figures.line, figures.to_allocate, expires_at=cmd.expires_at
        )
        reserved.append(
            {
                "line": figures.line,
                "sku": figures.sku,
                "asked": figures.to_allocate,
                "reserved": found,
                "open": figures.reserved,
                "picked": figures.picked,
                "reservations": made,
            }
        )
    store.set_order_state(
        order, OrderState.PICKING, now, False if mine else (ctx.station.id, ctx.operator.id)
    )
    note = ""
    if before:
        note = f"from {before['holder']} at {before['station']}"
    store.add_order_event(
        order,
        event,
        OrderState.PICKING,
        ctx.tx_id,
        ctx.station.id,
        ctx.operator.id,
        approver.id if approver else None,
        note,
    )
    total = sum(r["reserved"] for r in reserved)
    verb = {
        "claimed": "took",
        "resumed": "resumed",
        "taken_over": "took over",
        "idle_taken": "took (idle)",
    }[event]
    message = f"{verb} {order.code}"
    if total:
        message += f": reserved {total} unit(s) on {len(lines)} line(s)"
    if before:
        message += f"; it was {before['holder']}'s at {before['station']}"
    return message, {"event": event, "lines": reserved, "reserved": total, "before": before}


# --- let go of a pick list --------------------------------------------------------------------


def _void_open(ctx: Context, order: OrderHead) -> int:
    """Give back every open reservation of the order; how many units were released."""
    store, released = ctx.store, 0
    for reservation_id in store.open_reservation_ids(order.code):
        reservation = store.lock_reservation(reservation_id)
        if reservation is None or reservation.state is not ReservationState.OPEN:
            continue
        void_reservation(ctx, reservation)
        released += reservation.qty
    return released


def _release_list(cmd: ReleaseList, ctx: Context) -> tuple[str, dict[str, Any]]:
    store, now = ctx.store, ctx.store.database_now()
    order = order_or_refuse(ctx, cmd.order)
    if order.state not in PICKABLE:
        raise Rejection(Reason.ORDER_STATE, state_refusal(order.code, order.state, "pick"))
    check_claim_held(ctx, order)
    released = _void_open(ctx, order) if cmd.how is ReleaseHow.GIVE_BACK else 0
    lines = store.lock_order_lines(order)
    state, shorts = after_release(
        (r.figures for r in lines), finished=cmd.how is ReleaseHow.FINISHED
    )
    for record in lines:
        if shorts.get(record.figures.line):
            store.set_short_closed(record.id, record.figures.short + shorts[record.figures.line])
    store.set_order_state(order, state, now, claim=None)
    event = {"finished": "finished", "keep": "released", "give_back": "given_back"}[cmd.how.value]
    store.add_order_event(order, event, state, ctx.tx_id, ctx.station.id, ctx.operator.id)
    parts = [
        {
            OrderState.PICKED: f"{order.code} is picked and waits to be shipped",
            OrderState.OPEN: f"{order.code} is open again: nothing of it is picked",
        }.get(state, f"{order.code} is left with lines to pick")
    ]
    if released:
        parts.append(f"{released} reserved unit(s) given back to stock")
    if shorts:
        parts.append(f"{sum(shorts.values())} unit(s) closed short")
    return "; ".join(parts), {
        "state": state.value,
        "released": released,
        "short": {str(k): v for k, v in shorts.items()},
    }


# --- ship -------------------------------------------------------------------------------------


def _ship_order(cmd: ShipOrder, ctx: Context) -> tuple[str, dict[str, Any]]:
    store, now = ctx.store, ctx.store.database_now()
    order = order_or_refuse(ctx, cmd.order)
    if order.state is not OrderState.PICKED:
        raise Rejection(
            Reason.ORDER_STATE, state_refusal(order.code, order.state, "ship", order.claim)
        )
    lines = store.lock_order_lines(order)
    staged = store.staged(lines)
    if not staged:
        raise Rejection(
            Reason.ORDER_STATE,
            f"nothing of {order.code} stands in an outbound location: its picks were moved or "
            "put back. Ask a supervisor to cancel it.",
        )
    shipping: dict[int, int] = defaultdict(int)
    for row in staged:
        shipping[row.line_id] += row.qty
    report: list[dict[str, Any]] = []
    short_lines = []
    for record in lines:
        f, qty = record.figures, shipping.get(record.id, 0)
        report.append(
            {"line": f.line, "sku": f.sku, "ordered": f.ordered, "shipped": qty, "short": 0}
        )
        if qty < f.ordered:
            report[-1]["short"] = f.ordered - qty
            policy = ctx.orders
            if shipping_short(f.ordered, qty, policy.ship_short_units, policy.ship_short_percent):
                short_lines.append(f"line {f.line} {f.sku}: {qty} of {f.ordered}")
    approver = _approver(ctx, cmd.approved_by, "short shipment")
    if short_lines and approver is None:
        raise Rejection(
            Reason.APPROVAL_REQUIRED,
            f"{order.code} would ship short ({'; '.join(short_lines)}). A supervisor must "
            "approve shipping it short (badge and PIN), or pick the rest first.",
            {"lines": report},
        )
    _ship_staged(ctx, staged)
    for record in lines:
        left = record.figures.ordered - shipping.get(record.id, 0)
        if left != record.figures.short:
            store.set_short_closed(record.id, left)
    store.set_order_state(order, OrderState.SHIPPED, now, claim=None)
    store.add_order_event(
        order,
        "shipped",
        OrderState.SHIPPED,
        ctx.tx_id,
        ctx.station.id,
        ctx.operator.id,
        approver.id if approver else None,
        cmd.carrier_reference or "",
    )
    units = sum(shipping.values())
    short = sum(int(r["short"]) for r in report)
    text = f"shipped {order.code}: {units} unit(s) on {len(lines)} line(s)"
    if short:
        text += f", {short} short"
    return text, {"lines": report, "carrier_reference": cmd.carrier_reference}


def _ship_staged(ctx: Context, staged: Sequence[Any]) -> None:
    store = ctx.store
    customer = virtual_location(store, VirtualLocation.CUSTOMER)
    locations = store.locations_by_id({row.location_id for row in staged})
    lots = store.lots_by_id({row.lot_id for row in staged if row.lot_id != NO_LOT_ID})
    keys = [QuantKey(row.location_id, row.sku_id, row.lot_id) for row in staged]
    keys += [QuantKey(customer.id, row.sku_id, row.lot_id) for row in staged]
    store.lock_quants(keys)
    skus = {row.sku_id: store.sku_by_id(row.sku_id) for row in staged}
    for row in staged:  # held outbound goods, or a held lot, stop the whole shipment
        refuse_held(ctx, locations[row.location_id], skus[row.sku_id], lots.get(row.lot_id))
    for row in staged:
        sku = skus[row.sku_id]
        serials = row.serials if row.serials and len(row.serials) == row.qty else ()
        move_line(
            ctx,
            sku,
            lots.get(row.lot_id),
            row.qty,
            serials,
            locations[row.location_id],
            customer,
            "ship",
            order_line_id=row.line_id,
        )


# --- cancel -----------------------------------------------------------------------------------


def _cancel_order(cmd: CancelOrder, ctx: Context) -> tuple[str, dict[str, Any]]:
    store, now = ctx.store, ctx.store.database_now()
    if not cmd.reason.strip():
        raise Rejection(Reason.REASON_REQUIRED, "cancelling an order needs a reason")
    approver = _approver(ctx, cmd.approved_by, "cancellation")
    if ctx.operator.role is not Role.SUPERVISOR and approver is None:
        raise Rejection(
            Reason.APPROVAL_REQUIRED,
            f"{ctx.operator.name} ({ctx.operator.role.value}) may not cancel an order alone: a "
            "supervisor must approve (badge and PIN).",
        )
    order = order_or_refuse(ctx, cmd.order)
    if order.state in (OrderState.SHIPPED, OrderState.CANCELLED):
        raise Rejection(Reason.ORDER_STATE, state_refusal(order.code, order.state, "cancel"))
    released = _void_open(ctx, order)
    lines = store.lock_order_lines(order)
    staged = store.staged(lines)
    locations = store.locations_by_id({row.location_id for row in staged})
    lots = store.lots_by_id({row.lot_id for row in staged if row.lot_id != NO_LOT_ID})
    putaway = [
        {
            "location": locations[row.location_id].code,
            "sku": store.sku_by_id(row.sku_id).code,
            "lot": lots[row.lot_id].code if row.lot_id in lots else None,
            "qty": row.qty,
        }
        for row in staged
    ]
    store.set_order_state(order, OrderState.CANCELLED, now, claim=None)
    store.add_order_event(
        order,
        "cancelled",
        OrderState.CANCELLED,
        ctx.tx_id,
        ctx.station.id,
        ctx.operator.id,
        approver.id if approver else None,
        cmd.reason,
    )
    text = f"cancelled {order.code}"
    if released:
        text += f"; {released} reserved unit(s) given back to stock"
    if putaway:
        back = ", ".join(f"{p['qty']} x {p['sku']} in {p['location']}" for p in putaway)
        text += f"; put back to stock from the outbound lane: {back}"
    return text, {"released": released, "putaway": putaway}


# --- putaway of a cancelled order's picks, and returns ----------------------------------------


def putback_line(ctx: Context, order_code: str, sku: Sku, source_id: int, qty: int) -> int:
    """The order line a putaway of a cancelled order's picked goods belongs to."""
    order = order_or_refuse(ctx, order_code)
    if order.state is not OrderState.CANCELLED:
        raise Rejection(
            Reason.ORDER_STATE,
            f"{order.code} is {order.state.value}: only a cancelled order's picks are put back "
            "from the outbound lane",
        )
    lines = [r for r in ctx.store.lock_order_lines(order) if r.sku_id == sku.id]
    staged = [s for s in ctx.store.staged(lines) if s.location_id == source_id]
    there = sum(s.qty for s in staged)
    if qty > there:
        raise Rejection(
            Reason.NOT_ENOUGH_STOCK,
            f"{there} x {sku.code} of cancelled {order.code} are there, not {qty}",
        )
    return staged[0].line_id


def return_split(
    ctx: Context, order_code: str | None, sku: Sku, qty: int, approved: bool
) -> list[tuple[int | None, int]]:
    """How a customer return of `qty` x `sku` splits over the lines of the order that shipped
    them: (order line id, units). More than was shipped and not yet returned is refused unless
    a supervisor accepted it as an unexpected return: then it belongs to no line."""
    if order_code is None:
        if approved:
            return [(None, qty)]
        raise Rejection(
            Reason.NOT_SHIPPED,
            "a customer return names its order: scan the order first (a supervisor may accept "
            "goods without one as an unexpected return)",
        )
    order = order_or_refuse(ctx, order_code)
    lines = [r for r in ctx.store.lock_order_lines(order) if r.sku_id == sku.id]
    ids = [r.id for r in lines]
    shipped = ctx.store.line_totals(ids, "ship")
    returned = ctx.store.line_totals(ids, "return")
    open_ = {i: shipped.get(i, 0) - returned.get(i, 0) for i in ids}
    if qty > sum(open_.values()):
        if approved:
            return [(None, qty)]
        sent, back = sum(shipped.values()), sum(returned.values())
        came = f", {back} came back already" if back else ""
        raise Rejection(
            Reason.NOT_SHIPPED,
            f"{order.code} shipped {sent} x {sku.code}{came}: {qty} more cannot be returned "
            "against it; only a supervisor may accept them, as an unexpected return",
        )
    split: list[tuple[int | None, int]] = []
    left = qty
    for line_id in ids:
        take = min(open_[line_id], left)
        if take > 0:
            split.append((line_id, take))
            left -= take
    return split


HANDLERS: dict[type, Handler] = {
    TakeList: _take_list,
    ReleaseList: _release_list,
    ShipOrder: _ship_order,
    CancelOrder: _cancel_order,
}
