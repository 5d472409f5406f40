"""Interpretation of scans: every rule of domain/interpret.py and domain/gs1.py, and every case of
the shared GS1 corpus. What is checked is what a station shows: the kind, the fields, and for a
refusal its reason and a message that quotes the scan safely and says what to do."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from app.domain.gs1 import Gs1Problem, shown
from app.domain.interpret import (
    Barcode,
    CodeMatch,
    CommandName,
    Interpretation,
    Kind,
    Refusal,
    ScanRules,
    StationMode,
    interpret,
)
from app.domain.scan import GS, Scan, Source

CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "corpus"
CASES: list[dict[str, Any]] = [
    json.loads(line)
    for line in (CORPUS / "gs1" / "cases.jsonl").read_text(encoding="utf-8").splitlines()
    if line.strip()
]
FIELDS = ("gtin", "lot", "expiry", "best_before", "serial", "count", "sscc", "content_gtin")
FULL = "]C101095060001343521726123110ABC123" + GS + "21SN42"
FULL_FIELDS = {"gtin": "09506000134352", "expiry": "2026-12-31", "lot": "ABC123", "serial": "SN42"}


@dataclass
class Codes:
    """The warehouse's codes, in memory; records what it was asked."""

    badges: set[str] = field(default_factory=lambda: {"D1", "S1"})
    locations: set[str] = field(default_factory=lambda: {"A-01-01", "DOCK-1", "Büro-1"})
    aliases: dict[str, str] = field(default_factory=lambda: {"BOLT-ALIAS": "BOLT"})
    gtins: dict[str, str] = field(default_factory=lambda: {"05901234123457": "WIDGET"})
    packs: dict[str, int] = field(default_factory=dict)
    """Barcodes (GTINs or aliases) that stand for more than one unit."""
    asked: list[str] = field(default_factory=list)

    def identify(self, code: str) -> CodeMatch:
        self.asked.append(code)
        pack = self.packs.get(code, 1) if code in self.aliases else 1
        return CodeMatch(
            code in self.badges, code in self.locations, self.aliases.get(code), alias_pack=pack
        )

    def barcode(self, codes: Sequence[str]) -> Barcode | None:
        for code in codes:
            if code in self.gtins:
                return Barcode(code, self.gtins[code], self.packs.get(code, 1))
            if code in self.aliases:
                return Barcode(code, self.aliases[code], self.packs.get(code, 1), "alias")
        return None


def scan(text: str, catalogue: Codes | None = None, **options: Any) -> Interpretation:
    symbology = options.pop("symbology", None)
    rules = ScanRules(**options) if options else ScanRules()
    return interpret(Scan(text, Source.WEDGE, "test", symbology), catalogue, rules)


def fields(meaning: Interpretation) -> dict[str, Any]:
    found = {name: getattr(meaning, name) for name in FIELDS}
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in found.items() if v}


def refused(meaning: Interpretation, reason: Refusal | Gs1Problem) -> str:
    """The refusal's message, after checking it is a refusal for `reason` that a person can read."""
    assert meaning.kind is Kind.INVALID, fields(meaning)
    assert meaning.reason is reason, meaning.error
    message = meaning.error or ""
    assert message.isprintable(), message  # no raw control, bidi or other invisible characters
    assert message.startswith(f"Scanned {shown(meaning.scan.text)}: ") or (
        reason is Refusal.EMPTY and message.startswith("Nothing was scanned")
    )
    return message


# --- the shared corpus --------------------------------------------------------------------------

CORPUS_REFUSALS = {
    "]C1010950600013435310X": Gs1Problem.CHECK_DIGIT,
    "]C1010950600013435217261331": Gs1Problem.BAD_DATE,
    "5901234123458": Gs1Problem.CHECK_DIGIT,
    "]C100106141412345678907": Gs1Problem.CHECK_DIGIT,
    "]C1010950600013435210AAAAAAAAAAAAAAAAAAAAA": Gs1Problem.FIELD_TOO_LONG,
}


def test_the_corpus_is_all_there() -> None:
    assert len(CASES) >= 17
    assert {c["scan"] for c in CASES if c["expect"] == "invalid"} == set(CORPUS_REFUSALS)


