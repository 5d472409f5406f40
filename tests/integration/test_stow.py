"""Chaotic storage on both databases (issue 3, DESIGN.md section 6): capacity kept exact with every
move, refusals of bins without room with the next bin, the suggestion policy, capacity holds,
overrides, workers racing for the last space, the `stow` commands and the migration that
fills in the capacity of an existing warehouse.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, text

from app.adapters.db import catalogue, migrate, queries
from app.adapters.db.engine import make_engine
from app.adapters.db.schema import UNLIMITED
from app.adapters.db.uow import SqlLedger
from app.cli import main
from app.domain.catalogue import StationSpec
from app.domain.commands import (
    Adjust,
    AdjustReason,
    Opening,
    OpeningLine,
    PostPick,
    Putaway,
    Receive,
    Reserve,
    Scrap,
    Transfer,
)
from app.domain.ledger import Outcome
from app.domain.stow import StowPolicy
from app.services import stow
from tests.support.databases import PgServer
from tests.support.stow import (
    bin_spec,
    counter_drift,
    deactivate,
    expire_all_holds,
    hold_count,
    rooms,
    set_velocity,
    stow_warehouse,
    velocity_of,
)
from tests.support.warehouse import OPERATORS, Warehouse

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")

# Two zones of six bins along the pick path; each takes 50 units, 20 000 cm3 and 40 000 g.
GRID = [bin_spec(f"A-0{i}", "A", i, 50, 20_000, 40_000) for i in range(1, 7)] + [
    bin_spec(f"B-0{i}", "B", 10 + i, 50, 20_000, 40_000) for i in range(1, 7)
]
ZONE_A = {f"A-0{i}" for i in range(1, 7)}
ZONE_B = {f"B-0{i}" for i in range(1, 7)}
WIDGET = (100, 50)  # cm3, g per unit (tests/support/warehouse.py)
ALL = StowPolicy(suggestions=50)
"""A list long enough to name every eligible bin of these small warehouses."""


def ok(outcome: Outcome) -> Outcome:
    assert outcome.ok, outcome.message
    return outcome


def receive(wh: Warehouse, sku: str, qty: int, dock: str = "DOCK-1", **kw: Any) -> None:
    if sku == "MILK":
        kw.setdefault("expiry", date(2031, 1, 1))
    ok(wh.run(Receive, sku=sku, qty=qty, to_location=dock, **kw))


def put(wh: Warehouse, sku: str, qty: int, into: str, **kw: Any) -> Outcome:
    kw.setdefault("from_location", "DOCK-1")
    return wh.run(Putaway, sku=sku, qty=qty, to_location=into, **kw)


def suggested(
    wh: Warehouse,
    sku: str,
    qty: int,
    seed: int = 1,
    policy: StowPolicy = ALL,
    **kw: Any,
) -> list[str]:
    """The ranked bin codes, without holding any space."""
    answer = stow.suggest(
        wh.ledger, sku, qty, policy=policy, rng=random.Random(seed), hold=False, **kw
    )
    assert answer.held is None
    return [s.code for s in answer.suggestions]


def fits(room_free: tuple[int, int, int], qty: int, size: tuple[int, int]) -> bool:
    return qty <= room_free[0] and qty * size[0] <= room_free[1] and qty * size[1] <= room_free[2]


def together(workers: int, work: Callable[[int], T]) -> list[T]:
    """Run work(0..workers-1) in threads released at the same moment by a barrier."""
    barrier = threading.Barrier(workers)
    results: list[Any] = [None] * workers
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return results


# --- 1. capacity counters ---------------------------------------------------------------------


def test_capacity_counters_stay_exact_through_every_kind_of_move(
    engine: Engine, ledger: SqlLedger
) -> None:
    wh = stow_warehouse(engine, ledger, GRID)
    steps: list[Callable[[], object]] = [
        lambda: receive(wh, "WIDGET", 40),
        lambda: receive(wh, "MILK", 10, lot="L1"),
        lambda: receive(wh, "PHONE", 3, serials=("P1", "P2", "P3")),
        lambda: receive(wh, "SCREW-4", 100),
        lambda: ok(put(wh, "WIDGET", 15, "A-01")),
        lambda: ok(put(wh, "WIDGET", 10, "A-02")),
        lambda: ok(put(wh, "MILK", 5, "A-03", lot="L1")),
        lambda: ok(put(wh, "PHONE", 2, "A-04", serials=("P1", "P2"))),
        lambda: ok(put(wh, "SCREW-4", 50, "B-01")),
        lambda: ok(wh.run(Transfer, sku="WIDGET", qty=5, from_location="A-01", to_location="B-02")),
        lambda: ok(
            wh.run(
                Transfer,
                sku="PHONE",
                qty=1,
                serials=("P2",),
                from_location="A-04",
                to_location="B-03",
            )
        ),
        lambda: ok(
            wh.run(Transfer, sku="WIDGET", qty=3, from_location="A-02", to_location="DOCK-2")
        ),
        lambda: ok(wh.run(Scrap, sku="SCREW-4", qty=1, from_location="B-01", reason="bent")),
        lambda: ok(
            wh.run(
                Adjust,
                sku="WIDGET",
                location="A-01",
                delta=2,
                reason=AdjustReason.FOUND,
                operator="C1",
                approved_by="S1",  # beyond the adjustment tolerance
            )
        ),
        lambda: ok(
            wh.run(
                Adjust,
                sku="MILK",
                location="A-03",
                delta=-1,
                lot="L1",
                reason=AdjustReason.DAMAGED,
                operator="C1",
            )
        ),
        lambda: ok(
            wh.run(
                Opening,
                lines=(
                    OpeningLine("BOLT", "B-04", 30),
                    OpeningLine("MILK", "B-05", 2, "L9", date(2031, 2, 1)),
                ),
            )
        ),
    ]
    for step in steps:
        step()
        assert counter_drift(engine) == []

    reserved = ok(wh.run(Reserve, order="SO-1", line=1, sku="WIDGET", qty=4, location="A-01"))
    assert rooms(engine)["A-01"].used[0] == 15 - 5 + 2  # a reservation takes no space
    reservation = reserved.result["lines"][0]["reservation"]
    ok(wh.run(PostPick, reservation=reservation, qty=3, to_location="OUT-1"))  # one short
    receive(wh, "WIDGET", 60)
    refused = put(wh, "WIDGET", 60, "A-05")  # 60 units do not go into a bin of 50
    assert refused.reason == "bin_full"
    assert counter_drift(engine) == []

    space = rooms(engine)
    assert space["A-01"].used == (9, 900, 450)  # 15 - 5 moved + 2 found - 3 picked
    assert space["A-03"].used == (4, 4_000, 4_120)  # milk: 1 000 cm3, 1 030 g a litre
    assert space["A-04"].used == (1, 300, 200) and space["B-03"].used == (1, 300, 200)
    assert space["B-01"].used == (49, 49, 98)
    assert space["A-05"].used == (0, 0, 0)  # the refused putaway left nothing behind
    assert space["A-01"].free == (41, 19_100, 39_550)
    assert "DOCK-1" not in space and "OUT-1" not in space  # only bins have a capacity
    assert wh.invariants().total == 0


def test_a_count_may_find_more_than_a_bin_holds_and_then_it_takes_nothing_more(
    engine: Engine, ledger: SqlLedger
) -> None:
    wh = stow_warehouse(engine, ledger, [bin_spec("TINY", "A", 1, units=5), *GRID])
    ok(
        wh.run(
            Adjust,
            sku="BOLT",
            location="TINY",
            delta=7,
            reason=AdjustReason.FOUND,
            operator="C1",
            approved_by="S1",  # beyond the adjustment tolerance
        )
    )
    assert counter_drift(engine) == []
    assert rooms(engine)["TINY"].free[0] == -2
    receive(wh, "BOLT", 1)
    refused = put(wh, "BOLT", 1, "TINY")
    assert refused.reason == "bin_full"
    assert "it holds 7 units, 35 cm3, 70 g of 5 units and can still take 0 units." in (
        refused.message
    )
    assert "TINY" not in suggested(wh, "BOLT", 1)


# --- 2. refusals of a bin without room ----------------------------------------------------------

LIMITS = {
    # Each bin takes exactly 10 widgets, limited by one dimension only.
    "units": bin_spec("SMALL", "A", 1, units=10),
    "volume": bin_spec("SMALL", "A", 1, volume=1_000),
    "weight": bin_spec("SMALL", "A", 1, weight=500),
}
NEXT = [
    bin_spec("ROOMY-1", "A", 2, 100, 100_000, 100_000),
    bin_spec("ROOMY-2", "B", 3, 100, 100_000, 100_000),
    bin_spec("SHORT", "A", 4, units=4),  # has room, but not for 5
]


@pytest.mark.parametrize("limit", sorted(LIMITS))
def test_a_putaway_that_does_not_fit_is_refused_naming_the_bin_and_the_next_bin(
    engine: Engine, ledger: SqlLedger, limit: str
) -> None:
    wh = stow_warehouse(engine, ledger, [LIMITS[limit], *NEXT])
    receive(wh, "WIDGET", 20)
    ok(put(wh, "WIDGET", 8, "SMALL"))

    refused = put(wh, "WIDGET", 5, "SMALL")

    assert refused.reason == "bin_full"
    room = {
        "units": "of 10 units and can still take 2 units",
        "volume": "of 1 000 cm3 and can still take 200 cm3",
        "weight": "of 500 g and can still take 100 g",
    }[limit]
    assert refused.message.startswith(
        f"5 x WIDGET do not fit in SMALL: it holds 8 units, 800 cm3, 400 g {room}. Put them in "
    )
    proposed = [s["location"] for s in refused.result["suggestions"]]
    assert proposed and set(proposed) <= {"ROOMY-1", "ROOMY-2"}
    assert f"Put them in {proposed[0]} (" in refused.message
    assert wh.on_hand("SMALL", "WIDGET") == 8 and wh.on_hand("DOCK-1", "WIDGET") == 12
    ok(put(wh, "WIDGET", 2, "SMALL"))  # what it said it can still take does fit
    ok(put(wh, "WIDGET", 5, proposed[0]))  # and so does the bin it proposed
    assert counter_drift(engine) == [] and wh.invariants().total == 0


def test_a_transfer_into_a_bin_without_room_is_refused_likewise(
    engine: Engine, ledger: SqlLedger
) -> None:
    wh = stow_warehouse(engine, ledger, [LIMITS["weight"], *NEXT])
    receive(wh, "WIDGET", 20)
    ok(put(wh, "WIDGET", 15, "ROOMY-1"))
    ok(wh.run(Transfer, sku="WIDGET", qty=6, from_location="ROOMY-1", to_location="SMALL"))

    refused = wh.run(Transfer, sku="WIDGET", qty=5, from_location="ROOMY-1", to_location="SMALL")

    assert refused.reason == "bin_full"
    assert refused.message.startswith(
        "5 x WIDGET do not fit in SMALL: it holds 6 units, 600 cm3, 300 g of 500 g "
        "and can still take 200 g. Put them in ROOMY-2 ("
    )
    proposed = [s["location"] for s in refused.result["suggestions"]]
    assert proposed == ["ROOMY-2"]  # not SMALL, not the source, not SHORT (room for 4 only)
    assert wh.on_hand("ROOMY-1", "WIDGET") == 9 and wh.on_hand("SMALL", "WIDGET") == 6
    assert counter_drift(engine) == []


def test_when_no_bin_has_room_the_refusal_says_so(engine: Engine, ledger: SqlLedger) -> None:
    wh = stow_warehouse(engine, ledger, [LIMITS["units"], bin_spec("SHORT", "A", 2, units=4)])
    receive(wh, "WIDGET", 20)
    refused = put(wh, "WIDGET", 11, "SMALL")
    assert refused.reason == "bin_full" and refused.result["suggestions"] == []
    assert refused.message.endswith(
        "No bin has room for them now: leave them on the dock and tell a supervisor"
    )


# --- 3. the suggestion policy -----------------------------------------------------------------


def test_suggestions_name_only_bins_where_units_volume_and_weight_all_fit(
    engine: Engine, ledger: SqlLedger
) -> None:
    bins = [
        bin_spec("FIT-1", "A", 1, 100, 100_000, 100_000),
        bin_spec("FIT-2", "A", 2, 100, 100_000, 100_000),
        bin_spec("FIT-3", "B", 3),  # no limits at all
        bin_spec("EXACT", "A", 4, 4, 400, 200),  # exactly 4 widgets
        bin_spec("UNITS", "A", 5, 3, 100_000, 100_000),
        bin_spec("VOLUME", "A", 6, 100, 399, 100_000),
        bin_spec("WEIGHT", "A", 7, 100, 100_000, 199),
        bin_spec("HALF", "B", 8, 10, 100_000, 100_000),  # room for 10, but 7 are in it
    ]
    wh = stow_warehouse(engine, ledger, bins)
    receive(wh, "WIDGET", 20)
    ok(put(wh, "WIDGET", 7, "HALF"))
    space = rooms(engine)

    for seed in range(8):
        answer = stow.suggest(
            wh.ledger, "WIDGET", 4, policy=ALL, rng=random.Random(seed), hold=False
        )
        assert {s.code for s in answer.suggestions} == {"FIT-1", "FIT-2", "FIT-3", "EXACT"}
        for s in answer.suggestions:  # the free space shown is the bin's
            assert (s.free.units, s.free.volume_cm3, s.free.weight_g) == space[s.code].free
            assert fits(space[s.code].free, 4, WIDGET)
    assert "HALF" in suggested(wh, "WIDGET", 3)

    ok(put(wh, "WIDGET", 4, "EXACT"))  # now exactly full
    assert "EXACT" not in suggested(wh, "BOLT", 1)


def test_suggestions_never_mix_lookalikes_or_two_lots_of_one_sku(
    engine: Engine, ledger: SqlLedger
) -> None:
    bins = [bin_spec(f"L-{i}", "A", i, 100, 100_000, 100_000) for i in range(1, 5)]
    wh = stow_warehouse(engine, ledger, bins)
    every = {"L-1", "L-2", "L-3", "L-4"}
    receive(wh, "SCREW-4", 50)
    receive(wh, "MILK", 5, lot="L1")
    ok(put(wh, "SCREW-4", 50, "L-1"))
    ok(put(wh, "MILK", 5, "L-2", lot="L1"))

    for seed in range(5):
        assert set(suggested(wh, "SCREW-5", 10, seed)) == every - {"L-1"}
        assert set(suggested(wh, "SCREW-4", 10, seed)) == every  # more of the same is fine
        assert set(suggested(wh, "MILK", 1, seed, lot="L2")) == every - {"L-2"}
        assert set(suggested(wh, "MILK", 1, seed, lot="L1")) == every
        assert set(suggested(wh, "WIDGET", 1, seed)) == every  # different SKUs do mix

    # Space held for a suggestion counts as what the bin will hold.
    held = stow.suggest(wh.ledger, "SCREW-4", 5, station="ST-1", rng=random.Random(3)).held
    assert held is not None
    assert set(suggested(wh, "SCREW-5", 10)) == every - {"L-1", held.code}
    held_milk = stow.suggest(wh.ledger, "MILK", 1, lot="L3", station="ST-1").held
    assert held_milk is not None and held_milk.code != "L-2"
    assert set(suggested(wh, "MILK", 1, lot="L2")) == every - {"L-2", held_milk.code}


def test_caps_per_bin_and_per_zone_spread_a_sku_over_bins_and_zones(
    engine: Engine, ledger: SqlLedger
) -> None:
    wh = stow_warehouse(engine, ledger, GRID)
    policy = StowPolicy(cap_per_bin=10, cap_per_zone=30, suggestions=5)
    receive(wh, "WIDGET", 70)
    zones = []
    for i in range(12):
        answer = stow.suggest(
            wh.ledger, "WIDGET", 5, station="ST-1", policy=policy, rng=random.Random(i)
        )
        assert answer.held is not None and answer.held == answer.suggestions[0]
        zones.append(answer.held.zone)
        ok(put(wh, "WIDGET", 5, answer.held.code, station="ST-1"))

    assert zones == ["A"] * 6 + ["B"] * 6  # the station's zone first, until its cap
    in_bins = {code: wh.on_hand(code, "WIDGET") for code in ZONE_A | ZONE_B}
    assert max(in_bins.values()) <= 10
    assert sum(n for code, n in in_bins.items() if code in ZONE_A) == 30
    assert sum(n for code, n in in_bins.items() if code in ZONE_B) == 30
    assert sum(1 for n in in_bins.values() if n) >= 6
    # Both zones are at their cap: nothing more is suggested, though every bin has room.
    assert stow.suggest(wh.ledger, "WIDGET", 5, station="ST-1", policy=policy).suggestions == ()
    assert counter_drift(engine) == [] and hold_count(engine) == 0

    # The per-bin cap counts what the bin already holds.
    per_bin = StowPolicy(cap_per_bin=10, suggestions=50)
    at_cap = {code for code, n in in_bins.items() if n == 10}
    assert set(suggested(wh, "WIDGET", 5, policy=per_bin)) == (ZONE_A | ZONE_B) - at_cap
    receive(wh, "BOLT", 8)
    ok(put(wh, "BOLT", 8, "B-06"))
    assert "B-06" not in suggested(wh, "BOLT", 3, policy=per_bin)
    assert "B-06" in suggested(wh, "BOLT", 2, policy=per_bin)


def test_the_stations_zone_is_suggested_first(engine: Engine, ledger: SqlLedger) -> None:
    wh = stow_warehouse(engine, ledger, GRID)
    policy = StowPolicy(suggestions=4)
    for seed in range(5):
        for ask, zone in (({"station": "ST-1"}, ZONE_A), ({"station": "ST-2"}, ZONE_B)):
            ranked = suggested(wh, "WIDGET", 5, seed, policy, **ask)
            assert len(ranked) == 4 and set(ranked) <= zone
        assert set(suggested(wh, "WIDGET", 5, seed, policy, near_zone="B")) <= ZONE_B
    anywhere = {z for seed in range(10) for z in suggested(wh, "WIDGET", 5, seed, policy)}
    assert anywhere & ZONE_A and anywhere & ZONE_B  # without a zone, both are used
    # With room for the goods in only two bins of its zone, those two come first.
    for code in ("A-03", "A-04", "A-05", "A-06"):
        ok(
            wh.run(
                Adjust,
                sku="BOLT",
                location=code,
                delta=48,
                reason=AdjustReason.FOUND,
                operator="C1",
                approved_by="S1",  # beyond the adjustment tolerance
            )
        )
    ranked = suggested(wh, "WIDGET", 5, 2, policy, station="ST-1")
    assert set(ranked[:2]) == {"A-01", "A-02"} and set(ranked[2:]) <= ZONE_B


def test_fast_movers_go_to_bins_early_in_the_pick_sequence(
    engine: Engine, ledger: SqlLedger
) -> None:
    wh = stow_warehouse(engine, ledger, GRID)
    receive(wh, "WIDGET", 30)
    receive(wh, "BOLT", 30)
    ok(put(wh, "WIDGET", 30, "B-06"))
    ok(put(wh, "BOLT", 30, "B-05"))
    for sku, qty in (("WIDGET", 20), ("BOLT", 2)):
        lines = ok(wh.run(Reserve, order=f"SO-{sku}", line=1, sku=sku, qty=qty)).result["lines"]
        ok(wh.run(PostPick, reservation=lines[0]["reservation"], qty=qty, to_location="OUT-1"))

    assert stow.classify(wh.ledger, 30) == {"A": 1, "B": 0}
    assert velocity_of(engine, "WIDGET") == "A" and velocity_of(engine, "BOLT") == "C"
    three = StowPolicy(suggestions=3)
    for seed in range(5):
        assert suggested(wh, "WIDGET", 5, seed, three, station="ST-1") == ["A-01", "A-02", "A-03"]
        assert suggested(wh, "WIDGET", 5, seed, three, near_zone="B") == ["B-01", "B-02", "B-03"]
    slow = {tuple(suggested(wh, "BOLT", 5, seed, three, station="ST-1")) for seed in range(8)}
    assert len(slow) > 1  # a slow mover is spread at random over its zone

    set_velocity(engine, "BOLT", "A")  # marked fast directly
    assert suggested(wh, "BOLT", 5, 4, three, station="ST-2") == ["B-01", "B-02", "B-03"]
    stow.classify(wh.ledger, 30)  # classes follow the picks again
    assert velocity_of(engine, "BOLT") == "C" and velocity_of(engine, "WIDGET") == "A"


def test_the_same_seed_gives_the_same_ranking_and_other_seeds_another_order(
    engine: Engine, ledger: SqlLedger
) -> None:
    wh = stow_warehouse(engine, ledger, GRID)
    assert suggested(wh, "WIDGET", 5, 42) == suggested(wh, "WIDGET", 5, 42)
    orders = {tuple(suggested(wh, "WIDGET", 5, seed, station="ST-1")) for seed in range(10)}
    assert len(orders) > 1
    assert all(set(order[:6]) == ZONE_A and set(order[6:]) == ZONE_B for order in orders)


def test_an_inactive_bin_is_never_suggested(engine: Engine, ledger: SqlLedger) -> None:
    bins = [
        bin_spec("HUGE", "A", 1),
        bin_spec("S-1", "A", 2, units=5),
        bin_spec("S-2", "B", 3, units=5),
    ]
    wh = stow_warehouse(engine, ledger, bins)
    deactivate(engine, "HUGE")
    for seed in range(10):
        assert set(suggested(wh, "WIDGET", 3, seed, station="ST-1")) == {"S-1", "S-2"}
    # Only the blocked bin would take 100: nothing is suggested, not even by the fallback.
    assert stow.suggest(wh.ledger, "WIDGET", 100, station="ST-1").suggestions == ()
    receive(wh, "WIDGET", 3)
    assert put(wh, "WIDGET", 3, "HUGE").reason == "inactive_location"


def test_a_suggestion_for_an_unknown_sku_or_station_is_refused(
    engine: Engine, ledger: SqlLedger
) -> None:
    wh = stow_warehouse(engine, ledger, GRID)
    with pytest.raises(Exception, match="item 'NOPE' is not in the catalogue"):
        stow.suggest(wh.ledger, "NOPE", 1)
    with pytest.raises(Exception, match="station 'ST-99' is not registered"):
        stow.suggest(wh.ledger, "WIDGET", 1, station="ST-99")
    with pytest.raises(Exception, match="quantity must be above 0"):
        stow.suggest(wh.ledger, "WIDGET", 0)


# --- 4. capacity holds ------------------------------------------------------------------------

LAST_SPACE = [
    bin_spec("BIG", "A", 1, units=10),  # the only bin that takes 8
    *(bin_spec(f"S-{i}", "AB"[i % 2], 1 + i, units=5) for i in range(1, 7)),
]


def test_a_hold_keeps_the_last_space_from_a_second_worker(
    engine: Engine, ledger: SqlLedger
) -> None:
    wh = stow_warehouse(engine, ledger, LAST_SPACE)
    first = stow.suggest(wh.ledger, "WIDGET", 8, station="ST-1")
    assert first.held is not None and first.held.code == "BIG"
    assert first.suggestions[0].code == "BIG"
    assert rooms(engine)["BIG"].held == (8, 800, 400)
    assert rooms(engine)["BIG"].free == (2, UNLIMITED - 800, UNLIMITED - 400)
    assert counter_drift(engine) == []

    second = stow.suggest(wh.ledger, "WIDGET", 8, station="ST-2")
    assert second.held is None and second.suggestions == ()
    small = stow.suggest(wh.ledger, "WIDGET", 2, station="ST-2", policy=ALL, hold=False)
    assert "BIG" in {s.code for s in small.suggestions}  # the space beyond the hold is free
    assert hold_count(engine) == 1


def test_an_expired_hold_gives_the_space_back(engine: Engine, ledger: SqlLedger) -> None:
    wh = stow_warehouse(engine, ledger, LAST_SPACE)
    receive(wh, "WIDGET", 8)
    assert stow.suggest(wh.ledger, "WIDGET", 8, station="ST-1").held is not None
    expire_all_holds(engine)  # the first worker never came

    again = stow.suggest(wh.ledger, "WIDGET", 8, station="ST-2")

    assert again.held is not None and again.held.code == "BIG"
    assert hold_count(engine) == 1 and rooms(engine)["BIG"].held == (8, 800, 400)
    assert counter_drift(engine) == []
    late = put(wh, "WIDGET", 8, "BIG", station="ST-1")  # the space went to the other worker
    assert late.reason == "bin_full" and "can still take 2 units" in late.message

    expire_all_holds(engine)
    stow.suggest(wh.ledger, "BOLT", 1, hold=False)  # any suggestion releases expired holds
    assert hold_count(engine) == 0 and rooms(engine)["BIG"].held == (0, 0, 0)
    assert rooms(engine)["BIG"].free[0] == 10 and counter_drift(engine) == []


def test_the_holding_stations_putaway_takes_its_held_space(
    engine: Engine, ledger: SqlLedger
) -> None:
    wh = stow_warehouse(engine, ledger, LAST_SPACE)
    receive(wh, "WIDGET", 16)
    held = stow.suggest(wh.ledger, "WIDGET", 8, station="ST-1").held
    assert held is not None and held.code == "BIG"

    other = put(wh, "WIDGET", 8, "BIG", station="ST-2")
    assert other.reason == "bin_full"
    assert "BIG: it holds 0 units" in other.message and "can still take 2 units" in other.message

    mine = ok(put(wh, "WIDGET", 8, "BIG", station="ST-1"))
    assert mine.message == "put 8 x WIDGET into BIG"
    assert rooms(engine)["BIG"].held == (0, 0, 0)
    assert rooms(engine)["BIG"].used == (8, 800, 400)
    assert hold_count(engine) == 0 and counter_drift(engine) == []
    assert wh.invariants().total == 0


# --- 5. overrides -----------------------------------------------------------------------------


def test_the_worker_may_put_away_into_any_other_bin_with_room(
    engine: Engine, ledger: SqlLedger
) -> None:
    wh = stow_warehouse(engine, ledger, GRID)
    receive(wh, "WIDGET", 5)
    answer = stow.suggest(wh.ledger, "WIDGET", 5, station="ST-1", policy=StowPolicy(suggestions=3))
    assert answer.held is not None
    chosen = sorted(ZONE_B)[0]  # not among the suggestions: they are all in the station's zone
    assert chosen not in {s.code for s in answer.suggestions}

    done = ok(put(wh, "WIDGET", 5, chosen, station="ST-1", suggested=answer.held.code))

    assert (
        done.message == f"put 5 x WIDGET into {chosen} instead of the suggested {answer.held.code}"
    )
    assert done.result["override"] == {"suggested": answer.held.code, "chosen": chosen}
    with engine.connect() as c:
        recorded = queries.moves(c, "WIDGET", chosen)
    assert [(m["kind"], m["station"], m["operator"], m["from"], m["qty"]) for m in recorded] == [
        ("putaway", "ST-1", "D1", "DOCK-1", 5)
    ]
    assert wh.on_hand(chosen, "WIDGET") == 5
    assert wh.invariants().total == 0 and counter_drift(engine) == []
    # The space held in the suggested bin is given back at once, not when the hold expires.
    assert hold_count(engine) == 0
    assert rooms(engine)[answer.held.code].held == (0, 0, 0)


def test_an_override_next_to_a_lookalike_or_another_lot_is_accepted_with_a_note(
    engine: Engine, ledger: SqlLedger
) -> None:
    wh = stow_warehouse(engine, ledger, GRID)
    receive(wh, "SCREW-4", 10)
    receive(wh, "SCREW-5", 10)
    receive(wh, "MILK", 2, lot="L1")
    receive(wh, "MILK", 2, lot="L2")
    receive(wh, "WIDGET", 1)
    ok(put(wh, "SCREW-4", 10, "A-01"))
    ok(put(wh, "MILK", 2, "A-02", lot="L1"))
    assert "A-01" not in suggested(wh, "SCREW-5", 10)

    screws = ok(put(wh, "SCREW-5", 10, "A-01"))
    milk = ok(put(wh, "MILK", 2, "A-02", lot="L2"))
    widget = ok(put(wh, "WIDGET", 1, "A-01"))

    assert screws.message == (
        "put 10 x SCREW-5 into A-01; note: this bin also holds a look-alike SKU; keep them apart"
    )
    assert milk.message == (
        "put 2 x MILK into A-02; note: this bin also holds another lot of this SKU; keep them apart"
    )
    assert widget.message == "put 1 x WIDGET into A-01"
    assert wh.on_hand("A-01", "SCREW-5") == 10 and wh.on_hand("A-02", "MILK", "L2") == 2
    assert wh.invariants().total == 0 and counter_drift(engine) == []


# --- 6. workers racing for the last space -------------------------------------------------------

WORKERS = 8


def test_workers_asking_at_the_same_moment_are_not_sent_to_the_same_last_space(
    engine: Engine, ledger: SqlLedger
) -> None:
    wh = stow_warehouse(engine, ledger, LAST_SPACE)
    for _round in range(3):
        answers = together(
            WORKERS,
            lambda i: stow.suggest(wh.ledger, "WIDGET", 8, station=f"ST-{i + 1}"),
        )
        held = [a.held.code for a in answers if a.held is not None]
        assert held == ["BIG"]
        assert rooms(engine)["BIG"].held == (8, 800, 400) and hold_count(engine) == 1
        assert counter_drift(engine) == []
        expire_all_holds(engine)  # nobody came: the next round races for it again


def test_concurrent_putaways_never_fill_a_bin_beyond_its_room(
    engine: Engine, ledger: SqlLedger
) -> None:
    bins = [bin_spec("CAP", "A", 1, units=9), bin_spec("OTHER", "B", 2)]
    wh = stow_warehouse(engine, ledger, bins)
    for i in range(1, WORKERS + 1):  # one SKU each: the bin's space is the only shared row
        receive(wh, f"PART-{i}", 2)

    outcomes = together(
        WORKERS,
        lambda i: put(wh, f"PART-{i + 1}", 2, "CAP", station=f"ST-{i + 1}"),
    )

    confirmed = [o for o in outcomes if o.ok]
    refused = [o for o in outcomes if not o.ok]
    assert len(confirmed) == 4  # 4 x 2 of 9 units; a fifth would need 2 of the last 1
    assert {o.reason for o in refused} == {"bin_full"}
    assert all("can still take 1 unit" in o.message for o in refused)
    assert all(o.result["suggestions"][0]["location"] == "OTHER" for o in refused)
    assert rooms(engine)["CAP"].used == (8, 80, 80)
    assert sum(wh.on_hand("CAP", f"PART-{i}") for i in range(1, WORKERS + 1)) == 8
    assert wh.invariants().total == 0 and counter_drift(engine) == []


def test_sqlite_station_processes_racing_for_the_last_space_get_it_once(
    sqlite_url: str, tmp_path: Path
) -> None:
    engine = make_engine(sqlite_url)
    try:
        stow_warehouse(engine, SqlLedger(engine), LAST_SPACE)
        go = tmp_path / "go"
        workers = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.support.stow_worker",
                    "--db",
                    sqlite_url,
                    "--station",
                    f"ST-{i}",
                    "--sku",
                    "WIDGET",
                    "--qty",
                    "8",
                    "--ready",
                    str(tmp_path / f"ready-{i}"),
                    "--go",
                    str(go),
                ],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for i in range(1, 5)
        ]
        while not all((tmp_path / f"ready-{i}").exists() for i in range(1, 5)):
            if any(w.poll() is not None for w in workers):
                break
            threading.Event().wait(0.01)
        go.touch()
        answers = []
        for w in workers:
            out, err = w.communicate()
            assert w.returncode == 0, err
            answers.append(json.loads(out))
        assert sorted(str(a["held"]) for a in answers) == ["BIG", "None", "None", "None"]
        assert hold_count(engine) == 1 and rooms(engine)["BIG"].held == (8, 800, 400)
        assert counter_drift(engine) == []
    finally:
        engine.dispose()


# --- 7. the stow commands ---------------------------------------------------------------------


def perpetua(db_url: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--db", db_url, *args], catch_exceptions=False)


def test_stow_suggest_and_classify_on_a_demo_warehouse(db_url: str) -> None:
    # Without the past picks, so that the only picks are the ones made below.
    assert perpetua(db_url, "demo", "--bins", "300", "--skus", "60", "--no-history").exit_code == 0
    engine = make_engine(db_url)
    try:
        with engine.connect() as c:
            sizes = {
                code: (volume, weight)
                for code, volume, weight in c.execute(
                    text("SELECT code, unit_volume_cm3, unit_weight_g FROM skus")
                )
            }
        space = rooms(engine)
        for sku in ("SKU-000003", "SKU-000017", "SKU-000042"):
            shown = perpetua(db_url, "stow", "suggest", "--sku", sku, "--qty", "4", "--json")
            assert shown.exit_code == 0, shown.output
            answer = json.loads(shown.output)
            assert answer["sku"] == sku and answer["qty"] == 4
            rows = answer["suggestions"]
            assert [r["rank"] for r in rows] == list(range(1, 6))
            for r in rows:
                free = space[r["location"]].free
                assert (r["free_units"], r["free_volume_cm3"], r["free_weight_g"]) == free
                assert fits(free, 4, sizes[sku]) and not r["held"]

        args = ["stow", "suggest", "--sku", "SKU-000005", "--qty", "2", "--json", "--seed", "9"]
        assert perpetua(db_url, *args).output == perpetua(db_url, *args).output
        held = json.loads(perpetua(db_url, *args, "--station", "ST-2").output)["suggestions"]
        assert held[0]["held"] and not any(r["held"] for r in held[1:])
        assert {r["zone"] for r in held} == {"B"}  # ST-2 works in zone B
        assert rooms(engine)[held[0]["location"]].held[0] == 2

        table = perpetua(db_url, "stow", "suggest", "--sku", "SKU-000005", "--qty", "2")
        assert table.output.splitlines()[0].split()[:3] == ["rank", "location", "zone"]

        unknown = perpetua(db_url, "stow", "suggest", "--sku", "NOPE", "--qty", "1", "--json")
        assert unknown.exit_code == 1
        assert "item 'NOPE' is not in the catalogue" in unknown.output

        none = perpetua(db_url, "stow", "classify")
        assert none.exit_code == 0
        assert none.output.strip() == "velocity classes from 30 days of picks: 0 A (fast), 0 B"
        ledger = SqlLedger(engine)
        wh = Warehouse(engine, ledger, station="DEMO", operator="S001")
        with engine.connect() as c:
            stocked = list(
                {
                    r["sku"]: r for r in queries.stock(c) if not r["lot"] and r["available"] >= 5
                }.values()
            )
        for n, row in enumerate(stocked[:3]):
            qty = (5, 3, 1)[n]
            lines = ok(
                wh.run(
                    Reserve,
                    order=f"T-{n}",
                    line=1,
                    sku=row["sku"],
                    qty=qty,
                    location=row["location"],
                )
            ).result["lines"]
            ok(wh.run(PostPick, reservation=lines[0]["reservation"], qty=qty, to_location="OUT-1"))
        counted = perpetua(db_url, "stow", "classify", "--days", "1")
        assert counted.output.strip() == "velocity classes from 1 days of picks: 1 A (fast), 1 B"
        assert velocity_of(engine, stocked[0]["sku"]) == "A"
        assert counter_drift(engine) == []
    finally:
        engine.dispose()


# --- 8. the migration that adds bin capacity --------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    server: PgServer = request.getfixturevalue("pg_server")
    name = f"perpetua_t_{server.run_tag}_stow_migration"
    server.drop(name)
    yield server.create(name)
    server.drop(name)


OLD_WAREHOUSE = """
INSERT INTO skus (id, code, name, unit_volume_cm3, unit_weight_g, tracking, lookalike_group,
    reorder_point, lead_time_days, active) VALUES
    (1, 'WIDGET', 'Blue widget', 100, 50, 'none', NULL, 0, 0, {true}),
    (2, 'BOLT', 'Hex bolt', 5, 10, 'none', NULL, 0, 0, {true}),
    (3, 'MILK', 'Milk 1 l', 1000, 1030, 'lot', NULL, 0, 0, {true});
