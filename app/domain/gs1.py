"""GS1 barcode data to the fields a station uses: GTIN, lot, expiry, best before, serial, count,
SSCC and content GTIN (DESIGN.md section 4).

biip parses; this module decides what a station accepts and, when it refuses, says which field
is wrong and why, in words a dock worker can act on. It reads element strings (after an AIM
identifier or a leading FNC1), human-readable text in brackets, GS1 Digital Link URIs and plain
EAN/UPC/GTIN and SSCC digits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from urllib.parse import parse_qs, unquote, urlsplit

from biip import ParseConfig, ParseError
from biip.checksums import gs1_standard_check_digit
from biip.gs1_application_identifiers import GS1ApplicationIdentifier
from biip.gs1_digital_link_uris import GS1DigitalLinkURI
from biip.gs1_element_strings import GS1ElementString
from biip.gs1_messages import GS1Message
from biip.gtin import Gtin

from app.domain.scan import GS

GS1_MESSAGE_SYMBOLOGIES = frozenset({"]C1", "]e0", "]e1", "]e2", "]d2", "]Q3", "]J1"})
"""AIM identifiers of symbols that carry GS1 element strings (FNC1 in first position)."""
EAN_UPC_SYMBOLOGIES = frozenset({"]E0", "]E3", "]E4", "]I1"})
"""AIM identifiers of symbols that carry a GTIN alone: EAN-13, UPC-A, UPC-E (also with an add-on),
EAN-8 and ITF-14."""
ADD_ON_SYMBOLOGIES = frozenset({"]E1", "]E2"})
GS1_SYMBOLOGIES = GS1_MESSAGE_SYMBOLOGIES | EAN_UPC_SYMBOLOGIES | ADD_ON_SYMBOLOGIES

GTIN_LENGTHS = (8, 12, 13, 14)
SSCC_LENGTH = 18

CONFIG = ParseConfig(separator_chars=(GS,))

DATE_AIS = frozenset({"11", "12", "13", "15", "16", "17"})
FIELD_NAMES = {
    "00": "SSCC",
    "01": "GTIN",
    "02": "content GTIN",
    "03": "GTIN",
    "10": "lot",
    "11": "production date",
    "12": "due date",
    "13": "packaging date",
    "15": "best before date",
    "16": "sell by date",
    "17": "expiry date",
    "21": "serial number",
    "30": "count",
    "37": "count",
}
INVALID_PAIRS = (
    ("01", "02"),
    ("01", "37"),
    ("01", "255"),
    ("01", "8006"),
    ("02", "255"),
    ("02", "8026"),
    ("21", "235"),
    ("37", "8006"),
    ("420", "421"),
)
"""AIs that must not appear together in one message (GS1 Barcode Syntax Dictionary, `ex=`)."""
REQUIRED_PAIRS = (
    ("02", ("37",)),
    ("37", ("02", "8026")),
)
"""An AI and the AIs one of which must come with it (GS1 Barcode Syntax Dictionary, `req=`): a
content GTIN (02) says which items a unit holds and the count (37) how many, so neither means
anything alone. Without an SSCC (00) the pair is a content label: that many of those items."""

_DIGITS = re.compile(r"[0-9]+")
_URL = re.compile(r"https?://", re.IGNORECASE)
_GS1_SHAPED = re.compile(r"00[0-9]{18}|0[1-3][0-9]{14}")
"""Without an AIM identifier, text that starts with an SSCC or a GTIN element string is GS1."""
_EMBEDDED_KEY = re.compile(r"(?=00[0-9]{18}|0[12][0-9]{14}|1[1-7][0-9]{6})")
"""Where a swallowed fixed-length element (SSCC, GTIN, a date) may start inside another field."""
_HRI_PAIR = re.compile(r"\(([0-9]+)\)([^(]+)")
_FORMAT_PART = re.compile(r"([NXYZ])(\.\.)?([0-9]+)")


class Gs1Problem(StrEnum):
    """Why a GS1 scan was refused."""

    NOT_A_GTIN = "not_a_gtin"
    CHECK_DIGIT = "check_digit"
    BAD_DATE = "bad_date"
    BAD_FIELD = "bad_field"
    FIELD_TOO_LONG = "field_too_long"
    NO_SEPARATOR = "no_separator"
    UNKNOWN_AI = "unknown_ai"
    DUPLICATE_AI = "duplicate_ai"
    INVALID_PAIR = "invalid_pair"
    MISSING_PAIR = "missing_pair"
    NO_KEY = "no_key"
    BAD_LINK = "bad_link"
    BAD_BRACKETS = "bad_brackets"
    ADD_ON_ONLY = "add_on_only"


class Gs1Error(ValueError):
    """The scan is GS1 data, but not data a station may accept; `detail` says why and what to do."""

    def __init__(self, problem: Gs1Problem, detail: str) -> None:
        super().__init__(detail)
        self.problem = problem
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Gs1Data:
    """What a GS1 scan says. GTINs are 14 digits; the SSCC is 18."""

    gtin: str | None = None
    lot: str | None = None
    expiry: date | None = None
    best_before: date | None = None
    serial: str | None = None
    count: int | None = None
    sscc: str | None = None
    content_gtin: str | None = None


def shown(text: str, limit: int = 48) -> str:
    """Scanned text as it may be shown to a person: quoted, with GS as <GS> and every other
    invisible or control character escaped (never raw), cut short after `limit` characters."""
    more = f"... ({len(text)} characters)" if len(text) > limit else ""
    return '"' + escaped(text[:limit]) + '"' + more


def escaped(text: str) -> str:
    """`text` with GS as <GS>, quotes and backslashes escaped, and every character that is not
    printable (controls, bidi and other format characters, surrogates) as a \\x/\\u escape."""
    out: list[str] = []
    for ch in text:
        if ch == GS:
            out.append("<GS>")
        elif ch in '"\\':
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x100:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return "".join(out)


def decode(data: str, symbology: str | None) -> Gs1Data | None:
    """The GS1 fields of `data` (the scan without its AIM identifier `symbology`).

    None when the text is not GS1 data at all (a location label, an alias, a word); Gs1Error
    when it is GS1 data that a station must refuse.
    """
    if symbology in ADD_ON_SYMBOLOGIES:
        raise Gs1Error(
            Gs1Problem.ADD_ON_ONLY,
            "this is only the small add-on barcode beside an EAN/UPC. "
            "Scan the main barcode of the item.",
        )
    if symbology in EAN_UPC_SYMBOLOGIES:
        return _plain_gtin(_without_add_on(data) if symbology == "]E3" else data)
    if _URL.match(data):
        return _link(data)
    if data.startswith("("):
        return _bracketed(data)
    if symbology in GS1_MESSAGE_SYMBOLOGIES or data.startswith(GS):
        return _message(data.lstrip(GS))
    if _DIGITS.fullmatch(data):
        if len(data) in GTIN_LENGTHS:
            return _plain_gtin(data)
        if len(data) == SSCC_LENGTH:
            return _plain_sscc(data)
        if _GS1_SHAPED.match(data):
            return _message(data)
        raise Gs1Error(
            Gs1Problem.NOT_A_GTIN,
            f"it is {len(data)} digits long, but a GTIN (EAN/UPC) has 8, 12, 13 or 14 digits and "
            "an SSCC 18. Scan it again, or scan another barcode on the item.",
        )
    if GS in data or _GS1_SHAPED.match(data):
        return _message(data)
    return None


# --- plain digits -------------------------------------------------------------------------------


def _without_add_on(data: str) -> str:
    """EAN-13/UPC-A with a 2- or 5-digit add-on (`]E3`): the GTIN is the first 13 digits."""
    return data[:13] if len(data) in (15, 18) else data


def _plain_gtin(digits: str) -> Gs1Data:
    if not _DIGITS.fullmatch(digits) or len(digits) not in GTIN_LENGTHS:
        raise Gs1Error(
            Gs1Problem.NOT_A_GTIN,
            f"an EAN/UPC barcode holds 8, 12, 13 or 14 digits, not {shown(digits)}. "
            "Scan it again, or type the number printed under the barcode.",
        )
    _check_digit("GTIN", digits)
    if not digits.strip("0"):
        raise Gs1Error(Gs1Problem.NOT_A_GTIN, "a GTIN of all zeros names no item. " + _RELABEL)
    try:
        return Gs1Data(gtin=Gtin.parse(digits, config=CONFIG).as_gtin_14())
    except ParseError as error:
        raise Gs1Error(Gs1Problem.NOT_A_GTIN, f"it is not a GTIN ({_reason(error)}).") from None


def _plain_sscc(digits: str) -> Gs1Data:
    _check_digit("SSCC", digits)
    return Gs1Data(sscc=digits)


def _check_digit(name: str, digits: str) -> None:
    expected = gs1_standard_check_digit(digits[:-1])
    if int(digits[-1]) != expected:
        raise Gs1Error(
            Gs1Problem.CHECK_DIGIT,
            f"the {name} {digits} has a wrong check digit ({digits[-1]}; it should be "
            f"{expected}). The label is damaged or was misread: scan it again, or type the number "
            "printed under the barcode.",
        )


# --- element strings ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Piece:
    element: GS1ElementString
    start: int
    """Where the element's value starts in the scanned data."""


