"""A receipt's figures, as pure functions: what was expected and received per SKU, the progress
lines a dock worker sees, the discrepancies reported when the receipt is closed, and the lots
(with their expiry) its lines expect."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from app.domain.workflow import Receipt, Tolerance


@dataclass(frozen=True, slots=True)
class LineCheck:
    """Expected against received for one SKU of a receipt (expected 0: not on the receipt)."""

    sku: str
    expected: int
    received: int

    @property
    def over(self) -> int:
        return max(0, self.received - self.expected)

    @property
    def short(self) -> int:
        return max(0, self.expected - self.received)


def check_receipt(
    receipt: Receipt, extra: Mapping[str, int] | None = None
) -> tuple[LineCheck, ...]:
    """Per SKU in the receipt's line order, then the SKUs received that it did not expect;
    `extra` adds units the database does not know of yet."""
    received = Counter(receipt.received)
    received.update(extra or {})
    expected = list(dict.fromkeys(line.sku for line in receipt.lines))
    others = sorted(sku for sku, n in received.items() if n > 0 and sku not in expected)
    return tuple(LineCheck(s, receipt.expected(s), received[s]) for s in expected + others)


def short_beyond(checks: Sequence[LineCheck], tolerance: Tolerance) -> tuple[LineCheck, ...]:
    """The short SKUs a supervisor must look at before the receipt closes."""
    return tuple(c for c in checks if c.short and not tolerance.allows(c.expected, c.received))


def progress_lines(checks: Sequence[LineCheck], names: Mapping[str, str]) -> tuple[str, ...]:
    """'SKU-1 Widget: received 3 of 10', one line per SKU."""
    return tuple(
        f"{named(c.sku, names)}: received {c.received} of {c.expected}"
        if c.expected
        else f"{named(c.sku, names)}: received {c.received}, not on the receipt"
        for c in checks
    )


def discrepancy_lines(checks: Sequence[LineCheck], names: Mapping[str, str]) -> tuple[str, ...]:
    """The report shown when a receipt closes: every SKU, and how far off it is."""
    lines = []
    for c in checks:
        if not c.expected:
            what = f"received {c.received}, not expected"
        else:
            what = f"expected {c.expected}, received {c.received}"
            what += f", {c.short} short" if c.short else f", {c.over} over" if c.over else ", ok"
        lines.append(f"{named(c.sku, names)}: {what}")
    return tuple(lines)


def named(sku: str, names: Mapping[str, str]) -> str:
    return f"{sku} {names[sku]}" if names.get(sku) else sku


def lot_problem(receipt: Receipt, sku: str, lot: str) -> str | None:
    """Why `lot` of `sku` may not be received against `receipt`: the receipt's lines for the
    SKU all name their lots, and this is none of them (None: it may, or the receipt names no
    lot for the SKU)."""
    lots = [line.lot for line in receipt.lines if line.sku == sku]
    if not lots or None in lots or lot in lots:
        return None
    expected = ", ".join(dict.fromkeys(code for code in lots if code))
    scanned = f"Lot {lot}" if lot else "A label without a lot"
    return (
        f"{scanned} of {sku} is not expected on receipt {receipt.code}: it expects lot {expected}"
    )


def expected_expiry(receipt: Receipt, sku: str, lot: str) -> date | None:
    """The expiry the receipt gives `lot` of `sku` (for a label that carries none)."""
    for line in receipt.lines:
        if line.sku == sku and line.lot == lot and line.expiry:
            return line.expiry
    return None


def expiry_mismatch(receipt: Receipt, sku: str, lot: str, label: date | None) -> str | None:
    """Why a label's expiry does not fit the one the receipt gives its lot (None: it fits, or
    either is not given)."""
    listed = expected_expiry(receipt, sku, lot)
    if listed is None or label is None or label == listed:
        return None
    return (
        f"the label of lot {lot} of {sku} says it expires {label.isoformat()}, and receipt "
        f"{receipt.code} says {listed.isoformat()}"
    )
