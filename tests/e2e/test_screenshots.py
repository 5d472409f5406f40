"""The screenshot script end to end (its own Xvfb, a fresh demo database on the test's PostgreSQL
server, the real window through a proxy the script cuts for the outage): every screen is taken,
at the screen's size, and shows what it is named for in the colours a user would see (green for a
scan that went through, red for a refused one, amber for a queue, grey rows for queued scans)."""

from __future__ import annotations

import subprocess
import sys
from array import array
from collections import Counter
from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QImage

from app.services.station_view import ScanState
from app.ui.widgets.recent_scans import STATE_COLOURS
from app.ui.widgets.theme import ERROR_RED, OK_GREEN, WARNING_AMBER
from tests.e2e.screenshots import HEIGHT, ROOT, SHOTS, WIDTH
from tests.support.databases import PgServer

pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("heavy")]

RUN_S = 300
"""A hang guard for the whole script (it takes seconds)."""
BANNER_SHARE = 0.04
"""The feedback banner fills about a tenth of the screen; a colour over 4% of it is there."""
ROW_SHARE = 0.04
"""Two rows of the last scans fill about 8% of the screen."""


def colours(path: Path) -> Counter[int]:
    """How many pixels of each colour (0xAARRGGBB) the image has."""
    image = QImage(str(path))
    assert not image.isNull(), f"{path.name} is not a readable image"
    assert (image.width(), image.height()) == (WIDTH, HEIGHT), path.name
    image = image.convertToFormat(QImage.Format.Format_RGB32)
    return Counter(array("I", bytes(image.constBits())))


def share(counts: Counter[int], colour: QColor) -> float:
    return counts[colour.rgb() & 0xFFFFFFFF] / (WIDTH * HEIGHT)


def test_the_script_takes_every_screen(tmp_path: Path, pg_server: PgServer) -> None:
    """`pg_server`: the script makes its database on the server PERPETUA_TEST_DATABASE_URL names
    (skipped without one, outside CI): the outage needs a network to cut."""
    run = subprocess.run(
        [sys.executable, "-m", "tests.e2e.screenshots", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=RUN_S,
    )
    assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{n}.png" for n in SHOTS)
    shots = {name: colours(tmp_path / f"{name}.png") for name in SHOTS}
    for name, counts in shots.items():
        assert len(counts) > 1, f"{name} is a single colour"
    # Different screens, not one screen many times.
    assert len({tuple(sorted(counts.items())) for counts in shots.values()}) == len(SHOTS)
    # The banner in the colour of what happened (the login screen has had no feedback yet).
    login = shots["station-login"]
    assert max(share(login, c) for c in (OK_GREEN, WARNING_AMBER, ERROR_RED)) < 0.001
    refused = {"station-pick-claimed", "station-refused", "station-expired"}
    # The supervisor's screen hides the station's banner: its own message line is green.
    supervising = {
        "supervisor-exceptions",
        "supervisor-counts",
        "supervisor-reports",
        "supervisor-charts",
    }
    went_through = set(SHOTS[2:]) - refused - supervising - {"station-offline"}
    for name in went_through:  # receive to ship: each step went through
        assert share(shots[name], OK_GREEN) > BANNER_SHARE, name
    for name in refused:  # an unknown code, a list held elsewhere, an expired lot
        assert share(shots[name], ERROR_RED) > BANNER_SHARE, name
    for name in supervising:
        assert share(shots[name], WARNING_AMBER) < 0.001, name
        assert share(shots[name], OK_GREEN) > 0.0005, name  # "2 exception(s) wait ..."
    assert share(shots["station-offline"], WARNING_AMBER) > BANNER_SHARE
    assert share(shots["station-offline"], ERROR_RED) > 0.003  # "Database: out of reach since"
    queued = STATE_COLOURS[ScanState.QUEUED]
    assert queued is not None
    assert share(shots["station-offline"], queued[0]) > ROW_SHARE  # the two queued scans
    assert share(shots["station-receive"], queued[0]) < 0.001
