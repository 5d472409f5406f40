"""A simulated day of putaways and picks: our bin suggestion beside "nearest free bin" and
"uniformly random bin that fits", all on the same stream of goods and orders.

The warehouse is the demo's (app/services/demo.py, same seed), held in memory (bench/warehouse.py)
so that a day of 100k events takes seconds. Its bins start empty: in the morning each policy puts
the demo's opening stock away, in cases, so that every unit sits where the policy under test
put it. Ours is the real code: app.services.stow.plan() ranks bins with app.domain.stow.rank(),
reading through MemoryStore; the worker takes the first suggestion. Fast movers are the A class
of velocity_classes() over yesterday's picks, drawn from the same demand as the day's; a second
run of ours with every SKU class C shows what the fast-mover rule is worth.

Demand is Zipf-skewed over the SKUs; goods arrive with the same skew and as many units on average
as are picked, so that no SKU piles up or runs dry over the day. Every policy picks a line from
the SKU's bins earliest in the pick sequence first. An order's path leaves the depot, visits its
bins in pick-sequence order and returns (the geometry is in bench/warehouse.py).
"""

from __future__ import annotations

import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from itertools import accumulate
from typing import Any, Protocol, cast

import numpy as np
from warehouse import MemoryStore, Warehouse

from app.domain.model import NO_LOT_ID, LocationKind, Sku, Tracking
from app.domain.ports import LedgerStore
from app.domain.stow import Candidate, Need, StowPolicy, conflict, velocity_classes
from app.services.demo import DemoPlan
from app.services.stow import plan

ZIPF_S = 1.0
"""Demand skew: the k-th most picked SKU is picked in proportion to 1 / k**ZIPF_S."""
PICK_UNITS = (1, 5)
ORDER_LINES = (1, 4)
MORNING_CASE = 20
"""The demo's opening stock arrives in the morning in cases of at most this many units."""
NEW_LOT_SHARE = 0.2
"""Share of putaways of a lot-tracked SKU that bring a new lot."""
POLICY = StowPolicy(cap_per_bin=100, cap_per_zone=400)
"""Our policy as the example config (README, [stow]) sets it."""
FILL_BANDS = (
    ("empty", 0.0, 0.0),
    ("<25%", 0.0, 0.25),
    ("25-50%", 0.25, 0.5),
    ("50-75%", 0.5, 0.75),
    ("75-90%", 0.75, 0.9),
    (">=90%", 0.9, float("inf")),
)


# --- the stream of goods and orders -----------------------------------------------------------


@dataclass(frozen=True)
class PutawayEvent:
    sku_id: int
    lot_id: int
    qty: int
    zone: str
    """The zone of the station the goods arrive at."""


@dataclass(frozen=True)
class OrderEvent:
    lines: tuple[tuple[int, int], ...]
    """(SKU id, units) per line."""


@dataclass
class Day:
    skus: dict[int, Sku]
    """With yesterday's velocity classes."""
    lots: dict[tuple[int, str], int]
    events: list[PutawayEvent | OrderEvent]
    morning: int = 0
    """The first `morning` events put the demo's opening stock away."""
    putaways: int = 0
    lines: int = 0
    orders: int = 0
    fast_movers: int = 0
    fast_pick_share: float = 0.0


def catalogue(demo: DemoPlan) -> tuple[dict[int, Sku], dict[tuple[int, str], int]]:
    """The demo's SKUs with ids 1..M, and ids for the lots of its opening stock."""
    skus = {
        n: Sku(n, s.code, s.name, s.unit_volume_cm3, s.unit_weight_g, s.tracking, s.lookalike_group)
        for n, s in enumerate(demo.skus, 1)
    }
    ids = {s.code: s.id for s in skus.values()}
    lots: dict[tuple[int, str], int] = {}
    for line in demo.opening:
        if line.lot:
            lots.setdefault((ids[line.sku], line.lot), len(lots) + 1)
    return skus, lots


