"""The rules of an import without a database: one namespace of codes, the characters a code may
hold, invisible characters, numbers within the database's range (app/domain/import_rules.py),
as the parsers of services/importing.py apply them to a file, line by line."""

from __future__ import annotations

from collections.abc import Collection

import pytest

from app.domain.import_rules import (
    LARGEST_NUMBER,
    CodeKind,
    Holder,
    NewCode,
    clashes,
    code_problem,
    codes_to_look_up,
    scan_forms,
    scan_key,
    text_problem,
    whole_number,
)
from app.services.importing import (
    ImportRules,
    Lookup,
    parse_locations,
    parse_operators,
    parse_orders,
    parse_receipts,
    parse_skus,
    parse_stations,
)


def nothing(codes: Collection[str]) -> list[Holder]:
    return []


def database(*held: Holder) -> tuple[list[Collection[str]], Lookup]:
    """A fake `holders` answering from `held`, recording what it was asked."""
    asked: list[Collection[str]] = []

    def lookup(codes: Collection[str]) -> list[Holder]:
        asked.append(codes)
        return [h for h in held if h.code in codes]

    return asked, lookup


# --- characters -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("DOCK-1", None),
        ("a.b_c/d-9", None),
        (
            "D\u200b1",
            '"D\\u200b1" holds the invisible character U+200B ZERO WIDTH SPACE at position 2; '
            "a code holds only the letters A-Z and a-z, the digits 0-9 and - . _ /",
        ),
        (
            "\ufeffD1",
            '"\\ufeffD1" holds the invisible character U+FEFF ZERO WIDTH NO-BREAK SPACE at '
            "position 1; a code holds only the letters A-Z and a-z, the digits 0-9 and - . _ /",
        ),
        (
            "D1\u00a0",
            '"D1\\xa0" holds the invisible character U+00A0 NO-BREAK SPACE at position 3; '
            "a code holds only the letters A-Z and a-z, the digits 0-9 and - . _ /",
        ),
        (
            "SKU-\u0667",
            '"SKU-\u0667" holds the digit \u0667 (U+0667 ARABIC-INDIC DIGIT SEVEN) at position 5, '
            "which is not one of 0-9; a code holds only the letters A-Z and a-z, the digits 0-9 "
            "and - . _ /",
        ),
        (
            "A 1",
            '"A 1" holds a space at position 2; a code holds only the letters A-Z and a-z, the '
            "digits 0-9 and - . _ /",
        ),
        (
            "CAFÉ",
            '"CAFÉ" holds the character É (U+00C9 LATIN CAPITAL LETTER E WITH ACUTE) at position '
            "4; a code holds only the letters A-Z and a-z, the digits 0-9 and - . _ /",
        ),
    ],
)
def test_a_code_holds_ascii_letters_digits_and_a_few_marks(code: str, problem: str | None) -> None:
    assert code_problem(code) == problem


def test_the_extra_characters_of_a_code_are_configurable() -> None:
    assert code_problem("BIN#4") is not None
    assert code_problem("BIN#4", extra="-._/#") is None
    assert code_problem("A.1", extra="") == (
        '"A.1" holds the character . (U+002E FULL STOP) at position 2; a code holds only the '
        "letters A-Z and a-z, the digits 0-9"
    )
    rules = ImportRules(code_extra="-#")
    assert parse_locations("code,kind\nBIN#4,bin\n", nothing, rules).ok
    assert parse_locations("code,kind\nBIN#4,bin\n", nothing).errors == [
        'line 2: code "BIN#4" holds the character # (U+0023 NUMBER SIGN) at position 4; a code '
        "holds only the letters A-Z and a-z, the digits 0-9 and - . _ /"
    ]


def test_names_may_be_any_visible_text_but_nothing_invisible() -> None:
    assert text_problem("Crème brûlée 6 mm") is None
    assert text_problem("Sue\u200dSupervisor") == (
        '"Sue\\u200dSupervisor" holds the invisible character U+200D ZERO WIDTH JOINER at '
        "position 4; retype it"
    )


