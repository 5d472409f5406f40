"""The station window (DESIGN.md section 7): renders each `StationView` the worker sends and
forwards every input to it; the GUI thread never waits on a device or the database.

Inputs: the keyboard-wedge filter (installed on the whole application), the screens' buttons,
keypad and choice tiles (while a PIN is asked for, the keyboard types into the keypad:
app.ui.pin_keys), keyboard shortcuts, and, when configured, an RFID reader (its reads
gathered into one burst per 200 ms) and a camera (its preview in a collapsible side panel). Each
device runs on its own thread in a `DeviceWorker`; the session runs on the `StationWorker`'s.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, Signal, Slot
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLayout,
    QMainWindow,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.adapters.rfid import ReaderSettings, RfidRead, reader_loop
from app.adapters.worker import DeviceWorker
from app.domain.interpret import StationMode
from app.domain.model import Role
from app.domain.scan import Scan, Source
from app.domain.wedge import LayoutReport
from app.domain.workflow import Entry, Level
from app.services.station_view import StationView
from app.ui.camera_preview import CameraPreview
from app.ui.pin_keys import PinKeyRouter
from app.ui.runner import Runner
from app.ui.screens import (
    MODE_SCREENS,
    SHORTCUTS,
    LoginScreen,
    MenuScreen,
    ModeScreen,
    StationScreen,
)
from app.ui.sounds import SoundPlayer, default_sound_player
from app.ui.station_worker import (
    DRAIN_INTERVAL_MS,
    NOT_STARTED,
    TAG_BURST_MS,
    DeviceLink,
    SessionFactory,
    StationWorker,
    TagBurstCollector,
)
from app.ui.supervisor import Desk, SupervisorScreen
from app.ui.wedge_filter import WedgeFilter
from app.ui.widgets.exceptions import ExceptionsPanel
from app.ui.widgets.feedback import ScanFeedbackBanner
from app.ui.widgets.manual_entry import ManualEntry
from app.ui.widgets.status_strip import StatusStrip
from app.ui.widgets.theme import STATUS_PT, touch_button

if TYPE_CHECKING:
    from app.adapters.camera.capture import CameraSettings

log = logging.getLogger(__name__)

CAMERA_PANEL_WIDTH = 360
SUPERVISOR_KEY = "Ctrl+S"
"""Opens and closes the supervisor's screen (a supervisor logged in)."""
FAULT = (
    "Station fault: {}. What you just did was not recorded: do it again, and call a supervisor "
    "if this keeps happening."
)


