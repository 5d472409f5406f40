"""A warehouse whose bins have capacity limits, for the chaotic-storage tests, and a checker
that recomputes every bin's capacity counters from the balances and the holds.

The seeded warehouse of tests/support/warehouse.py has bins without limits; here the caller
chooses the bins (with `bin_spec`) and gets the same SKUs, docks, operators and stations, plus
a few SKUs sized to hit one limit at a time and eight stations for concurrency tests.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, select, update

from app.adapters.db import catalogue
from app.adapters.db.schema import (
    BinSpaceRow,
    LocationRow,
    QuantRow,
    SkuRow,
    StowHoldRow,
    table,
)
from app.adapters.db.uow import SqlLedger
from app.domain.catalogue import LocationSpec, SkuSpec, StationSpec
from app.domain.model import LocationKind
from tests.support.warehouse import LOCATIONS, OPERATORS, SKUS, Warehouse

STOW_SKUS = [
    *SKUS,
    SkuSpec("BRICK", "Brick", 10, 2_000),  # small and heavy: hits a weight limit first
    SkuSpec("PILLOW", "Pillow", 5_000, 100),  # bulky and light: hits a volume limit first
    *(SkuSpec(f"PART-{i}", f"Part {i}", 10, 10) for i in range(1, 9)),
]
NON_BINS = [loc for loc in LOCATIONS if loc.kind is not LocationKind.BIN]
STOW_STATIONS = [
    StationSpec("ST-1", "Dock 1", "A", "DOCK-1"),
    StationSpec("ST-2", "Dock 2", "B", "DOCK-2"),
    *(StationSpec(f"ST-{i}", f"Station {i}", "AB"[i % 2], None) for i in range(3, 9)),
]


def bin_spec(
    code: str,
    zone: str,
    pick_sequence: int,
    units: int | None = None,
    volume: int | None = None,
    weight: int | None = None,
) -> LocationSpec:
    return LocationSpec(
        code,
        LocationKind.BIN,
        zone=zone,
        pick_sequence=pick_sequence,
        max_units=units,
        max_volume_cm3=volume,
        max_weight_g=weight,
    )


def seed_stow(engine: Engine, bins: Sequence[LocationSpec]) -> None:
    with engine.begin() as c:
        catalogue.add_skus(c, STOW_SKUS)
        catalogue.add_locations(c, [*NON_BINS, *bins])
        catalogue.add_operators(c, OPERATORS)
        catalogue.add_stations(c, STOW_STATIONS)


def stow_warehouse(engine: Engine, ledger: SqlLedger, bins: Sequence[LocationSpec]) -> Warehouse:
    seed_stow(engine, bins)
    return Warehouse(engine, ledger)


@dataclass(frozen=True)
class Room:
    """One bin's row of bin_space: (units, volume, weight) triples."""

    code: str
    zone: str
    max: tuple[int, int, int]
    used: tuple[int, int, int]
    held: tuple[int, int, int]
    free: tuple[int, int, int]

    def fits(self, units: int, volume: int, weight: int) -> bool:
        return units <= self.free[0] and volume <= self.free[1] and weight <= self.free[2]


def rooms(engine: Engine) -> dict[str, Room]:
    b, loc = table(BinSpaceRow), table(LocationRow)
    with engine.connect() as c:
        rows = c.execute(select(b, loc.c.code).join(loc, loc.c.id == b.c.location_id)).all()
    return {
        r.code: Room(
            r.code,
            r.zone,
            (r.max_units, r.max_volume_cm3, r.max_weight_g),
            (r.used_units, r.used_volume_cm3, r.used_weight_g),
            (r.held_units, r.held_volume_cm3, r.held_weight_g),
            (r.free_units, r.free_volume_cm3, r.free_weight_g),
        )
        for r in rows
    }


def counter_drift(engine: Engine) -> list[str]:
    """Every way the bin_space counters differ from what the bins hold and have promised.

    Recomputed in Python from raw rows, independently of the SQL the application uses: used =
    sum over the bin's balances of on hand x unit size, held = sum of its holds, free = max -
    used - held; every bin has exactly one row and no other location has one.
    """
    b, loc, q, s, h = (
        table(BinSpaceRow),
        table(LocationRow),
        table(QuantRow),
        table(SkuRow),
        table(StowHoldRow),
    )
    with engine.connect() as c:
        kinds = {i: kind for i, kind in c.execute(select(loc.c.id, loc.c.kind))}
        codes = {i: code for i, code in c.execute(select(loc.c.id, loc.c.code))}
        sizes = {
            r.id: (r.unit_volume_cm3, r.unit_weight_g)
            for r in c.execute(select(s.c.id, s.c.unit_volume_cm3, s.c.unit_weight_g))
        }
        quants = c.execute(select(q.c.location_id, q.c.sku_id, q.c.on_hand)).all()
        holds = c.execute(select(h.c.location_id, h.c.units, h.c.volume_cm3, h.c.weight_g)).all()
        spaces = c.execute(select(b)).all()
    used: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    for location_id, sku_id, on_hand in quants:
        volume, weight = sizes[sku_id]
        u = used[location_id]
        u[0] += on_hand
        u[1] += on_hand * volume
        u[2] += on_hand * weight
    held: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    for r in holds:
        d = held[r.location_id]
        d[0] += r.units
        d[1] += r.volume_cm3
        d[2] += r.weight_g
    problems = []
    seen = set()
    for r in spaces:
        seen.add(r.location_id)
        code = codes[r.location_id]
        if kinds[r.location_id] != LocationKind.BIN.value:
            problems.append(f"{code} is a {kinds[r.location_id]} but has a bin_space row")
        got_used = [r.used_units, r.used_volume_cm3, r.used_weight_g]
        got_held = [r.held_units, r.held_volume_cm3, r.held_weight_g]
        got_free = [r.free_units, r.free_volume_cm3, r.free_weight_g]
        limits = [r.max_units, r.max_volume_cm3, r.max_weight_g]
        want_used = used[r.location_id]
        want_held = held[r.location_id]
        want_free = [m - u - x for m, u, x in zip(limits, want_used, want_held, strict=True)]
        for name, got, want in (
            ("used", got_used, want_used),
            ("held", got_held, want_held),
            ("free", got_free, want_free),
        ):
            if got != want:
                problems.append(f"{code}: {name} is {got}, the bin holds {want}")
    for location_id, kind in kinds.items():
        if kind == LocationKind.BIN.value and location_id not in seen:
            problems.append(f"bin {codes[location_id]} has no bin_space row")
    return problems


def set_velocity(engine: Engine, sku: str, velocity_class: str) -> None:
    s = table(SkuRow)
    with engine.begin() as c:
        c.execute(update(s).where(s.c.code == sku).values(velocity_class=velocity_class))


def velocity_of(engine: Engine, sku: str) -> str:
    s = table(SkuRow)
    with engine.connect() as c:
        return str(c.execute(select(s.c.velocity_class).where(s.c.code == sku)).scalar_one())


def deactivate(engine: Engine, code: str) -> None:
    t = table(LocationRow)
    with engine.begin() as c:
        c.execute(update(t).where(t.c.code == code).values(active=False))


def expire_all_holds(engine: Engine) -> None:
    """Move every hold's expiry a minute into the past (as if the worker never came)."""
    h = table(StowHoldRow)
    with engine.begin() as c:
        c.execute(update(h).values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))


def hold_count(engine: Engine) -> int:
    with engine.connect() as c:
        return int(c.execute(select(func.count()).select_from(table(StowHoldRow))).scalar_one())
