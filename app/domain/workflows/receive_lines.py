"""One receive on its way at the dock, and the exceptions a supervisor must accept in it: a lot
expired or with less shelf life left than its SKU's minimum on the day of the scan (accepted
into quarantine only: domain/expiry.py), and a lot not as the open receipt lists it (another
lot, another expiry). The ledger decides the same (services/receiving.py); the station decides
first, so that a worker is told at once, offline too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date

from app.domain.commands import Receive
from app.domain.errors import Reason
from app.domain.expiry import ShelfLife, shelf_problem
from app.domain.interpret import Interpretation
from app.domain.ledger import Outcome
from app.domain.model import Tracking
from app.domain.workflow import Receipt, SkuInfo
from app.domain.workflows.receipts import expected_expiry, expiry_mismatch, lot_problem

SUPERVISOR_MAY = {
    Reason.EXPIRED.value: "into quarantine",
    Reason.WRONG_LOT.value: "",
    Reason.EXPIRY_MISMATCH.value: "",
}
"""Ledger refusals of a receive that a supervisor may overrule at the station, and where the
goods go then."""


def what(cmd: Receive, packs: str = "") -> str:
    """'6 x MILK lot L1', '1 x PHONE serial SN-1', '12 x CHAIR (1 case of 12)' (`packs`: the
    cases the units were scanned as, Item.packs)."""
    lot = f" lot {cmd.lot}" if cmd.lot else ""
    serial = f" serial {cmd.serials[0]}" if len(cmd.serials) == 1 else ""
    return f"{cmd.qty} x {cmd.sku}{packs}{lot}{serial}"


def dated(cmd: Receive, outcome: Outcome | None = None, packs: str = "") -> str:
    """`what`, with the lot's expiry when it has one (the label's, else the one the ledger
    knows): '6 x MILK lot L1, expires 2027-03-01,'."""
    known = outcome.result.get("expiry") if outcome is not None else None
    expiry = cmd.expiry.isoformat() if cmd.expiry else known
    return what(cmd, packs) + (f", expires {expiry}," if expiry else "")


def scan_day(scan: Interpretation) -> date:
    """The day of the scan, in UTC, as the ledger judges shelf life (a stored scan replayed
    later keeps its day)."""
    return scan.scan.at.astimezone(UTC).date()


def sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


@dataclass(frozen=True, slots=True)
class Line:
    """A receive on its way: its tags (RFID), whether it goes beyond the receipt's tolerance,
    and the exceptions a supervisor must accept in it."""

    command: Receive
    epcs: frozenset[str] = frozenset()
    over: bool = False
    damaged: bool = False
    expired: str | None = None
    """'expired' or 'too little shelf life left': a supervisor accepts it into quarantine."""
    unlisted: str | None = None
    """How the lot differs from the open receipt ('not on receipt ASN-1'): a supervisor
    accepts it."""
    packs: str = ""
    """The cases the units were scanned as, for the banner: ' (1 case of 12)'."""

    @property
    def exception(self) -> bool:
        """Whether a supervisor must accept it, whatever the receipt's tolerance."""
        return bool(self.expired or self.unlisted)

    def accepting(self) -> str:
        """What a supervisor is asked to accept: '6 x MILK lot L1 (expired) into quarantine
        QUAR-1'."""
        marks = ", ".join(m for m in (self.expired, self.unlisted) if m)
        into = f" into quarantine {self.command.to_location}" if self.expired else ""
        return f"{what(self.command)} ({marks}){into}"


@dataclass(frozen=True, slots=True)
class LabelCheck:
    """What an item label means for receiving it."""

    expiry: date | None
    """The lot's expiry: the label's, else the one the open receipt gives the lot."""
    shelf: str | None = None
    """Why the lot is not sellable on the day of the scan (the dates named)."""
    expired: str | None = None
    unlisted: str | None = None
    problems: tuple[str, ...] = ()
    """Every exception, as sentences without their full stop."""

    @property
    def problem(self) -> str | None:
        return ". ".join(self.problems) or None


def check_label(
    receipt: Receipt | None, sku: SkuInfo, lot: str | None, label: date | None, day: date
) -> LabelCheck:
    """Check a label's lot and expiry against the open receipt (if any) and the SKU's shelf
    life on `day`."""
    expiry, unlisted, problems = label, None, []
    if receipt is not None and lot and sku.tracking is not Tracking.NONE:
        expiry = label or expected_expiry(receipt, sku.code, lot)
        wrong = lot_problem(receipt, sku.code, lot)
        if wrong is not None:
            unlisted = f"not on receipt {receipt.code}"
        else:
            wrong = expiry_mismatch(receipt, sku.code, lot, label)
            unlisted = f"dated otherwise on receipt {receipt.code}" if wrong else None
        problems += [sentence(wrong)] if wrong else []
    shelf = shelf_problem(sku.code, lot, expiry, sku.min_shelf_days, day)
    if shelf is None or expiry is None:
        return LabelCheck(expiry, None, None, unlisted, tuple(problems))
    life = ShelfLife(expiry, day, sku.min_shelf_days or 0)
    expired = "expired" if life.expired else "too little shelf life left"
    return LabelCheck(expiry, shelf, expired, unlisted, (sentence(shelf), *problems))
