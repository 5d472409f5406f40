"""The station's screens: sign-in, and one per mode (DESIGN.md section 5). A screen shows a
`StationView` and turns taps into intents (`commandRequested`, `entrySubmitted`, `choiceMade`);
what the intents mean is the session's business. Every button is also a command barcode and a
key, so the scanner alone, or the keyboard alone, does everything a tap does.
"""

from __future__ import annotations

from typing import ClassVar

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from app.domain.interpret import CommandName, StationMode
from app.domain.workflow import Entry
from app.services.station_view import StationView
from app.ui.widgets.choices import ChoiceList
from app.ui.widgets.feedback import ContextLines, PromptLabel
from app.ui.widgets.keypad import KeypadWidget
from app.ui.widgets.recent_scans import RecentScansTable
from app.ui.widgets.theme import TITLE_PT, plain_label, touch_button

C = CommandName
COMMAND_KEYS = {
    C.CANCEL: "Esc",
    C.DONE: "F9",
    C.SHORT: "F8",
    C.SKIP: "F7",
    C.CONFIRM: "F10",
    C.LOGOUT: "F12",
}
"""Keyboard shortcuts for commands; the modes have MODE_KEYS."""
MODE_KEYS = dict(zip(StationMode, ("F1", "F2", "F3", "F4", "F5", "F6", "F11"), strict=True))
"""The modes in StationMode order: F1-F6, then F11 (ship), as F7-F10 and F12 are commands."""
SHORTCUTS: dict[str, tuple[CommandName, str | None]] = {
    **{key: (name, None) for name, key in COMMAND_KEYS.items()},
    **{key: (C.MODE, mode.value) for mode, key in MODE_KEYS.items()},
}
"""Every key the window answers, and the command (with its argument) it sends."""
COMMAND_LABELS = {
    C.DONE: "Done",
    C.CANCEL: "Cancel",
    C.CONFIRM: "Confirm",
    C.UNDO: "Undo",
    C.SKIP: "Skip",
    C.SHORT: "Short",
    C.DAMAGED: "Damaged",
    C.CANCELORDER: "Cancel order",
    C.LOGOUT: "Log out",
}
MODE_TITLES = {mode: mode.value.capitalize() for mode in StationMode}
KEYPAD_WIDTH = 330
HEADER_PT = 14
HEADER_PX = 64
"""Mode and log-out buttons: smaller than the action buttons, so six of them fit 1024 px."""


def caption(label: str, key: str | None, stacked: bool = False) -> str:
    """A button's text: what it does and its key ("Done  [F9]"; stacked: on two lines)."""
    if not key:
        return label
    return f"{label}\n{key}" if stacked else f"{label}  [{key}]"


class StationScreen(QWidget):
    """What every screen emits; `show_view` draws a view. Every screen has a keypad, shown when
    the view asks for digits."""

    keypad: KeypadWidget

    commandRequested = Signal(object, object)
    """(CommandName, argument or None): the same as scanning @CMD:NAME[:ARG]."""
    entrySubmitted = Signal(str)
    choiceMade = Signal(str)

    def show_view(self, view: StationView) -> None:
        raise NotImplementedError


