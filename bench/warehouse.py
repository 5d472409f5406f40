"""The demo warehouse in memory, for the simulated day (bench/stow_day.py): free space per bin
in numpy arrays, so that "which bins fit" is one vectorised comparison, and what each bin holds.

MemoryStore answers the four store reads app.services.stow.plan() makes the way the SQL in
app/adapters/db/space.py answers them, so that the real suggestion code runs on it.

Geometry for pick paths, from the bin code ZONE-AISLE-BAY-LEVEL: zones side by side, each a row of
aisles AISLE_PITCH_M apart with bays BAY_WIDTH_M wide along them; the depot is at the front end of
zone A's first aisle. Within an aisle one walks along it; to another aisle, out to the front
cross-aisle, across and back in. Levels are stacked, so they add no walking.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from app.adapters.db.space import WINDOW
from app.domain.model import LocationKind, Sku
from app.domain.stow import RAND_SPACE, Content, Need, Space
from app.services.demo import DemoPlan

Ints = npt.NDArray[np.int64]

AISLE_PITCH_M = 3.0
BAY_WIDTH_M = 1.2


class Warehouse:
    """The demo's bins, indexed by their place in the pick sequence, with their free space as
    arrays (so that "which bins fit" is one vectorised comparison) and their contents as dicts."""

    def __init__(self, demo: DemoPlan, skus: dict[int, Sku], seed: int) -> None:
        rng = random.Random(seed)
        bins = sorted(
            (loc for loc in demo.locations if loc.kind is LocationKind.BIN),
            key=lambda loc: loc.pick_sequence,
        )
        self.skus = skus
        self.codes = [b.code for b in bins]
        self.zones = sorted({b.zone or "" for b in bins})
        self.zone_of = np.array([self.zones.index(b.zone or "") for b in bins], dtype=np.int64)
        self.seq = np.array([b.pick_sequence for b in bins], dtype=np.int64)
        self.max_u = np.array([b.max_units or 0 for b in bins], dtype=np.int64)
        self.max_v = np.array([b.max_volume_cm3 or 0 for b in bins], dtype=np.int64)
        self.max_w = np.array([b.max_weight_g or 0 for b in bins], dtype=np.int64)
        self.free_u, self.free_v, self.free_w = (
            self.max_u.copy(),
            self.max_v.copy(),
            self.max_w.copy(),
        )
        rand_key = np.array([rng.randrange(RAND_SPACE) for _ in bins], dtype=np.int64)
        self.held: list[dict[tuple[int, int], int]] = [{} for _ in bins]
        self.sku_bins: dict[int, set[int]] = defaultdict(set)
        self.zone_units: dict[int, Counter[str]] = defaultdict(Counter)
        self.all_seq: Ints = np.arange(len(bins), dtype=np.int64)
        # (zone or None, "rand" | "seq") -> (sorted keys, bin indexes in that order), as the
        # partial indexes on bin_space (zone, rand_key) and (zone, pick_sequence) order them.
        self._orders: dict[tuple[str | None, str], tuple[Ints, Ints]] = {}
        for zone in (None, *self.zones):
            pool = (
                self.all_seq
                if zone is None
                else np.flatnonzero(self.zone_of == self.zones.index(zone))
            )
            by_rand = pool[np.argsort(rand_key[pool], kind="stable")]
            self._orders[(zone, "rand")] = (rand_key[by_rand], by_rand)
            self._orders[(zone, "seq")] = (self.seq[pool], pool)
        self._geometry(bins)

    def _geometry(self, bins: Sequence[Any]) -> None:
        aisles = max(int(b.aisle or 1) for b in bins)
        self.x = np.array(
            [
                (self.zones.index(b.zone or "") * aisles + int(b.aisle or 1) - 1) * AISLE_PITCH_M
                for b in bins
            ]
        )
        self.y = np.array([int(b.bay or 1) * BAY_WIDTH_M for b in bins])

    # -- reads -----------------------------------------------------------------------------

    def ordered(self, zone: str | None, order: str) -> tuple[Ints, Ints]:
        return self._orders[(zone, order)]

    def fits(self, pool: Ints, need: Need) -> npt.NDArray[np.bool_]:
        return (
            (self.free_u[pool] >= need.units)
            & (self.free_v[pool] >= need.volume_cm3)
            & (self.free_w[pool] >= need.weight_g)
        )

    def open_window(self, pool: Ints, start: int) -> Ints:
        """The first WINDOW bins of `pool` from `start` with a free unit (the partial index)."""
        span = WINDOW
        while True:
            chunk = pool[start : start + span]
            found = chunk[self.free_u[chunk] > 0]
            if len(found) >= WINDOW or start + span >= len(pool):
                return found[:WINDOW]
            span *= 4

    def space(self, i: int) -> Space:
        mu, mv, mw = int(self.max_u[i]), int(self.max_v[i]), int(self.max_w[i])
        return Space(
            i,
            self.codes[i],
            self.zones[self.zone_of[i]],
            int(self.seq[i]),
            mu,
            mv,
            mw,
            mu - int(self.free_u[i]),
            mv - int(self.free_v[i]),
            mw - int(self.free_w[i]),
        )

    def contents_of(self, i: int) -> tuple[Content, ...]:
        return tuple(
            Content(sku_id, lot_id, units, self.skus[sku_id].lookalike_group)
            for (sku_id, lot_id), units in self.held[i].items()
        )

    # -- moves -----------------------------------------------------------------------------

    def put(self, i: int, sku: Sku, lot_id: int, qty: int) -> None:
        self.free_u[i] -= qty
        self.free_v[i] -= qty * sku.unit_volume_cm3
        self.free_w[i] -= qty * sku.unit_weight_g
        key = (sku.id, lot_id)
        self.held[i][key] = self.held[i].get(key, 0) + qty
        self.sku_bins[sku.id].add(i)
        self.zone_units[sku.id][self.zones[self.zone_of[i]]] += qty

    def take(self, sku_id: int, qty: int) -> tuple[list[int], int]:
        """Pick from the SKU's bins earliest in the pick sequence; the bins visited and the units
        short."""
        sku, visited = self.skus[sku_id], []
        for i in sorted(self.sku_bins.get(sku_id, ())):
            inside = self.held[i]
            for key in sorted(k for k in inside if k[0] == sku_id):
                n = min(qty, inside[key])
                qty -= n
                inside[key] -= n
                if not inside[key]:
                    del inside[key]
                self.free_u[i] += n
                self.free_v[i] += n * sku.unit_volume_cm3
                self.free_w[i] += n * sku.unit_weight_g
                self.zone_units[sku_id][self.zones[self.zone_of[i]]] -= n
                if not qty:
                    break
            visited.append(i)
            if not any(k[0] == sku_id for k in inside):
                self.sku_bins[sku_id].discard(i)
            if not qty:
                break
        return visited, qty

    def path_m(self, bins: Iterable[int]) -> float:
        """Depot, the bins in pick-sequence order, depot; aisle changes by the front cross-aisle."""
        total, px, py = 0.0, 0.0, 0.0
        for i in sorted(set(bins)):
            x, y = float(self.x[i]), float(self.y[i])
            total += abs(py - y) if px == x else py + abs(px - x) + y
            px, py = x, y
        return total + (py if px == 0.0 else py + px)

    # -- end-of-day figures ----------------------------------------------------------------

    def fill(self) -> npt.NDArray[np.float64]:
        """Per bin, the share of its tightest limit (units, volume or weight) in use."""
        used = [
            (self.max_u - self.free_u) / self.max_u,
            (self.max_v - self.free_v) / self.max_v,
            (self.max_w - self.free_w) / self.max_w,
        ]
        return cast(npt.NDArray[np.float64], np.maximum.reduce(used))

    def mixed_up_bins(self) -> int:
        """Bins holding two lots of one SKU or two SKUs of one look-alike group."""
        count = 0
        for inside in self.held:
            if len(inside) < 2:
                continue
            skus = Counter(sku_id for sku_id, _ in inside)
            groups = Counter(
                self.skus[s].lookalike_group for s in skus if self.skus[s].lookalike_group
            )
            if max(skus.values()) > 1 or (groups and max(groups.values()) > 1):
                count += 1
        return count

    def over_capacity(self) -> int:
        return int(np.count_nonzero((self.free_u < 0) | (self.free_v < 0) | (self.free_w < 0)))


class MemoryStore:
    """The four store reads plan() makes, answered from the Warehouse as space.py's SQL answers
    them: a window of at most WINDOW index entries of bins with a free unit, then the fit."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.w = warehouse

    def sample_bins(
        self, need: Need, *, zone: str | None, order: str, start: int, limit: int
    ) -> list[Space]:
        keys, pool = self.w.ordered(zone, order)
        window = self.w.open_window(pool, int(np.searchsorted(keys, start)))
        return [self.w.space(int(i)) for i in window[self.w.fits(window, need)][:limit]]

    def roomiest_bins(self, need: Need, *, zone: str | None, limit: int) -> list[Space]:
        pool = self.w.ordered(zone, "seq")[1]
        pool = pool[self.w.free_v[pool] >= need.volume_cm3]
        if len(pool) > WINDOW:
            pool = pool[np.argpartition(-self.w.free_v[pool], WINDOW)[:WINDOW]]
        pool = pool[np.argsort(-self.w.free_v[pool], kind="stable")]
        fit = (self.w.free_u[pool] >= need.units) & (self.w.free_w[pool] >= need.weight_g)
        return [self.w.space(int(i)) for i in pool[fit][:limit]]

    def contents(self, location_ids: Sequence[int]) -> dict[int, list[Content]]:
        return {i: list(self.w.contents_of(i)) for i in location_ids if self.w.held[i]}

    def sku_zone_units(self, sku_id: int) -> dict[str, int]:
        return {z: n for z, n in self.w.zone_units[sku_id].items() if n > 0}
