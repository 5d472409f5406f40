"""Held stock: what may not be picked, transferred or shipped until a supervisor releases it.

Stock is held when it stands in a quarantine location (held by the location's kind: damaged
receipts, expired lots accepted by a supervisor), in a location put on hold, or is of a lot put
on hold (wherever it is). A release (`ReleaseHold`, badge and PIN) is a ledger transaction; its
reasons are `commands.ReleaseReason`.
"""

from __future__ import annotations


def hold_text(
    location: str,
    *,
    quarantine: bool = False,
    location_reason: str | None = None,
    sku: str | None = None,
    lot: str | None = None,
    lot_reason: str | None = None,
) -> str | None:
    """Why stock in `location` (of `lot` of `sku`) is held, in a refusal's words; None when it
    is not."""
    if quarantine:
        return (
            f"{location} is a quarantine location: its stock is held until a supervisor releases it"
        )
    if location_reason is not None:
        return f"{location} is on hold ({location_reason})"
    if lot_reason is not None and lot:
        return f"lot {lot} of {sku} is on hold ({lot_reason})"
    return None


RELEASE_NEEDED = (
    "a supervisor releases held stock with badge and PIN and a reason: INSPECTED_OK, "
    "RETURNED_TO_VENDOR or SCRAPPED"
)
"""What to do about held stock, appended to a refusal."""