@pytest.mark.parametrize("case", CASES, ids=[f"{n}:{c['scan']!r}" for n, c in enumerate(CASES)])
def test_corpus_case(case: dict[str, Any]) -> None:
    meaning = scan(case["scan"])
    if case["expect"] == "invalid":
        refused(meaning, CORPUS_REFUSALS[case["scan"]])
    else:
        assert fields(meaning) == case["expect"]
        assert meaning.kind is (Kind.LPN if "sscc" in case["expect"] else Kind.ITEM)
        assert meaning.error is None and meaning.accepted


def test_corpus_refusals_name_the_field_and_the_fix() -> None:
    messages = {text: scan(text).error or "" for text in CORPUS_REFUSALS}
    assert (
        "GTIN 09506000134353 has a wrong check digit (3; it should be 2)"
        in messages["]C1010950600013435310X"]
    )
    assert 'the expiry date (17) "261331" is not a date' in messages["]C1010950600013435217261331"]
    assert "SSCC 106141412345678907 has a wrong check digit" in messages["]C100106141412345678907"]
    assert (
        "the lot (10) is longer than 20 characters"
        in messages["]C1010950600013435210AAAAAAAAAAAAAAAAAAAAA"]
    )
    assert all("scan it again" in m or "by hand" in m for m in messages.values())


# --- separators and symbology identifiers -------------------------------------------------------

SAME_SCAN = [
    "]C1010950600013435210LOT7" + GS + "1726123121XYZ",
    "]C1010950600013435210LOT7<GS>1726123121XYZ",
    "]C1010950600013435210LOT7{GS}1726123121XYZ",
    GS + "010950600013435210LOT7" + GS + "1726123121XYZ",  # leading FNC1 sent as GS
    "010950600013435210LOT7" + GS + "1726123121XYZ" + GS,  # no identifier, trailing GS
    "]d2010950600013435210LOT7" + GS + GS + "1726123121XYZ",  # doubled GS
    "(01)09506000134352(10)LOT7(17)261231(21)XYZ",
    "(01) 09506000134352 (10) LOT7 (17) 261231 (21) XYZ",
    "https://id.gs1.org/01/09506000134352/10/LOT7/21/XYZ?17=261231",
    " ]Q3010950600013435210LOT7" + GS + "1726123121XYZ ",  # surrounding spaces
]


@pytest.mark.parametrize("text", SAME_SCAN)
def test_every_form_of_a_gs1_code_reads_the_same(text: str) -> None:
    meaning = scan(text)
    assert meaning.kind is Kind.ITEM
    assert fields(meaning) == {
        "gtin": "09506000134352",
        "lot": "LOT7",
        "expiry": "2026-12-31",
        "serial": "XYZ",
    }


def test_a_configured_placeholder_becomes_gs() -> None:
    text = "]C1010950600013435210LOT7~1726123121XYZ"
    assert 'after the lot (10) "LOT7" comes "~1726123121X"' in refused(
        scan(text), Gs1Problem.UNKNOWN_AI
    )
    assert fields(scan(text, gs_placeholders=("<GS>", "{GS}", "~")))["lot"] == "LOT7"


@pytest.mark.parametrize("placeholder", ["", GS, " <GS>"])
def test_placeholders_must_be_visible_text(placeholder: str) -> None:
    with pytest.raises(ValueError, match="placeholder"):
        ScanRules(gs_placeholders=(placeholder,))


@pytest.mark.parametrize(
    ("text", "gtin"),
    [
        ("]E05901234123457", "05901234123457"),
        ("]E0036000291452", "00036000291452"),
        ("]E496385074", "00000096385074"),
        ("]E3590123412345712", "05901234123457"),  # with a 2-digit add-on
        ("]E3590123412345712345", "05901234123457"),  # with a 5-digit add-on
        ("]I109506000134352", "09506000134352"),
        ("]C05901234123457", "05901234123457"),  # Code 128 without FNC1: plain digits still
    ],
)
def test_ean_upc_identifiers(text: str, gtin: str) -> None:
    meaning = scan(text)
    assert (meaning.kind, meaning.gtin, meaning.symbology) == (Kind.ITEM, gtin, text[:3])


