"""The last scans, newest first: what was scanned, what the station took it for, and its fate in
colour (grey queued, green confirmed, red refused or rejected, plain accepted)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from app.domain.gs1 import escaped
from app.services.station_view import ScanRow, ScanState
from app.ui.widgets.theme import TABLE_PT, font

COLUMNS = ("Scanned", "Meaning", "State")
SCANNED_SHARE = 32
"""Percent of the table's width for the scanned text; the meaning takes the rest."""
STATE_COLOURS: dict[ScanState, tuple[QColor, QColor] | None] = {
    ScanState.QUEUED: (QColor("#e0e0e0"), QColor("#555555")),
    ScanState.CONFIRMED: (QColor("#c8e6c9"), QColor("#1b5e20")),
    ScanState.REFUSED: (QColor("#ffcdd2"), QColor("#b71c1c")),
    ScanState.REJECTED: (QColor("#ffcdd2"), QColor("#b71c1c")),
    ScanState.ACCEPTED: None,
}
"""(background, text) per state; None: the table's own colours."""


class RecentScansTable(QTableWidget):
    """Read-only: nothing in it can be selected, edited or focused. Scanned text is shown with
    GS as <GS> and every invisible character escaped (a bidi override would otherwise turn the
    cell's text around), and table cells never interpret markup."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setObjectName("recent-scans")
        self.setHorizontalHeaderLabels(list(COLUMNS))
        self.setFont(font(TABLE_PT))
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(40)
        header = self.horizontalHeader()
        header.setFont(font(TABLE_PT, bold=True))
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.setColumnWidth(0, self.viewport().width() * SCANNED_SHARE // 100)

    def show_scans(self, rows: tuple[ScanRow, ...]) -> None:
        self.setRowCount(len(rows))
        for r, row in enumerate(rows):
            cells = (escaped(row.text), row.meaning, row.state.value)
            colours = STATE_COLOURS[row.state]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if colours is not None:
                    item.setBackground(QBrush(colours[0]))
                    item.setForeground(QBrush(colours[1]))
                self.setItem(r, c, item)

    def state_of(self, row: int) -> str:
        item = self.item(row, 2)
        return item.text() if item is not None else ""
