"""The Reports tab of the supervisor's screen, on both databases, over the real supervisor desk
and the screen's one query runner: a report run on the screen shows its rows; stock on hand comes
a page at a time as the table scrolls, never all at once; Export CSV writes the file with a
progress bar; Cancel stops an export and removes its partial file."""

from __future__ import annotations

import csv
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLayout, QMainWindow
from pytestqt.qtbot import QtBot

from app import bootstrap, report_runs
from app.adapters.db import catalogue
from app.config import Settings
from app.domain.catalogue import LocationSpec
from app.domain.commands import Hold, Opening, OpeningLine
from app.domain.model import LocationKind
from app.domain.report_pages import Filter, ReportAsk, ReportName
from app.ui.runner import Runner
from app.ui.supervisor import Desk, SupervisorScreen
from tests.support.warehouse import BINS, Warehouse

pytestmark = pytest.mark.qt_log_level_fail("WARNING")

WAIT_MS = 30_000
SKUS = ("BOLT", "SCREW-4", "SCREW-5", "WIDGET")  # in the report's order within a bin
EXTRA = 1200
"""Bins Z-0000.. beyond the seeded ones, BOLT in each: more than the writer's 1000-row step."""
PAGE = 50


def qty(b: int, s: int) -> int:
    return 10 * (b + 1) + s + 1


def expected_stock() -> list[list[str]]:
    """The stock report's rows as the screen shows them, worked out by hand: seeded bins in
    pick-path order (A-01-01 is 1 .. B-01-02 is 6), SKUs by code within each; A-01-02 is on hold
    (0 available); then the extra bins (pick sequence 1000 on), 1, 2, .. BOLTs each. First of
    all the dock (pick sequence 0) with the MILK lot."""
    expiry = (_today() + timedelta(days=5)).isoformat()
    rows = [["DOCK-1", "A", "MILK", "L5", expiry, "6", "0", "6", "", "Milk 1 l"]]
    rows += [
        [
            code,
            code[0],
            sku,
            "",
            "",
            str(qty(b, s)),
            "0",
            "0" if code == "A-01-02" else str(qty(b, s)),
            "location" if code == "A-01-02" else "",
            name,
        ]
        for b, code in enumerate(BINS)
        for s, (sku, name) in enumerate(
            zip(SKUS, ("Hex bolt M8", "Screw 4 mm", "Screw 5 mm", "Blue widget"), strict=True)
        )
    ]
    rows += [
        [f"Z-{i:04d}", "Z", "BOLT", "", "", str(i + 1), "0", str(i + 1), "", "Hex bolt M8"]
        for i in range(EXTRA)
    ]
    return rows


@pytest.fixture
def stocked(warehouse: Warehouse) -> Warehouse:
    with warehouse.engine.begin() as c:
        catalogue.add_locations(
            c,
            [
                LocationSpec(f"Z-{i:04d}", LocationKind.BIN, zone="Z", pick_sequence=1000 + i)
                for i in range(EXTRA)
            ],
        )
    lines = [
        OpeningLine(sku, code, qty(b, s))
        for b, code in enumerate(BINS)
        for s, sku in enumerate(SKUS)
    ]
    lines += [OpeningLine("BOLT", f"Z-{i:04d}", i + 1) for i in range(EXTRA)]
    lines.append(OpeningLine("MILK", "DOCK-1", 6, lot="L5", expiry=_today() + timedelta(days=5)))
    opened = warehouse.run(Opening, lines=tuple(lines))
    assert opened.ok, opened.message
    assert warehouse.run(Hold, reason="water damage", location="A-01-02").ok
    return warehouse


def _today() -> date:
    return datetime.now(UTC).date()


@pytest.fixture
def screen(
    qtbot: QtBot, qapp: QApplication, db_url: str, stocked: Warehouse, tmp_path: Path
) -> Iterator[SupervisorScreen]:
    settings = Settings(db_url, "test")
    factory = bootstrap.supervisor_desk_factory(settings, "ST-1", tmp_path / "outbox.sqlite")
    runner: Runner[Desk] = Runner(factory)
    shown = SupervisorScreen(runner)
    window = QMainWindow()  # as the station window holds it, its size its own (not its content's)
    window.setCentralWidget(shown)
    layout = window.layout()
    assert layout is not None
    layout.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
    qtbot.addWidget(window)
    window.resize(1200, 700)
    window.show()
    qtbot.waitExposed(window)
    shown.operator = "S1"
    shown.tabs.setCurrentWidget(shown.reports)
    yield shown
    assert runner.stop()


def idle(busy: bool) -> bool:
    return not busy


def table_rows(screen: SupervisorScreen) -> list[list[str]]:
    model = screen.reports.model
    return [
        [model.data(model.index(r, c)) for c in range(model.columnCount())]
        for r in range(model.rowCount())
    ]


def run(screen: SupervisorScreen, qtbot: QtBot, name: ReportName) -> None:
    tab = screen.reports
    tab.report.setCurrentText(name.value)
    with qtbot.waitSignal(tab.model.page_arrived, timeout=WAIT_MS):
        QTest.mouseClick(tab.run_button, Qt.MouseButton.LeftButton)


