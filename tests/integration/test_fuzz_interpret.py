"""RELIABILITY.md T10, interpretation: 100,000 generated scans through the interpreter with the SQL
catalogue on a real SQLite file.

Inputs are valid scans (GS1 element strings with and without AIM identifiers, human-readable text,
Digital Link URIs, EAN/UPC, SSCCs, commands, the warehouse's badges, labels and aliases) and
mutations of them: separators dropped, doubled or spelt as placeholders, digits flipped, text cut
short or made over-long, random AIs, control, bidi and other invisible characters, SQL snippets,
random unicode. Pass: no exception, every refusal has a message that names the scan and a specific
reason, nothing hostile is accepted, everything accepted is well formed, and the database is
byte-for-byte what it was (no write from any scan).
"""

from __future__ import annotations

import hashlib
import json
import random
import sqlite3
import time
import unicodedata
from collections import Counter
from dataclasses import replace
from datetime import date

import pytest
from biip.checksums import gs1_standard_check_digit
from sqlalchemy import Engine, select

from app.adapters.db.catalogue_lookup import SqlCatalogue
from app.adapters.db.engine import READONLY, make_engine
from app.adapters.db.schema import Base
from app.domain.gs1 import shown
from app.domain.interpret import CommandName, Interpretation, Kind, interpret
from app.domain.scan import GS, Scan, Source
from tests.support.warehouse import BINS, LOCATIONS, OPERATORS, seed

INPUTS = 100_000
SEED = 20_260_101

SQL = [
    "'; DROP TABLE skus; --",
    "' OR '1'='1",
    "A-01-01' OR 1=1 --",
    '"; DELETE FROM moves; --',
    "1; UPDATE quants SET on_hand = 0",
    "BOLT-ALIAS'--",
    "x' UNION SELECT badge FROM operators --",
    "%' AND sqlite_version() LIKE '%",
    "\\'; TRUNCATE transactions; --",
]
BIDI = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]
INVISIBLE = [*BIDI, "\u200b", "\u200d", "\ufeff", "\u00ad", "\u2028", "\u2029", "\ue000"]
CONTROLS = [chr(c) for c in (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)) if chr(c) != GS]
AIMS = ["]C1", "]d2", "]Q3", "]e0", "]J1", "]E0", "]E4", "]C0", "]Q1", "]d1", "]E3", "]I1", "]X0"]
AIS = ["00", "01", "02", "10", "11", "15", "17", "21", "30", "37", "240", "3103", "400", "8006"]
CSET82 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-./_"
KNOWN_CODES = ["D1", "S1", "A-01-01", "B-01-02", "DOCK-1", "BOLT-ALIAS", "VENDOR", "GONE"]


def digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choices("0123456789", k=n))


def with_check(body: str) -> str:
    return body + str(gs1_standard_check_digit(body))


def gtin14(rng: random.Random) -> str:
    return with_check(rng.choice("0123456789") + digits(rng, 12))


def yymmdd(rng: random.Random) -> str:
    return f"{rng.randrange(100):02d}{rng.randrange(1, 13):02d}{rng.randrange(0, 29):02d}"


def cset82(rng: random.Random, n: int) -> str:
    return "".join(rng.choices(CSET82, k=n))


def element_strings(rng: random.Random) -> list[tuple[str, str, bool]]:
    """Valid GS1 elements (AI, value, variable length): a GTIN or an SSCC first, then others."""
    if rng.random() < 0.25:
        parts = [("00", with_check(digits(rng, 17)), False)]
        if rng.random() < 0.6:
            parts += [("02", gtin14(rng), False), ("37", str(rng.randrange(1, 10**4)), True)]
    else:
        parts = [("01", gtin14(rng), False)]
    extras = [
        ("10", cset82(rng, rng.randrange(1, 21)), True),
        ("17", yymmdd(rng), False),
        ("15", yymmdd(rng), False),
        ("21", cset82(rng, rng.randrange(1, 21)), True),
        ("11", yymmdd(rng), False),
    ]
    rng.shuffle(extras)
    parts += extras[: rng.randrange(0, 4)]
    if parts[0][0] == "00" and rng.random() < 0.5:
        parts = [p for p in parts if p[0] != "21"]
    return parts


