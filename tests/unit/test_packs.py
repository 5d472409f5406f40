"""Barcodes with pack quantities (issue 12, point 3), without a database: what a scan of a case,
an old alias of a supplier's EAN or a content label (02)+(37) means, how many units the next
item scan stands for (Quantity), and what pick, count and return do with a case."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from app.domain.commands import PostPick, Return, ReturnReason
from app.domain.gs1 import Gs1Problem, gtin_forms
from app.domain.interpret import (
    Barcode,
    CodeMatch,
    CommandName,
    Interpretation,
    Kind,
    interpret,
)
from app.domain.model import Tracking
from app.domain.quantities import MAX_QUANTITY
from app.domain.scan import GS, Scan, Source
from app.domain.workflow import Feedback, Holding, Level, Reply
from app.domain.workflows.common import Item, Quantity, resolve_item, tracking_problem
from app.domain.workflows.count import CountWorkflow
from app.domain.workflows.pick import PickWorkflow
from app.domain.workflows.returns import ReturnWorkflow
from tests.support.fake_station import (
    FakeStationData,
    context,
    meaning,
    pick_line,
    taken,
)

EAN = "4006381333962"
"""A supplier's EAN-13, which old data holds as an alias (13 digits, kind alias)."""
UNIT = "05901234123457"
CASE = "10590123412349"
"""The GTIN-14 of a case of 12 x WIDGET."""
MILK_CASE = "14006381333969"
"""A case of 6 x MILK (lot-tracked)."""


@dataclass
class Catalogue:
    """The warehouse's barcodes in memory: code -> (SKU, kind, pack)."""

    barcodes: dict[str, tuple[str, str, int]] = field(
        default_factory=lambda: {
            UNIT: ("WIDGET", "gtin", 1),
            CASE: ("WIDGET", "gtin", 12),
            EAN: ("MILK", "alias", 1),
            MILK_CASE: ("MILK", "gtin", 6),
            "WIDGET-BOX": ("WIDGET", "alias", 24),
        }
    )
    asked: list[tuple[str, ...]] = field(default_factory=list)

    def identify(self, code: str) -> CodeMatch:
        sku, kind, pack = self.barcodes.get(code, (None, "", 1))
        return CodeMatch(alias_sku=sku, alias_pack=pack) if kind == "alias" else CodeMatch()

    def barcode(self, codes: Sequence[str]) -> Barcode | None:
        self.asked.append(tuple(codes))
        for code in codes:
            if code in self.barcodes:
                sku, kind, pack = self.barcodes[code]
                return Barcode(code, sku, pack, kind)
        return None


def scan(text: str, catalogue: Catalogue | None = None) -> Interpretation:
    return interpret(Scan(text, Source.WEDGE, "test"), catalogue or Catalogue())


# --- what a scan means ------------------------------------------------------------------------


def test_a_gtin_is_written_in_the_forms_its_leading_zeros_allow() -> None:
    assert gtin_forms("04006381333962") == ("04006381333962", EAN)
    assert gtin_forms("00036000291452") == ("00036000291452", "0036000291452", "036000291452")
    assert gtin_forms("00000096385074") == (
        "00000096385074",
        "0000096385074",
        "000096385074",
        "96385074",
    )
    assert gtin_forms(CASE) == (CASE,)
    assert gtin_forms("BOLT-ALIAS") == ()
    assert gtin_forms("4006381333962") == ()  # only 14 digits are a GTIN-14


@pytest.mark.parametrize("text", [CASE, "]E0" + CASE, f"(01){CASE}", f"]C101{CASE}10L1"])
def test_a_case_gtin_resolves_to_its_sku_and_pack(text: str) -> None:
    meaning = scan(text)
    assert (meaning.kind, meaning.gtin, meaning.sku, meaning.pack) == (
        Kind.ITEM,
        CASE,
        "WIDGET",
        12,
    )


