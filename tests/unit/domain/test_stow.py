"""The chaotic-storage policy as pure functions: what fits, what may share a bin, the ranking."""

from __future__ import annotations

import random

import pytest

from app.domain.errors import Reason, Rejection
from app.domain.model import Sku, Tracking
from app.domain.stow import (
    UNLIMITED,
    Candidate,
    Content,
    Need,
    Space,
    StowPolicy,
    StowRequest,
    Suggestion,
    conflict,
    lookalike_warning,
    rank,
    refuse_if_full,
    velocity_classes,
)

WIDGET = Sku(1, "WIDGET", "Blue widget", 100, 50, Tracking.NONE)
SCREW_4 = Sku(2, "SCREW-4", "Screw 4 mm", 1, 2, Tracking.NONE, lookalike_group="screws")
SCREW_5 = Sku(3, "SCREW-5", "Screw 5 mm", 1, 2, Tracking.NONE, lookalike_group="screws")
MILK = Sku(4, "MILK", "Milk 1 l", 1000, 1030, Tracking.LOT)
BOLT = Sku(5, "BOLT", "Hex bolt", 5, 10, Tracking.NONE)
FAST_WIDGET = Sku(1, "WIDGET", "Blue widget", 100, 50, Tracking.NONE, velocity_class="A")
NO_LOT = 0


def space(
    location_id: int,
    zone: str = "A",
    seq: int | None = None,
    limits: tuple[int, int, int] = (100, 100_000, 100_000),
    used: tuple[int, int, int] = (0, 0, 0),
    held: tuple[int, int, int] = (0, 0, 0),
) -> Space:
    return Space(
        location_id,
        f"{zone}-{location_id:02d}",
        zone,
        location_id if seq is None else seq,
        *limits,
        *used,
        *held,
    )


def bins(n: int, zone: str = "A", first: int = 1) -> list[Candidate]:
    return [Candidate(space(i, zone)) for i in range(first, first + n)]


def codes(suggestions: list[Suggestion]) -> list[str]:
    return [s.code for s in suggestions]


def ask(
    candidates: list[Candidate],
    sku: Sku = WIDGET,
    qty: int = 5,
    *,
    lot: int = NO_LOT,
    near: str | None = None,
    policy: StowPolicy | None = None,
    seed: int = 1,
    zone_units: dict[str, int] | None = None,
) -> list[str]:
    request = StowRequest(sku, lot, qty, near, sku.fast_mover, zone_units or {})
    return codes(
        rank(candidates, request, policy or StowPolicy(suggestions=50), random.Random(seed))
    )


# --- capacity ---------------------------------------------------------------------------------


def test_need_is_the_quantity_times_the_unit_size() -> None:
    assert Need.of(WIDGET, 3) == Need(3, 300, 150)


def test_free_space_is_the_limit_less_what_is_in_the_bin_and_what_is_promised() -> None:
    s = space(1, limits=(10, 1_000, 2_000), used=(3, 300, 150), held=(2, 200, 100))
    assert s.free == Need(5, 500, 1_750)


@pytest.mark.parametrize(
    ("limits", "fits"),
    [
        ((5, 500, 250), True),  # exactly full in every dimension still fits
        ((4, 10_000, 10_000), False),  # units short
        ((100, 499, 10_000), False),  # volume short
        ((100, 10_000, 249), False),  # weight short
    ],
)
def test_a_quantity_fits_only_if_units_volume_and_weight_all_fit(
    limits: tuple[int, int, int], fits: bool
) -> None:
    assert space(1, limits=limits).fits(Need.of(WIDGET, 5)) is fits


def test_a_full_bin_is_refused_naming_it_what_it_holds_and_what_it_can_still_take() -> None:
    s = space(7, limits=(10, 10_000, 100_000), used=(8, 800, 400))
    refuse_if_full(s, Need.of(WIDGET, 2), "WIDGET")  # the last two fit
    with pytest.raises(Rejection) as refused:
        refuse_if_full(s, Need.of(WIDGET, 3), "WIDGET")
    assert refused.value.reason is Reason.BIN_FULL
    assert refused.value.message == (
        "3 x WIDGET do not fit in A-07: it holds 8 units, 800 cm3, 400 g of "
        "10 units, 10 000 cm3, 100 000 g and can still take 2 units, 9 200 cm3, 99 600 g"
    )


def test_an_overfull_bin_says_it_can_take_nothing_rather_than_a_negative_amount() -> None:
    # A count can find more in a bin than its limit; the refusal must not say "-3 units".
    s = space(2, limits=(10, 1_000, 1_000), used=(13, 1_300, 650))
    with pytest.raises(Rejection) as refused:
        refuse_if_full(s, Need.of(WIDGET, 1), "WIDGET")
    assert refused.value.message.endswith("can still take 0 units, 0 cm3, 350 g")


