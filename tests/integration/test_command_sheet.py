"""The printed command sheet: every barcode on it decodes (zxing-cpp, from the SVG rendered by
Qt) to a command the station interprets as what its label says."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import zxingcpp
from click.testing import CliRunner
from PySide6.QtCore import QByteArray
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

from app.adapters.labels import code128_svg, command_entries
from app.cli import main
from app.domain.interpret import Kind, interpret
from app.domain.scan import Scan, Source


def rendered(svg: str) -> np.ndarray:
    renderer = QSvgRenderer(QByteArray(svg.encode()))
    box = renderer.viewBoxF()  # in mm: print it at 12 pixels per mm (about 300 dpi)
    image = QImage(
        round(box.width() * 12), round(box.height() * 12), QImage.Format.Format_Grayscale8
    )
    image.fill(QColor("white"))
    painter = QPainter(image)
    renderer.render(painter)
    painter.end()
    bits = image.constBits()
    pixels = np.frombuffer(bits, dtype=np.uint8, count=image.sizeInBytes())
    return pixels.reshape(image.height(), image.bytesPerLine())[:, : image.width()].copy()


def test_every_sheet_barcode_decodes_to_its_command() -> None:
    entries = command_entries()
    assert {"@CMD:DONE", "@CMD:SHORT", "@CMD:MODE:PICK", "@CMD:QTY:12"} <= {e.text for e in entries}
    for entry in entries:
        found = zxingcpp.read_barcodes(rendered(code128_svg(entry.text)))
        assert [f.text for f in found] == [entry.text]
        meaning = interpret(Scan(found[0].text, Source.CAMERA))
        assert meaning.kind is Kind.COMMAND, meaning.error
        assert entry.label.split()[0] == meaning.command


def test_sheet_command_writes_a_printable_page(tmp_path: Path) -> None:
    out = tmp_path / "sheet.html"
    result = CliRunner().invoke(main, ["sheet", "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert page.count("<svg") == len(command_entries())
    assert "MODE RECEIVE" in page and "REASON LOST" in page
