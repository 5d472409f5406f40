"""Chaotic storage: does a quantity fit a bin, and which bins to suggest (DESIGN.md section 6).

Pure functions over values the database adapter supplies, so that the same policy runs in the
station, in tests and in the benchmark's simulated day.

The policy: only bins whose free units, volume and weight fit; never two SKUs of one look-alike
group, or two lots of one SKU, in one bin; at most `cap_per_bin` units of one SKU in a bin and
`cap_per_zone` in a zone, so a SKU spreads over bins and zones; prefer the station's zone and, for
fast movers, bins early in the pick sequence; random among equals (seedable).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from app.domain.errors import Reason, Rejection
from app.domain.model import Sku

RAND_SPACE = 2**31 - 1
"""Range of the random key each bin gets for uniform sampling."""

UNLIMITED = 10**15
"""A bin limit this large stands for "no limit" (the database stores it so free space is always
a number an index can order); refusals do not quote it."""


@dataclass(frozen=True)
class Need:
    """The space a quantity of one SKU takes."""

    units: int
    volume_cm3: int
    weight_g: int

    @classmethod
    def of(cls, sku: Sku, qty: int) -> Need:
        return cls(qty, qty * sku.unit_volume_cm3, qty * sku.unit_weight_g)


@dataclass(frozen=True)
class Space:
    """A bin's capacity as the database keeps it: limits, what is in it, what is promised."""

    location_id: int
    code: str
    zone: str
    pick_sequence: int
    max_units: int
    max_volume_cm3: int
    max_weight_g: int
    used_units: int = 0
    used_volume_cm3: int = 0
    used_weight_g: int = 0
    held_units: int = 0
    held_volume_cm3: int = 0
    held_weight_g: int = 0

    @property
    def free(self) -> Need:
        return Need(
            self.max_units - self.used_units - self.held_units,
            self.max_volume_cm3 - self.used_volume_cm3 - self.held_volume_cm3,
            self.max_weight_g - self.used_weight_g - self.held_weight_g,
        )

    def fits(self, need: Need) -> bool:
        free = self.free
        return (
            need.units <= free.units
            and need.volume_cm3 <= free.volume_cm3
            and need.weight_g <= free.weight_g
        )


@dataclass(frozen=True)
class Content:
    """One SKU (and lot) in a bin, on hand or promised by a hold."""

    sku_id: int
    lot_id: int
    units: int
    lookalike_group: str | None


@dataclass(frozen=True)
class Candidate:
    space: Space
    contents: tuple[Content, ...] = ()


@dataclass(frozen=True)
class StowPolicy:
    cap_per_bin: int | None = None
    cap_per_zone: int | None = None
    suggestions: int = 5
    hold_seconds: int = 120
    sample_size: int = 24
    """How many fitting bins to draw from the near zone (and half as many from elsewhere)."""


@dataclass(frozen=True)
class Suggestion:
    location_id: int
    code: str
    zone: str
    pick_sequence: int
    free: Need
    why: str
    units: int
    """How many units of the request this bin takes: all of them, or part of a quantity that
    no single bin takes (see `rank_part`)."""


@dataclass(frozen=True)
class StowRequest:
    sku: Sku
    lot_id: int
    qty: int
    near_zone: str | None = None
    fast_mover: bool = False
    zone_units: Mapping[str, int] = field(default_factory=dict)
    """Units of this SKU already in each zone, for the zone cap."""

    @property
    def need(self) -> Need:
        return Need.of(self.sku, self.qty)


def _describe(need: Need, dimensions: tuple[int, ...] = (0, 1, 2)) -> str:
    """'8 units, 10 000 cm3, 400 g', or only the chosen dimensions (0 units, 1 volume, 2 weight)."""
    values = (need.units, need.volume_cm3, need.weight_g)
    names = ("units", "cm3", "g")
    return ", ".join(f"{values[i]:,} {names[i]}".replace(",", " ") for i in dimensions)


def refuse_if_full(space: Space, need: Need, sku_code: str) -> None:
    """Refuse putting more into a bin than it holds, saying what it holds and can still take."""
    if space.fits(need):
        return
    used = Need(space.used_units, space.used_volume_cm3, space.used_weight_g)
    free = space.free
    can_take = Need(max(free.units, 0), max(free.volume_cm3, 0), max(free.weight_g, 0))
    limits = Need(space.max_units, space.max_volume_cm3, space.max_weight_g)
    limited = tuple(
        i for i, m in enumerate((limits.units, limits.volume_cm3, limits.weight_g)) if m < UNLIMITED
    ) or (0, 1, 2)
    raise Rejection(
        Reason.BIN_FULL,
        f"{need.units} x {sku_code} do not fit in {space.code}: it holds {_describe(used)} "
        f"of {_describe(limits, limited)} and can still take {_describe(can_take, limited)}",
    )


def conflict(candidate: Candidate, sku: Sku, lot_id: int) -> str | None:
    """Why this SKU must not go into this bin (a look-alike or another lot), or None."""
    for item in candidate.contents:
        if item.sku_id == sku.id:
            if item.lot_id != lot_id:
                return "another lot of this SKU"
        elif sku.lookalike_group and item.lookalike_group == sku.lookalike_group:
            return "a look-alike SKU"
    return None


def units_of(candidate: Candidate, sku_id: int) -> int:
    return sum(c.units for c in candidate.contents if c.sku_id == sku_id)


