"""A small warehouse seeded for tests, and a command factory that fills in the envelope."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, select, update

from app.adapters.db import catalogue
from app.adapters.db.schema import OperatorRow, QuantRow, table
from app.adapters.db.uow import SqlLedger
from app.domain.catalogue import LocationSpec, OperatorSpec, SkuSpec, StationSpec
from app.domain.commands import Command
from app.domain.ledger import InvariantReport, Outcome
from app.domain.model import LocationKind, Role, Tracking
from app.domain.rules import ROLES_BY_KIND
from app.services.ledger import submit

SKUS = [
    SkuSpec("WIDGET", "Blue widget", 100, 50, barcodes=(("05901234123457", "gtin"),)),
    SkuSpec("BOLT", "Hex bolt M8", 5, 10, barcodes=(("BOLT-ALIAS", "alias"),)),
    SkuSpec("MILK", "Milk 1 l", 1000, 1030, Tracking.LOT),
    SkuSpec("PHONE", "Phone X", 300, 200, Tracking.SERIAL),
    SkuSpec("SCREW-4", "Screw 4 mm", 1, 2, lookalike_group="screws"),
    SkuSpec("SCREW-5", "Screw 5 mm", 1, 2, lookalike_group="screws"),
]
BINS = ["A-01-01", "A-01-02", "A-01-03", "A-02-01", "B-01-01", "B-01-02"]
LOCATIONS = [
    LocationSpec("DOCK-1", LocationKind.DOCK, zone="A"),
    LocationSpec("DOCK-2", LocationKind.DOCK, zone="B"),
    LocationSpec("QUAR-1", LocationKind.QUARANTINE),
    LocationSpec("RET-1", LocationKind.RETURNS),
    LocationSpec("STAGE-1", LocationKind.STAGING),
    LocationSpec("OUT-1", LocationKind.OUTBOUND),
    *(
        LocationSpec(code, LocationKind.BIN, zone=code[0], aisle=code[2:4], pick_sequence=i + 1)
        for i, code in enumerate(BINS)
    ),
    LocationSpec("BLOCKED", LocationKind.BIN, zone="A", pick_sequence=99),
]
OPERATORS = [
    OperatorSpec("D1", "Dana Dock", Role.DOCK),
    OperatorSpec("P1", "Pat Picker", Role.PICKER),
    OperatorSpec("C1", "Cam Counter", Role.COUNTER),
    OperatorSpec("S1", "Sue Supervisor", Role.SUPERVISOR, "123456"),
    OperatorSpec("S2", "Sid Supervisor", Role.SUPERVISOR, "567890"),
    OperatorSpec("GONE", "Former Worker", Role.DOCK),
]
STATIONS = [
    StationSpec("ST-1", "Dock 1", "A", "DOCK-1"),
    StationSpec("ST-2", "Dock 2", "B", "DOCK-2"),
]


def seed(engine: Engine) -> None:
    from app.adapters.db.schema import LocationRow

    with engine.begin() as c:
        catalogue.add_skus(c, SKUS)
        catalogue.add_locations(c, LOCATIONS)
        catalogue.add_operators(c, OPERATORS)
        catalogue.add_stations(c, STATIONS)
        t = table(LocationRow)
        c.execute(update(t).where(t.c.code == "BLOCKED").values(active=False))
        o = table(OperatorRow)
        c.execute(update(o).where(o.c.badge == "GONE").values(active=False))


SEED_PINS = {"S1": "123456", "S2": "567890"}


def _operator_for(cls: type[Command]) -> str:
    for badge, role in (("D1", Role.DOCK), ("P1", Role.PICKER), ("C1", Role.COUNTER)):
        if role in ROLES_BY_KIND[cls.kind]:
            return badge
    return "S1"


@dataclass
class Warehouse:
    """Submit commands as a given station and operator; read balances back."""

    engine: Engine
    ledger: SqlLedger
    station: str = "ST-1"
    operator: str | None = None
    """Who sends commands without an operator (None: one whose role may, see `command`)."""

    def command(self, cls: type[Command], **fields: Any) -> Any:
        """A command of `cls`. Without an operator: the seeded operator whose role may make it
        (D1, P1, C1, else S1), as a station would be used; an approval by a seeded supervisor
        carries their PIN unless the test gives one."""
        fields.setdefault("tx_id", uuid.uuid4())
        fields.setdefault("station", self.station)
        fields.setdefault("operator", self.operator or _operator_for(cls))
        approver = fields.get("approved_by") or fields.get("takeover_by")
        if approver in SEED_PINS:
            fields.setdefault("approver_pin", SEED_PINS[approver])
        return cls(**fields)

    def run(self, cls: type[Command], **fields: Any) -> Outcome:
        return submit(self.command(cls, **fields), self.ledger)

    def on_hand(self, location: str, sku: str, lot: str | None = None) -> int:
        return self._quant(location, sku, lot)[0]

    def reserved(self, location: str, sku: str, lot: str | None = None) -> int:
        return self._quant(location, sku, lot)[1]

    def _quant(self, location: str, sku: str, lot: str | None) -> tuple[int, int]:
        from app.adapters.db.schema import LocationRow, LotRow, SkuRow

        q, loc, s, lt = (
            table(QuantRow),
            table(LocationRow),
            table(SkuRow),
            table(LotRow),
        )
        stmt = (
            select(
                func.coalesce(func.sum(q.c.on_hand), 0), func.coalesce(func.sum(q.c.reserved), 0)
            )
            .select_from(
                q.join(loc, loc.c.id == q.c.location_id)
                .join(s, s.c.id == q.c.sku_id)
                .join(lt, lt.c.id == q.c.lot_id)
            )
            .where(loc.c.code == location, s.c.code == sku)
        )
        if lot is not None:
            stmt = stmt.where(lt.c.code == lot)
        with self.engine.connect() as c:
            on_hand, reserved = c.execute(stmt).one()
        return int(on_hand), int(reserved)

    def invariants(self) -> InvariantReport:
        with self.ledger.reader() as uow:
            return uow.store.invariant_report()