def test_a_unit_gtin_is_a_pack_of_one_and_an_unknown_one_has_no_sku() -> None:
    assert (scan("5901234123457").sku, scan("5901234123457").pack) == ("WIDGET", 1)
    unknown = scan("09506000134352")
    assert (unknown.kind, unknown.sku, unknown.pack) == (Kind.ITEM, None, 1)
    alone = interpret(Scan(CASE, Source.WEDGE, "test"))  # no catalogue: nothing known of packs
    assert (alone.gtin, alone.sku, alone.pack) == (CASE, None, 1)


@pytest.mark.parametrize(
    "text", [EAN, "0" + EAN, "]E0" + EAN, f"(01)0{EAN}(10)L7", f"https://id.gs1.org/01/0{EAN}"]
)
def test_a_suppliers_ean_kept_as_an_alias_resolves(text: str) -> None:
    """Old data: the EAN was imported as an alias of 13 digits; a scan decodes as the GTIN
    04006381333962, which no GTIN row has, so the alias rows are asked too."""
    catalogue = Catalogue()
    meaning = scan(text, catalogue)
    assert (meaning.kind, meaning.gtin, meaning.sku, meaning.pack) == (
        Kind.ITEM,
        "0" + EAN,
        "MILK",
        1,
    )
    assert catalogue.asked[-1][0] == "0" + EAN  # the GTIN row first, then the other forms
    assert EAN in catalogue.asked[-1]


def test_an_alias_stored_under_the_14_digit_form_resolves_too() -> None:
    catalogue = Catalogue(barcodes={"0" + EAN: ("MILK", "alias", 1)})
    assert scan(EAN, catalogue).sku == "MILK"


def test_a_gtin_row_wins_over_an_alias_of_another_form() -> None:
    catalogue = Catalogue(barcodes={"0" + EAN: ("MILK", "gtin", 1), EAN: ("OLD-MILK", "alias", 1)})
    assert scan(EAN, catalogue).sku == "MILK"


def test_an_alias_word_carries_its_pack() -> None:
    meaning = scan("WIDGET-BOX")
    assert (meaning.kind, meaning.sku, meaning.pack, meaning.code) == (
        Kind.ITEM,
        "WIDGET",
        24,
        "WIDGET-BOX",
    )


@pytest.mark.parametrize(
    ("text", "lot", "expiry"),
    [
        (f"(02)0{EAN}(37)06", None, None),
        (f"(02)0{EAN}(37)06(10)L1", "L1", None),
        (
            f"(02)0{EAN}(17)271231(37)06{GS}10L1".replace("(", "").replace(")", ""),
            "L1",
            "2027-12-31",
        ),
        (f"]C1020{EAN}17271231376{GS}10L1", "L1", "2027-12-31"),
    ],
)
def test_a_content_label_without_an_sscc_is_an_item_of_its_content_gtin(
    text: str, lot: str | None, expiry: str | None
) -> None:
    meaning = scan(text)
    assert meaning.accepted, meaning.error
    assert (meaning.kind, meaning.sscc, meaning.gtin) == (Kind.ITEM, None, None)
    assert (meaning.content_gtin, meaning.sku, meaning.count) == ("0" + EAN, "MILK", 6)
    assert meaning.lot == lot
    assert (meaning.expiry.isoformat() if meaning.expiry else None) == expiry


def test_a_licence_plate_takes_the_pack_of_its_content_gtin() -> None:
    meaning = scan(f"(00)106141412345678908(02){MILK_CASE}(37)4")
    assert (meaning.kind, meaning.sku, meaning.pack, meaning.count) == (Kind.LPN, "MILK", 6, 4)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (f"(00)106141412345678908(02){CASE}", "requires the count (37)"),
        (f"(02){CASE}(10)L1", "requires the count (37)"),
        ("(00)106141412345678908(37)12", "has no content GTIN"),
    ],
)
def test_a_content_gtin_and_a_count_need_each_other(text: str, words: str) -> None:
    meaning = scan(text)
    assert (meaning.kind, meaning.reason) == (Kind.INVALID, Gs1Problem.MISSING_PAIR)
    assert meaning.error is not None and words in meaning.error
    assert "ask for a correct label" in meaning.error


