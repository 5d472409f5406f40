"""Keyboard-wedge scanners: telling a scanner's burst of keys from a person typing (DESIGN.md 4).

A wedge scanner types its barcode like a very fast keyboard: a character every 1-20 ms, then Enter,
Tab or EOT. People type a key every 150-250 ms. `WedgeAssembler` is fed one `Keystroke` at a time
(what the key typed and when) and answers what to do with it: hold it back (it may belong to a
scan), let it through as typing, or complete a `Scan` from the keys held so far. It knows nothing
of Qt: the event filter in `app.ui.wedge_filter` holds and replays the real key events.

The keyboard-layout check lives here too: `LAYOUT_CHECK_TEXT` printed as a barcode and
`check_layout`, which says whether it arrived as printed and, if not, which characters came out
wrong and which layout mix-up explains them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from app.domain.scan import GS, Scan, Source

ENTER = "\r"
TAB = "\t"
EOT = "\x04"

_AIM_ID = re.compile(r"\][A-Za-z][0-9A-Za-z]")
# Ctrl plus one of these keys types the control character 64 below it: Ctrl+] is GS, Ctrl+D EOT.
_CTRL_KEYS = "@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_"


@dataclass(frozen=True, slots=True)
class WedgeConfig:
    """How the station's scanners are set up. Every field has a default that suits most scanners.

    A burst is a scan when it has at least `min_length` keys (terminator not counted), no gap
    between keys longer than `max_gap_ms`, and ends with one of `terminators`. `prefix` and
    `suffix` are stripped when present; each text in `gs_placeholders` becomes GS (0x1D).
    """

    max_gap_ms: int = 40
    min_length: int = 4
    max_length: int = 4096
    terminators: frozenset[str] = frozenset({ENTER, TAB, EOT})
    prefix: str = ""
    suffix: str = ""
    gs_placeholders: tuple[str, ...] = ("<GS>", "{GS}")
    device: str = "wedge"

    def __post_init__(self) -> None:
        if self.max_gap_ms <= 0:
            raise ValueError(f"max_gap_ms must be positive, not {self.max_gap_ms}")
        if not 1 <= self.min_length <= self.max_length:
            raise ValueError(
                f"need 1 <= min_length <= max_length, not {self.min_length}, {self.max_length}"
            )
        if not self.terminators or not self.terminators <= {ENTER, TAB, EOT}:
            raise ValueError("terminators must be one or more of ENTER, TAB and EOT")
        if any(not placeholder for placeholder in self.gs_placeholders):
            raise ValueError("a GS placeholder cannot be empty")
        if any(char in self.terminators for char in self.prefix + self.suffix):
            raise ValueError("a prefix or suffix cannot contain a terminator")


@dataclass(frozen=True, slots=True)
class Keystroke:
    """One key press as the host saw it.

    `text` is what the key typed ("" for keys that type nothing), `at_ms` when it was pressed
    (any millisecond clock, as long as it is the same one for every key), `name` the key's name
    ("Return", "Tab", "]", "D", ...), used when Ctrl is held or the key typed no text.
    """

    text: str
    at_ms: int
    name: str = ""
    ctrl: bool = False
    alt: bool = False
    repeat: bool = False


class Action(Enum):
    HOLD = "hold"  # may belong to a scan: hold the key back
    TYPE = "type"  # typing: deliver the key now
    SCAN = "scan"  # the terminator of a scan: swallow it and every held key
    OTHER = "other"  # not a key a scanner types (arrows, F-keys, Ctrl+S...): leave it alone


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do with one key press. With `release`, first deliver the keys held so far, in
    order: they turned out to be typing."""

    action: Action
    release: bool = False
    scan: Scan | None = None


