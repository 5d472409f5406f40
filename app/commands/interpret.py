"""`perpetua interpret TEXT...`: what scans mean, as a station would interpret them.

The warehouse catalogue (badges, locations, alias barcodes, GTINs) is consulted only when a
database was named explicitly, by `perpetua --db URL` or PERPETUA_DATABASE_URL. Otherwise syntax
alone decides: checking a barcode should neither need a database nor create the default SQLite
file as a side effect.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from datetime import date
from typing import TYPE_CHECKING, Any

import click

from app.adapters.db.catalogue_lookup import open_catalogue
from app.config import DATABASE_ENV
from app.domain.gs1 import shown
from app.domain.interpret import (
    DEFAULT_GS_PLACEHOLDERS,
    Catalogue,
    Interpretation,
    ScanRules,
    interpret,
)
from app.domain.scan import Scan, Source

if TYPE_CHECKING:
    from app.cli import Context

FIELDS = ("gtin", "lot", "expiry", "best_before", "serial", "count", "sscc", "content_gtin")


@click.command("interpret")
@click.argument("texts", metavar="[TEXT]...", nargs=-1)
@click.option("--stdin", "from_stdin", is_flag=True, help="Also read one scan per line from stdin.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='One JSON object per scan: {"scan", "kind", "gtin", "lot", "expiry", "best_before", '
    '"serial", "count", "sscc", "content_gtin", "command", "error", "sku", "pack"}.',
)
@click.option(
    "--gs-placeholder",
    "placeholders",
    multiple=True,
    metavar="TEXT",
    help="Text the scanner sends for GS, besides <GS> and {GS} (repeatable).",
)
@click.pass_obj
def interpret_command(
    obj: Context,
    texts: tuple[str, ...],
    from_stdin: bool,
    as_json: bool,
    placeholders: tuple[str, ...],
) -> None:
    """Say what each scanned TEXT means: item, location, lpn (licence plate), badge, command, or
    invalid with the reason. With `perpetua --db URL` (or PERPETUA_DATABASE_URL) badges, location
    labels and alias barcodes are looked up and GTINs resolved to SKUs; otherwise syntax alone
    decides. Exit status 1 when any scan is refused."""
    if not texts and not from_stdin:
        raise click.UsageError("give TEXT to interpret, or --stdin")
    try:
        rules = ScanRules(gs_placeholders=DEFAULT_GS_PLACEHOLDERS + placeholders)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--gs-placeholder") from None
    refused = 0
    with ExitStack() as stack:
        catalogue: Catalogue | None = None
        if obj.db or os.environ.get(DATABASE_ENV):
            runtime = stack.enter_context(obj.runtime())
            catalogue = stack.enter_context(open_catalogue(runtime.engine))
        for text in _inputs(texts, from_stdin):
            meaning = interpret(Scan(text, Source.MANUAL, device="cli"), catalogue, rules)
            refused += not meaning.accepted
            if as_json:
                click.echo(json.dumps(record(meaning)))
            else:
                click.echo(_line(meaning))
    if refused:
        sys.exit(1)


def _inputs(texts: Iterable[str], from_stdin: bool) -> Iterator[str]:
    yield from texts
    if from_stdin:
        # Bytes, so that a line that is not UTF-8 is refused as such instead of stopping the run.
        for raw in iter(sys.stdin.buffer.readline, b""):
            line = raw.removesuffix(b"\n").removesuffix(b"\r")
            yield line.decode("utf-8", errors="surrogateescape")


def record(meaning: Interpretation) -> dict[str, Any]:
    """The JSON form: every key always present, null when absent; dates as YYYY-MM-DD."""
    values: dict[str, Any] = {"scan": meaning.scan.text, "kind": meaning.kind.value}
    for name in FIELDS:
        value = getattr(meaning, name)
        values[name] = value.isoformat() if isinstance(value, date) else value
    values["command"] = _command(meaning)
    values["error"] = meaning.error
    values["sku"] = meaning.sku
    values["pack"] = meaning.pack
    return values


def _command(meaning: Interpretation) -> str | None:
    if meaning.command is None:
        return None
    name = meaning.command.value
    return f"{name}:{meaning.command_arg}" if meaning.command_arg else name


def _line(meaning: Interpretation) -> str:
    if not meaning.accepted:
        return f"refused   {meaning.error}"
    parts = [f"{meaning.kind.value:<9} {shown(meaning.code or meaning.scan.text)}"]
    if meaning.command is not None:
        parts.append(f"command={_command(meaning)}")
    for name, value in record(meaning).items():
        if name in FIELDS and value is not None:
            parts.append(f"{name}={shown(str(value))}")
    if meaning.sku is not None:
        parts.append(f"sku={shown(meaning.sku)}")
    if meaning.pack != 1:
        parts.append(f"pack={meaning.pack}")
    return "  ".join(parts)
