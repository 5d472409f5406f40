"""Barcodes with pack quantities on both databases (issue 12, point 3): a case GTIN, an old alias
of a supplier's EAN-13 and a content label (02)+(37) resolve to their SKU and pack through every
catalogue a scan meets (the SQL lookups of the command line, the station's replica) and through
the station's reads; then a station session receives and picks cases in units."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select

from app.adapters.db import catalogue as catalogue_rows
from app.adapters.db.catalogue_lookup import EngineCatalogue, open_catalogue
from app.adapters.db.replica_source import Source
from app.adapters.db.schema import BarcodeRow, SkuRow, table
from app.adapters.db.station_data import SqlStationData
from app.adapters.replica import Replica
from app.adapters.station_reads import ReplicaCatalogue
from app.bootstrap import open_station
from app.config import Settings
from app.domain.catalogue import OrderLineSpec
from app.domain.commands import Opening, OpeningLine
from app.domain.interpret import Catalogue, Interpretation, Kind, interpret
from app.domain.scan import Scan
from app.domain.scan import Source as ScanSource
from app.services.station import StationSession
from app.services.station_view import ScanState, StationView
from tests.support.session import scan
from tests.support.warehouse import Warehouse

EAN = "4006381333962"
"""A supplier's EAN-13 of MILK, kept as an alias of 13 digits (data from before GTINs were
normalised on import)."""
WIDGET_CASE = "10590123412349"
MILK_CASE = "14006381333969"
EXPIRY = f"{(date.today().year + 2) % 100:02d}1231"
"""A GS1 expiry (YYMMDD) two years ahead: well within any shelf life."""

BARCODES = [
    (WIDGET_CASE, "WIDGET", "gtin", 12),
    (EAN, "MILK", "alias", 1),
    (MILK_CASE, "MILK", "gtin", 6),
    ("WIDGET-BOX", "WIDGET", "alias", 24),
]


def add_barcodes(engine: Engine) -> None:
    """The rows as `perpetua import barcodes` or older imports leave them."""
    s, b = table(SkuRow), table(BarcodeRow)
    with engine.begin() as c:
        for code, sku, kind, pack in BARCODES:
            sku_id = c.execute(select(s.c.id).where(s.c.code == sku)).scalar_one()
            c.execute(insert(b).values(code=code, sku_id=sku_id, kind=kind, pack_qty=pack))


@pytest.fixture
def packed(warehouse: Warehouse) -> Warehouse:
    add_barcodes(warehouse.engine)
    return warehouse


@pytest.fixture
def replica(packed: Warehouse, tmp_path: Path) -> Iterator[Replica]:
    r = Replica(tmp_path / "replica.sqlite")
    r.refresh(Source(packed.engine), "ST-1")
    yield r
    r.close()


def meaning(text: str, catalogue: Catalogue) -> Interpretation:
    return interpret(Scan(text, ScanSource.WEDGE, "test"), catalogue)


def resolves(catalogue: Catalogue) -> None:
    """What every catalogue answers for the scans of this issue."""
    found = {
        text: (m.kind, m.sku, m.pack, m.count)
        for text in (
            WIDGET_CASE,
            "]E0" + WIDGET_CASE,
            "5901234123457",
            EAN,
            "]E0" + EAN,
            "0" + EAN,
            f"(01)0{EAN}(10)L1(17){EXPIRY}",
            f"(02)0{EAN}(37)06",
            f"(02)0{EAN}(37)06(10)L1(17){EXPIRY}",
            f"(02){MILK_CASE}(37)06(10)L1",
            f"(00)106141412345678908(02){WIDGET_CASE}(37)3",
            "WIDGET-BOX",
            "BOLT-ALIAS",
            "09506000134352",
        )
        for m in [meaning(text, catalogue)]
    }
    assert found == {
        WIDGET_CASE: (Kind.ITEM, "WIDGET", 12, None),
        "]E0" + WIDGET_CASE: (Kind.ITEM, "WIDGET", 12, None),
        "5901234123457": (Kind.ITEM, "WIDGET", 1, None),
        EAN: (Kind.ITEM, "MILK", 1, None),
        "]E0" + EAN: (Kind.ITEM, "MILK", 1, None),
        "0" + EAN: (Kind.ITEM, "MILK", 1, None),
        f"(01)0{EAN}(10)L1(17){EXPIRY}": (Kind.ITEM, "MILK", 1, None),
        f"(02)0{EAN}(37)06": (Kind.ITEM, "MILK", 1, 6),
        f"(02)0{EAN}(37)06(10)L1(17){EXPIRY}": (Kind.ITEM, "MILK", 1, 6),
        f"(02){MILK_CASE}(37)06(10)L1": (Kind.ITEM, "MILK", 6, 6),
        f"(00)106141412345678908(02){WIDGET_CASE}(37)3": (Kind.LPN, "WIDGET", 12, 3),
        "WIDGET-BOX": (Kind.ITEM, "WIDGET", 24, None),
        "BOLT-ALIAS": (Kind.ITEM, "BOLT", 1, None),
        "09506000134352": (Kind.ITEM, None, 1, None),
    }


def reads(data: SqlStationData | Replica) -> None:
    """The station's reads find the same SKUs for a GTIN (the fallback of resolve_item)."""
    widget, milk = data.sku_by_gtin(WIDGET_CASE), data.sku_by_gtin("0" + EAN)
    assert widget is not None and widget.code == "WIDGET"
    assert milk is not None and (milk.code, milk.gtin) == ("MILK", "0" + EAN)
    assert data.sku_by_gtin("09506000134352") is None
    assert data.sku_by_gtin("BOLT-ALIAS") is None  # an alias word is not a GTIN
    assert data.sku_by_gtin(EAN) is None  # a GTIN is asked for in 14 digits


