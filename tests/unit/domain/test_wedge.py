"""The wedge burst assembler, without Qt: scan or typing, by the keys and their timestamps."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

import biip
import pytest

from app.domain.scan import GS, Scan, Source
from app.domain.wedge import (
    ENTER,
    EOT,
    LAYOUT_CHECK_TEXT,
    TAB,
    Action,
    Keystroke,
    WedgeAssembler,
    WedgeConfig,
    aim_id,
    check_layout,
    is_layout_check,
)

GS1 = "0109506000134352" + "17261231" + "10LOT1234" + GS + "21SN12"
"""A 40-character GS1 element string: GTIN, expiry, lot (variable length, so GS), serial."""

CTRL_BRACKET = Keystroke("", 0, name="]", ctrl=True)
"""GS as a scanner types it in Ctrl-character mode (the host may report "" or "\\x1d")."""


def keys(text: str, start: int, gap: int = 2) -> list[Keystroke]:
    """`text` typed from `start` ms with `gap` ms between keys; GS typed as Ctrl+]."""
    return timed([CTRL_BRACKET if char == GS else Keystroke(char, 0) for char in text], start, gap)


def timed(strokes: Iterable[Keystroke], start: int, gap: int) -> list[Keystroke]:
    return [replace(stroke, at_ms=start + i * gap) for i, stroke in enumerate(strokes)]


@dataclass
class Seen:
    """What a user would notice: the scans, and what reached the focused field."""

    scans: list[Scan]
    typed: str


def run(strokes: Iterable[Keystroke | None], config: WedgeConfig | None = None) -> Seen:
    """Drive the assembler as the Qt filter does: held keys wait, released keys reach the field
    in order, a scan swallows them. `None` stands for the idle timer firing (no key for the
    gap threshold, by the station's clock)."""
    assembler = WedgeAssembler(config)
    held: list[str] = []
    seen = Seen([], "")
    for stroke in strokes:
        if stroke is None:
            assembler.flush()
            seen.typed += "".join(held)
            held = []
            continue
        verdict = assembler.press(stroke)
        if verdict.release:
            seen.typed += "".join(held)
            held = []
        if verdict.action is Action.HOLD:
            held.append(stroke.text)
        elif verdict.action is Action.SCAN:
            assert verdict.scan is not None
            seen.scans.append(verdict.scan)
            held = []
        else:
            seen.typed += stroke.text
        assert assembler.holding == len(held)
    assembler.flush()
    seen.typed += "".join(held)
    return seen


def scan_of(text: str, start: int = 1_000, gap: int = 2, end: str = ENTER) -> list[Keystroke]:
    return keys(text + end, start, gap)


def texts(seen: Seen) -> list[str]:
    return [scan.text for scan in seen.scans]


# --- scan or typing --------------------------------------------------------------------------


def test_a_burst_at_scanner_speed_is_one_scan_and_types_nothing() -> None:
    seen = run(scan_of("4006381333931"))
    assert texts(seen) == ["4006381333931"]
    assert seen.typed == ""
    [scan] = seen.scans
    assert (scan.source, scan.device, scan.symbology) == (Source.WEDGE, "wedge", None)


def test_the_same_keys_typed_by_a_person_reach_the_field_unchanged() -> None:
    seen = run(keys("4006381333931\r", 1_000, gap=150))
    assert seen.scans == []
    assert seen.typed == "4006381333931\r"


@pytest.mark.parametrize(("gap", "is_scan"), [(1, True), (5, True), (40, True), (41, False)])
def test_the_gap_threshold_decides(gap: int, is_scan: bool) -> None:
    seen = run(scan_of("ABCD1234", gap=gap))
    assert texts(seen) == (["ABCD1234"] if is_scan else [])
    assert seen.typed == ("" if is_scan else "ABCD1234\r")


def test_the_gap_threshold_is_configurable() -> None:
    strokes = scan_of("ABCD1234", gap=60)
    assert texts(run(strokes, WedgeConfig(max_gap_ms=80))) == ["ABCD1234"]
    assert run(strokes, WedgeConfig(max_gap_ms=30)).typed == "ABCD1234\r"


def test_a_pause_inside_a_burst_hands_the_keys_before_it_to_the_field() -> None:
    strokes = keys("AB", 1_000) + keys("CDEFG\r", 1_100)
    seen = run(strokes)
    assert seen.typed == "AB"
    assert texts(seen) == ["CDEFG"]


def test_fast_typing_mixed_with_slow_keys_is_delivered_whole_and_in_order() -> None:
    # A touch typist rolls some pairs in under 40 ms; no four keys in a row and no terminator.
    gaps = [180, 30, 160, 25, 35, 210, 150, 20, 170, 190, 30, 140]
    text = "the quick fox"
    at, strokes = 0, []
    for char, gap in zip(text, [0, *gaps], strict=True):
        at += gap
        strokes.append(Keystroke(char, at))
    seen = run([*strokes, Keystroke(ENTER, at + 200)])
    assert seen.scans == []
    assert seen.typed == "the quick fox\r"


def test_a_burst_given_up_as_typing_never_turns_its_tail_into_a_scan() -> None:
    # The GUI thread stalled: the idle timer fired in the middle of a scanner burst.
    strokes = [*keys("0109506", 1_000), None, *keys("000134352\r", 1_014)]
    seen = run(strokes)
    assert seen.scans == []
    assert seen.typed == "0109506000134352\r"


@pytest.mark.parametrize(
    "terminator",
    [
        Keystroke(ENTER, 0, name="Return"),
        Keystroke("", 0, name="Enter"),  # keypad Enter reported without text
        Keystroke("\n", 0),
        Keystroke(TAB, 0, name="Tab"),
        Keystroke(EOT, 0),
        Keystroke("", 0, name="D", ctrl=True),  # EOT as Ctrl+D
    ],
    ids=["Return", "keypad-Enter", "LF", "Tab", "EOT", "Ctrl+D"],
)
def test_enter_tab_and_eot_end_a_scan_and_are_swallowed(terminator: Keystroke) -> None:
    seen = run(timed([*keys("ABC-123", 0), terminator], start=1_000, gap=2))
    assert texts(seen) == ["ABC-123"]
    assert seen.typed == ""


def test_a_terminator_not_configured_ends_the_burst_as_typing() -> None:
    seen = run(scan_of("ABC-123", end=TAB), WedgeConfig(terminators=frozenset({ENTER})))
    assert seen.scans == []
    assert seen.typed == "ABC-123\t"


def test_without_a_terminator_a_burst_is_typing() -> None:
    seen = run(keys("ABC-123", 1_000))
    assert (seen.scans, seen.typed) == ([], "ABC-123")


@pytest.mark.parametrize(
    ("config", "text", "is_scan"),
    [
        (WedgeConfig(), "123", False),
        (WedgeConfig(), "123456", True),
        (WedgeConfig(min_length=6), "12345", False),
        (WedgeConfig(min_length=6), "123456", True),
        (WedgeConfig(max_length=8), "12345678", True),
        (WedgeConfig(max_length=8), "123456789", False),
    ],
)
def test_length_limits(config: WedgeConfig, text: str, is_scan: bool) -> None:
    seen = run(scan_of(text), config)
    assert texts(seen) == ([text] if is_scan else [])
    assert seen.typed == ("" if is_scan else text + ENTER)


def test_a_key_no_scanner_types_breaks_a_burst_into_typing() -> None:
    backspace = Keystroke("\x08", 1_008, name="Backspace")
    left = Keystroke("", 1_010, name="Left")
    seen = run([*keys("ABCD", 1_000), backspace, left, *keys("EF\r", 1_012)])
    assert seen.scans == []
    assert seen.typed == "ABCD\x08EF\r"


def test_held_down_keys_repeating_are_typing_not_a_burst() -> None:
    strokes = [Keystroke("x", 1_000)] + [
        Keystroke("x", 1_500 + 33 * i, repeat=True) for i in range(10)
    ]
    seen = run([*strokes, Keystroke(ENTER, 1_900)])
    assert seen.scans == []
    assert seen.typed == "x" * 11 + ENTER


def test_which_keys_count_as_scanner_characters() -> None:
    assembler = WedgeAssembler()
    assert assembler.char_of(Keystroke("a", 0)) == "a"
    assert assembler.char_of(Keystroke("@", 0, ctrl=True, alt=True)) == "@"  # AltGr on Windows
    assert assembler.char_of(Keystroke("é", 0)) == "é"
    assert assembler.char_of(Keystroke("\x13", 0, name="S", ctrl=True)) is None  # Ctrl+S
    assert assembler.char_of(Keystroke("", 0, name="F5")) is None
    assert assembler.char_of(Keystroke("\x1b", 0, name="Escape")) is None


# --- back to back -------------------------------------------------------------------------------


def gs1_codes(count: int) -> list[str]:
    return [GS1[:-2] + f"{n:02d}" for n in range(count)]


def test_ten_40_character_gs1_codes_at_3_scans_a_second_are_neither_lost_merged_nor_split() -> None:
    codes = gs1_codes(10)
    assert {len(code) for code in codes} == {40}
    strokes: list[Keystroke] = []
    for n, code in enumerate(codes):
        strokes += scan_of(code, start=n * 333, gap=1 + n % 5)  # 1-5 ms between keys
    seen = run(strokes)
    assert texts(seen) == codes
    assert seen.typed == ""


def test_scans_sent_back_to_back_without_a_pause_stay_apart() -> None:
    first, second = gs1_codes(2)
    seen = run(keys(first + ENTER + second + ENTER, 0, gap=2))
    assert texts(seen) == [first, second]


# --- what a scan says --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "gs_keys",
    [
        [CTRL_BRACKET],
        [Keystroke(GS, 0)],
        [Keystroke(GS, 0, name="]", ctrl=True)],  # X11 reports Ctrl+] with the character
        keys("<GS>", 0),
        keys("{GS}", 0),
    ],
    ids=["Ctrl+]", "0x1D", "Ctrl+] as 0x1D", "<GS>", "{GS}"],
)
def test_gs_arrives_in_every_form_and_leaves_as_0x1d(gs_keys: list[Keystroke]) -> None:
    before, after = GS1.split(GS)
    strokes = [*keys(before, 0), *gs_keys, *keys(after + ENTER, 0)]
    [scan] = run(timed(strokes, start=1_000, gap=3)).scans
    assert scan.text == GS1
    parsed = biip.parse(scan.text).gs1_message or pytest.fail("not read as GS1")
    lot, serial = parsed.element_strings[2:]
    assert (lot.value, serial.value) == ("LOT1234", "SN12")