class StationWindow(QMainWindow):
    """Build, `start()`, and close (or `shutdown()`): devices stop, the wedge filter comes off
    the application, the session is closed on its thread and the thread ends.

    `viewShown(view)` is emitted on the GUI thread once a view is on screen (set, not yet
    painted: `banner.painted` tells that)."""

    viewShown = Signal(StationView)

    def __init__(
        self,
        session_factory: SessionFactory,
        *,
        title: str = "Perpetua",
        rfid: ReaderSettings | None = None,
        camera: CameraSettings | None = None,
        sounds: SoundPlayer | None = None,
        wedge: WedgeFilter | None = None,
        drain_interval_ms: int = DRAIN_INTERVAL_MS,
        tag_burst_ms: int = TAG_BURST_MS,
        desk_factory: Callable[[], Desk] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.worker = StationWorker(session_factory, drain_interval_ms)
        self.wedge = wedge or WedgeFilter(parent=self)
        self.pin_keys = PinKeyRouter(self, parent=self)
        self.sounds = sounds if sounds is not None else default_sound_player(parent=self)
        self.banner = ScanFeedbackBanner()
        self.exceptions = ExceptionsPanel()
        self.status = StatusStrip()
        self.manual = ManualEntry()
        self.login = LoginScreen()
        self.menu = MenuScreen()
        self.screens: dict[StationMode, ModeScreen] = {}
        self.stack = QStackedWidget()
        self.stack.addWidget(self.login)
        self.stack.addWidget(self.menu)
        for screen_class in MODE_SCREENS:
            screen = screen_class()
            assert screen.mode is not None
            self.screens[screen.mode] = screen
            self.stack.addWidget(screen)
        self.shortcuts: dict[str, QShortcut] = {}
        # The supervisor's screen, with the one query runner every querying screen shares.
        self.runner: Runner[Desk] | None = None
        self.supervisor: SupervisorScreen | None = None
        self.supervisor_button = touch_button(f"Supervisor ({SUPERVISOR_KEY})", STATUS_PT)
        self.supervisor_button.setObjectName("open-supervisor")
        self.supervisor_button.hide()
        if desk_factory is not None:
            self.runner = Runner(desk_factory, self)
            self.supervisor = SupervisorScreen(self.runner)
            self.stack.addWidget(self.supervisor)
        self._view: StationView | None = None
        self._rfid_link = DeviceLink(self)
        self._tag_bursts = TagBurstCollector(tag_burst_ms, self)
        self._rfid: DeviceWorker[RfidRead] | None = None
        if rfid is not None:
            self._rfid = DeviceWorker(
                "rfid", reader_loop(rfid), self._rfid_link.value.emit, self._rfid_link.status.emit
            )
            self.status.set_rfid_status("starting")
        self._camera_link = DeviceLink(self)
        self.preview: CameraPreview | None = None
        self.camera_toggle: QPushButton | None = None
        self._camera: DeviceWorker[Scan] | None = None
        if camera is not None:
            self._camera = self._camera_worker(camera)
            self.status.set_camera_status("starting")
        self._started = False
        self._stopped = False
        self._build()
        self._connect_signals()

    def _camera_worker(self, settings: CameraSettings) -> DeviceWorker[Scan]:
        from app.adapters.camera.capture import camera_loop  # OpenCV loads only with a camera

        self.preview = CameraPreview()
        self.preview.setMinimumWidth(CAMERA_PANEL_WIDTH)
        self.preview.hide()
        self.camera_toggle = touch_button("Camera", STATUS_PT)
        self.camera_toggle.setObjectName("camera-toggle")
        self.camera_toggle.setCheckable(True)
        self.camera_toggle.setMinimumHeight(40)
        self.camera_toggle.setFixedWidth(120)
        loop = camera_loop(settings, on_frame=self.preview.frame_arrived.emit)
        return DeviceWorker(
            "camera", loop, self._camera_link.value.emit, self._camera_link.status.emit
        )

    def _build(self) -> None:
        top = QHBoxLayout()
        top.addWidget(self.status, 1)
        top.addWidget(self.supervisor_button)
        if self.camera_toggle is not None:
            top.addWidget(self.camera_toggle)
        middle = QHBoxLayout()
        middle.addWidget(self.stack, 1)
        if self.preview is not None:
            middle.addWidget(self.preview)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(8, 6, 8, 8)
        layout.addLayout(top)
        layout.addWidget(self.banner)
        layout.addWidget(self.exceptions)
        layout.addLayout(middle, 1)
        layout.addWidget(self.manual)
        self.setCentralWidget(central)
        # The window is maximized and its screens are made to fit 1024x768. A long prompt that
        # wraps onto more lines squeezes the table of scans; it must not push the window past
        # the screen's edge, as a window that grows to its content's minimum size would.
        window_layout = self.layout()
        assert window_layout is not None  # a QMainWindow always has its own layout
        window_layout.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        for key in (*SHORTCUTS, SUPERVISOR_KEY):
            self.shortcuts[key] = QShortcut(QKeySequence(key), self)

    def _connect_signals(self) -> None:
        self.worker.viewReady.connect(self._on_view_ready)
        self.worker.failed.connect(self._on_failed)
        self.wedge.scanned.connect(self._on_scanned)
        self.manual.typed.connect(self._on_typed)
        self.wedge.layout_checked.connect(self._on_layout_checked)
        for screen in self._all_screens():
            screen.commandRequested.connect(self.worker.submit_command)
            screen.entrySubmitted.connect(self.worker.submit_entry)
            screen.choiceMade.connect(self.worker.submit_choice)
        for key, (name, arg) in SHORTCUTS.items():
            self.shortcuts[key].activated.connect(
                lambda name=name, arg=arg: self.worker.submit_command(name, arg)
            )
        self.shortcuts[SUPERVISOR_KEY].activated.connect(self._on_supervisor_key)
        self.supervisor_button.clicked.connect(self._on_supervisor_key)
        if self.supervisor is not None:
            self.supervisor.closeRequested.connect(self._close_supervisor)
            self.supervisor.handOver.connect(self._on_handed_over)
        self._rfid_link.value.connect(self._tag_bursts.add)
        self._rfid_link.status.connect(self._on_rfid_status)
        self._tag_bursts.burst.connect(self.worker.submit_tags)
        self._camera_link.value.connect(self._on_scanned)
        self._camera_link.status.connect(self._on_camera_status)
        if self.camera_toggle is not None and self.preview is not None:
            self.camera_toggle.toggled.connect(self.preview.setVisible)

    def _all_screens(self) -> list[StationScreen]:
        return [self.login, self.menu, *self.screens.values()]

    # --- lifetime ------------------------------------------------------------------------------

    def start(self) -> None:
        """Watch the keyboard, start the session's thread, then the devices."""
        if self._started:
            return
        self._started = True
        app = QCoreApplication.instance()
        if app is not None:
            # The PIN router first: the filter installed last sees keys first, and scans must
            # be taken out of the key stream before a typed PIN digit is looked for in it.
            self.pin_keys.install(app)
            self.wedge.install(app)
        self.worker.start()
        for device in (self._rfid, self._camera):
            if device is not None:
                device.start()

    def shutdown(self) -> bool:
        """Stop everything this window started; True when every thread ended in time."""
        if self._stopped or not self._started:
            return True
        self._stopped = True
        ended = True
        for device in (self._camera, self._rfid):
            if device is not None and not device.stop():
                log.error("the %s thread did not stop", device.name)
                ended = False
        self._tag_bursts.flush()  # tags read just before closing are still worth recording
        self.wedge.uninstall()  # held keys are delivered, a PIN's digits to the keypad
        self.pin_keys.uninstall()
        if self.runner is not None and not self.runner.stop():
            log.error("the query runner's thread did not stop")
            ended = False
        return self.worker.stop() and ended

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)

    # --- rendering -----------------------------------------------------------------------------

    def current_screen(self) -> StationScreen:
        screen = self.stack.currentWidget()
        assert isinstance(screen, StationScreen)
        return screen

    def _screen_for(self, view: StationView) -> StationScreen:
        if view.operator is None:
            return self.login
        if view.mode is None:
            return self.menu
        return self.screens[view.mode]

    @Slot(StationView)
    def _on_view_ready(self, view: StationView) -> None:
        self._view = view
        screen = self._screen_for(view)
        screen.show_view(view)
        supervising = self.supervising
        if supervising and _supervisor(view) != self._supervisor_badge():
            self._close_supervisor()  # logged out, or someone else logged in
            supervising = False
        if not supervising:
            self.stack.setCurrentWidget(screen)
        self.supervisor_button.setVisible(self.supervisor is not None and bool(_supervisor(view)))
        pin = view.entry is Entry.PIN
        self.pin_keys.route_to(screen.keypad if pin else None)
        self.manual.set_pin_asked(pin)
        self.status.show_view(view)
        self.exceptions.show_view(view)
        self.banner.show_view(view)
        self._show_station_banners(not supervising)
        if view.feedback is not None:
            self.sounds.play(view.feedback.level)
        self.viewShown.emit(view)

    # --- the supervisor's screen -----------------------------------------------------------------

    @property
    def supervising(self) -> bool:
        return self.supervisor is not None and self.stack.currentWidget() is self.supervisor

    def _supervisor_badge(self) -> str | None:
        return self.supervisor.operator if self.supervisor is not None else None

    @Slot()
    def _on_supervisor_key(self) -> None:
        if self.supervising:
            self._close_supervisor()
            return
        badge = _supervisor(self._view)
        if self.supervisor is None or badge is None:
            self.banner.show_message(
                Level.ERROR, "The supervisor's screen is for a supervisor: log in with your badge."
            )
            self.sounds.play(Level.ERROR)
            return
        self.supervisor.open_for(badge)
        self.stack.setCurrentWidget(self.supervisor)
        self._show_station_banners(False)

    @Slot()
    def _close_supervisor(self) -> None:
        if self.supervisor is None:
            return
        was = self.supervising
        self.supervisor.operator = None
        if was and self._view is not None:
            self.stack.setCurrentWidget(self._screen_for(self._view))
        self._show_station_banners(True)
        self.activateWindow()

    def _show_station_banners(self, shown: bool) -> None:
        """The scan banner and the refused-after-outage panel belong to the station's screens:
        the supervisor's screen has its own message line (and the room)."""
        self.banner.setVisible(shown)
        if not shown:
            self.exceptions.hide()
        elif self._view is not None:
            self.exceptions.show_view(self._view)

    @Slot(Scan)
    def _on_scanned(self, scan: Scan) -> None:
        """A scan goes to the station, except a code scanned on the supervisor's screen, which is
        looked up there (a command barcode closes that screen and goes to the station)."""
        if self.supervising and self.supervisor is not None:
            if not scan.text.startswith("@CMD:"):
                self.supervisor.take_scan(scan)
                return
            self._close_supervisor()
        self.worker.submit_scan(scan)

    @Slot(Scan)
    def _on_handed_over(self, scan: Scan) -> None:
        """A badge scanned on the supervisor's screen: someone else logs in at the station."""
        self._close_supervisor()
        self.worker.submit_scan(scan)

    @Slot(str)
    def _on_typed(self, text: str) -> None:
        self._on_scanned(Scan(text, Source.MANUAL, device="keyboard"))

    @Slot(str)
    def _on_failed(self, text: str) -> None:
        not_started = text.startswith(NOT_STARTED)  # nothing was done yet, nothing is lost
        self.banner.show_message(Level.ERROR, text if not_started else FAULT.format(text))
        self.sounds.play(Level.ERROR)

    @Slot(LayoutReport)
    def _on_layout_checked(self, report: LayoutReport) -> None:
        level = Level.OK if report.matches else Level.WARNING
        self.banner.show_message(level, report.message)
        self.sounds.play(level)

    @Slot(str)
    def _on_rfid_status(self, text: str) -> None:
        self.status.set_rfid_status(text)

    @Slot(str)
    def _on_camera_status(self, text: str) -> None:
        self.status.set_camera_status(text)


def _supervisor(view: StationView | None) -> str | None:
    """The badge of the supervisor logged in, if a supervisor is."""
    if view is None or view.operator is None or view.operator.role is not Role.SUPERVISOR:
        return None
    return view.operator.badge
