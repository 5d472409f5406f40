"""Keyboard-wedge scanners, application-wide: scans out of the key stream, typing left alone.

`WedgeFilter` is an event filter installed on the QApplication, so it sees every key whatever
widget has focus. It asks `WedgeAssembler` (app.domain.wedge) about each key press:

- **Hold back.** A key a scanner could type (printable characters, GS, the terminators) after a
  pause is taken out of the event stream and kept, with the object it was going to, while it may
  still turn into a scan.
- **Scan.** A terminator arriving quickly after enough held keys makes a scan: the held keys,
  their releases and the terminator are dropped, so nothing of the burst reaches the focused
  widget (no characters, no Enter pressing a button, no Tab moving focus), and `scanned` is
  emitted with the immutable `Scan` (or `layout_checked` with a `LayoutReport` for the
  keyboard-layout check barcode).
- **Replay.** When the held keys turn out to be typing (a gap longer than the threshold, too few
  keys before the terminator, no key for `max_gap_ms`, a mouse click, a key no scanner types),
  copies of the held presses and releases are sent, in their original order, to the objects they
  were going to, before the key that decided it. So no typed key is lost or reordered, and it
  reaches the widget that had focus when it was typed even if focus has moved since.

The trade-off: every key that starts a possible burst waits for the gap threshold (40 ms by
default) plus a few milliseconds before the widget sees it; typing feels the same (people type a
key every 150 ms or more), but nothing can tell a scanner from a fast typist sooner. Keys a
scanner never types (arrows, F-keys, Backspace, Ctrl shortcuts) and modifier keys pass at once,
untouched.

Replayed and passed-through keys are delivered as copies with `QCoreApplication.sendEvent`, which
gives shortcuts their usual chance at them (the filter accepts ShortcutOverride for keys it takes,
so a shortcut never fires on a key that may belong to a scan). The filter recognises its own
copies, and the ShortcutOverride Qt makes for them, by identity rather than by a global flag, so
keys typed in a dialog opened by a replayed key are still filtered.

Time comes from the key events' timestamps (the window system's clock); events without one (0)
are stamped with a monotonic clock. The idle timer runs on the station's clock, so a GUI thread
busy for longer than the threshold could fire it while the rest of a burst is still queued: the
timer therefore looks again after the queue had its turn before it gives held keys up as typing.
Should a burst still be given up half-way, the rest of it goes to the widget as typing too (a
burst only starts after a pause), never as a scan of its own.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QKeyEvent, QKeySequence, QWindow
from PySide6.QtWidgets import QWidget

from app.domain.scan import Scan
from app.domain.wedge import (
    Action,
    Keystroke,
    LayoutReport,
    WedgeAssembler,
    WedgeConfig,
    check_layout,
    is_layout_check,
)

_KEY_EVENTS = {QEvent.Type.KeyPress, QEvent.Type.KeyRelease, QEvent.Type.ShortcutOverride}
# Input that is not a key: what was held before it was typing, and must arrive before it.
_INTERRUPTIONS = {
    QEvent.Type.MouseButtonPress,
    QEvent.Type.MouseButtonDblClick,
    QEvent.Type.Wheel,
    QEvent.Type.TouchBegin,
    QEvent.Type.TabletPress,
    QEvent.Type.WindowDeactivate,
}
# Keys that only change what other keys type: they pass at once and neither start nor break a
# burst (a scanner holds Shift for capitals and Ctrl for Ctrl+]).
_MODIFIER_KEYS = {
    Qt.Key.Key_Shift,
    Qt.Key.Key_Control,
    Qt.Key.Key_Alt,
    Qt.Key.Key_AltGr,
    Qt.Key.Key_Meta,
    Qt.Key.Key_Super_L,
    Qt.Key.Key_Super_R,
    Qt.Key.Key_Hyper_L,
    Qt.Key.Key_Hyper_R,
    Qt.Key.Key_CapsLock,
    Qt.Key.Key_NumLock,
    Qt.Key.Key_ScrollLock,
    Qt.Key.Key_Mode_switch,
}
# Dead keys type nothing themselves; the character they compose arrives with the next key.
_DEAD_KEYS = range(Qt.Key.Key_Dead_Grave.value, Qt.Key.Key_Dead_Longsolidusoverlay.value + 1)

# Before giving held keys up as typing, the idle timer looks again after _RECHECK_MS, and keeps
# looking (up to _RECHECKS times) while it fires more than _STALL_MS late: the GUI thread was busy
# and key presses may be queued behind the timer.
_RECHECK_MS = 5
_RECHECKS = 4
_STALL_MS = 10


def _monotonic_ms() -> int:
    return time.monotonic_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class _Held:
    """A key event taken out of the stream: a copy, and the object it was going to."""

    target: QObject
    event: QKeyEvent


class WedgeFilter(QObject):
    """Install with `install(app)`; connect `scanned` (and `layout_checked`) in the window's
    `_connect_signals()`. Both are emitted on the GUI thread."""

    scanned = Signal(Scan)
    layout_checked = Signal(LayoutReport)

    def __init__(
        self,
        config: WedgeConfig | None = None,
        clock: Callable[[], int] = _monotonic_ms,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._assembler = WedgeAssembler(config)
        self._clock = clock
        self._held: list[_Held] = []
        self._unreleased_held: Counter[int] = Counter()  # held presses whose release is not held
        self._scanned_down: Counter[int] = Counter()  # keys of a scan whose release is to come
        self._in_flight: list[QKeyEvent] = []  # our copies being delivered, innermost last
        self._app: QCoreApplication | None = None
        self._idle = QTimer(self)
        self._idle.setSingleShot(True)
        self._idle.setTimerType(Qt.TimerType.PreciseTimer)
        self._idle_due = 0  # when the idle timer should fire, by the monotonic clock
        self._rechecks = 0
        self._connect_signals()

    @property
    def config(self) -> WedgeConfig:
        return self._assembler.config

    def install(self, app: QCoreApplication) -> None:
        """Start watching every key of the application."""
        self.uninstall()
        app.installEventFilter(self)
        self._app = app

    def uninstall(self) -> None:
        """Stop watching; keys still held are delivered first."""
        self._release_held()
        if self._app is not None:
            self._app.removeEventFilter(self)
            self._app = None

    def _connect_signals(self) -> None:
        self._idle.timeout.connect(self._on_idle)

    @Slot()
    def _on_idle(self) -> None:
        """No key for the gap threshold: what is held was typed by a person. Look once more a
        moment later first (and again while the timer keeps firing late): a busy GUI thread may
        have left key presses queued behind this timer, and they decide whether a burst goes on."""
        late = _monotonic_ms() - self._idle_due > _STALL_MS
        if self._rechecks == 0 or (late and self._rechecks < _RECHECKS):
            self._rechecks += 1
            self._start_idle(_RECHECK_MS)
        else:
            self._release_held()

    def _start_idle(self, interval_ms: int) -> None:
        self._idle_due = _monotonic_ms() + interval_ms
        self._idle.start(interval_ms)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind in _KEY_EVENTS and isinstance(event, QKeyEvent):
            if self._in_flight and self._is_in_flight(event):
                return False
            return self._on_key(watched, event)
        if kind in _INTERRUPTIONS and self._held:
            self._release_held()
        return False

    def _on_key(self, watched: QObject, event: QKeyEvent) -> bool:
        key = event.key()
        if key in _MODIFIER_KEYS or key in _DEAD_KEYS:
            return False
        if event.type() == QEvent.Type.KeyRelease:
            return self._on_release(watched, event)
        stroke = self._stroke(event)
        if event.type() == QEvent.Type.ShortcutOverride:
            if self._assembler.char_of(stroke) is not None:
                event.accept()  # the focus object "wants" the key: no shortcut fires on it
                return True
            self._release_held()  # held keys go before the shortcut runs
            return False
        self._scanned_down.pop(key, None)  # a new press: any release still awaited got lost
        verdict = self._assembler.press(stroke)
        if verdict.release:
            self._replay()
        if verdict.action is Action.OTHER:
            return False
        if verdict.action is Action.HOLD:
            self._held.append(_Held(self._target(watched), _copy(event)))
            self._unreleased_held[key] += 1
            self._rechecks = 0
            self._start_idle(self.config.max_gap_ms)
        elif verdict.action is Action.TYPE:
            self._deliver(_Held(self._target(watched), _copy(event)))
        elif verdict.scan is not None:
            self._swallow_held(key)
            self._emit(verdict.scan)
        event.accept()
        return True

    def _on_release(self, watched: QObject, event: QKeyEvent) -> bool:
        key = event.key()
        if self._unreleased_held[key] > 0:
            self._unreleased_held[key] -= 1
            self._held.append(_Held(self._target(watched), _copy(event)))
        elif self._scanned_down[key] > 0:
            self._scanned_down[key] -= 1
        else:
            return False
        event.accept()
        return True

    def _stroke(self, event: QKeyEvent) -> Keystroke:
        modifiers = event.modifiers()
        ctrl = bool(modifiers & Qt.KeyboardModifier.ControlModifier)
        text = event.text()
        return Keystroke(
            text=text,
            at_ms=event.timestamp() or self._clock(),
            name=QKeySequence(event.key()).toString() if ctrl or not text else "",
            ctrl=ctrl,
            alt=bool(modifiers & Qt.KeyboardModifier.AltModifier),
            repeat=event.isAutoRepeat(),
        )

    @staticmethod
    def _target(watched: QObject) -> QObject:
        """Where Qt would deliver a key it handed to `watched`: a window passes keys on to its
        keyboard grabber or focus widget."""
        if isinstance(watched, QWindow):
            return QWidget.keyboardGrabber() or watched.focusObject() or watched
        return watched

    def _swallow_held(self, terminator: int) -> None:
        """A scan: drop every held key; their releases (and the terminator's) are dropped too."""
        self._scanned_down.update(self._unreleased_held)
        self._scanned_down[terminator] += 1
        self._held.clear()
        self._unreleased_held.clear()
        self._idle.stop()

    def _release_held(self) -> None:
        self._assembler.flush()
        self._replay()

    def _replay(self) -> None:
        """Deliver the held keys as typing, in the order they came."""
        self._idle.stop()
        held, self._held = self._held, []
        self._unreleased_held.clear()
        for item in held:
            self._deliver(item)

    def _deliver(self, item: _Held) -> None:
        if not shiboken6.isValid(item.target):
            return  # the widget was deleted; its keys would have gone with it
        self._in_flight.append(item.event)
        try:
            QCoreApplication.sendEvent(item.target, item.event)
        finally:
            self._in_flight.pop()

    def _is_in_flight(self, event: QKeyEvent) -> bool:
        """Our own copy (also while Qt passes it on to parent widgets), or the ShortcutOverride
        Qt sends ahead of it."""
        address = shiboken6.getCppPointer(event)[0]
        for copy in self._in_flight:
            if shiboken6.getCppPointer(copy)[0] == address:
                return True
            if event.type() == QEvent.Type.ShortcutOverride and _same_key(event, copy):
                return True
        return False

    def _emit(self, scan: Scan) -> None:
        if is_layout_check(scan.text):
            self.layout_checked.emit(check_layout(scan.text))
        else:
            self.scanned.emit(scan)


def _copy(event: QKeyEvent) -> QKeyEvent:
    """The original event lives only while Qt delivers it; a held key needs its own."""
    copy = QKeyEvent(
        event.type(),
        event.key(),
        event.modifiers(),
        event.nativeScanCode(),
        event.nativeVirtualKey(),
        event.nativeModifiers(),
        event.text(),
        event.isAutoRepeat(),
        event.count(),
    )
    copy.setTimestamp(event.timestamp())
    return copy


def _same_key(event: QKeyEvent, other: QKeyEvent) -> bool:
    return (event.key(), event.modifiers(), event.text(), event.timestamp()) == (
        other.key(),
        other.modifiers(),
        other.text(),
        other.timestamp(),
    )