INSERT INTO lots (id, sku_id, code, expiry) VALUES (1, 3, 'L1', NULL), (2, 3, 'L2', NULL);
INSERT INTO locations (id, code, kind, zone, aisle, bay, level, pick_sequence, max_units,
    max_volume_cm3, max_weight_g, active) VALUES
    (101, 'OLD-1', 'bin', 'A', NULL, NULL, NULL, 1, 100, 50000, 50000, {true}),
    (102, 'OLD-2', 'bin', 'B', NULL, NULL, NULL, 2, NULL, NULL, NULL, {true}),
    (103, 'OLD-3', 'bin', NULL, NULL, NULL, NULL, 3, 10, NULL, NULL, {true}),
    (104, 'DOCK-1', 'dock', 'A', NULL, NULL, NULL, 0, NULL, NULL, NULL, {true});
INSERT INTO quants (location_id, sku_id, lot_id, on_hand, reserved, is_virtual) VALUES
    (101, 1, 0, 7, 2, {false}),
    (101, 2, 0, 20, 0, {false}),
    (102, 3, 1, 3, 0, {false}),
    (102, 3, 2, 2, 0, {false}),
    (103, 1, 0, 0, 0, {false}),
    (104, 1, 0, 5, 0, {false});
"""


def test_upgrading_a_stocked_warehouse_fills_in_each_bins_used_space(empty_url: str) -> None:
    engine = make_engine(empty_url)
    try:
        migrate.upgrade(engine, "0001")
        pg = engine.dialect.name == "postgresql"
        script = OLD_WAREHOUSE.format(true="TRUE" if pg else "1", false="FALSE" if pg else "0")
        with engine.begin() as c:
            for statement in filter(str.strip, script.split(";")):
                c.execute(text(statement))

        migrate.upgrade(engine)

        space = rooms(engine)
        assert set(space) == {"OLD-1", "OLD-2", "OLD-3"}  # bins only
        assert space["OLD-1"].used == (27, 800, 550)  # 7 widgets and 20 bolts
        assert space["OLD-1"].free == (73, 49_200, 49_450)
        assert space["OLD-2"].used == (5, 5_000, 5_150)  # two lots of milk
        assert space["OLD-2"].max == (UNLIMITED,) * 3  # no limits known
        assert space["OLD-3"].used == (0, 0, 0) and space["OLD-3"].zone == ""
        assert counter_drift(engine) == []

        # The migrated warehouse refuses and accepts as its stock says.
        with engine.begin() as c:
            catalogue.add_operators(c, OPERATORS)
            catalogue.add_stations(c, [StationSpec("ST-1", "Dock 1", "A", "DOCK-1")])
        wh = Warehouse(engine, SqlLedger(engine))
        receive(wh, "WIDGET", 100)
        refused = put(wh, "WIDGET", 74, "OLD-1")
        assert refused.reason == "bin_full"
        assert "it holds 27 units, 800 cm3, 550 g of 100 units" in refused.message
        assert "can still take 73 units" in refused.message
        ok(put(wh, "WIDGET", 73, "OLD-1"))
        assert rooms(engine)["OLD-1"].free[0] == 0 and counter_drift(engine) == []
        assert "OLD-1" not in suggested(wh, "BOLT", 1)
    finally:
        engine.dispose()
