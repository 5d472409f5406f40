"""What the database itself enforces, and how failures are retried with the same id."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import exc, text

from app.adapters.db.uow import SqlLedger, SqlUnitOfWork
from app.domain.commands import Receive
from app.domain.ports import DatabaseUnavailable, TransientDatabaseError
from app.services.ledger import submit
from app.services.retry import RetryPolicy
from tests.support.warehouse import Warehouse


class FlakyLedger:
    """A unit-of-work factory whose first `failures` commits are lost after the COMMIT went
    through (the hardest case: the station never hears the answer)."""

    def __init__(self, ledger: SqlLedger, failures: int) -> None:
        self.ledger = ledger
        self.failures = failures
        self.attempts = 0

    def __call__(self) -> SqlUnitOfWork:
        uow = self.ledger()
        self.attempts += 1
        if self.attempts <= self.failures:
            real_commit = uow.commit

            def commit_then_lose_reply() -> None:
                real_commit()
                raise TransientDatabaseError("connection lost after COMMIT")

            uow.commit = commit_then_lose_reply  # type: ignore[method-assign]
        return uow


def test_a_reply_lost_after_commit_is_retried_with_the_same_id(warehouse: Warehouse) -> None:
    flaky = FlakyLedger(warehouse.ledger, failures=2)
    command = warehouse.command(Receive, sku="WIDGET", qty=5, to_location="DOCK-1")
    outcome = submit(command, flaky, RetryPolicy(sleep=lambda s: None))
    assert flaky.attempts == 3
    assert outcome.ok and outcome.replayed  # the third attempt found the first one's result
    assert warehouse.on_hand("DOCK-1", "WIDGET") == 5


def test_retries_are_bounded(warehouse: Warehouse) -> None:
    flaky = FlakyLedger(warehouse.ledger, failures=100)
    delays: list[float] = []
    policy = RetryPolicy(attempts=4, sleep=delays.append)
    command = warehouse.command(Receive, sku="WIDGET", qty=5, to_location="DOCK-1")
    with pytest.raises(DatabaseUnavailable, match="after 4 attempts"):
        submit(command, flaky, policy)
    assert flaky.attempts == 4 and len(delays) == 3
    assert all(0 <= d <= policy.max_delay_s for d in delays)
    assert warehouse.on_hand("DOCK-1", "WIDGET") == 5  # applied once, never twice


def test_an_unreachable_database_is_an_outage_not_a_crash(tmp_path: Any) -> None:
    from app.adapters.db.engine import make_engine

    engine = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/none")
    ledger = SqlLedger(engine)
    ledger._virtual_ids = frozenset()  # skip the lookup: there is no server to ask
    command = Receive(
        tx_id=uuid.uuid4(), station="ST-1", operator="D1", sku="X", qty=1, to_location="D"
    )
    with pytest.raises(DatabaseUnavailable):
        submit(command, ledger, RetryPolicy(attempts=2, sleep=lambda s: None))
    engine.dispose()


@pytest.fixture
def pg_warehouse(postgres_url: str) -> Any:
    from app.adapters.db.engine import make_engine
    from tests.support.warehouse import seed

    engine = make_engine(postgres_url)
    seed(engine)
    yield Warehouse(engine, SqlLedger(engine))
    engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE moves SET qty = qty + 1",
        "DELETE FROM moves",
        "TRUNCATE moves CASCADE",
        "UPDATE transactions SET status = 'refused'",
        "DELETE FROM transactions",
        "TRUNCATE transactions CASCADE",
    ],
)
def test_the_ledger_is_append_only_on_postgres(pg_warehouse: Warehouse, statement: str) -> None:
    """RELIABILITY.md T11: every UPDATE, DELETE and TRUNCATE of the ledger is refused."""
    assert pg_warehouse.run(Receive, sku="WIDGET", qty=5, to_location="DOCK-1").ok
    with pytest.raises(exc.DBAPIError, match="append-only"), pg_warehouse.engine.begin() as c:
        c.execute(text(statement))
    assert pg_warehouse.on_hand("DOCK-1", "WIDGET") == 5


@pytest.mark.postgres
def test_negative_stock_is_refused_by_a_check_constraint(pg_warehouse: Warehouse) -> None:
    assert pg_warehouse.run(Receive, sku="WIDGET", qty=5, to_location="DOCK-1").ok
    with (
        pytest.raises(exc.IntegrityError, match="on_hand_not_negative"),
        pg_warehouse.engine.begin() as c,
    ):
        c.execute(text("UPDATE quants SET on_hand = -1 WHERE NOT is_virtual"))
    with (
        pytest.raises(exc.IntegrityError, match="reserved_within_on_hand"),
        pg_warehouse.engine.begin() as c,
    ):
        c.execute(text("UPDATE quants SET reserved = on_hand + 1 WHERE NOT is_virtual"))


def test_sqlite_is_in_wal_mode_with_full_sync(sqlite_url: str) -> None:
    from app.adapters.db.engine import make_engine

    engine = make_engine(sqlite_url)
    with engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert c.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()
