"""What a station shows, as immutable values: the session computes a `StationView` after every
input on the database worker thread and the window only renders it (STYLE.md rule 7: only
immutable values cross threads)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from app.domain.interpret import StationMode
from app.domain.model import Operator
from app.domain.workflow import Entry, Feedback


class TxState(StrEnum):
    """Where a transaction is: written to the outbox and not yet answered, or answered."""

    QUEUED = "queued"
    CONFIRMED = "confirmed"
    REFUSED = "refused"


class ScanState(StrEnum):
    """A scan's fate, as the list of last scans colours it."""

    REFUSED = "refused"
    """The scan itself was refused (unreadable, unknown, not expected here): red."""
    ACCEPTED = "accepted"
    """Taken by the workflow without a transaction (a bin scan, a receipt chosen): plain."""
    QUEUED = "queued"
    """Its transaction is in the outbox, not yet answered: grey."""
    CONFIRMED = "confirmed"
    """The ledger confirmed its transaction(s): green."""
    REJECTED = "rejected"
    """The ledger refused its transaction: red."""


@dataclass(frozen=True, slots=True)
class TxRow:
    tx_id: uuid.UUID
    kind: str
    state: TxState
    message: str


@dataclass(frozen=True, slots=True)
class ScanRow:
    seq: int
    text: str
    """What was scanned, exactly; shown as plain text only (it is hostile input)."""
    source: str
    meaning: str
    """What the station took it for: "item SKU-000001", "bin A-01-02-B", or the refusal."""
    state: ScanState
    at: datetime
    tx_ids: tuple[uuid.UUID, ...] = ()


@dataclass(frozen=True, slots=True)
class StationView:
    station: str
    operator: Operator | None
    mode: StationMode | None
    modes: tuple[StationMode, ...]
    """The modes this operator may switch to."""
    prompt: str
    feedback: Feedback | None
    """What the last input did (None: nothing new to report, keep the banner as it was)."""
    lines: tuple[str, ...]
    entry: Entry | None
    """What the keypad is for now (None: hide it)."""
    choices: tuple[str, ...]
    """Codes the user may pick on screen instead of scanning: open receipts in receive mode,
    open orders in pick mode. Picking one is the same as scanning it."""
    scans: tuple[ScanRow, ...]
    """The last scans, newest first, with their current state."""
    transactions: tuple[TxRow, ...]
    """The last transactions, newest first."""
    queue_depth: int
    database: str
    """"connected", or what is wrong: "unreachable: ..." """
    input_seq: int = 0
    """The number of the input this view answers (0 for a view nobody asked for: a drain)."""
    replica: str = ""
    """How old the station's copy of the warehouse is ("copy 3 s old"); empty without one."""
    exceptions: tuple[str, ...] = ()
    """Transactions refused after an outage, shown in red until a supervisor acknowledges
    them (@CMD:ACK)."""

    @property
    def database_ok(self) -> bool:
        return self.database == "connected"
