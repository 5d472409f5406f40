"""bench/station.py end to end on a short SQLite run: the real station window, the simulated
stations and the start-up launches all run, and the tables come out. Its figures are for reading
(STYLE.md rule 19), so no timing is asserted here."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HANG_GUARD_S = 900
"""Only against a hung run: the bench has no time limit of its own."""
SCANS = 10
NUMBER = r"\s+\d+\.\d"


@pytest.mark.xdist_group("heavy")
def test_the_station_bench_runs_and_prints_its_tables(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "station.py"),
            "--quick",
            "--scans",
            str(SCANS),
            "--launches",
            "1",
            "--sqlite-only",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=HANG_GUARD_S,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("Perpetua station benchmark, ")
    assert lines[1].startswith("machine: ")
    assert "platform offscreen" in done.stdout

    def row(pattern: str) -> None:
        assert any(re.fullmatch(pattern, line) for line in lines), (pattern, done.stdout)

    row(rf"sqlite\s+500 ms pauses\s+receive({NUMBER}+){{4}}\s+\d+ \|\s+\|\s+\d+")
    row(rf"\s+refused({NUMBER}+){{4}}\s+\d+ \|{NUMBER}+x \|")
    row(rf"\s+bare({NUMBER}+){{4}}\s+\d+ \|{NUMBER}+x \|")
    row(rf"sqlite({NUMBER}+){{3}}x")
    assert f"banner green for {SCANS} of {SCANS} receives, red for {SCANS} of {SCANS}" in (
        done.stdout
    )
    assert not [line for line in lines if line.startswith("postgresql")]  # --sqlite-only