def test_an_add_on_alone_is_refused() -> None:
    assert "add-on" in refused(scan("]E212345"), Gs1Problem.ADD_ON_ONLY)


def test_letters_in_an_ean_are_refused() -> None:
    assert "8, 12, 13 or 14 digits" in refused(scan("]E0590123412345A"), Gs1Problem.NOT_A_GTIN)


def test_the_device_symbology_is_used_when_the_text_has_none() -> None:
    meaning = scan("0109506000134352", symbology="]d2")
    assert (meaning.gtin, meaning.symbology) == ("09506000134352", "]d2")
    assert scan("0109506000134352", symbology="DataMatrix").symbology is None


def test_only_an_identifier_is_nothing() -> None:
    assert "only the symbology identifier ]C1" in refused(scan("]C1"), Refusal.EMPTY)


# --- GS1 rules ----------------------------------------------------------------------------------


def test_a_lost_separator_is_reported_as_the_scanners_setup() -> None:
    message = refused(scan("]C1010950600013435210LOT71726123121XYZ"), Gs1Problem.NO_SEPARATOR)
    assert "the lot (10)" in message and "the expiry date (17) 261231" in message
    assert "the scanner is not sending GS separators: set it up to send FNC1 as GS" in message


def test_a_count_that_swallows_a_date_is_reported() -> None:
    text = "]C1001061414123456789080209506000134352371215270101"
    message = refused(scan(text), Gs1Problem.NO_SEPARATOR)
    assert "the count (37)" in message and "best before date (15) 270101" in message


def test_a_separator_missing_from_the_label_is_the_labels_fault() -> None:
    text = "]C1010950600013435210LOT717261231" + GS + "21XYZ"
    message = refused(scan(text), Gs1Problem.NO_SEPARATOR)
    assert "the separator (GS) after the lot is missing from the barcode" in message


@pytest.mark.parametrize("lot", ["LOT2104", "AB1726", "1726123", "L17261231X"])
def test_lots_with_digits_are_not_mistaken_for_swallowed_fields(lot: str) -> None:
    assert fields(scan("]C1010950600013435210" + lot))["lot"] == lot


@pytest.mark.parametrize(
    ("text", "reason", "words"),
    [
        ("]C10109506000134352020950600013435237" + "5", Gs1Problem.INVALID_PAIR, "(01) and"),
        ("]C10109506000134352" + "3712", Gs1Problem.INVALID_PAIR, "count (37)"),
        ("]C1010950600013435210A" + GS + "10B", Gs1Problem.DUPLICATE_AI, '"A" and "B"'),
        ("]C11726123110ABC", Gs1Problem.NO_KEY, "no GTIN (01)"),
        ("]C10109506000134352" + GS + "ZZ", Gs1Problem.UNKNOWN_AI, 'comes "ZZ"'),
        ("]C1ABC", Gs1Problem.UNKNOWN_AI, 'starts "ABC"'),
        ("]C1019506000134352", Gs1Problem.BAD_FIELD, "must be 14 digits"),
        ("]C1010950600013435210" + GS + "17261231", Gs1Problem.BAD_FIELD, "lot (10) is empty"),
        ("]C1010950600013435221" + "S" * 21, Gs1Problem.FIELD_TOO_LONG, "serial number (21)"),
        ("(01)09506000134352(10)" + "A" * 25, Gs1Problem.FIELD_TOO_LONG, "25 characters"),
        ("(01)09506000134352(", Gs1Problem.BAD_BRACKETS, "(AI)value"),
        ("(01)09506000134352(17)260230", Gs1Problem.BAD_DATE, '"260230" is not a date'),
        ("(01)09506000134352(98765)X", Gs1Problem.UNKNOWN_AI, "(98765) is not"),
        ("]C10100000000000000", Gs1Problem.NOT_A_GTIN, "all zeros"),
        (GS + GS, Gs1Problem.NO_KEY, "only separators"),
    ],
)
def test_gs1_refusals(text: str, reason: Gs1Problem, words: str) -> None:
    assert words in refused(scan(text), reason)


def test_identical_repeated_fields_are_accepted() -> None:
    assert fields(scan("]C1010950600013435210A" + GS + "10A"))["lot"] == "A"


