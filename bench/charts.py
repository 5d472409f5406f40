"""Charts (issue 14 point 3): QtCharts (PySide6's add-on, which app/ui/charts.py uses) beside
pyqtgraph, offscreen, on the data the supervisor's four charts get from a 1,000,000-bin
warehouse, and a stress line.

The charts draw aggregates, so their size does not grow with the bins: a year of accuracy is 365
points, adjustments a dozen reasons (units in and out), age 6 buckets, turnover 3 classes. The
stress case is a line of 100,000 points (what drawing per-bin or per-move data would ask).

Each library draws the same thing: a line over a date axis, or labelled bars (a figure over each
bar) under category labels, in an 800 x 500 widget. "build" is making the widget and its
series from plain lists; "render" is `widget.grab().toImage()` (what a PNG export does, and what
the screen paints). Medians of --repeat runs after one warm-up. "rss" is the growth of the
process's resident memory over one build and render (after the import, which "import ms"
times), each case in a fresh process (a Python
allocation tracer does not see Qt's C++ memory). The last column is pyqtgraph's total over
QtCharts's, measured in the same run (STYLE.md rule 21). "app.ui.charts" is the shipped widget
(QtCharts), fed the report values as the supervisor's screen feeds it.

    .venv/bin/python bench/charts.py [--repeat N] [--pyqtgraph-path DIR] [--json]

pyqtgraph is not a dependency of Perpetua: install it to compare (`pip install --target DIR
pyqtgraph colorama` and pass --pyqtgraph-path DIR, or into the venv); without it only QtCharts is
measured.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from machine import machine as machine_info
from PySide6.QtWidgets import QApplication, QWidget

WIDTH, HEIGHT = 800, 500
START = datetime(2025, 1, 1, 12, tzinfo=UTC)
REASONS = (
    "count",
    "damaged",
    "found",
    "lost",
    "expired",
    "correction",
    "theft",
    "recount",
    "return",
    "mislabel",
    "spill",
    "sample",
)
BUCKETS = ("0-30", "31-60", "61-90", "91-180", "over 180", "no receipt")


@dataclass(frozen=True)
class Line:
    seconds: list[float]
    """Since 1970: one point per day."""
    percent: list[float]


@dataclass(frozen=True)
class Bars:
    categories: list[str]
    sets: list[tuple[str, list[float]]]

    def highest(self) -> float:
        return max(h for _, heights in self.sets for h in heights)


def line_data(points: int) -> Line:
    seconds = [(START + timedelta(days=i)).timestamp() for i in range(points)]
    return Line(seconds, [90 + (i * 7919 % 1000) / 100 for i in range(points)])


CASES: dict[str, Line | Bars] = {
    "accuracy 365 days": line_data(365),
    "adjustments 12 reasons": Bars(
        list(REASONS),
        [
            ("Units in", [float(i * 37 % 200) for i in range(12)]),
            ("Units out", [float(i * 53 % 300) for i in range(12)]),
        ],
    ),
    "age 6 buckets": Bars(
        list(BUCKETS),
        [("Units", [410_000.0, 220_000, 90_000, 60_000, 30_000, 512])],
    ),
    "turnover 3 classes": Bars(["A", "B", "C"], [("Turnover", [11.2, 4.1, 0.6])]),
    "stress line 100,000 points": line_data(100_000),
}


# --- QtCharts ---------------------------------------------------------------------------------


def qtcharts_widget(data: Line | Bars) -> QWidget:
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
    from PySide6.QtCore import QDateTime, QPointF, Qt
    from PySide6.QtGui import QPainter

    chart = QChart()
    if isinstance(data, Line):
        xs, ys = data.seconds, data.percent
        line = QLineSeries()
        line.replace([QPointF(x * 1000, y) for x, y in zip(xs, ys, strict=True)])
        chart.addSeries(line)
        days = QDateTimeAxis()
        days.setFormat("MM-dd")
        days.setRange(
            QDateTime.fromMSecsSinceEpoch(round(xs[0] * 1000)),
            QDateTime.fromMSecsSinceEpoch(round(xs[-1] * 1000)),
        )
        chart.addAxis(days, Qt.AlignmentFlag.AlignBottom)
        line.attachAxis(days)
        values = QValueAxis()
        values.setRange(0, 100)
    else:
        categories, sets = data.categories, data.sets
        bars = QBarSeries()
        for name, heights in sets:
            bar_set = QBarSet(name)
            bar_set.append(heights)
            bars.append(bar_set)
        bars.setLabelsVisible(True)
        bars.setLabelsPosition(QAbstractBarSeries.LabelsPosition.LabelsOutsideEnd)
        chart.addSeries(bars)
        axis = QBarCategoryAxis()
        axis.append(categories)
        chart.addAxis(axis, Qt.AlignmentFlag.AlignBottom)
        bars.attachAxis(axis)
        values = QValueAxis()
        values.setRange(0, data.highest() * 1.15)
    chart.addAxis(values, Qt.AlignmentFlag.AlignLeft)
    for series in chart.series():
        series.attachAxis(values)
    view = QChartView(chart)
    view.setRenderHint(QPainter.RenderHint.Antialiasing)
    view.resize(WIDTH, HEIGHT)
    return view


# --- pyqtgraph --------------------------------------------------------------------------------


def pyqtgraph_widget(data: Line | Bars) -> QWidget:
    import pyqtgraph as pg

    if isinstance(data, Line):
        xs, ys = data.seconds, data.percent
        plot = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem()})
        plot.plot(xs, ys)
        plot.setYRange(0, 100)
    else:
        categories, sets = data.categories, data.sets
        plot = pg.PlotWidget()
        width = 0.8 / len(sets)
        brushes = ("#209fdf", "#99ca53")
        for k, (_, heights) in enumerate(sets):
            xs = [i - 0.4 + width * (k + 0.5) for i in range(len(categories))]
            plot.addItem(pg.BarGraphItem(x=xs, height=heights, width=width, brush=brushes[k]))
            for x, h in zip(xs, heights, strict=True):
                label = pg.TextItem(f"{h:g}", anchor=(0.5, 1))
                label.setPos(x, h)
                plot.addItem(label)
        plot.getAxis("bottom").setTicks([list(enumerate(categories))])
        plot.setYRange(0, data.highest() * 1.15)
    plot.setAntialiasing(True)
    plot.resize(WIDTH, HEIGHT)
    widget: QWidget = plot
    return widget


# --- the shipped widgets ----------------------------------------------------------------------


def shipped_widget(data: Line | Bars) -> QWidget:
    """app.ui.charts fed the values the reports give it (AccuracyRow days, ReportTables)."""
    from app.domain.accuracy import AccuracyRow
    from app.domain.report_table import Column, ColumnKind, ReportTable
    from app.ui.charts import AccuracyChart, AdjustmentsChart, ReportChart

    chart: ReportChart
    if isinstance(data, Line):
        xs, ys = data.seconds, data.percent
        accuracy = AccuracyChart()
        accuracy.show_rows(
            [
                AccuracyRow(datetime.fromtimestamp(x, UTC).date().isoformat(), 100, round(y))
                for x, y in zip(xs, ys, strict=True)
            ]
        )
        chart = accuracy
    else:
        categories, sets = data.categories, data.sets
        in_out = [*sets, ("Units out", [0.0] * len(categories))][:2]
        adjustments = AdjustmentsChart()
        adjustments.show_table(
            ReportTable(
                "Adjustments by reason",
                (
                    Column("reason", "Reason"),
                    Column("units_in", "Units in", ColumnKind.INT),
                    Column("units_out", "Units out", ColumnKind.INT),
                ),
                [
                    (str(c), round(in_out[0][1][i]), round(in_out[1][1][i]))
                    for i, c in enumerate(categories)
                ],
            )
        )
        chart = adjustments
    chart.resize(WIDTH, HEIGHT)  # the chart and its "Save as PNG" button under it
    return chart


LIBRARIES: dict[str, Callable[[Line | Bars], QWidget]] = {
    "QtCharts": qtcharts_widget,
    "pyqtgraph": pyqtgraph_widget,
    "app.ui.charts": shipped_widget,
}


MODULES = {
    "QtCharts": "PySide6.QtCharts",
    "pyqtgraph": "pyqtgraph",
    "app.ui.charts": "app.ui.charts",
}
"""What each library's first use imports: timed apart, and before the memory is measured."""


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def measure(library: str, case: str, repeat: int) -> dict[str, float]:
    """In this process: one build and render for memory, then timed runs (medians, ms)."""
    app = QApplication.instance() or QApplication([])
    make, data = LIBRARIES[library], CASES[case]
    t0 = time.perf_counter()
    importlib.import_module(MODULES[library])
    imported = (time.perf_counter() - t0) * 1000
    before = rss_mb()
    widget = make(data)
    image = widget.grab().toImage()
    assert not image.isNull() and image.width() == WIDTH
    grown = rss_mb() - before
    widget.deleteLater()
    app.processEvents()
    builds, renders = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        widget = make(data)
        t1 = time.perf_counter()
        widget.grab().toImage()
        t2 = time.perf_counter()
        widget.deleteLater()
        app.processEvents()
        builds.append((t1 - t0) * 1000)
        renders.append((t2 - t1) * 1000)
    build, render = statistics.median(builds), statistics.median(renders)
    return {
        "import_ms": imported,
        "build_ms": build,
        "render_ms": render,
        "total_ms": build + render,
        "rss_mb": grown,
    }