def make_day(demo: DemoPlan, putaways: int, picks: int, seed: int) -> Day:
    """The day's putaways and order lines, interleaved, and yesterday's velocity classes.

    A reference stock (every putaway accepted) keeps order lines to SKUs in stock; a policy that
    refused a putaway may come up short on a later pick, which its figures then show.
    """
    rng = random.Random(seed)
    skus, lots = catalogue(demo)
    ids = {s.code: s.id for s in skus.values()}
    ranked = list(skus)
    rng.shuffle(ranked)
    cum = list(accumulate(1 / (k + 1) ** ZIPF_S for k in range(len(ranked))))

    def draw() -> int:
        return rng.choices(ranked, cum_weights=cum)[0]

    yesterday: Counter[int] = Counter()
    for _ in range(picks):
        yesterday[draw()] += rng.randint(*PICK_UNITS)
    classes = velocity_classes(yesterday)
    skus = {i: replace(s, velocity_class=classes.get(i, "C")) for i, s in skus.items()}
    fast = {i for i, s in skus.items() if s.fast_mover}

    zones = sorted({s.zone for s in demo.stations if s.zone})
    stock: Counter[int] = Counter()
    current_lot: dict[int, int] = {}
    day = Day(skus, lots, [])
    for line in demo.opening:  # the morning: the demo's opening stock, in cases
        sku_id = ids[line.sku]
        lot_id = lots[(sku_id, line.lot)] if line.lot else NO_LOT_ID
        if line.lot:
            current_lot[sku_id] = lot_id
        stock[sku_id] += line.qty
        for case in range(0, line.qty, MORNING_CASE):
            qty = min(MORNING_CASE, line.qty - case)
            day.events.append(PutawayEvent(sku_id, lot_id, qty, rng.choice(zones)))
    day.morning = len(day.events)
    mean_pick = sum(PICK_UNITS) / 2
    top = max(1, round(2 * mean_pick * picks / max(putaways, 1) - 1))

    kinds: list[int] = [0] * putaways  # 0: a putaway, n > 0: an order of n lines
    left = picks
    while left > 0:
        kinds.append(min(rng.randint(*ORDER_LINES), left))
        left -= kinds[-1]
    rng.shuffle(kinds)
    day.putaways = putaways
    fast_units = picked_units = 0
    for kind in kinds:
        if kind == 0:
            sku_id = draw()
            lot_id = NO_LOT_ID
            if skus[sku_id].tracking is Tracking.LOT:
                if sku_id not in current_lot or rng.random() < NEW_LOT_SHARE:
                    current_lot[sku_id] = len(lots) + 1
                    lots[(sku_id, f"DAY{len(lots) + 1}")] = current_lot[sku_id]
                lot_id = current_lot[sku_id]
            qty = rng.randint(1, top)
            stock[sku_id] += qty
            day.events.append(PutawayEvent(sku_id, lot_id, qty, rng.choice(zones)))
            continue
        lines: dict[int, int] = {}
        for _ in range(kind):
            for _try in range(50):
                sku_id = draw()
                if stock[sku_id] > 0 and sku_id not in lines:
                    qty = min(rng.randint(*PICK_UNITS), stock[sku_id])
                    lines[sku_id] = qty
                    stock[sku_id] -= qty
                    picked_units += qty
                    fast_units += qty if sku_id in fast else 0
                    break
        day.lines += len(lines)
        if lines:
            day.orders += 1
            day.events.append(OrderEvent(tuple(lines.items())))
    day.fast_movers = len(fast)
    day.fast_pick_share = fast_units / max(picked_units, 1)
    return day


# --- the policies -----------------------------------------------------------------------------


class Chooser(Protocol):
    def __call__(self, sku: Sku, lot_id: int, qty: int, zone: str) -> int | None: ...


def ours(w: Warehouse, seed: int) -> Chooser:
    """The first bin of the real suggestion; the in-memory store stands in for the database."""
    store, rng = cast(LedgerStore, MemoryStore(w)), random.Random(seed)

    def choose(sku: Sku, lot_id: int, qty: int, zone: str) -> int | None:
        ranked = plan(store, sku, lot_id, qty, zone, POLICY, rng)
        return ranked[0].location_id if ranked else None

    return choose


def ours_without_classes(w: Warehouse, seed: int) -> Chooser:
    """The same, with every SKU class C: what the fast-mover rule is worth."""
    choose = ours(w, seed)
    slow = {i: replace(s, velocity_class="C") for i, s in w.skus.items()}

    def choose_slow(sku: Sku, lot_id: int, qty: int, zone: str) -> int | None:
        return choose(slow[sku.id], lot_id, qty, zone)

    return choose_slow


def nearest_free(w: Warehouse, seed: int) -> Chooser:
    """The fitting bin earliest in the pick sequence in the station's zone, else anywhere."""

    def choose(sku: Sku, lot_id: int, qty: int, zone: str) -> int | None:
        need = Need.of(sku, qty)
        for pool in (w.ordered(zone, "seq")[1], w.all_seq):
            fit = w.fits(pool, need)
            if fit.any():
                return int(pool[int(np.argmax(fit))])
        return None

    return choose


def random_fit(w: Warehouse, seed: int) -> Chooser:
    """Any bin that fits, uniformly at random."""
    rng = random.Random(seed)

    def choose(sku: Sku, lot_id: int, qty: int, zone: str) -> int | None:
        hits = np.flatnonzero(w.fits(w.all_seq, Need.of(sku, qty)))
        return int(hits[rng.randrange(len(hits))]) if len(hits) else None

    return choose


POLICIES: dict[str, Callable[[Warehouse, int], Chooser]] = {
    "ours": ours,
    "ours, no fast movers": ours_without_classes,
    "nearest free bin": nearest_free,
    "random bin that fits": random_fit,
}


# --- the day, once per policy -----------------------------------------------------------------


@dataclass
class Tally:
    putaways: int = 0
    refused: int = 0
    collisions: int = 0
    orders: int = 0
    short_units: int = 0
    path_m: float = 0.0
    stops: int = 0
    choose_s: list[float] = field(default_factory=list)