def test_an_sscc_with_its_contents_is_a_licence_plate() -> None:
    meaning = scan("(00)106141412345678908(02)09506000134352(37)12(10)L1")
    assert meaning.kind is Kind.LPN
    assert fields(meaning) == {
        "sscc": "106141412345678908",
        "content_gtin": "09506000134352",
        "count": 12,
        "lot": "L1",
    }


def test_contents_without_an_sscc_are_an_item_with_a_count() -> None:
    meaning = scan("]C10209506000134352" + "3724")
    assert (meaning.kind, meaning.content_gtin, meaning.count, meaning.gtin) == (
        Kind.ITEM,
        "09506000134352",
        24,
        None,
    )


@pytest.mark.parametrize(
    ("text", "reason", "words"),
    [
        ("https://id.gs1.org/01/09506000134353", Gs1Problem.CHECK_DIGIT, "check digit"),
        ("https://id.gs1.org/01/09506000134352?17=261331", Gs1Problem.BAD_DATE, "261331"),
        ("https://example.com/about", Gs1Problem.BAD_LINK, "primary identifier"),
        ("https://id.gs1.org/01/09506000134352/10/AB%E2%80%AEC", Gs1Problem.BAD_FIELD, "\\u202e"),
        ("https://id.gs1.org/01/09506000134352/10/AB%1DC", Gs1Problem.BAD_FIELD, "<GS>"),
        ("https://[oops/01/09506000134352", Gs1Problem.BAD_LINK, "IPv6"),
    ],
)
def test_digital_link_refusals(text: str, reason: Gs1Problem, words: str) -> None:
    assert words in refused(scan(text), reason)


# --- plain EAN/UPC/GTIN and SSCC ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "gtin"),
    [
        ("96385074", "00000096385074"),
        ("036000291452", "00036000291452"),
        ("5901234123457", "05901234123457"),
        ("09506000134352", "09506000134352"),
    ],
)
def test_plain_gtins_become_14_digits(text: str, gtin: str) -> None:
    assert (scan(text).kind, scan(text).gtin) == (Kind.ITEM, gtin)


def test_a_bare_sscc_is_a_licence_plate() -> None:
    assert (scan("106141412345678908").kind, scan("106141412345678908").sscc) == (
        Kind.LPN,
        "106141412345678908",
    )
    refused(scan("106141412345678907"), Gs1Problem.CHECK_DIGIT)


def test_digits_of_no_gtin_length_are_refused_with_the_lengths() -> None:
    message = refused(scan("1234567890"), Gs1Problem.NOT_A_GTIN)
    assert "10 digits long" in message and "8, 12, 13 or 14 digits" in message


@pytest.mark.parametrize(
    "text", ["٥٩٠١٢٣٤١٢٣٤٥٧", "５９０１２３４１２３４５７", "01٠٩٥٠٦٠٠٠١٣٤٣٥٢"]
)
def test_digits_of_other_scripts_are_not_a_gtin(text: str) -> None:
    codes = Codes()
    assert scan(text, codes).kind is Kind.INVALID
    assert scan("]C1" + text).kind is Kind.INVALID


# --- command barcodes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [c for c in CommandName if c not in (CommandName.QTY, CommandName.MODE, CommandName.REASON)],
)
def test_plain_commands(name: CommandName) -> None:
    for text in (f"@CMD:{name.value}", f"@cmd:{name.value.lower()}", f"]C0@CMD:{name.value}"):
        meaning = scan(text)
        assert (meaning.kind, meaning.command, meaning.command_arg) == (Kind.COMMAND, name, None)


def test_quantity_commands() -> None:
    assert scan("@CMD:QTY:12").quantity == 12
    assert (scan("@CMD:QTY:007").command_arg, scan("@CMD:QTY:999999").quantity) == ("7", 999999)


@pytest.mark.parametrize("arg", ["", "0", "1000000", "-1", "1.5", "12a", " 12", "١٢", "1e3"])
def test_bad_quantities_are_refused(arg: str) -> None:
    message = refused(scan(f"@CMD:QTY:{arg}"), Refusal.BAD_COMMAND_ARGUMENT)
    assert "QTY needs a whole number from 1 to 999999" in message
    assert scan("@CMD:QTY").reason is Refusal.BAD_COMMAND_ARGUMENT


