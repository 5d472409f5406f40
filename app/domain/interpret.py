"""What a scan means (DESIGN.md section 4): a command, an operator badge, a location label, a
licence plate (SSCC), an item (GS1 element string, Digital Link, EAN/UPC/GTIN, or a registered
alias barcode), or a refusal that says what was scanned and why it was not accepted.

The rules, in order:
1. Screening. Scanned text is hostile: longer than `max_length` (256), control characters other
   than GS, invisible format characters (bidi overrides and isolates, zero-width characters,
   byte-order marks), private-use or unassigned code points and bytes that were not UTF-8 are
   refused before anything else looks at the text. Surrounding spaces are dropped.
2. GS placeholders (`<GS>`, `{GS}`, or configured ones) become GS (0x1D); an AIM symbology
   identifier at the start (`]C1`, `]d2`, `]Q3`, `]E0`, ...) is split off, or taken from
   `Scan.symbology` when the text has none.
3. Command barcodes `@CMD:<NAME>[:<ARG>]`.
4. Operator badges, then 5. location labels (catalogue lookups).
6. SSCC, GS1 element strings, GS1 Digital Link URIs, plain EAN/UPC/GTIN (see `gs1.py`). The
   item's GTIN (01), or else the content GTIN (02) of a licence plate or content label, is looked
   up as a GTIN barcode and, failing that, as an alias under the scanned digits and the GTIN's
   other forms (13, 12, 8 digits): old data may hold a supplier's EAN as an alias.
7. Registered alias barcodes (catalogue lookup).

A barcode found in the catalogue gives the item its SKU and its pack: how many units of the SKU
one scan of it stands for (a case GTIN of 12: 12), on `Interpretation.pack`.

Without a catalogue only syntax decides: badges, location labels and aliases cannot be told from
any other word, so a word that is not a command or GS1/GTIN data is refused with a message saying
that it could not be checked against the warehouse's codes. Symbols that are GS1 by their AIM
identifier (`]C1`, `]E0`, ...) are never looked up: they cannot be labels or aliases.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Protocol

from app.domain.commands import MAX_CODE_LENGTH, AdjustReason, ReleaseReason, ReturnReason
from app.domain.gs1 import (
    GS1_SYMBOLOGIES,
    Gs1Data,
    Gs1Error,
    Gs1Problem,
    decode,
    gtin_forms,
    shown,
)
from app.domain.scan import GS, Scan

MAX_SCAN_LENGTH = 256
DEFAULT_GS_PLACEHOLDERS = ("<GS>", "{GS}")
MAX_QTY = 999_999
COMMAND_PREFIX = "@CMD:"


class Kind(StrEnum):
    ITEM = "item"
    LOCATION = "location"
    LPN = "lpn"
    BADGE = "badge"
    RECEIPT = "receipt"
    ORDER = "order"
    COMMAND = "command"
    INVALID = "invalid"


class Refusal(StrEnum):
    """Why a scan was refused, besides the GS1 problems of `Gs1Problem`."""

    EMPTY = "empty"
    TOO_LONG = "too_long"
    NOT_TEXT = "not_text"
    CONTROL_CHARACTER = "control_character"
    INVISIBLE_CHARACTER = "invisible_character"
    UNKNOWN_COMMAND = "unknown_command"
    BAD_COMMAND_ARGUMENT = "bad_command_argument"
    UNKNOWN_CODE = "unknown_code"
    NO_CATALOGUE = "no_catalogue"


class CommandName(StrEnum):
    """The printed command sheet: every station action has a barcode."""

    DONE = "DONE"
    CANCEL = "CANCEL"
    CONFIRM = "CONFIRM"
    UNDO = "UNDO"
    SKIP = "SKIP"
    SHORT = "SHORT"
    DAMAGED = "DAMAGED"
    QTY = "QTY"
    LOGOUT = "LOGOUT"
    MODE = "MODE"
    REASON = "REASON"
    TAKEOVER = "TAKEOVER"
    RELEASE = "RELEASE"
    CANCELORDER = "CANCELORDER"
    ACK = "ACK"
    HOLD = "HOLD"
    LOOKUP = "LOOKUP"


COMMAND_MEANINGS = {
    CommandName.DONE: "finish the current task (receipt, putaway, pick list, count)",
    CommandName.CANCEL: "abandon the current step",
    CommandName.CONFIRM: "confirm what the station asks (for example a suggested bin)",
    CommandName.UNDO: "take back the last scan of the current step",
    CommandName.SKIP: "skip this pick line or count bin for now",
    CommandName.SHORT: "report a short pick: the bin holds less than asked",
    CommandName.DAMAGED: "mark the goods damaged (they go to quarantine)",
    CommandName.QTY: "the quantity for the next item scan, 1 to 999999 (`@CMD:QTY:12`)",
    CommandName.LOGOUT: "sign the operator out",
    CommandName.MODE: "switch the station to receive, putaway, pick, count, transfer or return",
    CommandName.REASON: "the reason code for a short pick, an approved count adjustment, a "
    "customer return or a supervisor's release of held stock (`@CMD:REASON:LOST`, "
    "`@CMD:REASON:WRONG_ITEM`, `@CMD:REASON:INSPECTED_OK`)",
    CommandName.TAKEOVER: "a supervisor moves another picker's pick list to this station",
    CommandName.RELEASE: "leave a pick list and give its reservations back to stock",
    CommandName.CANCELORDER: "a supervisor cancels the scanned order",
    CommandName.ACK: "a supervisor acknowledges transactions refused after an outage",
    CommandName.HOLD: "put the next scanned location, or lot (an item label with its lot), on "
    "hold: nothing of it is picked, moved or shipped until a supervisor releases it",
    CommandName.LOOKUP: "look up stock: then a location label (what it holds, lots and expiry, "
    "reserved) or an item barcode (every location holding it); DONE goes back",
}


class StationMode(StrEnum):
    RECEIVE = "receive"
    PUTAWAY = "putaway"
    PICK = "pick"
    COUNT = "count"
    TRANSFER = "transfer"
    RETURN = "return"
    SHIP = "ship"


@dataclass(frozen=True, slots=True)
class CodeMatch:
    """What the warehouse knows a scanned code as (a code may in theory be several at once)."""

    badge: bool = False
    location: bool = False
    alias_sku: str | None = None
    """The SKU code a registered alias barcode stands for."""
    receipt: bool = False
    """An expected receipt's code (ASN or purchase order)."""
    order: bool = False
    """A customer order's code (its pick list)."""
    alias_pack: int = 1
    """How many units of the alias's SKU one scan of it stands for."""


