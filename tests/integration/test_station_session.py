"""The station session end to end on both databases: every mode's scenario from scans to stock,
every transaction through the outbox, an outage that queues and drains exactly once, and the
same scenarios through `perpetua replay`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.adapters.db.catalogue import add_barcodes
from app.adapters.outbox import Outbox
from app.cli import main
from app.domain.catalogue import BarcodeSpec
from app.services.station import StationSession
from app.services.station_view import ScanState
from tests.support.scenarios import PICK, SCENARIOS, WIDGET_GTIN, Scenario
from tests.support.session import scan
from tests.support.warehouse import Warehouse


def log_in(session: StationSession, scenario: Scenario) -> None:
    view = scan(session, scenario.operator)
    assert view.operator is not None, view.feedback
    if view.mode is None or view.mode.value != scenario.mode:
        view = scan(session, f"@CMD:MODE:{scenario.mode.upper()}")
    assert view.mode is not None and view.mode.value == scenario.mode, view.feedback


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_each_mode_from_scans_alone(
    scenario: Scenario, station: tuple[StationSession, Path], warehouse: Warehouse
) -> None:
    session, outbox_path = station
    scenario.setup(warehouse)
    log_in(session, scenario)
    for text in scenario.scans:
        view = scan(session, text)
        assert view.scans[0].state is not ScanState.REFUSED, (text, view.feedback)
        assert view.scans[0].state is not ScanState.REJECTED, (text, view.feedback)
    scenario.check(warehouse)
    assert view.queue_depth == 0
    with Outbox(outbox_path) as outbox:
        entries = outbox.entries()
    assert entries and all(e.state == "confirmed" for e in entries)
    assert warehouse.invariants().total == 0


def test_a_refused_scan_says_why_and_changes_nothing(
    station: tuple[StationSession, Path], warehouse: Warehouse
) -> None:
    session, _ = station
    scan(session, "D1")
    view = scan(session, "NOT-A-CODE")
    assert view.scans[0].state is ScanState.REFUSED
    assert view.feedback is not None and view.feedback.level.value == "error"
    assert "NOT-A-CODE" in view.feedback.text
    assert view.prompt  # the same prompt stays
    assert warehouse.on_hand("DOCK-1", "WIDGET") == 0


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_each_mode_through_replay(
    scenario: Scenario, db_url: str, warehouse: Warehouse, tmp_path: Path
) -> None:
    scenario.setup(warehouse)
    scans = tmp_path / "scans.txt"
    scans.write_text("\n".join(scenario.scans) + "\n", encoding="utf-8")
    args = ["--db", db_url, "replay", "--station", "ST-1", "--operator", scenario.operator]
    args += ["--mode", scenario.mode, "--outbox", str(tmp_path / "outbox.sqlite"), str(scans)]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.output.splitlines()]
    assert [r["line"] for r in records] == list(range(1, len(scenario.scans) + 1))
    assert all(r["state"] in ("accepted", "confirmed") for r in records), records
    assert all(r["prompt"] for r in records)
    txs = [t for r in records for t in r["transactions"]]
    assert txs and all(t["state"] == "confirmed" and t["tx_id"] for t in txs)
    scenario.check(warehouse)


def test_replay_refuses_bad_lines_with_their_reason(
    db_url: str, warehouse: Warehouse, tmp_path: Path
) -> None:
    scans = tmp_path / "scans.txt"
    scans.write_bytes(b"\xff\xfe\n" + WIDGET_GTIN.encode() + b"\n")
    args = ["--db", db_url, "replay", "--station", "ST-1", "--operator", "D1", "--mode"]
    args += ["receive", "--outbox", str(tmp_path / "o.sqlite"), str(scans)]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 1
    first, second = (json.loads(line) for line in result.output.splitlines())
    assert first["state"] == "refused" and first["transactions"] == []
    assert second["state"] == "confirmed"
    assert warehouse.on_hand("DOCK-1", "WIDGET") == 1


def test_replay_of_a_supervisor_needs_the_pin(
    db_url: str, warehouse: Warehouse, tmp_path: Path
) -> None:
    scans = tmp_path / "scans.txt"
    scans.write_text(WIDGET_GTIN + "\n", encoding="utf-8")
    args = ["--db", db_url, "replay", "--station", "ST-1", "--operator", "S1", "--mode"]
    args += ["receive", "--outbox", str(tmp_path / "o.sqlite"), str(scans)]
    refused = CliRunner().invoke(main, args)
    assert refused.exit_code == 1 and "set PERPETUA_PIN" in refused.output
    wrong = CliRunner().invoke(main, args, env={"PERPETUA_PIN": "000000"})
    assert wrong.exit_code == 1 and "Wrong PIN" in wrong.output
    right = CliRunner().invoke(main, args, env={"PERPETUA_PIN": "123456"})
    assert right.exit_code == 0, right.output
    assert warehouse.on_hand("DOCK-1", "WIDGET") == 1


def test_a_picked_order_is_not_reserved_twice(
    station: tuple[StationSession, Path], warehouse: Warehouse
) -> None:
    session, _ = station
    PICK.setup(warehouse)
    log_in(session, PICK)
    for text in PICK.scans:
        scan(session, text)
    again = scan(session, "SO-1")
    assert again.feedback is not None and "already picked" in again.feedback.text
    assert warehouse.reserved("A-01-03", "BOLT") == 0
    PICK.check(warehouse)


def test_a_pick_list_left_at_logout_is_resumed_by_its_picker(
    station: tuple[StationSession, Path], warehouse: Warehouse
) -> None:
    session, _ = station
    PICK.setup(warehouse)
    log_in(session, PICK)
    scan(session, "SO-1")  # reserved now
    assert warehouse.reserved("A-01-03", "BOLT") == 3
    scan(session, "@CMD:LOGOUT")
    log_in(session, PICK)
    resumed = scan(session, "SO-1")
    assert resumed.feedback is not None and "Resumed SO-1" in resumed.feedback.text
    for text in PICK.scans[1:]:
        scan(session, text)
    PICK.check(warehouse)


def test_the_scan_history_starts_empty_for_each_operator(
    station: tuple[StationSession, Path],
) -> None:
    session, _ = station
    scan(session, "D1")
    scan(session, WIDGET_GTIN)
    view = scan(session, "@CMD:LOGOUT")
    assert view.operator is None and view.scans == ()
    view = scan(session, "S1")
    view = session.handle_entry("123456")
    assert view.operator is not None and view.operator.badge == "S1"
    assert [row.text for row in view.scans] == ["(PIN)"] and view.transactions == ()


def test_digits_sent_as_a_scan_while_a_pin_is_asked_are_the_pin_and_never_shown(
    station: tuple[StationSession, Path],
) -> None:
    session, _ = station
    scan(session, "S1")
    view = scan(session, "123456")  # typed fast enough to pass for a scanner, or on the line
    assert view.operator is not None and view.operator.badge == "S1", view.feedback
    shown = [row.text for row in view.scans] + [row.meaning for row in view.scans]
    assert all("123456" not in text for text in shown)
    assert view.feedback is None or "123456" not in view.feedback.text


def test_replay_takes_an_approving_supervisors_pin_from_the_environment(
    db_url: str, warehouse: Warehouse, tmp_path: Path
) -> None:
    """A supervisor's badge inside the file (accepting an expired lot into quarantine) asks its
    PIN as at login: PERPETUA_PIN, or the terminal. A file that ends while the station still asks
    for it, or a wrong PIN in it, exits 1: what waited was not done."""
    with warehouse.engine.begin() as c:
        add_barcodes(c, [BarcodeSpec("MILK", "09506000134352", "gtin")])
    scans = tmp_path / "scans.txt"
    scans.write_text("(01)09506000134352(17)250101(10)OLD1\nS1\n", encoding="utf-8")
    args = ["--db", db_url, "replay", "--station", "ST-1", "--operator", "D1", "--mode"]
    args += ["receive", "--outbox", str(tmp_path / "o.sqlite"), str(scans)]

    stuck = CliRunner().invoke(main, args)
    assert stuck.exit_code == 1
    assert "the file ended while the station still asks for a PIN" in stuck.output
    assert warehouse.on_hand("QUAR-1", "MILK", "OLD1") == 0

    wrong = tmp_path / "wrong.txt"
    wrong.write_text(scans.read_text() + "@KEY:000000\n", encoding="utf-8")
    refused = CliRunner().invoke(main, [*args[:-1], str(wrong)])
    assert refused.exit_code == 1 and "Wrong PIN" in refused.output

    done = CliRunner().invoke(main, args, env={"PERPETUA_PIN": "123456"})
    # Still 1: the label itself was refused (and then accepted by the supervisor).
    assert done.exit_code == 1 and "still asks for a PIN" not in done.output, done.output
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert records[0]["state"] == "refused" and "expired on 2025-01-01" in str(records[0])
    assert records[-1]["scan"] == "(PIN)" and "123456" not in done.output
    assert "into quarantine QUAR-1 (expired), approved by S1" in records[-1]["feedback"]["text"]
    assert warehouse.on_hand("QUAR-1", "MILK", "OLD1") == 1
