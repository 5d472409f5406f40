"""CSV import of reference data: parse, validate every row, and report bad rows by line number.

A file is imported whole or not at all: `parse_*` returns every problem it finds, and the caller
writes nothing unless there are none. Besides each row's own checks (app/domain/import_rules.py:
code characters, invisible characters, numbers within the database's range), the codes a file
brings must not name anything else, in the file or in the database: the database is asked once
per file which of them it already holds (`Lookup`), never once per row.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from typing import Any, Generic, TypeVar

from app.domain.barcodes import normalise_gtin
from app.domain.catalogue import (
    BarcodeSpec,
    LocationSpec,
    OperatorSpec,
    OrderLineSpec,
    ReceiptLineSpec,
    SkuSpec,
    StationSpec,
)
from app.domain.commands import MAX_CODE_LENGTH
from app.domain.import_rules import (
    CODE_EXTRA_CHARACTERS,
    LARGEST_NUMBER,
    CodeKind,
    Holder,
    Mine,
    NewCode,
    clashes,
    code_problem,
    codes_to_look_up,
    digits_problem,
    own_sku_code,
    reads_as_gtin,
    same_barcode,
    same_thing,
    text_problem,
    whole_number,
)
from app.domain.model import LocationKind, Role, Tracking
from app.domain.rules import PIN_MIN_DIGITS, pin_problem

T = TypeVar("T")

Lookup = Callable[[Collection[str]], list[Holder]]
"""What the database already holds under any of these exact codes (adapters/db/catalogue.py
`holders`), asked once per file."""

Progress = Callable[[int], None]

NAME_LENGTH = 200
ALIASES_LENGTH = 2_000
"""The aliases cell (a|b|c) may be long; each alias is a code of at most MAX_CODE_LENGTH."""
_MONEY = re.compile(r"[0-9]+(\.[0-9]{1,2})?|\.[0-9]{1,2}")
LARGEST_MONEY_CENTS = 10**15
"""The largest unit value an import takes, in cents (skus.unit_value_cents is 64 bits; a unit
value times the units picked in a window must stay within them)."""
GS1_LOT_EXTRA = "!\"%&'()*+,-./:;<=>?_"
"""A lot may hold what GS1 allows in AI (10) besides letters and digits (character set 82), so
that a lot on a receipt matches the lot a station reads from the goods' GS1 barcode."""


@dataclass(frozen=True, slots=True)
class ImportRules:
    """What the parsers accept beyond the fixed rules: the characters a code may hold besides
    ASCII letters and digits, and the fewest digits of a PIN (the warehouse policy's). With
    `update` (`perpetua import --update`), a row whose code exists is no clash: it is matched
    to change that row (services/master_data.py)."""

    code_extra: str = CODE_EXTRA_CHARACTERS
    pin_min_digits: int = PIN_MIN_DIGITS
    update: bool = False


DEFAULT_RULES = ImportRules()


@dataclass
class ImportResult(Generic[T]):
    rows: list[T] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # the file line of each row
    problems: list[tuple[int, str]] = field(default_factory=list)  # (line, message)
    columns: tuple[str, ...] = ()  # the header's columns

    @property
    def errors(self) -> list[str]:
        """Every problem, in the order of the file's lines."""
        return [message for _, message in sorted(self.problems, key=lambda p: p[0])]

    @property
    def ok(self) -> bool:
        return not self.problems

    def refuse(self, line: int, message: str) -> None:
        self.problems.append((line, f"line {line}: {message}"))


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
            "min_shelf_days",
            "unit_value",
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
    "barcodes": (("sku", "barcode", "pack_qty"), ("kind",)),
    "receipts": (("receipt", "sku", "qty"), ("lot", "expiry", "line")),
    "orders": (("order", "line", "sku", "qty"), ("priority", "due_date")),
}


class RowError(ValueError):
    pass


