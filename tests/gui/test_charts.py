"""The supervisor's charts (app/ui/charts.py), offscreen: each chart drawn from known report
values, read back from the chart's own series and axes (what it would show); the PNG export
writes a readable image of the chart's size, from the method and from its button; and the charts
drawn from the real reports of a ledger built through the ledger services, on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from PySide6.QtCharts import QBarCategoryAxis, QBarSeries, QDateTimeAxis, QLineSeries, QValueAxis
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QFileDialog
from pytestqt.qtbot import QtBot
from sqlalchemy import insert, select

from app.adapters.db import reports_flow, reports_stock
from app.adapters.db.engine import READONLY
from app.adapters.db.reports_flow import AGE_COLUMNS
from app.adapters.db.schema import SkuClassRow, SkuRow, table
from app.domain.accuracy import AccuracyRow
from app.domain.commands import Adjust, AdjustReason, Opening, OpeningLine, Receive
from app.domain.report_table import Column, ColumnKind, ReportTable
from app.domain.reports_stock import AdjustmentMove, AdjustmentsBy, adjustments_table
from app.ui.charts import (
    AccuracyChart,
    AdjustmentsChart,
    ChartError,
    ChartsPanel,
    ReportChart,
)
from tests.support.warehouse import Warehouse

pytestmark = pytest.mark.qt_log_level_fail("WARNING")

TODAY = datetime.now(UTC).date()
BUCKETS = ["0-30", "31-60", "61-90", "91-180", "over 180", "no receipt"]


def noon_ms(day: str) -> float:
    return datetime.combine(date.fromisoformat(day), time(12), UTC).timestamp() * 1000


def bars(chart: ReportChart) -> tuple[list[str], dict[str, list[float]]]:
    """The categories under a bar chart and each bar set's heights, from the chart itself."""
    (series,) = chart.chart.series()
    assert isinstance(series, QBarSeries)
    (axis,) = chart.chart.axes(Qt.Orientation.Horizontal)
    assert isinstance(axis, QBarCategoryAxis)
    heights = {s.label(): [s.at(i) for i in range(s.count())] for s in series.barSets()}
    return list(axis.categories()), heights


def line(chart: ReportChart) -> list[tuple[float, float]]:
    """The points of a chart's one line series."""
    (series,) = chart.chart.series()
    assert isinstance(series, QLineSeries)
    return [(p.x(), p.y()) for p in series.points()]


def day_range(chart: ReportChart) -> tuple[int, int]:
    """The first and last moment (ms since 1970) of a chart's date axis."""
    (days,) = chart.chart.axes(Qt.Orientation.Horizontal)
    assert isinstance(days, QDateTimeAxis)
    return days.min().toMSecsSinceEpoch(), days.max().toMSecsSinceEpoch()


def turnover_table(
    rows: list[tuple[str, int, float, int, float | None, float | None]],
) -> ReportTable:
    """A turnover report by class, with the columns `perpetua report turnover --by abc` has."""
    return ReportTable(
        "Turnover 2026-01-01 .. 2026-03-31 (90 days)",
        (
            Column("class", "class"),
            Column("shipped", "shipped", ColumnKind.INT),
            Column("average_on_hand", "average on hand", ColumnKind.NUMBER),
            Column("on_hand", "on hand", ColumnKind.INT),
            Column("turnover", "turnover", ColumnKind.NUMBER),
            Column("days_of_supply", "days of supply", ColumnKind.NUMBER),
        ),
        rows,
    )


def test_accuracy_is_a_line_of_percent_per_counted_day(qtbot: QtBot) -> None:
    chart = AccuracyChart()
    qtbot.addWidget(chart)
    chart.show_rows(
        (
            AccuracyRow("2026-03-01", 4, 3),
            AccuracyRow("2026-03-02", 2, 2),
            AccuracyRow("2026-03-05", 5, 0),
        )
    )
    assert line(chart) == [
        (noon_ms("2026-03-01"), 75.0),
        (noon_ms("2026-03-02"), 100.0),
        (noon_ms("2026-03-05"), 0.0),
    ]
    assert day_range(chart) == (noon_ms("2026-03-01"), noon_ms("2026-03-05"))
    (percent,) = chart.chart.axes(Qt.Orientation.Vertical)
    assert isinstance(percent, QValueAxis)
    assert (percent.min(), percent.max()) == (0, 100)
    assert (
        chart.chart.title() == "Inventory-record accuracy per day, 2026-03-01 .. 2026-03-05 (UTC)"
    )

    chart.show_rows((AccuracyRow("2026-04-01", 3, 1),))
    # The old values are gone, not drawn under the new; one day is shown a day either side.
    assert line(chart) == [(noon_ms("2026-04-01"), 100 / 3)]
    assert len(chart.chart.axes()) == 2
    day_ms = 86_400_000
    assert day_range(chart) == (noon_ms("2026-04-01") - day_ms, noon_ms("2026-04-01") + day_ms)

    chart.show_rows(())
    assert line(chart) == []
    (days,) = chart.chart.axes(Qt.Orientation.Horizontal)
    assert not days.labelsVisible()
    assert chart.chart.title() == "Inventory-record accuracy per day: no location was counted"