def test_a_refusal_quotes_only_the_limits_a_bin_has() -> None:
    # A bin known only by its weight limit must not say it "can still take 999 999 999 units".
    s = space(3, limits=(UNLIMITED, UNLIMITED, 500), used=(8, 800, 400))
    with pytest.raises(Rejection) as refused:
        refuse_if_full(s, Need.of(WIDGET, 5), "WIDGET")
    assert refused.value.message == (
        "5 x WIDGET do not fit in A-03: it holds 8 units, 800 cm3, 400 g of 500 g "
        "and can still take 100 g"
    )


# --- what may share a bin ---------------------------------------------------------------------


def test_a_lookalike_or_another_lot_conflicts_but_other_skus_and_the_same_lot_do_not() -> None:
    screws = Candidate(space(1), (Content(SCREW_4.id, NO_LOT, 10, "screws"),))
    milk = Candidate(space(2), (Content(MILK.id, 11, 4, None),))
    assert conflict(screws, SCREW_5, NO_LOT) == "a look-alike SKU"
    assert conflict(screws, SCREW_4, NO_LOT) is None
    assert conflict(screws, WIDGET, NO_LOT) is None
    assert conflict(milk, MILK, 12) == "another lot of this SKU"
    assert conflict(milk, MILK, 11) is None
    assert conflict(milk, WIDGET, NO_LOT) is None


def test_skus_without_a_lookalike_group_never_count_as_lookalikes() -> None:
    ungrouped = Candidate(space(1), (Content(BOLT.id, NO_LOT, 10, None),))
    assert conflict(ungrouped, WIDGET, NO_LOT) is None


def test_the_override_warning_says_what_may_be_confused() -> None:
    inside = [Content(SCREW_4.id, NO_LOT, 10, "screws")]
    assert lookalike_warning(inside, SCREW_5, NO_LOT) == (
        "note: this bin also holds a look-alike SKU; keep them apart"
    )
    assert lookalike_warning(inside, SCREW_4, NO_LOT) is None
    assert lookalike_warning([Content(MILK.id, 11, 1, None)], MILK, 12) == (
        "note: this bin also holds another lot of this SKU; keep them apart"
    )


# --- ranking ----------------------------------------------------------------------------------


def test_only_bins_that_fit_are_suggested() -> None:
    candidates = [
        Candidate(space(1, limits=(4, 100_000, 100_000))),  # units short
        Candidate(space(2, limits=(100, 499, 100_000))),  # volume short
        Candidate(space(3, limits=(100, 100_000, 249))),  # weight short
        Candidate(space(4, limits=(10, 1_000, 1_000), used=(6, 600, 300))),  # full enough
        Candidate(space(5, limits=(10, 1_000, 1_000), held=(6, 600, 300))),  # promised away
        Candidate(space(6, limits=(5, 500, 250))),  # exactly
        Candidate(space(7)),
    ]
    for seed in range(10):
        assert sorted(ask(candidates, seed=seed)) == ["A-06", "A-07"]


def test_no_bin_that_fits_gives_an_empty_list() -> None:
    assert ask([Candidate(space(1, limits=(4, 100, 100)))]) == []


def test_lookalikes_and_other_lots_are_never_suggested() -> None:
    candidates = [
        Candidate(space(1), (Content(SCREW_4.id, NO_LOT, 10, "screws"),)),
        Candidate(space(2), (Content(MILK.id, 11, 3, None),)),
        Candidate(space(3), (Content(BOLT.id, NO_LOT, 3, None),)),
        Candidate(space(4)),
    ]
    assert sorted(ask(candidates, SCREW_5)) == ["A-02", "A-03", "A-04"]
    assert sorted(ask(candidates, SCREW_4)) == ["A-01", "A-02", "A-03", "A-04"]
    assert sorted(ask(candidates, MILK, 1, lot=12)) == ["A-01", "A-03", "A-04"]
    assert sorted(ask(candidates, MILK, 1, lot=11)) == ["A-01", "A-02", "A-03", "A-04"]


def test_the_cap_per_bin_counts_what_the_bin_already_holds_of_the_sku() -> None:
    candidates = [
        Candidate(space(1), (Content(WIDGET.id, NO_LOT, 8, None),)),
        Candidate(space(2), (Content(BOLT.id, NO_LOT, 8, None),)),
        Candidate(space(3)),
    ]
    policy = StowPolicy(cap_per_bin=10, suggestions=10)
    assert sorted(ask(candidates, qty=2, policy=policy)) == ["A-01", "A-02", "A-03"]
    assert sorted(ask(candidates, qty=3, policy=policy)) == ["A-02", "A-03"]
    assert ask(candidates, qty=11, policy=policy) == []