def _message(data: str) -> Gs1Data:
    _require_ascii(data)
    pieces = _pieces(data)
    return _fields([p.element for p in pieces])


def _pieces(data: str, *, look_for_swallowing: bool = True) -> list[_Piece]:
    """Split element strings one at a time with biip, so that a failure names its field."""
    pieces: list[_Piece] = []
    pos = 0
    while pos < len(data):
        if data[pos] == GS:
            pos += 1
            continue
        rest = data[pos:]
        try:
            ai = GS1ApplicationIdentifier.extract(rest)
        except ParseError:
            if look_for_swallowing:
                _refuse_swallowed(data, pieces)
            raise _not_an_ai(pieces, pos, rest) from None
        try:
            element = GS1ElementString.extract(rest, config=CONFIG)
        except ParseError:
            if look_for_swallowing:
                _refuse_swallowed(data, pieces)
            raise _bad_value(ai, rest, GS) from None
        pieces.append(_Piece(element, pos + len(ai.ai)))
        pos += len(element)
    if look_for_swallowing:
        _refuse_swallowed(data, pieces)
    return pieces


def _refuse_swallowed(data: str, pieces: Sequence[_Piece]) -> None:
    """Refuse a variable-length field that holds what looks like the element after it.

    A variable-length field (lot, serial, count) ends at a GS; without one it runs on to the
    end of the data, swallowing the elements that follow. When such a field holds a complete,
    valid SSCC, GTIN or date element and everything after it parses too, a separator was lost:
    saying so beats guessing where the field ended (REFERENCE.md, GS1 parsing with biip).
    """
    for piece in pieces:
        element = piece.element
        if not element.ai.separator_required:
            continue
        end = piece.start + len(element.value)
        for match in _EMBEDDED_KEY.finditer(data, piece.start + 1):
            if match.start() >= end:
                break
            try:
                tail = _pieces(data[match.start() :], look_for_swallowing=False)
            except Gs1Error:
                continue
            found = tail[0].element
            if found.gtin_error or found.sscc_error:
                continue
            field = _field(element.ai.ai)
            swallowed = f"the {_field(found.ai.ai)} ({found.ai.ai}) {found.value}"
            if GS in data:
                advice = (
                    f"the separator (GS) after the {field} is missing from the barcode: the label "
                    f"is wrongly encoded. Enter the {field} by hand or ask for a correct label."
                )
            else:
                advice = (
                    "the scanner is not sending GS separators: set it up to send FNC1 as GS "
                    "(ASCII 29), then scan again."
                )
            raise Gs1Error(
                Gs1Problem.NO_SEPARATOR,
                f"the {field} ({element.ai.ai}) {shown(data[piece.start :])} runs on into what "
                f"looks like {swallowed}; {advice}",
            )


