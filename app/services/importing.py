"""CSV import of reference data: parse, validate every row, and report bad rows by line number.

A file is imported whole or not at all: `parse_*` returns every problem it finds, and the caller
writes nothing unless there are none.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Generic, TypeVar

from app.domain.barcodes import normalise_gtin
from app.domain.catalogue import (
    LocationSpec,
    OperatorSpec,
    OrderLineSpec,
    ReceiptLineSpec,
    SkuSpec,
    StationSpec,
)
from app.domain.commands import MAX_CODE_LENGTH
from app.domain.model import LocationKind, Role, Tracking

T = TypeVar("T")

# Which existing codes are in the database: (kind, codes) -> the subset that exists.
Lookup = Callable[[str, Iterable[str]], set[str]]


@dataclass
class ImportResult(Generic[T]):
    rows: list[T] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # the file line of each row
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


COLUMNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # kind: (required columns, optional columns)
    "skus": (
        ("sku", "name"),
        (
            "gtin",
            "unit_volume_cm3",
            "unit_weight_g",
            "tracking",
            "lookalike_group",
            "reorder_point",
            "lead_time_days",
            "aliases",
        ),
    ),
    "locations": (
        ("code", "kind"),
        (
            "zone",
            "aisle",
            "bay",
            "level",
            "pick_sequence",
            "max_units",
            "max_volume_cm3",
            "max_weight_g",
        ),
    ),
    "operators": (("badge", "name", "role"), ("pin",)),
    "stations": (("code", "name"), ("zone", "dock")),
    "receipts": (("receipt", "sku", "qty"), ("lot", "expiry", "line")),
    "orders": (("order", "line", "sku", "qty"), ("priority", "due_date")),
}


class RowError(ValueError):
    pass


def _text(row: dict[str, str], col: str, required: bool = False) -> str | None:
    value = (row.get(col) or "").strip()
    if not value:
        if required:
            raise RowError(f"{col} is empty")
        return None
    if len(value) > (200 if col == "name" else MAX_CODE_LENGTH):
        raise RowError(f"{col} is too long ({len(value)} characters)")
    if any(ord(ch) < 32 for ch in value):
        raise RowError(f"{col} contains control characters")
    return value


def _int(row: dict[str, str], col: str, *, minimum: int = 0, required: bool = False) -> int | None:
    value = _text(row, col, required)
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise RowError(f"{col} must be a whole number, not {value!r}") from None
    if number < minimum:
        raise RowError(f"{col} must be at least {minimum}, not {number}")
    return number


def _enum(row: dict[str, str], col: str, enum: Any, default: Any = None) -> Any:
    value = _text(row, col, default is None)
    if value is None:
        return default
    try:
        return enum(value.lower())
    except ValueError:
        allowed = ", ".join(e.value for e in enum)
        raise RowError(f"{col} must be one of {allowed}, not {value!r}") from None


def _date(row: dict[str, str], col: str) -> date | None:
    value = _text(row, col)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise RowError(f"{col} must be a date YYYY-MM-DD, not {value!r}") from None


def _rows(text: str, kind: str, errors: list[str]) -> Iterator[tuple[int, dict[str, str]]]:
    required, optional = COLUMNS[kind]
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    missing = [c for c in required if c not in header]
    unknown = [c for c in header if c not in required and c not in optional]
    if missing:
        errors.append(f"line 1: missing column(s) {', '.join(missing)}")
    if unknown:
        errors.append(
            f"line 1: unknown column(s) {', '.join(unknown)}; "
            f"columns are {', '.join(required + optional)}"
        )
    if missing or unknown:
        return
    for row in reader:
        line = reader.line_num
        if None in row:
            errors.append(f"line {line}: more values than columns")
            continue
        if not any((v or "").strip() for v in row.values()):
            continue
        yield line, {k: v or "" for k, v in row.items()}


def _parse(
    text: str, kind: str, build: Callable[[dict[str, str]], T], key: Callable[[T], Any]
) -> ImportResult[T]:
    result: ImportResult[T] = ImportResult()
    seen: dict[Any, int] = {}
    for line, row in _rows(text, kind, result.errors):
        try:
            spec = build(row)
        except RowError as error:
            result.errors.append(f"line {line}: {error}")
            continue
        k = key(spec)
        if k in seen:
            result.errors.append(f"line {line}: {k} repeats line {seen[k]}")
            continue
        seen[k] = line
        result.rows.append(spec)
        result.lines.append(line)
    if not result.rows and not result.errors:
        result.errors.append("the file has no rows")
    return result


def _lines_of(result: ImportResult[T], key: Callable[[T], str], clash: set[str], what: str) -> None:
    for line, spec in zip(result.lines, result.rows, strict=True):
        if key(spec) in clash:
            result.errors.append(f"line {line}: {what} {key(spec)} already exists")


def parse_skus(text: str, known: Lookup) -> ImportResult[SkuSpec]:
    def build(row: dict[str, str]) -> SkuSpec:
        barcodes: list[tuple[str, str]] = []
        gtin = _text(row, "gtin")
        if gtin:
            try:
                barcodes.append((normalise_gtin(gtin), "gtin"))
            except ValueError as error:
                raise RowError(f"gtin: {error}") from None
        for alias in (_text(row, "aliases") or "").split("|"):
            if alias.strip():
                barcodes.append((alias.strip(), "alias"))
        return SkuSpec(
            code=_text(row, "sku", True) or "",
            name=_text(row, "name", True) or "",
            unit_volume_cm3=_int(row, "unit_volume_cm3") or 0,
            unit_weight_g=_int(row, "unit_weight_g") or 0,
            tracking=_enum(row, "tracking", Tracking, Tracking.NONE),
            lookalike_group=_text(row, "lookalike_group"),
            reorder_point=_int(row, "reorder_point") or 0,
            lead_time_days=_int(row, "lead_time_days") or 0,
            barcodes=tuple(barcodes),
        )

    result = _parse(text, "skus", build, lambda s: s.code)
    _lines_of(result, lambda s: s.code, known("sku", (s.code for s in result.rows)), "SKU")
    codes = [b for s in result.rows for b, _ in s.barcodes]
    dupes = {b for b, n in Counter(codes).items() if n > 1}
    taken = known("barcode", codes) | dupes
    for line, spec in zip(result.lines, result.rows, strict=True):
        for barcode, _ in spec.barcodes:
            if barcode in taken:
                result.errors.append(f"line {line}: barcode {barcode} of {spec.code} is taken")
    return result


def parse_locations(text: str, known: Lookup) -> ImportResult[LocationSpec]:
    def build(row: dict[str, str]) -> LocationSpec:
        kind = _enum(row, "kind", LocationKind)
        if kind is LocationKind.VIRTUAL:
            raise RowError("virtual locations are built in (VENDOR, CUSTOMER, ADJUSTMENT, SCRAP)")
        return LocationSpec(
            code=_text(row, "code", True) or "",
            kind=kind,
            zone=_text(row, "zone"),
            aisle=_text(row, "aisle"),
            bay=_text(row, "bay"),
            level=_text(row, "level"),
            pick_sequence=_int(row, "pick_sequence") or 0,
            max_units=_int(row, "max_units", minimum=1),
            max_volume_cm3=_int(row, "max_volume_cm3", minimum=1),
            max_weight_g=_int(row, "max_weight_g", minimum=1),
        )

    result = _parse(text, "locations", build, lambda s: s.code)
    _lines_of(
        result, lambda s: s.code, known("location", (s.code for s in result.rows)), "location"
    )
    return result


def parse_operators(text: str, known: Lookup) -> ImportResult[OperatorSpec]:
    def build(row: dict[str, str]) -> OperatorSpec:
        role = _enum(row, "role", Role)
        pin = _text(row, "pin")
        if pin is not None and not (pin.isdigit() and 4 <= len(pin) <= 12):
            raise RowError("pin must be 4 to 12 digits")
        if role is Role.SUPERVISOR and pin is None:
            raise RowError("a supervisor needs a pin")
        return OperatorSpec(
            badge=_text(row, "badge", True) or "",
            name=_text(row, "name", True) or "",
            role=role,
            pin=pin,
        )

    result = _parse(text, "operators", build, lambda s: s.badge)
    _lines_of(result, lambda s: s.badge, known("operator", (s.badge for s in result.rows)), "badge")
    return result


def parse_stations(text: str, known: Lookup) -> ImportResult[StationSpec]:
    def build(row: dict[str, str]) -> StationSpec:
        return StationSpec(
            code=_text(row, "code", True) or "",
            name=_text(row, "name", True) or "",
            zone=_text(row, "zone"),
            dock=_text(row, "dock"),
        )

    result = _parse(text, "stations", build, lambda s: s.code)
    _lines_of(result, lambda s: s.code, known("station", (s.code for s in result.rows)), "station")
    docks = known("location", {s.dock for s in result.rows if s.dock})
    for line, spec in zip(result.lines, result.rows, strict=True):
        if spec.dock and spec.dock not in docks:
            result.errors.append(f"line {line}: dock location {spec.dock} does not exist")
    return result


def parse_receipts(text: str, known: Lookup) -> ImportResult[ReceiptLineSpec]:
    counters: dict[str, int] = {}

    def build(row: dict[str, str]) -> ReceiptLineSpec:
        receipt = _text(row, "receipt", True) or ""
        line = _int(row, "line", minimum=1)
        if line is None:
            line = counters.get(receipt, 0) + 1
        counters[receipt] = max(counters.get(receipt, 0), line)
        return ReceiptLineSpec(
            receipt=receipt,
            line=line,
            sku=_text(row, "sku", True) or "",
            qty=_int(row, "qty", minimum=1, required=True) or 0,
            lot=_text(row, "lot"),
            expiry=_date(row, "expiry"),
        )

    result = _parse(text, "receipts", build, lambda s: f"receipt {s.receipt} line {s.line}")
    _check_skus(result, known)
    _lines_of(
        result, lambda s: s.receipt, known("receipt", {s.receipt for s in result.rows}), "receipt"
    )
    return result


def parse_orders(text: str, known: Lookup) -> ImportResult[OrderLineSpec]:
    def build(row: dict[str, str]) -> OrderLineSpec:
        return OrderLineSpec(
            order=_text(row, "order", True) or "",
            line=_int(row, "line", minimum=1, required=True) or 0,
            sku=_text(row, "sku", True) or "",
            qty=_int(row, "qty", minimum=1, required=True) or 0,
            priority=_int(row, "priority") or 0,
            due_date=_date(row, "due_date"),
        )

    result = _parse(text, "orders", build, lambda s: f"order {s.order} line {s.line}")
    _check_skus(result, known)
    _same_per_order(result)
    _lines_of(result, lambda s: s.order, known("order", {s.order for s in result.rows}), "order")
    return result


def _same_per_order(result: ImportResult[OrderLineSpec]) -> None:
    """Priority and due date belong to the order: its lines may repeat them or leave them
    empty, but not contradict one another."""
    given: dict[tuple[str, str], Any] = {}
    for line, spec in zip(result.lines, result.rows, strict=True):
        for col in ("priority", "due_date"):
            value = getattr(spec, col)
            if value in (None, 0):
                continue
            first = given.setdefault((spec.order, col), value)
            if value != first:
                result.errors.append(
                    f"line {line}: order {spec.order} has {col} {first} on an earlier line, "
                    f"not {value}"
                )


def _check_skus(result: ImportResult[Any], known: Lookup) -> None:
    present = known("sku", {s.sku for s in result.rows})
    for line, spec in zip(result.lines, result.rows, strict=True):
        if spec.sku not in present:
            result.errors.append(
                f"line {line}: SKU {spec.sku} is not in the catalogue (import skus first)"
            )


PARSERS: dict[str, Callable[[str, Lookup], ImportResult[Any]]] = {
    "skus": parse_skus,
    "locations": parse_locations,
    "operators": parse_operators,
    "stations": parse_stations,
    "receipts": parse_receipts,
    "orders": parse_orders,
}
