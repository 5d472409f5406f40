"""What an import accepts: one namespace of codes, codes in a small character set, text without
invisible characters, and numbers the database's INTEGER columns hold (issue 11, point 6).

A station tells a scan's meaning by looking the code up (domain/interpret.py): a badge named
`DOCK-1` or `SKU-000070` would take over the scans of that location or item. So a badge,
location, SKU, GTIN, alias, receipt or order code names one thing only. A SKU's own code, GTIN
and aliases name the same thing (the demo labels shelves with the SKU code as an alias).
Station codes are their own namespace: stations are never scanned, and a station is often named
after its dock.

Pure functions over values; services/importing.py applies them to a file, the database answers
which codes it already holds (adapters/db/catalogue.py `holders`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from enum import StrEnum
from functools import cache
from typing import NamedTuple

from biip.checksums import gs1_standard_check_digit

from app.domain.gs1 import shown
from app.domain.quantities import MAX_QUANTITY

CODE_EXTRA_CHARACTERS = "-._/"
"""What a code may hold besides the ASCII letters and digits. The parsers of
services/importing.py take another set as `ImportRules(code_extra=...)`; a space, a comma or a
quote would make codes that a scanner, a CSV file or a shell splits."""

LARGEST_NUMBER = MAX_QUANTITY
"""The largest number an import takes in any column: the database's INTEGER columns are 32 bits
on PostgreSQL (SQLite would keep more, which PostgreSQL then could not), the same range as a
quantity (domain/quantities.py)."""

GTIN_LENGTHS = (8, 12, 13, 14)


class CodeKind(StrEnum):
    BADGE = "badge"
    LOCATION = "location"
    SKU = "SKU"
    GTIN = "GTIN"
    ALIAS = "alias"
    RECEIPT = "receipt"
    ORDER = "order"
    STATION = "station"


_OF_A_SKU = frozenset({CodeKind.SKU, CodeKind.GTIN, CodeKind.ALIAS})
_SEPARATE = frozenset({CodeKind.STATION})
"""Kinds outside the one namespace: they clash only with their own kind."""


class Holder(NamedTuple):
    """A code and what holds it: a kind, and for a SKU's code, GTIN or alias the SKU it stands
    for. `virtual` marks a built-in location (VENDOR, CUSTOMER, SCRAP, ADJUSTMENT...).
    `active` is the operator's, location's or SKU's flag (a barcode's: its SKU's), `place` a
    location's kind, `tracking` a SKU's (a barcode's: its SKU's), for the checks of imports
    that refer to them. (Named tuples: an import makes one per code, hundreds of thousands.)"""

    kind: CodeKind
    code: str
    sku: str | None = None
    virtual: bool = False
    active: bool = True
    place: str | None = None
    tracking: str | None = None

    @property
    def thing(self) -> tuple[str, str]:
        """What the code names: a SKU's codes all name the SKU."""
        if self.kind in _OF_A_SKU:
            return ("sku", self.sku or self.code)
        return (self.kind.value, self.code)


class NewCode(NamedTuple):
    """A code an import file brings, on its line."""

    holder: Holder
    line: int


# --- characters -------------------------------------------------------------------------------


def _describe(ch: str, position: int) -> str:
    name = unicodedata.name(ch, f"U+{ord(ch):04X}")
    where = f"at position {position + 1}"
    if ch == " ":
        return f"a space {where}"
    if ch.isdigit() and not ch.isascii():
        return f"the digit {ch} (U+{ord(ch):04X} {name}) {where}, which is not one of 0-9"
    if not ch.isprintable():
        return f"the invisible character U+{ord(ch):04X} {name} {where}"
    return f"the character {ch} (U+{ord(ch):04X} {name}) {where}"


def _allowed_text(extra: str) -> str:
    shown_extra = " ".join(extra)
    return "the letters A-Z and a-z, the digits 0-9" + (f" and {shown_extra}" if extra else "")


@cache
def _code_pattern(extra: str) -> re.Pattern[str]:
    return re.compile(f"[A-Za-z0-9{re.escape(extra)}]+")


def code_problem(value: str, extra: str = CODE_EXTRA_CHARACTERS) -> str | None:
    """Why `value` cannot be a code, or None: a code holds only ASCII letters, digits and the
    `extra` characters, so that what a person reads is what a scanner sends."""
    allowed = _code_pattern(extra)
    if allowed.fullmatch(value):
        return None
    position = next(i for i, ch in enumerate(value) if not allowed.fullmatch(ch))
    return (
        f"{shown(value)} holds {_describe(value[position], position)}; a code holds only "
        f"{_allowed_text(extra)}"
    )