def test_the_sql_catalogue_resolves_cases_old_aliases_and_content_labels(packed: Warehouse) -> None:
    with open_catalogue(packed.engine) as catalogue:
        resolves(catalogue)
        assert catalogue.gtin_sku(WIDGET_CASE) == "WIDGET"
        assert catalogue.gtin_sku(EAN) is None  # an alias, not a GTIN row
        assert catalogue.identify(EAN).alias_sku == "MILK"
        assert catalogue.identify("WIDGET-BOX").alias_pack == 24
    resolves(EngineCatalogue(packed.engine))


def test_the_replica_resolves_them_the_same(replica: Replica) -> None:
    resolves(ReplicaCatalogue(replica))
    assert replica.gtin_sku(WIDGET_CASE) == "WIDGET"
    assert replica.gtin_sku(EAN) is None
    assert replica.identify("WIDGET-BOX").alias_pack == 24
    found = replica.barcode(("0" + EAN, EAN))
    assert found is not None and (found.code, found.sku, found.kind) == (EAN, "MILK", "alias")


def test_the_station_reads_find_a_sku_by_any_form_of_its_gtin(
    packed: Warehouse, replica: Replica
) -> None:
    reads(SqlStationData(packed.engine))
    reads(replica)


# --- through a station session ----------------------------------------------------------------


@pytest.fixture
def session(packed: Warehouse, db_url: str, tmp_path: Path) -> Iterator[StationSession]:
    """ST-1's session, opened after the barcodes exist (its replica copies them at start)."""
    station = open_station(Settings(db_url, "test"), "ST-1", tmp_path / "outbox.sqlite")
    yield station
    station.close()


def accepted(session: StationSession, text: str) -> StationView:
    view = scan(session, text)
    assert view.scans[0].state not in (ScanState.REFUSED, ScanState.REJECTED), view.feedback
    return view


def test_a_dock_worker_receives_cases_and_content_labels_in_units(
    session: StationSession, packed: Warehouse
) -> None:
    accepted(session, "D1")
    accepted(session, "@CMD:MODE:RECEIVE")
    accepted(session, WIDGET_CASE)
    assert packed.on_hand("DOCK-1", "WIDGET") == 12
    accepted(session, "@CMD:QTY:2")
    accepted(session, WIDGET_CASE)
    assert packed.on_hand("DOCK-1", "WIDGET") == 36
    accepted(session, f"(02)0{EAN}(37)06(10)L1(17){EXPIRY}")  # 6 units on a content label
    assert packed.on_hand("DOCK-1", "MILK", "L1") == 6
    accepted(session, f"(02){MILK_CASE}(37)2(10)L1(17){EXPIRY}")  # 2 cases of 6
    assert packed.on_hand("DOCK-1", "MILK", "L1") == 18
    accepted(session, f"(01)0{EAN}(10)L1(17){EXPIRY}")  # the old alias, one unit
    assert packed.on_hand("DOCK-1", "MILK", "L1") == 19
    assert packed.invariants().total == 0


def test_a_picker_picks_a_line_of_24_with_two_case_scans(
    session: StationSession, packed: Warehouse
) -> None:
    outcome = packed.run(Opening, lines=(OpeningLine("WIDGET", "A-01-03", 30),))
    assert outcome.ok, outcome.message
    with packed.engine.begin() as c:
        catalogue_rows.add_orders(c, [OrderLineSpec("SO-7", 1, "WIDGET", 24)])
    accepted(session, "P1")
    accepted(session, "@CMD:MODE:PICK")
    for text in ("SO-7", "OUT-1", "A-01-03"):
        accepted(session, text)
    first = accepted(session, WIDGET_CASE)
    assert first.feedback is not None
    assert "Picked 12 x WIDGET (1 case of 12): 12 of 24 so far." in first.feedback.text
    accepted(session, "@CMD:QTY:2")
    over = scan(session, WIDGET_CASE)  # 2 cases: 12 + 24 > 24, refused, nothing picked
    assert over.feedback is not None and over.feedback.level.value == "error"
    assert "that is 24 x WIDGET (2 cases of 12), and only 12 more are needed" in over.feedback.text
    assert "put the cases back, and pick the 12 left as 1 case of 12." in over.feedback.text
    assert packed.on_hand("OUT-1", "WIDGET") == 0
    done = accepted(session, WIDGET_CASE)
    assert done.feedback is not None and "Pick list SO-7 complete" in done.feedback.text
    assert packed.on_hand("OUT-1", "WIDGET") == 24
    assert packed.on_hand("A-01-03", "WIDGET") == 6
    assert packed.invariants().total == 0