def _not_an_ai(pieces: Sequence[_Piece], pos: int, rest: str) -> Gs1Error:
    if not pieces:
        return Gs1Error(
            Gs1Problem.UNKNOWN_AI,
            f"a GS1 barcode starts with an application identifier, but this one starts "
            f"{shown(rest[:8])}. " + _RELABEL,
        )
    last = pieces[-1].element
    limit = _max_length(last.ai)
    full = last.ai.separator_required and len(last.value) == limit
    if full and pieces[-1].start + len(last.value) == pos:
        field = _field(last.ai.ai)
        return Gs1Error(
            Gs1Problem.FIELD_TOO_LONG,
            f"the {field} ({last.ai.ai}) is longer than {limit} characters, the most GS1 "
            f"allows. Enter the {field} by hand, or ask the supplier for a correct label.",
        )
    return Gs1Error(
        Gs1Problem.UNKNOWN_AI,
        f"after the {_field(last.ai.ai)} ({last.ai.ai}) {shown(last.value)} comes "
        f"{shown(rest[:12])}, which is not a GS1 application identifier. " + _RELABEL,
    )


def _bad_value(ai: GS1ApplicationIdentifier, text: str, stop: str | None) -> Gs1Error:
    """Why the element `text` (AI first, ending at `stop` if given) does not match its AI."""
    field = _field(ai.ai)
    raw = text[len(ai.ai) :]
    raw = raw.split(stop)[0] if stop else raw
    if ai.ai in DATE_AIS:
        return Gs1Error(
            Gs1Problem.BAD_DATE,
            f"the {field} ({ai.ai}) {shown(raw[:6])} is not a date (YYMMDD). The label is "
            "misprinted or was misread: scan it again, or enter the date by hand.",
        )
    if not raw:
        return Gs1Error(Gs1Problem.BAD_FIELD, f"the {field} ({ai.ai}) is empty. " + _RELABEL)
    limit = _max_length(ai)
    if ai.separator_required and len(raw) > limit:
        return Gs1Error(
            Gs1Problem.FIELD_TOO_LONG,
            f"the {field} ({ai.ai}) is {len(raw)} characters long; GS1 allows at most {limit}. "
            + _RELABEL,
        )
    return Gs1Error(
        Gs1Problem.BAD_FIELD,
        f"the {field} ({ai.ai}) must be {_describe(ai.format)}, not {shown(raw[:30])}. " + _RELABEL,
    )


