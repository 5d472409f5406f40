"""The ledger's holds (domain/holds.py): put a location or a lot on hold, and a supervisor's
release of held stock. Built from the steps in `ledger_steps`; their handlers join
`ledger.HANDLERS`.

Anyone may place a hold (whoever finds damaged goods stops them). A release carries a supervisor's
badge and PIN, verified by `ledger.authorise` whoever sends it; the supervisor may be the
operator (a supervisor releasing at a terminal), so the "another supervisor" rule of approvals
does not apply. A release without a quantity lifts the hold; one with a quantity moves the held
goods out (inspected ok: to a location that is not held; returned: to VENDOR; scrapped: to SCRAP)
and leaves the hold in place.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.domain.commands import Hold, ReleaseHold, ReleaseReason
from app.domain.errors import Reason, Rejection
from app.domain.model import Location, LocationKind, Lot, Operator, Sku, Tracking, VirtualLocation
from app.domain.ports import HoldRecord, LedgerStore
from app.services import exceptions
from app.services.ledger_steps import (
    REAL_KINDS,
    Context,
    Handler,
    held_text,
    known_location,
    known_sku,
    lot_for_take,
    move_line,
    moved,
    virtual_location,
)

MAX_REASON = 200
"""The longest reason a hold keeps (holds.reason)."""

_OUT_TO = {
    ReleaseReason.RETURNED_TO_VENDOR: VirtualLocation.VENDOR,
    ReleaseReason.SCRAPPED: VirtualLocation.SCRAP,
}
"""Where released goods go that leave stock."""


def when(at: datetime) -> str:
    """A hold's time as a supervisor reads it: date and local time."""
    return at.astimezone().strftime("%Y-%m-%d %H:%M")


def _real_location(store: LedgerStore, code: str) -> Location:
    location = store.location(code)
    if location is None:
        raise Rejection(Reason.UNKNOWN_LOCATION, f"location {code!r} does not exist")
    if location.is_virtual:
        raise Rejection(
            Reason.WRONG_LOCATION_KIND,
            f"{code} is a virtual location: only stock in a real location can be held",
        )
    return location


def _tracked_lot(store: LedgerStore, sku_code: str, lot_code: str) -> tuple[Sku, Lot]:
    sku = known_sku(store, sku_code)
    if sku.tracking is not Tracking.LOT:
        raise Rejection(
            Reason.LOT_NOT_TRACKED,
            f"{sku.code} is not tracked by lot: hold the location its goods are in instead",
        )
    lot = store.lot(sku.id, lot_code)
    if lot is None:
        raise Rejection(
            Reason.BAD_INPUT,
            f"{sku.code} has no lot {lot_code}: check the lot code on the label",
        )
    return sku, lot


def _already(hold: HoldRecord, what: str) -> tuple[str, dict[str, Any]]:
    return (
        f"{what} is already on hold since {when(hold.placed_at)} ({hold.reason}), placed by "
        f"{hold.placed_by}; nothing changed",
        {"hold": hold.id, "already": True},
    )


# --- hold -------------------------------------------------------------------------------------


def _hold(cmd: Hold, ctx: Context) -> tuple[str, dict[str, Any]]:
    store = ctx.store
    reason = cmd.reason.strip()
    if not reason:
        raise Rejection(Reason.REASON_REQUIRED, "a hold needs a reason: say what is wrong")
    if len(reason) > MAX_REASON:
        raise Rejection(
            Reason.BAD_INPUT, f"a hold's reason is at most {MAX_REASON} characters long"
        )
    if cmd.location is not None:
        location = _real_location(store, cmd.location)
        if location.kind is LocationKind.QUARANTINE:
            return (
                f"{location.code} is already held: it is a quarantine location",
                {"already": True},
            )
        location_id, lot_id, what = location.id, None, location.code
        held: tuple[Location | None, Sku | None, str | None] = (location, None, None)
    else:
        assert cmd.sku is not None and cmd.lot is not None  # the command's own check
        sku, lot = _tracked_lot(store, cmd.sku, cmd.lot)
        location_id, lot_id, what = None, lot.id, f"lot {lot.code} of {sku.code}"
        held = (None, sku, lot.code)
    existing = store.lock_active_hold(location_id, lot_id)
    if existing is not None:
        return _already(existing, what)
    placed = store.add_hold(location_id, lot_id, reason, ctx.operator.id, ctx.tx_id)
    if placed is None:  # placed by another transaction meanwhile
        found = store.lock_active_hold(location_id, lot_id)
        if found is None:  # and released again already: rare enough to be asked again
            raise Rejection(
                Reason.BAD_INPUT, f"{what} was put on hold and released meanwhile: scan again"
            )
        return _already(found, what)
    exceptions.hold_placed(ctx, placed.id, what, reason, *held)
    return (
        f"{what} is on hold ({reason}): nothing of it is picked, moved or shipped until a "
        "supervisor releases it",
        {"hold": placed.id},
    )


# --- release ----------------------------------------------------------------------------------


def _release_hold(cmd: ReleaseHold, ctx: Context) -> tuple[str, dict[str, Any]]:
    approver = ctx.store.operator(cmd.approved_by)
    assert approver is not None  # authorise verified the supervisor and their PIN
    if cmd.qty is None:
        return _lift(cmd, ctx, approver)
    return _move_out(cmd, ctx, approver, cmd.qty)