def rank(
    candidates: Iterable[Candidate],
    request: StowRequest,
    policy: StowPolicy,
    rng: random.Random,
) -> list[Suggestion]:
    """The bins to suggest, best first: fitting, conflict-free and within the caps."""
    need = request.need
    zone_room: dict[str, int] = {}
    eligible: list[tuple[tuple[int, int, float], Candidate]] = []
    seen: set[int] = set()
    for candidate in candidates:
        space = candidate.space
        if space.location_id in seen or not space.fits(need):
            continue
        seen.add(space.location_id)
        if conflict(candidate, request.sku, request.lot_id):
            continue
        in_bin = units_of(candidate, request.sku.id)
        if policy.cap_per_bin is not None and in_bin + request.qty > policy.cap_per_bin:
            continue
        if policy.cap_per_zone is not None:
            room = zone_room.setdefault(
                space.zone, policy.cap_per_zone - request.zone_units.get(space.zone, 0)
            )
            if request.qty > room:
                continue
        near = 0 if request.near_zone is not None and space.zone == request.near_zone else 1
        path = space.pick_sequence if request.fast_mover else 0
        eligible.append(((near, path, rng.random()), candidate))
    eligible.sort(key=lambda pair: pair[0])
    return [
        Suggestion(
            c.space.location_id,
            c.space.code,
            c.space.zone,
            c.space.pick_sequence,
            c.space.free,
            _why(c, request),
            request.qty,
        )
        for _, c in eligible[: policy.suggestions]
    ]


def units_that_fit(space: Space, sku: Sku) -> int:
    """How many units of `sku` a bin can still take, by free units, volume and weight."""
    free = space.free
    room = [free.units]
    for left, per_unit in (
        (free.volume_cm3, sku.unit_volume_cm3),
        (free.weight_g, sku.unit_weight_g),
    ):
        if per_unit > 0:
            room.append(left // per_unit)
        elif left < 0:  # weightless goods still do not go into an overfull bin
            room.append(0)
    return max(min(room), 0)


def rank_part(
    candidates: Iterable[Candidate],
    request: StowRequest,
    policy: StowPolicy,
    rng: random.Random,
) -> list[Suggestion]:
    """The bins to suggest for part of a quantity that no single bin takes: each with the units
    it takes (by units, volume, weight and the caps, at most the quantity), the bins that take
    the most first, equals as `rank` orders them. Fewer bins means fewer trips from the dock."""
    zone_room: dict[str, int] = {}
    eligible: list[tuple[tuple[int, int, int, float], int, Candidate]] = []
    seen: set[int] = set()
    for candidate in candidates:
        space = candidate.space
        if space.location_id in seen:
            continue
        seen.add(space.location_id)
        if conflict(candidate, request.sku, request.lot_id):
            continue
        units = min(request.qty, units_that_fit(space, request.sku))
        if policy.cap_per_bin is not None:
            units = min(units, policy.cap_per_bin - units_of(candidate, request.sku.id))
        if policy.cap_per_zone is not None:
            room = zone_room.setdefault(
                space.zone, policy.cap_per_zone - request.zone_units.get(space.zone, 0)
            )
            units = min(units, room)
        if units < 1:
            continue
        near = 0 if request.near_zone is not None and space.zone == request.near_zone else 1
        path = space.pick_sequence if request.fast_mover else 0
        eligible.append(((-units, near, path, rng.random()), units, candidate))
    eligible.sort(key=lambda entry: entry[0])
    return [
        Suggestion(
            c.space.location_id,
            c.space.code,
            c.space.zone,
            c.space.pick_sequence,
            c.space.free,
            _why(c, request, units),
            units,
        )
        for _, units, c in eligible[: policy.suggestions]
    ]


def _why(candidate: Candidate, request: StowRequest, units: int | None = None) -> str:
    reasons = []
    if request.near_zone is not None and candidate.space.zone == request.near_zone:
        reasons.append("in your zone")
    elif request.near_zone is not None:
        reasons.append(f"zone {candidate.space.zone}")
    if request.fast_mover:
        reasons.append(f"fast mover, pick step {candidate.space.pick_sequence}")
    if units_of(candidate, request.sku.id):
        reasons.append("already holds this SKU")
    if units is not None and units < request.qty:
        reasons.append(f"room for {units} of the {request.qty}")
    return ", ".join(reasons) or "room for it"


def velocity_classes(
    picked: Mapping[int, int], a_share: float = 0.5, b_share: float = 0.8
) -> dict[int, str]:
    """ABC classes by picked units: A are the SKUs that make the first half of all picked units,
    B the next 30 %, C the rest (and every SKU not picked at all)."""
    total = sum(picked.values())
    classes: dict[int, str] = {}
    running = 0
    for sku_id, units in sorted(picked.items(), key=lambda kv: (-kv[1], kv[0])):
        if units <= 0:
            continue
        share = running / total
        classes[sku_id] = "A" if share < a_share else "B" if share < b_share else "C"
        running += units
    return classes


def lookalike_warning(contents: Iterable[Content], sku: Sku, lot_id: int) -> str | None:
    """A note for a worker who chose a bin the policy would not: what may be confused there."""
    reason = conflict(Candidate(Space(0, "", "", 0, 0, 0, 0), tuple(contents)), sku, lot_id)
    return f"note: this bin also holds {reason}; keep them apart" if reason else None
