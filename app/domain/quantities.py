"""The quantities the ledger can keep, and the plain sentences that refuse one beyond them.

Quantities, balances and reservations are 32-bit integers in the database (`integer` on
PostgreSQL), so nothing outside that range may reach a write: PostgreSQL would fail the
transaction with an error no user can act on, and SQLite (64-bit) would quietly keep a figure
PostgreSQL cannot. A command is refused when it is built (`check_quantity`); a move that would
push a balance past the range is refused by the store in the statement that writes it.
"""

from __future__ import annotations

from app.domain.errors import Reason, Rejection

MAX_QUANTITY = 2_147_483_647
"""The largest quantity, balance or reservation the database keeps (2^31 - 1)."""

MIN_BALANCE = -2_147_483_648
"""The lowest balance a virtual location (VENDOR, CUSTOMER...) can reach: the negative total of
everything it ever gave."""


def check_quantity(what: str, value: int) -> None:
    """Refuse a quantity (or the size of a change, either sign) beyond what the database keeps."""
    if isinstance(value, int) and abs(value) > MAX_QUANTITY:
        raise Rejection(
            Reason.BAD_QUANTITY,
            f"{what} {abs(value)} is above the largest quantity {MAX_QUANTITY}: "
            "check the number and enter it again",
        )


MAX_RUNNING_TOTAL = 2**63 - 1
"""A virtual location's balance is 64 bits (migration 0007): its running total of all it ever
gave or took."""


def balance_in_range(balance: int, virtual: bool = False) -> bool:
    if virtual:
        return -MAX_RUNNING_TOTAL - 1 <= balance <= MAX_RUNNING_TOTAL
    return MIN_BALANCE <= balance <= MAX_QUANTITY


def beyond_range(location: str, virtual: bool, item: str, balance: int) -> str:
    """Why a move is refused when it would take a balance out of the database's range."""
    if virtual:
        return (
            f"the ledger's running total of {item} at {location} would pass "
            f"{MAX_QUANTITY} units, the most the database keeps; nothing was changed. "
            "Ask a supervisor: the database's balance columns need widening"
        )
    return (
        f"{location} would then hold {balance} x {item}, above the largest quantity "
        f"{MAX_QUANTITY}; nothing was changed. Split the goods over other locations"
    )