class Row:
    """One row of a file, read column by column with the checks each kind of value needs."""

    def __init__(self, values: dict[str, str], rules: ImportRules) -> None:
        self._values = values
        self._rules = rules

    def raw(self, col: str, required: bool = False, limit: int | None = None) -> str | None:
        # Only ASCII spaces are trimmed: a no-break space around a code is refused, not hidden.
        value = (self._values.get(col) or "").strip(" \t")
        if not value:
            if required:
                raise RowError(f"{col} is empty")
            return None
        limit = limit or (NAME_LENGTH if col == "name" else MAX_CODE_LENGTH)
        if len(value) > limit:
            raise RowError(f"{col} is too long ({len(value)} characters, at most {limit})")
        return value

    def text(self, col: str, required: bool = False) -> str | None:
        value = self.raw(col, required)
        if value is not None and (problem := text_problem(value)):
            raise RowError(f"{col} {problem}")
        return value

    def code(self, col: str, required: bool = False, extra: str | None = None) -> str | None:
        value = self.raw(col, required)
        if value is not None:
            self.check_code(col, value, extra)
        return value

    def check_code(self, col: str, value: str, extra: str | None = None) -> None:
        problem = code_problem(value, self._rules.code_extra if extra is None else extra)
        if problem:
            raise RowError(f"{col} {problem}")

    def number(self, col: str, noun: str, minimum: int = 0, required: bool = False) -> int | None:
        value = self.raw(col, required)
        if value is None:
            return None
        try:
            return whole_number(value, col, noun, minimum)
        except ValueError as error:
            raise RowError(str(error)) from None

    def money(self, col: str) -> int | None:
        """An amount of money as whole cents: digits 0-9 with at most two decimals after a
        point (12, 12.5, 12.50), no sign, no thousands separator, no currency."""
        value = self.raw(col)
        if value is None:
            return None
        if not _MONEY.fullmatch(value):
            raise RowError(
                f"{col} must be an amount such as 12.50 (digits 0-9, a point and at most two "
                f"decimals, no currency sign), not {value!r}"
            )
        whole, _, cents = value.partition(".")
        amount = int(whole or "0") * 100 + int(cents.ljust(2, "0") or "0")
        if amount > LARGEST_MONEY_CENTS:
            raise RowError(
                f"{col} {value} is above the largest amount {LARGEST_MONEY_CENTS // 100}"
            )
        return amount

    def choice(self, col: str, enum: type[Enum], default: Any = None) -> Any:
        value = self.text(col, default is None)
        if value is None:
            return default
        try:
            return enum(value.lower())
        except ValueError:
            allowed = ", ".join(str(e.value) for e in enum)
            raise RowError(f"{col} must be one of {allowed}, not {value!r}") from None

    def date(self, col: str) -> date | None:
        value = self.text(col)
        if value is None:
            return None
        try:
            if not value.isascii():
                raise ValueError(value)
            return date.fromisoformat(value)
        except ValueError:
            raise RowError(f"{col} must be a date YYYY-MM-DD, not {value!r}") from None


def _rows(text: str, kind: str, result: ImportResult[Any]) -> Iterator[tuple[int, dict[str, str]]]:
    required, optional = COLUMNS[kind]
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    result.columns = tuple(header)
    missing = [c for c in required if c not in header]
    unknown = [c for c in header if c not in required and c not in optional]
    if missing:
        result.refuse(1, f"missing column(s) {', '.join(missing)}")
    if unknown:
        result.refuse(
            1,
            f"unknown column(s) {', '.join(unknown)}; columns are {', '.join(required + optional)}",
        )
    if missing or unknown:
        return
    for row in reader:
        line = reader.line_num
        if None in row:
            result.refuse(line, "more values than columns")
            continue
        if not any((v or "").strip() for v in row.values()):
            continue
        yield line, {k: v or "" for k, v in row.items()}


