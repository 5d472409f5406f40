"""Typing a code instead of scanning it: for a damaged label, a station without a scanner, or a
first try of the demo. What is typed goes to the station as a manual scan, interpreted exactly
like a barcode; a real scanner's burst never lands here (the wedge filter takes it whole). While a
PIN is asked for, the line takes nothing: the keyboard types into the keypad (app.ui.pin_keys)."""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QPushButton, QWidget

from app.domain.interpret import MAX_SCAN_LENGTH
from app.ui.widgets.theme import BODY_PT, font

PLACEHOLDER = "Type a code and press Enter (a label you cannot scan)"
PIN_PLACEHOLDER = "PIN: type it on the keypad or the keyboard (shown as dots), then Enter"


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

    @property
    def pin_asked(self) -> bool:
        return self.line.isReadOnly()

    def set_pin_asked(self, asked: bool) -> None:
        """While a PIN is asked for, the line is emptied (digits typed just before the request
        arrived may be the PIN's first ones) and takes no text and no Enter; it keeps the focus,
        so typing goes on here once the PIN is in."""
        if asked == self.pin_asked:
            return
        if asked:
            self.line.clear()
        self.line.setReadOnly(asked)
        self.line.setPlaceholderText(PIN_PLACEHOLDER if asked else PLACEHOLDER)
        self.send.setEnabled(not asked)

    @Slot()
    def _on_submit(self) -> None:
        if self.pin_asked:
            return  # Enter belongs to the keypad while a PIN is asked for
        text = self.line.text()
        if text.strip():
            self.typed.emit(text)
        self.line.clear()
