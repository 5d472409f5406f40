"""A demo warehouse, generated from a seed: zones of bins along a pick path, SKUs with GTINs,
lots and look-alike groups, operators with badges, stations, opening stock, expected receipts and
open orders. The same seed always gives the same warehouse (its lots' expiry dates count from
the day it is made).
"""

from __future__ import annotations

import random
import string
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from biip.checksums import gs1_standard_check_digit

from app.domain.catalogue import (
    BarcodeSpec,
    LocationSpec,
    OperatorSpec,
    OrderLineSpec,
    ReceiptLineSpec,
    SkuSpec,
    StationSpec,
)
from app.domain.commands import OpeningLine, PostPick, Reserve, Ship
from app.domain.model import LocationKind, Role, Tracking
from app.domain.ports import UnitOfWorkFactory
from app.services.ledger import submit

ZONES = "ABCDEF"
LEVELS = "ABCD"
BAYS_PER_AISLE = 20
DEMO_STATION = "DEMO"
DEMO_OPERATOR = "S001"

OPERATORS = [
    OperatorSpec("D001", "Dana Dock", Role.DOCK),
    OperatorSpec("D002", "Dev Dock", Role.DOCK),
    OperatorSpec("P001", "Pat Picker", Role.PICKER),
    OperatorSpec("P002", "Pia Picker", Role.PICKER),
    OperatorSpec("C001", "Cam Counter", Role.COUNTER),
    OperatorSpec("S001", "Sue Supervisor", Role.SUPERVISOR, "123456"),
    OperatorSpec("S002", "Sid Supervisor", Role.SUPERVISOR, "567890"),
]

ADJECTIVES = [
    "Blue",
    "Red",
    "Steel",
    "Brass",
    "Large",
    "Small",
    "Matte",
    "Organic",
    "Spare",
    "Heavy",
]
NOUNS = [
    "widget",
    "bolt",
    "bracket",
    "hinge",
    "cable",
    "filter",
    "valve",
    "bearing",
    "gasket",
    "switch",
    "lamp",
    "tape",
    "glove",
    "bottle",
    "clamp",
]


@dataclass
class DemoPlan:
    locations: list[LocationSpec] = field(default_factory=list)
    skus: list[SkuSpec] = field(default_factory=list)
    operators: list[OperatorSpec] = field(default_factory=list)
    stations: list[StationSpec] = field(default_factory=list)
    opening: list[OpeningLine] = field(default_factory=list)
    receipts: list[ReceiptLineSpec] = field(default_factory=list)
    orders: list[OrderLineSpec] = field(default_factory=list)
    barcodes: list[BarcodeSpec] = field(default_factory=list)
    """Barcodes with a pack quantity (case GTINs), imported after the SKUs."""
    history: list[PastPick] = field(default_factory=list)
    """Picks of the last weeks, posted after the opening stock: the picked value that ranks the
    SKUs into ABC classes for cycle counting."""


@dataclass(frozen=True)
class PastPick:
    """A pick made `days_ago` days before the demo was made: reserved, picked and shipped."""

    order: str
    sku: str
    location: str
    qty: int
    lot: str | None
    days_ago: int


def demo_gtin(n: int) -> str:
    """A GTIN-13 in GS1's restricted-circulation range (prefix 2): it never clashes with goods."""
    payload = f"2{n:011d}"
    return f"0{payload}{gs1_standard_check_digit(payload)}"


