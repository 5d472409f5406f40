"""Master data changed without SQL (issue 12, point 5): what `perpetua import --update` changes in
a row that exists, what it may never change, what a deactivation needs first, and the audit
record of every change (who, what, before and after; never a PIN).

Pure rules over values: services/master_data.py plans an import with them, adapters/db/
master_data.py reads the facts they need and writes the plan in one transaction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import Enum, StrEnum
from operator import attrgetter
from typing import Any, Generic, NamedTuple, TypeVar

from app.domain.catalogue import BarcodeSpec, LocationSpec, SkuSpec
from app.domain.model import LocationKind, Role

T = TypeVar("T")


class MasterKind(StrEnum):
    """The kinds of master data, as `perpetua import` and the audit name them."""

    SKUS = "skus"
    LOCATIONS = "locations"
    OPERATORS = "operators"
    STATIONS = "stations"
    BARCODES = "barcodes"


class Action(StrEnum):
    ADDED = "added"
    CHANGED = "changed"
    DEACTIVATED = "deactivated"
    ACTIVATED = "activated"
    PIN_SET = "pin_set"


class ActorKind(StrEnum):
    BADGE = "badge"
    OS_USER = "os_user"


@dataclass(frozen=True)
class Actor:
    """Who made a change: an active operator's badge given with --by, or the OS user."""

    name: str
    kind: ActorKind


class MasterChange(NamedTuple):
    """One row of the audit: `changes` is {field: [before, after]} in JSON values. (A named
    tuple: an import of hundreds of thousands of rows makes one a row.)"""

    kind: MasterKind
    code: str
    action: Action
    changes: dict[str, list[Any]]


class MasterDataRefused(Exception):
    """A change refused for a reason the administrator can act on; nothing was written."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- fields -----------------------------------------------------------------------------------

FIELDS: dict[MasterKind, dict[str, str]] = {
    # kind: {column of the file: field of its spec}, the fields an update may change
    MasterKind.SKUS: {
        "name": "name",
        "unit_volume_cm3": "unit_volume_cm3",
        "unit_weight_g": "unit_weight_g",
        "tracking": "tracking",
        "lookalike_group": "lookalike_group",
        "reorder_point": "reorder_point",
        "lead_time_days": "lead_time_days",
        "min_shelf_days": "min_shelf_days",
        "unit_value": "unit_value_cents",
    },
    MasterKind.LOCATIONS: {
        "kind": "kind",
        "zone": "zone",
        "aisle": "aisle",
        "bay": "bay",
        "level": "level",
        "pick_sequence": "pick_sequence",
        "max_units": "max_units",
        "max_volume_cm3": "max_volume_cm3",
        "max_weight_g": "max_weight_g",
    },
    MasterKind.OPERATORS: {"name": "name", "role": "role"},
    MasterKind.STATIONS: {"name": "name", "zone": "zone", "dock": "dock"},
    MasterKind.BARCODES: {"barcode": "code", "kind": "kind", "sku": "sku", "pack_qty": "pack_qty"},
}
"""A SKU's barcodes (columns gtin and aliases) and an operator's PIN are planned apart."""

ALWAYS_GIVEN: dict[MasterKind, tuple[str, ...]] = {
    MasterKind.BARCODES: ("code", "kind"),
}
"""Fields a row always says, whatever its columns: a barcode's kind follows from its code."""


def given_fields(kind: MasterKind, columns: Collection[str]) -> tuple[str, ...]:
    """The fields a file with these columns sets: a column left out keeps what is there."""
    named = [f for col, f in FIELDS[kind].items() if col in columns]
    return tuple(dict.fromkeys([*ALWAYS_GIVEN.get(kind, ()), *named]))


def key_of(kind: MasterKind, spec: Any) -> str:
    """The code a row is matched on: a SKU's, location's or station's code, a badge, a barcode."""
    return str(spec.badge if kind is MasterKind.OPERATORS else spec.code)


