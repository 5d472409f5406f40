"""`perpetua rfid listen` as a person or a script runs it, against a pseudo-terminal."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import main
from tests.support.serial_pty import PATIENCE_S, Pty

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus" / "rfid"
UNIQUE = json.loads((CORPUS / "expected.json").read_text())["unique_epcs"]
CAPTURES = {
    "ascii": (CORPUS / "ascii_lines.txt").read_bytes(),
    "ru5102": (CORPUS / "ru5102_inventory.bin").read_bytes(),
}


@pytest.fixture
def pty() -> Iterator[Pty]:
    port = Pty()
    yield port
    port.close()


def listen(pty: Pty, protocol: str, *options: str) -> tuple[str, str]:
    """Start `perpetua rfid listen`, play the capture (twice) once it says it is connected."""
    command = [sys.executable, "-m", "app", "rfid", "listen", "--url", pty.path]
    command += ["--protocol", protocol, "--idle-exit", "2", *options]
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stderr is not None
    first = process.stderr.readline()
    assert first == f"reader {pty.path}: connected\n"
    pty.write_in_chunks(CAPTURES[protocol] * 2, random.Random(protocol))
    out, err = process.communicate(timeout=PATIENCE_S)
    assert process.returncode == 0, err
    return out, first + err


@pytest.mark.parametrize("protocol", sorted(CAPTURES))
def test_listen_json_prints_each_tag_once_and_exits_when_idle(pty: Pty, protocol: str) -> None:
    out, err = listen(pty, protocol, "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [row["epc"] for row in rows] == UNIQUE
    assert rows[3] == {
        "epc": "3074257BF7194E4000001A85",
        "scheme": "sgtin-96",
        "gtin": "80614141123458",
        "serial": "6789",
        "sscc": None,
    }
    assert [row["serial"] for row in rows] == ["1", "2", "3", "6789"]
    assert err.splitlines()[0] == f"reader {pty.path}: connected"
    assert "unplugged" not in err


def test_listen_prints_a_readable_line_per_tag(pty: Pty) -> None:
    out, _ = listen(pty, "ascii")
    assert out.splitlines() == [
        "3034257BF7194E4000000001  sgtin-96  GTIN 80614141123458  serial 1",
        "3034257BF7194E4000000002  sgtin-96  GTIN 80614141123458  serial 2",
        "3034257BF7194E4000000003  sgtin-96  GTIN 80614141123458  serial 3",
        "3074257BF7194E4000001A85  sgtin-96  GTIN 80614141123458  serial 6789",
    ]


def test_a_reader_that_is_not_there_is_reported(tmp_path: Path) -> None:
    missing = tmp_path / "ttyUSB9"
    result = CliRunner().invoke(
        main,
        ["rfid", "listen", "--url", str(missing), "--protocol", "ru5102", "--idle-exit", "0.3"],
    )
    assert result.exit_code == 1
    assert f"reader {missing}: unplugged: " in result.output
    assert f"Error: the reader at {missing} never connected" in result.output


def test_a_url_pyserial_does_not_know_is_refused_at_once() -> None:
    result = CliRunner().invoke(
        main, ["rfid", "listen", "--url", "tcp://reader:4001", "--protocol", "ascii"]
    )
    assert result.exit_code == 2
    assert "protocol 'tcp' not known" in result.output
