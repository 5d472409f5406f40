"""The machine a benchmark ran on, for the header every benchmark prints (STYLE.md rule 19)."""

from __future__ import annotations

import os
import platform
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, make_url, text


def cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        models = re.findall(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE)
        if models:
            return str(models[0])
    return platform.processor() or platform.machine()


def machine(**versions: Any) -> dict[str, Any]:
    """Time, platform, CPU, Python and load now, plus the library versions a bench names."""
    return {
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        **versions,
        "load_start": os.getloadavg()[0],
    }


@contextmanager
def scratch_pg_database(server_url: str, prefix: str) -> Iterator[str]:
    """A database <prefix>_<random> on the server (the database the URL names is left alone),
    dropped WITH (FORCE) however the bench leaves, which also ends any connection left open.
    Yields its SQLAlchemy URL (psycopg driver)."""
    base = make_url(server_url)
    if base.drivername == "postgresql":
        base = base.set(drivername="postgresql+psycopg")
    admin = create_engine(base, isolation_level="AUTOCOMMIT", pool_size=1)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield base.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
