"""Fresh databases for tests: PostgreSQL databases cloned from a migrated template, SQLite files.

Under CI=true a missing or unreachable PostgreSQL is a failure, not a skip.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.adapters.db import migrate
from app.adapters.db.engine import make_engine

PG_ENV = "PERPETUA_TEST_DATABASE_URL"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


class PgServer:
    """Creates and drops databases on the server named by PERPETUA_TEST_DATABASE_URL."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        if self.url.drivername == "postgresql":
            self.url = self.url.set(drivername="postgresql+psycopg")
        self._admin = create_engine(self.url, isolation_level="AUTOCOMMIT", pool_size=1)
        self.run_tag = uuid.uuid4().hex[:8]

    def ping(self) -> None:
        with self._admin.connect() as c:
            c.execute(text("SELECT 1"))

    def url_for(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def create(self, name: str, template: str | None = None) -> str:
        with self._admin.connect() as c:
            clause = f' TEMPLATE "{template}"' if template else ""
            c.execute(text(f'CREATE DATABASE "{name}"{clause}'))
        return self.url_for(name)

    def drop(self, name: str) -> None:
        with self._admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def dispose(self) -> None:
        self._admin.dispose()


def pg_server_or_skip() -> PgServer:
    url = os.environ.get(PG_ENV)
    if not url:
        if in_ci():
            pytest.fail(f"{PG_ENV} is not set; CI must test PostgreSQL")
        pytest.skip(f"{PG_ENV} is not set")
    server = PgServer(url)
    try:
        server.ping()
    except Exception as error:  # any failure to reach the server
        if in_ci():
            pytest.fail(f"PostgreSQL at {PG_ENV} is unreachable: {error}")
        pytest.skip(f"PostgreSQL at {PG_ENV} is unreachable: {error}")
    return server


def migrated_pg_template(server: PgServer) -> str:
    name = f"perpetua_tpl_{server.run_tag}"
    server.drop(name)
    url = server.create(name)
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    return name


def migrated_sqlite_template(directory: Path) -> Path:
    path = directory / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    return path


def sqlite_copy(template: Path, directory: Path, name: str = "perpetua.db") -> str:
    target = directory / name
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"
