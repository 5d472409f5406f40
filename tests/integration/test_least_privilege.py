"""T11 (RELIABILITY.md): least privilege for stations, append-only history on both databases.

As the stations' role made by `perpetua db create-app-role` on the real PostgreSQL, every
statement that would rewrite history, change what only the ledger may change, read a PIN
verifier or change the schema is refused, while what a station does (receive, put away, pick,
refresh its replica, check a supervisor's PIN) still works. As the owner, on SQLite and
PostgreSQL, triggers refuse UPDATE and DELETE (and TRUNCATE) of the history with a message that
says what to do instead.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, exc, text
from sqlalchemy.engine import make_url

from app.adapters.db import app_role, authority, catalogue
from app.adapters.db.engine import make_engine
from app.adapters.db.replica_source import Source
from app.adapters.db.uow import SqlLedger
from app.adapters.replica import Replica
from app.cli import APP_ROLE_PASSWORD_ENV, main
from app.domain.catalogue import OrderLineSpec
from app.domain.commands import CountLine, PostPick, Putaway, Receive, SaveCount, TakeList
from app.domain.rules import PinStatus
from tests.support.databases import PgServer
from tests.support.warehouse import Warehouse, seed

DENIED = "42501"
"""SQLSTATE insufficient_privilege: PostgreSQL's answer to everything refused below."""


@dataclass
class Stations:
    """A seeded database, its owner's engine, and an engine connected as the stations' role."""

    role: str
    url: str
    owner: Warehouse
    app: Warehouse


def _role_name(pg_server: PgServer, request: pytest.FixtureRequest) -> str:
    return f"perpetua_t11_{pg_server.run_tag}_{abs(hash(request.node.nodeid)) % 10**8}"


def _drop_role(owner: Engine, role: str) -> None:
    """DROP OWNED revokes the role's grants in this database and on it (CONNECT)."""
    with owner.begin() as c:
        c.exec_driver_sql(f"DROP OWNED BY {role}")
        c.exec_driver_sql(f"DROP ROLE {role}")


@pytest.fixture
def stations(
    pg_server: PgServer, postgres_url: str, request: pytest.FixtureRequest
) -> Iterator[Stations]:
    role = _role_name(pg_server, request)
    owner = make_engine(postgres_url)
    seed(owner)
    with owner.begin() as c:
        app_role.apply(c, role)
    url = make_url(postgres_url).set(username=role).render_as_string(hide_password=False)
    app = make_engine(url)
    try:
        yield Stations(
            role, url, Warehouse(owner, SqlLedger(owner)), Warehouse(app, SqlLedger(app))
        )
    finally:
        app.dispose()
        _drop_role(owner, role)
        owner.dispose()


def refused_as(engine: Engine, statement: str) -> str:
    """The message PostgreSQL refuses `statement` with, after checking it was a refusal of
    privilege (not a typo in the statement or a constraint)."""
    with pytest.raises(exc.DBAPIError) as caught, engine.begin() as c:
        c.execute(text(statement))
    assert getattr(caught.value.orig, "sqlstate", None) == DENIED, caught.value
    return str(caught.value.orig).splitlines()[0]