def _parse(
    text: str,
    kind: str,
    build: Callable[[Row], T],
    key: Callable[[T], Any],
    rules: ImportRules,
    progress: Progress | None,
) -> ImportResult[T]:
    result: ImportResult[T] = ImportResult()
    seen: dict[Any, int] = {}
    done = 0
    for line, values in _rows(text, kind, result):
        done += 1
        if progress and done % 1000 == 0:
            progress(1000)
        try:
            spec = build(Row(values, rules))
        except RowError as error:
            result.refuse(line, str(error))
            continue
        k = key(spec)
        if k in seen:
            result.refuse(line, f"{k} repeats line {seen[k]}")
            continue
        seen[k] = line
        result.rows.append(spec)
        result.lines.append(line)
    if progress:
        progress(done % 1000)
    if not result.rows and not result.problems:
        result.problems.append((0, "the file has no rows"))
    return result


def _check_codes(
    result: ImportResult[Any],
    new: list[NewCode],
    lookup: Lookup,
    references: Collection[str] = (),
    mine: Mine | None = None,
) -> list[Holder]:
    """Refuse each new code that names something else (in the file or the database); return
    what the database holds under the codes and `references` (for the caller's own checks).
    `mine`: which holders in the database are a new code's own row (see import_rules)."""
    wanted = codes_to_look_up(new) | set(references)
    found = lookup(wanted)
    result.problems.extend(clashes(new, found, mine))
    return found


def _mine(rules: ImportRules) -> Mine | None:
    """With --update a row that exists is the one to change, not a clash."""
    return same_thing if rules.update else None


def _new_codes(
    result: ImportResult[Any], kind: CodeKind, code: Callable[[Any], str]
) -> list[NewCode]:
    """One new code per distinct value, on the first line that brings it."""
    first: dict[str, NewCode] = {}
    for line, spec in zip(result.lines, result.rows, strict=True):
        value = code(spec)
        if value not in first:
            first[value] = NewCode(Holder(kind, value), line)
    return list(first.values())


# --- SKUs -------------------------------------------------------------------------------------


def _gtin(row: Row) -> str | None:
    """The GTIN column as 14 digits; its digits must be ASCII (biip would take others)."""
    value = row.raw("gtin")
    if value is None:
        return None
    if not value.isascii() and (problem := digits_problem(value)):
        raise RowError(f"gtin {problem}")
    if reads_as_gtin(value):
        return value.zfill(14)
    try:
        return normalise_gtin(value)
    except ValueError as error:  # biip's reason why it is not a GTIN
        raise RowError(f"gtin: {error}") from None


def barcode_form(code: str) -> tuple[str, str]:
    """How a barcode is stored: a code a station reads as a GTIN (8, 12, 13 or 14 digits with a
    valid check digit) as its 14 digits, kind gtin, since a scan of it is looked up so (a
    supplier's EAN 4006381333962 imported as an alias would never resolve); any other code as it
    is, kind alias."""
    return (code.zfill(14), "gtin") if reads_as_gtin(code) else (code, "alias")


