"""`perpetua sheet`: the printable command sheet, one barcode per station action."""

from __future__ import annotations

from pathlib import Path

import click

from app.adapters.labels import command_entries, sheet_html


@click.command("sheet")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("command-sheet.html"),
    show_default=True,
    help="The HTML file to write; print it from a browser.",
)
def sheet_command(out: Path) -> None:
    """Write the command sheet: DONE, CANCEL, SHORT, DAMAGED, modes, quantities and reason
    codes as Code 128 barcodes, so a whole shift needs only the scanner."""
    entries = command_entries()
    out.write_text(sheet_html(entries), encoding="utf-8")
    click.echo(f"{len(entries)} command barcodes written to {out}")
