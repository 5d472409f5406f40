"""The Charts tab of the supervisor's screen: accuracy over time, adjustments by reason, age
buckets and turnover by ABC class (app/ui/charts.py), read together on the screen's runner from
the same reports the command line prints, each chart exportable as PNG."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFrame, QHBoxLayout, QScrollArea, QVBoxLayout, QWidget

from app.domain.workflow import Level
from app.ui.charts import ChartsPanel
from app.ui.widgets.theme import BODY_PT, plain_label, touch_button

if TYPE_CHECKING:
    from app.bootstrap import ChartData
    from app.ui.supervisor import SupervisorScreen

CHART_DAYS = 90
"""The period the charts cover (the age chart is as of today)."""


class ChartsTab(QWidget):
    def __init__(self, screen: SupervisorScreen) -> None:
        super().__init__()
        self._screen = screen
        self.setObjectName("supervisor-charts")
        self.panel = ChartsPanel()
        self.refresh_button = touch_button("Refresh")
        top = QHBoxLayout()
        top.addWidget(plain_label(f"The last {CHART_DAYS} days", BODY_PT), 1)
        top.addWidget(self.refresh_button)
        # The charts keep a size they can be read at; on a small screen the tab scrolls.
        self.area = QScrollArea()
        self.area.setWidgetResizable(True)
        self.area.setFrameShape(QFrame.Shape.NoFrame)
        self.area.setWidget(self.panel)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.area, 1)
        self.refresh_button.clicked.connect(self.refresh)

    def refresh(self) -> None:
        self._screen.run(
            lambda desk: desk.charts(CHART_DAYS), self._show, "charts", "Reading the charts"
        )

    def _show(self, data: ChartData) -> None:
        self.panel.show_accuracy(data.accuracy)
        self.panel.show_adjustments(data.adjustments)
        self.panel.show_age(data.age)
        self.panel.show_turnover(data.turnover)
        self._screen.say(Level.OK, "Charts up to date: Save as PNG under each to keep one.", self)