def json_value(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return [json_value(v) for v in value]
    return value


def merged(current: T, new: T, fields: Sequence[str]) -> T:
    """The row as it will be: `current` with the fields the file gives taken from `new`."""
    return dataclasses.replace(current, **{f: getattr(new, f) for f in fields})  # type: ignore[type-var]


def changes(before: Any, after: Any, fields: Sequence[str]) -> dict[str, list[Any]]:
    """{field: [before, after]} of the fields that differ, in JSON values."""
    found: dict[str, list[Any]] = {}
    for f in fields:
        old, new = getattr(before, f), getattr(after, f)
        if old != new:
            found[f] = [json_value(old), json_value(new)]
    return found


_ADDED_FIELDS: dict[MasterKind, tuple[str, ...]] = {
    MasterKind.SKUS: tuple(FIELDS[MasterKind.SKUS].values()),
    MasterKind.LOCATIONS: tuple(FIELDS[MasterKind.LOCATIONS].values()),
    MasterKind.OPERATORS: ("name", "role"),
    MasterKind.STATIONS: ("name", "zone", "dock"),
    MasterKind.BARCODES: ("sku", "kind", "pack_qty"),
}
_ADDED_VALUES = {kind: attrgetter(*fields) for kind, fields in _ADDED_FIELDS.items()}


def added_changes(kind: MasterKind, spec: Any) -> dict[str, list[Any]]:
    """What an added row holds, as {field: [null, value]} (empty fields left out; a SKU's
    barcodes as their codes). Kept lean: an import adds hundreds of thousands of rows, each
    with its audit row (enum values are strings, written to JSON as their value)."""
    values = _ADDED_VALUES[kind](spec)
    found = {
        f: [None, v] for f, v in zip(_ADDED_FIELDS[kind], values, strict=True) if v is not None
    }
    if kind is MasterKind.SKUS and spec.barcodes:
        found["barcodes"] = [None, [code for code, _ in spec.barcodes]]
    return found


# --- the plan of an import --------------------------------------------------------------------


@dataclass(frozen=True)
class Current(Generic[T]):
    """A row as the database holds it now."""

    id: int
    spec: T
    active: bool = True


@dataclass(frozen=True)
class Changed(Generic[T]):
    """An existing row an import changes: its line, id, before and after."""

    line: int
    id: int
    before: T
    after: T
    changes: dict[str, list[Any]]


@dataclass
class ImportPlan(Generic[T]):
    """What an import file does: rows to add, rows to change, rows left as they are, and the
    problems (line, message) that refuse the whole file."""

    kind: MasterKind
    added: list[T] = field(default_factory=list)
    added_lines: list[int] = field(default_factory=list)
    changed: list[Changed[T]] = field(default_factory=list)
    unchanged: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)
    pins: dict[str, str] = field(default_factory=dict)
    """Operators that exist: badge -> new PIN (never shown, never in the audit)."""
    new_barcodes: list[BarcodeSpec] = field(default_factory=list)
    """SKUs that exist: barcodes the file gives them that they do not have yet."""
    renamed_barcodes: list[tuple[int, BarcodeSpec, BarcodeSpec]] = field(default_factory=list)
    """SKUs that exist: a barcode they hold, stored again in its normal form (a 13-digit GTIN
    imported as an alias before: its 14 digits, kind gtin): (id, before, after)."""
    resized: list[int] = field(default_factory=list)
    """SKUs (ids) whose unit volume or weight changes: the bins holding them are recomputed."""

    def refuse(self, line: int, message: str) -> None:
        self.problems.append((line, f"line {line}: {message}"))

    @property
    def writes(self) -> bool:
        return bool(self.added or self.changed or self.pins)

    def audit(self) -> Iterator[MasterChange]:
        """The audit rows of this plan: added and changed rows, every PIN set, and each barcode
        a skus file adds or stores again, under kind barcodes with its code too (as an import
        of barcodes records it), so that `perpetua audit --code BARCODE` finds it."""
        for spec in self.added:
            code = key_of(self.kind, spec)
            yield MasterChange(self.kind, code, Action.ADDED, added_changes(self.kind, spec))
            if self.kind is MasterKind.OPERATORS and getattr(spec, "pin", None):
                yield MasterChange(self.kind, code, Action.PIN_SET, {})
            if isinstance(spec, SkuSpec):
                for code_, kind in spec.barcodes:
                    yield _barcode_added(BarcodeSpec(spec.code, code_, kind))
        for row in self.changed:
            code = key_of(self.kind, row.before)
            if row.changes:
                yield MasterChange(self.kind, code, Action.CHANGED, row.changes)
            if code in self.pins:
                yield MasterChange(self.kind, code, Action.PIN_SET, {})
        for barcode in self.new_barcodes:
            yield _barcode_added(barcode)
        for _, before, after in self.renamed_barcodes:
            diff = changes(before, after, ("code", "kind"))
            yield MasterChange(MasterKind.BARCODES, after.code, Action.CHANGED, diff)


