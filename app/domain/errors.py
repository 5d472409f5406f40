"""A user's mistake (wrong bin, unknown item, not enough stock) is a Rejection, not a crash.

Rejections are recorded outcomes: the transaction id is stored with its reason, so that a resend
gets the same answer.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Reason(StrEnum):
    UNKNOWN_SKU = "unknown_sku"
    INACTIVE_SKU = "inactive_sku"
    UNKNOWN_LOCATION = "unknown_location"
    INACTIVE_LOCATION = "inactive_location"
    WRONG_LOCATION_KIND = "wrong_location_kind"
    UNKNOWN_OPERATOR = "unknown_operator"
    INACTIVE_OPERATOR = "inactive_operator"
    UNKNOWN_STATION = "unknown_station"
    NOT_ALLOWED = "not_allowed"
    BAD_QUANTITY = "bad_quantity"
    NOT_ENOUGH_STOCK = "not_enough_stock"
    LOT_REQUIRED = "lot_required"
    LOT_NOT_TRACKED = "lot_not_tracked"
    EXPIRY_MISMATCH = "expiry_mismatch"
    EXPIRED = "expired"
    """A lot past its expiry date, or with less shelf life left than its SKU's minimum."""
    HELD = "held"
    """Stock in a quarantine location, or on a location or lot put on hold."""
    WRONG_LOT = "wrong_lot"
    """A lot the receipt does not expect."""
    SERIALS_REQUIRED = "serials_required"
    SERIALS_NOT_TRACKED = "serials_not_tracked"
    SERIAL_DUPLICATE = "serial_duplicate"
    SERIAL_NOT_HERE = "serial_not_here"
    SERIAL_ALREADY_IN_STOCK = "serial_already_in_stock"
    UNKNOWN_RESERVATION = "unknown_reservation"
    RESERVATION_RESOLVED = "reservation_resolved"
    OVER_PICK = "over_pick"
    REASON_REQUIRED = "reason_required"
    ID_REUSED = "id_reused"
    BAD_INPUT = "bad_input"
    BIN_FULL = "bin_full"
    UNKNOWN_ORDER = "unknown_order"
    ORDER_CLAIMED = "order_claimed"
    ORDER_STATE = "order_state"
    APPROVAL_REQUIRED = "approval_required"
    PIN_REFUSED = "pin_refused"
    NOT_SHIPPED = "not_shipped"
    UNKNOWN_RECEIPT = "unknown_receipt"
    RECEIPT_CLOSED = "receipt_closed"
    OFFLINE = "offline"
    """Refused by the station itself: the database is out of reach and this cannot wait."""
    WRONG_DATABASE = "wrong_database"
    DATABASE_REFUSED = "database_refused"
    """The database itself refused the transaction for good (a rule of the stored data, a
    number or text it cannot store): an exception for a supervisor, and the queue moves on."""


class Rejection(Exception):
    """A transaction refused for a reason the user can act on."""

    def __init__(self, reason: Reason, message: str, result: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.result = result or {}
        """What the user needs next, stored with the refusal (e.g. the next bin suggestion)."""

    def __repr__(self) -> str:
        return f"Rejection({self.reason.value!r}, {self.message!r})"
