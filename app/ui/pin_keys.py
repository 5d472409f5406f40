"""A PIN is never shown: while a step asks for one, the keyboard types into the keypad's masked
field. Digits, Backspace and Enter typed anywhere in the station window go to the keypad asking
for the PIN, as if its keys were tapped, whatever widget has focus. Typed into the manual line, a
PIN would be shown there, and Enter would send it as a scan, into the list of last scans.

`PinKeyRouter` is an application event filter, like the wedge filter, and must be installed
before it: Qt asks the filter installed last first, so the wedge filter decides about each key
before this one sees it. A scanner's burst (a supervisor's badge scanned at a PIN step) is still
a scan and never reaches the keypad; typed keys arrive here as the wedge filter lets them through
or replays them to the widget they were going to.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent, QWindow
from PySide6.QtWidgets import QWidget

from app.ui.widgets.keypad import BACKSPACE, ENTER, KeypadWidget

_KEYS = {
    Qt.Key.Key_Backspace.value: BACKSPACE,
    Qt.Key.Key_Return.value: ENTER,
    Qt.Key.Key_Enter.value: ENTER,
}
_DIGITS = frozenset("0123456789")
# A digit typed with one of these is a shortcut or a character of its own, not a PIN digit.
_CHORDS = (
    Qt.KeyboardModifier.ControlModifier
    | Qt.KeyboardModifier.AltModifier
    | Qt.KeyboardModifier.MetaModifier
)


def keypad_key(event: QKeyEvent) -> str | None:
    """The keypad key a keyboard key stands for (a digit, `backspace` or `enter`), or None."""
    if event.modifiers() & _CHORDS:
        return None
    text = event.text()
    if len(text) == 1 and text in _DIGITS:
        return text
    return _KEYS.get(event.key())


class PinKeyRouter(QObject):
    """Install with `install(app)` before the wedge filter's own; `route_to(keypad)` while a PIN
    is asked, `route_to(None)` after. Keys for other windows (a dialog) are left alone."""

    def __init__(self, window: QWidget, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._window = window
        self._keypad: KeypadWidget | None = None
        self._app: QCoreApplication | None = None

    @property
    def keypad(self) -> KeypadWidget | None:
        """The keypad that takes typed keys now, or None."""
        return self._keypad

    def install(self, app: QCoreApplication) -> None:
        self.uninstall()
        app.installEventFilter(self)
        self._app = app

    def uninstall(self) -> None:
        if self._app is not None:
            self._app.removeEventFilter(self)
            self._app = None

    def route_to(self, keypad: KeypadWidget | None) -> None:
        """The keypad asking for a PIN, or None: keys go where they always go."""
        self._keypad = keypad

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if self._keypad is None or event.type() != QEvent.Type.KeyPress:
            return False
        if not isinstance(event, QKeyEvent) or not self._in_window(watched):
            return False
        key = keypad_key(event)
        if key is None:
            return False
        self._keypad.press(key)
        event.accept()
        return True

    def _in_window(self, watched: QObject) -> bool:
        """Whether a key given to `watched` is for the station window: its window-system window
        (which hands keys on to the focused widget), or one of its widgets."""
        if isinstance(watched, QWindow):
            return watched is self._window.windowHandle()
        return isinstance(watched, QWidget) and watched.window() is self._window
