"""One count of a bin and how it differs from the ledger (RELIABILITY.md promise 9): what was
scanned, per SKU and lot, and the variance arithmetic on it (counted minus the snapshot taken when
the count started, tolerance, what is left after a partial posting).

Pure values and functions, kept apart from `count.CountWorkflow`, the state machine that decides
when a count posts, waits for a recount or for a supervisor.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from app.domain.workflow import Holding, Tolerance

Key = tuple[str, str | None]
"""SKU code and lot code (None for an item not tracked by lot)."""


def tally(holdings: Iterable[Holding]) -> dict[Key, int]:
    """Units per SKU and lot."""
    totals: dict[Key, int] = {}
    for holding in holdings:
        key = (holding.sku, holding.lot)
        totals[key] = totals.get(key, 0) + holding.qty
    return totals


def _keys(*tallies: Mapping[Key, int]) -> list[Key]:
    return sorted({k for t in tallies for k in t}, key=lambda k: (k[0], k[1] or ""))


def variances(snapshot: Iterable[Holding], counts: Iterable[Holding]) -> dict[Key, int]:
    """Counted minus snapshot, per SKU and lot, for every key that differs."""
    before, after = tally(snapshot), tally(counts)
    diffs = {k: after.get(k, 0) - before.get(k, 0) for k in _keys(before, after)}
    return {k: d for k, d in diffs.items() if d}


def beyond_tolerance(
    tolerance: Tolerance, snapshot: Iterable[Holding], counts: Iterable[Holding]
) -> list[Key]:
    """The keys whose count strays from the snapshot further than `tolerance` allows."""
    before, after = tally(snapshot), tally(counts)
    return [
        k for k in _keys(before, after) if not tolerance.allows(before.get(k, 0), after.get(k, 0))
    ]


def with_posted(snapshot: Iterable[Holding], posted: Mapping[Key, int]) -> tuple[Holding, ...]:
    """The snapshot as if these deltas had been in it: what is left to post after a partial
    posting is counted minus this."""
    totals = tally(snapshot)
    for key, delta in posted.items():
        totals[key] = totals.get(key, 0) + delta
    return tuple(Holding(sku, lot, qty) for (sku, lot), qty in totals.items() if qty)


def label(key: Key) -> str:
    """A key as the counter reads it: "SKU-L lot L1"."""
    return f"{key[0]} lot {key[1]}" if key[1] else key[0]


@dataclass
class Count:
    """One count of one bin."""

    bin: str
    snapshot: tuple[Holding, ...]
    counters: frozenset[str]
    """Badges of everyone whose count this is or follows (they may not approve it)."""
    counted_by: str
    """The badge the count is saved under."""
    recount: bool = False
    approving: bool = False
    """Posted with a supervisor's approval (the task is in APPROVAL until it is posted)."""
    counted: dict[Key, int] = field(default_factory=dict)
    expiry: dict[Key, date] = field(default_factory=dict)
    scans: list[tuple[Key, int, str | None]] = field(default_factory=list)

    def add(self, key: Key, qty: int, serial: str | None, expiry: date | None) -> int:
        self.counted[key] = self.counted.get(key, 0) + qty
        self.scans.append((key, qty, serial))
        if expiry is not None:
            self.expiry.setdefault(key, expiry)
        return self.counted[key]

    def holdings(self) -> tuple[Holding, ...]:
        return tuple(Holding(sku, lot, qty) for (sku, lot), qty in self.counted.items() if qty)

    def counted_lines(self) -> tuple[str, ...]:
        """What was counted, never what the ledger expects."""
        units = sum(self.counted.values())
        head = f"{'Recount' if self.recount else 'Count'} of {self.bin}: {units} unit(s) counted"
        return (head, *(f"{label(k)}: {q} counted" for k, q in self.counted.items() if q))

    def variance_lines(self) -> tuple[str, ...]:
        """For the approver: counted against the snapshot, per SKU and lot."""
        before = tally(self.snapshot)
        lines = [f"Recount of {self.bin}, against the ledger when it started:"]
        for key, diff in variances(self.snapshot, self.holdings()).items():
            was = before.get(key, 0)
            lines.append(f"{label(key)}: counted {was + diff}, ledger {was} ({diff:+d})")
        return tuple(lines)