class WedgeAssembler:
    """The burst state machine for one keyboard stream.

    Keys are held while they could still become a scan. A burst may only start after a pause
    longer than the gap threshold (or right after a scan), so the tail of someone's typing, or of
    a burst already given up as typing, never turns into a scan of its own.
    """

    def __init__(self, config: WedgeConfig | None = None) -> None:
        self.config = config or WedgeConfig()
        self._held: list[str] = []
        self._last_at: int | None = None
        self._after_scan = False
        self._affix_controls = {c for c in self.config.prefix + self.config.suffix if _control(c)}

    @property
    def holding(self) -> int:
        """How many key presses are held back."""
        return len(self._held)

    def char_of(self, stroke: Keystroke) -> str | None:
        """The character a scanner would mean by this key, or None when scanners never type it.

        Ctrl+] and a typed 0x1D are both GS; Ctrl+D and 0x04 are EOT; LF counts as Enter.
        """
        if stroke.repeat:
            return None
        text = stroke.text
        if stroke.ctrl and not stroke.alt and text not in (GS, EOT):
            # Ctrl with a key: some hosts report the control character, some the plain key.
            name = stroke.name.upper()
            text = chr(ord(name) - 64) if len(name) == 1 and name in _CTRL_KEYS else ""
        elif not text and stroke.name in ("Return", "Enter", "Tab"):
            text = TAB if stroke.name == "Tab" else ENTER
        if text == "\n":
            text = ENTER
        if text in self.config.terminators or text == GS:
            return text
        if text and (text.isprintable() or all(c in self._affix_controls for c in text)):
            return text
        return None

    def press(self, stroke: Keystroke) -> Verdict:
        """Decide one key press, in the order the keys were pressed."""
        char = self.char_of(stroke)
        gap = None if self._last_at is None else stroke.at_ms - self._last_at
        quick = gap is not None and 0 <= gap <= self.config.max_gap_ms
        may_start = not quick or self._after_scan
        self._last_at = stroke.at_ms
        self._after_scan = False
        if char is None:
            return Verdict(Action.OTHER, release=self.flush())
        if self._held and quick:
            if char in self.config.terminators:
                scan = self._scan()
                release = self.flush()
                if scan is None:
                    return Verdict(Action.TYPE, release=release)
                self._after_scan = True
                return Verdict(Action.SCAN, scan=scan)
            if len(self._held) >= self.config.max_length:
                return Verdict(Action.TYPE, release=self.flush())
            self._held.append(char)
            return Verdict(Action.HOLD)
        release = self.flush()  # a pause: whatever was held was typing
        if not may_start or char in self.config.terminators:
            return Verdict(Action.TYPE, release=release)
        self._held.append(char)
        return Verdict(Action.HOLD, release=release)

    def flush(self) -> bool:
        """The held keys are typing (no key came within the gap, or the mouse was used).
        Returns whether any were held."""
        held = bool(self._held)
        self._held.clear()
        return held

    def _scan(self) -> Scan | None:
        if len(self._held) < self.config.min_length:
            return None
        text = "".join(self._held)
        prefix, suffix = self.config.prefix, self.config.suffix
        if prefix and text.startswith(prefix):
            text = text[len(prefix) :]
        if suffix and text.endswith(suffix):
            text = text[: -len(suffix)]
        for placeholder in self.config.gs_placeholders:
            text = text.replace(placeholder, GS)
        if not text:
            return None
        return Scan(
            text=text, source=Source.WEDGE, device=self.config.device, symbology=aim_id(text)
        )


def aim_id(text: str) -> str | None:
    """The AIM symbology identifier a scan starts with (`]C1`, `]d2`, `]Q3`, `]E0`...), if any."""
    match = _AIM_ID.match(text)
    return match.group() if match else None


def _control(char: str) -> bool:
    return ord(char) < 32 or ord(char) == 127


# --- The keyboard-layout check -----------------------------------------------------------------

LAYOUT_CHECK_MARK = "KBDCHECK"
"""Letters on the same keys in US, UK, German and French layouts: the check is known whatever
layout garbles the rest of it, and whatever the case (Caps Lock)."""

LAYOUT_CHECK_TEXT = (
    LAYOUT_CHECK_MARK + " 0123456789 AaBbMmQqWwYyZz \"@#/\\-_.:;,!?$%&*()+=<>[]{}|~^`'"
)
"""Print this as a Code 128 barcode; scanning it runs `check_layout` on what arrives."""