def parse_skus(
    text: str, lookup: Lookup, rules: ImportRules = DEFAULT_RULES, progress: Progress | None = None
) -> ImportResult[SkuSpec]:
    # Per spec (by id), the aliases stored as GTINs, {stored: as written}: a clash message names
    # them as the file writes them, in the aliases column.
    numeric_aliases: dict[int, dict[str, str]] = {}

    def build(row: Row) -> SkuSpec:
        barcodes: list[tuple[str, str]] = []
        gtin = _gtin(row)
        if gtin:
            barcodes.append((gtin, "gtin"))
        as_gtins: dict[str, str] = {}
        for alias in (row.raw("aliases", limit=ALIASES_LENGTH) or "").split("|"):
            alias = alias.strip(" \t")
            if not alias:
                continue
            row.check_code("aliases", alias)
            if len(alias) > MAX_CODE_LENGTH:
                raise RowError(
                    f"alias {alias} is too long ({len(alias)} characters, at most "
                    f"{MAX_CODE_LENGTH})"
                )
            code, kind = barcode_form(alias)
            if code == gtin:
                raise RowError(f"alias {alias} is the SKU's GTIN already; leave it out of aliases")
            if any(code == held for held, _ in barcodes):
                raise RowError(f"alias {alias} is listed twice")
            barcodes.append((code, kind))
            if kind == "gtin":
                as_gtins[code] = alias
        spec = SkuSpec(
            code=row.code("sku", True) or "",
            name=row.text("name", True) or "",
            unit_volume_cm3=row.number("unit_volume_cm3", "volume") or 0,
            unit_weight_g=row.number("unit_weight_g", "weight") or 0,
            tracking=row.choice("tracking", Tracking, Tracking.NONE),
            lookalike_group=row.text("lookalike_group"),
            reorder_point=row.number("reorder_point", "quantity") or 0,
            lead_time_days=row.number("lead_time_days", "number of days") or 0,
            barcodes=tuple(barcodes),
            min_shelf_days=row.number("min_shelf_days", "number of days"),
            unit_value_cents=row.money("unit_value"),
        )
        if as_gtins:
            numeric_aliases[id(spec)] = as_gtins
        return spec

    result = _parse(text, "skus", build, lambda s: s.code, rules, progress)
    new: list[NewCode] = []
    for line, spec in zip(result.lines, result.rows, strict=True):
        new.append(NewCode(Holder(CodeKind.SKU, spec.code, spec.code), line))
        written = numeric_aliases.get(id(spec), {})
        for code, kind in spec.barcodes:
            if code in written:
                new.append(NewCode(Holder(CodeKind.ALIAS, written[code], spec.code), line))
            else:
                what = CodeKind.GTIN if kind == "gtin" else CodeKind.ALIAS
                new.append(NewCode(Holder(what, code, spec.code), line))
    _check_codes(result, new, lookup, mine=_mine(rules))
    return result


# --- barcodes ---------------------------------------------------------------------------------

BARCODE_KINDS = ("gtin", "alias")


def parse_barcodes(
    text: str, lookup: Lookup, rules: ImportRules = DEFAULT_RULES, progress: Progress | None = None
) -> ImportResult[BarcodeSpec]:
    """Barcodes of SKUs that exist, each with the units one scan of it stands for."""

    def build(row: Row) -> BarcodeSpec:
        sku = row.code("sku", True) or ""
        value = row.raw("barcode", True) or ""
        given = row.text("kind")
        if given is not None and given.lower() not in BARCODE_KINDS:
            raise RowError(f"kind must be gtin or alias (or empty), not {given!r}")
        if given is not None and given.lower() == "gtin" and not reads_as_gtin(value):
            if not value.isascii() and (problem := digits_problem(value)):
                raise RowError(f"barcode {problem}")
            try:
                normalise_gtin(value)
            except ValueError as error:  # biip's reason why it is not a GTIN
                raise RowError(
                    f"barcode {value} is not a GTIN ({error}); write kind alias, or leave kind "
                    "empty"
                ) from None
        row.check_code("barcode", value)
        pack_qty = row.number("pack_qty", "pack quantity", -LARGEST_NUMBER, True) or 0
        if pack_qty == 0:
            raise RowError(
                "pack_qty is 0: write how many units one scan of this barcode stands for "
                "(1 for a single item, 12 for a case of 12)"
            )
        if pack_qty < 1:
            raise RowError(f"pack_qty must be at least 1, not {pack_qty}")
        code, kind = barcode_form(value)
        return BarcodeSpec(sku=sku, code=code, kind=kind, pack_qty=pack_qty)

    result = _parse(text, "barcodes", build, lambda s: f"barcode {s.code}", rules, progress)
    new = [
        NewCode(Holder(CodeKind.GTIN if s.kind == "gtin" else CodeKind.ALIAS, s.code, s.sku), line)
        for line, s in zip(result.lines, result.rows, strict=True)
    ]
    mine = same_barcode if rules.update else own_sku_code
    found = _check_codes(result, new, lookup, {s.sku for s in result.rows}, mine)
    _check_skus(result, found)
    serial = {h.code for h in found if h.kind is CodeKind.SKU and h.tracking == Tracking.SERIAL}
    for line, spec in zip(result.lines, result.rows, strict=True):
        if spec.sku in serial and spec.pack_qty > 1:
            result.refuse(
                line,
                f"{spec.sku} is tracked by serial number: each unit is scanned alone, so a "
                f"barcode of it stands for 1 unit, not {spec.pack_qty}",
            )
    return result


