"""Charts of the supervisor's reports (issue 14 point 3, README "A supervisor's day"): accuracy
per day, adjustments by reason, stock by age, turnover by ABC class, each savable as a PNG.

They draw the report values the commands print (app/domain/report_table.py `ReportTable`, and the
accuracy report's rows), already computed off the GUI thread: this module reads no database. The
charts use QtCharts, which ships with PySide6; bench/charts.py measured it beside pyqtgraph on
these charts (README part "Charts" has the figures and why QtCharts).

A report's columns are found by name, as the CSV headers are, so a chart keeps working when a
report gains a column; a table without the columns a chart needs is refused with `ChartError`
(a mistake in the calling code, not the user's).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path

from PySide6.QtCharts import (
    QAbstractBarSeries,
    QBarCategoryAxis,
    QBarSeries,
    QBarSet,
    QChart,
    QChartView,
    QDateTimeAxis,
    QLineSeries,
    QValueAxis,
)
from PySide6.QtCore import QDateTime, QPointF, Qt, Signal, Slot
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.domain.accuracy import AccuracyRow
from app.domain.report_table import ReportTable, Value
from app.ui.widgets.theme import INK

TOTAL = "total"
"""The first cell of the row that sums a report's other rows (age, turnover)."""

MARKED_POINTS = 62
"""A line shows its points as dots up to this many days (two months); beyond, dots hide it."""


SIDE_BY_SIDE = 6
"""Up to this many categories are labelled level under their bars; more are slanted."""


class ChartError(ValueError):
    """A report value a chart cannot draw: not the report the chart is made for."""


@dataclass(frozen=True, slots=True)
class Bars:
    """Bar chart values: one bar per category in each named set, sets side by side."""

    categories: tuple[str, ...]
    sets: tuple[tuple[str, tuple[float, ...]], ...]


def _records(table: ReportTable, needed: Sequence[str], report: str) -> list[dict[str, Value]]:
    """The rows of `table` as dictionaries by column name; `ChartError` when a needed column is
    missing. The rows are read once (a report's rows may be an iterator)."""
    names = [column.name for column in table.columns]
    missing = [name for name in needed if name not in names]
    if missing:
        raise ChartError(
            f"the {report} chart needs the column(s) {', '.join(missing)}; "
            f"{table.title!r} has {', '.join(names)}"
        )
    return [dict(zip(names, row, strict=True)) for row in table.rows]


def _number(value: Value) -> float:
    """A figure as a bar's height: None (no figure, e.g. no turnover without stock) is 0."""
    return float(value) if isinstance(value, int | float) else 0.0


def adjustment_bars(table: ReportTable) -> Bars:
    """Units into and out of stock per reason code (`perpetua report adjustments --by reason`)."""
    rows = _records(table, ("reason", "units_in", "units_out"), "adjustments")
    return Bars(
        tuple(str(row["reason"]) for row in rows),
        (
            ("Units in", tuple(_number(row["units_in"]) for row in rows)),
            ("Units out", tuple(_number(row["units_out"]) for row in rows)),
        ),
    )


def age_bars(table: ReportTable) -> Bars:
    """Units on hand per age bucket, over all SKUs (`perpetua report age`): the report's total
    row, or the sum of its rows when it has none. One bar per bucket, not a stack per SKU: a
    warehouse has thousands of SKUs, and a stack of thousands says nothing."""
    buckets = [c for c in table.columns if c.name.startswith("days_") or c.name == "no_receipt"]
    if not buckets:
        raise ChartError(f"the age chart needs age bucket columns (days_...); {table.title!r}")
    first = table.columns[0].name
    rows = _records(table, (first,), "age")
    totals = [row for row in rows if row[first] == TOTAL]
    summed = totals or rows
    return Bars(
        tuple(column.title for column in buckets),
        (("Units", tuple(sum(_number(r[c.name]) for r in summed) for c in buckets)),),
    )


def turnover_bars(table: ReportTable) -> Bars:
    """Turnover per ABC class (`perpetua report turnover --by abc`), without the total row; a
    class without stock in the period has no turnover and shows 0."""
    rows = _records(table, ("class", "turnover"), "turnover")
    classes = [row for row in rows if row["class"] != TOTAL]
    return Bars(
        tuple(str(row["class"]) for row in classes),
        (("Turnover", tuple(_number(row["turnover"]) for row in classes)),),
    )


