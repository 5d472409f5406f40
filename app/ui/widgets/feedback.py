"""What the station says: the feedback banner for the last input, the prompt for the next one,
and the context lines under it."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPaintEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from app.domain.workflow import Level
from app.services.station_view import StationView
from app.ui.widgets.theme import (
    BANNER_PT,
    BODY_PT,
    ERROR_RED,
    IDLE_SLATE,
    INK,
    OK_GREEN,
    PROMPT_PT,
    WARNING_AMBER,
    WHITE,
    fill,
    font,
)

BANNER_COLOURS = {
    Level.OK: (OK_GREEN, WHITE),
    Level.WARNING: (WARNING_AMBER, INK),
    Level.ERROR: (ERROR_RED, WHITE),
}


IDLE_TEXT = "Ready. What each scan did shows here: green done, amber note, red refused."


class ScanFeedbackBanner(QLabel):
    """Green for ok, amber for a warning, red for an error, in large plain text.

    `painted(input_seq)` is emitted right after the banner has painted a newly shown view: the
    moment a worker can see what became of a scan (a benchmark times scan terminator -> painted).
    A view without feedback leaves the banner's words and colour as they were."""

    painted = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        self.setWordWrap(True)
        self.setFont(font(BANNER_PT, bold=True))
        self.setMargin(12)
        self.setMinimumHeight(80)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setObjectName("banner")
        self._level: Level | None = None
        self._pending: int | None = None
        fill(self, IDLE_SLATE, WHITE)
        self.setText(IDLE_TEXT)

    @property
    def level(self) -> Level | None:
        """The colour showing (None: no feedback yet)."""
        return self._level

    def show_view(self, view: StationView) -> None:
        if view.feedback is not None:
            self._set(view.feedback.level, view.feedback.text)
        self._pending = view.input_seq
        self.update()

    def show_message(self, level: Level, text: str) -> None:
        """A message from the station itself rather than from the session (a fault, the
        scanner's keyboard-layout check)."""
        self._set(level, text)

    def _set(self, level: Level, text: str) -> None:
        if level is not self._level:
            self._level = level
            fill(self, *BANNER_COLOURS[level])
        self.setText(text)

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self._pending is not None:
            seq, self._pending = self._pending, None
            self.painted.emit(seq)


class PromptLabel(QLabel):
    """The next instruction, in the largest type on the screen."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        self.setWordWrap(True)
        self.setFont(font(PROMPT_PT, bold=True))
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setObjectName("prompt")


class ContextLines(QLabel):
    """Context under the prompt (receipt progress, the pick line, a discrepancy), one per line;
    hidden when there is none."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        self.setWordWrap(True)
        self.setFont(font(BODY_PT))
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setObjectName("lines")
        self.hide()

    def show_lines(self, lines: tuple[str, ...]) -> None:
        self.setText("\n".join(lines))
        self.setVisible(bool(lines))
