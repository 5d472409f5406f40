"""Fixtures of the integration tests that drive a station session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.bootstrap import open_station
from app.config import Settings
from app.services.station import StationSession
from tests.support.warehouse import Warehouse


@pytest.fixture
def station(
    db_url: str, warehouse: Warehouse, tmp_path: Path
) -> Iterator[tuple[StationSession, Path]]:
    """Station ST-1's session on the seeded test database, as the composition root builds it,
    and its outbox file."""
    outbox = tmp_path / "outbox.sqlite"
    session = open_station(Settings(db_url, "test"), "ST-1", outbox)
    yield session, outbox
    session.close()