FORBIDDEN = [
    # Balances: the columns the ledger never writes (the key, and the flag that lifts the
    # non-negative check). on_hand and reserved stay writable: see app_role.GRANTS.
    ("UPDATE quants SET is_virtual = true", "permission denied for table quants"),
    ("UPDATE quants SET location_id = location_id", "permission denied for table quants"),
    ("DELETE FROM quants", "permission denied for table quants"),
    # Who may do what.
    (
        "UPDATE operators SET role = 'supervisor' WHERE badge = 'P1'",
        "permission denied for table operators",
    ),
    (
        "INSERT INTO operators (badge, name, role, active) "
        "VALUES ('M1', 'Mallory', 'supervisor', true)",
        "permission denied for table operators",
    ),
    (
        "UPDATE warehouse_policy SET value = 100 WHERE key = 'count_percent'",
        "permission denied for table warehouse_policy",
    ),
    ("UPDATE skus SET active = false", "permission denied for table skus"),
    ("UPDATE bin_space SET max_units = 1000000", "permission denied for table bin_space"),
    # The history.
    ("ALTER TABLE moves DISABLE TRIGGER moves_append_only", "must be owner of table moves"),
    ("ALTER TABLE transactions DISABLE TRIGGER ALL", "must be owner of table transactions"),
    ("DELETE FROM moves", "permission denied for table moves"),
    ("UPDATE moves SET qty = qty + 1", "permission denied for table moves"),
    ("UPDATE transactions SET status = 'refused'", "permission denied for table transactions"),
    ("DELETE FROM transactions", "permission denied for table transactions"),
    ("TRUNCATE moves", "permission denied for table moves"),
    ("TRUNCATE transactions CASCADE", "permission denied for table transactions"),
    (
        "UPDATE order_events SET note = 'nothing happened'",
        "permission denied for table order_events",
    ),
    # DDL, ownership, other roles.
    ("CREATE TABLE shadow (id integer)", "permission denied for schema public"),
    (
        "CREATE FUNCTION perpetua_mine() RETURNS integer LANGUAGE sql AS 'SELECT 1'",
        "permission denied for schema public",
    ),
    ("CREATE SCHEMA shadow", "permission denied for database"),
    ("DROP TABLE moves", "must be owner of table moves"),
    ("ALTER TABLE quants DROP CONSTRAINT ck_quants_on_hand_not_negative", "must be owner"),
    ("SET ROLE postgres", 'permission denied to set role "postgres"'),
    # PIN verifiers: only through perpetua_check_pin and perpetua_offline_verifiers.
    ("SELECT * FROM operator_pins", "permission denied for table operator_pins"),
    ("SELECT online_hash FROM operator_pins", "permission denied for table operator_pins"),
    ("UPDATE operator_pins SET failures = 0", "permission denied for table operator_pins"),
]


@pytest.mark.postgres
@pytest.mark.parametrize(("statement", "message"), FORBIDDEN, ids=[s for s, _ in FORBIDDEN])
def test_the_stations_role_is_refused(stations: Stations, statement: str, message: str) -> None:
    assert stations.app.run(Receive, sku="WIDGET", qty=5, to_location="DOCK-1").ok
    assert message in refused_as(stations.app.engine, statement)
    assert stations.owner.on_hand("DOCK-1", "WIDGET") == 5
    assert stations.owner.invariants().total == 0


@pytest.mark.postgres
def test_a_station_works_as_the_stations_role(stations: Stations, tmp_path: Path) -> None:
    """What stations do, through the services, connected as the role: nothing more is needed."""
    app = stations.app
    with stations.owner.engine.begin() as c:  # reference data comes from the owner's imports
        catalogue.add_orders(c, [OrderLineSpec("SO-1", 1, "WIDGET", 3)])
    received = app.run(Receive, sku="WIDGET", qty=10, to_location="DOCK-1")
    assert received.ok, received.message
    stored = app.run(Putaway, sku="WIDGET", qty=10, from_location="DOCK-1", to_location="A-01-01")
    assert stored.ok, stored.message
    taken = app.run(TakeList, order="SO-1", operator="P1")
    assert taken.ok, taken.message
    (line,) = taken.result["lines"]
    (reservation,) = line["reservations"]
    picked = app.run(
        PostPick,
        reservation=reservation["reservation"],
        qty=3,
        to_location="OUT-1",
        operator="P1",
    )
    assert picked.ok, picked.message
    assert (app.on_hand("A-01-01", "WIDGET"), app.on_hand("OUT-1", "WIDGET")) == (7, 3)
    counted = app.run(
        SaveCount,
        location="A-01-01",
        state="done",
        counter="C1",
        counts=(CountLine("WIDGET", 7),),
        snapshot=(CountLine("WIDGET", 7),),
    )
    assert counted.ok, counted.message

    with app.engine.begin() as c:  # the online check, through perpetua_check_pin
        assert authority.check_pin(c, "S1", "123456").status is PinStatus.OK
    replica = Replica(tmp_path / "replica.sqlite")
    try:
        replica.refresh(Source(app.engine), "ST-1")
        assert replica.ready
        assert replica.location_kind("A-01-01") == "bin"
        assert replica.check_pin("S1", "123456").ok  # offline verifier via the function
    finally:
        replica.close()
    assert app.invariants().total == 0