def accuracy_points(rows: Sequence[AccuracyRow]) -> list[tuple[datetime, float]]:
    """(noon UTC of the day, percent) per day with a count. Noon, so that the axis, which shows
    local time, labels the right day in every time zone from UTC-11 to UTC+11."""
    points = []
    for row in rows:
        percent = row.percent
        if percent is None:
            continue
        day = datetime.fromisoformat(row.group).date()
        points.append((datetime.combine(day, time(12), UTC), percent))
    return points


class ReportChart(QWidget):
    """A chart with a "Save as PNG" button under it. `saved` carries the path of each PNG."""

    saved = Signal(str)
    file_stem = "chart"

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.chart = QChart()
        self.chart.setTitle(title)
        self.chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        self.view = QChartView(self.chart)
        self.view.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.view.setMinimumSize(360, 260)
        self.save_button = QPushButton("Save as PNG…")
        self.message = QLabel("")
        row = QHBoxLayout()
        row.addWidget(self.save_button)
        row.addWidget(self.message, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view, 1)
        layout.addLayout(row)
        self._connect_signals()

    def _connect_signals(self) -> None:
        self.save_button.clicked.connect(self._on_save_clicked)

    def save_png(self, path: str | Path) -> None:
        """The chart as it is on screen (its size) into a PNG file; OSError when not written."""
        if not self.view.grab().save(str(path), "PNG"):
            raise OSError(
                f"could not write the chart to {path}: choose a folder you may write to, "
                "and a name ending in .png"
            )
        self.saved.emit(str(path))

    @Slot()
    def _on_save_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save chart as PNG", f"{self.file_stem}.png", "PNG images (*.png)"
        )
        if not path:
            return
        if not path.lower().endswith(".png"):
            path += ".png"
        try:
            self.save_png(path)
        except OSError as error:
            self.message.setText(f"Not saved: {error}.")
        else:
            self.message.setText(f"Saved {path}")

    def _clear(self, title: str) -> None:
        """Remove the previous values' series and axes before drawing new ones."""
        self.chart.removeAllSeries()  # deletes them
        for axis in self.chart.axes():
            self.chart.removeAxis(axis)
            axis.deleteLater()
        self.chart.setTitle(title)
        self.message.setText("")

    def _draw_bars(self, title: str, bars: Bars, value_title: str, decimals: int = 0) -> None:
        self._clear(title)
        series = QBarSeries()
        for name, heights in bars.sets:
            bar_set = QBarSet(name)
            bar_set.append(list(heights))
            bar_set.setLabelColor(QColor(INK))
            series.append(bar_set)
        series.setLabelsVisible(True)
        # Above the bar: inside, a short bar's figure would not fit.
        series.setLabelsPosition(QAbstractBarSeries.LabelsPosition.LabelsOutsideEnd)
        # Significant digits: whole units in full; a ratio such as turnover to 3 (4.33, 12.5).
        series.setLabelsPrecision(3 if decimals else 12)
        self.chart.addSeries(series)
        categories = QBarCategoryAxis()
        categories.append(list(bars.categories))
        categories.setTruncateLabels(False)  # a reason code cut to "damag..." is not read
        if len(bars.categories) > SIDE_BY_SIDE:
            categories.setLabelsAngle(-45)
        self.chart.addAxis(categories, Qt.AlignmentFlag.AlignBottom)
        series.attachAxis(categories)
        values = QValueAxis()
        values.setTitleText(value_title)
        values.setLabelFormat(f"%.{decimals}f")
        highest = max((v for _, vs in bars.sets for v in vs), default=0.0)
        # Nothing to show still gets a scale of whole numbers, not 0, 0, 0, 1, 1, 1.
        values.setRange(0, highest * 1.15 if highest > 0 else 5)
        values.applyNiceNumbers()
        self.chart.addAxis(values, Qt.AlignmentFlag.AlignLeft)
        series.attachAxis(values)
        self.chart.legend().setVisible(len(bars.sets) > 1)


