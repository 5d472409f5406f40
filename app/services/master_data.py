"""The plan of `perpetua import KIND FILE` for master data (issue 12, point 5): the rows it adds
and, with --update, the existing rows it changes and how, the rows it leaves as they are, and
the rows it refuses. All or nothing: a plan with any problem is not written.

The database answers through `Existing`, each question once for the whole file; the rules are
app/domain/master_data.py; adapters/db/master_data.py writes the plan, with its audit rows, in
the import's one transaction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Protocol

from app.domain.catalogue import BarcodeSpec, LocationSpec, OperatorSpec, SkuSpec
from app.domain.import_rules import scan_key
from app.domain.master_data import (
    BinLoad,
    Changed,
    Current,
    Holding,
    ImportPlan,
    MasterKind,
    capacity_lowered,
    changes,
    given_fields,
    key_of,
    last_supervisor_problem,
    location_problem,
    merged,
    overfill_problem,
    overfills,
    serial_pack_problem,
    sku_problem,
    supervisor_pin_problem,
)
from app.domain.model import LocationKind, Role, Tracking
from app.services.importing import ImportResult


class Existing(Protocol):
    """What the database holds now, read in the import's transaction."""

    def current(self, kind: MasterKind, keys: Collection[str]) -> Mapping[str, Current[Any]]:
        """The rows these codes name, as specs (barcodes: by their stored form's scan key)."""

    def sku_barcodes(self, skus: Collection[str]) -> Mapping[str, Sequence[Current[BarcodeSpec]]]:
        """Every barcode of these SKUs."""

    def with_history(self, skus: Collection[str]) -> set[str]:
        """Those of these SKUs with stock or moves."""

    def holdings(self, bins: Collection[str]) -> Mapping[str, Holding]:
        """What these bins hold now, their space locked against putaways until the commit."""

    def bin_loads(self, skus: Collection[str]) -> Sequence[BinLoad]:
        """Every bin holding any of these SKUs: its limits, what it uses, and its units of
        each of them (its space locked against putaways until the commit)."""

    def active_supervisors(self) -> set[str]:
        """The badges of every active supervisor (locked until the commit)."""

    def with_pin(self, badges: Collection[str]) -> set[str]:
        """Those of these badges that have a PIN."""


Matched = list[tuple[int, Any, Current[Any]]]
"""(line, the file's row, the row in the database) of each row that exists."""


def plan_import(
    kind: MasterKind, result: ImportResult[Any], existing: Existing | None
) -> ImportPlan[Any]:
    """What the rows of `result` that passed their checks do. Without `existing` (no --update)
    every one is added (the checks refused those that exist); with it, a row that exists is
    compared with the database, field by field for the columns the file has."""
    plan: ImportPlan[Any] = ImportPlan(kind)
    refused = {line for line, _ in result.problems}
    rows = [
        (line, spec)
        for line, spec in zip(result.lines, result.rows, strict=True)
        if line not in refused
    ]
    if existing is None:
        plan.added = [spec for _, spec in rows]
        plan.added_lines = [line for line, _ in rows]
        return plan
    current = existing.current(kind, [key_of(kind, spec) for _, spec in rows])
    matched: Matched = []
    for line, spec in rows:
        found = current.get(key_of(kind, spec))
        if found is None:
            plan.added.append(spec)
            plan.added_lines.append(line)
        else:
            matched.append((line, spec, found))
    fields = given_fields(kind, result.columns)
    _PLANNERS.get(kind, _plain)(plan, matched, fields, result.columns, existing)
    refused = {line for line, _ in plan.problems}
    if refused:  # a new row refused by the planner is not added (nor counted as added)
        kept = [
            (ln, s) for ln, s in zip(plan.added_lines, plan.added, strict=True) if ln not in refused
        ]
        plan.added_lines = [ln for ln, _ in kept]
        plan.added = [s for _, s in kept]
    return plan


def _keep(plan: ImportPlan[Any], line: int, found: Current[Any], after: Any, diff: Any) -> None:
    if diff:
        plan.changed.append(Changed(line, found.id, found.spec, after, diff))
    else:
        plan.unchanged += 1


