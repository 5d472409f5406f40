"""Where the database is: `--db URL`, else PERPETUA_DATABASE_URL, else the config file, else an
SQLite file in the user's data directory.

A password may come with the URL only from PERPETUA_DATABASE_URL (the environment is not shown
in `ps`); one in `--db` or in the config file is refused with a message that says where it goes:
PERPETUA_DATABASE_PASSWORD or PGPASSWORD, a pgpass file, or the system keyring
(app/adapters/passwords.py). Settings keep the URL without it.

The config file is TOML, at PERPETUA_CONFIG or `<user config dir>/perpetua/config.toml`:

    database_url = "postgresql+psycopg://perpetua@db.example/warehouse"
    station = "DOCK-1"

    [stow]
    cap_per_bin = 100      # units of one SKU in one bin, at most
    cap_per_zone = 400     # units of one SKU in one zone, at most
    hold_seconds = 120     # how long a suggestion keeps its space for the worker

The station's code may also be given in a `[station]` table, as its `code` (TOML cannot hold
both a `station = "..."` key and a `[station]` table):

    [station]
    code = "DOCK-1"

Tolerances, approval thresholds, PIN rules and the claim idle time are the warehouse's policy,
kept in the database (app/domain/policy.py, `perpetua policy set`): the same for every station
and enforced by the ledger. Such a key in this file (in [station], [pick] or [ship], where they
once were) is refused with a message saying where it went.

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
from sqlalchemy.engine import URL

from app.adapters import passwords
from app.adapters.rfid import ReaderProtocol, ReaderSettings
from app.domain.policy import BY_NAME as POLICY_KEYS
from app.domain.stow import StowPolicy

APP_NAME = "perpetua"
DATABASE_ENV = passwords.URL_ENV
PASSWORD_ENV = passwords.PASSWORD_ENV
CONFIG_ENV = "PERPETUA_CONFIG"


class ConfigError(Exception):
    pass


@dataclass(frozen=True)
class Settings:
    database_url: str
    """Without a password, always: fit to show."""
    source: str
    station: str | None = None
    stow: StowPolicy = field(default_factory=StowPolicy)
    rfid: ReaderSettings | None = None
    camera: str | None = None
    """The camera source: a device index, a video file or an image folder."""
    database_password: str | None = field(default=None, repr=False, compare=False)
    """The password PERPETUA_DATABASE_URL carried, if any; pass it to `make_engine`. Without it
    the engine asks PERPETUA_DATABASE_PASSWORD, PGPASSWORD, the keyring and pgpass itself."""


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
    station = _station(file_values.get("station"), path)
    _no_policy(file_values, path)
    url, source, password = _database(cli_url, file_values, path)
    return Settings(
        url,
        source,
        station,
        database_password=password,
        stow=_stow_policy(file_values.get("stow", {}), path),
        rfid=_rfid(file_values.get("rfid"), path),
        camera=_camera(file_values.get("camera"), path),
    )


MOVED = {
    "pick": {"claim_idle_minutes": "claim_idle_minutes"},
    "ship": {"short_units": "ship_short_units", "short_percent": "ship_short_percent"},
}
"""Tables of policy keys older config files had, and the policy keys they are now."""


def _no_policy(file_values: dict[str, object], path: Path) -> None:
    """Refuse the warehouse's policy in a station's file, saying where it went."""
    for name, keys in MOVED.items():
        table = _table(file_values.get(name, {}), name, path)
        for key, value in table.items():
            _moved(path, f"[{name}] {key}", keys.get(key), value)
        _unknown(table, (), name, path)


def _moved(path: Path, where: str, key: str | None, value: object) -> None:
    if key is None:
        return
    raise ConfigError(
        f"{path}: {where} is part of the warehouse policy now, kept in the database for every "
        f"station alike; nothing was done. Remove it from this file, and set it once with "
        f"`perpetua policy set {key} {value} --badge YOUR-SUPERVISOR-BADGE`"
    )


def _database(
    cli_url: str | None, file_values: dict[str, object], path: Path
) -> tuple[str, str, str | None]:
    """The database URL without its password, where it came from, and the password it carried
    (only PERPETUA_DATABASE_URL may carry one)."""
    if cli_url:
        return check_command_line_url(cli_url), "--db", None
    if os.environ.get(DATABASE_ENV):
        text = os.environ[DATABASE_ENV]
        url = _parse(text, DATABASE_ENV)
        password = passwords.password_in(url)
        if password is not None:
            text = passwords.without_password(url).render_as_string(hide_password=False)
        return text, DATABASE_ENV, password
    value = file_values.get("database_url")
    if value is not None:
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{path}: database_url must be a text URL")
        url = _parse(value, f"{path}: database_url")
        if passwords.password_in(url) is not None:
            raise ConfigError(
                f"{path}: database_url carries a password, and a config file is no place for one "
                "(it is copied, backed up and read by others); nothing was done. Remove it from "
                f"the URL and {passwords.where_to_put_it(url)}."
            )
        return value, str(path), None
    return f"sqlite:///{default_database_path()}", "default", None


def check_command_line_url(text: str) -> str:
    """The `--db` URL, refused if it carries a password: every user of the computer can read a
    command line. ConfigError says where the password goes instead."""
    url = _parse(text, "--db")
    if passwords.password_in(url) is not None:
        raise ConfigError(
            "--db carries a password, which every user of this computer can read in the list of "
            "processes (`ps`); nothing was done. Give --db without the password and "
            f"{passwords.where_to_put_it(url)}. (PERPETUA_DATABASE_URL may carry one: the "
            "environment is not shown in `ps`.)"
        )
    return text


def _parse(text: str, source: str) -> URL:
    try:
        return passwords.parse(text)
    except passwords.BadDatabaseUrl as error:
        raise ConfigError(f"{source}: {error}") from None


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


def _table(values: object, name: str, path: Path) -> dict[str, object]:
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: [{name}] must be a table")
    return values


def _unknown(values: dict[str, object], known: tuple[str, ...], name: str, path: Path) -> None:
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(f"{path}: unknown [{name}] setting(s) {', '.join(unknown)}")


def _station(value: object, path: Path) -> str | None:
    """`station = "CODE"`, or a [station] table with the station's `code`."""
    if value is None or isinstance(value, str):
        return value
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: station must be the station's code or a [station] table")
    values = _table(value, "station", path)
    for key, number in values.items():
        _moved(path, f"[station] {key}", key if key in POLICY_KEYS else None, number)
    _unknown(values, ("code",), "station", path)
    code = values.get("code")
    if code is not None and (not isinstance(code, str) or not code):
        raise ConfigError(f"{path}: [station] code must be the station's code, as text")
    return code if isinstance(code, str) else None


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