class LoginScreen(StationScreen):
    """Scan your badge; a PIN keypad when the view asks for one."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("screen-login")
        self.title = plain_label("Sign in", TITLE_PT, bold=True)
        self.prompt = PromptLabel()
        self.lines = ContextLines()
        self.keypad = KeypadWidget()
        self.keypad.setFixedWidth(KEYPAD_WIDTH)
        self.keypad.hide()
        column = QVBoxLayout()
        column.addWidget(self.title)
        column.addSpacing(24)
        column.addWidget(self.prompt)
        column.addWidget(self.lines)
        column.addStretch(1)
        layout = QHBoxLayout(self)
        layout.addLayout(column, 1)
        layout.addWidget(self.keypad)
        self._connect_signals()

    def _connect_signals(self) -> None:
        self.keypad.entered.connect(self.entrySubmitted)

    def show_view(self, view: StationView) -> None:
        self.prompt.setText(view.prompt)
        self.lines.show_lines(view.lines)
        self.keypad.set_entry(view.entry)
        self.keypad.setVisible(view.entry is not None)


class ModeScreen(StationScreen):
    """A mode's screen: prompt, context, choices, the last scans, the keypad, big buttons for
    the mode's commands, and buttons to switch to the modes this operator may use."""

    mode: ClassVar[StationMode | None] = None
    title_text: ClassVar[str] = "Choose a mode"
    commands: ClassVar[tuple[CommandName, ...]] = ()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"screen-{self.mode.value if self.mode else 'menu'}")
        self.title = plain_label(self.title_text, TITLE_PT, bold=True)
        self.title.setWordWrap(False)
        self.title.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.prompt = PromptLabel()
        self.lines = ContextLines()
        self.choices = ChoiceList()
        self.scans = RecentScansTable()
        self.keypad = KeypadWidget()
        self.keypad.setFixedWidth(KEYPAD_WIDTH)
        self.keypad.hide()
        self.keypad_toggle = touch_button("Keypad")
        self.keypad_toggle.setObjectName("keypad-toggle")
        self.keypad_toggle.setCheckable(True)
        self.keypad_toggle.setVisible(self.mode is not None)
        self.mode_buttons: dict[StationMode, QPushButton] = {}
        self.action_buttons: dict[CommandName, QPushButton] = {}
        self._entry: Entry | None = None
        self._build()
        self._connect_signals()

    def _build(self) -> None:
        header = QHBoxLayout()
        header.addWidget(self.title, 1)
        for mode in StationMode:
            button = touch_button(caption(MODE_TITLES[mode], MODE_KEYS[mode], True), HEADER_PT)
            button.setObjectName(f"mode-{mode.value}")
            button.setMinimumHeight(HEADER_PX)
            button.hide()
            self.mode_buttons[mode] = button
            header.addWidget(button)
        logout = self._command_button(C.LOGOUT, HEADER_PT)
        logout.setMinimumHeight(HEADER_PX)
        header.addWidget(logout)

        column = QVBoxLayout()
        column.addWidget(self.prompt)
        column.addWidget(self.lines)
        column.addWidget(self.choices)
        column.addWidget(self.scans, 1)
        body = QHBoxLayout()
        body.addLayout(column, 1)
        body.addWidget(self.keypad)

        footer = QHBoxLayout()
        for name in self.commands:
            footer.addWidget(self._command_button(name))
        footer.addWidget(self.keypad_toggle)

        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addLayout(body, 1)
        layout.addLayout(footer)

    def _command_button(self, name: CommandName, points: int | None = None) -> QPushButton:
        key = COMMAND_KEYS.get(name)
        if points is None:
            button = touch_button(caption(COMMAND_LABELS[name], key))
        else:
            button = touch_button(caption(COMMAND_LABELS[name], key, stacked=True), points)
        button.setObjectName(f"action-{name.value}")
        self.action_buttons[name] = button
        return button

    def _connect_signals(self) -> None:
        for name, button in self.action_buttons.items():
            button.clicked.connect(lambda _=False, name=name: self._on_command_clicked(name))
        for mode, button in self.mode_buttons.items():
            button.clicked.connect(lambda _=False, mode=mode: self._on_mode_clicked(mode))
        self.keypad_toggle.toggled.connect(self._on_keypad_toggled)
        self.keypad.entered.connect(self.entrySubmitted)
        self.choices.chosen.connect(self.choiceMade)

    def show_view(self, view: StationView) -> None:
        self.prompt.setText(view.prompt)
        self.lines.show_lines(view.lines)
        self.choices.show_choices(view.choices)
        self.scans.show_scans(view.scans)
        for mode, button in self.mode_buttons.items():
            button.setVisible(mode in view.modes and mode is not self.mode)
        self._entry = view.entry
        self._show_keypad()

    def _show_keypad(self) -> None:
        """The keypad is there when the step asks for digits, or when the user wants it for a
        quantity (the toggle); the toggle cannot hide a PIN request."""
        wanted = self._entry is not None or self.keypad_toggle.isChecked()
        self.keypad.set_entry(self._entry or (Entry.QUANTITY if wanted else None))
        self.keypad.setVisible(wanted)

    @Slot(object)
    def _on_command_clicked(self, name: CommandName) -> None:
        self.commandRequested.emit(name, None)

    @Slot(object)
    def _on_mode_clicked(self, mode: StationMode) -> None:
        self.commandRequested.emit(C.MODE, mode.value)

    @Slot(bool)
    def _on_keypad_toggled(self, _checked: bool) -> None:
        self._show_keypad()


class MenuScreen(ModeScreen):
    """Signed in, no mode chosen yet: the mode buttons and the prompt."""

    title_text = "Signed in"


class ReceiveScreen(ModeScreen):
    mode = StationMode.RECEIVE
    title_text = "Receive"
    commands = (C.DAMAGED, C.CONFIRM, C.DONE, C.CANCEL)


class PutawayScreen(ModeScreen):
    mode = StationMode.PUTAWAY
    title_text = "Putaway"
    commands = (C.CONFIRM, C.CANCEL)


class PickScreen(ModeScreen):
    mode = StationMode.PICK
    title_text = "Pick"
    commands = (C.SHORT, C.SKIP, C.DONE, C.CANCEL)


class CountScreen(ModeScreen):
    mode = StationMode.COUNT
    title_text = "Count"
    commands = (C.DONE, C.UNDO, C.CANCEL)


class TransferScreen(ModeScreen):
    mode = StationMode.TRANSFER
    title_text = "Transfer"
    commands = (C.DONE, C.CANCEL)


class ReturnScreen(ModeScreen):
    mode = StationMode.RETURN
    title_text = "Return"
    commands = (C.DAMAGED, C.DONE, C.CANCEL)


class ShipScreen(ModeScreen):
    mode = StationMode.SHIP
    title_text = "Ship"
    commands = (C.CONFIRM, C.CANCELORDER, C.CANCEL)


MODE_SCREENS: tuple[type[ModeScreen], ...] = (
    ReceiveScreen,
    PutawayScreen,
    PickScreen,
    CountScreen,
    TransferScreen,
    ReturnScreen,
    ShipScreen,
)