def _plain(
    plan: ImportPlan[Any],
    matched: Matched,
    fields: Sequence[str],
    columns: Collection[str],
    existing: Existing,
) -> None:
    """Stations and barcodes: any field the file gives may change."""
    for line, spec, found in matched:
        after = merged(found.spec, spec, fields)
        _keep(plan, line, found, after, changes(found.spec, after, fields))


def _skus(
    plan: ImportPlan[Any],
    matched: Matched,
    fields: Sequence[str],
    columns: Collection[str],
    existing: Existing,
) -> None:
    """A SKU's fields, and the barcodes of its gtin and aliases columns that it does not hold
    yet (never one less: a barcode is removed from no replica). A barcode it holds in another
    form (a GTIN imported as an alias before) is stored again in its normal form."""
    with_barcodes = "gtin" in columns or "aliases" in columns
    held = existing.sku_barcodes([f.spec.code for _, _, f in matched]) if with_barcodes else {}
    staged: list[tuple[int, SkuSpec, Current[SkuSpec], dict[str, list[Any]]]] = []
    for line, spec, found in matched:
        after = merged(found.spec, spec, fields)
        diff = changes(found.spec, after, fields)
        if with_barcodes:
            _barcodes(plan, spec, held.get(spec.code, ()), diff)
        staged.append((line, after, found, diff))
    retracked = [f.spec.code for _, after, f, _ in staged if after.tracking is not f.spec.tracking]
    history = existing.with_history(retracked) if retracked else set()
    overfilled = _overfilled(staged, existing)
    packs = _packs_of_serial(staged, existing)
    for line, after, found, diff in staged:
        problem = sku_problem(after.code, found.spec, after, after.code in history)
        if problem is None and after.code in packs:
            problem = serial_pack_problem(after.code, packs[after.code])
        if problem is None and after.code in overfilled:
            problem = overfill_problem(after.code, after, overfilled[after.code])
        if problem:
            plan.refuse(line, problem)
            continue
        if "unit_volume_cm3" in diff or "unit_weight_g" in diff:
            plan.resized.append(found.id)
        _keep(plan, line, found, after, diff)


def _overfilled(
    staged: Sequence[tuple[int, SkuSpec, Current[SkuSpec], dict[str, list[Any]]]],
    existing: Existing,
) -> dict[str, list[tuple[str, list[tuple[int, int, str]]]]]:
    """The bins each SKU whose unit grows would overfill (all the file's new sizes at once)."""
    before = {f.spec.code: f.spec for _, after, f, _ in staged if _resized(f.spec, after)}
    after = {a.code: a for _, a, f, _ in staged if a.code in before}
    grows = [
        code
        for code, a in after.items()
        if a.unit_volume_cm3 > before[code].unit_volume_cm3
        or a.unit_weight_g > before[code].unit_weight_g
    ]
    if not grows:
        return {}
    return overfills(existing.bin_loads(list(before)), before, after)


def _packs_of_serial(
    staged: Sequence[tuple[int, SkuSpec, Current[SkuSpec], dict[str, list[Any]]]],
    existing: Existing,
) -> dict[str, list[BarcodeSpec]]:
    """The barcodes of more than one unit of each SKU the file makes serial-tracked: a serial
    is scanned unit by unit, so such a barcode could never be scanned again."""
    serial = [
        a.code
        for _, a, f, _ in staged
        if a.tracking is Tracking.SERIAL and f.spec.tracking is not Tracking.SERIAL
    ]
    if not serial:
        return {}
    held = existing.sku_barcodes(serial)
    found = {sku: [b.spec for b in held.get(sku, ()) if b.spec.pack_qty > 1] for sku in serial}
    return {sku: packs for sku, packs in found.items() if packs}


def _resized(before: SkuSpec, after: SkuSpec) -> bool:
    return (before.unit_volume_cm3, before.unit_weight_g) != (
        after.unit_volume_cm3,
        after.unit_weight_g,
    )