def bin_specs(count: int, rng: random.Random) -> Iterator[LocationSpec]:
    """Bins zone by zone, aisle by aisle, numbered along a serpentine pick path."""
    per_zone = -(-count // len(ZONES))
    made = 0
    for zone in ZONES:
        for i in range(per_zone):
            if made == count:
                return
            aisle, rest = divmod(i, BAYS_PER_AISLE * len(LEVELS))
            bay, level = divmod(rest, len(LEVELS))
            if aisle % 2:  # walk back down odd aisles
                bay = BAYS_PER_AISLE - 1 - bay
            made += 1
            yield LocationSpec(
                code=f"{zone}-{aisle + 1:02d}-{bay + 1:02d}-{LEVELS[level]}",
                kind=LocationKind.BIN,
                zone=zone,
                aisle=f"{aisle + 1:02d}",
                bay=f"{bay + 1:02d}",
                level=LEVELS[level],
                pick_sequence=made,
                max_units=rng.choice((50, 100, 200, 500)),
                max_volume_cm3=rng.choice((60_000, 120_000, 250_000, 500_000)),
                max_weight_g=rng.choice((25_000, 50_000, 100_000)),
            )


def fixed_locations() -> list[LocationSpec]:
    fixed = [LocationSpec(f"DOCK-{i}", LocationKind.DOCK, zone=ZONES[i - 1]) for i in range(1, 5)]
    fixed += [
        LocationSpec("QUAR-1", LocationKind.QUARANTINE),
        LocationSpec("RET-1", LocationKind.RETURNS),
        LocationSpec("STAGE-1", LocationKind.STAGING),
    ]
    fixed += [LocationSpec(f"OUT-{i}", LocationKind.OUTBOUND) for i in range(1, 5)]
    return fixed


PRICES_CENTS = (25, 50, 80, 120, 150, 240, 399, 650, 990, 1_490, 2_500, 4_900, 12_000, 45_000)
"""Unit values of the demo's SKUs: many cheap, a few dear, as in a real catalogue, so that the
picked value ranks SKUs into A, B and C (domain/cycle_counts.py)."""


def demo_value(n: int) -> int:
    """SKU n's unit value: fixed by n (the seed's random draws stay what they were), cheap ones
    far more often than dear ones."""
    k = (n * 7919) % 101  # spread over 0..100 by a prime step
    return PRICES_CENTS[len(PRICES_CENTS) * k * k // 101**2]


def sku_specs(count: int, rng: random.Random) -> Iterator[SkuSpec]:
    for n in range(1, count + 1):
        roll = rng.random()
        tracking = Tracking.SERIAL if roll < 0.05 else Tracking.LOT if roll < 0.2 else Tracking.NONE
        noun = rng.choice(NOUNS)
        size = rng.choice((4, 5, 6, 8, 10, 12))
        # Neighbouring sizes of one noun look alike on the shelf: group every ~10th pair.
        group = f"{noun}-{n // 20}" if n % 10 in (1, 2) else None
        yield SkuSpec(
            code=f"SKU-{n:06d}",
            name=f"{rng.choice(ADJECTIVES)} {noun} {size} mm",
            unit_volume_cm3=rng.choice((10, 50, 120, 400, 1_000, 2_500)),
            unit_weight_g=rng.choice((5, 20, 80, 250, 900, 2_000)),
            tracking=tracking,
            lookalike_group=group,
            reorder_point=rng.choice((0, 10, 20, 50)),
            lead_time_days=rng.choice((2, 5, 10)),
            # The SKU code is also an alias barcode, as on an internal shelf label: a first-time
            # user without printed GTINs can type it at the station.
            barcodes=((demo_gtin(n), "gtin"), (f"SKU-{n:06d}", "alias")),
            unit_value_cents=demo_value(n),
        )


FRESH_DAYS = 90
"""The demo's lots expire from this many days after the day it is made: a demo made any day
holds no expired or short-dated stock (so its orders can be picked), whatever the date."""


def _lot(rng: random.Random) -> tuple[str, date]:
    code = "L" + "".join(rng.choices(string.ascii_uppercase + string.digits, k=6))
    return code, date.today() + timedelta(days=FRESH_DAYS + rng.randrange(0, 540))


def _limits(location: LocationSpec) -> tuple[int, int, int]:
    big = 10**9
    return (
        location.max_units or big,
        location.max_volume_cm3 or big,
        location.max_weight_g or big,
    )


CHAIR = "CHAIR"
MILK = "MILK"


def walkthrough_skus() -> tuple[list[SkuSpec], list[BarcodeSpec]]:
    """Two items for the README's first shift, added after the generated ones (so the generated
    warehouse stays what the seed makes): a bulky chair sold by the case of 12, which no bin takes
    twelve of, and a lot-tracked oat milk that must have 30 days of shelf life left."""
    chair = SkuSpec(
        code=CHAIR,
        name="Office chair, boxed",
        unit_volume_cm3=50_000,
        unit_weight_g=2_000,
        barcodes=((demo_gtin(900_001), "gtin"), (CHAIR, "alias")),
    )
    milk = SkuSpec(
        code=MILK,
        name="Oat milk 1 l",
        unit_volume_cm3=1_100,
        unit_weight_g=1_050,
        tracking=Tracking.LOT,
        barcodes=((demo_gtin(900_003), "gtin"), (MILK, "alias")),
        min_shelf_days=30,
    )
    cases = [
        BarcodeSpec(CHAIR, demo_gtin(900_002), "gtin", 12),
        BarcodeSpec(CHAIR, "CHAIR-CASE", "alias", 12),
    ]
    return [chair, milk], cases


def build_demo(bins: int, skus: int, seed: int) -> DemoPlan:
    rng = random.Random(seed)
    plan = DemoPlan(
        locations=fixed_locations() + list(bin_specs(bins, rng)),
        skus=list(sku_specs(skus, rng)),
        operators=list(OPERATORS),
        stations=[StationSpec(DEMO_STATION, "Demo loader", None, None)]
        + [
            StationSpec(f"ST-{i}", f"Dock station {i}", ZONES[i - 1], f"DOCK-{i}")
            for i in range(1, 5)
        ],
    )
    bin_list = [loc for loc in plan.locations if loc.kind is LocationKind.BIN]
    stocked = [s for s in plan.skus if s.tracking is not Tracking.SERIAL]
    # About a third of the bins hold stock at the start, so there is room to put goods away.
    # Opening stock fills at most a quarter of a bin and never more than the bin can take.
    room = {loc.code: _limits(loc) for loc in bin_list}
    for sku in stocked[: max(1, len(stocked) * 2 // 3)]:
        lot, expiry = _lot(rng) if sku.tracking is Tracking.LOT else (None, None)
        for location in rng.sample(bin_list, k=min(len(bin_list), rng.randint(1, 3))):
            units, volume, weight = room[location.code]
            fits = min(
                units // 4,
                volume // 4 // max(sku.unit_volume_cm3, 1),
                weight // 4 // max(sku.unit_weight_g, 1),
            )
            if fits < 1:
                continue
            qty = rng.randint(1, fits)
            room[location.code] = (
                units - qty,
                volume - qty * sku.unit_volume_cm3,
                weight - qty * sku.unit_weight_g,
            )
            plan.opening.append(OpeningLine(sku.code, location.code, qty, lot, expiry))
    for r in range(1, max(3, skus // 25) + 1):
        for line, sku in enumerate(
            rng.sample(plan.skus, k=min(len(plan.skus), rng.randint(1, 5))), 1
        ):
            lot, expiry = _lot(rng) if sku.tracking is Tracking.LOT else (None, None)
            plan.receipts.append(
                ReceiptLineSpec(f"ASN-{r:05d}", line, sku.code, rng.randint(5, 60), lot, expiry)
            )
    with_stock = sorted({line.sku for line in plan.opening})
    for o in range(1, max(3, skus // 25) + 1):
        for line, code in enumerate(
            rng.sample(with_stock, k=min(len(with_stock), rng.randint(1, 4))), 1
        ):
            plan.orders.append(OrderLineSpec(f"SO-{o:05d}", line, code, rng.randint(1, 5)))
    plan.history = past_picks(plan, rng)
    extra, plan.barcodes = walkthrough_skus()
    plan.skus += extra
    return plan


HISTORY_DAYS = 60
HISTORY_PICKS = 80
"""At most this many past picks (a large demo gets no more than a small one)."""


def past_picks(plan: DemoPlan, rng: random.Random) -> list[PastPick]:
    """Picks from a third of the stocked bins over the last HISTORY_DAYS days, each taking at
    most a third of the bin, never of an item an open order wants (its order stays pickable),
    never emptying a bin."""
    ordered = {line.sku for line in plan.orders}
    lines = [o for o in plan.opening if o.sku not in ordered and o.qty >= 3]
    chosen = rng.sample(lines, k=min(HISTORY_PICKS, len(lines) // 3))
    return [
        PastPick(f"HIST-{n:05d}", o.sku, o.location, rng.randint(1, o.qty // 3), o.lot, days)
        for n, o in enumerate(chosen, 1)
        for days in (rng.randint(1, HISTORY_DAYS),)
    ]


HISTORY_OUTBOUND = "OUT-1"
HISTORY_PICKER = "P001"
HISTORY_SHIPPER = "D001"


def load_history(picks: Sequence[PastPick], ledger: UnitOfWorkFactory) -> None:
    """Post the past picks through the ledger, dated on their days: reserve, pick to the
    outbound lane, ship. Raises ValueError with the ledger's message if one is refused."""
    now = datetime.now(UTC)
    for p in picks:
        when = now - timedelta(days=p.days_ago)
        envelope: dict[str, Any] = {
            "station": DEMO_STATION,
            "operator": HISTORY_PICKER,
            "station_time": when,
        }
        reserved = submit(
            Reserve(
                tx_id=uuid.uuid4(),
                order=p.order,
                line=1,
                sku=p.sku,
                qty=p.qty,
                location=p.location,
                lot=p.lot,
                **envelope,
            ),
            ledger,
        )
        steps = [reserved]
        if reserved.ok:
            rid = reserved.result["lines"][0]["reservation"]
            steps.append(
                submit(
                    PostPick(
                        tx_id=uuid.uuid4(),
                        reservation=rid,
                        qty=p.qty,
                        to_location=HISTORY_OUTBOUND,
                        **envelope,
                    ),
                    ledger,
                )
            )
        if steps[-1].ok:
            steps.append(
                submit(
                    Ship(
                        tx_id=uuid.uuid4(),
                        sku=p.sku,
                        qty=p.qty,
                        lot=p.lot,
                        from_location=HISTORY_OUTBOUND,
                        order=p.order,
                        **(envelope | {"operator": HISTORY_SHIPPER}),
                    ),
                    ledger,
                )
            )
        if not steps[-1].ok:
            raise ValueError(f"past pick {p.order} refused: {steps[-1].message}")