def test_adjustments_are_bars_of_units_in_and_out_per_reason(qtbot: QtBot) -> None:
    moves = [
        AdjustmentMove("t1", "adjust: lost", "C1", "Cora", -3, 1250),
        AdjustmentMove("t2", "adjust: lost", "C1", "Cora", -2, 1250),
        AdjustmentMove("t3", "adjust: found", "C1", "Cora", 5, 20),
        AdjustmentMove("t4", "adjust: count", "S1", "Sam", 1, None),
        AdjustmentMove("t5", "adjust: count", "S1", "Sam", -4, None),
    ]
    report = adjustments_table(moves, AdjustmentsBy.REASON, date(2026, 3, 1), date(2026, 3, 30))
    panel = ChartsPanel()
    qtbot.addWidget(panel)
    panel.show_adjustments(report)
    categories, heights = bars(panel.adjustments)
    assert categories == ["count", "found", "lost"]
    assert heights == {"Units in": [1, 5, 0], "Units out": [4, 0, 5]}
    (units,) = panel.adjustments.chart.axes(Qt.Orientation.Vertical)
    assert isinstance(units, QValueAxis)
    assert units.min() == 0 and units.max() >= 5
    assert panel.adjustments.chart.title() == "Adjustments by reason, 2026-03-01 .. 2026-03-30"

    by_operator = adjustments_table(moves, AdjustmentsBy.OPERATOR, date(2026, 3, 1), TODAY)
    panel.show_adjustments(adjustments_table([], AdjustmentsBy.REASON, TODAY, TODAY))
    assert bars(panel.adjustments) == ([], {"Units in": [], "Units out": []})
    assert panel.adjustments.chart.title().endswith(": none")
    (units,) = panel.adjustments.chart.axes(Qt.Orientation.Vertical)
    assert isinstance(units, QValueAxis)
    assert (units.min(), units.max()) == (0, 5)

    with pytest.raises(ChartError, match="needs the column"):
        panel.show_adjustments(by_operator)


def test_age_is_bars_of_units_per_bucket_from_the_total_row(qtbot: QtBot) -> None:
    #            sku       on hand  0-30 31-60 61-90 91-180 >180  none  value  value>90
    rows = [
        ("BOLT", 12, 5, 0, 0, 4, 1, 2, 120, 50),
        ("WIDGET", 9, 0, 3, 6, 0, 0, 0, 900, 0),
        ("total", 21, 5, 3, 6, 4, 1, 2, 1020, 50),
    ]
    panel = ChartsPanel()
    qtbot.addWidget(panel)
    panel.show_age(
        ReportTable("Inventory age on 2026-03-31 (days since receipt)", AGE_COLUMNS, rows)
    )
    categories, heights = bars(panel.age)
    assert categories == BUCKETS
    assert heights == {"Units": [5, 3, 6, 4, 1, 2]}

    panel.show_age(ReportTable("without a total row", AGE_COLUMNS, rows[:2]))
    assert bars(panel.age)[1] == {"Units": [5, 3, 6, 4, 1, 2]}


def test_turnover_is_bars_per_abc_class_without_the_total(qtbot: QtBot) -> None:
    panel = ChartsPanel()
    qtbot.addWidget(panel)
    panel.show_turnover(
        turnover_table(
            [
                ("A", 900, 100.0, 80, 9.0, 8.0),
                ("B", 150, 60.0, 50, 2.5, 30.0),
                ("C", 0, 0.0, 0, None, None),
                ("total", 1050, 160.0, 130, 6.5625, 11.1),
            ]
        )
    )
    categories, heights = bars(panel.turnover)
    assert categories == ["A", "B", "C"]
    assert heights == {"Turnover": [9.0, 2.5, 0.0]}
    with pytest.raises(ChartError, match="class"):
        panel.show_turnover(ReportTable("per SKU", (Column("sku", "SKU"),), []))


def test_png_export_is_the_chart_at_its_size(qtbot: QtBot, tmp_path: Path) -> None:
    chart = AdjustmentsChart()
    qtbot.addWidget(chart)
    chart.resize(640, 480)  # not shown: the offscreen platform warns on a shown window
    chart.show_table(
        adjustments_table(
            [AdjustmentMove("t1", "adjust: lost", "C1", "Cora", -3, None)],
            AdjustmentsBy.REASON,
            TODAY,
            TODAY,
        )
    )
    path = tmp_path / "adjustments.png"
    with qtbot.waitSignal(chart.saved) as saved:
        chart.save_png(path)
    assert saved.args == [str(path)]
    image = QImage(str(path))
    assert not image.isNull()
    assert image.size() == chart.view.size() * chart.view.devicePixelRatioF()
    colours = {
        image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)
    }
    assert len(colours) > 3  # bars, axes and text, not a blank rectangle

    with pytest.raises(OSError, match="could not write the chart"):
        chart.save_png(tmp_path / "no such folder" / "chart.png")