NO_MATCH = CodeMatch()


@dataclass(frozen=True, slots=True)
class Barcode:
    """A registered barcode: the SKU it stands for and how many of its units one scan is."""

    code: str
    sku: str
    pack: int = 1
    kind: str = "gtin"
    """gtin (normalised to 14 digits) or alias (any other code, or old data)."""


class Catalogue(Protocol):
    """The warehouse's own codes, for the scans whose meaning syntax cannot tell.

    Implementations look codes up as query parameters, never as SQL text, and answer
    `identify` in one round trip: it is asked once for every scan that could be a code.
    """

    def identify(self, code: str) -> CodeMatch:
        """Whether `code` is an operator badge, a real location's label (never a virtual
        counterparty), an expected receipt, a customer order or a registered alias barcode."""

    def barcode(self, codes: Sequence[str]) -> Barcode | None:
        """The first of `codes`, in the order given, that is a registered barcode (a GTIN or an
        alias), with its SKU and pack quantity; None when none is."""


@dataclass(frozen=True, slots=True)
class ScanRules:
    """How much and which text a station accepts: the length cap and the GS placeholders its
    scanners were set up to send."""

    max_length: int = MAX_SCAN_LENGTH
    gs_placeholders: tuple[str, ...] = DEFAULT_GS_PLACEHOLDERS

    def __post_init__(self) -> None:
        if self.max_length < 1:
            raise ValueError("max_length must be at least 1")
        for placeholder in self.gs_placeholders:
            if not placeholder or GS in placeholder or placeholder.strip() != placeholder:
                raise ValueError(f"GS placeholder {shown(placeholder)} must be visible text")


