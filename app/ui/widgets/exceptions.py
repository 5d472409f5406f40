"""Transactions refused after an outage, in red under the banner until a supervisor
acknowledges them (`@CMD:ACK`: badge and PIN). They happened out of sight: the station queued
them, the ledger refused them later, and somebody must look (DESIGN.md section 2)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget

from app.services.station_view import StationView
from app.ui.widgets.theme import BODY_PT, ERROR_RED, WHITE, fill, plain_label

SHOWN = 4
"""Exceptions listed one per line; more are counted."""


class ExceptionsPanel(QLabel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        plain = plain_label("", BODY_PT)
        self.setFont(plain.font())
        self.setTextFormat(plain.textFormat())
        self.setObjectName("exceptions")
        self.setWordWrap(True)
        self.setMargin(8)
        fill(self, ERROR_RED, WHITE)
        self.hide()

    def show_view(self, view: StationView) -> None:
        shown = list(view.exceptions[:SHOWN])
        if len(view.exceptions) > SHOWN:
            shown.append(f"... and {len(view.exceptions) - SHOWN} more.")
        if shown:
            shown.append("A supervisor scans ACK (badge and PIN) once they have been seen to.")
        self.setText("\n".join(shown))
        self.setVisible(bool(shown))