@dataclass(frozen=True, slots=True)
class _Layout:
    """The characters of one keyboard layout's 48 main keys, in the order TLDE, AE01-AE12,
    AD01-AD12, BKSL, AC01-AC11, AB01-AB10, LSGT (xkb names): plain, with Shift, and with AltGr
    (by key index). US keyboards have no LSGT key: US layouts on European keyboards type \\ and |
    with it (as Windows does)."""

    plain: str
    shifted: str
    altgr: dict[int, str]

    def __post_init__(self) -> None:
        if not len(self.plain) == len(self.shifted) == 48:
            raise ValueError("a layout lists 48 keys")

    def key_of(self, char: str) -> tuple[int, int] | None:
        """(key index, level) the layout types `char` with: 0 plain, 1 Shift, 2 AltGr."""
        for level, keys in enumerate((self.plain, self.shifted)):
            if char in keys:
                return keys.index(char), level
        altgr = [key for key, c in self.altgr.items() if c == char]
        return (altgr[0], 2) if altgr else None

    def char_at(self, key: int, level: int) -> str:
        if level == 2:
            # A layout without that AltGr character sees Alt plus the key: its plain character.
            return self.altgr.get(key, self.plain[key])
        return (self.plain, self.shifted)[level][key]


_LAYOUTS = {
    "US English": _Layout(
        "`1234567890-=qwertyuiop[]\\asdfghjkl;'zxcvbnm,./\\",
        '~!@#$%^&*()_+QWERTYUIOP{}|ASDFGHJKL:"ZXCVBNM<>?|',
        {},
    ),
    "UK English": _Layout(
        "`1234567890-=qwertyuiop[]#asdfghjkl;'zxcvbnm,./\\",
        '¬!"£$%^&*()_+QWERTYUIOP{}~ASDFGHJKL:@ZXCVBNM<>?|',
        {0: "|"},
    ),
    "German (QWERTZ)": _Layout(
        "^1234567890ß´qwertzuiopü+#asdfghjklöäyxcvbnm,.-<",
        "°!\"§$%&/()=?`QWERTZUIOPÜ*'ASDFGHJKLÖÄYXCVBNM;:_>",
        {7: "{", 8: "[", 9: "]", 10: "}", 11: "\\", 13: "@", 24: "~", 47: "|"},
    ),
    "French (AZERTY)": _Layout(
        "²&é\"'(-è_çà)=azertyuiop^$*qsdfghjklmùwxcvbn,;:!<",
        "~1234567890°+AZERTYUIOP¨£µQSDFGHJKLM%WXCVBN?./§>",
        {
            2: "~",
            3: "#",
            4: "{",
            5: "[",
            6: "|",
            7: "`",
            8: "\\",
            9: "^",
            10: "@",
            11: "]",
            12: "}",
        },
    ),
}


@dataclass(frozen=True, slots=True)
class LayoutReport:
    """What the layout check found. `wrong` pairs each printed character with what arrived
    instead ("" when nothing arrived, or for a character that arrived unasked)."""

    matches: bool
    wrong: tuple[tuple[str, str], ...]
    caps_lock: bool
    likely: tuple[str, str] | None  # (scanner's layout, computer's layout) when one explains it
    message: str


def is_layout_check(text: str) -> bool:
    """Whether a scan is the layout-check barcode (possibly garbled by the very mismatch)."""
    return LAYOUT_CHECK_MARK in text[: len(LAYOUT_CHECK_MARK) + 4].upper()


def check_layout(arrived: str) -> LayoutReport:
    """Compare what the check barcode typed with what it says, and tell the user what to do."""
    expected = LAYOUT_CHECK_TEXT
    start = arrived.upper().find(LAYOUT_CHECK_MARK)
    # An AIM identifier before the mark is not the layout's doing; the length cap keeps a
    # hostile scan from costing the comparison more than a few milliseconds.
    body = arrived[max(start, 0) :][: len(expected) + 16]
    if body == expected:
        return LayoutReport(
            True,
            (),
            False,
            None,
            "Layout check passed: every character of the check barcode arrived as printed, "
            "so the scanner's keyboard layout matches this computer's.",
        )
    # The mark's letters sit on the same keys in every known layout: their case is Caps Lock's.
    caps_lock = body.startswith(LAYOUT_CHECK_MARK.lower())
    if caps_lock:
        body = body.swapcase()
    wrong = tuple(dict.fromkeys(pair for pair in _align(expected, body) if pair[0] != pair[1]))
    likely = _likely_layouts(expected, body, len(wrong)) if wrong else None
    return LayoutReport(False, wrong, caps_lock, likely, _message(wrong, caps_lock, likely))