# --- human-readable text and Digital Link URIs --------------------------------------------------


def _bracketed(data: str) -> Gs1Data:
    """Human-readable text: `(01)09506000134352(17)261231(10)ABC123`, spaces allowed."""
    _require_ascii(data)
    try:
        message = GS1Message.parse_hri(data, config=CONFIG)
    except ParseError:
        raise _bad_bracketed(data) from None
    if message.as_hri() != "".join(data.split()):
        raise Gs1Error(
            Gs1Problem.BAD_BRACKETS,
            "part of it is not (AI)value text, as printed under a GS1 barcode. "
            "Scan the barcode itself, or type the text exactly as printed.",
        )
    return _fields(message.element_strings)


def _bad_bracketed(data: str) -> Gs1Error:
    pairs = _HRI_PAIR.findall("".join(data.split()))
    for ai_number, value in pairs:
        ai = _ai(ai_number)
        if ai is None:
            return Gs1Error(
                Gs1Problem.UNKNOWN_AI,
                f"({ai_number}) is not a GS1 application identifier. " + _RELABEL,
            )
        try:
            GS1ElementString.parse(ai_number + value, config=CONFIG)
        except ParseError:
            return _bad_value(ai, ai_number + value, "(")
    return Gs1Error(
        Gs1Problem.BAD_BRACKETS,
        "text in brackets must be GS1 data as printed under a barcode: (AI)value(AI)value. "
        "Scan the barcode itself.",
    )


