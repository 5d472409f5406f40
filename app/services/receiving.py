"""What a receipt may bring in, beyond quantities: the lots an expected receipt names, and shelf
life (domain/expiry.py). Steps of the ledger's Receive, enforced whoever sends it.

One supervisor's approval (`Receive.approved_by`, badge and PIN verified by `authorise`) covers
every exception of one receive: over the receipt's tolerance, a lot the receipt does not name,
and an expired or short-dated lot, which is accepted into a quarantine location only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from app.domain.commands import Receive
from app.domain.errors import Reason, Rejection
from app.domain.expiry import ShelfLife, shelf_problem
from app.domain.model import Location, LocationKind, Lot, Sku
from app.services.ledger_steps import Context


def _either(codes: list[str]) -> str:
    """'L1', 'L1 or L2', 'L1, L2 or L3'."""
    return codes[0] if len(codes) == 1 else f"{', '.join(codes[:-1])} or {codes[-1]}"


def listed_expiry(cmd: Receive, ctx: Context, sku: Sku) -> date | None:
    """Check the lot against the open receipt it is received on: when every line of the receipt
    for this SKU names a lot, another lot is refused; when the line of this lot names an expiry,
    a label with another one is refused. A supervisor's approval lets either through. Returns
    the expiry the receipt gives the lot (None when it gives none)."""
    if cmd.receipt is None or cmd.lot is None:
        return None
    head = ctx.store.lock_receipt(cmd.receipt)
    if head is None or head.status != "open":
        return None
    lines = ctx.store.receipt_lots(head, sku.id)
    named = sorted({line.lot for line in lines if line.lot is not None})
    approved = cmd.approved_by is not None
    if cmd.lot not in named:
        if named and all(line.lot is not None for line in lines) and not approved:
            raise Rejection(
                Reason.WRONG_LOT,
                f"receipt {head.code} expects {sku.code} lot {_either(named)}, not {cmd.lot}: "
                "set the goods aside and call a supervisor",
                {"expected": named},
            )
        return None
    listed = next((ln.expiry for ln in lines if ln.lot == cmd.lot and ln.expiry), None)
    if listed and cmd.expiry and cmd.expiry != listed and not approved:
        raise Rejection(
            Reason.EXPIRY_MISMATCH,
            f"receipt {head.code} expects {sku.code} lot {cmd.lot} to expire "
            f"{listed.isoformat()}, the label says {cmd.expiry.isoformat()}: set the goods aside "
            "and call a supervisor",
            {"expected": listed.isoformat()},
        )
    return listed


@dataclass(frozen=True)
class DatedLot:
    """A received lot's expiry, as its confirmation names it."""

    words: str
    """'lot L1 (expires 2027-03-01)', or '(expired ...)' for one a supervisor accepted."""
    expiry: str
    accepted_by: str | None = None
    """The supervisor who accepted it, expired or short-dated, into quarantine."""


def check_shelf_life(
    cmd: Receive, ctx: Context, sku: Sku, lot: Lot | None, target: Location
) -> DatedLot | None:
    """Refuse a lot expired, or with less shelf life left than the SKU's minimum, on the day of
    the scan; a supervisor may accept it, into quarantine only. Returns how the confirmation
    names the lot and its expiry (None: no lot, or one without an expiry)."""
    if lot is None or lot.expiry is None:
        return None
    life = ShelfLife(lot.expiry, ctx.day, sku.min_shelf_days or 0)
    problem = shelf_problem(sku.code, lot.code, lot.expiry, sku.min_shelf_days, ctx.day)
    if problem is not None:
        if cmd.approved_by is None:
            raise Rejection(
                Reason.EXPIRED,
                f"{problem}. Set the goods aside: a supervisor may accept them into quarantine "
                "with badge and PIN.",
            )
        if target.kind is not LocationKind.QUARANTINE:
            what = "an expired lot" if life.expired else "a lot short of its shelf life"
            raise Rejection(
                Reason.EXPIRED,
                f"{what} is accepted into quarantine only: {problem}. Receive it into a "
                f"quarantine location, not {target.code}.",
            )
    verb = "expired" if life.expired else "expires"
    return DatedLot(
        f"lot {lot.code} ({verb} {lot.expiry.isoformat()})",
        lot.expiry.isoformat(),
        cmd.approved_by if problem is not None else None,
    )