@pytest.mark.parametrize("mode", list(StationMode))
def test_mode_commands(mode: StationMode) -> None:
    for text in (f"@CMD:MODE:{mode.value.upper()}", f"@CMD:MODE:{mode.value}"):
        meaning = scan(text)
        assert (meaning.command, meaning.command_arg) == (CommandName.MODE, mode.value)


@pytest.mark.parametrize("reason", ["LOST", "damaged", "Count"])
def test_reason_commands(reason: str) -> None:
    meaning = scan(f"@CMD:REASON:{reason}")
    assert (meaning.command, meaning.command_arg) == (CommandName.REASON, reason.lower())


@pytest.mark.parametrize("arg", ["", "STOLEN", "LOST:2", "LOṠT"])
def test_bad_reasons_are_refused(arg: str) -> None:
    message = refused(scan(f"@CMD:REASON:{arg}"), Refusal.BAD_COMMAND_ARGUMENT)
    assert "REASON needs one of COUNT, DAMAGED, FOUND, LOST, EXPIRED, CORRECTION" in message


@pytest.mark.parametrize("arg", ["", "PACK", "PİCK", "PICK:2"])
def test_bad_modes_are_refused(arg: str) -> None:
    message = refused(scan(f"@CMD:MODE:{arg}"), Refusal.BAD_COMMAND_ARGUMENT)
    assert "receive, putaway, pick, count, transfer, return" in message


def test_commands_without_a_value_refuse_one() -> None:
    assert "DONE command takes no value" in refused(
        scan("@CMD:DONE:1"), Refusal.BAD_COMMAND_ARGUMENT
    )


@pytest.mark.parametrize("text", ["@CMD:FOO", "@CMD:", "@CMD:DONE\u0131"])
def test_unknown_commands_list_the_known_ones(text: str) -> None:
    assert "DONE, CANCEL, CONFIRM" in refused(scan(text), Refusal.UNKNOWN_COMMAND)


def test_commands_come_before_the_catalogue() -> None:
    codes = Codes(badges={"@CMD:DONE"})
    assert scan("@CMD:DONE", codes).kind is Kind.COMMAND and codes.asked == []


# --- the catalogue ------------------------------------------------------------------------------


def test_badges_locations_and_aliases() -> None:
    codes = Codes()
    assert (scan("D1", codes).kind, scan("D1", codes).code) == (Kind.BADGE, "D1")
    assert (scan("A-01-01", codes).kind, scan("]C0A-01-01", codes).code) == (
        Kind.LOCATION,
        "A-01-01",
    )
    assert scan("Büro-1", codes).kind is Kind.LOCATION
    alias = scan("BOLT-ALIAS", codes)
    assert (alias.kind, alias.sku, alias.code, alias.gtin) == (
        Kind.ITEM,
        "BOLT",
        "BOLT-ALIAS",
        None,
    )


def test_the_order_badge_location_gs1_alias() -> None:
    both = Codes(badges={"X1"}, locations={"X1", "5901234123457"}, aliases={"5901234123458": "W"})
    assert scan("X1", both).kind is Kind.BADGE
    assert scan("5901234123457", both).kind is Kind.LOCATION  # a label before a GTIN
    alias = scan("5901234123458", both)  # not a GTIN (check digit), but a registered alias
    assert (alias.kind, alias.sku) == (Kind.ITEM, "W")
    plain = Codes(aliases={"5901234123457": "OTHER"}, gtins={})
    gtin = scan("5901234123457", plain)  # a valid GTIN is a GTIN; old data has it as an alias
    assert (gtin.kind, gtin.gtin, gtin.sku) == (Kind.ITEM, "05901234123457", "OTHER")


def test_gtins_are_resolved_to_skus_when_known() -> None:
    codes = Codes()
    assert scan("5901234123457", codes).sku == "WIDGET"
    assert (scan("09506000134352", codes).kind, scan("09506000134352", codes).sku) == (
        Kind.ITEM,
        None,
    )