def _barcodes(
    plan: ImportPlan[Any],
    spec: SkuSpec,
    held: Sequence[Current[BarcodeSpec]],
    diff: dict[str, list[Any]],
) -> None:
    by_key = {scan_key(b.spec.code): b for b in held}
    before = sorted(b.spec.code for b in held)
    after = set(before)
    for code, kind in spec.barcodes:
        found = by_key.get(scan_key(code))
        if found is None:
            plan.new_barcodes.append(BarcodeSpec(spec.code, code, kind))
        elif (found.spec.code, found.spec.kind) != (code, kind):
            plan.renamed_barcodes.append(
                (found.id, found.spec, dataclasses.replace(found.spec, code=code, kind=kind))
            )
            after.discard(found.spec.code)
        else:
            continue
        after.add(code)
    if after != set(before):
        diff["barcodes"] = [before, sorted(after)]


def _locations(
    plan: ImportPlan[Any],
    matched: Matched,
    fields: Sequence[str],
    columns: Collection[str],
    existing: Existing,
) -> None:
    """A location's place and capacity; never its kind; a bin's capacity holds what it holds."""
    staged: list[tuple[int, LocationSpec, Current[LocationSpec], dict[str, list[Any]]]] = []
    for line, spec, found in matched:
        after = merged(found.spec, spec, fields)
        staged.append((line, after, found, changes(found.spec, after, fields)))
    lowered = [
        f.spec.code
        for _, after, f, _ in staged
        if f.spec.kind is LocationKind.BIN
        and after.kind is LocationKind.BIN
        and capacity_lowered(f.spec, after)
    ]
    holdings = existing.holdings(lowered) if lowered else {}
    for line, after, found, diff in staged:
        problem = location_problem(after.code, found.spec, after, holdings.get(after.code))
        if problem:
            plan.refuse(line, problem)
        else:
            _keep(plan, line, found, after, diff)


def _operators(
    plan: ImportPlan[Any],
    matched: Matched,
    fields: Sequence[str],
    columns: Collection[str],
    existing: Existing,
) -> None:
    """Name, role and PIN (a PIN given is always set again: only its verifier is stored, so it
    cannot be compared). A supervisor needs a PIN; the last active supervisor stays one."""
    pins = "pin" in columns
    with_pin = existing.with_pin([f.spec.badge for _, _, f in matched])
    supervisors = existing.active_supervisors()
    after_supervisors = set(supervisors)
    staged: list[tuple[int, OperatorSpec, Current[OperatorSpec], str | None]] = []
    for line, spec, found in matched:
        after = merged(found.spec, spec, fields)
        pin = spec.pin if pins else None
        has_pin = spec.badge in with_pin or bool(pin)
        if problem := supervisor_pin_problem(spec.badge, after.role, has_pin, exists=True):
            plan.refuse(line, problem)
            continue
        if found.active and after.role is Role.SUPERVISOR:
            after_supervisors.add(spec.badge)
        elif found.active:
            after_supervisors.discard(spec.badge)
        staged.append((line, after, found, pin))
    for line, spec in zip(plan.added_lines, plan.added, strict=True):
        if problem := supervisor_pin_problem(spec.badge, spec.role, bool(spec.pin), exists=False):
            plan.refuse(line, problem)
        elif spec.role is Role.SUPERVISOR:
            after_supervisors.add(spec.badge)
    none_left = bool(supervisors) and not after_supervisors
    for line, after, found, pin in staged:
        if none_left and found.spec.badge in supervisors and after.role is not Role.SUPERVISOR:
            plan.refuse(line, last_supervisor_problem(after.badge, "made another role"))
            continue
        diff = changes(found.spec, after, fields)
        if pin:
            plan.pins[after.badge] = pin
            plan.changed.append(Changed(line, found.id, found.spec, after, diff))
        else:
            _keep(plan, line, found, after, diff)


Planner = Callable[[ImportPlan[Any], Matched, Sequence[str], Collection[str], Existing], None]

_PLANNERS: dict[MasterKind, Planner] = {
    MasterKind.SKUS: _skus,
    MasterKind.LOCATIONS: _locations,
    MasterKind.OPERATORS: _operators,
}