def _barcode_added(spec: BarcodeSpec) -> MasterChange:
    return MasterChange(
        MasterKind.BARCODES, spec.code, Action.ADDED, added_changes(MasterKind.BARCODES, spec)
    )


# --- what a change may not do -----------------------------------------------------------------


@dataclass(frozen=True)
class Holding:
    """What a bin holds now: used units, volume and weight, and its stock (sku, lot, qty)."""

    units: int
    volume_cm3: int
    weight_g: int
    stock: tuple[tuple[str, str | None, int], ...] = ()

    def described(self, most: int = 5) -> str:
        return describe_stock(self.stock, most)


def describe_stock(stock: Sequence[tuple[str, str | None, int]], most: int = 5) -> str:
    """'5 x WIDGET, 2 x MILK lot L1' (and how many more)."""
    shown = [f"{qty} x {sku}" + (f" lot {lot}" if lot else "") for sku, lot, qty in stock[:most]]
    more = len(stock) - most
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def sku_problem(code: str, before: SkuSpec, after: SkuSpec, has_history: bool) -> str | None:
    """Why an update may not change this SKU so, or None. Tracking is how its stock is
    recorded (lots, serials): with stock or moves recorded one way, it cannot change."""
    if after.tracking is not before.tracking and has_history:
        was, now = before.tracking.value, after.tracking.value
        return (
            f"SKU {code} has stock or moves, so its tracking cannot change from {was} to {now}: "
            f"add the {now}-tracked goods under a new SKU code (and deactivate {code} when its "
            "stock is gone)"
        )
    return None


@dataclass(frozen=True)
class BinLoad:
    """A bin holding SKUs whose unit size an import changes: its volume and weight limits (None:
    no limit), what it uses now, and how many units of each of those SKUs it holds."""

    code: str
    max_volume_cm3: int | None
    max_weight_g: int | None
    volume_cm3: int
    weight_g: int
    units: tuple[tuple[str, int], ...]  # (sku, on hand)


BINS_NAMED = 3
"""The bins an overfill message names; the rest are counted."""

_SIZES = (
    ("unit_volume_cm3", "max_volume_cm3", "volume_cm3", "cm3"),
    ("unit_weight_g", "max_weight_g", "weight_g", "g"),
)


def overfills(
    bins: Sequence[BinLoad], before: Mapping[str, SkuSpec], after: Mapping[str, SkuSpec]
) -> dict[str, list[tuple[str, list[tuple[int, int, str]]]]]:
    """Per SKU whose unit grows: the bins its new size would overfill, each with (used after,
    limit, unit) of the figures it would exceed. A bin's use after is what it uses now changed
    by every resized SKU in it (`before` and `after` hold the SKUs whose size changes), so two
    SKUs of a file in one bin count together; a SKU that shrinks or keeps its size is never
    refused, nor a bin whose use does not grow."""
    found: dict[str, list[tuple[str, list[tuple[int, int, str]]]]] = {}
    for load in sorted(bins, key=lambda b: b.code):
        over: list[tuple[str, int, int, str]] = []  # (size field, used after, limit, unit)
        for size, limit_field, used_field, unit in _SIZES:
            limit = getattr(load, limit_field)
            used = getattr(load, used_field)
            grown = used + sum(
                qty * (getattr(after[sku], size) - getattr(before[sku], size))
                for sku, qty in load.units
                if sku in after and sku in before
            )
            if limit is not None and grown > limit and grown > used:
                over.append((size, grown, limit, unit))
        if not over:
            continue
        for sku, _ in load.units:
            if sku not in after or sku not in before:
                continue
            figures = [
                (used, limit, unit)
                for size, used, limit, unit in over
                if getattr(after[sku], size) > getattr(before[sku], size)
            ]
            if figures:
                found.setdefault(sku, []).append((load.code, figures))
    return found