def test_stock_comes_a_page_at_a_time_as_the_table_scrolls(
    screen: SupervisorScreen, qtbot: QtBot
) -> None:
    tab, expected = screen.reports, expected_stock()
    tab.model.page_rows = PAGE
    run(screen, qtbot, ReportName.STOCK)
    assert tab.model.pages_asked == 1
    assert table_rows(screen) == expected[:PAGE]  # the first page, and only it
    assert not tab.model.complete
    assert "50 row(s) so far (more as you scroll)" in screen.message.text()
    assert [tab.model.headerData(c, Qt.Orientation.Horizontal) for c in range(3)] == [
        "Location",
        "Zone",
        "SKU",
    ]

    held = [tab.model.rowCount()]
    for _ in range(len(expected) // PAGE + 1):  # bounded: a keyset that never ends fails
        if tab.model.complete:
            break
        with qtbot.waitSignal(tab.model.page_arrived, timeout=WAIT_MS):
            tab.table.scrollToBottom()  # the view asks the model for more
        held.append(tab.model.rowCount())
        assert held[-1] - held[-2] <= PAGE  # a page, never the rest at once
        assert tab.model.pages_asked == len(held)
    assert table_rows(screen) == expected
    assert tab.model.pages_asked == -(-len(expected) // PAGE)  # 25 pages for 1224 rows


def test_a_filter_narrows_the_pages_and_an_unknown_zone_is_refused(
    screen: SupervisorScreen, qtbot: QtBot
) -> None:
    tab = screen.reports
    tab.fields[Filter.ZONE].setText("B")
    run(screen, qtbot, ReportName.STOCK)
    assert table_rows(screen) == [r for r in expected_stock() if r[1] == "B"]
    assert tab.model.complete and tab.model.pages_asked == 1

    tab.fields[Filter.ZONE].setText("Q")
    with qtbot.waitSignal(tab.model.page_refused, timeout=WAIT_MS):
        QTest.mouseClick(tab.run_button, Qt.MouseButton.LeftButton)
    assert screen.message.text() == (
        "No location is in zone 'Q'; the zones are: A, B, Z. Type one of them, or empty the "
        "zone field."
    )
    assert tab.model.rowCount() == 0 and tab.run_button.isEnabled()


def test_a_whole_report_shows_its_rows(screen: SupervisorScreen, qtbot: QtBot) -> None:
    tab = screen.reports
    tab.report.setCurrentText(ReportName.EXPIRING.value)
    tab.days.setValue(7)
    run(screen, qtbot, ReportName.EXPIRING)
    expiry = _today() + timedelta(days=5)
    rows = table_rows(screen)
    assert [r[:6] for r in rows] == [["DOCK-1", "MILK", "L5", expiry.isoformat(), "5", "6"]]
    assert tab.model.complete and not tab.progress.isVisible()


def test_export_writes_the_file_with_progress(
    screen: SupervisorScreen, qtbot: QtBot, tmp_path: Path
) -> None:
    tab, path = screen.reports, tmp_path / "stock.csv"
    tab.report.setCurrentText(ReportName.STOCK.value)
    tab.choose_path = lambda suggested: path
    seen: list[tuple[int, int]] = []
    tab._export_progress.advanced.connect(lambda done, total: seen.append((done, total)))
    with qtbot.waitSignal(screen.runner.busyChanged, check_params_cb=idle, timeout=WAIT_MS):
        QTest.mouseClick(tab.export_button, Qt.MouseButton.LeftButton)
        assert tab.progress.isVisible() and tab.cancel_button.isVisible()
    total = len(expected_stock())
    assert seen == [(0, total), (1000, total), (total, total)]
    with path.open(encoding="utf-8", newline="") as f:
        read = list(csv.reader(f))
    assert read[0][:3] == ["location", "zone", "sku"]
    assert read[1:] == expected_stock()
    assert screen.message.text() == f"{total:,} row(s) written to {path}."
    assert not tab.progress.isVisible() and not tab.cancel_button.isVisible()


def test_cancel_stops_the_export_and_removes_the_file(
    screen: SupervisorScreen, qtbot: QtBot, tmp_path: Path
) -> None:
    """The runner held busy by a job the test releases: Cancel is pressed while the export
    waits its turn, and the export, when it runs, stops and leaves no file."""
    tab, path = screen.reports, tmp_path / "stock.csv"
    tab.report.setCurrentText(ReportName.STOCK.value)
    tab.choose_path = lambda suggested: path
    gate = threading.Event()
    screen.runner.submit(lambda desk: gate.wait(WAIT_MS / 1000), lambda _: None, print)
    QTest.mouseClick(tab.export_button, Qt.MouseButton.LeftButton)
    QTest.mouseClick(tab.cancel_button, Qt.MouseButton.LeftButton)
    assert screen.message.text() == "Cancelling the export..."
    with qtbot.waitSignal(screen.runner.busyChanged, check_params_cb=idle, timeout=WAIT_MS):
        gate.set()
    assert not path.exists()
    assert screen.message.text().startswith(f"Export cancelled: {path} was not written")
    assert tab.export_button.isEnabled()


def test_an_export_cancelled_midway_removes_its_partial_file(
    stocked: Warehouse, tmp_path: Path
) -> None:
    """Cancel set while the rows stream (at the writer's first 1000): the file was there, half
    written, and is gone after."""
    path, cancel = tmp_path / "stock.csv", threading.Event()
    lines_then: list[int] = []

    def progress(done: int, total: int) -> None:
        if done == 1000:
            lines_then.append(len(path.read_text(encoding="utf-8").splitlines()))
            cancel.set()

    with stocked.engine.connect() as c:
        done = report_runs.export(c, ReportAsk(ReportName.STOCK), path, progress, cancel)
    assert done.cancelled and done.rows == 0
    assert lines_then and 0 < lines_then[0] <= 1001  # partly written when cancelled
    assert not path.exists()
