"""Where the database is: `--db URL`, else PERPETUA_DATABASE_URL, else the config file, else an
SQLite file in the user's data directory.

The config file is TOML, at PERPETUA_CONFIG or `<user config dir>/perpetua/config.toml`:

    database_url = "postgresql+psycopg://perpetua@db.example/warehouse"
    station = "DOCK-1"

    [stow]
    cap_per_bin = 100      # units of one SKU in one bin, at most
    cap_per_zone = 400     # units of one SKU in one zone, at most
    hold_seconds = 120     # how long a suggestion keeps its space for the worker

The station's policy (whole numbers; a tolerance allows the larger of its units and its percent
of the expected quantity) goes in a `[station]` table. TOML cannot hold both a `station = "..."`
key and a `[station]` table, so with the table the station's code is its `code`:

    [station]
    code = "DOCK-1"
    receipt_over_percent = 10    # receiving more than expected, before a supervisor approves
    receipt_over_units = 0
    receipt_under_percent = 10   # closing a receipt short
    receipt_under_units = 0
    count_percent = 5            # a count beyond this is counted again, then approved
    count_units = 1
    pin_attempts = 3             # wrong supervisor PINs before the station locks PIN entry
    lockout_seconds = 300

    [rfid]
    url = "/dev/serial/by-id/usb-..."   # or socket://host:port, rfc2217://..., loop://
    protocol = "ascii"                  # ascii or ru5102
    window_s = 2.0                      # a tag is reported again only after this many seconds
    baudrate = 57600

    [camera]
    source = "0"    # a device index, a video file or a folder of images
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

import platformdirs

from app.adapters.rfid import ReaderProtocol, ReaderSettings
from app.domain.orders import OrderPolicy
from app.domain.stow import StowPolicy
from app.domain.workflow import StationPolicy, Tolerance

APP_NAME = "perpetua"
DATABASE_ENV = "PERPETUA_DATABASE_URL"
CONFIG_ENV = "PERPETUA_CONFIG"


class ConfigError(Exception):
    pass


@dataclass(frozen=True)
class Settings:
    database_url: str
    source: str
    station: str | None = None
    stow: StowPolicy = field(default_factory=StowPolicy)
    policy: StationPolicy = field(default_factory=StationPolicy)
    rfid: ReaderSettings | None = None
    camera: str | None = None
    """The camera source: a device index, a video file or an image folder."""
    orders: OrderPolicy = field(default_factory=OrderPolicy)
    """[pick] claim_idle_minutes and [ship] short tolerance, enforced by the ledger."""


def config_path() -> Path:
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        return Path(explicit)
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def default_database_path() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME)) / "perpetua.db"


def load_settings(cli_url: str | None = None) -> Settings:
    file_values: dict[str, object] = {}
    path = config_path()
    if path.exists():
        try:
            file_values = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise ConfigError(f"{path} is not valid TOML: {error}") from None
    station, policy = _station(file_values.get("station"), path)
    url, source = _database(cli_url, file_values, path)
    return Settings(
        url,
        source,
        station,
        stow=_stow_policy(file_values.get("stow", {}), path),
        policy=policy,
        rfid=_rfid(file_values.get("rfid"), path),
        camera=_camera(file_values.get("camera"), path),
        orders=_order_policy(file_values.get("pick", {}), file_values.get("ship", {}), path),
    )


def _order_policy(pick: object, ship: object, path: Path) -> OrderPolicy:
    """[pick] claim_idle_minutes; [ship] short_units and short_percent (0 or more each)."""
    values: dict[str, int] = {}
    for name, table, keys in (
        ("pick", pick, {"claim_idle_minutes": "claim_idle_minutes"}),
        ("ship", ship, {"short_units": "ship_short_units", "short_percent": "ship_short_percent"}),
    ):
        found = _table(table, name, path)
        _unknown(found, tuple(keys), name, path)
        for key, value in found.items():
            least = 1 if key == "claim_idle_minutes" else 0
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ConfigError(
                    f"{path}: [{name}] {key} must be a whole number of {least} or more"
                )
            values[keys[key]] = value
    return OrderPolicy(**values)


def _database(cli_url: str | None, file_values: dict[str, object], path: Path) -> tuple[str, str]:
    """The database URL and where it came from."""
    if cli_url:
        return cli_url, "--db"
    if os.environ.get(DATABASE_ENV):
        return os.environ[DATABASE_ENV], DATABASE_ENV
    url = file_values.get("database_url")
    if url is not None:
        if not isinstance(url, str) or not url:
            raise ConfigError(f"{path}: database_url must be a text URL")
        return url, str(path)
    return f"sqlite:///{default_database_path()}", "default"


STOW_KEYS = ("cap_per_bin", "cap_per_zone", "suggestions", "hold_seconds", "sample_size")


def _stow_policy(values: object, path: Path) -> StowPolicy:
    """The [stow] table: cap_per_bin, cap_per_zone, suggestions, hold_seconds, sample_size."""
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: [stow] must be a table")
    unknown = sorted(set(values) - set(STOW_KEYS))
    if unknown:
        raise ConfigError(f"{path}: unknown [stow] setting(s) {', '.join(unknown)}")
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{path}: [stow] {key} must be a whole number above 0")
    return StowPolicy(**values)


POLICY_KEYS = (
    "receipt_over_percent",
    "receipt_over_units",
    "receipt_under_percent",
    "receipt_under_units",
    "count_percent",
    "count_units",
    "pin_attempts",
    "lockout_seconds",
)
AT_LEAST_ONE = ("pin_attempts", "lockout_seconds")


def _table(values: object, name: str, path: Path) -> dict[str, object]:
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: [{name}] must be a table")
    return values


def _unknown(values: dict[str, object], known: tuple[str, ...], name: str, path: Path) -> None:
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(f"{path}: unknown [{name}] setting(s) {', '.join(unknown)}")


def _station(value: object, path: Path) -> tuple[str | None, StationPolicy]:
    """`station = "CODE"`, or a [station] table: the policy, and the station's code as `code`."""
    if value is None:
        return None, StationPolicy()
    if isinstance(value, str):
        return value, StationPolicy()
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: station must be the station's code or a [station] table")
    values = _table(value, "station", path)
    _unknown(values, ("code", *POLICY_KEYS), "station", path)
    code = values.get("code")
    if code is not None and (not isinstance(code, str) or not code):
        raise ConfigError(f"{path}: [station] code must be the station's code, as text")
    numbers: dict[str, int] = {}
    for key in POLICY_KEYS:
        if key not in values:
            continue
        number, least = values[key], 1 if key in AT_LEAST_ONE else 0
        if isinstance(number, bool) or not isinstance(number, int) or number < least:
            raise ConfigError(f"{path}: [station] {key} must be a whole number of {least} or more")
        numbers[key] = number
    default = StationPolicy()

    def tolerance(name: str, fallback: Tolerance) -> Tolerance:
        return Tolerance(
            units=numbers.get(f"{name}_units", fallback.units),
            percent=numbers.get(f"{name}_percent", fallback.percent),
        )

    policy = StationPolicy(
        receipt_over=tolerance("receipt_over", default.receipt_over),
        receipt_under=tolerance("receipt_under", default.receipt_under),
        count=tolerance("count", default.count),
        pin_attempts=numbers.get("pin_attempts", default.pin_attempts),
        lockout_seconds=numbers.get("lockout_seconds", default.lockout_seconds),
    )
    return code if isinstance(code, str) else None, policy