def _link(data: str) -> Gs1Data:
    _require_ascii(data)
    try:
        uri = GS1DigitalLinkURI.parse(data, config=CONFIG)
    except (ParseError, ValueError) as error:
        raise _bad_link(data, error) from None
    return _fields(uri.element_strings)


def _bad_link(data: str, error: Exception) -> Gs1Error:
    """Name the field of a Digital Link URI that biip could not parse, if one is to blame."""
    try:
        parts = urlsplit(data)
        query = [(key, values[-1]) for key, values in parse_qs(parts.query).items()]
    except ValueError:
        parts, query = None, []
    if parts is not None:
        path = parts.path.split("/")
        while path and _ai(path[0]) is None:
            path.pop(0)
        pairs = [(key, unquote(value)) for key, value in zip(path[::2], path[1::2], strict=False)]
        for key, value in pairs + query:
            ai = _ai(key)
            if ai is None:
                continue
            if key == "01" and _DIGITS.fullmatch(value):
                value = value.zfill(14)  # as biip does for a GTIN-8/12/13 in the path
            try:
                GS1ElementString.parse(key + value, config=CONFIG)
            except ParseError:
                return _bad_value(ai, key + value, None)
    return Gs1Error(
        Gs1Problem.BAD_LINK,
        f"it is a web address but not a GS1 Digital Link this station can read "
        f"({_reason(error)}). Scan the item's GS1 or EAN barcode instead.",
    )


# --- checks on a parsed message -----------------------------------------------------------------


def _fields(elements: Iterable[GS1ElementString]) -> Gs1Data:
    """The station's fields from parsed elements, after the checks biip leaves to its caller."""
    by_ai: dict[str, GS1ElementString] = {}
    for element in elements:
        ai = element.ai.ai
        if not element.value.isascii():
            raise Gs1Error(
                Gs1Problem.BAD_FIELD,
                f"the {_field(ai)} ({ai}) {shown(element.value)} holds characters GS1 does not "
                "allow. " + _RELABEL,
            )
        problem = element.gtin_error or element.sscc_error or element.gln_error
        if problem:
            _check_digit(_field(ai), element.value)
            raise Gs1Error(
                Gs1Problem.BAD_FIELD,
                f"the {_field(ai)} ({ai}) {element.value} is not valid ({escaped(problem)}). "
                + _RELABEL,
            )
        seen = by_ai.get(ai)
        if seen is not None and seen.value != element.value:
            raise Gs1Error(
                Gs1Problem.DUPLICATE_AI,
                f"it holds two different values for the {_field(ai)} ({ai}): {shown(seen.value)} "
                f"and {shown(element.value)}. " + _RELABEL,
            )
        by_ai[ai] = element
    for first, second in INVALID_PAIRS:
        if first in by_ai and second in by_ai:
            raise Gs1Error(
                Gs1Problem.INVALID_PAIR,
                f"GS1 forbids the {_field(first)} ({first}) and the {_field(second)} ({second}) "
                "in one barcode. " + _RELABEL,
            )
    if not by_ai:
        raise Gs1Error(
            Gs1Problem.NO_KEY, "it holds only separators (GS) and no GS1 data. " + _RELABEL
        )
    for ai, partners in REQUIRED_PAIRS:
        if ai in by_ai and not by_ai.keys() & set(partners):
            raise Gs1Error(Gs1Problem.MISSING_PAIR, _MISSING[ai] + _RELABEL)
    if not by_ai.keys() & {"00", "01", "02", "03"}:
        held = ", ".join(f"{_field(ai)} ({ai})" for ai in by_ai)
        raise Gs1Error(
            Gs1Problem.NO_KEY,
            f"this GS1 barcode holds {held} but no GTIN (01), content GTIN (02) or SSCC (00), so "
            "it does not say which item or unit it is. Scan the item's main barcode.",
        )
    for ai in ("01", "02", "03"):
        if ai in by_ai and not by_ai[ai].value.strip("0"):
            raise Gs1Error(
                Gs1Problem.NOT_A_GTIN,
                f"a {_field(ai)} ({ai}) of all zeros names no item. " + _RELABEL,
            )
    count = by_ai.get("37") or by_ai.get("30")
    if count is not None and not count.value:
        raise Gs1Error(Gs1Problem.BAD_FIELD, f"the count ({count.ai.ai}) is empty. " + _RELABEL)
    return Gs1Data(
        gtin=_gtin14(by_ai.get("01") or by_ai.get("03")),
        lot=_value(by_ai.get("10")),
        expiry=_date(by_ai.get("17")),
        best_before=_date(by_ai.get("15")),
        serial=_value(by_ai.get("21")),
        count=int(count.value) if count is not None else None,
        sscc=_value(by_ai.get("00")),
        content_gtin=_gtin14(by_ai.get("02")),
    )