def test_the_save_button_asks_for_a_file_and_says_what_it_did(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file dialog is a modal window no offscreen test can answer: its answer is given."""
    chart = AccuracyChart()
    qtbot.addWidget(chart)
    chart.resize(500, 400)
    chart.show_rows((AccuracyRow("2026-03-01", 4, 3),))
    answers = [str(tmp_path / "accuracy"), str(tmp_path / "missing" / "accuracy.png"), ""]
    asked: list[str] = []

    def get_save_file_name(*args: object) -> tuple[str, str]:
        asked.append(str(args[2]))
        return answers.pop(0), "PNG images (*.png)"

    monkeypatch.setattr(QFileDialog, "getSaveFileName", get_save_file_name)
    QTest.mouseClick(chart.save_button, Qt.MouseButton.LeftButton)
    written = tmp_path / "accuracy.png"
    assert not QImage(str(written)).isNull()
    assert chart.message.text() == f"Saved {written}"

    QTest.mouseClick(chart.save_button, Qt.MouseButton.LeftButton)
    assert chart.message.text().startswith(
        f"Not saved: could not write the chart to {tmp_path / 'missing' / 'accuracy.png'}: "
        "choose a folder"
    )
    QTest.mouseClick(chart.save_button, Qt.MouseButton.LeftButton)  # cancelled: nothing changes
    assert chart.message.text().startswith("Not saved")
    assert asked == ["accuracy.png"] * 3


def test_the_panel_draws_the_real_reports_of_a_ledger(qtbot: QtBot, warehouse: Warehouse) -> None:
    """Opening balances 45 days ago (WIDGET 10 in A-01-01, BOLT 4 in A-01-02), 6 WIDGETs
    received 10 days ago; 3 WIDGETs lost 2 days ago, 2 BOLTs found yesterday; WIDGET is class
    A. Age (first in, first out): WIDGET 13 on hand = 6 (0-30) + 7 of the 45-day-old 10
    (31-60); BOLT 6 = 4 (31-60) + 2 found (no receipt). Nothing shipped or picked: every
    class's turnover is 0."""
    w = warehouse

    def ago(days: int) -> datetime:
        return datetime.combine(TODAY - timedelta(days=days), time(9), UTC)

    lines = (OpeningLine("WIDGET", "A-01-01", 10), OpeningLine("BOLT", "A-01-02", 4))
    assert w.run(Opening, lines=lines, station_time=ago(45)).ok
    assert w.run(Receive, sku="WIDGET", qty=6, to_location="DOCK-1", station_time=ago(10)).ok
    for sku, bin_, delta, reason, days in (
        ("WIDGET", "A-01-01", -3, AdjustReason.LOST, 2),
        ("BOLT", "A-01-02", 2, AdjustReason.FOUND, 1),
    ):
        adjusted = w.run(
            Adjust,
            sku=sku,
            location=bin_,
            delta=delta,
            reason=reason,
            station_time=ago(days),
            operator="C1",
            approved_by="S1",
        )
        assert adjusted.ok, adjusted.message
    with w.engine.begin() as c:
        widget = c.execute(select(table(SkuRow).c.id).where(table(SkuRow).c.code == "WIDGET"))
        c.execute(
            insert(table(SkuClassRow)).values(
                sku_id=widget.scalar_one(),
                abc="A",
                picked_units=0,
                usage_value_cents=0,
                computed_on=TODAY,
            )
        )
    start = TODAY - timedelta(days=29)
    with w.engine.connect().execution_options(**{READONLY: True}) as c:
        moves = reports_stock.adjustments(c, start, TODAY)
        age = reports_flow.age(c, TODAY)
        turnover = reports_flow.turnover_report(c, start, TODAY, by_class=True)
    panel = ChartsPanel()
    qtbot.addWidget(panel)
    panel.show_adjustments(adjustments_table(moves, AdjustmentsBy.REASON, start, TODAY))
    panel.show_age(age)
    panel.show_turnover(turnover)
    assert bars(panel.adjustments) == (
        ["found", "lost"],
        {"Units in": [2, 0], "Units out": [0, 3]},
    )
    assert bars(panel.age) == (BUCKETS, {"Units": [6, 11, 0, 0, 0, 2]})
    assert bars(panel.turnover) == (["A", "B", "C"], {"Turnover": [0, 0, 0]})