DEFAULT_RULES = ScanRules()


@dataclass(frozen=True, slots=True)
class Interpretation:
    """What one scan means. `error` is set exactly when `kind` is INVALID.

    `code` is the badge, location code or alias as scanned (without an AIM identifier); `sku`
    is the SKU of an alias, or of a GTIN (or content GTIN) the catalogue knows, and `pack` the
    units of it one scan of that barcode stands for (1 when the catalogue does not say).
    """

    scan: Scan
    kind: Kind
    gtin: str | None = None
    lot: str | None = None
    expiry: date | None = None
    best_before: date | None = None
    serial: str | None = None
    count: int | None = None
    sscc: str | None = None
    content_gtin: str | None = None
    command: CommandName | None = None
    command_arg: str | None = None
    code: str | None = None
    sku: str | None = None
    pack: int = 1
    symbology: str | None = None
    error: str | None = None
    reason: Refusal | Gs1Problem | None = None

    @property
    def accepted(self) -> bool:
        return self.kind is not Kind.INVALID

    @property
    def quantity(self) -> int | None:
        """The quantity of a `@CMD:QTY:n` scan."""
        if self.command is CommandName.QTY and self.command_arg:
            return int(self.command_arg)
        return None


def interpret(
    scan: Scan, catalogue: Catalogue | None = None, rules: ScanRules = DEFAULT_RULES
) -> Interpretation:
    """What `scan` means, by the rules in this module's docstring."""
    refused = _screen(scan, rules)
    if refused is not None:
        return refused
    text = scan.text.strip(" ")
    for placeholder in rules.gs_placeholders:
        text = text.replace(placeholder, GS)
    symbology, data = _split_symbology(text, scan.symbology)
    if not data:
        detail = f"it holds only the symbology identifier {symbology}" if symbology else ""
        return _refuse(scan, Refusal.EMPTY, _nothing(scan, detail))
    if data[: len(COMMAND_PREFIX)].upper() == COMMAND_PREFIX:
        return _command(scan, data, symbology)

    match = NO_MATCH
    if catalogue is not None and _may_be_a_code(data, symbology):
        match = catalogue.identify(data)
    if match.badge:
        return Interpretation(scan, Kind.BADGE, code=data, symbology=symbology)
    if match.location:
        return Interpretation(scan, Kind.LOCATION, code=data, symbology=symbology)
    if match.receipt:
        return Interpretation(scan, Kind.RECEIPT, code=data, symbology=symbology)
    if match.order:
        return Interpretation(scan, Kind.ORDER, code=data, symbology=symbology)
    problem: Gs1Error | None = None
    try:
        fields = decode(data, symbology)
    except Gs1Error as error:
        problem, fields = error, None
    if fields is not None:
        return _goods(scan, data, fields, symbology, catalogue)
    if match.alias_sku is not None:
        return Interpretation(
            scan,
            Kind.ITEM,
            code=data,
            sku=match.alias_sku,
            pack=match.alias_pack,
            symbology=symbology,
        )
    if problem is not None:
        return _refuse(scan, problem.problem, f"Scanned {shown(scan.text)}: {problem.detail}")
    if catalogue is None:
        return _refuse(
            scan,
            Refusal.NO_CATALOGUE,
            f"Scanned {shown(scan.text)}: it is not a command, licence plate, GS1 barcode or "
            "GTIN, and without the warehouse catalogue it cannot be checked against badges, "
            "location labels and alias barcodes. Connect the station to its database, or scan "
            "another barcode.",
        )
    return _refuse(
        scan,
        Refusal.UNKNOWN_CODE,
        f"Scanned {shown(scan.text)}: it is not a command, a badge, a location label, a licence "
        "plate, a GS1 barcode, a GTIN or a registered alias barcode. Scan the item's GS1 or EAN "
        "barcode, or ask a supervisor to register this barcode.",
    )