_MISSING = {
    "02": "the content GTIN (02) says which items a unit holds, and GS1 requires the count (37) "
    "of them beside it; this barcode has no count. ",
    "37": "the count (37) says how many items of the content GTIN (02) a unit holds, and this "
    "barcode has no content GTIN. ",
}


def gtin_forms(gtin: str) -> tuple[str, ...]:
    """The ways the 14-digit `gtin` may be written, longest first: the 14 digits, then the EAN-13,
    UPC-A (12) and EAN-8 its leading zeros allow. Old catalogue data may hold a GTIN in any of
    them, as an alias barcode. None for text that is not 14 digits."""
    if len(gtin) != 14 or not _DIGITS.fullmatch(gtin):
        return ()
    forms = [gtin]
    for length in (13, 12, 8):
        if not gtin[: 14 - length].strip("0"):
            forms.append(gtin[14 - length :])
    return tuple(forms)


def _gtin14(element: GS1ElementString | None) -> str | None:
    return element.gtin.as_gtin_14() if element is not None and element.gtin else None


def _value(element: GS1ElementString | None) -> str | None:
    return element.value if element is not None else None


def _date(element: GS1ElementString | None) -> date | None:
    return element.date if element is not None else None


# --- wording ------------------------------------------------------------------------------------

_RELABEL = "The label is wrongly encoded or was misread: scan it again, or ask for a correct label."


def _require_ascii(data: str) -> None:
    odd = next((ch for ch in data if not ch.isascii()), None)
    if odd is not None:
        raise Gs1Error(
            Gs1Problem.BAD_FIELD,
            f"it holds the character {shown(odd)} (U+{ord(odd):04X}), which a GS1 barcode "
            "cannot hold. " + _RELABEL,
        )


def _field(ai: str) -> str:
    known = FIELD_NAMES.get(ai)
    if known is not None:
        return known
    entry = _ai(ai)
    return entry.description[:1].lower() + entry.description[1:] if entry else f"field {ai}"


def _ai(number: str) -> GS1ApplicationIdentifier | None:
    """The application identifier numbered exactly `number`, if GS1 defines one."""
    try:
        ai = GS1ApplicationIdentifier.extract(number)
    except ParseError:
        return None
    return ai if ai.ai == number else None


def _max_length(ai: GS1ApplicationIdentifier) -> int:
    return sum(int(m.group(3)) for m in _FORMAT_PART.finditer(ai.format.split("+", 1)[-1]))


def _describe(fmt: str) -> str:
    """`N2+X..20` -> "up to 20 letters, digits or GS1 symbols"."""
    words = []
    for kind, variable, size in _FORMAT_PART.findall(fmt.split("+", 1)[-1]):
        what = "digits" if kind == "N" else "letters, digits or GS1 symbols"
        words.append(f"{'up to ' if variable else ''}{size} {what}")
    return " then ".join(words) or fmt


def _reason(error: Exception) -> str:
    text = str(error).rstrip(".")[:160]
    return escaped(text) if text else type(error).__name__