# --- numbers ----------------------------------------------------------------------------------


def refusal(value: str, column: str = "qty", noun: str = "quantity", minimum: int = 1) -> str:
    with pytest.raises(ValueError) as refused:
        whole_number(value, column, noun, minimum)
    return str(refused.value)


def test_numbers_fit_the_database_and_say_which_limit() -> None:
    assert whole_number("2147483647", "qty", "quantity", 1) == LARGEST_NUMBER
    assert refusal("2147483648") == "qty 2147483648 is above the largest quantity 2147483647"
    assert refusal("-5", "max_units", "capacity") == "max_units must be at least 1, not -5"
    assert refusal("1e3") == "qty must be a whole number, not '1e3'"
    assert refusal("1_000") == "qty must be a whole number, not '1_000'"  # int() would take it
    assert refusal("\u0663") == (  # and this too, as 3
        'qty "\u0663" holds the digit \u0663 (U+0663 ARABIC-INDIC DIGIT THREE) at position 1, '
        "which is not one of 0-9; write numbers with the digits 0-9"
    )


def test_every_number_of_every_file_is_checked_with_its_line() -> None:
    skus = parse_skus("sku,name,unit_volume_cm3\nA,Apple,2147483648\n", nothing)
    assert skus.errors == [
        "line 2: unit_volume_cm3 2147483648 is above the largest volume 2147483647"
    ]
    locations = parse_locations(
        "code,kind,max_units,pick_sequence\nA,bin,1,99999999999\nB,bin,3000000000,\n", nothing
    )
    assert locations.errors == [
        "line 2: pick_sequence 99999999999 is above the largest pick sequence 2147483647",
        "line 3: max_units 3000000000 is above the largest capacity 2147483647",
    ]
    known_sku = Holder(CodeKind.SKU, "A", "A")
    _, lookup = database(known_sku)
    receipts = parse_receipts(
        "receipt,sku,qty\nR1,A,5\nR1,A,6\nR1,A,7\nR1,A,8\nR1,A,9\nR1,A,10\nR1,A,11\n"
        "R1,A,2147483648\n",
        lookup,
    )
    assert receipts.errors == ["line 9: qty 2147483648 is above the largest quantity 2147483647"]
    orders = parse_orders(
        "order,line,sku,qty,priority\nO1,2147483648,A,1,\nO2,1,A,1,-1\n",
        lookup,
    )
    assert orders.errors == [
        "line 2: line 2147483648 is above the largest line number 2147483647",
        "line 3: priority must be at least 0, not -1",
    ]


# --- GTINs in the namespace -------------------------------------------------------------------


def test_a_code_that_reads_as_a_gtin_is_compared_as_one() -> None:
    assert scan_key("96385074") == "00000096385074"  # GTIN-8, valid check digit
    assert scan_key("96385075") == "96385075"  # not a GTIN: compared as it is
    assert scan_key("SKU-1") == "SKU-1"
    assert scan_forms("96385074") == ("00000096385074", "0000096385074", "000096385074", "96385074")
    assert scan_forms("5901234123457") == ("05901234123457", "5901234123457")


# --- clashes ----------------------------------------------------------------------------------


def new(kind: CodeKind, code: str, line: int, sku: str | None = None) -> NewCode:
    return NewCode(Holder(kind, code, sku), line)


def test_a_sku_own_code_gtin_and_aliases_name_one_thing() -> None:
    codes = [
        new(CodeKind.SKU, "SKU-1", 2, "SKU-1"),
        new(CodeKind.GTIN, "00000096385074", 2, "SKU-1"),
        new(CodeKind.ALIAS, "SKU-1", 2, "SKU-1"),  # the demo's shelf label
        new(CodeKind.ALIAS, "96385074", 2, "SKU-1"),  # its own GTIN, short
    ]
    assert clashes(codes, []) == []


