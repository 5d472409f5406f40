"""Putaway split across bins on both databases (issue 12, point 4): when no bin takes all the
goods, the ledger's HoldBin answers the bin that takes the most and how many units of the SKU
fit there (by units, volume and weight), and holds room for that many; a station that puts
those away and asks again for the rest puts 400 away into bins of 150 (150, 150, 100), and says
what is left when no bin has room. Deactivated bins are never suggested, not even for part."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine

from app.adapters.db.uow import SqlLedger
from app.domain.commands import Hold, HoldBin, Putaway, Receive, ReleaseHold, ReleaseReason
from app.domain.ledger import Outcome
from app.domain.stow import UNLIMITED
from tests.support.stow import (
    bin_spec,
    counter_drift,
    deactivate,
    hold_count,
    rooms,
    stow_warehouse,
)
from tests.support.warehouse import SEED_PINS, Warehouse

# A widget takes 100 cm3 and weighs 50 g (tests/support/warehouse.py).
BINS_OF_150 = {
    "units": [bin_spec(f"U-{i}", "A", i, units=150) for i in range(1, 4)],
    "volume": [bin_spec(f"V-{i}", "A", i, volume=15_050) for i in range(1, 4)],
    "weight": [bin_spec(f"W-{i}", "A", i, weight=7_549) for i in range(1, 4)],
}


def ok(outcome: Outcome) -> Outcome:
    assert outcome.ok, outcome.message
    return outcome


def receive(wh: Warehouse, qty: int, sku: str = "WIDGET", **kw: Any) -> None:
    ok(wh.run(Receive, sku=sku, qty=qty, to_location="DOCK-1", **kw))


def hold(wh: Warehouse, qty: int, sku: str = "WIDGET", **kw: Any) -> dict[str, Any]:
    return dict(ok(wh.run(HoldBin, sku=sku, qty=qty, **kw)).result)


def put_away_in_turn(wh: Warehouse, qty: int) -> list[tuple[str, int]]:
    """What the putaway station does with `qty` on the dock: a suggestion for what is left, the
    units it holds put into the held bin, until all is put away or no bin has room."""
    done: list[tuple[str, int]] = []
    left = qty
    while left:
        answer = hold(wh, left)
        if answer["location"] is None:
            assert answer["units"] == 0
            break
        into, units = answer["location"], answer["units"]
        assert 0 < units <= left
        ok(
            wh.run(
                Putaway,
                sku="WIDGET",
                qty=units,
                from_location="DOCK-1",
                to_location=into,
                suggested=into,
            )
        )
        done.append((into, units))
        left -= units
    return done


@pytest.mark.parametrize("limit", sorted(BINS_OF_150))
def test_no_bin_takes_all_so_the_answer_is_the_best_bin_and_how_many_fit(
    engine: Engine, ledger: SqlLedger, limit: str
) -> None:
    bins = BINS_OF_150[limit]
    wh = stow_warehouse(engine, ledger, [*bins, bin_spec("SMALL", "A", 9, units=40)])
    receive(wh, 400)

    outcome = ok(wh.run(HoldBin, sku="WIDGET", qty=400))

    held = outcome.result["location"]
    assert held in {b.code for b in bins}  # one of the roomiest, never SMALL
    assert outcome.result["units"] == 150
    assert outcome.message == f"{held} held for 150 of 400 x WIDGET: no bin has room for all 400"
    assert "room for 150 of the 400" in outcome.result["why"]
    assert set(outcome.result["also"]) <= {b.code for b in bins} | {"SMALL"}
    assert rooms(engine)[held].held == (150, 15_000, 7_500)  # room held for the 150 only
    assert hold_count(engine) == 1 and counter_drift(engine) == []

    # The goods that fit somewhere whole are held whole, as before.
    whole = ok(wh.run(HoldBin, sku="WIDGET", qty=40, station="ST-2"))
    assert whole.result["units"] == 40 and whole.message.endswith("held for 40 x WIDGET")


def test_400_go_into_bins_of_150_in_turn(engine: Engine, ledger: SqlLedger) -> None:
    wh = stow_warehouse(engine, ledger, BINS_OF_150["units"])
    receive(wh, 400)

    done = put_away_in_turn(wh, 400)

    assert sorted(units for _, units in done) == [100, 150, 150]
    assert len({into for into, _ in done}) == 3
    assert wh.on_hand("DOCK-1", "WIDGET") == 0
    assert {code: wh.on_hand(code, "WIDGET") for code, _ in done} == dict(done)
    assert hold_count(engine) == 0  # every hold became the goods it was for
    assert counter_drift(engine) == [] and wh.invariants().total == 0


def test_what_no_bin_has_room_for_stays_on_the_dock(engine: Engine, ledger: SqlLedger) -> None:
    wh = stow_warehouse(engine, ledger, BINS_OF_150["volume"][:2])
    receive(wh, 400)

    done = put_away_in_turn(wh, 400)

    assert [units for _, units in done] == [150, 150]
    assert wh.on_hand("DOCK-1", "WIDGET") == 100
    nothing = ok(wh.run(HoldBin, sku="WIDGET", qty=100))
    assert nothing.result == {"location": None, "why": None, "also": [], "units": 0}
    assert nothing.message == "no bin has room for 100 x WIDGET"
    assert hold_count(engine) == 0 and counter_drift(engine) == []


def test_a_split_never_suggests_a_deactivated_bin_or_mixes_lots(
    engine: Engine, ledger: SqlLedger
) -> None:
    bins = [
        bin_spec("HUGE", "A", 1),  # takes everything, but is deactivated
        bin_spec("OTHER-LOT", "A", 2, units=300),  # holds another lot of the milk
        bin_spec("M-1", "A", 3, units=120),
        bin_spec("M-2", "B", 4, units=90),
    ]
    wh = stow_warehouse(engine, ledger, bins)
    deactivate(engine, "HUGE")
    receive(wh, 1, sku="MILK", lot="L1", expiry=date(2031, 1, 1))
    ok(
        wh.run(
            Putaway, sku="MILK", qty=1, lot="L1", from_location="DOCK-1", to_location="OTHER-LOT"
        )
    )
    receive(wh, 250, sku="MILK", lot="L2", expiry=date(2031, 1, 1))

    first = hold(wh, 250, sku="MILK", lot="L2")
    assert (first["location"], first["units"]) == ("M-1", 120)
    assert set(first["also"]) == {"M-2"}
    second = hold(wh, 130, sku="MILK", lot="L2", station="ST-2")
    assert (second["location"], second["units"]) == ("M-2", 90)
    assert hold(wh, 40, sku="MILK", lot="L2", station="ST-3")["location"] is None
    assert rooms(engine)["HUGE"].held == (0, 0, 0)
    assert rooms(engine)["HUGE"].max == (UNLIMITED,) * 3
    assert counter_drift(engine) == []


def test_a_bin_on_hold_is_never_suggested_and_is_again_once_released(
    engine: Engine, ledger: SqlLedger
) -> None:
    """Goods put into a held bin could not be picked: neither a whole suggestion nor part of a
    split sends them there; lifting the hold makes the bin a suggestion again."""
    bins = [bin_spec("BIG", "A", 1, units=500), bin_spec("SMALL", "A", 2, units=100)]
    wh = stow_warehouse(engine, ledger, bins)
    ok(wh.run(Hold, location="BIG", reason="water damage"))
    receive(wh, 300)

    whole = hold(wh, 50)
    assert whole["location"] == "SMALL" and "BIG" not in whole["also"]
    part = hold(wh, 300, station="ST-2")
    assert (part["location"], part["units"]) == ("SMALL", 50)  # 50 of SMALL's 100 are held

    ok(
        wh.run(
            ReleaseHold,
            location="BIG",
            reason=ReleaseReason.INSPECTED_OK,
            approved_by="S1",
            approver_pin=SEED_PINS["S1"],
        )
    )
    assert hold(wh, 300, station="ST-3")["location"] == "BIG"
    assert counter_drift(engine) == []
