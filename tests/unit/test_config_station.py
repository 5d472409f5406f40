"""The station's settings from the config file: its code ([station]), its RFID reader ([rfid])
and its camera ([camera]); defaults when absent, and every mistake refused with its name."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.adapters.rfid import ReaderProtocol, ReaderSettings
from app.config import ConfigError, Settings, load_settings
from app.domain.stow import StowPolicy


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config.toml"
    monkeypatch.setenv("PERPETUA_CONFIG", str(path))
    monkeypatch.delenv("PERPETUA_DATABASE_URL", raising=False)
    return path


def settings(config: Path, text: str) -> Settings:
    config.write_text(text, encoding="utf-8")
    return load_settings()


def test_without_these_tables_the_defaults_apply(config: Path) -> None:
    loaded = settings(config, 'database_url = "sqlite:///x.db"\nstation = "ST-7"\n')
    assert (loaded.station, loaded.rfid, loaded.camera) == ("ST-7", None, None)


def test_no_config_file_at_all(config: Path) -> None:
    loaded = load_settings()
    assert (loaded.station, loaded.rfid, loaded.camera) == (None, None, None)


def test_the_station_table_holds_the_code(config: Path) -> None:
    loaded = settings(
        config,
        'database_url = "sqlite:///x.db"\n[station]\ncode = "DOCK-7"\n[stow]\ncap_per_bin = 30\n',
    )
    assert loaded.station == "DOCK-7"
    assert loaded.stow == StowPolicy(cap_per_bin=30)  # the other tables still work
    assert loaded.database_url == "sqlite:///x.db"


@pytest.mark.parametrize(
    ("text", "where", "command"),
    [
        ("[station]\ncount_units = 4\n", "[station] count_units", "count_units 4"),
        ("[station]\npin_attempts = 9\n", "[station] pin_attempts", "pin_attempts 9"),
        ("[pick]\nclaim_idle_minutes = 12\n", "[pick] claim_idle_minutes", "claim_idle_minutes 12"),
        ("[ship]\nshort_percent = 5\n", "[ship] short_percent", "ship_short_percent 5"),
    ],
)
def test_the_warehouse_policy_in_a_station_file_is_refused_with_where_it_went(
    config: Path, text: str, where: str, command: str
) -> None:
    """Raising a tolerance in one station's file once let its counter post what the others
    could not: the figures are the database's now, for every station alike."""
    with pytest.raises(ConfigError) as refused:
        settings(config, text)
    assert str(refused.value) == (
        f"{config}: {where} is part of the warehouse policy now, kept in the database for every "
        "station alike; nothing was done. Remove it from this file, and set it once with "
        f"`perpetua policy set {command} --badge YOUR-SUPERVISOR-BADGE`"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[station]\ncolour = 1\n", "unknown \\[station\\] setting\\(s\\) colour"),
        ("[station]\ncode = 7\n", "code must be the station's code"),
        ("station = 7\n", "station must be the station's code or a \\[station\\] table"),
        ("[ship]\nshort = 1\n", "unknown \\[ship\\] setting\\(s\\) short"),
    ],
)
def test_a_bad_station_table_is_refused_by_name(config: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        settings(config, text)


def test_the_rfid_reader(config: Path) -> None:
    loaded = settings(config, '[rfid]\nurl = "socket://10.0.0.9:6000"\n')
    assert loaded.rfid == ReaderSettings("socket://10.0.0.9:6000", ReaderProtocol.ASCII)
    loaded = settings(
        config,
        '[rfid]\nurl = "/dev/ttyUSB0"\nprotocol = "ru5102"\nwindow_s = 0.5\nbaudrate = 115200\n',
    )
    assert loaded.rfid == ReaderSettings(
        "/dev/ttyUSB0", ReaderProtocol.RU5102, window_s=0.5, baudrate=115_200
    )
    assert settings(config, '[rfid]\nurl = "loop://"\nwindow_s = 3\n').rfid == ReaderSettings(
        "loop://", ReaderProtocol.ASCII, window_s=3.0
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[rfid]\nprotocol = "ascii"\n', "\\[rfid\\] url is required"),
        ('[rfid]\nurl = ""\n', "\\[rfid\\] url is required"),
        (
            '[rfid]\nurl = "loop://"\nprotocol = "llrp"\n',
            "protocol must be ascii or ru5102, not 'llrp'",
        ),
        ('[rfid]\nurl = "loop://"\nwindow_s = -1\n', "window_s must be a number of seconds"),
        ('[rfid]\nurl = "loop://"\nbaudrate = 0\n', "baudrate must be a whole number above 0"),
        ('[rfid]\nurl = "loop://"\nport = 1\n', "unknown \\[rfid\\] setting\\(s\\) port"),
        ('rfid = "loop://"\n', "\\[rfid\\] must be a table"),
    ],
)
def test_a_bad_rfid_reader_is_refused_by_name(config: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        settings(config, text)


@pytest.mark.parametrize(
    ("text", "source"),
    [
        ('[camera]\nsource = "0"\n', "0"),
        ("[camera]\nsource = 1\n", "1"),
        ('[camera]\nsource = "/srv/demo/dock.mp4"\n', "/srv/demo/dock.mp4"),
        ('[camera]\nsource = "resources/demo-frames"\n', "resources/demo-frames"),
    ],
)
def test_the_camera_source(config: Path, text: str, source: str) -> None:
    assert settings(config, text).camera == source


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[camera]\n", "\\[camera\\] source is required"),
        ('[camera]\nsource = " "\n', "\\[camera\\] source is required"),
        ("[camera]\nsource = -1\n", "\\[camera\\] source is required"),
        ('[camera]\nsource = "0"\nfps = 10\n', "unknown \\[camera\\] setting\\(s\\) fps"),
    ],
)
def test_a_bad_camera_is_refused_by_name(config: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        settings(config, text)