def test_the_cap_per_zone_sends_the_sku_to_another_zone() -> None:
    candidates = bins(3, "A") + bins(3, "B", first=4)
    policy = StowPolicy(cap_per_zone=20, suggestions=10)
    full_a = {"A": 18, "B": 5}
    assert sorted(ask(candidates, qty=3, near="A", policy=policy, zone_units=full_a)) == [
        "B-04",
        "B-05",
        "B-06",
    ]
    assert len(ask(candidates, qty=2, near="A", policy=policy, zone_units=full_a)) == 6
    assert ask(candidates, qty=16, policy=policy, zone_units=full_a) == []


def test_the_near_zone_comes_first_then_the_others() -> None:
    candidates = bins(4, "B", first=1) + bins(2, "A", first=10) + bins(4, "C", first=20)
    for seed in range(10):
        ranked = ask(candidates, near="A", seed=seed)
        assert sorted(ranked[:2]) == ["A-10", "A-11"]
        assert sorted(ranked[2:]) == [
            "B-01",
            "B-02",
            "B-03",
            "B-04",
            "C-20",
            "C-21",
            "C-22",
            "C-23",
        ]


def test_a_fast_mover_goes_to_the_bins_early_in_the_pick_sequence() -> None:
    candidates = [Candidate(space(i, "A", seq=100 - i)) for i in range(1, 11)]
    for seed in range(10):
        assert ask(candidates, FAST_WIDGET, seed=seed) == [f"A-{i:02d}" for i in range(10, 0, -1)]
    slow_orders = {tuple(ask(candidates, WIDGET, seed=seed)) for seed in range(10)}
    assert len(slow_orders) > 1  # a slow mover is spread at random


def test_a_fast_mover_still_prefers_the_near_zone_over_the_pick_path() -> None:
    candidates = [Candidate(space(1, "B", seq=1)), Candidate(space(2, "A", seq=50))]
    assert ask(candidates, FAST_WIDGET, near="A") == ["A-02", "B-01"]


def test_the_same_seed_gives_the_same_ranking_and_other_seeds_another_order() -> None:
    candidates = bins(12)
    assert ask(candidates, seed=42) == ask(candidates, seed=42)
    orders = {tuple(ask(candidates, seed=seed)) for seed in range(10)}
    assert len(orders) > 1
    assert all(sorted(o) == sorted(ask(candidates)) for o in orders)


def test_the_list_is_short_and_names_each_bin_once() -> None:
    candidates = bins(8) + bins(8)  # the same bins read twice (two sampling windows)
    ranked = rank(candidates, StowRequest(WIDGET, NO_LOT, 1), StowPolicy(), random.Random(3))
    assert len(ranked) == StowPolicy().suggestions == 5
    assert len({s.location_id for s in ranked}) == 5


def test_the_reason_shown_for_each_bin() -> None:
    candidates = [
        Candidate(space(1, "A"), (Content(WIDGET.id, NO_LOT, 2, None),)),
        Candidate(space(2, "B")),
    ]
    ranked = rank(
        candidates,
        StowRequest(FAST_WIDGET, NO_LOT, 1, near_zone="A", fast_mover=True),
        StowPolicy(),
        random.Random(1),
    )
    assert [s.why for s in ranked] == [
        "in your zone, fast mover, pick step 1, already holds this SKU",
        "zone B, fast mover, pick step 2",
    ]
    plain = rank(
        [Candidate(space(3))], StowRequest(WIDGET, NO_LOT, 1), StowPolicy(), random.Random()
    )
    assert plain[0].why == "room for it" and plain[0].free == Need(100, 100_000, 100_000)


# --- velocity classes -------------------------------------------------------------------------


def test_velocity_classes_split_the_picked_units_a_b_c() -> None:
    picked = {1: 60, 2: 25, 3: 10, 4: 5, 5: 0}
    assert velocity_classes(picked) == {1: "A", 2: "B", 3: "C", 4: "C"}


def test_the_first_sku_is_a_even_when_it_is_most_of_the_picks_and_ties_go_by_id() -> None:
    assert velocity_classes({9: 1, 3: 1, 5: 1, 7: 1}) == {3: "A", 5: "A", 7: "B", 9: "B"}
    assert velocity_classes({8: 99, 2: 1}) == {8: "A", 2: "C"}
    assert velocity_classes({}) == {}
