"""The printed command sheet: one Code 128 barcode per station action, so that a whole shift needs
only the scanner (DESIGN.md section 5). python-barcode draws the symbols as SVG; the sheet is a
plain HTML page to print from any browser."""

from __future__ import annotations

import html
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass

import barcode
from barcode.writer import SVGWriter

from app.domain.commands import AdjustReason, ReturnReason
from app.domain.interpret import COMMAND_MEANINGS, COMMAND_PREFIX, CommandName, StationMode

QUANTITIES = (1, 2, 3, 4, 5, 6, 10, 12, 20, 24, 50, 100)


@dataclass(frozen=True, slots=True)
class SheetEntry:
    text: str
    """What the barcode encodes: `@CMD:DONE`."""
    label: str
    meaning: str


def command_entries() -> list[SheetEntry]:
    """Every command barcode a station takes, grouped as on the sheet."""
    entries = [
        SheetEntry(f"{COMMAND_PREFIX}{name.value}", name.value, COMMAND_MEANINGS[name])
        for name in CommandName
        if name not in (CommandName.QTY, CommandName.MODE, CommandName.REASON)
    ]
    entries += [
        SheetEntry(
            f"{COMMAND_PREFIX}MODE:{mode.value.upper()}",
            f"MODE {mode.value.upper()}",
            f"switch to {mode.value}",
        )
        for mode in StationMode
    ]
    entries += [
        SheetEntry(f"{COMMAND_PREFIX}QTY:{n}", f"QTY {n}", f"the next item scan counts {n}")
        for n in QUANTITIES
    ]
    entries += [
        SheetEntry(
            f"{COMMAND_PREFIX}REASON:{reason.value.upper()}",
            f"REASON {reason.value.upper()}",
            f"reason code: {reason.value.replace('_', ' ')}",
        )
        # Count reasons, then the return reasons that are not count reasons too (DAMAGED is both).
        for reason in [
            *AdjustReason,
            *(r for r in ReturnReason if r.value not in set(AdjustReason)),
        ]
    ]
    return entries


def code128_svg(text: str) -> str:
    """The Code 128 symbol of `text` as an inline SVG element."""
    symbol = barcode.get("code128", text, writer=SVGWriter())
    out = io.BytesIO()
    symbol.write(out, options={"module_height": 12.0, "module_width": 0.3, "write_text": False})
    svg = out.getvalue().decode("utf-8")
    svg = svg[svg.index("<svg") :]
    # python-barcode writes every coordinate in mm; SVG renderers that do not scale units inside
    # shapes (Qt's among them) then draw the bars at the wrong width. Drawing in plain user units
    # under a viewBox of the same size in mm prints identically and renders right everywhere.
    size = re.search(r'width="([0-9.]+)mm" height="([0-9.]+)mm"', svg)
    assert size is not None, "python-barcode's SVG header changed"
    head = f'viewBox="0 0 {size[1]} {size[2]}" width="{size[1]}mm" height="{size[2]}mm"'
    svg = svg.replace(size[0], head, 1)
    return re.sub(r'(x|y|width|height)="([0-9.]+)mm"', r'\1="\2"', svg)


def sheet_html(entries: Iterable[SheetEntry], title: str = "Perpetua command sheet") -> str:
    cells = "\n".join(
        f'<div class="cell">{code128_svg(e.text)}<div class="label">{html.escape(e.label)}</div>'
        f'<div class="meaning">{html.escape(e.meaning)}</div></div>'
        for e in entries
    )
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 10mm; }}
.grid {{ display: grid; grid-template-columns: repeat(3, 1fr); gap: 6mm; }}
.cell {{ border: 1px solid #999; padding: 3mm; text-align: center; break-inside: avoid; }}
.label {{ font-size: 14pt; font-weight: bold; }}
.meaning {{ font-size: 9pt; color: #333; }}
</style></head>
<body><h1>{html.escape(title)}</h1><div class="grid">
{cells}
</div></body></html>
"""
