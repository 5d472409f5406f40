"""The migrations build exactly the schema the code is written against, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select

from app.adapters.db import migrate
from app.adapters.db.engine import make_engine
from app.adapters.db.schema import Base, LocationRow, LotRow, table


def test_migrated_schema_matches_the_models(db_url: str) -> None:
    engine = make_engine(db_url)
    with engine.connect() as c:
        diff = compare_metadata(MigrationContext.configure(c), Base.metadata)
    engine.dispose()
    assert diff == []


def test_migrations_seed_the_virtual_locations_and_no_lot(db_url: str) -> None:
    engine = make_engine(db_url)
    with engine.connect() as c:
        t = table(LocationRow)
        virtual = set(c.execute(select(t.c.code).where(t.c.kind == "virtual")).scalars())
        no_lot = c.execute(select(table(LotRow).c.code).where(table(LotRow).c.id == 0)).scalar()
    assert virtual == {"VENDOR", "CUSTOMER", "ADJUSTMENT", "SCRAP"}
    assert no_lot == ""
    assert migrate.is_current(engine)
    engine.dispose()


def test_downgrade_and_upgrade_again(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate.downgrade(engine, "base")
    assert "moves" not in inspect(engine).get_table_names()
    migrate.upgrade(engine)
    assert "moves" in inspect(engine).get_table_names()
    engine.dispose()
