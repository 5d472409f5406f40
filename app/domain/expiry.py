"""Shelf life: which lots may be received and allocated, and the words a refusal uses.

A lot expires at the end of its expiry date (GS1 AI 17: "do not use after"): on that day it is
still good, the day after it is expired. A SKU may also ask for a minimum remaining shelf life
(`min_shelf_days`): a lot with fewer days left than that is refused at receipt (a supervisor may
accept it into quarantine) and never allocated. Pure functions over dates: the ledger passes the
day it applies a transaction, the station the day of the scan.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True, slots=True)
class ShelfLife:
    """What a lot's expiry means on a given day."""

    expiry: date
    on: date
    min_days: int = 0

    @property
    def days_left(self) -> int:
        """Days from `on` to the expiry date (0 on the expiry date itself, negative after)."""
        return (self.expiry - self.on).days

    @property
    def expired(self) -> bool:
        return self.days_left < 0

    @property
    def too_short(self) -> bool:
        """Expired, or fewer days left than the SKU's minimum."""
        return self.expired or self.days_left < self.min_days


def last_sellable_day(expiry: date, min_shelf_days: int | None) -> date:
    """The last day a lot may be allocated: its expiry less the SKU's minimum shelf life."""
    return expiry - timedelta(days=min_shelf_days or 0)


def sellable(expiry: date | None, min_shelf_days: int | None, on: date) -> bool:
    """Whether a lot may be received or allocated on `on` (an undated lot always may)."""
    return expiry is None or not ShelfLife(expiry, on, min_shelf_days or 0).too_short


def shelf_problem(
    sku: str, lot: str | None, expiry: date | None, min_shelf_days: int | None, on: date
) -> str | None:
    """Why a lot may not be received or allocated on `on`, naming the dates; None when it may."""
    if expiry is None:
        return None
    life = ShelfLife(expiry, on, min_shelf_days or 0)
    if not life.too_short:
        return None
    what = f"lot {lot} of {sku}" if lot else sku
    if life.expired:
        days = -life.days_left
        ago = "yesterday" if days == 1 else f"{days} days ago"
        return f"{what} expired on {expiry.isoformat()} ({ago}; today is {on.isoformat()})"
    left = "today" if life.days_left == 0 else f"in {life.days_left} day(s)"
    return (
        f"{what} expires on {expiry.isoformat()} ({left}), and {sku} must have at least "
        f"{life.min_days} days of shelf life left: an expiry on or after "
        f"{(on + timedelta(days=life.min_days)).isoformat()}"
    )