def valid_scan(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.35:
        parts = element_strings(rng)
        message = "".join(
            ai + value + (GS if variable and n < len(parts) - 1 else "")
            for n, (ai, value, variable) in enumerate(parts)
        )
        return rng.choice(["]C1", "]d2", "]Q3", "]e0", "", GS]) + message
    if roll < 0.45:
        return "".join(f"({ai}){value}" for ai, value, _ in element_strings(rng))
    if roll < 0.52:
        gtin = gtin14(rng)
        return f"https://id.gs1.org/01/{gtin}/10/{cset82(rng, 6)}?17={yymmdd(rng)}"
    if roll < 0.65:
        length = rng.choice([8, 12, 13, 14])
        prefix = {8: "]E4", 12: "]E0", 13: "]E0", 14: "]I1"}[length]
        return rng.choice(["", prefix]) + with_check(digits(rng, length - 1))
    if roll < 0.72:
        return with_check(digits(rng, 17))
    if roll < 0.85:
        name = rng.choice(list(CommandName))
        arg = {"QTY": f":{rng.randrange(1, 500)}", "MODE": ":PICK"}.get(name.value, "")
        return f"@CMD:{name.value}{arg}"
    return rng.choice([*KNOWN_CODES, *BINS, *(o.badge for o in OPERATORS)])


def mutate(rng: random.Random, text: str) -> str:
    choice = rng.randrange(16)
    pos = rng.randrange(len(text) + 1)
    if choice == 0:  # drop separators
        return text.replace(GS, "", rng.choice([1, -1]))
    if choice == 1:  # double a separator, or add one anywhere
        return text.replace(GS, GS + GS, 1) if GS in text else text[:pos] + GS + text[pos:]
    if choice == 2:  # flip a digit
        spots = [i for i, ch in enumerate(text) if ch.isdigit()]
        if spots:
            i = rng.choice(spots)
            return text[:i] + str((int(text[i]) + rng.randrange(1, 10)) % 10) + text[i + 1 :]
        return text + "7"
    if choice == 3:  # truncate
        return text[:pos]
    if choice == 4:  # a random AI with a random value
        ai = rng.choice(AIS)
        value = rng.choice([digits(rng, rng.randrange(0, 20)), cset82(rng, rng.randrange(0, 25))])
        return text[:pos] + ai + value + text[pos:]
    if choice == 5:  # over-long
        return text * rng.randrange(2, 40) + cset82(rng, rng.randrange(0, 300))
    if choice == 6:  # control character
        return text[:pos] + rng.choice(CONTROLS) + text[pos:]
    if choice == 7:  # bidi or other invisible character
        return text[:pos] + rng.choice(INVISIBLE) + text[pos:]
    if choice == 8:  # SQL
        snippet = rng.choice(SQL)
        return rng.choice([snippet, text + snippet, snippet + text])
    if choice == 9:  # random unicode, surrogates included
        junk = "".join(chr(rng.randrange(0x20, 0x110000)) for _ in range(rng.randrange(1, 8)))
        return text[:pos] + junk + text[pos:]
    if choice == 10:  # separators spelt as placeholders
        return text.replace(GS, rng.choice(["<GS>", "{GS}", "<gs>", "[GS]"]))
    if choice == 11:  # another AIM identifier, or a broken one
        return rng.choice([*AIMS, "]", "]]", "]Y9", "]z"]) + text
    if choice == 12:  # the field overruns its maximum length
        return text[:pos] + cset82(rng, rng.randrange(15, 40)) + text[pos:]
    if choice == 13:  # command barcodes with odd arguments
        return "@CMD:" + rng.choice(["QTY:", "MODE:", "", "qty:", "DONE:"]) + text[:12]
    if choice == 14:  # spaces, case
        return rng.choice([" " + text + " ", text.lower(), text.upper(), text.replace("0", " ")])
    return "".join(chr(rng.randrange(0x20, 0x7F)) for _ in range(rng.randrange(0, 60)))


def generate(rng: random.Random) -> str:
    text = valid_scan(rng)
    for _ in range(rng.choice([0, 1, 1, 1, 2, 3])):
        text = mutate(rng, text)
    return text


HOSTILE = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def hostile(text: str) -> bool:
    return len(text) > 256 or any(unicodedata.category(c) in HOSTILE and c != GS for c in text)


def specific(meaning: Interpretation) -> bool:
    """A refusal names the scan (quoted and escaped) and says why in its own words."""
    message = meaning.error or ""
    names_it = message.startswith(f"Scanned {shown(meaning.scan.text)}: ") or (
        meaning.scan.text == "" and message.startswith("Nothing was scanned")
    )
    why = message.split(": ", 1)[-1]
    leaks = ("Traceback", "Failed to", "ParseError", "None", "Error(")
    return (
        names_it
        and meaning.reason is not None
        and len(why) > 40
        and message.isprintable()
        and not any(leak in message for leak in leaks)
    )


def well_formed(meaning: Interpretation) -> bool:
    """What an accepted scan says is something a station can store and show."""

    def key(value: str | None, length: int) -> bool:
        return value is None or (
            len(value) == length
            and value.isascii()
            and value.isdigit()
            and int(value[-1]) == gs1_standard_check_digit(value[:-1])
        )

    def text(value: str | None) -> bool:
        return value is None or (0 < len(value) <= 20 and value.isascii() and value.isprintable())

    if meaning.error is not None or meaning.reason is not None:
        return False
    if meaning.kind is Kind.COMMAND:
        return meaning.command is not None
    if meaning.kind is Kind.BADGE:
        return meaning.code in {o.badge for o in OPERATORS}
    if meaning.kind is Kind.LOCATION:
        return meaning.code in {loc.code for loc in LOCATIONS}
    dates = all(d is None or isinstance(d, date) for d in (meaning.expiry, meaning.best_before))
    identified = bool(meaning.gtin or meaning.sscc or meaning.content_gtin or meaning.sku)
    return (
        identified
        and dates
        and key(meaning.gtin, 14)
        and key(meaning.content_gtin, 14)
        and key(meaning.sscc, 18)
        and text(meaning.lot)
        and text(meaning.serial)
        and (meaning.kind is Kind.LPN) == (meaning.sscc is not None)
    )


def fingerprint(engine: Engine) -> tuple[dict[str, int], str]:
    """Row counts and a checksum of every table's contents."""
    digest = hashlib.sha256()
    counts: dict[str, int] = {}
    with engine.connect() as c:
        for t in Base.metadata.sorted_tables:
            rows = c.execute(select(t).order_by(*t.primary_key.columns)).all()
            counts[t.name] = len(rows)
            digest.update(f"{t.name}:{rows!r}".encode())
    return counts, digest.hexdigest()


@pytest.mark.slow
def test_t10_interpretation_fuzz(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    engine = make_engine(sqlite_url)
    seed(engine)
    before = fingerprint(engine)
    rng = random.Random(SEED)
    crashes: list[str] = []
    generic: list[str] = []
    hostile_accepted: list[str] = []
    malformed: list[str] = []
    kinds: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    started = time.perf_counter()
    with engine.connect().execution_options(**{READONLY: True}) as connection:
        sqlite = connection.connection.dbapi_connection
        assert isinstance(sqlite, sqlite3.Connection)
        changes_before = sqlite.total_changes
        catalogue = SqlCatalogue(connection)
        for _ in range(INPUTS):
            text = generate(rng)
            try:
                meaning = interpret(Scan(text, Source.WEDGE, device="fuzz"), catalogue)
            except Exception as error:  # the point of the test: count every crash
                crashes.append(f"{text!r}: {error!r}")
                continue
            kinds[meaning.kind.value] += 1
            if meaning.accepted:
                if hostile(text):
                    hostile_accepted.append(repr(text))
                if not well_formed(meaning):
                    malformed.append(f"{text!r}: {meaning!r}")
            else:
                reasons[str(meaning.reason)] += 1
                if not specific(meaning):
                    generic.append(f"{text!r}: {meaning.error!r}")
        writes_seen_by_sqlite = sqlite.total_changes - changes_before
    seconds = time.perf_counter() - started
    after = fingerprint(engine)
    engine.dispose()
    db_writes = writes_seen_by_sqlite + (before != after)
    figures = {
        "test": "T10",
        "part": "interpretation",
        "inputs": INPUTS,
        "crashes": len(crashes),
        "refused": kinds["invalid"],
        "accepted": INPUTS - len(crashes) - kinds["invalid"],
        "generic_messages": len(generic),
        "hostile_accepted": len(hostile_accepted),
        "malformed_accepted": len(malformed),
        "db_writes": db_writes,
        "kinds": dict(sorted(kinds.items())),
        "reasons": dict(reasons.most_common()),
        "seconds": round(seconds, 1),
    }
    with capsys.disabled():
        print(json.dumps(figures))
    assert crashes[:5] == []
    assert generic[:5] == []
    assert hostile_accepted[:5] == []
    assert malformed[:5] == []
    assert db_writes == 0 and after == before
    # The run must have exercised both sides: plenty accepted, plenty refused for many reasons.
    assert kinds["invalid"] > INPUTS // 4 and kinds["item"] > INPUTS // 10
    assert {"badge", "location", "lpn", "command"} <= set(kinds)
    assert len(reasons) >= 15


def test_the_oracles_catch_what_they_are_for() -> None:
    """Negative controls: the checks above fail on a generic message, a raw bidi character, a
    leaked parser message, hostile text, and an accepted scan with a bad GTIN or an empty lot."""
    raw = Scan("A\u202eB", Source.WEDGE)
    good = interpret(raw)
    assert specific(good) and hostile(raw.text) and not hostile("A-01-01")
    assert not specific(replace(good, error="Invalid scan."))
    assert not specific(replace(good, error=f"Scanned {shown(raw.text)}: bad \u202e text " * 3))
    assert not specific(replace(good, error=(good.error or "") + " Failed to match '01'"))
    assert not specific(replace(good, reason=None))
    item = interpret(Scan("5901234123457", Source.WEDGE))
    assert well_formed(item)
    assert not well_formed(replace(item, gtin="05901234123458"))
    assert not well_formed(replace(item, lot=""))
    assert not well_formed(replace(item, kind=Kind.LPN))