@pytest.mark.postgres
def test_the_role_owns_nothing_creates_nothing_and_every_table_is_decided(
    stations: Stations,
) -> None:
    with stations.owner.engine.begin() as c:
        report = app_role.apply(c, stations.role)  # again: idempotent
        powers = c.execute(
            text(
                "SELECT rolsuper OR rolcreatedb OR rolcreaterole OR rolreplication "
                "OR rolbypassrls FROM pg_roles WHERE rolname = :r"
            ),
            {"r": stations.role},
        ).scalar_one()
        owned = c.execute(
            text(
                "SELECT count(*) FROM pg_class WHERE relowner = to_regrole(:r) "
                "UNION ALL SELECT count(*) FROM pg_proc WHERE proowner = to_regrole(:r)"
            ),
            {"r": stations.role},
        ).scalars()
        creates = c.execute(
            text(
                "SELECT has_schema_privilege(:r, 'public', 'CREATE') "
                "OR has_database_privilege(:r, current_database(), 'CREATE')"
            ),
            {"r": stations.role},
        ).scalar_one()
    assert not report.created
    assert not powers and list(owned) == [0, 0] and not creates
    # A table added by a migration must be given a row in app_role.GRANTS (or NO_ACCESS).
    assert report.unlisted == [] and report.missing == []
    assert {"perpetua_check_pin(text,text)", "perpetua_offline_verifiers(bigint)"} <= set(
        report.functions
    )


