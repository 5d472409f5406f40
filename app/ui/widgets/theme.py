"""Type sizes and colours for a station read at arm's length by a worker standing in gloves.

Every label that may show scanned or database text is made with `plain_label`: scanned text is
hostile, and a QLabel left to guess would render `<b>...</b>` or `<img src=...>` as rich text.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QLabel, QPushButton, QSizePolicy, QWidget

PROMPT_PT = 30
BANNER_PT = 24
TITLE_PT = 22
BODY_PT = 18
BUTTON_PT = 18
TABLE_PT = 15
STATUS_PT = 13

TOUCH_PX = 72
"""Height of a touch button: about 19 mm at 96 dpi, more than a gloved fingertip."""

OK_GREEN = QColor("#1b7a34")
WARNING_AMBER = QColor("#f2a900")
ERROR_RED = QColor("#c62828")
IDLE_SLATE = QColor("#37474f")
WHITE = QColor("#ffffff")
INK = QColor("#111111")


def font(points: int, bold: bool = False) -> QFont:
    result = QFont()
    result.setPointSize(points)
    result.setBold(bold)
    return result


def plain_label(
    text: str = "", points: int = BODY_PT, bold: bool = False, parent: QWidget | None = None
) -> QLabel:
    """A word-wrapped label that shows its text literally, whatever the text holds."""
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
    label.setWordWrap(True)
    label.setFont(font(points, bold))
    # Ignored width: a long unbroken scan wraps or is cut, it never widens the window.
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    label.setText(text)
    return label


def touch_button(text: str, points: int = BUTTON_PT, parent: QWidget | None = None) -> QPushButton:
    """A big button that never takes keyboard focus: Enter and Space from a scanner or a keyboard
    never press it by accident."""
    button = QPushButton(text, parent)
    button.setFont(font(points, bold=True))
    button.setMinimumHeight(TOUCH_PX)
    button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    button.setAutoDefault(False)
    button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    return button


def fill(widget: QWidget, background: QColor, foreground: QColor) -> None:
    """Colour a widget's background and text through its palette (cheap to change per scan)."""
    palette = widget.palette()
    palette.setColor(QPalette.ColorRole.Window, background)
    palette.setColor(QPalette.ColorRole.WindowText, foreground)
    widget.setPalette(palette)
    widget.setAutoFillBackground(True)