RFID_KEYS = ("url", "protocol", "window_s", "baudrate")


def _rfid(value: object, path: Path) -> ReaderSettings | None:
    """The [rfid] table: url (required), protocol (ascii or ru5102), window_s, baudrate."""
    if value is None:
        return None
    values = _table(value, "rfid", path)
    _unknown(values, RFID_KEYS, "rfid", path)
    url = values.get("url")
    if not isinstance(url, str) or not url:
        raise ConfigError(f"{path}: [rfid] url is required: the reader's port or URL, as text")
    protocol = values.get("protocol", ReaderProtocol.ASCII.value)
    if protocol not in {p.value for p in ReaderProtocol}:
        choices = " or ".join(p.value for p in ReaderProtocol)
        raise ConfigError(f"{path}: [rfid] protocol must be {choices}, not {protocol!r}")
    settings = ReaderSettings(url, ReaderProtocol(str(protocol)))
    window = values.get("window_s", settings.window_s)
    if isinstance(window, bool) or not isinstance(window, int | float) or window < 0:
        raise ConfigError(f"{path}: [rfid] window_s must be a number of seconds, 0 or more")
    baudrate = values.get("baudrate", settings.baudrate)
    if isinstance(baudrate, bool) or not isinstance(baudrate, int) or baudrate < 1:
        raise ConfigError(f"{path}: [rfid] baudrate must be a whole number above 0")
    return replace(settings, window_s=float(window), baudrate=baudrate)


def _camera(value: object, path: Path) -> str | None:
    """The [camera] table: source, a device index, a video file or a folder of images."""
    if value is None:
        return None
    values = _table(value, "camera", path)
    _unknown(values, ("source",), "camera", path)
    source = values.get("source")
    if isinstance(source, int) and not isinstance(source, bool) and source >= 0:
        return str(source)  # `source = 0` as a TOML number means the same device
    if not isinstance(source, str) or not source.strip():
        raise ConfigError(
            f"{path}: [camera] source is required: a device index, a video file or an image folder"
        )
    return source
