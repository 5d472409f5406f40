"""Every image of ../shared/corpus/camera through `decode` (what `perpetua decode` runs), per
backend and for the cascade, judged byte for byte against the ground truth; and the command.

Prints the per-folder table as one JSON line (found, wrong reads, false positives on the
no-barcode set, median ms per image).
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from app.adapters.camera.cascade import SINGLE, for_stills
from app.adapters.camera.stills import IMAGE_SUFFIXES, decode
from app.cli import main

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "camera"
NO_BARCODE = "zxing-falsepositives-2"
BACKENDS = (*SINGLE, "auto")
COLUMNS = ("images", "judged", "found", "wrong", "false_positives")
CASCADE_FOUND_FLOOR = 216
"""Images the cascade read when this test was written (of 217 with a text ground truth): zxing-cpp
alone read 215, the locate-and-straighten step added a small GS1 DataBar (rss14-1/11)."""


def images(folder: Path) -> Iterator[Path]:
    return (p for p in sorted(folder.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES)


def truth(image: Path) -> str | None:
    """The exact expected text. Read as bytes: reading it as text would turn the CR LF of the
    QR codes' texts into LF. None where the corpus gives bytes instead (eci-mixed.bin)."""
    path = image.with_suffix(".txt")
    return path.read_bytes().decode("utf-8") if path.exists() else None


def judge(backend: str) -> dict[str, Any]:
    decoder = for_stills(backend)
    folders: dict[str, dict[str, float]] = {}
    times: list[float] = []
    for folder in sorted(p for p in CORPUS.iterdir() if p.is_dir()):
        row: dict[str, float] = dict.fromkeys(COLUMNS, 0)
        for image in images(folder):
            result = decode(image, backend, decoder)
            times.append(result.ms)
            read = [code.text for code in result.codes]
            row["images"] += 1
            if folder.name == NO_BARCODE:
                row["false_positives"] += len(read)
                continue
            expected = truth(image)
            if expected is None:
                continue  # eci-mixed: its truth is bytes in mixed encodings, no text
            row["judged"] += 1
            row["found"] += expected in read
            row["wrong"] += sum(text != expected for text in read)
        folders[folder.name] = row
    total = {key: sum(row[key] for row in folders.values()) for key in COLUMNS}
    total["median_ms"] = round(statistics.median(times), 2)
    total["errors"] = sum(decoder.errors.values())
    return {"folders": folders, "total": total}


@pytest.fixture(scope="module")
def table() -> dict[str, dict[str, Any]]:
    return {backend: judge(backend) for backend in BACKENDS}


def test_corpus_table(table: dict[str, dict[str, Any]], capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled():
        print()
        print(json.dumps({"camera_corpus": table}, separators=(",", ":")))
    judged = {b: t["total"] for b, t in table.items()}
    singles = [judged[b] for b in SINGLE]
    cascade = judged["auto"]
    assert cascade["found"] >= max(s["found"] for s in singles)
    assert cascade["wrong"] <= min(s["wrong"] for s in singles)
    assert cascade["false_positives"] == 0
    assert cascade["found"] >= CASCADE_FOUND_FLOOR
    assert all(t["errors"] == 0 for t in judged.values())  # no decoder raised on a real image


def test_corpus_covers_every_format_and_a_no_barcode_set() -> None:
    """A negative control: the table above would pass on an empty or truncated corpus."""
    counted = {folder.name: sum(1 for _ in images(folder)) for folder in CORPUS.iterdir()}
    assert counted[NO_BARCODE] == 25
    assert sum(counted.values()) - counted[NO_BARCODE] == 218
    assert sum(1 for f in CORPUS.iterdir() for i in images(f) if truth(i) is None) == 26


def test_gs1_texts_are_exact_with_gs_and_the_symbology_identifier() -> None:
    datamatrix = CORPUS / "zxingcpp-datamatrix-1" / "gs1-figure-4.15.1-2-32x32.png"
    [read] = decode(datamatrix).codes
    assert read.text == truth(datamatrix)
    assert read.text.count("\x1d") == 2 and read.symbology == "]d2"
    code128 = CORPUS / "zxing-code128-1" / "1.png"
    [read] = decode(code128).codes
    assert (read.text, read.symbology) == ("168901", "]C1")  # leading FNC1: identifier, no GS


def test_transparent_png_reads_as_a_viewer_shows_it() -> None:
    """Two zxing Data Matrix samples have a transparent background: black on black unless the
    alpha channel is laid over white."""
    for name in ("EDIFACT", "X12"):
        image = CORPUS / "zxing-datamatrix-1" / f"{name}.png"
        assert [c.text for c in decode(image, "zxing-fast").codes] == [truth(image)]


def test_decode_command_prints_one_json_object_per_image() -> None:
    ean = CORPUS / "zxing-ean13-3" / "01.png"
    empty = CORPUS / NO_BARCODE / "01.png"
    gs1 = CORPUS / "zxingcpp-datamatrix-1" / "gs1-figure-4.15.1-2-32x32.png"
    result = CliRunner().invoke(main, ["decode", "--json", str(ean), str(empty), str(gs1)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [set(line) for line in lines] == [{"file", "codes", "ms"}] * 3
    assert [line["file"] for line in lines] == [str(ean), str(empty), str(gs1)]
    assert lines[0]["codes"] == [
        {"text": "9780764544200", "symbology": "]E0", "backend": "zxing-fast"}
    ]
    assert lines[1]["codes"] == []
    assert lines[2]["codes"][0]["text"] == truth(gs1)  # GS survives JSON as \u001d
    assert all(isinstance(line["ms"], float) and line["ms"] >= 0 for line in lines)


def test_decode_command_with_one_backend_and_as_text() -> None:
    gs1 = CORPUS / "zxingcpp-datamatrix-1" / "gs1-figure-4.15.1-2-32x32.png"
    zbar = CliRunner().invoke(main, ["decode", "--json", "--backend", "zbar", str(gs1)])
    assert json.loads(zbar.output)["codes"] == []  # zbar reads no Data Matrix
    text = CliRunner().invoke(main, ["decode", "--backend", "zxing", str(gs1)])
    assert text.exit_code == 0
    assert "01095040000591012112345678p901<GS>101234567p<GS>17141120" in text.output
    assert "(]d2, zxing)" in text.output


def test_decode_command_refuses_a_file_that_is_not_an_image(tmp_path: Path) -> None:
    note = tmp_path / "note.png"
    note.write_text("not a picture", encoding="utf-8")
    ean = CORPUS / "zxing-ean13-3" / "01.png"
    result = CliRunner().invoke(main, ["decode", "--json", str(note), str(ean)])
    assert result.exit_code == 1
    first, second = (json.loads(line) for line in result.output.splitlines())
    assert first["codes"] == [] and "not an image file" in first["error"]
    assert second["codes"][0]["text"] == "9780764544200"  # the other files are still read