def test_within_a_file_the_later_line_is_refused_and_names_the_earlier() -> None:
    codes = [
        new(CodeKind.SKU, "A", 2, "A"),
        new(CodeKind.ALIAS, "X", 2, "A"),
        new(CodeKind.SKU, "B", 3, "B"),
        new(CodeKind.ALIAS, "A", 3, "B"),
        new(CodeKind.SKU, "X", 4, "X"),
    ]
    assert [m for _, m in clashes(codes, [])] == [
        "line 3: alias A of SKU B is already a SKU's code on line 2; choose another alias",
        "line 4: SKU X is already an alias of SKU A on line 2; choose another SKU code",
    ]


def test_against_the_database_every_holder_is_named() -> None:
    held = [
        Holder(CodeKind.SKU, "SKU-000070", "SKU-000070"),
        Holder(CodeKind.ALIAS, "SKU-000070", "SKU-000070"),
        Holder(CodeKind.LOCATION, "DOCK-1"),
        Holder(CodeKind.LOCATION, "VENDOR", virtual=True),
        Holder(CodeKind.GTIN, "00000096385074", "SKU-000001"),
        Holder(CodeKind.BADGE, "D001"),
    ]
    codes = [
        new(CodeKind.BADGE, "SKU-000070", 2),
        new(CodeKind.BADGE, "DOCK-1", 3),
        new(CodeKind.BADGE, "VENDOR", 4),
        new(CodeKind.LOCATION, "96385074", 5),
        new(CodeKind.BADGE, "D001", 6),
    ]
    assert [m for _, m in clashes(codes, held)] == [
        "line 2: badge SKU-000070 is already a SKU's code and an alias of SKU SKU-000070; "
        "choose another badge",
        "line 3: badge DOCK-1 is already a location's code; choose another badge",
        "line 4: badge VENDOR is already a built-in location's code; choose another badge",
        "line 5: location 96385074 is already the GTIN of SKU SKU-000001 (00000096385074); "
        "choose another location code",
        "line 6: badge D001 already exists; to change it, import the file with --update",
    ]


def test_stations_have_their_own_namespace() -> None:
    """A station is never scanned and is often named after its dock."""
    held = [Holder(CodeKind.LOCATION, "DOCK-1"), Holder(CodeKind.STATION, "ST-1")]
    codes = [new(CodeKind.STATION, "DOCK-1", 2), new(CodeKind.STATION, "ST-1", 3)]
    assert [m for _, m in clashes(codes, held)] == [
        "line 3: station ST-1 already exists; to change it, import the file with --update"
    ]


def test_the_database_is_asked_every_form_of_a_gtin_once() -> None:
    codes = [new(CodeKind.GTIN, "05901234123457", 2, "A"), new(CodeKind.BADGE, "12345670", 3)]
    assert codes_to_look_up(codes) == {
        "05901234123457",
        "5901234123457",
        "00000012345670",
        "0000012345670",
        "000012345670",
        "12345670",
    }


# --- files ------------------------------------------------------------------------------------


def test_a_sku_file_is_checked_against_itself_and_the_database_in_one_question() -> None:
    asked, lookup = database(
        Holder(CodeKind.BADGE, "D001"), Holder(CodeKind.ALIAS, "4006381333931", "OLD")
    )
    text = (
        "sku,name,gtin,aliases\n"
        "A,Apple,96385074,A|SUP-1\n"
        "B,Bean,,D001\n"
        "C,Cherry,4006381333931,\n"
        "D,Date,,SUP-1\n"
        "E,Elder,,00000096385074\n"
    )
    result = parse_skus(text, lookup)
    assert result.errors == [
        "line 3: alias D001 of SKU B is already an operator's badge; choose another alias",
        "line 4: GTIN 04006381333931 of SKU C is already an alias of SKU OLD (4006381333931); "
        "check the GTIN",
        "line 5: alias SUP-1 of SKU D is already an alias of SKU A on line 2; choose another alias",
        "line 6: alias 00000096385074 of SKU E is already the GTIN of SKU A on line 2; "
        "choose another alias",
    ]
    assert len(asked) == 1