def overfill_problem(
    code: str, after: SkuSpec, bins: Sequence[tuple[str, list[tuple[int, int, str]]]]
) -> str:
    """Why a SKU's new unit size is refused: the bins it would overfill (the first few, and
    how many more), and what to do."""
    units = {unit for _, figures in bins for _, _, unit in figures}
    sizes = [f"{getattr(after, size)} {unit}" for size, _, _, unit in _SIZES if unit in units]
    named = [
        f"bin {bin_code} ("
        + "; ".join(f"{used} of {limit} {unit}" for used, limit, unit in figures)
        + ")"
        for bin_code, figures in bins[:BINS_NAMED]
    ]
    more = len(bins) - BINS_NAMED
    listed = ", ".join(named) + (
        f" and {more} more bin{'s' if more > 1 else ''}" if more > 0 else ""
    )
    them = "the bin" if len(bins) == 1 else "those bins"
    return (
        f"{code} at {' and '.join(sizes)} a unit would overfill {listed}: move some out of "
        f"{them} first, or give {them} more room with perpetua import locations --update"
    )


def serial_pack_problem(code: str, packs: Sequence[BarcodeSpec]) -> str:
    """Why a SKU cannot become serial-tracked while barcodes of several units stand for it."""
    named = ", ".join(f"{b.code} ({b.pack_qty} units)" for b in packs[:BINS_NAMED])
    more = len(packs) - BINS_NAMED
    named += f" and {more} more" if more > 0 else ""
    return (
        f"SKU {code} cannot be tracked by serial number while barcodes stand for several of "
        f"its units ({named}): each serial-tracked unit is scanned alone; give those barcodes "
        "pack_qty 1 first (perpetua import barcodes FILE --update)"
    )


_LIMITS = (
    ("max_units", "units", "units"),
    ("max_volume_cm3", "volume_cm3", "cm3"),
    ("max_weight_g", "weight_g", "g"),
)


def location_problem(
    code: str, before: LocationSpec, after: LocationSpec, holding: Holding | None
) -> str | None:
    """Why an update may not change this location so, or None: a built-in location is never
    changed, a kind never changes, and a bin's new capacity holds what it holds now."""
    if before.kind is LocationKind.VIRTUAL:
        return f"{code} is a built-in location; it cannot be changed"
    if after.kind is not before.kind:
        return (
            f"location {code} is a {before.kind.value}; its kind cannot change to "
            f"{after.kind.value}: deactivate it (perpetua deactivate location {code}) and add "
            f"the {after.kind.value} under a new code"
        )
    if holding is None:
        return None
    for limit_field, used_field, unit in _LIMITS:
        limit = getattr(after, limit_field)
        used = getattr(holding, used_field)
        if limit == getattr(before, limit_field) or limit is None or limit >= used:
            continue
        return (
            f"bin {code} holds {used} {unit} now ({holding.described()}), more than "
            f"{limit_field} {limit}: move stock out of it first, or give it at least {used}"
        )
    return None


def capacity_lowered(before: LocationSpec, after: LocationSpec) -> bool:
    """Whether any limit of a bin goes down (then what it holds must be checked)."""
    for limit_field, _, _ in _LIMITS:
        old, new = getattr(before, limit_field), getattr(after, limit_field)
        if new is not None and (old is None or new < old):
            return True
    return False