# --- locations, operators, stations -----------------------------------------------------------


def parse_locations(
    text: str, lookup: Lookup, rules: ImportRules = DEFAULT_RULES, progress: Progress | None = None
) -> ImportResult[LocationSpec]:
    def build(row: Row) -> LocationSpec:
        kind = row.choice("kind", LocationKind)
        if kind is LocationKind.VIRTUAL:
            raise RowError("virtual locations are built in (VENDOR, CUSTOMER, ADJUSTMENT, SCRAP)")
        return LocationSpec(
            code=row.code("code", True) or "",
            kind=kind,
            zone=row.text("zone"),
            aisle=row.text("aisle"),
            bay=row.text("bay"),
            level=row.text("level"),
            pick_sequence=row.number("pick_sequence", "pick sequence") or 0,
            max_units=row.number("max_units", "capacity", minimum=1),
            max_volume_cm3=row.number("max_volume_cm3", "capacity", minimum=1),
            max_weight_g=row.number("max_weight_g", "capacity", minimum=1),
        )

    result = _parse(text, "locations", build, lambda s: s.code, rules, progress)
    new = _new_codes(result, CodeKind.LOCATION, lambda s: s.code)
    _check_codes(result, new, lookup, mine=_mine(rules))
    return result


def parse_operators(
    text: str, lookup: Lookup, rules: ImportRules = DEFAULT_RULES, progress: Progress | None = None
) -> ImportResult[OperatorSpec]:
    def build(row: Row) -> OperatorSpec:
        role = row.choice("role", Role)
        pin = (row.raw("pin") or "") or None
        # The PIN itself is never repeated in a message: the file may be on a shared screen.
        if pin is not None and (problem := pin_problem(pin, rules.pin_min_digits)):
            raise RowError(f"pin: {problem}")
        if role is Role.SUPERVISOR and pin is None and not rules.update:
            raise RowError("a supervisor needs a pin")  # with --update: if they have none yet
        return OperatorSpec(
            badge=row.code("badge", True) or "",
            name=row.text("name", True) or "",
            role=role,
            pin=pin,
        )

    result = _parse(text, "operators", build, lambda s: s.badge, rules, progress)
    new = _new_codes(result, CodeKind.BADGE, lambda s: s.badge)
    _check_codes(result, new, lookup, mine=_mine(rules))
    return result


DOCK_KINDS = frozenset({LocationKind.DOCK.value, LocationKind.QUARANTINE.value})
"""What a station's dock may be: a location goods are received into (the ledger receives into
a dock or a quarantine location only)."""


def parse_stations(
    text: str, lookup: Lookup, rules: ImportRules = DEFAULT_RULES, progress: Progress | None = None
) -> ImportResult[StationSpec]:
    def build(row: Row) -> StationSpec:
        return StationSpec(
            code=row.code("code", True) or "",
            name=row.text("name", True) or "",
            zone=row.text("zone"),
            dock=row.code("dock"),
        )

    result = _parse(text, "stations", build, lambda s: s.code, rules, progress)
    docks = {s.dock for s in result.rows if s.dock}
    new = _new_codes(result, CodeKind.STATION, lambda s: s.code)
    found = _check_codes(result, new, lookup, docks, _mine(rules))
    locations = {h.code: h for h in found if h.kind is CodeKind.LOCATION}
    for line, spec in zip(result.lines, result.rows, strict=True):
        if not spec.dock:
            continue
        dock = locations.get(spec.dock)
        if dock is None:
            result.refuse(line, f"dock location {spec.dock} does not exist")
        elif dock.virtual:
            result.refuse(
                line,
                f"dock {spec.dock} is a virtual location (it stands for a partner or a "
                "correction, not a place); give the station the code of its dock location",
            )
        elif not dock.active:
            result.refuse(
                line,
                f"dock {spec.dock} is deactivated: give the station an active dock, or "
                f"activate it first (perpetua activate location {spec.dock})",
            )
        elif dock.place is not None and dock.place not in DOCK_KINDS:
            result.refuse(
                line,
                f"dock {spec.dock} is a {dock.place} location, where goods are not received; give "
                "the station the code of its dock location (a location of kind dock)",
            )
    return result


