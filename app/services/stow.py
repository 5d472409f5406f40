"""Where to put goods away: bin suggestions with a short capacity hold, and velocity classes.

A suggestion samples bins with room from bounded index windows (the station's zone, then
anywhere, then the roomiest bins), reads what the sampled bins hold, and ranks them with the
pure policy in domain/stow.py. The first bin that can still be held is held for a short while,
so a second worker asked at the same moment is sent elsewhere.

A putaway's suggestion may split: when no bin takes the whole quantity, the bin that takes the
most of it is suggested and held for that many units, and the station asks again for the rest.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.domain.errors import Reason, Rejection
from app.domain.model import NO_LOT_ID, Sku
from app.domain.ports import (
    DatabaseUnavailable,
    LedgerStore,
    TransientDatabaseError,
    UnitOfWorkFactory,
)
from app.domain.stow import (
    RAND_SPACE,
    Candidate,
    Need,
    Space,
    StowPolicy,
    StowRequest,
    Suggestion,
    conflict,
    rank,
    rank_part,
    velocity_classes,
)
from app.services.retry import DEFAULT_RETRY, RetryPolicy


@dataclass(frozen=True)
class StowAnswer:
    sku: str
    qty: int
    suggestions: tuple[Suggestion, ...]
    held: Suggestion | None
    """The suggestion whose space is held for this station, normally the first; its `units`
    are the units held (fewer than `qty` when the quantity was split)."""


def plan(
    store: LedgerStore,
    sku: Sku,
    lot_id: int,
    qty: int,
    near_zone: str | None,
    policy: StowPolicy,
    rng: random.Random,
    exclude: Sequence[int] = (),
) -> list[Suggestion]:
    """Ranked bins for `qty` of `sku`, without holding any: reads only bounded windows."""
    need = Need.of(sku, qty)
    k = policy.sample_size
    zone_units = store.sku_zone_units(sku.id) if policy.cap_per_zone is not None else {}
    request = StowRequest(sku, lot_id, qty, near_zone, sku.fast_mover, zone_units)
    spaces: list[Space] = []
    ranked: list[Suggestion] = []
    if near_zone is not None:
        order = "seq" if sku.fast_mover else "rand"
        start = 0 if sku.fast_mover else rng.randrange(RAND_SPACE)
        spaces += _window(store, need, near_zone, order, start, k)
        ranked = _ranked(store, spaces, request, policy, rng, exclude)
    # Further afield only when the zone cannot offer enough: full, capped, or look-alikes.
    if len(ranked) < policy.suggestions:
        spaces += _window(store, need, None, "rand", rng.randrange(RAND_SPACE), k)
        ranked = _ranked(store, spaces, request, policy, rng, exclude)
    if len(ranked) < policy.suggestions:
        for zone in (near_zone, None) if near_zone is not None else (None,):
            spaces += store.roomiest_bins(need, zone=zone, limit=k)
        ranked = _ranked(store, spaces, request, policy, rng, exclude)
    return ranked


def plan_part(
    store: LedgerStore,
    sku: Sku,
    lot_id: int,
    qty: int,
    near_zone: str | None,
    policy: StowPolicy,
    rng: random.Random,
) -> list[Suggestion]:
    """Ranked bins for part of `qty` when no bin takes all of it: bins with room for at least one
    unit, from a random window and the roomiest bins (of the zone, then anywhere), those that
    take the most first. Reads only bounded windows."""
    one = Need.of(sku, 1)
    k = policy.sample_size
    zone_units = store.sku_zone_units(sku.id) if policy.cap_per_zone is not None else {}
    request = StowRequest(sku, lot_id, qty, near_zone, sku.fast_mover, zone_units)
    spaces: list[Space] = []
    for zone in (near_zone, None) if near_zone is not None else (None,):
        spaces += _window(store, one, zone, "rand", rng.randrange(RAND_SPACE), k)
        spaces += store.roomiest_bins(one, zone=zone, limit=k)
    return _ranked(store, spaces, request, policy, rng, (), rank_part)


def _window(
    store: LedgerStore, need: Need, zone: str | None, order: str, start: int, k: int
) -> list[Space]:
    found = store.sample_bins(need, zone=zone, order=order, start=start, limit=k)
    if len(found) < k and start > 0:  # wrap around to the start of the key range
        found += store.sample_bins(need, zone=zone, order=order, start=0, limit=k - len(found))
    return found


def _ranked(
    store: LedgerStore,
    spaces: list[Space],
    request: StowRequest,
    policy: StowPolicy,
    rng: random.Random,
    exclude: Sequence[int],
    ranking: Callable[
        [list[Candidate], StowRequest, StowPolicy, random.Random], list[Suggestion]
    ] = rank,
) -> list[Suggestion]:
    unique = {s.location_id: s for s in spaces if s.location_id not in exclude}
    held = store.contents(list(unique))
    candidates = [Candidate(s, tuple(held.get(i, ()))) for i, s in unique.items()]
    return ranking(candidates, request, policy, rng)


def suggest(
    uow_factory: UnitOfWorkFactory,
    sku_code: str,
    qty: int,
    *,
    near_zone: str | None = None,
    lot: str | None = None,
    station: str | None = None,
    policy: StowPolicy | None = None,
    rng: random.Random | None = None,
    hold: bool = True,
    retry: RetryPolicy = DEFAULT_RETRY,
) -> StowAnswer:
    """Suggest bins for `qty` of a SKU and, with `hold`, hold space in the best one."""
    policy = policy or StowPolicy()
    rng = rng or random.Random()
    if qty <= 0:
        raise Rejection(Reason.BAD_QUANTITY, f"quantity must be above 0, not {qty}")
    for attempt in range(retry.attempts):
        try:
            # Expired holds go back in a transaction of their own, so that the suggestion's
            # transaction holds at most the one bin it is holding.
            with uow_factory() as uow:
                uow.store.release_expired_holds(None)
                uow.commit()
            with uow_factory() as uow:
                answer = answer_in(
                    uow.store, sku_code, qty, near_zone, lot, station, policy, rng, hold
                )
                uow.commit()
            return answer
        except TransientDatabaseError:
            if attempt + 1 < retry.attempts:
                retry.pause(attempt)
    raise DatabaseUnavailable(f"the database did not answer a suggestion for {sku_code}")


def answer_in(
    store: LedgerStore,
    sku_code: str,
    qty: int,
    near_zone: str | None,
    lot: str | None,
    station: str | None,
    policy: StowPolicy,
    rng: random.Random,
    hold: bool,
    split: bool = False,
) -> StowAnswer:
    """The suggestion inside an open transaction (a HoldBin transaction's, or `suggest`'s).
    With `split`, a quantity no bin takes (or no bin can still be held for) is answered with the
    bins that take part of it, the first held for what it takes."""
    sku = store.sku(sku_code)
    if sku is None:
        raise Rejection(Reason.UNKNOWN_SKU, f"item {sku_code!r} is not in the catalogue")
    lot_id = NO_LOT_ID
    if lot:
        known = store.lot(sku.id, lot)
        lot_id = known.id if known else store.add_lot(sku.id, lot, None).id
    station_id = None
    if station is not None:
        found = store.station(station)
        if found is None:
            raise Rejection(Reason.UNKNOWN_STATION, f"station {station!r} is not registered")
        station_id = found.id
        near_zone = near_zone or found.zone
    ranked = plan(store, sku, lot_id, qty, near_zone, policy, rng)
    if not hold:
        if split and not ranked:
            ranked = plan_part(store, sku, lot_id, qty, near_zone, policy, rng)
        return StowAnswer(sku.code, qty, tuple(ranked), None)
    expires = store.database_now() + timedelta(seconds=policy.hold_seconds)
    taken = _hold_first(store, ranked, sku, lot_id, station_id, expires)
    if split and taken is None:
        ranked = plan_part(store, sku, lot_id, qty, near_zone, policy, rng)
        taken = _hold_first(store, ranked, sku, lot_id, station_id, expires)
    return StowAnswer(sku.code, qty, tuple(ranked), taken)


def classify(uow_factory: UnitOfWorkFactory, days: int = 30) -> dict[str, int]:
    """Set every SKU's velocity class from the picks of the last `days` days; counts per class."""
    with uow_factory() as uow:
        store = uow.store
        since = store.database_now() - timedelta(days=days)
        classes = velocity_classes(store.picked_units(since))
        store.set_velocity_classes(classes)
        uow.commit()
    counts = {"A": 0, "B": 0}
    for c in classes.values():
        if c in counts:
            counts[c] += 1
    return counts


