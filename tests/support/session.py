"""Driving a station session as a scanner does."""

from __future__ import annotations

from app.domain.scan import Scan, Source
from app.services.station import StationSession
from app.services.station_view import StationView


def scan(session: StationSession, text: str) -> StationView:
    """`text` scanned by the keyboard-wedge scanner; the view answering it."""
    return session.handle_scan(Scan(text, Source.WEDGE, device="test"))