# --- receipts and orders ----------------------------------------------------------------------


def parse_receipts(
    text: str, lookup: Lookup, rules: ImportRules = DEFAULT_RULES, progress: Progress | None = None
) -> ImportResult[ReceiptLineSpec]:
    counters: dict[str, int] = {}

    def build(row: Row) -> ReceiptLineSpec:
        receipt = row.code("receipt", True) or ""
        line = row.number("line", "line number", minimum=1)
        if line is None:
            line = counters.get(receipt, 0) + 1
        counters[receipt] = max(counters.get(receipt, 0), line)
        return ReceiptLineSpec(
            receipt=receipt,
            line=line,
            sku=row.code("sku", True) or "",
            qty=row.number("qty", "quantity", minimum=1, required=True) or 0,
            lot=row.code("lot", extra=GS1_LOT_EXTRA),
            expiry=row.date("expiry"),
        )

    result = _parse(
        text, "receipts", build, lambda s: f"receipt {s.receipt} line {s.line}", rules, progress
    )
    new = _new_codes(result, CodeKind.RECEIPT, lambda s: s.receipt)
    _check_skus(result, _check_codes(result, new, lookup, {s.sku for s in result.rows}), True)
    return result


def parse_orders(
    text: str, lookup: Lookup, rules: ImportRules = DEFAULT_RULES, progress: Progress | None = None
) -> ImportResult[OrderLineSpec]:
    def build(row: Row) -> OrderLineSpec:
        return OrderLineSpec(
            order=row.code("order", True) or "",
            line=row.number("line", "line number", minimum=1, required=True) or 0,
            sku=row.code("sku", True) or "",
            qty=row.number("qty", "quantity", minimum=1, required=True) or 0,
            priority=row.number("priority", "priority") or 0,
            due_date=row.date("due_date"),
        )

    result = _parse(
        text, "orders", build, lambda s: f"order {s.order} line {s.line}", rules, progress
    )
    new = _new_codes(result, CodeKind.ORDER, lambda s: s.order)
    _check_skus(result, _check_codes(result, new, lookup, {s.sku for s in result.rows}), True)
    _same_per_order(result)
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
                result.refuse(
                    line, f"order {spec.order} has {col} {first} on an earlier line, not {value}"
                )


def _check_skus(result: ImportResult[Any], found: list[Holder], active: bool = False) -> None:
    """Each row's SKU exists; with `active` (a receipt's or order's line) it is active too: an
    inactive SKU cannot be received or picked, and `deactivate sku` keeps it off open work."""
    present = {h.code: h for h in found if h.kind is CodeKind.SKU}
    for line, spec in zip(result.lines, result.rows, strict=True):
        sku = present.get(spec.sku)
        if sku is None:
            result.refuse(line, f"SKU {spec.sku} is not in the catalogue (import skus first)")
        elif active and not sku.active:
            result.refuse(
                line,
                f"SKU {spec.sku} is deactivated: activate it first (perpetua activate sku "
                f"{spec.sku}), or leave it out",
            )


Parser = Callable[[str, Lookup, ImportRules, Progress | None], ImportResult[Any]]

PARSERS: dict[str, Parser] = {
    "skus": parse_skus,
    "barcodes": parse_barcodes,
    "locations": parse_locations,
    "operators": parse_operators,
    "stations": parse_stations,
    "receipts": parse_receipts,
    "orders": parse_orders,
}