def test_a_sku_may_not_repeat_a_barcode_of_its_own() -> None:
    result = parse_skus(
        "sku,name,gtin,aliases\nA,Apple,96385074,00000096385074\nB,Bean,,X|X\n", nothing
    )
    assert result.errors == [
        "line 2: alias 00000096385074 is the SKU's GTIN already; leave it out of aliases",
        "line 3: alias X is listed twice",
    ]


def test_a_gtin_in_other_digits_is_refused_with_the_digit() -> None:
    result = parse_skus(
        "sku,name,gtin\nA,Apple,\u0669\u0666\u0663\u0668\u0665\u0660\u0667\u0664\n", nothing
    )
    assert result.errors == [
        'line 2: gtin "\u0669\u0666\u0663\u0668\u0665\u0660\u0667\u0664" holds the digit \u0669 '
        "(U+0669 ARABIC-INDIC DIGIT NINE) at position 1, which is not one of 0-9; write it with 0-9"
    ]


def test_operator_pins_follow_the_pin_rule_and_are_never_shown() -> None:
    text = (
        "badge,name,role,pin\n"
        "S1,Sue,supervisor,1234\n"
        "S2,Sal,supervisor,\u0661\u0662\u0663\u0664\u0665\u0666\n"
        "S3,Sam,supervisor,12 3456\n"
        "S4,Sid,supervisor,\n"
        "S5,Sol,supervisor,123456\n"
    )
    result = parse_operators(text, nothing)
    assert result.errors == [
        "line 2: pin: a PIN has 6 to 12 digits, not 4",
        "line 3: pin: a PIN is made of the digits 0 to 9 only",
        "line 4: pin: a PIN is made of the digits 0 to 9 only",
        "line 5: a supervisor needs a pin",
    ]
    assert not any("1234" in e or "\u0661" in e for e in result.errors)
    stricter = parse_operators(
        "badge,name,role,pin\nS5,Sol,supervisor,123456\n", nothing, ImportRules(pin_min_digits=8)
    )
    assert stricter.errors == ["line 2: pin: a PIN has 8 to 12 digits, not 6"]


def test_a_virtual_location_is_never_a_dock() -> None:
    _, lookup = database(
        Holder(CodeKind.LOCATION, "VENDOR", virtual=True), Holder(CodeKind.LOCATION, "DOCK-1")
    )
    result = parse_stations(
        "code,name,dock\nST-1,Dock one,DOCK-1\nST-2,Dock two,VENDOR\nST-3,Dock three,NOPE\n",
        lookup,
    )
    assert result.errors == [
        "line 3: dock VENDOR is a virtual location (it stands for a partner or a correction, not "
        "a place); give the station the code of its dock location",
        "line 4: dock location NOPE does not exist",
    ]


def test_a_cell_with_an_invisible_character_is_refused_not_trimmed() -> None:
    result = parse_locations("code,kind,zone\nA-1\u00a0,bin,A\nA-2,bin,A\u200b\n", nothing)
    assert result.errors == [
        'line 2: code "A-1\\xa0" holds the invisible character U+00A0 NO-BREAK SPACE at '
        "position 4; a code holds only the letters A-Z and a-z, the digits 0-9 and - . _ /",
        'line 3: zone "A\\u200b" holds the invisible character U+200B ZERO WIDTH SPACE at '
        "position 2; retype it",
    ]


def test_many_aliases_fit_in_one_cell_but_each_is_a_code() -> None:
    aliases = "|".join(f"SUPPLIER-{n:02d}-PART-0000{n}" for n in range(10))  # 230 characters
    assert parse_skus(f"sku,name,aliases\nA,Apple,{aliases}\n", nothing).ok
    too_long = "X" * 65
    assert parse_skus(f"sku,name,aliases\nA,Apple,B|{too_long}\n", nothing).errors == [
        f"line 2: alias {too_long} is too long (65 characters, at most 64)"
    ]
