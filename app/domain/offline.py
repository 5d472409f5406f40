"""What a station may do while the shared database is out of reach (DESIGN.md section 2).

Safe offline: receiving (into the station's own dock lane or quarantine), putaway from the
station's own dock lane, counts (recorded, and checked by the ledger when they arrive), picks and
releases of the pick lists the station holds, closing receipts and count tasks, and holds (a
hold only stops stock from moving; it takes effect when it arrives). Those are queued
in the outbox. Everything else needs the ledger's answer now (it depends on stock other stations
move, or on a claim) and is refused by the station with one plain sentence.
"""

from __future__ import annotations

from datetime import datetime

from app.domain.commands import EPHEMERAL, Command, Putaway, TxKind
from app.domain.orders import clock
from app.domain.workflow import StationInfo

QUEUEABLE: frozenset[TxKind] = frozenset(
    {
        TxKind.RECEIVE,
        TxKind.PUTAWAY,
        TxKind.ADJUST,
        TxKind.POST_PICK,
        TxKind.VOID,
        TxKind.RELEASE_LIST,
        TxKind.CLOSE_RECEIPT,
        TxKind.RAISE_COUNT,
        TxKind.SAVE_COUNT,
        TxKind.HOLD,
    }
)
"""Transactions a station queues while the database is out of reach."""

_WHAT: dict[TxKind, str] = {
    TxKind.TRANSFER: "transfers",
    TxKind.RESERVE: "looking for stock in other bins",
    TxKind.TAKE_LIST: "pick lists can't be taken now",
    TxKind.SHIP: "shipping",
    TxKind.SHIP_ORDER: "shipping",
    TxKind.CANCEL_ORDER: "cancelling orders",
    TxKind.RETURN: "customer returns",
    TxKind.SCRAP: "scrapping",
    TxKind.EXPIRE: "expiring reservations",
    TxKind.OPENING: "opening balances",
    TxKind.RELEASE_HOLD: "releasing held stock",
}


def out_of_reach(since: datetime) -> str:
    return f"The database is out of reach since {clock(since)}"


def still_working(station: StationInfo) -> str:
    dock = f"putaway from {station.dock}" if station.dock else "putaway from the dock"
    return f"Receiving, {dock}, counts and the lists you hold keep working."


def offline_refusal(command: Command, station: StationInfo, since: datetime) -> str | None:
    """Why the station refuses `command` while the database is out of reach (None: it may be
    queued). Ephemeral commands (a bin suggestion) are neither: they are simply not sent."""
    kind = command.kind
    if kind in EPHEMERAL:
        return None
    if isinstance(command, Putaway) and (
        command.order is not None or command.from_location != station.dock
    ):
        what = f"putting away from {command.from_location} can't be done now"
    elif kind in QUEUEABLE:
        return None
    else:
        what = _WHAT.get(kind, f"{kind.value.replace('_', ' ')}")
        if "can't" not in what:
            what += " can't be done now"
    return f"{out_of_reach(since)}: {what}. {still_working(station)}"
