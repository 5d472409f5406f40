"""The SQL catalogue behind scan interpretation, on both databases: what it finds, what hostile text
does to it (nothing), and that a label added while a station runs is recognised at once."""

from __future__ import annotations

from sqlalchemy import insert

from app.adapters.db.catalogue_lookup import open_catalogue
from app.adapters.db.schema import LocationRow, table
from app.domain.interpret import CodeMatch, Kind, interpret
from app.domain.scan import Scan, Source
from tests.support.warehouse import Warehouse


def test_badges_locations_aliases_and_gtins(warehouse: Warehouse) -> None:
    with open_catalogue(warehouse.engine) as catalogue:
        assert catalogue.identify("D1") == CodeMatch(badge=True)
        assert catalogue.identify("GONE") == CodeMatch(badge=True)  # the login refuses it
        assert catalogue.identify("A-01-01") == CodeMatch(location=True)
        assert catalogue.identify("BLOCKED") == CodeMatch(location=True)  # putaway refuses it
        assert catalogue.identify("BOLT-ALIAS") == CodeMatch(alias_sku="BOLT")
        assert catalogue.identify("VENDOR") == CodeMatch()  # virtual: not a label
        assert catalogue.identify("a-01-01") == CodeMatch()  # exact, case and all
        assert catalogue.identify("05901234123457") == CodeMatch()  # a GTIN, not an alias
        assert catalogue.gtin_sku("05901234123457") == "WIDGET"
        assert catalogue.gtin_sku("09506000134352") is None
        assert catalogue.gtin_sku("BOLT-ALIAS") is None


def test_hostile_text_finds_nothing_and_breaks_nothing(warehouse: Warehouse) -> None:
    hostile = [
        "'; DROP TABLE skus; --",
        "A-01-01' OR '1'='1",
        "D1\x00",
        "A\udcff",
        "X" * 65,
        "",
        "%",
        "\\",
    ]
    with open_catalogue(warehouse.engine) as catalogue:
        for code in hostile:
            assert catalogue.identify(code) == CodeMatch()
            assert catalogue.gtin_sku(code) is None
        assert catalogue.identify("D1") == CodeMatch(badge=True)  # the connection still works
    assert warehouse.invariants().total == 0
    with warehouse.engine.connect() as c:
        assert c.exec_driver_sql("SELECT count(*) FROM skus").scalar_one() == 6


def test_a_label_added_while_the_station_runs_is_recognised(warehouse: Warehouse) -> None:
    with open_catalogue(warehouse.engine) as catalogue:
        new = Scan("C-09-09", Source.WEDGE)
        assert interpret(new, catalogue).kind is Kind.INVALID
        with warehouse.engine.begin() as c:  # another station's write is not blocked
            c.execute(insert(table(LocationRow)).values(code="C-09-09", kind="bin", active=True))
        assert interpret(new, catalogue).kind is Kind.LOCATION