def digits_problem(value: str) -> str | None:
    """Why `value` is not written with the ASCII digits 0-9 only, or None (for GTINs: Python
    and biip take an Arabic-Indic or full-width digit as a digit)."""
    position = next((i for i, ch in enumerate(value) if ch not in "0123456789"), None)
    if position is None:
        return None
    return f"{shown(value)} holds {_describe(value[position], position)}; write it with 0-9"


def text_problem(value: str) -> str | None:
    """Why `value` cannot be a name or label, or None: any printable text, but no invisible
    character (control, format, zero-width, byte-order mark, no-break or other odd spaces),
    which would make two texts that look the same differ."""
    if value.isprintable():
        return None
    position = next(i for i, ch in enumerate(value) if not ch.isprintable())
    return f"{shown(value)} holds {_describe(value[position], position)}; retype it"


_WHOLE = re.compile(r"[+-]?[0-9]+")


def whole_number(value: str, column: str, noun: str, minimum: int = 0) -> int:
    """The whole number `value` written in a file's `column`, in [minimum, LARGEST_NUMBER].
    ValueError with a message for the user; `noun` names the figure ("quantity", "capacity")."""
    if not _WHOLE.fullmatch(value):
        odd = next((i for i, ch in enumerate(value) if ch.isdigit() and not ch.isascii()), None)
        if odd is not None:
            raise ValueError(
                f"{column} {shown(value)} holds {_describe(value[odd], odd)}; "
                "write numbers with the digits 0-9"
            )
        raise ValueError(f"{column} must be a whole number, not {value!r}")
    number = int(value)
    if number < minimum:
        raise ValueError(f"{column} must be at least {minimum}, not {number}")
    if number > LARGEST_NUMBER:
        raise ValueError(f"{column} {number} is above the largest {noun} {LARGEST_NUMBER}")
    return number


# --- GTINs in the namespace -------------------------------------------------------------------


def reads_as_gtin(code: str) -> bool:
    """Whether a station would read `code` as a GTIN: 8, 12, 13 or 14 ASCII digits with a valid
    GS1 check digit."""
    return (
        len(code) in GTIN_LENGTHS
        and code.isascii()
        and code.isdigit()
        and gs1_standard_check_digit(code[:-1]) == int(code[-1])
    )


def scan_key(code: str) -> str:
    """The form a code is compared in: a code that reads as a GTIN (8, 12, 13 or 14 digits with
    a valid check digit) as its 14 digits, since a scan of `96385074` finds the GTIN
    00000096385074; any other code as it is."""
    return code.zfill(14) if reads_as_gtin(code) else code


def scan_forms(code: str) -> tuple[str, ...]:
    """Every text with the same scan key as `code`: for a GTIN its 8, 12, 13 and 14 digit forms
    (those its leading zeros allow), for any other code itself."""
    return _gtin_forms(code.zfill(14)) if reads_as_gtin(code) else (code,)


def _gtin_forms(gtin14: str) -> tuple[str, ...]:
    return (gtin14, *(gtin14[cut:] for cut in (1, 2, 6) if gtin14[:cut] == "0" * cut))


# A GTIN is stored as its 14 digits, its check digit checked: no need to check it again.


def _key(h: Holder) -> str:
    return h.code if h.kind is CodeKind.GTIN else scan_key(h.code)


def _forms(h: Holder) -> tuple[str, ...]:
    return _gtin_forms(h.code) if h.kind is CodeKind.GTIN else scan_forms(h.code)


def codes_to_look_up(new: Iterable[NewCode]) -> set[str]:
    """Every text the database may hold that has the scan key of a new code."""
    return {form for n in new for form in _forms(n.holder)}


# --- clashes ----------------------------------------------------------------------------------


def _what(h: Holder) -> str:
    if h.kind in (CodeKind.GTIN, CodeKind.ALIAS):
        return f"{h.kind.value} {h.code} of SKU {h.sku}"
    return f"{h.kind.value} {h.code}"


def _held_as(h: Holder) -> str:
    return {
        CodeKind.BADGE: "an operator's badge",
        CodeKind.LOCATION: "a built-in location's code" if h.virtual else "a location's code",
        CodeKind.SKU: "a SKU's code",
        CodeKind.GTIN: f"the GTIN of SKU {h.sku}",
        CodeKind.ALIAS: f"an alias of SKU {h.sku}",
        CodeKind.RECEIPT: "a receipt's code",
        CodeKind.ORDER: "an order's code",
        CodeKind.STATION: "a station's code",
    }[h.kind]


