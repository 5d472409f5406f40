"""Where the database is: `--db URL`, else PERPETUA_DATABASE_URL, else the config file, else an
SQLite file in the user's data directory.

The config file is TOML, at PERPETUA_CONFIG or `<user config dir>/perpetua/config.toml`:

    database_url = "postgresql+psycopg://perpetua@db.example/warehouse"
    station = "DOCK-1"
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

import platformdirs

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
    if cli_url:
        return Settings(cli_url, "--db", station)
    if os.environ.get(DATABASE_ENV):
        return Settings(os.environ[DATABASE_ENV], DATABASE_ENV, station)
    url = file_values.get("database_url")
    if url is not None:
        if not isinstance(url, str) or not url:
            raise ConfigError(f"{path}: database_url must be a text URL")
        return Settings(url, str(path), station)
    return Settings(f"sqlite:///{default_database_path()}", "default", station)