class _Taken(Exception):
    """Rolls a savepoint back: this bin is no longer free or no longer conflict-free."""


def _hold_first(
    store: LedgerStore,
    ranked: Sequence[Suggestion],
    sku: Sku,
    lot_id: int,
    station_id: int | None,
    expires: datetime,
) -> Suggestion | None:
    """Hold space in the first suggestion that still has room for its `units` (all of the goods,
    or the part of a split that bin takes), checked under the bin's row lock.

    Each try runs in a savepoint, and rolling one back releases its row lock, so a suggestion
    holds at most one bin's lock at a time and two suggestions cannot deadlock. Locking waits
    for any worker holding the same bin, so the fresh read of its contents sees their hold.
    """
    for suggestion in ranked:
        need = Need.of(sku, suggestion.units)
        try:
            with store.savepoint():
                space = store.lock_spaces([suggestion.location_id]).get(suggestion.location_id)
                inside = store.contents([suggestion.location_id]).get(suggestion.location_id, [])
                if space is None or not space.fits(need):
                    raise _Taken
                if conflict(Candidate(space, tuple(inside)), sku, lot_id):
                    raise _Taken
                if not store.try_hold(
                    suggestion.location_id, need, sku.id, lot_id, station_id, expires
                ):
                    raise _Taken
        except _Taken:
            continue
        return suggestion
    return None
