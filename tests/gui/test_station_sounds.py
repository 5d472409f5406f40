"""The station's sounds: three short WAV files made by resources/sounds/make_sounds.py, found
from the source tree, and silence (without a word from Qt) where no sound server runs."""

from __future__ import annotations

import importlib.util
import socket
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.domain.workflow import Level
from app.ui.sounds import (
    SOUND_DIR,
    SOUND_FILES,
    SilentSoundPlayer,
    audio_server_present,
    default_sound_player,
)

pytestmark = pytest.mark.qt_log_level_fail("WARNING")

ROOT = Path(__file__).resolve().parents[2]


def test_the_sounds_are_found_in_the_source_tree() -> None:
    assert SOUND_DIR == ROOT / "resources" / "sounds"
    assert set(SOUND_FILES) == set(Level)


@pytest.mark.parametrize("level", list(Level))
def test_each_sound_is_short_tiny_pcm(level: Level) -> None:
    path = SOUND_DIR / SOUND_FILES[level]
    assert path.stat().st_size < 16_000
    with wave.open(str(path)) as sound:
        assert (sound.getnchannels(), sound.getsampwidth()) == (1, 2)
        seconds = sound.getnframes() / sound.getframerate()
    assert 0.05 <= seconds <= 0.4


def test_the_three_sounds_differ_so_each_outcome_is_told_by_ear() -> None:
    frames = set()
    for name in SOUND_FILES.values():
        with wave.open(str(SOUND_DIR / name)) as sound:
            frames.add(sound.readframes(sound.getnframes()))
    assert len(frames) == 3


def test_the_committed_files_are_what_the_script_makes(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_sounds", SOUND_DIR / "make_sounds.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, tones in module.SOUNDS.items():
        module.write(tmp_path / f"{name}.wav", tones)
        assert (tmp_path / f"{name}.wav").read_bytes() == (SOUND_DIR / f"{name}.wav").read_bytes()


@pytest.fixture
def pulse_socket(tmp_path: Path) -> Iterator[Path]:
    """A listening Unix socket where PulseAudio keeps its own."""
    (tmp_path / "pulse").mkdir()
    path = tmp_path / "pulse" / "native"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen()
    yield tmp_path
    server.close()


def test_a_sound_server_is_found_by_its_socket(pulse_socket: Path, tmp_path: Path) -> None:
    nobody = 2**31 - 7  # a user id with no /run/user folder
    assert audio_server_present({"XDG_RUNTIME_DIR": str(pulse_socket)}, uid=nobody)
    (tmp_path / "empty").mkdir()
    assert not audio_server_present({"XDG_RUNTIME_DIR": str(tmp_path / "empty")}, uid=nobody)
    (tmp_path / "empty" / "pulse").mkdir()
    (tmp_path / "empty" / "pulse" / "native").write_text("")  # a file is not a server
    assert not audio_server_present({"XDG_RUNTIME_DIR": str(tmp_path / "empty")}, uid=nobody)
    assert audio_server_present({"PULSE_SERVER": "tcp:mixer:4713"}, uid=nobody)
    assert audio_server_present({}, platform="win32")


def test_without_a_sound_server_the_player_is_silent_and_qt_says_nothing(tmp_path: Path) -> None:
    """Runs with Qt warnings failing the test: QtMultimedia is not even loaded."""
    player = default_sound_player(env={"XDG_RUNTIME_DIR": str(tmp_path)})
    if audio_server_present({"XDG_RUNTIME_DIR": str(tmp_path)}):
        pytest.skip("this machine runs a system-wide sound server")
    assert isinstance(player, SilentSoundPlayer)
    assert "no sound server" in player.reason
    for level in Level:
        player.play(level)


def test_missing_sound_files_make_a_silent_player(tmp_path: Path) -> None:
    player = default_sound_player(folder=tmp_path, env={})
    assert isinstance(player, SilentSoundPlayer)
    assert "ok.wav" in player.reason