# --- units: Quantity -------------------------------------------------------------------------


def widget(pack: int = 1, count: int | None = None) -> Item:
    data = FakeStationData()
    return Item(data.add_sku("WIDGET", UNIT), None, None, count, None, pack)


@pytest.mark.parametrize(
    ("pack", "count", "pending", "default", "units"),
    [
        (1, None, None, 1, 1),  # a unit barcode, bare: the step's default
        (1, None, None, 40, 40),  # ... whatever the step's default is
        (12, None, None, 1, 12),  # a case, bare: one case
        (12, None, None, 40, 12),
        (12, None, 3, 1, 36),  # QTY 3 and a case of 12
        (1, None, 3, 1, 3),
        (12, 6, None, 1, 72),  # (37)06 of a case of 12
        (12, 6, 3, 1, 72),  # the label's count wins over QTY
        (1, 6, None, 1, 6),
    ],
)
def test_quantity_counts_packs_of_the_scanned_barcode(
    pack: int, count: int | None, pending: int | None, default: int, units: int
) -> None:
    qty = Quantity()
    if pending is not None:
        qty.set(pending)
    item = widget(pack, count)
    assert qty.peek(item, default) == units
    assert qty.pending == pending  # peek keeps it
    assert qty.take(item, default) == units
    assert qty.pending is None  # take uses it up
    bare = (count or 1) * pack if (pack > 1 or count) else default
    assert qty.take(item, default) == bare


def test_the_units_of_a_case_are_said_in_cases() -> None:
    assert widget(12).packs(12) == " (1 case of 12)"
    assert widget(12).packs(36) == " (3 cases of 12)"
    assert widget(12).packs(5) == ""  # not whole cases: no case count
    assert widget(1).packs(12) == ""


def test_a_quantity_beyond_what_the_ledger_keeps_is_refused_before_any_command() -> None:
    item = widget(1000, 99_999_999)
    units = Quantity().peek(item)
    assert units > MAX_QUANTITY
    problem = tracking_problem(item, units)
    assert problem is not None and problem.level is Level.ERROR
    assert "(99999999 cases of 1000)" in problem.text and "smaller quantity" in problem.text
    assert tracking_problem(item, MAX_QUANTITY) is None


def test_resolve_item_takes_the_pack_and_reads_content_labels() -> None:
    data = FakeStationData()
    data.add_sku("MILK", "0" + EAN, Tracking.LOT)
    ctx = context(data)
    item = resolve_item(ctx, scan(f"(02)0{EAN}(37)06(10)L1"))
    assert isinstance(item, Item)
    assert (item.sku.code, item.count, item.lot, item.pack) == ("MILK", 6, "L1", 1)
    case = resolve_item(ctx, scan(f"(02){MILK_CASE}(37)06(10)L1"))
    assert isinstance(case, Item) and (case.pack, Quantity().peek(case)) == (6, 36)
    unknown = resolve_item(ctx, scan("(02)09506000134352(37)2"))
    assert isinstance(unknown, Feedback)
    assert "No item in the catalogue has barcode 09506000134352" in unknown.text


# --- the workflows ----------------------------------------------------------------------------


def case(sku: str, pack: int, **fields: object) -> Interpretation:
    return meaning(Kind.ITEM, gtin=CASE, sku=sku, pack=pack, **fields)


def cmd(name: CommandName, arg: str | None = None) -> Interpretation:
    return meaning(Kind.COMMAND, command=name, command_arg=arg)


def text(reply: Reply) -> str:
    return reply.feedback.text if reply.feedback else ""