def run_policy(name: str, demo: DemoPlan, day: Day, seed: int) -> dict[str, Any]:
    w = Warehouse(demo, day.skus, seed)
    choose = POLICIES[name](w, seed)
    tally, morning_refused = Tally(), 0
    started = time.perf_counter()
    for n, event in enumerate(day.events):
        if n == day.morning:
            morning_refused = tally.refused
        if isinstance(event, PutawayEvent):
            sku = day.skus[event.sku_id]
            t0 = time.perf_counter()
            i = choose(sku, event.lot_id, event.qty, event.zone)
            tally.choose_s.append(time.perf_counter() - t0)
            tally.putaways += 1
            if i is None:
                tally.refused += 1
                continue
            if conflict(Candidate(w.space(i), w.contents_of(i)), sku, event.lot_id):
                tally.collisions += 1
            w.put(i, sku, event.lot_id, event.qty)
            continue
        visited: list[int] = []
        for sku_id, qty in event.lines:
            bins, short = w.take(sku_id, qty)
            visited += bins
            tally.short_units += short
        if visited:
            tally.orders += 1
            tally.stops += len(set(visited))
            tally.path_m += w.path_m(visited)
    seconds = time.perf_counter() - started
    return {
        "policy": name,
        "seconds": seconds,
        "choose_us_mean": 1e6 * sum(tally.choose_s) / max(len(tally.choose_s), 1),
        "putaways": tally.putaways,
        "refused": tally.refused,
        "refused_morning": morning_refused,
        "collisions": tally.collisions,
        "mixed_up_bins_at_end": w.mixed_up_bins(),
        "over_capacity_bins": w.over_capacity(),
        "orders_picked": tally.orders,
        "short_units": tally.short_units,
        "path_m_per_order": tally.path_m / max(tally.orders, 1),
        "stops_per_order": tally.stops / max(tally.orders, 1),
        **spread(w),
        "fill": fill_figures(w),
    }


def spread(w: Warehouse) -> dict[str, Any]:
    held = [bins for bins in w.sku_bins.values() if bins]
    zones = [len({int(w.zone_of[i]) for i in bins}) for bins in held]
    return {
        "skus_in_stock": len(held),
        "skus_in_2plus_zones": sum(z >= 2 for z in zones) / max(len(held), 1),
        "bins_per_sku": sum(len(b) for b in held) / max(len(held), 1),
        "zones_per_sku": sum(zones) / max(len(held), 1),
    }


def fill_figures(w: Warehouse) -> dict[str, Any]:
    fill = w.fill()
    empty = fill <= 0
    bands = {
        label: float(np.mean(empty if hi == 0 else (~empty & (fill >= lo) & (fill < hi))))
        for label, lo, hi in FILL_BANDS
    }
    used = fill[~empty]
    q = np.percentile(used, [25, 50, 75, 90]) if len(used) else np.zeros(4)
    return {
        "bands": bands,
        "stocked_bins": int(np.count_nonzero(~empty)),
        "quartiles_of_stocked": dict(zip(("p25", "p50", "p75", "p90"), map(float, q), strict=True)),
    }


def opening_over_capacity(demo: DemoPlan) -> int:
    """Bins that the demo's opening stock fills beyond their units, volume or weight."""
    sizes = {s.code: (s.unit_volume_cm3, s.unit_weight_g) for s in demo.skus}
    used: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for line in demo.opening:
        volume, weight = sizes[line.sku]
        u = used[line.location]
        u[0] += line.qty
        u[1] += line.qty * volume
        u[2] += line.qty * weight
    limits = {loc.code: loc for loc in demo.locations if loc.kind is LocationKind.BIN}
    return sum(
        1
        for code, (units, volume, weight) in used.items()
        if units > (limits[code].max_units or units)
        or volume > (limits[code].max_volume_cm3 or volume)
        or weight > (limits[code].max_weight_g or weight)
    )


def simulate(demo: DemoPlan, putaways: int, picks: int, seed: int) -> dict[str, Any]:
    day = make_day(demo, putaways, picks, seed)
    results = [run_policy(name, demo, day, seed) for name in POLICIES]
    for r in results:
        r["ours_path_over_this"] = results[0]["path_m_per_order"] / r["path_m_per_order"]
    return {
        "bins": sum(1 for loc in demo.locations if loc.kind is LocationKind.BIN),
        "demo_over_capacity_bins": opening_over_capacity(demo),
        "morning_putaways": day.morning,
        "skus": len(demo.skus),
        "putaways": day.putaways,
        "pick_lines": day.lines,
        "orders": day.orders,
        "fast_movers": day.fast_movers,
        "fast_pick_share": day.fast_pick_share,
        "policy": {
            "cap_per_bin": POLICY.cap_per_bin,
            "cap_per_zone": POLICY.cap_per_zone,
            "sample_size": POLICY.sample_size,
        },
        "zipf_s": ZIPF_S,
        "policies": results,
    }
