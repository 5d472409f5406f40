"""The station's settings from the config file: its policy ([station]), its RFID reader ([rfid])
and its camera ([camera]); defaults when absent, and every mistake refused with its name."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.adapters.rfid import ReaderProtocol, ReaderSettings
from app.config import ConfigError, Settings, load_settings
from app.domain.orders import OrderPolicy
from app.domain.stow import StowPolicy
from app.domain.workflow import StationPolicy, Tolerance


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
    assert (loaded.station, loaded.policy, loaded.rfid, loaded.camera) == (
        "ST-7",
        StationPolicy(),
        None,
        None,
    )
    assert load_settings("sqlite:///flag.db").policy == StationPolicy()


def test_no_config_file_at_all(config: Path) -> None:
    loaded = load_settings()
    assert (loaded.policy, loaded.rfid, loaded.camera) == (StationPolicy(), None, None)


def test_the_station_policy(config: Path) -> None:
    loaded = settings(
        config,
        """
database_url = "sqlite:///x.db"

[station]
code = "DOCK-7"
receipt_over_percent = 20
receipt_over_units = 2
receipt_under_percent = 0
receipt_under_units = 0
count_percent = 3
count_units = 0
pin_attempts = 5
lockout_seconds = 60

[stow]
cap_per_bin = 30
""",
    )
    assert loaded.station == "DOCK-7"
    assert loaded.policy == StationPolicy(
        receipt_over=Tolerance(units=2, percent=20),
        receipt_under=Tolerance(units=0, percent=0),
        count=Tolerance(units=0, percent=3),
        pin_attempts=5,
        lockout_seconds=60,
    )
    assert loaded.stow == StowPolicy(cap_per_bin=30)  # the other tables still work
    assert loaded.database_url == "sqlite:///x.db"


def test_a_partial_policy_keeps_the_other_defaults(config: Path) -> None:
    loaded = settings(config, "[station]\ncount_units = 4\n")
    default = StationPolicy()
    assert loaded.station is None
    assert loaded.policy == StationPolicy(
        receipt_over=default.receipt_over,
        receipt_under=default.receipt_under,
        count=Tolerance(units=4, percent=default.count.percent),
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[station]\nreceipt_over_pct = 5\ncolour = 1\n",
            "unknown \\[station\\] setting\\(s\\) colour, receipt_over_pct",
        ),
        ("[station]\ncount_percent = -1\n", "count_percent must be a whole number of 0 or more"),
        ("[station]\ncount_units = 1.5\n", "count_units must be a whole number"),
        ("[station]\ncount_units = true\n", "count_units must be a whole number"),
        ('[station]\ncount_units = "2"\n', "count_units must be a whole number"),
        ("[station]\npin_attempts = 0\n", "pin_attempts must be a whole number of 1 or more"),
        ("[station]\nlockout_seconds = 0\n", "lockout_seconds must be a whole number of 1 or more"),
        ("[station]\ncode = 7\n", "code must be the station's code"),
        ("station = 7\n", "station must be the station's code or a \\[station\\] table"),
    ],
)
def test_a_bad_station_policy_is_refused_by_name(config: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        settings(config, text)


def test_zero_tolerances_and_the_least_lockout_are_accepted(config: Path) -> None:
    loaded = settings(
        config, "[station]\nreceipt_over_percent = 0\npin_attempts = 1\nlockout_seconds = 1\n"
    )
    assert loaded.policy.receipt_over == Tolerance(units=0, percent=0)
    assert (loaded.policy.pin_attempts, loaded.policy.lockout_seconds) == (1, 1)


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


def test_the_pick_claim_idle_time_and_the_ship_short_tolerance(config: Path) -> None:
    assert load_settings().orders == OrderPolicy()
    loaded = settings(
        config,
        "[pick]\nclaim_idle_minutes = 12\n[ship]\nshort_units = 1\nshort_percent = 5\n",
    )
    assert loaded.orders == OrderPolicy(12, 1, 5)
    with pytest.raises(ConfigError, match=r"\[pick\] claim_idle_minutes must be a whole number"):
        settings(config, "[pick]\nclaim_idle_minutes = 0\n")
    with pytest.raises(ConfigError, match=r"unknown \[ship\] setting\(s\) short"):
        settings(config, "[ship]\nshort = 1\n")