class AccuracyChart(ReportChart):
    """Inventory-record accuracy per day: a line of percent per UTC day with a count."""

    file_stem = "accuracy"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Inventory-record accuracy per day", parent)

    def show_rows(self, rows: Sequence[AccuracyRow]) -> None:
        """`AccuracyReport.by_day`: a day without a count has no point (the line joins the
        days on either side)."""
        points = accuracy_points(rows)
        if not points:
            self._clear("Inventory-record accuracy per day: no location was counted")
        else:
            first, last = points[0][0].date(), points[-1][0].date()
            self._clear(f"Inventory-record accuracy per day, {first} .. {last} (UTC)")
        series = QLineSeries()
        series.setName("Accuracy %")
        series.replace([QPointF(moment.timestamp() * 1000, pct) for moment, pct in points])
        series.setPointsVisible(len(points) <= MARKED_POINTS)
        self.chart.addSeries(series)
        days = QDateTimeAxis()
        days.setFormat("MM-dd")  # the year is in the title; a full date does not fit 7 times
        days.setTickCount(max(2, min(len(points), 7)))
        if points:
            day_ms = 86_400_000
            start, end = points[0][0].timestamp() * 1000, points[-1][0].timestamp() * 1000
            if start == end:
                start, end = start - day_ms, end + day_ms
            days.setRange(_moment(start), _moment(end))
        else:
            days.setLabelsVisible(False)  # no day to label (it would say 01-01, of 1970)
        self.chart.addAxis(days, Qt.AlignmentFlag.AlignBottom)
        series.attachAxis(days)
        percent = QValueAxis()
        percent.setRange(0, 100)
        percent.setLabelFormat("%.0f %%")
        percent.setTitleText("matched of counted")
        self.chart.addAxis(percent, Qt.AlignmentFlag.AlignLeft)
        series.attachAxis(percent)
        self.chart.legend().setVisible(False)


def _moment(ms: float) -> QDateTime:
    return QDateTime.fromMSecsSinceEpoch(round(ms))


class AdjustmentsChart(ReportChart):
    """Adjustments by reason: units in (gains) and out (losses) side by side per reason."""

    file_stem = "adjustments"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Adjustments by reason", parent)

    def show_table(self, table: ReportTable) -> None:
        bars = adjustment_bars(table)
        title = table.title if bars.categories else f"{table.title}: none"
        self._draw_bars(title, bars, "units")


class AgeChart(ReportChart):
    """Units on hand by age bucket (days since receipt, first in, first out)."""

    file_stem = "age"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Inventory age", parent)

    def show_table(self, table: ReportTable) -> None:
        self._draw_bars(table.title, age_bars(table), "units on hand")


class TurnoverChart(ReportChart):
    """Turnover (demand / average on hand) per ABC class."""

    file_stem = "turnover"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Turnover by ABC class", parent)

    def show_table(self, table: ReportTable) -> None:
        self._draw_bars(f"{table.title}, by ABC class", turnover_bars(table), "turnover", 1)


class ChartsPanel(QWidget):
    """The four charts in a 2 x 2 grid, to be placed in a tab of the supervisor's screen; the
    screen runs the reports on its runner and hands the values to the `show_*` methods."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.accuracy = AccuracyChart()
        self.adjustments = AdjustmentsChart()
        self.age = AgeChart()
        self.turnover = TurnoverChart()
        grid = QGridLayout(self)
        grid.addWidget(self.accuracy, 0, 0)
        grid.addWidget(self.adjustments, 0, 1)
        grid.addWidget(self.age, 1, 0)
        grid.addWidget(self.turnover, 1, 1)

    def show_accuracy(self, rows: Sequence[AccuracyRow]) -> None:
        """`AccuracyReport.by_day` (app/adapters/db/accuracy.py `accuracy`)."""
        self.accuracy.show_rows(rows)

    def show_adjustments(self, table: ReportTable) -> None:
        """The adjustments report by reason (app/adapters/db/reports_stock.py)."""
        self.adjustments.show_table(table)

    def show_age(self, table: ReportTable) -> None:
        """The age report (app/adapters/db/reports_flow.py `age`)."""
        self.age.show_table(table)

    def show_turnover(self, table: ReportTable) -> None:
        """The turnover report by ABC class (`turnover_report(..., by_class=True)`)."""
        self.turnover.show_table(table)
