"""`perpetua station`: open the scanner station window (what `make run` ends with)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from app.bootstrap import (
    SchemaOutOfDate,
    StationNotRegistered,
    StationOffline,
    open_station,
    station_factory,
    supervisor_desk_factory,
)

if TYPE_CHECKING:
    from app.cli import Context

DEFAULT_STATION = "ST-1"


@click.command("station")
@click.option(
    "--station",
    "code",
    default=None,
    help=f"The station code (default: `station` in the config file, else {DEFAULT_STATION}).",
)
@click.option(
    "--outbox",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The station's outbox file (default: in the user data directory).",
)
@click.pass_obj
def station_command(obj: Context, code: str | None, outbox: Path | None) -> None:
    """Open the station window: log in with a badge and work from the scanner."""
    settings = obj.settings()
    code = code or settings.station or DEFAULT_STATION
    # Check the database and the station here, so a wrong setting is a plain error on the
    # command line rather than a red banner in a window. A database out of reach is not an
    # error: the station works from its replica (or says in the window that it has none yet).
    try:
        open_station(settings, code, outbox).close()
    except (StationNotRegistered, SchemaOutOfDate) as error:
        raise click.ClickException(str(error)) from None
    except StationOffline as error:
        click.echo(str(error), err=True)
    from app.ui.app import run_station  # Qt loads only for the window

    status = run_station(
        station_factory(settings, code, outbox),
        rfid=settings.rfid,
        camera=settings.camera,
        title=f"Perpetua station {code}",
        desk_factory=supervisor_desk_factory(settings, code, outbox),
    )
    sys.exit(status)