def test_gs_placeholders_are_configurable() -> None:
    seen = run(scan_of("10LOT[GS]21SN"), WedgeConfig(gs_placeholders=("[GS]",)))
    assert texts(seen) == ["10LOT" + GS + "21SN"]
    assert texts(run(scan_of("10LOT<GS>21SN"), WedgeConfig(gs_placeholders=("[GS]",)))) == [
        "10LOT<GS>21SN"
    ]


@pytest.mark.parametrize(
    ("text", "symbology"),
    [
        ("]C1" + GS1, "]C1"),  # GS1-128
        ("]d2" + GS1, "]d2"),  # GS1 DataMatrix
        ("]Q3" + GS1, "]Q3"),  # GS1 QR Code
        ("]E04006381333931", "]E0"),  # EAN-13
        ("4006381333931", None),
    ],
)
def test_the_aim_identifier_names_the_symbology(text: str, symbology: str | None) -> None:
    [scan] = run(scan_of(text)).scans
    assert (scan.text, scan.symbology) == (text, symbology)
    assert aim_id(text) == symbology


def test_a_gs1_128_scan_with_its_identifier_parses_into_its_fields() -> None:
    [scan] = run(scan_of("]C1" + GS1)).scans
    parsed = biip.parse(scan.text).gs1_message or pytest.fail("not read as GS1")
    assert [(e.ai.ai, e.value) for e in parsed.element_strings] == [
        ("01", "09506000134352"),
        ("17", "261231"),
        ("10", "LOT1234"),
        ("21", "SN12"),
    ]


