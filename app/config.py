"""Where the database is: `--db URL`, else PERPETUA_DATABASE_URL, else the config file, else an
SQLite file in the user's data directory.

The config file is TOML, at PERPETUA_CONFIG or `<user config dir>/perpetua/config.toml`:

    database_url = "postgresql+psycopg://perpetua@db.example/warehouse"
    station = "DOCK-1"

    [stow]
    cap_per_bin = 100      # units of one SKU in one bin, at most
    cap_per_zone = 400     # units of one SKU in one zone, at most
    hold_seconds = 120     # how long a suggestion keeps its space for the worker
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from app.domain.stow import StowPolicy

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
    station = file_values.get("station")
    station = station if isinstance(station, str) else None
    stow = _stow_policy(file_values.get("stow", {}), path)
    if cli_url:
        return Settings(cli_url, "--db", station, stow)
    if os.environ.get(DATABASE_ENV):
        return Settings(os.environ[DATABASE_ENV], DATABASE_ENV, station, stow)
    url = file_values.get("database_url")
    if url is not None:
        if not isinstance(url, str) or not url:
            raise ConfigError(f"{path}: database_url must be a text URL")
        return Settings(url, str(path), station, stow)
    return Settings(f"sqlite:///{default_database_path()}", "default", station, stow)


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