def supervisor_pin_problem(badge: str, role: Role, has_pin: bool, exists: bool) -> str | None:
    """A supervisor approves with a PIN: one stored already, or one the file gives."""
    if role is not Role.SUPERVISOR or has_pin:
        return None
    if not exists:
        return f"supervisor {badge} needs a PIN: give one in the pin column"
    return (
        f"supervisor {badge} needs a PIN: give one in the pin column, or set it first with "
        f"perpetua operator set-pin {badge}"
    )


def last_supervisor_problem(badge: str, what: str) -> str:
    return (
        f"{badge} is the last active supervisor, so they cannot be {what}: a warehouse needs "
        "one to approve and release; make another operator a supervisor first"
    )


def location_deactivation_problem(
    code: str,
    kind: LocationKind,
    stock: Sequence[tuple[str, str | None, int]],
    dock_of: Sequence[str],
    held: bool = False,
) -> str | None:
    """Why a location may not be deactivated, or None: stock in an inactive location could
    never be moved out (the ledger refuses it as a source), and a station's dock is where it
    receives. Stock in a quarantine location or a location on hold (`held`) is not transferred:
    a supervisor releases it."""
    if kind is LocationKind.VIRTUAL:
        return f"{code} is a built-in location; it cannot be deactivated"
    if stock:
        units = sum(qty for _, _, qty in stock)
        holds = f"location {code} holds {units} units ({describe_stock(stock)})"
        sku, lot, qty = stock[0]
        release = (
            f"perpetua release {code} --sku {sku} --qty {qty}"
            + (f" --lot {lot}" if lot else "")
            + " --reason inspected_ok --to BIN --badge SUPERVISOR, or --reason "
            "returned_to_vendor or scrapped"
        )
        if kind is LocationKind.QUARANTINE:
            return (
                f"{holds}, and stock in quarantine cannot be transferred: a supervisor releases "
                f"it, item by item ({release}), then deactivate it"
            )
        if held:
            return (
                f"{holds}, and it is on hold, so its stock cannot be transferred: a supervisor "
                f"lifts the hold (perpetua release {code} --reason inspected_ok --badge "
                f"SUPERVISOR) or releases the goods item by item ({release}); move the rest "
                "out (a transfer or putaway), then deactivate it"
            )
        return f"{holds}: move them out first (a transfer or putaway), then deactivate it"
    if dock_of:
        stations = ", ".join(dock_of)
        return (
            f"location {code} is the dock of station {stations}: give the station another "
            "dock first (perpetua import stations FILE --update)"
        )
    return None


def sku_deactivation_problem(
    code: str,
    stock: Sequence[tuple[str, str | None, int]],
    open_orders: Sequence[str],
    open_receipts: Sequence[str],
    force: bool,
) -> str | None:
    """Why a SKU may not be deactivated, or None. An inactive SKU's stock cannot be received,
    moved, picked, counted, scrapped or adjusted: stock on hand, open orders or expected
    receipts need --force, which freezes them until the SKU is activated again."""
    if force:
        return None
    found: list[str] = []
    if stock:
        units = sum(qty for _, _, qty in stock)
        where = [f"{qty} in {loc}" + (f" lot {lot}" if lot else "") for loc, lot, qty in stock]
        more = f" and {len(where) - 5} more" if len(where) > 5 else ""
        found.append(f"{units} units on hand ({', '.join(where[:5])}{more})")
    if open_orders:
        found.append(f"open orders {', '.join(open_orders[:5])}")
    if open_receipts:
        found.append(f"expected receipts {', '.join(open_receipts[:5])}")
    if not found:
        return None
    return (
        f"SKU {code} has {'; '.join(found)}. An inactive SKU's stock cannot be moved, picked, "
        "counted, scrapped or adjusted: ship, scrap or adjust it and close those first, or "
        "give --force to freeze it all until the SKU is activated again"
    )


KIND_NAMES = {
    "operator": MasterKind.OPERATORS,
    "location": MasterKind.LOCATIONS,
    "sku": MasterKind.SKUS,
}
"""`perpetua deactivate|activate KIND CODE`: the kinds that have an active flag."""