def test_unknown_words_with_and_without_a_catalogue() -> None:
    message = refused(scan("HELLO", Codes()), Refusal.UNKNOWN_CODE)
    assert "not a command, a badge, a location label" in message and "register" in message
    message = refused(scan("A-01-01"), Refusal.NO_CATALOGUE)
    assert "without the warehouse catalogue" in message


def test_gs1_symbols_long_texts_and_texts_with_gs_are_never_looked_up() -> None:
    codes = Codes()
    for text in (FULL, "]E05901234123457", "A" * 65, "AB" + GS + "C"):
        scan(text, codes)
    scan("A" * 64, codes)
    assert codes.asked == ["A" * 64]


# --- hostile text -------------------------------------------------------------------------------


def test_length_cap() -> None:
    assert scan("A" * 256, Codes()).reason is Refusal.UNKNOWN_CODE
    message = refused(scan("A" * 257, Codes()), Refusal.TOO_LONG)
    assert "257 characters long" in message and "at most 256" in message
    assert message.startswith('Scanned "' + "A" * 48 + '"... (257 characters): ')
    assert scan("5901234123457", max_length=12).reason is Refusal.TOO_LONG


CONTROLS = [chr(c) for c in (*range(0x20), 0x7F, 0x85, 0x9B) if chr(c) != GS]


@pytest.mark.parametrize("char", CONTROLS, ids=[f"0x{ord(c):02X}" for c in CONTROLS])
def test_control_characters_are_refused(char: str) -> None:
    codes = Codes()
    message = refused(scan("59012341" + char + "23457", codes), Refusal.CONTROL_CHARACTER)
    assert "at position 9" in message and "prefix and suffix" in message
    assert codes.asked == []


def test_control_characters_are_named() -> None:
    assert "CR (carriage return)" in scan("A-01-01\r").error  # type: ignore[operator]
    assert "TAB" in scan("A\t").error  # type: ignore[operator]


INVISIBLE = [
    *(chr(c) for c in range(0x202A, 0x202F)),
    *(chr(c) for c in range(0x2066, 0x206A)),
    "\u200b",
    "\u200d",
    "\ufeff",
    "\u00ad",
    "\u2028",
    "\ue000",
    "\u0378",
]


@pytest.mark.parametrize("char", INVISIBLE, ids=[f"U+{ord(c):04X}" for c in INVISIBLE])
def test_invisible_characters_are_refused(char: str) -> None:
    codes = Codes()
    message = refused(scan("A-01" + char + "-01", codes), Refusal.INVISIBLE_CHARACTER)
    assert f"U+{ord(char):04X}" in message and shown(char)[1:-1] in message
    assert "at position 5" in message and codes.asked == []


def test_a_bidi_override_is_named() -> None:
    message = scan("\u202eA-01-01").error or ""
    assert "U+202E RIGHT-TO-LEFT OVERRIDE" in message and "\u202e" not in message


def test_bytes_that_were_not_utf8_are_refused() -> None:
    assert "not UTF-8" in refused(scan("A\udcff"), Refusal.NOT_TEXT)


@pytest.mark.parametrize("text", ["", " ", "   "])
def test_nothing_is_refused(text: str) -> None:
    refused(scan(text), Refusal.EMPTY)


def test_sql_is_only_text() -> None:
    codes = Codes()
    text = "'; DROP TABLE skus; --"
    message = refused(scan(text, codes), Refusal.UNKNOWN_CODE)
    assert codes.asked == [text]  # handed to the lookup as a value, exactly as scanned
    assert message.startswith(f'Scanned "{text}": ')


def test_shown_quotes_and_escapes() -> None:
    assert shown('a"b\\c' + GS + "\u202e\x00") == '"a\\"b\\\\c<GS>\\u202e\\x00"'
    assert shown("x" * 50, 4) == '"xxxx"... (50 characters)'
    assert shown("\U0001f600\U000e0001") == '"\U0001f600\\U000e0001"'


def test_every_accepted_scan_has_no_error() -> None:
    for text in (FULL, "D1", "@CMD:DONE", "106141412345678908"):
        meaning = scan(text, Codes())
        assert meaning.accepted and meaning.error is None and meaning.reason is None
    assert fields(scan(FULL)) == FULL_FIELDS
