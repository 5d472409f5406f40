"""The on-screen keypad: digits for a quantity or a PIN, big enough for gloved hands."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.domain.workflow import Entry
from app.ui.widgets.theme import BODY_PT, PROMPT_PT, plain_label, touch_button

MAX_DIGITS = 12
KEY_PX = 64
"""Keys a little under TOUCH_PX (still 17 mm at 96 dpi), so the keypad fits a 768-pixel screen."""
MASK = "\u25cf"  # a black circle per PIN digit
PURPOSE = {None: "Quantity", Entry.QUANTITY: "Quantity", Entry.PIN: "PIN"}
CLEAR, BACKSPACE, ENTER = "clear", "backspace", "enter"


class KeypadWidget(QFrame):
    """0-9, clear, backspace and Enter; Enter sends the digits through `entered` and empties the
    keypad. For a PIN the display shows a dot per digit, never the digit."""

    entered = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setObjectName("keypad")
        self._entry: Entry | None = None
        self._text = ""
        self._purpose = plain_label(PURPOSE[None], BODY_PT)
        self._purpose.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self._display = plain_label("", PROMPT_PT, bold=True)
        self._display.setObjectName("keypad-display")
        self._display.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._display.setMinimumHeight(KEY_PX)
        self._buttons: dict[str, QPushButton] = {}
        self._build()
        self._connect_signals()

    def _build(self) -> None:
        grid = QGridLayout()
        grid.setSpacing(8)
        rows = (("7", "8", "9"), ("4", "5", "6"), ("1", "2", "3"), (CLEAR, "0", BACKSPACE))
        labels = {CLEAR: "Clear", BACKSPACE: "\u232b"}
        for r, row in enumerate(rows):
            for c, key in enumerate(row):
                button = touch_button(labels.get(key, key), PROMPT_PT if key.isdigit() else 18)
                button.setObjectName(f"key-{key}")
                button.setMinimumSize(KEY_PX + 16, KEY_PX)
                self._buttons[key] = button
                grid.addWidget(button, r, c)
        enter = touch_button("Enter")
        enter.setMinimumHeight(KEY_PX)
        enter.setObjectName(f"key-{ENTER}")
        self._buttons[ENTER] = enter
        grid.addWidget(enter, len(rows), 0, 1, 3)
        top = QHBoxLayout()
        top.addWidget(self._purpose, 1)
        top.addWidget(self._display, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 8)
        layout.addLayout(top)
        layout.addLayout(grid)

    def _connect_signals(self) -> None:
        for key, button in self._buttons.items():
            button.clicked.connect(lambda _=False, key=key: self._on_key(key))

    @property
    def entry(self) -> Entry | None:
        return self._entry

    @property
    def text(self) -> str:
        return self._text

    @property
    def display(self) -> QLabel:
        return self._display

    def set_entry(self, entry: Entry | None) -> None:
        """What the digits are for; a change of purpose forgets digits typed for the old one."""
        if entry is not self._entry:
            self._entry = entry
            self._text = ""
            self._purpose.setText(PURPOSE[entry])
            self._refresh()

    def press(self, key: str) -> None:
        """A key as if tapped: a digit, `clear`, `backspace` or `enter`."""
        self._buttons[key].click()

    @Slot(str)
    def _on_key(self, key: str) -> None:
        if key == ENTER:
            text, self._text = self._text, ""
            self._refresh()
            if text:
                self.entered.emit(text)
            return
        if key == CLEAR:
            self._text = ""
        elif key == BACKSPACE:
            self._text = self._text[:-1]
        elif len(self._text) < MAX_DIGITS:
            self._text += key
        self._refresh()

    def _refresh(self) -> None:
        shown = MASK * len(self._text) if self._entry is Entry.PIN else self._text
        self._display.setText(shown)
