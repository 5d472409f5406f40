"""The strip along the top: station, operator, database state, outbox queue depth, the age of
the station's copy of the warehouse, and the state of the RFID reader and the camera."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QWidget

from app.services.station_view import StationView
from app.ui.widgets.theme import ERROR_RED, INK, STATUS_PT, WARNING_AMBER, WHITE, fill, plain_label

OFF = "none"


class StatusStrip(QFrame):
    """Plain labels; the database turns red when it cannot be reached and the queue amber while
    transactions wait in the outbox (they must be seen: RELIABILITY.md promise 7)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("status-strip")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.station = self._label("station", 0)
        self.operator = self._label("operator", 3)
        self.database = self._label("database", 5)
        self.queue = self._label("queue", 0)
        self.replica = self._label("replica", 0)
        self.rfid = self._label("rfid", 2)
        self.camera = self._label("camera", 2)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        for label in (
            self.station,
            self.operator,
            self.database,
            self.queue,
            self.replica,
            self.rfid,
            self.camera,
        ):
            layout.addWidget(label, label.property("stretch"))
        self._queue_depth = 0
        self._database_ok = True
        self.set_rfid_status(None)
        self.set_camera_status(None)

    def _label(self, name: str, stretch: int) -> QLabel:
        label = plain_label("", STATUS_PT)
        label.setObjectName(f"status-{name}")
        label.setWordWrap(False)
        label.setMargin(4)
        # Stretching labels share what is left and cut long text; the others fit their text.
        width = QSizePolicy.Policy.Ignored if stretch else QSizePolicy.Policy.Preferred
        label.setSizePolicy(width, QSizePolicy.Policy.Preferred)
        label.setProperty("stretch", stretch)
        return label

    @property
    def queue_highlighted(self) -> bool:
        return self._queue_depth > 0

    @property
    def database_highlighted(self) -> bool:
        return not self._database_ok

    def show_view(self, view: StationView) -> None:
        self.station.setText(f"Station {view.station}")
        who = view.operator
        self.operator.setText(f"{who.name} ({who.role.value})" if who else "nobody signed in")
        self.operator.setToolTip(self.operator.text())
        self.database.setText(f"Database: {view.database}")
        self.database.setToolTip(self.database.text())
        self._database_ok = view.database_ok
        self._highlight(self.database, not view.database_ok, ERROR_RED, WHITE)
        depth = view.queue_depth
        self.queue.setText(f"Queue: {depth} waiting" if depth else "Queue: 0")
        self._queue_depth = depth
        self._highlight(self.queue, depth > 0, WARNING_AMBER, INK)
        self.replica.setText(view.replica.capitalize())
        self.replica.setVisible(bool(view.replica))

    def set_rfid_status(self, text: str | None) -> None:
        """A station without a reader does not show one; with one, its state."""
        self.rfid.setText(f"RFID: {text or OFF}")
        self.rfid.setVisible(text is not None)

    def set_camera_status(self, text: str | None) -> None:
        self.camera.setText(f"Camera: {text or OFF}")
        self.camera.setVisible(text is not None)

    @staticmethod
    def _highlight(label: QLabel, on: bool, background: QColor, foreground: QColor) -> None:
        if on:
            fill(label, background, foreground)
        else:
            label.setAutoFillBackground(False)
            label.setPalette(QPalette())  # nothing set: the strip's own colours again
