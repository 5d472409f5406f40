"""Master data without SQL (issue 12, point 5), on both databases through the `perpetua` command:
`import KIND FILE --update` with its report and all-or-nothing, bin capacity and SKU sizes kept
exact in bin_space, `deactivate` / `activate` and what they refuse, `operator set-pin`, and the
audit of every change with who made it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text

from app.adapters.db import authority
from app.adapters.db.replica_source import Source
from app.adapters.replica import Replica
from app.cli import main
from app.domain.commands import Opening, OpeningLine, Receive, Transfer
from app.domain.errors import Reason
from app.domain.rules import PinStatus
from tests.support.warehouse import Warehouse


def perpetua(db_url: str, *args: str, **kwargs: Any) -> Result:
    return CliRunner().invoke(main, ["--db", db_url, *args], catch_exceptions=False, **kwargs)


def imported(db_url: str, tmp: Path, kind: str, content: str, *options: str) -> tuple[Result, str]:
    path = tmp / f"{kind}.csv"
    path.write_text(content, encoding="utf-8")
    return perpetua(db_url, "import", kind, str(path), *options), str(path)


def query(wh: Warehouse, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with wh.engine.connect() as c:
        return [tuple(r) for r in c.execute(text(sql), params)]


def audit(db_url: str, *options: str) -> list[dict[str, Any]]:
    result = perpetua(db_url, "audit", "--json", *options)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


@pytest.fixture
def stocked(warehouse: Warehouse) -> Warehouse:
    """WIDGET (100 cm3, 50 g) 10 in A-01-01 and 4 in A-01-02; BOLT (5 cm3, 10 g) 20 in A-01-01."""
    opened = warehouse.run(
        Opening,
        lines=(
            OpeningLine("WIDGET", "A-01-01", 10),
            OpeningLine("WIDGET", "A-01-02", 4),
            OpeningLine("BOLT", "A-01-01", 20),
        ),
    )
    assert opened.ok, opened.message
    return warehouse


# --- import --update --------------------------------------------------------------------------


def test_an_update_changes_what_differs_adds_what_is_new_and_says_which(
    db_url: str, warehouse: Warehouse, tmp_path: Path
) -> None:
    rev = dict(query(warehouse, "SELECT code, rev FROM skus"))
    result, path = imported(
        db_url,
        tmp_path,
        "skus",
        "sku,name,reorder_point,min_shelf_days\n"
        "WIDGET,Blue widget XL,25,\n"
        "BOLT,Hex bolt M8,0,\n"
        "NUT,Hex nut M8,5,30\n",
        "--update",
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"skus from {path}: added 1, changed 1, unchanged 1, refused 0",
        '  line 2: changed WIDGET: name "Blue widget" -> "Blue widget XL", reorder_point 0 -> 25',
        "  line 4: added NUT",
    ]
    assert query(
        warehouse,
        "SELECT code, name, reorder_point, min_shelf_days, unit_volume_cm3 FROM skus "
        "WHERE code IN ('WIDGET', 'NUT') ORDER BY code",
    ) == [("NUT", "Hex nut M8", 5, 30, 0), ("WIDGET", "Blue widget XL", 25, None, 100)]
    after = dict(query(warehouse, "SELECT code, rev FROM skus"))
    assert after["WIDGET"] > rev["WIDGET"]  # station replicas copy it
    assert after["BOLT"] == rev["BOLT"]  # unchanged: not even touched
    changes = [(r["code"], r["action"], r["changes"]) for r in audit(db_url, "--kind", "skus")]
    assert changes == [
        ("NUT", "added", {"name": [None, "Hex nut M8"], "unit_volume_cm3": [None, 0],
                          "unit_weight_g": [None, 0], "tracking": [None, "none"],
                          "reorder_point": [None, 5], "lead_time_days": [None, 0],
                          "min_shelf_days": [None, 30]}),
        ("WIDGET", "changed", {"name": ["Blue widget", "Blue widget XL"], "reorder_point": [0, 25]}),
    ]  # fmt: skip


def test_one_refused_row_and_nothing_is_written(
    db_url: str, warehouse: Warehouse, tmp_path: Path
) -> None:
    result, path = imported(
        db_url,
        tmp_path,
        "locations",
        "code,kind,zone\nA-01-01,bin,C\nDOCK-1,bin,A\nNEW-1,bin,C\n",
        "--update",
    )
    assert result.exit_code == 1
    assert f"{path}: line 3: location DOCK-1 is a dock; its kind cannot change to bin: " in (
        result.output
    )
    assert (
        f"{path}: refused 1 row(s), so nothing was added or changed; the other rows would have "
        "added 1, changed 1 and left 0 unchanged"
    ) in result.output
    assert query(warehouse, "SELECT zone FROM locations WHERE code = 'A-01-01'") == [("A",)]
    assert query(warehouse, "SELECT count(*) FROM locations WHERE code = 'NEW-1'") == [(0,)]
    assert audit(db_url) == []


def test_without_update_a_row_that_exists_is_refused_as_before(
    db_url: str, warehouse: Warehouse, tmp_path: Path
) -> None:
    result, path = imported(db_url, tmp_path, "stations", "code,name\nST-1,Dock one\n")
    assert result.exit_code == 1
    assert f"{path}: line 2: station ST-1 already exists" in result.output


@pytest.mark.parametrize("kind", ["receipts", "orders"])
def test_receipts_and_orders_are_not_updated(
    db_url: str, warehouse: Warehouse, tmp_path: Path, kind: str
) -> None:
    result, _ = imported(db_url, tmp_path, kind, "x\n1\n", "--update")
    assert result.exit_code == 1
    assert f"{kind} cannot be changed by an import: they are documents, not master data. " in (
        result.output
    )


def test_a_bin_capacity_changes_in_step_with_its_space_but_never_below_its_stock(
    db_url: str, stocked: Warehouse, tmp_path: Path
) -> None:
    too_small, path = imported(
        db_url, tmp_path, "locations", "code,kind,max_units\nA-01-01,bin,25\n", "--update"
    )
    assert too_small.exit_code == 1
    assert (
        f"{path}: line 2: bin A-01-01 holds 30 units now (20 x BOLT, 10 x WIDGET), more than "
        "max_units 25: move stock out of it first, or give it at least 30"
    ) in too_small.output
    ok, _ = imported(
        db_url,
        tmp_path,
        "locations",
        "code,kind,zone,pick_sequence,max_units,max_volume_cm3\nA-01-01,bin,Z,42,30,5000\n",
        "--update",
    )
    assert ok.exit_code == 0, ok.output
    assert query(
        stocked,
        "SELECT b.zone, b.pick_sequence, b.max_units, b.max_volume_cm3, b.free_units, "
        "b.free_volume_cm3 FROM bin_space b JOIN locations l ON l.id = b.location_id "
        "WHERE l.code = 'A-01-01'",
    ) == [("Z", 42, 30, 5000, 0, 5000 - 10 * 100 - 20 * 5)]


def test_a_new_unit_size_recomputes_every_bin_holding_the_sku(
    db_url: str, stocked: Warehouse, tmp_path: Path
) -> None:
    result, _ = imported(
        db_url,
        tmp_path,
        "skus",
        "sku,name,unit_volume_cm3,unit_weight_g\nWIDGET,Blue widget,150,60\n",
        "--update",
    )
    assert result.exit_code == 0, result.output
    used = query(
        stocked,
        "SELECT l.code, b.used_units, b.used_volume_cm3, b.used_weight_g FROM bin_space b "
        "JOIN locations l ON l.id = b.location_id WHERE b.used_units > 0 ORDER BY l.code",
    )
    assert used == [
        ("A-01-01", 30, 10 * 150 + 20 * 5, 10 * 60 + 20 * 10),
        ("A-01-02", 4, 4 * 150, 4 * 60),
    ]
    moved = stocked.run(
        Transfer, sku="WIDGET", qty=1, from_location="A-01-02", to_location="A-01-03"
    )
    assert moved.ok, moved.message
    assert query(
        stocked,
        "SELECT b.used_volume_cm3 FROM bin_space b JOIN locations l ON l.id = b.location_id "
        "WHERE l.code = 'A-01-02'",
    ) == [(3 * 150,)]


def test_tracking_changes_only_while_a_sku_has_no_stock_and_no_moves(
    db_url: str, stocked: Warehouse, tmp_path: Path
) -> None:
    refused, path = imported(
        db_url,
        tmp_path,
        "skus",
        "sku,name,tracking\nBOLT,Hex bolt M8,lot\nSCREW-5,Screw 5 mm,lot\n",
        "--update",
    )
    assert refused.exit_code == 1
    assert (
        f"{path}: line 2: SKU BOLT has stock or moves, so its tracking cannot change from none "
        "to lot: add the lot-tracked goods under a new SKU code (and deactivate BOLT when its "
        "stock is gone)"
    ) in refused.output
    ok, _ = imported(
        db_url, tmp_path, "skus", "sku,name,tracking\nSCREW-5,Screw 5 mm,lot\n", "--update"
    )
    assert ok.exit_code == 0, ok.output
    assert query(stocked, "SELECT tracking FROM skus WHERE code = 'SCREW-5'") == [("lot",)]


def test_an_operator_update_sets_a_pin_that_is_never_printed_nor_audited(
    db_url: str, warehouse: Warehouse, tmp_path: Path
) -> None:
    result, path = imported(
        db_url,
        tmp_path,
        "operators",
        "badge,name,role,pin\nP1,Pat Picker,supervisor,246802\nS1,Sue Supervisor,supervisor,\n",
        "--update",
        "--by",
        "S2",
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"operators from {path}: added 0, changed 1, unchanged 1, refused 0",
        '  line 2: changed P1: role "picker" -> "supervisor", PIN set',
    ]
    with warehouse.engine.begin() as c:
        assert authority.check_pin(c, "P1", "246802").status is PinStatus.OK
        assert authority.check_pin(c, "S1", "123456").status is PinStatus.OK  # kept
    rows = audit(db_url, "--code", "P1")
    assert [(r["actor"], r["action"], r["changes"]) for r in rows] == [
        ("S2", "changed", {"role": ["picker", "supervisor"]}),
        ("S2", "pin_set", {}),
    ]
    everything = perpetua(db_url, "audit").output + json.dumps(audit(db_url))
    assert "246802" not in everything


def test_the_last_active_supervisor_keeps_the_role(
    db_url: str, warehouse: Warehouse, tmp_path: Path
) -> None:
    result, path = imported(
        db_url,
        tmp_path,
        "operators",
        "badge,name,role\nS1,Sue,picker\nS2,Sid,counter\n",
        "--update",
    )
    assert result.exit_code == 1
    assert (
        f"{path}: line 2: S1 is the last active supervisor, so they cannot be made another "
        "role: a warehouse needs one to approve and release; make another operator a "
        "supervisor first"
    ) in result.output
    assert query(warehouse, "SELECT count(*) FROM operators WHERE role = 'supervisor'") == [(2,)]


def test_a_station_gets_another_dock_and_a_barcode_another_pack(
    db_url: str, warehouse: Warehouse, tmp_path: Path
) -> None:
    station, _ = imported(
        db_url, tmp_path, "stations", "code,name,dock\nST-1,Dock one,DOCK-2\n", "--update"
    )
    assert station.exit_code == 0, station.output
    assert query(
        warehouse,
        "SELECT l.code FROM stations s JOIN locations l ON l.id = s.dock_location_id "
        "WHERE s.code = 'ST-1'",
    ) == [("DOCK-2",)]
    barcode, path = imported(
        db_url,
        tmp_path,
        "barcodes",
        "sku,barcode,pack_qty\nWIDGET,5901234123457,12\nBOLT,BOLT-CASE,50\n",
        "--update",
    )
    assert barcode.exit_code == 0, barcode.output
    assert barcode.output.splitlines() == [
        f"barcodes from {path}: added 1, changed 1, unchanged 0, refused 0",
        "  line 2: changed 05901234123457: pack_qty 1 -> 12",
        "  line 3: added BOLT-CASE",
    ]


# --- deactivate and activate ------------------------------------------------------------------


def test_an_operator_deactivated_is_refused_by_the_ledger_and_kept_in_history(
    db_url: str, warehouse: Warehouse
) -> None:
    assert warehouse.run(Receive, sku="BOLT", qty=1, to_location="DOCK-1").ok
    done = perpetua(db_url, "deactivate", "operator", "D1", "--by", "S1")
    assert done.exit_code == 0 and done.output == "operator D1 deactivated\n", done.output
    refused = warehouse.run(Receive, sku="BOLT", qty=1, to_location="DOCK-1", operator="D1")
    assert refused.reason == Reason.INACTIVE_OPERATOR.value
    moves = perpetua(db_url, "moves", "--json")
    assert [json.loads(m)["operator"] for m in moves.output.splitlines()] == ["D1"]
    again = perpetua(db_url, "deactivate", "operator", "D1")
    assert again.output == "operator D1 is inactive already; nothing was changed\n"
    assert perpetua(db_url, "activate", "operator", "D1").exit_code == 0
    assert warehouse.run(Receive, sku="BOLT", qty=1, to_location="DOCK-1", operator="D1").ok
    rows = audit(db_url, "--kind", "operators")
    assert [(r["code"], r["action"], r["actor"], r["actor_kind"]) for r in rows] == [
        ("D1", "deactivated", "S1", "badge"),
        ("D1", "activated", rows[1]["actor"], "os_user"),
    ]


def test_an_unknown_code_and_an_unknown_or_inactive_by_change_nothing(
    db_url: str, warehouse: Warehouse
) -> None:
    unknown = perpetua(db_url, "deactivate", "sku", "NOPE")
    assert unknown.exit_code == 1
    assert (
        "no SKU has the code NOPE; check the code (codes are exact, upper and lower case "
        "differ). Nothing was changed." in unknown.output
    )
    nobody = perpetua(db_url, "deactivate", "operator", "P1", "--by", "X9")
    assert nobody.exit_code == 1 and "--by X9: no operator has this badge" in nobody.output
    gone = perpetua(db_url, "deactivate", "operator", "P1", "--by", "GONE")
    assert gone.exit_code == 1 and "--by GONE: this operator is inactive" in gone.output
    assert query(warehouse, "SELECT active FROM operators WHERE badge = 'P1'") in (
        [(True,)],
        [(1,)],
    )
    assert audit(db_url) == []


def test_a_location_is_deactivated_only_when_empty_and_no_station_dock(
    db_url: str, stocked: Warehouse
) -> None:
    full = perpetua(db_url, "deactivate", "location", "A-01-01")
    assert full.exit_code == 1
    assert (
        "location A-01-01 holds 30 units (20 x BOLT, 10 x WIDGET): move them out first (a "
        "transfer or putaway), then deactivate it. Nothing was changed." in full.output
    )
    dock = perpetua(db_url, "deactivate", "location", "DOCK-1")
    assert dock.exit_code == 1 and "location DOCK-1 is the dock of station ST-1" in dock.output
    builtin = perpetua(db_url, "deactivate", "location", "SCRAP")
    assert "SCRAP is a built-in location; it cannot be deactivated" in builtin.output
    assert perpetua(db_url, "deactivate", "location", "A-01-03").exit_code == 0
    into = stocked.run(
        Transfer, sku="WIDGET", qty=1, from_location="A-01-02", to_location="A-01-03"
    )
    assert into.reason == Reason.INACTIVE_LOCATION.value


def test_the_last_active_supervisor_is_not_deactivated(db_url: str, warehouse: Warehouse) -> None:
    assert perpetua(db_url, "deactivate", "operator", "S2").exit_code == 0
    last = perpetua(db_url, "deactivate", "operator", "S1")
    assert last.exit_code == 1
    assert "S1 is the last active supervisor, so they cannot be deactivated" in last.output


def test_a_sku_with_stock_is_deactivated_only_by_force(db_url: str, stocked: Warehouse) -> None:
    refused = perpetua(db_url, "deactivate", "sku", "WIDGET")
    assert refused.exit_code == 1
    assert (
        "SKU WIDGET has 14 units on hand (10 in A-01-01, 4 in A-01-02). An inactive SKU's "
        "stock cannot be moved" in refused.output
    )
    forced = perpetua(db_url, "deactivate", "sku", "WIDGET", "--force", "--by", "S1")
    assert forced.exit_code == 0, forced.output
    moved = stocked.run(
        Transfer, sku="WIDGET", qty=1, from_location="A-01-02", to_location="A-01-03"
    )
    assert moved.reason == Reason.INACTIVE_SKU.value
    (row,) = audit(db_url, "--code", "WIDGET")
    assert row["changes"] == {"active": [True, False], "force": [None, True]}
    no_force = perpetua(db_url, "deactivate", "location", "A-01-01", "--force")
    assert no_force.exit_code == 1
    assert "--force is for SKUs only: a location is never deactivated by force" in no_force.output


# --- PINs and the audit -----------------------------------------------------------------------


@pytest.mark.parametrize("group", ["operator", "operators"])
def test_set_pin_asks_it_or_reads_the_environment_and_records_who_set_it(
    db_url: str, warehouse: Warehouse, group: str
) -> None:
    typed = perpetua(db_url, group, "set-pin", "S1", "--by", "S2", input="975310\n")
    assert typed.exit_code == 0, typed.output
    scripted = perpetua(db_url, group, "set-pin", "S2", env={"PERPETUA_PIN": "864200"})
    assert scripted.exit_code == 0, scripted.output
    with warehouse.engine.begin() as c:
        assert authority.check_pin(c, "S1", "975310").ok
        assert authority.check_pin(c, "S2", "864200").ok
    rows = audit(db_url, "--kind", "operators")
    assert [(r["code"], r["action"], r["actor"], r["changes"]) for r in rows] == [
        ("S1", "pin_set", "S2", {}),
        ("S2", "pin_set", rows[1]["actor"], {}),
    ]
    assert "975310" not in typed.output and "864200" not in scripted.output


def test_the_audit_lists_changes_since_a_time_for_a_kind_or_a_code(
    db_url: str, warehouse: Warehouse, tmp_path: Path
) -> None:
    assert perpetua(db_url, "deactivate", "operator", "P1", "--by", "S1").exit_code == 0
    imported(db_url, tmp_path, "locations", "code,kind\nC-01-01,bin\n")
    assert len(audit(db_url)) == 2
    assert [r["code"] for r in audit(db_url, "--kind", "locations")] == ["C-01-01"]
    assert [r["action"] for r in audit(db_url, "--code", "P1")] == ["deactivated"]
    assert audit(db_url, "--since", "2999-01-01") == []
    assert len(audit(db_url, "--since", "2000-01-01T00:00")) == 2
    shown = perpetua(db_url, "audit").output.splitlines()
    assert shown[0].split() == ["at", "by", "kind", "code", "action", "changes"]
    assert shown[1].split()[2:] == [
        "S1",
        "operators",
        "P1",
        "deactivated",
        "active",
        "True",
        "->",
        "False",
    ]
    bad = perpetua(db_url, "audit", "--since", "yesterday")
    assert bad.exit_code == 2 and "is not a date YYYY-MM-DD" in bad.output


def test_station_replicas_copy_what_the_import_and_deactivate_changed(
    db_url: str, warehouse: Warehouse, tmp_path: Path
) -> None:
    replica = Replica(tmp_path / "replica.sqlite")
    try:
        replica.refresh(Source(warehouse.engine), "ST-1")
        before = replica.operator("P1")
        assert before is not None and before.active
        assert perpetua(db_url, "deactivate", "operator", "P1").exit_code == 0
        changed, _ = imported(
            db_url,
            tmp_path,
            "barcodes",
            "sku,barcode,pack_qty\nWIDGET,5901234123457,12\n",
            "--update",
        )
        assert changed.exit_code == 0, changed.output
        replica.refresh(Source(warehouse.engine), "ST-1")
        after = replica.operator("P1")
        assert after is not None and not after.active  # the station logs them out
        found = replica.barcode(["05901234123457"])
        assert found is not None and (found.sku, found.pack) == ("WIDGET", 12)
    finally:
        replica.close()


# --- defects of the user trial (issue 12, point 5) --------------------------------------------


def bin_used(wh: Warehouse, code: str) -> list[tuple[Any, ...]]:
    return query(
        wh,
        "SELECT b.used_volume_cm3, b.used_weight_g, b.free_volume_cm3 FROM bin_space b "
        "JOIN locations l ON l.id = b.location_id WHERE l.code = :code",
        code=code,
    )


def test_a_unit_size_that_would_overfill_a_bin_is_refused_whole(
    db_url: str, stocked: Warehouse, tmp_path: Path
) -> None:
    """A-01-01 holds 10 x WIDGET (100 cm3) and 20 x BOLT (5 cm3): 1100 of 2000 cm3."""
    room, _ = imported(
        db_url, tmp_path, "locations", "code,kind,max_volume_cm3\nA-01-01,bin,2000\n", "--update"
    )
    assert room.exit_code == 0, room.output
    result, path = imported(
        db_url,
        tmp_path,
        "skus",
        "sku,name,unit_volume_cm3\nSCREW-4,Screw 4 mm,2\nWIDGET,Blue widget,200\n",
        "--update",
    )
    assert result.exit_code == 1
    assert (
        f"{path}: line 3: WIDGET at 200 cm3 a unit would overfill bin A-01-01 (2100 of 2000 "
        "cm3): move some out of the bin first, or give the bin more room with perpetua import "
        "locations --update"
    ) in result.output
    assert query(stocked, "SELECT code, unit_volume_cm3 FROM skus WHERE code LIKE 'SCREW-4'") == [
        ("SCREW-4", 1)
    ]  # all or nothing
    assert query(stocked, "SELECT unit_volume_cm3 FROM skus WHERE code = 'WIDGET'") == [(100,)]
    assert bin_used(stocked, "A-01-01") == [(1100, 10 * 50 + 20 * 10, 900)]
    assert [r["kind"] for r in audit(db_url)] == ["locations"]
    fits, _ = imported(
        db_url, tmp_path, "skus", "sku,name,unit_volume_cm3\nWIDGET,Blue widget,190\n", "--update"
    )
    assert fits.exit_code == 0, fits.output
    assert bin_used(stocked, "A-01-01") == [(2000, 700, 0)]


@pytest.mark.parametrize(
    ("kind", "content"),
    [
        ("receipts", "receipt,sku,qty\nASN-9,BOLT,5\nASN-9,SCREW-4,5\n"),
        ("orders", "order,line,sku,qty\nSO-9,1,BOLT,1\nSO-9,2,SCREW-4,1\n"),
    ],
)
def test_receipts_and_orders_of_a_deactivated_sku_are_refused(
    db_url: str, warehouse: Warehouse, tmp_path: Path, kind: str, content: str
) -> None:
    assert perpetua(db_url, "deactivate", "sku", "SCREW-4").exit_code == 0
    result, path = imported(db_url, tmp_path, kind, content)
    assert result.exit_code == 1
    assert (
        f"{path}: line 3: SKU SCREW-4 is deactivated: activate it first (perpetua activate sku "
        "SCREW-4), or leave it out"
    ) in result.output
    assert query(warehouse, f"SELECT count(*) FROM {kind}") == [(0,)]
    assert perpetua(db_url, "activate", "sku", "SCREW-4").exit_code == 0
    again, _ = imported(db_url, tmp_path, kind, content)
    assert again.exit_code == 0, again.output


@pytest.mark.parametrize("update", [False, True])
def test_a_station_dock_is_an_active_dock_not_a_bin(
    db_url: str, warehouse: Warehouse, tmp_path: Path, update: bool
) -> None:
    dock, _ = imported(db_url, tmp_path, "locations", "code,kind\nDOCK-3,dock\n")
    assert dock.exit_code == 0, dock.output
    assert perpetua(db_url, "deactivate", "location", "DOCK-3").exit_code == 0
    codes = ("ST-1", "ST-2") if update else ("ST-8", "ST-9")
    content = f"code,name,dock\n{codes[0]},Dock,DOCK-3\n{codes[1]},Desk,A-01-01\n"
    result, path = imported(db_url, tmp_path, "stations", content, *(["--update"] * update))
    assert result.exit_code == 1
    assert (
        f"{path}: line 2: dock DOCK-3 is deactivated: give the station an active dock, or "
        "activate it first (perpetua activate location DOCK-3)"
    ) in result.output
    assert (
        f"{path}: line 3: dock A-01-01 is a bin location, where goods are not received; give "
        "the station the code of its dock location (a location of kind dock)"
    ) in result.output
    assert query(warehouse, "SELECT count(*) FROM stations") == [(2,)]
    assert query(
        warehouse,
        "SELECT l.code FROM stations s JOIN locations l ON l.id = s.dock_location_id "
        "WHERE s.code = 'ST-1'",
    ) == [("DOCK-1",)]


def test_a_quarantine_location_with_stock_is_released_not_transferred(
    db_url: str, warehouse: Warehouse
) -> None:
    assert warehouse.run(Receive, sku="BOLT", qty=3, to_location="QUAR-1").ok
    refused = perpetua(db_url, "deactivate", "location", "QUAR-1")
    assert refused.exit_code == 1
    assert (
        "location QUAR-1 holds 3 units (3 x BOLT), and stock in quarantine cannot be "
        "transferred: a supervisor releases it, item by item (perpetua release QUAR-1 --sku "
        "BOLT --qty 3 --reason inspected_ok --to BIN --badge SUPERVISOR, or --reason "
        "returned_to_vendor or scrapped), then deactivate it. Nothing was changed."
    ) in refused.output
    assert "a transfer or putaway" not in refused.output


def test_the_audit_finds_a_gtin_by_any_of_its_forms_and_barcodes_a_sku_file_adds(
    db_url: str, warehouse: Warehouse, tmp_path: Path
) -> None:
    added, _ = imported(
        db_url, tmp_path, "skus", "sku,name,gtin,aliases\nNUT,Hex nut,4006381333979,NUT-BOX\n"
    )
    assert added.exit_code == 0, added.output
    more, _ = imported(
        db_url,
        tmp_path,
        "skus",
        "sku,name,aliases\nBOLT,Hex bolt M8,4006381333962|BOLT-ALIAS\n",
        "--update",
    )
    assert more.exit_code == 0, more.output
    for code in ("4006381333979", "04006381333979"):
        rows = audit(db_url, "--code", code)
        assert [(r["kind"], r["code"], r["action"], r["changes"]) for r in rows] == [
            ("barcodes", "04006381333979", "added",
             {"sku": [None, "NUT"], "kind": [None, "gtin"], "pack_qty": [None, 1]}),
        ]  # fmt: skip
    assert [(r["kind"], r["changes"]["sku"]) for r in audit(db_url, "--code", "NUT-BOX")] == [
        ("barcodes", [None, "NUT"])
    ]
    assert [r["changes"]["sku"] for r in audit(db_url, "--code", "4006381333962")] == [
        [None, "BOLT"]
    ]
    assert [r["kind"] for r in audit(db_url, "--code", "BOLT")] == ["skus"]


def test_a_case_barcode_of_a_serial_tracked_sku_is_refused(
    db_url: str, warehouse: Warehouse, tmp_path: Path
) -> None:
    result, path = imported(
        db_url, tmp_path, "barcodes", "sku,barcode,pack_qty\nPHONE,PHONE-1,1\nPHONE,PHONE-12,12\n"
    )
    assert result.exit_code == 1
    assert (
        f"{path}: line 3: PHONE is tracked by serial number: each unit is scanned alone, so a "
        "barcode of it stands for 1 unit, not 12"
    ) in result.output
    assert query(warehouse, "SELECT count(*) FROM barcodes WHERE code LIKE 'PHONE%'") == [(0,)]


def test_messages_say_what_to_do(db_url: str, warehouse: Warehouse, tmp_path: Path) -> None:
    exists, path = imported(db_url, tmp_path, "skus", "sku,name\nWIDGET,Blue widget\n")
    assert exists.exit_code == 1
    assert (
        f"{path}: line 2: SKU WIDGET already exists; to change it, import the file with --update"
    ) in exists.output
    nobody = perpetua(db_url, "operator", "set-pin", "NOPE", env={"PERPETUA_PIN": "864200"})
    assert nobody.exit_code == 1
    assert (
        "no operator has the badge NOPE; check the badge (codes are exact). Nothing was changed."
    ) in nobody.output
