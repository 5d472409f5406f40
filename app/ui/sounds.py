"""One short sound per outcome (DESIGN.md section 7): a beep for ok, a double beep for a warning,
a low buzz for an error, so a worker knows a scan's fate without looking at the screen.

The window asks a `SoundPlayer` for a level; tests give it one that records what was asked.
`default_sound_player()` plays the WAV files of `resources/sounds/` with QSoundEffect, or nothing
at all where there is no sound server (CI, offscreen, a station without speakers): importing
QtMultimedia there already makes Qt print warnings, so it is not even imported.
"""

from __future__ import annotations

import logging
import os
import stat
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, QUrl

from app.domain.workflow import Level

log = logging.getLogger(__name__)

SOUND_DIR = Path(__file__).resolve().parents[2] / "resources" / "sounds"
"""resources/ sits at the repository root, beside the package: found from the source tree that an
editable install runs from, with no packaging metadata involved."""

SOUND_FILES = {Level.OK: "ok.wav", Level.WARNING: "warning.wav", Level.ERROR: "error.wav"}
VOLUME = 0.8


class SoundPlayer(Protocol):
    def play(self, level: Level) -> None:
        """Start the sound for `level` and return at once; never raises."""


class SilentSoundPlayer:
    """For stations without sound: plays nothing, says why once in the log."""

    def __init__(self, reason: str = "") -> None:
        self.reason = reason
        if reason:
            log.info("station sounds are off: %s", reason)

    def play(self, level: Level) -> None:
        pass


class QtSoundPlayer(QObject):
    """QSoundEffect per level, loaded once (a QSoundEffect plays from memory, with little delay).

    A sound that cannot load or play is logged once and otherwise ignored: a missing beep must
    never stop a scan."""

    def __init__(self, folder: Path = SOUND_DIR, parent: QObject | None = None) -> None:
        super().__init__(parent)
        from PySide6.QtMultimedia import QSoundEffect  # only here: the import alone talks to Qt

        self._effects: dict[Level, QSoundEffect] = {}
        self._error = QSoundEffect.Status.Error
        self._reported = False
        for level, name in SOUND_FILES.items():
            effect = QSoundEffect(self)
            effect.setSource(QUrl.fromLocalFile(str(folder / name)))
            effect.setVolume(VOLUME)
            self._effects[level] = effect

    def play(self, level: Level) -> None:
        effect = self._effects[level]
        if effect.status() == self._error:
            if not self._reported:
                self._reported = True
                log.warning("cannot play %s", effect.source().toLocalFile())
            return
        effect.play()


def audio_server_present(
    env: Mapping[str, str] = os.environ, uid: int | None = None, platform: str = sys.platform
) -> bool:
    """Whether a PulseAudio or PipeWire server is there to play to (on Linux, Qt plays through
    one of them); other systems always have their native audio service."""
    if not platform.startswith("linux"):
        return True
    if env.get("PULSE_SERVER") or env.get("PIPEWIRE_REMOTE"):
        return True
    runtime = [env.get("XDG_RUNTIME_DIR"), f"/run/user/{os.getuid() if uid is None else uid}"]
    sockets = [Path(env["PULSE_RUNTIME_PATH"]) / "native"] if env.get("PULSE_RUNTIME_PATH") else []
    for folder in filter(None, runtime):
        sockets += [Path(folder) / "pulse" / "native", Path(folder) / "pipewire-0"]
    sockets += [Path("/run/pulse/native"), Path("/var/run/pulse/native")]
    return any(_is_socket(path) for path in sockets)


def _is_socket(path: Path) -> bool:
    try:
        return stat.S_ISSOCK(path.stat().st_mode)
    except OSError:
        return False


def default_sound_player(
    folder: Path = SOUND_DIR, env: Mapping[str, str] = os.environ, parent: QObject | None = None
) -> SoundPlayer:
    """The real sounds when this machine can play them, otherwise silence."""
    missing = [name for name in SOUND_FILES.values() if not (folder / name).is_file()]
    if missing:
        return SilentSoundPlayer(f"{', '.join(missing)} not found in {folder}")
    if not audio_server_present(env):
        return SilentSoundPlayer("no sound server (PulseAudio or PipeWire) is running")
    from PySide6.QtMultimedia import QMediaDevices

    if QMediaDevices.defaultAudioOutput().isNull():
        return SilentSoundPlayer("no audio output device")
    return QtSoundPlayer(folder, parent)
