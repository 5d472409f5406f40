"""Fixtures: fresh databases (an SQLite file, a PostgreSQL database) at head, and a warehouse."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from app.adapters.db.engine import make_engine
from app.adapters.db.uow import SqlLedger
from tests.support.databases import (
    PgServer,
    migrated_pg_template,
    migrated_sqlite_template,
    pg_server_or_skip,
    sqlite_copy,
)
from tests.support.warehouse import Warehouse, seed


def pytest_configure(config: pytest.Config) -> None:
    """`make test` runs the suite on pytest-xdist workers, whose standard output is /dev/null, so
    the figure lines that tests print past the capture (`capsys.disabled()`) would be lost. In a
    worker they are printed to its standard error instead, which reaches the terminal as in a run
    without workers (the worker's own progress report still goes to /dev/null)."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    capture = getattr(config.pluginmanager.getplugin("capturemanager"), "_global_capturing", None)
    out: object = getattr(capture, "out", None)
    out = getattr(out, "syscapture", out)  # FD capture holds a sys.stdout capture
    if hasattr(out, "_old"):  # what sys.stdout becomes while the capture is off (pytest's own)
        out._old = sys.stderr


_UNGROUPED = pytest.StashKey[str]()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under `--dist loadgroup` a worker marks each test of an xdist_group by a suffix on its id
    (pytest-xdist's own hook, run before this one), and the tests of a group then run one after
    another on one worker. With pytest 9.2 the suffix is silently lost (pytest-xdist issue 1386)
    and the heavy tests would run beside each other: such a test fails instead, saying why."""
    if not (os.environ.get("PYTEST_XDIST_WORKER") and config.getvalue("loadgroup")):
        return
    for item in items:
        marks = item.iter_markers("xdist_group")
        groups = {str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in marks}
        if groups and not item.nodeid.endswith("@" + "_".join(sorted(groups))):
            item.stash[_UNGROUPED] = (
                f"pytest-xdist did not put this test in its xdist_group {sorted(groups)}: the "
                "installed pytest and pytest-xdist do not work together (pytest-xdist issue "
                "1386). Run `make venv` for the versions pyproject.toml names, or run without "
                "workers (PYTEST_WORKERS=0)."
            )


@pytest.fixture(autouse=True)
def _in_its_xdist_group(request: pytest.FixtureRequest) -> None:
    ungrouped = request.node.stash.get(_UNGROUPED, None)
    if ungrouped:
        pytest.fail(ungrouped, pytrace=False)


@pytest.fixture(autouse=True, scope="session")
def _quick_pin_verifiers() -> Iterator[None]:
    """PIN verifiers made cheap inside the test process: the real ones cost about 1.5 s each on
    purpose (app/adapters/pins.py), and hundreds of test warehouses have supervisors. A verifier
    carries its own parameters, so checking works the same; tests of the real cost run the
    program in a subprocess (tests/integration/test_pins.py, bench/pin_cost.py)."""
    from argon2 import PasswordHasher

    from app.adapters import pins

    real = pins._offline, pins.ONLINE_BCRYPT_COST
    pins._offline = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    pins.ONLINE_BCRYPT_COST = 4
    yield
    pins._offline, pins.ONLINE_BCRYPT_COST = real


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    server = pg_server_or_skip()
    yield server
    server.dispose()


@pytest.fixture(scope="session")
def pg_template(pg_server: PgServer) -> Iterator[str]:
    name = migrated_pg_template(pg_server)
    yield name
    pg_server.drop(name)


@pytest.fixture
def postgres_url(
    pg_server: PgServer, pg_template: str, request: pytest.FixtureRequest
) -> Iterator[str]:
    name = f"perpetua_t_{pg_server.run_tag}_{abs(hash(request.node.nodeid)) % 10**10}"
    pg_server.drop(name)
    url = pg_server.create(name, template=pg_template)
    yield url
    pg_server.drop(name)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return migrated_sqlite_template(tmp_path_factory.mktemp("template"))


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    return sqlite_copy(sqlite_template, tmp_path)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def ledger(engine: Engine) -> SqlLedger:
    return SqlLedger(engine)


@pytest.fixture
def warehouse(engine: Engine, ledger: SqlLedger) -> Warehouse:
    seed(engine)
    return Warehouse(engine, ledger)
