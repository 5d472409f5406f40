"""The rules of master data changed without SQL (issue 12, points 3 and 5): barcodes and their
pack quantities as an import reads them, what `perpetua import --update` changes in a row that
exists and what it refuses, what a deactivation needs first, and the audit rows of a plan.

The planner reads the database through a small port (services/master_data.Existing); here a
warehouse in a few dicts answers it."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.domain.catalogue import BarcodeSpec, LocationSpec, OperatorSpec, SkuSpec
from app.domain.import_rules import CodeKind, Holder
from app.domain.master_data import (
    Action,
    BinLoad,
    Current,
    Holding,
    ImportPlan,
    MasterChange,
    MasterKind,
    location_deactivation_problem,
    sku_deactivation_problem,
)
from app.domain.model import LocationKind, Role, Tracking
from app.services.importing import (
    ImportResult,
    ImportRules,
    parse_barcodes,
    parse_locations,
    parse_operators,
    parse_orders,
    parse_receipts,
    parse_skus,
    parse_stations,
)
from app.services.master_data import plan_import

UPDATE = ImportRules(update=True)


def nothing(codes: Collection[str]) -> list[Holder]:
    return []


def holding(*held: Holder) -> Any:
    def lookup(codes: Collection[str]) -> list[Holder]:
        return [h for h in held if h.code in codes]

    return lookup


@dataclass
class Warehouse:
    """What the planner asks the database, in dicts."""

    rows: dict[MasterKind, dict[str, Current[Any]]] = field(default_factory=dict)
    barcodes: dict[str, list[Current[BarcodeSpec]]] = field(default_factory=dict)
    history: set[str] = field(default_factory=set)
    bins: dict[str, Holding] = field(default_factory=dict)
    supervisors: set[str] = field(default_factory=set)
    pins: set[str] = field(default_factory=set)
    asked_holdings: list[list[str]] = field(default_factory=list)
    loads: list[BinLoad] = field(default_factory=list)
    asked_loads: list[list[str]] = field(default_factory=list)

    def current(self, kind: MasterKind, keys: Collection[str]) -> Mapping[str, Current[Any]]:
        held = self.rows.get(kind, {})
        return {k: held[k] for k in keys if k in held}

    def sku_barcodes(self, skus: Collection[str]) -> Mapping[str, Sequence[Current[BarcodeSpec]]]:
        return {s: self.barcodes[s] for s in skus if s in self.barcodes}

    def with_history(self, skus: Collection[str]) -> set[str]:
        return self.history & set(skus)

    def holdings(self, bins: Collection[str]) -> Mapping[str, Holding]:
        self.asked_holdings.append(sorted(bins))
        return {b: self.bins[b] for b in bins if b in self.bins}

    def bin_loads(self, skus: Collection[str]) -> Sequence[BinLoad]:
        self.asked_loads.append(sorted(skus))
        return [b for b in self.loads if any(sku in skus for sku, _ in b.units)]

    def active_supervisors(self) -> set[str]:
        return set(self.supervisors)

    def with_pin(self, badges: Collection[str]) -> set[str]:
        return self.pins & set(badges)


def planned(kind: MasterKind, result: ImportResult[Any], wh: Warehouse) -> ImportPlan[Any]:
    assert result.ok, result.errors
    return plan_import(kind, result, wh)


# --- barcodes as an import reads them ---------------------------------------------------------

SKUS_A_B = holding(Holder(CodeKind.SKU, "A", "A"), Holder(CodeKind.SKU, "B", "B"))


def test_a_barcode_that_reads_as_a_gtin_is_stored_as_its_14_digits() -> None:
    text = (
        "sku,barcode,pack_qty,kind\n"
        "A,4006381333962,12,\n"  # an EAN-13 (valid check digit): a case GTIN
        "A,96385074,1,alias\n"  # a GTIN-8 written as an alias: a station reads it as a GTIN
        "A,4006381333963,1,\n"  # 13 digits, wrong check digit: an alias, as it is
        "A,SUP-7/CASE,6,alias\n"
        "B,0012345000065,1,gtin\n"
    )
    result = parse_barcodes(text, SKUS_A_B)
    assert result.ok, result.errors
    assert result.rows == [
        BarcodeSpec("A", "04006381333962", "gtin", 12),
        BarcodeSpec("A", "00000096385074", "gtin", 1),
        BarcodeSpec("A", "4006381333963", "alias", 1),
        BarcodeSpec("A", "SUP-7/CASE", "alias", 6),
        BarcodeSpec("B", "00012345000065", "gtin", 1),
    ]


def test_a_pack_quantity_of_0_and_a_gtin_that_is_none_are_refused_by_line() -> None:
    text = (
        "sku,barcode,pack_qty,kind\n"
        "A,CASE-A,0,\n"
        "A,4006381333963,1,gtin\n"
        "A,X1,-2,\n"
        "A,X2,1,box\n"
        "A,X3,,\n"
    )
    assert parse_barcodes(text, nothing).errors == [
        "line 2: pack_qty is 0: write how many units one scan of this barcode stands for "
        "(1 for a single item, 12 for a case of 12)",
        "line 3: barcode 4006381333963 is not a GTIN (Invalid GTIN check digit for "
        "'4006381333963': Expected 2, got 3.); write kind alias, or leave kind empty",
        "line 4: pack_qty must be at least 1, not -2",
        "line 5: kind must be gtin or alias (or empty), not 'box'",
        "line 6: pack_qty is empty",
    ]


def test_a_barcode_already_used_is_refused_naming_its_holder() -> None:
    lookup = holding(
        Holder(CodeKind.SKU, "A", "A"),
        Holder(CodeKind.SKU, "B", "B"),
        Holder(CodeKind.GTIN, "04006381333962", "B"),
        Holder(CodeKind.BADGE, "D001"),
        Holder(CodeKind.LOCATION, "A-01-01"),
    )
    text = (
        "sku,barcode,pack_qty\n"
        "A,4006381333962,12\n"
        "A,D001,1\n"
        "A,A-01-01,1\n"
        "A,A,1\n"  # its own SKU code: a shelf label, no clash
        "A,LABEL-1,1\n"
        "A,00000000LABEL-1,1\n"
        "C,LABEL-2,1\n"
    )
    assert parse_barcodes(text, lookup).errors == [
        "line 2: GTIN 04006381333962 of SKU A is already the GTIN of SKU B; check the GTIN",
        "line 3: alias D001 of SKU A is already an operator's badge; choose another alias",
        "line 4: alias A-01-01 of SKU A is already a location's code; choose another alias",
        "line 8: SKU C is not in the catalogue (import skus first)",
    ]


def test_the_same_barcode_twice_in_a_file_is_refused() -> None:
    text = "sku,barcode,pack_qty\nA,96385074,1\nB,00000096385074,12\n"
    assert parse_barcodes(text, holding(Holder(CodeKind.SKU, "A", "A"))).errors[0] == (
        "line 3: barcode 00000096385074 repeats line 2"
    )


def test_sku_aliases_that_read_as_gtins_are_stored_as_gtins_and_min_shelf_days_is_read() -> None:
    text = (
        "sku,name,gtin,aliases,min_shelf_days\n"
        "A,Apple,,4006381333962|SUP-1|12345,30\n"
        "B,Bean,96385074,,\n"
        "C,Cherry,,,-1\n"
    )
    result = parse_skus(text, nothing)
    assert result.errors == ["line 4: min_shelf_days must be at least 0, not -1"]
    apple, bean = result.rows
    assert apple.barcodes == (("04006381333962", "gtin"), ("SUP-1", "alias"), ("12345", "alias"))
    assert (apple.min_shelf_days, bean.min_shelf_days) == (30, None)


# --- an update matches the row itself ---------------------------------------------------------


def test_with_update_a_row_that_exists_is_matched_and_a_clash_is_still_a_clash() -> None:
    lookup = holding(
        Holder(CodeKind.SKU, "A", "A"),
        Holder(CodeKind.ALIAS, "4006381333962", "A"),  # imported as an alias before
        Holder(CodeKind.ALIAS, "SUP-9", "Z"),
    )
    text = "sku,name,aliases\nA,Apple,4006381333962\nB,Bean,SUP-9\n"
    assert parse_skus(text, lookup).errors == [
        "line 2: SKU A already exists; to change it, import the file with --update",
        "line 3: alias SUP-9 of SKU B is already an alias of SKU Z; choose another alias",
    ]
    assert parse_skus(text, lookup, UPDATE).errors == [
        "line 3: alias SUP-9 of SKU B is already an alias of SKU Z; choose another alias"
    ]


def test_an_update_of_barcodes_matches_the_barcode_whatever_its_sku() -> None:
    lookup = holding(
        Holder(CodeKind.SKU, "A", "A"),
        Holder(CodeKind.SKU, "B", "B"),
        Holder(CodeKind.GTIN, "04006381333962", "B"),
    )
    text = "sku,barcode,pack_qty\nA,4006381333962,12\n"
    assert parse_barcodes(text, lookup, UPDATE).ok


# --- the plan of an update --------------------------------------------------------------------

SKU_A = SkuSpec("A", "Apple", 100, 50, Tracking.NONE, reorder_point=5, lead_time_days=3)


def test_an_update_changes_only_the_columns_the_file_has_and_adds_the_rest() -> None:
    wh = Warehouse(rows={MasterKind.SKUS: {"A": Current(1, SKU_A)}})
    text = "sku,name,reorder_point\nA,Apple,10\nB,Bean,0\n"
    plan = planned(MasterKind.SKUS, parse_skus(text, nothing, UPDATE), wh)
    assert [s.code for s in plan.added] == ["B"] and plan.added_lines == [3]
    (changed,) = plan.changed
    assert changed.changes == {"reorder_point": [5, 10]}
    assert changed.after == SkuSpec("A", "Apple", 100, 50, Tracking.NONE, None, 10, 3)
    assert plan.unchanged == 0 and not plan.problems and not plan.resized


def test_a_row_as_it_is_is_unchanged() -> None:
    wh = Warehouse(rows={MasterKind.SKUS: {"A": Current(1, SKU_A)}})
    plan = planned(MasterKind.SKUS, parse_skus("sku,name\nA,Apple\n", nothing, UPDATE), wh)
    assert (plan.added, plan.changed, plan.unchanged) == ([], [], 1)
    assert list(plan.audit()) == []


def test_tracking_cannot_change_once_a_sku_has_stock_or_moves() -> None:
    wh = Warehouse(
        rows={MasterKind.SKUS: {"A": Current(1, SKU_A), "N": Current(2, SkuSpec("N", "New"))}},
        history={"A"},
    )
    text = "sku,name,tracking,unit_volume_cm3\nA,Apple,lot,100\nN,New,lot,0\n"
    plan = planned(MasterKind.SKUS, parse_skus(text, nothing, UPDATE), wh)
    assert plan.problems == [
        (
            2,
            "line 2: SKU A has stock or moves, so its tracking cannot change from none to lot: "
            "add the lot-tracked goods under a new SKU code (and deactivate A when its stock "
            "is gone)",
        )
    ]
    assert [c.after.code for c in plan.changed] == ["N"]


def test_a_new_unit_size_marks_the_sku_for_its_bins_to_be_recomputed() -> None:
    wh = Warehouse(rows={MasterKind.SKUS: {"A": Current(7, SKU_A)}})
    text = "sku,name,unit_volume_cm3\nA,Apple,120\n"
    plan = planned(MasterKind.SKUS, parse_skus(text, nothing, UPDATE), wh)
    assert plan.resized == [7]
    assert plan.changed[0].changes == {"unit_volume_cm3": [100, 120]}


def load(code: str, limit: int | None, used: int, *units: tuple[str, int]) -> BinLoad:
    """A bin of `limit` cm3 (and 10 kg) using `used` cm3 (and 1 kg)."""
    return BinLoad(code, limit, 10_000, used, 1_000, units)


def test_a_unit_size_that_would_overfill_a_bin_is_refused_naming_the_bins() -> None:
    """A-1 holds 30 x A (100 cm3 each) and 10 x B: at 200 cm3 a unit A needs 3000 more. B
    shrinking by 50 cm3 frees 500 of it in A-1, but not enough; A-2 has no volume limit."""
    wh = Warehouse(
        rows={
            MasterKind.SKUS: {
                "A": Current(1, SKU_A),
                "B": Current(2, SkuSpec("B", "Bean", 100, 50)),
            }
        },
        loads=[
            load("A-1", 5_000, 4_000, ("A", 30), ("B", 10)),
            load("A-2", None, 9_000, ("A", 90)),
            *(load(f"C-{i}", 1_000, 100, ("A", 1)) for i in range(1, 4)),
        ],
    )
    text = "sku,name,unit_volume_cm3\nA,Apple,200\nB,Bean,50\n"
    plan = planned(MasterKind.SKUS, parse_skus(text, nothing, UPDATE), wh)
    assert wh.asked_loads == [["A", "B"]]
    assert [m for _, m in plan.problems] == [
        "line 2: A at 200 cm3 a unit would overfill bin A-1 (6500 of 5000 cm3): move some out "
        "of the bin first, or give the bin more room with perpetua import locations --update"
    ]
    assert [c.after.code for c in plan.changed] == ["B"]  # the file is refused whole (cli)
    many = Warehouse(
        rows={MasterKind.SKUS: {"A": Current(1, SKU_A)}},
        loads=[load(f"C-{i}", 1_000, 900, ("A", 9)) for i in range(1, 6)],
    )
    text = "sku,name,unit_volume_cm3,unit_weight_g\nA,Apple,120,200\n"  # weight still fits
    plan = planned(MasterKind.SKUS, parse_skus(text, nothing, UPDATE), many)
    assert [m for _, m in plan.problems] == [
        "line 2: A at 120 cm3 a unit would overfill bin C-1 (1080 of 1000 cm3), bin C-2 "
        "(1080 of 1000 cm3), bin C-3 (1080 of 1000 cm3) and 2 more bins: move some out of "
        "those bins first, or give those bins more room with perpetua import locations --update"
    ]
    heavy = "sku,name,unit_weight_g\nA,Apple,1200\n"  # 1000 + 9 x 1150 g, over 10 kg
    plan = planned(MasterKind.SKUS, parse_skus(heavy, nothing, UPDATE), many)
    assert plan.problems[0][1].startswith(
        "line 2: A at 1200 g a unit would overfill bin C-1 (11350 of 10000 g), bin C-2 "
    )


def test_a_unit_that_shrinks_or_fits_is_never_refused_for_room() -> None:
    wh = Warehouse(
        rows={MasterKind.SKUS: {"A": Current(1, SKU_A)}},
        loads=[load("A-1", 1_000, 1_100, ("A", 11))],  # overfull already (an old import)
    )
    shrink = "sku,name,unit_volume_cm3\nA,Apple,90\n"
    assert not planned(MasterKind.SKUS, parse_skus(shrink, nothing, UPDATE), wh).problems
    assert wh.asked_loads == []  # nothing grows: nothing asked
    wh.loads = [load("A-1", 1_000, 500, ("A", 5))]
    grow = "sku,name,unit_volume_cm3\nA,Apple,200\n"
    assert not planned(MasterKind.SKUS, parse_skus(grow, nothing, UPDATE), wh).problems


def test_barcodes_of_a_sku_are_added_and_an_old_alias_form_stored_as_a_gtin() -> None:
    wh = Warehouse(
        rows={MasterKind.SKUS: {"A": Current(1, SKU_A)}},
        barcodes={
            "A": [
                Current(10, BarcodeSpec("A", "4006381333962", "alias", 12)),
                Current(11, BarcodeSpec("A", "SUP-1", "alias")),
                Current(12, BarcodeSpec("A", "KEEP", "alias")),
            ]
        },
    )
    text = "sku,name,aliases\nA,Apple,4006381333962|SUP-1|SUP-2\n"
    plan = planned(MasterKind.SKUS, parse_skus(text, nothing, UPDATE), wh)
    assert plan.new_barcodes == [BarcodeSpec("A", "SUP-2", "alias")]
    assert plan.renamed_barcodes == [
        (
            10,
            BarcodeSpec("A", "4006381333962", "alias", 12),
            BarcodeSpec("A", "04006381333962", "gtin", 12),
        )
    ]
    assert plan.changed[0].changes == {
        "barcodes": [
            ["4006381333962", "KEEP", "SUP-1"],
            ["04006381333962", "KEEP", "SUP-1", "SUP-2"],
        ]
    }
    # Each barcode added or stored again is in the audit under its own code too.
    assert [(a.kind, a.code, a.action, a.changes) for a in plan.audit()] == [
        (MasterKind.SKUS, "A", Action.CHANGED, plan.changed[0].changes),
        (MasterKind.BARCODES, "SUP-2", Action.ADDED,
         {"sku": [None, "A"], "kind": [None, "alias"], "pack_qty": [None, 1]}),
        (MasterKind.BARCODES, "04006381333962", Action.CHANGED,
         {"code": ["4006381333962", "04006381333962"], "kind": ["alias", "gtin"]}),
    ]  # fmt: skip


BIN = LocationSpec("A-1", LocationKind.BIN, "A", pick_sequence=3, max_units=100)


def test_a_location_kind_never_changes_nor_a_built_in_one() -> None:
    wh = Warehouse(
        rows={
            MasterKind.LOCATIONS: {
                "A-1": Current(1, BIN),
                "VENDOR": Current(2, LocationSpec("VENDOR", LocationKind.VIRTUAL)),
            }
        }
    )
    text = "code,kind\nA-1,dock\nVENDOR,bin\n"
    plan = planned(MasterKind.LOCATIONS, parse_locations(text, nothing, UPDATE), wh)
    assert [m for _, m in plan.problems] == [
        "line 2: location A-1 is a bin; its kind cannot change to dock: deactivate it "
        "(perpetua deactivate location A-1) and add the dock under a new code",
        "line 3: VENDOR is a built-in location; it cannot be changed",
    ]


def test_a_bin_capacity_below_what_it_holds_is_refused_naming_the_bin_and_its_stock() -> None:
    held = Holding(40, 4000, 2000, (("WIDGET", None, 30), ("MILK", "L1", 10)))
    wh = Warehouse(
        rows={
            MasterKind.LOCATIONS: {
                "A-1": Current(1, BIN),
                "A-2": Current(2, LocationSpec("A-2", LocationKind.BIN, max_units=10)),
            }
        },
        bins={"A-1": held},
    )
    text = "code,kind,max_units,zone\nA-1,bin,30,A\nA-2,bin,20,B\n"
    plan = planned(MasterKind.LOCATIONS, parse_locations(text, nothing, UPDATE), wh)
    assert wh.asked_holdings == [["A-1"]]  # only a bin whose capacity goes down is asked
    assert [m for _, m in plan.problems] == [
        "line 2: bin A-1 holds 40 units now (30 x WIDGET, 10 x MILK lot L1), more than "
        "max_units 30: move stock out of it first, or give it at least 40"
    ]
    assert plan.changed[0].changes == {"zone": [None, "B"], "max_units": [10, 20]}
    again = planned(
        MasterKind.LOCATIONS,
        parse_locations("code,kind,max_units\nA-1,bin,40\n", nothing, UPDATE),
        wh,
    )
    assert not again.problems and again.changed[0].changes == {"max_units": [100, 40]}


SUE = OperatorSpec("S1", "Sue", Role.SUPERVISOR)
SID = OperatorSpec("S2", "Sid", Role.SUPERVISOR)


def test_the_last_active_supervisor_stays_one() -> None:
    wh = Warehouse(
        rows={MasterKind.OPERATORS: {"S1": Current(1, SUE), "S2": Current(2, SID)}},
        supervisors={"S1", "S2"},
        pins={"S1", "S2"},
    )
    one = "badge,name,role\nS1,Sue,picker\n"
    assert not planned(MasterKind.OPERATORS, parse_operators(one, nothing, UPDATE), wh).problems
    both = "badge,name,role\nS1,Sue,picker\nS2,Sid,counter\n"
    plan = planned(MasterKind.OPERATORS, parse_operators(both, nothing, UPDATE), wh)
    assert [line for line, _ in plan.problems] == [2, 3]
    assert (
        "S1 is the last active supervisor, so they cannot be made another role"
        in (plan.problems[0][1])
    )
    handover = "badge,name,role,pin\nS1,Sue,picker,\nS2,Sid,counter,\nS3,Sam,supervisor,246810\n"
    plan = planned(MasterKind.OPERATORS, parse_operators(handover, nothing, UPDATE), wh)
    assert not plan.problems and [s.badge for s in plan.added] == ["S3"]


def test_a_supervisor_needs_a_pin_stored_or_given_and_a_pin_is_set_not_shown() -> None:
    wh = Warehouse(
        rows={
            MasterKind.OPERATORS: {
                "S1": Current(1, SUE),
                "P1": Current(2, OperatorSpec("P1", "Pat", Role.PICKER)),
                "P2": Current(3, OperatorSpec("P2", "Pia", Role.PICKER)),
            }
        },
        supervisors={"S1"},
        pins={"S1"},
    )
    text = (
        "badge,name,role,pin\n"
        "S1,Sue,supervisor,\n"  # has a PIN already
        "P1,Pat,supervisor,\n"  # has none
        "P2,Pia,supervisor,135790\n"
        "N1,Neo,supervisor,\n"
    )
    plan = planned(MasterKind.OPERATORS, parse_operators(text, nothing, UPDATE), wh)
    assert [m for _, m in plan.problems] == [
        "line 3: supervisor P1 needs a PIN: give one in the pin column, or set it first with "
        "perpetua operator set-pin P1",
        "line 5: supervisor N1 needs a PIN: give one in the pin column",
    ]
    assert plan.pins == {"P2": "135790"}
    audit = list(plan.audit())
    assert audit == [
        MasterChange(
            MasterKind.OPERATORS, "P2", Action.CHANGED, {"role": ["picker", "supervisor"]}
        ),
        MasterChange(MasterKind.OPERATORS, "P2", Action.PIN_SET, {}),
    ]
    assert "135790" not in repr(audit)


def test_without_update_every_row_is_added_with_its_values_in_the_audit() -> None:
    text = "badge,name,role,pin\nD1,Dana,dock,\nS9,Sal,supervisor,432105\n"
    plan = plan_import(MasterKind.OPERATORS, parse_operators(text, nothing), None)
    assert [s.badge for s in plan.added] == ["D1", "S9"]
    audit = list(plan.audit())
    assert audit == [
        MasterChange(
            MasterKind.OPERATORS,
            "D1",
            Action.ADDED,
            {"name": [None, "Dana"], "role": [None, "dock"]},
        ),
        MasterChange(
            MasterKind.OPERATORS,
            "S9",
            Action.ADDED,
            {"name": [None, "Sal"], "role": [None, "supervisor"]},
        ),
        MasterChange(MasterKind.OPERATORS, "S9", Action.PIN_SET, {}),
    ]
    assert "432105" not in repr(audit)


def test_rows_refused_by_their_checks_are_left_out_of_the_plan() -> None:
    result = parse_barcodes(
        "sku,barcode,pack_qty\nA,X1,1\nA,X2,0\n", holding(Holder(CodeKind.SKU, "A", "A"))
    )
    plan = plan_import(MasterKind.BARCODES, result, Warehouse())
    assert plan.added == [BarcodeSpec("A", "X1", "alias", 1)] and plan.added_lines == [2]


def test_a_barcode_update_moves_it_to_another_sku_and_changes_its_pack() -> None:
    wh = Warehouse(
        rows={
            MasterKind.BARCODES: {
                "04006381333962": Current(5, BarcodeSpec("B", "04006381333962", "gtin", 1))
            }
        }
    )
    text = "sku,barcode,pack_qty\nA,4006381333962,12\n"
    plan = planned(MasterKind.BARCODES, parse_barcodes(text, SKUS_A_B, UPDATE), wh)
    assert plan.changed[0].changes == {"sku": ["B", "A"], "pack_qty": [1, 12]}


# --- deactivation -----------------------------------------------------------------------------


def test_a_location_with_stock_or_a_stations_dock_is_not_deactivated() -> None:
    stock = [("WIDGET", None, 5), ("MILK", "L1", 2)]
    assert location_deactivation_problem("A-1", LocationKind.BIN, stock, []) == (
        "location A-1 holds 7 units (5 x WIDGET, 2 x MILK lot L1): move them out first (a "
        "transfer or putaway), then deactivate it"
    )
    assert location_deactivation_problem("DOCK-1", LocationKind.DOCK, [], ["ST-1"]) == (
        "location DOCK-1 is the dock of station ST-1: give the station another dock first "
        "(perpetua import stations FILE --update)"
    )
    assert location_deactivation_problem("SCRAP", LocationKind.VIRTUAL, [], []) == (
        "SCRAP is a built-in location; it cannot be deactivated"
    )
    assert location_deactivation_problem("A-2", LocationKind.BIN, [], []) is None


def test_a_sku_with_stock_or_open_work_needs_force() -> None:
    stock = [("A-01-01", None, 10), ("DOCK-1", "L1", 2)]
    problem = sku_deactivation_problem("WIDGET", stock, ["SO-1"], ["ASN-1"], force=False)
    assert problem == (
        "SKU WIDGET has 12 units on hand (10 in A-01-01, 2 in DOCK-1 lot L1); open orders "
        "SO-1; expected receipts ASN-1. An inactive SKU's stock cannot be moved, picked, "
        "counted, scrapped or adjusted: ship, scrap or adjust it and close those first, or "
        "give --force to freeze it all until the SKU is activated again"
    )
    assert sku_deactivation_problem("WIDGET", stock, [], [], force=True) is None
    assert sku_deactivation_problem("BOLT", [], [], [], force=False) is None


def test_a_quarantine_or_held_location_with_stock_says_to_release_it() -> None:
    stock = [("WIDGET", None, 5), ("MILK", "L1", 2)]
    assert location_deactivation_problem("QUAR-1", LocationKind.QUARANTINE, stock, []) == (
        "location QUAR-1 holds 7 units (5 x WIDGET, 2 x MILK lot L1), and stock in quarantine "
        "cannot be transferred: a supervisor releases it, item by item (perpetua release QUAR-1 "
        "--sku WIDGET --qty 5 --reason inspected_ok --to BIN --badge SUPERVISOR, or --reason "
        "returned_to_vendor or scrapped), then deactivate it"
    )
    held = location_deactivation_problem("A-1", LocationKind.BIN, stock[1:], [], held=True)
    assert held == (
        "location A-1 holds 2 units (2 x MILK lot L1), and it is on hold, so its stock cannot "
        "be transferred: a supervisor lifts the hold (perpetua release A-1 --reason inspected_ok "
        "--badge SUPERVISOR) or releases the goods item by item (perpetua release A-1 --sku MILK "
        "--qty 2 --lot L1 --reason inspected_ok --to BIN --badge SUPERVISOR, or --reason "
        "returned_to_vendor or scrapped); move the rest out (a transfer or putaway), then "
        "deactivate it"
    )


# --- what imports refer to: active SKUs, real docks, packs a station can scan -------------------


def test_receipt_and_order_lines_of_a_deactivated_sku_are_refused() -> None:
    lookup = holding(
        Holder(CodeKind.SKU, "A", "A"), Holder(CodeKind.SKU, "OLD", "OLD", active=False)
    )
    receipts = parse_receipts("receipt,sku,qty\nASN-1,A,5\nASN-1,OLD,5\n", lookup)
    orders = parse_orders("order,line,sku,qty\nSO-1,1,A,1\nSO-1,2,OLD,1\n", lookup)
    refused = (
        "line 3: SKU OLD is deactivated: activate it first (perpetua activate sku OLD), or "
        "leave it out"
    )
    assert receipts.errors == [refused] and orders.errors == [refused]


def test_a_station_dock_is_an_active_receiving_location() -> None:
    lookup = holding(
        Holder(CodeKind.LOCATION, "DOCK-1", place="dock"),
        Holder(CodeKind.LOCATION, "QUAR-1", place="quarantine"),
        Holder(CodeKind.LOCATION, "DOCK-9", place="dock", active=False),
        Holder(CodeKind.LOCATION, "A-01-01", place="bin"),
        Holder(CodeKind.LOCATION, "STAGE-1", place="staging"),
    )
    text = (
        "code,name,dock\nST-1,One,DOCK-1\nST-2,Two,QUAR-1\nST-3,Three,DOCK-9\n"
        "ST-4,Four,A-01-01\nST-5,Five,STAGE-1\n"
    )
    for rules in (ImportRules(), UPDATE):
        assert parse_stations(text, lookup, rules).errors == [
            "line 4: dock DOCK-9 is deactivated: give the station an active dock, or activate "
            "it first (perpetua activate location DOCK-9)",
            "line 5: dock A-01-01 is a bin location, where goods are not received; give the "
            "station the code of its dock location (a location of kind dock)",
            "line 6: dock STAGE-1 is a staging location, where goods are not received; give the "
            "station the code of its dock location (a location of kind dock)",
        ]


def test_a_barcode_of_several_units_of_a_serial_tracked_sku_is_refused() -> None:
    lookup = holding(
        Holder(CodeKind.SKU, "PHONE", "PHONE", tracking="serial"),
        Holder(CodeKind.SKU, "A", "A", tracking="none"),
    )
    text = "sku,barcode,pack_qty\nPHONE,PHONE-BOX,1\nPHONE,PHONE-CASE,12\nA,A-CASE,12\n"
    for rules in (ImportRules(), UPDATE):
        assert parse_barcodes(text, lookup, rules).errors == [
            "line 3: PHONE is tracked by serial number: each unit is scanned alone, so a "
            "barcode of it stands for 1 unit, not 12"
        ]


def test_a_sku_with_case_barcodes_does_not_become_serial_tracked() -> None:
    wh = Warehouse(
        rows={MasterKind.SKUS: {"A": Current(1, SKU_A)}},
        barcodes={"A": [Current(10, BarcodeSpec("A", "A-CASE", "alias", 12))]},
    )
    plan = planned(
        MasterKind.SKUS, parse_skus("sku,name,tracking\nA,Apple,serial\n", nothing, UPDATE), wh
    )
    assert [m for _, m in plan.problems] == [
        "line 2: SKU A cannot be tracked by serial number while barcodes stand for several of "
        "its units (A-CASE (12 units)): each serial-tracked unit is scanned alone; give those "
        "barcodes pack_qty 1 first (perpetua import barcodes FILE --update)"
    ]