def in_child(library: str, case: str, repeat: int, path: str | None) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", library, case, "--repeat", str(repeat)]
    if path:
        command += ["--pyqtgraph-path", path]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    figures: dict[str, float] = json.loads(done.stdout.splitlines()[-1])
    return figures


def version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def pyqtgraph_version() -> str | None:
    try:
        import pyqtgraph
    except ImportError:
        return None
    return str(pyqtgraph.__version__)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per case (median)")
    parser.add_argument("--pyqtgraph-path", help="a folder holding pyqtgraph (pip --target)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pyqtgraph_path:
        sys.path.append(args.pyqtgraph_path)
    if args.child:
        library, case = args.child
        print(json.dumps(measure(library, case, args.repeat)))
        return
    pg_version = pyqtgraph_version()
    libraries = [lib for lib in LIBRARIES if lib != "pyqtgraph" or pg_version]
    report: dict[str, Any] = {
        "machine": machine_info(
            PySide6=version("PySide6"),
            pyqtgraph=pg_version or "not installed",
            size=f"{WIDTH}x{HEIGHT}",
            repeat=args.repeat,
        ),
        "cases": {
            case: {lib: in_child(lib, case, args.repeat, args.pyqtgraph_path) for lib in libraries}
            for case in CASES
        },
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    for key, value in report["machine"].items():
        print(f"{key}: {value}")
    head = f"{'case':<28} {'library':<14} {'import ms':>9} {'build ms':>9} {'render ms':>10} "
    head += f"{'total ms':>9} {'rss MB':>7} {'x QtCharts':>10}"
    print()
    print(head)
    print("-" * len(head))
    for case, by_library in report["cases"].items():
        base = by_library["QtCharts"]["total_ms"]
        for lib, f in by_library.items():
            print(
                f"{case:<28} {lib:<14} {f['import_ms']:>9.0f} {f['build_ms']:>9.1f} "
                f"{f['render_ms']:>10.1f} {f['total_ms']:>9.1f} {f['rss_mb']:>7.1f} "
                f"{f['total_ms'] / base:>10.2f}"
            )


if __name__ == "__main__":
    main()