def _goods(
    scan: Scan, data: str, fields: Gs1Data, symbology: str | None, catalogue: Catalogue | None
) -> Interpretation:
    gtin = fields.gtin or fields.content_gtin
    found = catalogue.barcode(_item_codes(gtin, data)) if catalogue is not None and gtin else None
    return Interpretation(
        scan,
        Kind.LPN if fields.sscc else Kind.ITEM,
        gtin=fields.gtin,
        lot=fields.lot,
        expiry=fields.expiry,
        best_before=fields.best_before,
        serial=fields.serial,
        count=fields.count,
        sscc=fields.sscc,
        content_gtin=fields.content_gtin,
        sku=found.sku if found else None,
        pack=found.pack if found else 1,
        symbology=symbology,
    )


def _item_codes(gtin: str, data: str) -> tuple[str, ...]:
    """Where the catalogue may hold the barcode of `gtin` (14 digits), in order: the GTIN, the
    digits as scanned, the GTIN's shorter forms (an old alias of a supplier's EAN-13)."""
    forms = gtin_forms(gtin) or (gtin,)
    scanned = (data,) if data.isascii() and data.isdigit() else ()
    return tuple(dict.fromkeys((forms[0], *scanned, *forms[1:])))


def _refuse(scan: Scan, reason: Refusal | Gs1Problem, message: str) -> Interpretation:
    return Interpretation(scan, Kind.INVALID, error=message, reason=reason)


def _nothing(scan: Scan, detail: str = "") -> str:
    what = f"Scanned {shown(scan.text)}: {detail}" if detail else "Nothing was scanned"
    return f"{what}. Scan the barcode again; if this keeps happening, check the scanner's setup."


# --- screening ----------------------------------------------------------------------------------

_ASCII_CONTROL = re.compile(r"[\x00-\x1c\x1e\x1f\x7f]")
_CONTROL_NAMES = {
    "\x00": "NUL",
    "\x04": "EOT (end of transmission)",
    "\x09": "TAB",
    "\x0a": "LF (line feed)",
    "\x0d": "CR (carriage return)",
    "\x1b": "ESC (escape)",
    "\x7f": "DEL",
}
_REFUSED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def _screen(scan: Scan, rules: ScanRules) -> Interpretation | None:
    text = scan.text
    if len(text) > rules.max_length:
        return _refuse(
            scan,
            Refusal.TOO_LONG,
            f"Scanned {shown(text)}: it is {len(text)} characters long, and a barcode the station "
            f"reads has at most {rules.max_length}. Scan one barcode at a time; if this was one "
            "barcode, it is not one the station uses.",
        )
    if not text.strip(" "):
        return _refuse(scan, Refusal.EMPTY, _nothing(scan, "it holds only spaces" if text else ""))
    control = _ASCII_CONTROL.search(text)
    if control is not None:
        return _refuse_character(scan, control.start())
    if not text.isascii():
        for position, ch in enumerate(text):
            if unicodedata.category(ch) in _REFUSED_CATEGORIES and ch != GS:
                return _refuse_character(scan, position)
    return None


def _refuse_character(scan: Scan, position: int) -> Interpretation:
    ch = scan.text[position]
    category = unicodedata.category(ch)
    where = f"at position {position + 1}"
    if category == "Cs":
        return _refuse(
            scan,
            Refusal.NOT_TEXT,
            f"Scanned {shown(scan.text)}: it holds a byte that is not UTF-8 text {where}. Check "
            "the scanner's character set and keyboard settings, then scan again.",
        )
    if category == "Cc":
        name = _CONTROL_NAMES.get(ch, f"0x{ord(ch):02X}")
        return _refuse(
            scan,
            Refusal.CONTROL_CHARACTER,
            f"Scanned {shown(scan.text)}: it holds the control character {name} {where}; a "
            "barcode may hold no control character but GS. Check the scanner's prefix and "
            "suffix settings, then scan again.",
        )
    name = unicodedata.name(ch, "unassigned" if category == "Cn" else "private use")
    return _refuse(
        scan,
        Refusal.INVISIBLE_CHARACTER,
        f"Scanned {shown(scan.text)}: it holds the invisible character U+{ord(ch):04X} {name} "
        f"{where}, which can make text look different from what it is. Scan the printed label "
        "again; if it happens again, show the label to a supervisor.",
    )


