"""A station that has never reached its database, started while the network is cut: the window
says why it cannot work yet (not only the terminal), keeps trying, and opens at its login screen
as soon as the link is back. A real cut: PostgreSQL behind a loopback TCP proxy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy.engine import make_url

from app import bootstrap
from app.adapters.db.engine import make_engine
from app.config import Settings
from app.services.station_view import StationView
from app.ui.station_window import StationWindow
from tests.gui.test_station_modes import shut_down
from tests.gui.test_station_screens import RecordingSoundPlayer
from tests.support.drill import through_proxy
from tests.support.proxy import TcpProxy
from tests.support.warehouse import seed

pytestmark = pytest.mark.postgres

WAIT_MS = 15_000


@pytest.fixture
def proxy(postgres_url: str) -> Iterator[TcpProxy]:
    engine = make_engine(postgres_url)
    seed(engine)
    engine.dispose()
    url = make_url(postgres_url)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as running:
        yield running


def test_a_station_without_a_copy_says_so_in_its_window_and_opens_once_the_link_is_back(
    qtbot: QtBot, postgres_url: str, proxy: TcpProxy, tmp_path: Path
) -> None:
    proxy.cut("refuse")
    factory = bootstrap.station_factory(
        Settings(through_proxy(postgres_url, proxy), "test"), "ST-1", tmp_path / "outbox.sqlite"
    )
    window = StationWindow(factory, sounds=RecordingSoundPlayer(), drain_interval_ms=200)
    qtbot.addWidget(window)
    window.show()
    try:
        with qtbot.waitSignal(window.worker.failed, timeout=WAIT_MS) as failure:
            window.start()
        qtbot.waitUntil(lambda: window.banner.text() == failure.args[0], timeout=WAIT_MS)
        text = window.banner.text()
        assert text.startswith("The station could not start: StationOffline: The database is out")
        assert "no copy of the warehouse yet" in text and "It keeps trying." in text
        assert "psycopg" not in text and str(proxy.port) not in text  # no driver text
        assert "What you just did was not recorded" not in text  # nothing was done yet
        proxy.restore()
        with qtbot.waitSignal(
            window.viewShown,
            timeout=WAIT_MS,
            check_params_cb=lambda view: isinstance(view, StationView),
        ) as shown:
            pass
        view: StationView = shown.args[0]
        assert view.operator is None and view.database == "connected"
        assert window.current_screen() is window.login
    finally:
        shut_down([window])