@pytest.mark.parametrize(
    ("config", "sent"),
    [
        (WedgeConfig(prefix="SCN:", suffix="#"), "SCN:]C1" + GS1 + "#"),
        (WedgeConfig(prefix="\x02", suffix="\x03"), "\x02]C1" + GS1 + "\x03"),  # STX, ETX
    ],
    ids=["printable", "control-characters"],
)
def test_prefix_and_suffix_are_stripped(config: WedgeConfig, sent: str) -> None:
    [scan] = run(scan_of(sent), config).scans
    assert (scan.text, scan.symbology) == ("]C1" + GS1, "]C1")


def test_a_prefix_typed_as_ctrl_b_counts_as_its_control_character() -> None:
    stx = Keystroke("", 998, name="B", ctrl=True)
    [scan] = run([stx, *scan_of("ABCD")], WedgeConfig(prefix="\x02")).scans
    assert scan.text == "ABCD"


def test_the_device_name_goes_into_the_scan() -> None:
    [scan] = run(scan_of("ABCD"), WedgeConfig(device="dock-1 scanner")).scans
    assert scan.device == "dock-1 scanner"


@pytest.mark.parametrize(
    "options",
    [
        {"max_gap_ms": 0},
        {"min_length": 0},
        {"min_length": 10, "max_length": 5},
        {"terminators": frozenset()},
        {"terminators": frozenset({"x"})},
        {"gs_placeholders": ("",)},
        {"suffix": ENTER},
    ],
)
def test_impossible_settings_are_refused(options: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        WedgeConfig(**options)  # type: ignore[arg-type]


# --- the keyboard-layout check ---------------------------------------------------------------


def garbled(mapping: dict[str, str], text: str = LAYOUT_CHECK_TEXT) -> str:
    return "".join(mapping.get(char, char) for char in text)


US_SCANNER_ON_UK_HOST = {'"': "@", "@": '"', "#": "£", "\\": "#", "|": "~", "~": "¬"}
UK_SCANNER_ON_US_HOST = {'"': "@", "@": '"', "#": "\\", "~": "|"}


def test_the_check_barcode_arriving_as_printed_passes() -> None:
    report = check_layout(LAYOUT_CHECK_TEXT)
    assert report.matches
    assert "matches this computer's" in report.message


def test_the_check_text_holds_digits_letters_and_punctuation() -> None:
    for group in ("0123456789", "AaBbMmQqWwYyZz", '"@#/\\-_.:;'):
        assert group in LAYOUT_CHECK_TEXT
    assert is_layout_check(LAYOUT_CHECK_TEXT)
    assert not is_layout_check(GS1)


def test_a_us_scanner_on_a_uk_computer_is_named_with_the_characters_it_garbles() -> None:
    report = check_layout(garbled(US_SCANNER_ON_UK_HOST))
    assert not report.matches
    assert set(report.wrong) == set(US_SCANNER_ON_UK_HOST.items())
    assert report.likely == ("US English", "UK English")
    assert report.message.startswith('Layout check failed: 6 characters arrive wrong: «"» as «@»')
    assert "scanner seems to be set to US English and this computer to UK English" in (
        report.message
    )
    assert report.message.endswith("then scan the check barcode again.")


def test_a_uk_scanner_on_a_us_computer() -> None:
    report = check_layout(garbled(UK_SCANNER_ON_US_HOST))
    assert set(report.wrong) == set(UK_SCANNER_ON_US_HOST.items())
    assert report.likely == ("UK English", "US English")
    assert '«"» as «@», «@» as «"»' in report.message


def test_an_azerty_computer_turns_a_us_scanners_digits_into_accents_and_punctuation() -> None:
    azerty_digits = dict(zip("1234567890", "&é\"'(-è_çà", strict=True))
    letters = {"a": "q", "A": "Q", "q": "a", "Q": "A", "w": "z", "W": "Z", "z": "w", "Z": "W"}
    report = check_layout(garbled(azerty_digits | letters))
    assert not report.matches
    assert ("1", "&") in report.wrong and ("0", "à") in report.wrong
    assert ("q", "a") in report.wrong
    assert "«1» as «&», «2» as «é»" in report.message


def test_caps_lock_is_told_apart_from_a_layout_mix_up() -> None:
    report = check_layout(LAYOUT_CHECK_TEXT.swapcase())
    assert report.caps_lock and report.wrong == ()
    assert "Caps Lock is on" in report.message and "Turn Caps Lock off" in report.message
    both = check_layout(garbled(US_SCANNER_ON_UK_HOST).swapcase())
    assert both.caps_lock and both.likely == ("US English", "UK English")
    assert "turn Caps Lock off" in both.message


def test_a_character_that_goes_missing_is_named() -> None:
    # A dead key on the host swallows ^ (it waits for a letter to put the accent on).
    report = check_layout(LAYOUT_CHECK_TEXT.replace("^", ""))
    assert report.wrong == (("^", ""),)
    assert "1 character arrives wrong: «^» went missing" in report.message


def test_the_check_is_known_behind_an_aim_identifier_and_through_the_assembler() -> None:
    arrived = "]C0" + garbled(UK_SCANNER_ON_US_HOST)
    [scan] = run(scan_of(arrived)).scans
    assert is_layout_check(scan.text)
    assert check_layout(scan.text).likely == ("UK English", "US English")


def test_a_long_hostile_scan_is_checked_without_blowing_up() -> None:
    report = check_layout(LAYOUT_CHECK_TEXT + "x" * 100_000)
    assert not report.matches
    assert report.wrong == (("", "x"),)
    assert "«x» that was not printed" in report.message