# --- symbology identifiers and codes ------------------------------------------------------------

_AIM_IDENTIFIER = re.compile(r"\][A-Za-z][0-9A-Za-z]")


def _split_symbology(text: str, from_device: str | None) -> tuple[str | None, str]:
    """The AIM symbology identifier (from the text, else from the device) and the data."""
    if _AIM_IDENTIFIER.match(text):
        return text[:3], text[3:]
    if from_device is not None and _AIM_IDENTIFIER.fullmatch(from_device):
        return from_device, text
    return None, text


def _may_be_a_code(data: str, symbology: str | None) -> bool:
    """Whether a badge, location or alias could be this text: not a GS1 symbol, no GS, short
    enough to be stored."""
    return symbology not in GS1_SYMBOLOGIES and GS not in data and len(data) <= MAX_CODE_LENGTH


# --- command barcodes ---------------------------------------------------------------------------

_QTY = re.compile(r"[0-9]{1,6}")


def _command(scan: Scan, data: str, symbology: str | None) -> Interpretation:
    name_text, has_arg, arg = data[len(COMMAND_PREFIX) :].partition(":")
    names = ", ".join(CommandName)
    try:
        name = CommandName(name_text.upper()) if name_text.isascii() else None
    except ValueError:
        name = None
    if name is None:
        return _refuse(
            scan,
            Refusal.UNKNOWN_COMMAND,
            f"Scanned {shown(scan.text)}: {shown(name_text)} is not a station command (the "
            f"commands are {names}). Scan a barcode from the printed command sheet.",
        )

    def bad(why: str) -> Interpretation:
        return _refuse(
            scan,
            Refusal.BAD_COMMAND_ARGUMENT,
            f"Scanned {shown(scan.text)}: {why}. Scan a barcode from the printed command sheet.",
        )

    if name is CommandName.QTY:
        if not _QTY.fullmatch(arg) or not 1 <= int(arg) <= MAX_QTY:
            return bad(
                f"QTY needs a whole number from 1 to {MAX_QTY}, like @CMD:QTY:12, not {shown(arg)}"
            )
        return _command_scan(scan, name, str(int(arg)), symbology)
    if name is CommandName.MODE:
        modes = ", ".join(StationMode)
        mode = arg.lower() if arg.isascii() else ""
        if mode not in set(StationMode):
            return bad(f"MODE needs one of {modes}, like @CMD:MODE:PICK, not {shown(arg)}")
        return _command_scan(scan, name, mode, symbology)
    if name is CommandName.REASON:
        known: list[StrEnum] = [*AdjustReason]
        known += [r for r in ReturnReason if r.value not in set(AdjustReason)]
        known += list(ReleaseReason)
        reasons = ", ".join(r.value.upper() for r in known)
        reason = arg.lower() if arg.isascii() else ""
        if reason not in {r.value for r in known}:
            return bad(f"REASON needs one of {reasons}, like @CMD:REASON:LOST, not {shown(arg)}")
        return _command_scan(scan, name, reason, symbology)
    if has_arg:
        return bad(f"the {name} command takes no value, but this one has {shown(arg)}")
    return _command_scan(scan, name, None, symbology)


def _command_scan(
    scan: Scan, name: CommandName, arg: str | None, symbology: str | None
) -> Interpretation:
    return Interpretation(scan, Kind.COMMAND, command=name, command_arg=arg, symbology=symbology)