def _lift(cmd: ReleaseHold, ctx: Context, approver: Operator) -> tuple[str, dict[str, Any]]:
    """Lift the hold on a location or a lot: its stock may be picked and moved again."""
    store = ctx.store
    if cmd.location is not None and cmd.lot is not None:
        raise Rejection(
            Reason.BAD_INPUT,
            f"name {cmd.location} or lot {cmd.lot} to lift its hold, not both; to move goods "
            "out of a held location, give the item and quantity",
        )
    if cmd.location is not None:
        location = _real_location(store, cmd.location)
        location_id, lot_id, what = location.id, None, location.code
        quarantine = location.kind is LocationKind.QUARANTINE
    elif cmd.lot is not None and cmd.sku is not None:
        sku, lot = _tracked_lot(store, cmd.sku, cmd.lot)
        location_id, lot_id, what = None, lot.id, f"lot {lot.code} of {sku.code}"
        quarantine = False
    else:
        raise Rejection(
            Reason.BAD_INPUT, "name the held location, or the lot and its item, to release"
        )
    hold = store.lock_active_hold(location_id, lot_id)
    if hold is None and quarantine:
        raise Rejection(
            Reason.BAD_INPUT,
            f"{what} is a quarantine location: it has no hold to lift. Release its goods by "
            "item and quantity (to a bin when inspected ok, to the vendor, or to scrap)",
        )
    if hold is None:
        raise Rejection(Reason.BAD_INPUT, f"{what} is not on hold: there is nothing to release")
    if cmd.reason is not ReleaseReason.INSPECTED_OK:
        raise Rejection(
            Reason.BAD_INPUT,
            f"a hold is lifted when its goods were inspected ok (INSPECTED_OK), not "
            f"{cmd.reason.value.upper()}: goods returned to the vendor or scrapped are released "
            f"out of {what if location_id else 'their location'} by item and quantity",
        )
    store.release_hold(hold.id, approver.id, ctx.tx_id, cmd.reason.value)
    exceptions.hold_lifted(ctx, hold.id, approver)
    return (
        f"hold on {what} ({hold.reason}) lifted by {approver.badge}, inspected ok: its stock may "
        "be picked and moved again",
        {"hold": hold.id, "released_by": approver.badge},
    )


def _move_out(
    cmd: ReleaseHold, ctx: Context, approver: Operator, qty: int
) -> tuple[str, dict[str, Any]]:
    """Move held goods out of their location: inspected ok to a location that is not held,
    returned to VENDOR, scrapped to SCRAP."""
    store = ctx.store
    if cmd.location is None or cmd.sku is None:
        raise Rejection(
            Reason.BAD_INPUT,
            "a release by quantity names the held location the goods are in, and the item",
        )
    source = _real_location(store, cmd.location)  # a blocked bin's held goods may leave it
    sku = known_sku(store, cmd.sku)
    if sku.tracking is Tracking.SERIAL:
        raise Rejection(
            Reason.SERIALS_REQUIRED,
            f"{sku.code} is tracked by serial and a release by quantity names no serials: scrap "
            "them by serial, or lift the hold once they are inspected",
        )
    lot = lot_for_take(store, sku, cmd.lot, source, qty)
    held = held_text(ctx, source, sku, lot)
    what = f"{sku.code} lot {lot.code}" if lot else sku.code
    if held is None:
        raise Rejection(
            Reason.BAD_INPUT,
            f"{what} in {source.code} is not held: move it with a transfer",
        )
    reason = f"release: {cmd.reason.value}"
    if cmd.reason is ReleaseReason.INSPECTED_OK:
        if cmd.to_location is None:
            raise Rejection(
                Reason.BAD_INPUT,
                "goods inspected ok are released to a location: name where they go (at a "
                "station, the target scanned; perpetua release --to)",
            )
        target = known_location(store, cmd.to_location, REAL_KINDS, "release target")
        if target.id == source.id:
            raise Rejection(
                Reason.BAD_INPUT,
                f"{source.code} is where the goods are: release them to another location",
            )
        still = held_text(ctx, target, sku, None)
        if still is not None:
            raise Rejection(
                Reason.HELD, f"{still}: release the goods to a location that is not held"
            )
        moves = move_line(ctx, sku, lot, qty, (), source, target, reason, fit=True)
        done = f"released {qty} x {what} from {source.code} to {target.code}, inspected ok"
    else:
        if cmd.to_location is not None:
            raise Rejection(
                Reason.BAD_INPUT,
                f"goods {cmd.reason.value.replace('_', ' ')} leave stock: give no target location",
            )
        target = virtual_location(store, _OUT_TO[cmd.reason])
        moves = move_line(ctx, sku, lot, qty, (), source, target, reason)
        done = f"released {qty} x {what} from {source.code}: {cmd.reason.value.replace('_', ' ')}"
    result = moved(moves) | {"released_by": approver.badge, "to": target.code}
    if lot is not None and held_text(ctx, target, sku, lot) is not None and not target.is_virtual:
        done += f"; lot {lot.code} stays on hold wherever it is"
    return f"{done}, by {approver.badge}", result


HANDLERS: dict[type, Handler] = {Hold: _hold, ReleaseHold: _release_hold}