@pytest.mark.postgres
def test_a_second_run_takes_back_what_the_grants_no_longer_list(
    stations: Stations, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Re-running after a change of GRANTS (or a migration) converges on the new list."""
    app = stations.app.engine
    with app.begin() as c:
        c.execute(text("DELETE FROM stow_holds"))  # granted: holds are released by deletion
    monkeypatch.setitem(
        app_role.GRANTS, "stow_holds", app_role.TableGrant("without delete", insert=True)
    )
    with stations.owner.engine.begin() as c:
        app_role.apply(c, stations.role)
    assert "permission denied for table stow_holds" in refused_as(app, "DELETE FROM stow_holds")


@pytest.mark.postgres
def test_create_app_role_command_creates_then_sets_a_password_it_never_shows(
    pg_server: PgServer,
    postgres_url: str,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # SQLAlchemy logs statements and parameters at this level
    monkeypatch.delenv("PERPETUA_DATABASE_URL", raising=False)
    monkeypatch.delenv(APP_ROLE_PASSWORD_ENV, raising=False)
    role = _role_name(pg_server, request)
    runner = CliRunner()
    command = ["--db", postgres_url, "-v", "db", "create-app-role", role]
    owner = make_engine(postgres_url)
    try:
        first = runner.invoke(main, command)
        assert first.exit_code == 0, first.output
        assert f"created role {role}: least privilege on schema public" in first.output
        assert f"no password yet: run again with --password (or {APP_ROLE_PASSWORD_ENV} set)" in (
            first.output
        )
        assert f"stations connect with: postgresql+psycopg://{role}@" in first.output

        password = "correct-horse-battery-staple-7"
        monkeypatch.setenv(APP_ROLE_PASSWORD_ENV, password)
        second = runner.invoke(main, command)
        assert second.exit_code == 0, second.output
        assert f"updated role {role}" in second.output and "password set" in second.output
        assert password not in second.output and password not in caplog.text
        with owner.connect() as c:
            stored = c.execute(
                text("SELECT rolpassword FROM pg_authid WHERE rolname = :r"), {"r": role}
            ).scalar_one()
        assert stored.startswith("SCRAM-SHA-256$") and password not in stored

        monkeypatch.delenv(APP_ROLE_PASSWORD_ENV)
        typed = "another-long-secret-8"
        third = runner.invoke(main, [*command, "--password"], input=f"{typed}\n{typed}\n")
        assert third.exit_code == 0, third.output
        assert "password set" in third.output
        assert typed not in third.output and typed not in caplog.text
        with owner.connect() as c:
            changed = c.execute(
                text("SELECT rolpassword FROM pg_authid WHERE rolname = :r"), {"r": role}
            ).scalar_one()
        assert changed.startswith("SCRAM-SHA-256$") and changed != stored
    finally:
        _drop_role(owner, role)
        owner.dispose()


@pytest.mark.postgres
def test_create_app_role_refuses_the_owner_and_bad_names(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PERPETUA_DATABASE_URL", raising=False)
    owner = make_url(postgres_url).username
    runner = CliRunner()
    result = runner.invoke(main, ["--db", postgres_url, "db", "create-app-role", str(owner)])
    assert result.exit_code == 1
    assert f"{owner} is the role you are connected as (the owner)" in result.output
    result = runner.invoke(main, ["--db", postgres_url, "db", "create-app-role", "Robert'); --"])
    assert result.exit_code == 1
    assert "is not a usable role name: use lower-case letters, digits and _" in result.output


def test_create_app_role_on_sqlite_says_there_are_no_roles(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PERPETUA_DATABASE_URL", raising=False)
    result = CliRunner().invoke(
        main, ["--db", sqlite_url, "db", "create-app-role", "perpetua_station"]
    )
    assert result.exit_code == 1
    assert "SQLite has no database roles" in result.output
    assert "triggers refuse any UPDATE or DELETE" in result.output


# --- as the owner, on both databases: the triggers -------------------------------------------

HISTORY = {
    "moves": "moves are append-only: post a correcting transaction instead",
    "transactions": "transactions are append-only: post a correcting transaction instead",
    "order_events": "order events are append-only: post a correcting transaction instead",
}
CHANGES = {
    "moves": ("UPDATE moves SET qty = qty + 1", "DELETE FROM moves"),
    "transactions": ("UPDATE transactions SET message = 'all fine'", "DELETE FROM transactions"),
    "order_events": ("UPDATE order_events SET note = 'never'", "DELETE FROM order_events"),
}


@pytest.fixture
def history(warehouse: Warehouse) -> Warehouse:
    """A receipt, a putaway and a claimed pick list: rows in every history table."""
    with warehouse.engine.begin() as c:
        catalogue.add_orders(c, [OrderLineSpec("SO-1", 1, "WIDGET", 2)])
    assert warehouse.run(Receive, sku="WIDGET", qty=5, to_location="DOCK-1").ok
    assert warehouse.run(
        Putaway, sku="WIDGET", qty=5, from_location="DOCK-1", to_location="A-01-01"
    ).ok
    assert warehouse.run(TakeList, order="SO-1", operator="P1").ok
    return warehouse


@pytest.mark.parametrize(
    "statement",
    [s for pair in CHANGES.values() for s in pair],
)
def test_the_owner_cannot_change_history_either(history: Warehouse, statement: str) -> None:
    name = statement.split()[2 if statement.startswith("DELETE") else 1]
    with pytest.raises(exc.DBAPIError) as caught, history.engine.begin() as c:
        c.execute(text(statement))
    assert HISTORY[name] in str(caught.value.orig)
    assert history.on_hand("A-01-01", "WIDGET") == 5
    assert history.reserved("A-01-01", "WIDGET") == 2
    assert history.invariants().total == 0


@pytest.mark.postgres
@pytest.mark.parametrize("name", sorted(HISTORY))
def test_the_owner_cannot_truncate_history_on_postgres(postgres_url: str, name: str) -> None:
    engine = make_engine(postgres_url)
    try:
        with pytest.raises(exc.DBAPIError) as caught, engine.begin() as c:
            c.execute(text(f"TRUNCATE {name} CASCADE"))
        assert HISTORY[name] in str(caught.value.orig)
    finally:
        engine.dispose()