def _align(expected: str, arrived: str) -> list[tuple[str, str]]:
    """(printed, arrived) character pairs along a cheapest edit path; "" stands for a gap.

    A swap costs less than a gap, so a layout mix-up (mostly one character for another) reads
    as "«"» as «@»" rather than as characters missing in one place and extra in another.
    """
    swap, gap = 2, 3
    costs = [[j * gap for j in range(len(arrived) + 1)]]
    for i, e in enumerate(expected, start=1):
        row = [i * gap]
        for j, a in enumerate(arrived, start=1):
            row.append(
                min(costs[i - 1][j - 1] + swap * (e != a), costs[i - 1][j] + gap, row[j - 1] + gap)
            )
        costs.append(row)
    pairs: list[tuple[str, str]] = []
    i, j = len(expected), len(arrived)
    while i or j:
        diagonal = swap * (expected[i - 1] != arrived[j - 1]) if i and j else None
        if diagonal is not None and costs[i][j] == costs[i - 1][j - 1] + diagonal:
            pairs.append((expected[i - 1], arrived[j - 1]))
            i, j = i - 1, j - 1
        elif i and costs[i][j] == costs[i - 1][j] + gap:
            pairs.append((expected[i - 1], ""))
            i -= 1
        else:
            pairs.append(("", arrived[j - 1]))
            j -= 1
    return pairs[::-1]


def _translate(text: str, scanner: str, host: str) -> str:
    """What `text` becomes when a scanner set to one layout types into a host set to another.
    A character the scanner's layout lacks is sent as itself (scanners fall back to Alt codes)."""
    out = []
    for char in text:
        position = _LAYOUTS[scanner].key_of(char)
        out.append(char if position is None else _LAYOUTS[host].char_at(*position))
    return "".join(out)


def _likely_layouts(expected: str, arrived: str, wrong: int) -> tuple[str, str] | None:
    """The (scanner, host) pair of known layouts that best predicts what arrived, when it
    predicts all but a character or two (hosts differ on a key or two, such as the extra key
    of European keyboards)."""
    misses = {
        (scanner, host): sum(
            e != a for e, a in _align(_translate(expected, scanner, host), arrived)
        )
        for scanner in _LAYOUTS
        for host in _LAYOUTS
        if scanner != host
    }
    pair = min(misses, key=lambda pair: misses[pair])
    return pair if misses[pair] <= max(2, wrong // 10) and misses[pair] * 2 < wrong else None


def _show(text: str) -> str:
    return "«space»" if text == " " else f"«{text}»"


def _message(
    wrong: tuple[tuple[str, str], ...], caps_lock: bool, likely: tuple[str, str] | None
) -> str:
    if not wrong:
        return (
            "Layout check failed: letters arrive in the wrong case («K» as «k»): Caps Lock is on "
            "at this computer. Turn Caps Lock off, then scan the check barcode again."
        )
    shown = [
        f"{_show(e)} as {_show(a)}"
        if e and a
        else f"{_show(e)} went missing"
        if e
        else f"{_show(a)} that was not printed"
        for e, a in wrong[:12]
    ]
    more = f" and {len(wrong) - 12} more" if len(wrong) > 12 else ""
    count = "1 character arrives" if len(wrong) == 1 else f"{len(wrong)} characters arrive"
    parts = [f"Layout check failed: {count} wrong: {', '.join(shown)}{more}."]
    if caps_lock:
        parts.append("Letters arrive in the wrong case too: Caps Lock is on at this computer.")
    if likely:
        parts.append(
            f"The scanner seems to be set to {likely[0]} and this computer to {likely[1]}."
        )
    parts.append(
        "Set the scanner's keyboard layout (its country setting, from the scanner's manual) to "
        "match this computer's, or change the computer's keyboard layout"
        + (", and turn Caps Lock off" if caps_lock else "")
        + "; then scan the check barcode again."
    )
    return " ".join(parts)