def picking(qty: int) -> tuple[PickWorkflow, FakeStationData]:
    """A picker at bin B-07 for line 1 of SO-1: `qty` x WIDGET."""
    data = FakeStationData()
    data.add_sku("WIDGET", UNIT)
    data.add_bin("B-07")
    wf = PickWorkflow(context(data, "P001"))
    take = wf.on_scan(meaning(Kind.ORDER, code="SO-1")).commands[0]
    wf.on_outcome(take, taken(data, take, pick_line(11, "SO-1", 1, "WIDGET", "B-07", qty, 70)))
    wf.on_scan(meaning(Kind.LOCATION, code="OUT-1"))
    wf.on_scan(meaning(Kind.LOCATION, code="B-07"))
    return wf, data


def test_two_case_scans_pick_a_line_of_24() -> None:
    wf, _ = picking(24)
    first = wf.on_scan(case("WIDGET", 12))
    assert first.commands == () and first.feedback is not None
    assert first.feedback.level is Level.OK
    assert text(first) == "Picked 12 x WIDGET (1 case of 12): 12 of 24 so far."
    second = wf.on_scan(case("WIDGET", 12))
    post = second.commands[0]
    assert isinstance(post, PostPick) and post.qty == 24
    assert "Picked 12 x WIDGET (1 case of 12). Line done: 24 x WIDGET" in text(second)


def test_a_case_that_would_pick_more_than_is_left_is_refused_and_nothing_changes() -> None:
    wf, _ = picking(20)
    wf.on_scan(case("WIDGET", 12))
    refused = wf.on_scan(case("WIDGET", 12))
    assert refused.feedback is not None and refused.feedback.level is Level.ERROR
    assert refused.commands == ()
    assert "that is 12 x WIDGET (1 case of 12), and only 8 more are needed" in text(refused)
    assert (
        "Nothing was picked: put the case back, and pick the 8 left as 8 single units by "
        "their own barcode." in text(refused)
    )
    assert wf.walk.picked == 12
    assert "Picked 12 of 20" in refused.lines
    units = [meaning(Kind.ITEM, gtin=UNIT, sku="WIDGET")] * 8
    replies = [wf.on_scan(u) for u in units]
    post = replies[-1].commands[0]
    assert isinstance(post, PostPick) and post.qty == 20


def test_qty_then_a_case_counts_cases() -> None:
    wf, _ = picking(48)
    wf.on_scan(cmd(CommandName.QTY, "3"))
    reply = wf.on_scan(case("WIDGET", 12))
    assert text(reply) == "Picked 36 x WIDGET (3 cases of 12): 36 of 48 so far."


def test_counting_a_case_counts_its_units() -> None:
    data = FakeStationData()
    data.add_sku("WIDGET", UNIT)
    data.add_bin("B-01", Holding("WIDGET", None, 24))
    wf = CountWorkflow(context(data, "C001"))
    wf.on_scan(meaning(Kind.LOCATION, code="B-01"))
    reply = wf.on_scan(case("WIDGET", 12))
    assert text(reply) == "Counted 12 x WIDGET (1 case of 12): 12 so far."
    reply = wf.on_scan(case("WIDGET", 12, count=1))
    assert text(reply) == "Counted 12 x WIDGET (1 case of 12): 24 so far."
    done = wf.on_scan(cmd(CommandName.DONE))
    assert "0 adjustment(s)" in text(done)  # 24 counted, 24 expected: nothing to adjust


def test_a_returned_case_returns_its_units() -> None:
    data = FakeStationData()
    data.add_sku("WIDGET", UNIT)
    wf = ReturnWorkflow(context(data))
    wf.on_scan(meaning(Kind.ORDER, code="SO-9"))
    reply = wf.on_scan(case("WIDGET", 12))
    assert text(reply) == "12 x WIDGET (1 case of 12) for order SO-9: scan the reason code."
    sent = wf.on_scan(cmd(CommandName.REASON, ReturnReason.WRONG_ITEM.value))
    command = sent.commands[0]
    assert isinstance(command, Return) and (command.sku, command.qty) == ("WIDGET", 12)
