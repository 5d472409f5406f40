"""Typing a code instead of scanning it: for a damaged label, a station without a scanner, or a
first try of the demo. What is typed goes to the station as a manual scan, interpreted exactly
like a barcode; a real scanner's burst never lands here (the wedge filter takes it whole)."""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QPushButton, QWidget

from app.domain.interpret import MAX_SCAN_LENGTH
from app.ui.widgets.theme import BODY_PT, font

PLACEHOLDER = "Type a code and press Enter (a label you cannot scan)"


class ManualEntry(QWidget):
    """A line for typed codes; `typed(text)` on Enter or the button, then the line is cleared."""

    typed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.line = QLineEdit()
        self.line.setObjectName("manual-entry")
        self.line.setFont(font(BODY_PT))
        self.line.setPlaceholderText(PLACEHOLDER)
        self.line.setMaxLength(MAX_SCAN_LENGTH)
        self.line.setClearButtonEnabled(True)
        self.send = QPushButton("Enter")
        self.send.setFont(font(BODY_PT, bold=True))
        self.send.setAutoDefault(False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.line, 1)
        layout.addWidget(self.send)
        self._connect_signals()

    def _connect_signals(self) -> None:
        self.line.returnPressed.connect(self._on_submit)
        self.send.clicked.connect(self._on_submit)

    @Slot()
    def _on_submit(self) -> None:
        text = self.line.text()
        if text.strip():
            self.typed.emit(text)
        self.line.clear()
