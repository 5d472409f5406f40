"""`perpetua decode IMAGE...`: the barcodes in image files, read as a station camera reads them."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from app.adapters.camera import BACKENDS


@click.command("decode")
@click.argument(
    "images",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@click.option(
    "--backend",
    type=click.Choice(BACKENDS),
    default="auto",
    show_default=True,
    help="auto: the cascade a camera uses (zxing-cpp fast, then zxing-cpp with its defaults, "
    "OpenCV locate-and-straighten, zbar); or one backend alone.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='One JSON object per image: {"file", "codes": [{"text", "symbology", "backend"}], "ms"}.',
)
def decode_command(images: tuple[Path, ...], backend: str, as_json: bool) -> None:
    """Read the barcodes in IMAGE files (PNG, JPEG, WebP, ...). Texts are exact: GS1 separators
    come out as GS (0x1D, shown as <GS>); "ms" is the decoding time without reading the file.
    Exit status 1 if a file is not an image."""
    # Imported here: OpenCV and zxing-cpp take a moment to load, and other commands need neither.
    from app.adapters.camera.cascade import for_stills
    from app.adapters.camera.stills import UnreadableImage, decode

    decoder = for_stills(backend)
    unreadable = 0
    for path in images:
        try:
            result = decode(path, backend, decoder).as_json()
        except UnreadableImage as error:
            unreadable += 1
            result = {"file": str(path), "codes": [], "ms": 0.0, "error": str(error)}
        if as_json:
            click.echo(json.dumps(result, ensure_ascii=False))
        else:
            _echo_text(result)
    if unreadable:
        sys.exit(1)


def _echo_text(result: dict[str, Any]) -> None:
    if "error" in result:
        click.echo(result["error"], err=True)
        return
    codes = result["codes"]
    found = f"{len(codes)} code(s)" if codes else "no code found"
    click.echo(f"{result['file']}: {found} in {result['ms']:.1f} ms")
    for code in codes:
        click.echo(f"  {_visible(code['text'])}  ({code['symbology']}, {code['backend']})")


def _visible(text: str) -> str:
    """Scanned text shown safely on a terminal: GS as <GS>, other control characters escaped."""
    return "".join(
        "<GS>" if ch == "\x1d" else ch if ch.isprintable() else ch.encode("unicode_escape").decode()
        for ch in text
    )