_ADVICE = {
    CodeKind.BADGE: "choose another badge",
    CodeKind.LOCATION: "choose another location code",
    CodeKind.SKU: "choose another SKU code",
    CodeKind.GTIN: "check the GTIN",
    CodeKind.ALIAS: "choose another alias",
    CodeKind.RECEIPT: "choose another receipt code",
    CodeKind.ORDER: "choose another order code",
    CodeKind.STATION: "choose another station code",
}


def _namespace(h: Holder) -> str:
    """The namespace a holder's code lives in: one for all, but stations have their own."""
    return h.kind.value if h.kind in _SEPARATE else ""


def _as(holder: Holder, code: str) -> str:
    """How `holder` holds `code`, with its own spelling when only the scan keys are equal."""
    spelled = f" ({holder.code})" if holder.code != code else ""
    return _held_as(holder) + spelled


Mine = Callable[[Holder, Holder], bool]
"""Whether a code in the database (second) is the new code's own row (first), not a clash:
see `same_thing` and `same_barcode`."""


def same_thing(new: Holder, held: Holder) -> bool:
    """An update: the row itself, or a code of the same SKU, is no clash."""
    return held.thing == new.thing


def own_sku_code(new: Holder, held: Holder) -> bool:
    """A barcode may be its own SKU's code (a shelf label with the SKU code on it)."""
    return held.kind is CodeKind.SKU and held.thing == new.thing


def same_barcode(new: Holder, held: Holder) -> bool:
    """An update of barcodes, matched on the barcode: the barcode row itself (of whatever SKU:
    the update may move it to another) or its own SKU's code is no clash."""
    return held.kind in (CodeKind.GTIN, CodeKind.ALIAS) or held.thing == new.thing


def clashes(
    new: Iterable[NewCode], existing: Iterable[Holder], mine: Mine | None = None
) -> list[tuple[int, str]]:
    """(line, message) for each new code that names something else: a code already held in
    the database, or held by another thing on an earlier line of the file. One message per line
    and code; a row whose thing "already exists" (the same code of the same kind, such as a SKU
    imported twice) gets that one message, not one more for each of its barcodes. A holder in
    the database that `mine` says is the new code's own row is no clash (an update)."""
    held: dict[tuple[str, str], list[Holder]] = {}
    for h in existing:
        held.setdefault((_namespace(h), _key(h)), []).append(h)
    first: dict[tuple[str, str], NewCode] = {}
    problems: list[tuple[int, str]] = []
    told: set[tuple[int, str]] = set()
    exists: set[int] = set()  # lines whose thing is in the database already
    for n in new:
        key = (_namespace(n.holder), _key(n.holder))
        in_database = held.get(key)
        if in_database and mine is not None:
            in_database = [h for h in in_database if not mine(n.holder, h)]
        if in_database:
            message: str | None = _clash_in_database(n.holder, in_database)
        else:
            earlier = first.setdefault(key, n)
            message = None if earlier.holder.thing == n.holder.thing else _clash_in_file(n, earlier)
        if message is None or n.line in exists or (n.line, key[1]) in told:
            continue
        told.add((n.line, key[1]))
        if _EXISTS in message:
            exists.add(n.line)
        problems.append((n.line, f"line {n.line}: {message}"))
    return problems


_EXISTS = " already exists; "
_DOCUMENTS = frozenset({CodeKind.RECEIPT, CodeKind.ORDER})


def _exists_remedy(h: Holder) -> str:
    """What to do about a row that exists already: master data is changed with --update, a
    receipt or order (a document) never is."""
    if h.kind in _DOCUMENTS:
        return f"{h.kind.value}s are not changed by an import: give the new one another code"
    return "to change it, import the file with --update"


def _clash_in_database(new: Holder, found: list[Holder]) -> str:
    if any(h.kind == new.kind and h.code == new.code and h.thing == new.thing for h in found):
        return f"{_what(new)}{_EXISTS}{_exists_remedy(new)}"
    order = list(CodeKind)
    found = sorted(found, key=lambda h: (order.index(h.kind), h.code))
    descriptions = " and ".join(dict.fromkeys(_as(h, new.code) for h in found))
    return f"{_what(new)} is already {descriptions}; {_ADVICE[new.kind]}"


def _clash_in_file(new: NewCode, earlier: NewCode) -> str:
    return (
        f"{_what(new.holder)} is already {_as(earlier.holder, new.holder.code)} on line "
        f"{earlier.line}; {_ADVICE[new.holder.kind]}"
    )
