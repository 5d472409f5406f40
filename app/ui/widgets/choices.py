"""Codes the user may pick on screen instead of scanning (open receipts, open orders)."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QAbstractItemView, QListView, QListWidget, QListWidgetItem, QWidget

from app.ui.widgets.theme import BODY_PT, TOUCH_PX, font

CELL = QSize(240, TOUCH_PX)
SPACING = 6
MAX_ROWS = 2
TILES = """
QListWidget#choices { background: transparent; border: none; }
QListWidget#choices::item {
    border: 2px solid #455a64; border-radius: 8px; background: #e3f2fd; color: #0d47a1;
}
"""


class ChoiceList(QListWidget):
    """One big tile per code, left to right; a tap on a tile emits `chosen(code)`, the same as
    scanning it. Hidden while there is nothing to choose."""

    chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("choices")
        self.setFont(font(BODY_PT, bold=True))
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setViewMode(QListView.ViewMode.ListMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setSpacing(SPACING)
        self.setUniformItemSizes(True)
        self.setStyleSheet(TILES)
        self._codes: tuple[str, ...] = ()
        self.hide()
        self._connect_signals()

    def _connect_signals(self) -> None:
        self.itemClicked.connect(self._on_item_clicked)

    @property
    def codes(self) -> tuple[str, ...]:
        return self._codes

    def show_choices(self, codes: tuple[str, ...]) -> None:
        if codes != self._codes:
            self._codes = codes
            self.clear()
            for code in codes:
                item = QListWidgetItem(code)  # list items never interpret markup
                item.setData(Qt.ItemDataRole.UserRole, code)
                item.setSizeHint(CELL)
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self.addItem(item)
            self._fit_height()
        self.setVisible(bool(codes))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_height()

    def _fit_height(self) -> None:
        """As tall as the rows of tiles need (at most MAX_ROWS, then it scrolls): no empty band
        between the prompt and the list of scans."""
        per_row = max(1, self.viewport().width() // (CELL.width() + 2 * SPACING))
        rows = min(MAX_ROWS, max(1, -(-len(self._codes) // per_row)))
        height = rows * (CELL.height() + 2 * SPACING) + 2 * self.frameWidth()
        if height != self.height():
            self.setFixedHeight(height)

    def choose(self, code: str) -> None:
        """A tap on `code`'s tile."""
        row = self._codes.index(code)
        self._on_item_clicked(self.item(row))

    @Slot(QListWidgetItem)
    def _on_item_clicked(self, item: QListWidgetItem) -> None:
        self.chosen.emit(str(item.data(Qt.ItemDataRole.UserRole)))
