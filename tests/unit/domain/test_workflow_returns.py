"""The return rules of issue 9 as the worker sees them: a return names its order, carries a
reason code, is checked by the ledger against what the order shipped (a supervisor may accept
goods it never shipped, or goods with no order, as an unexpected return), and scrapping damaged
goods asks for confirmation. In-memory station, no database, no Qt."""

from __future__ import annotations

import pytest

from app.domain.commands import Return, ReturnReason, Scrap, Transfer
from app.domain.errors import Reason
from app.domain.interpret import CommandName, Interpretation, Kind
from app.domain.workflow import Entry, Level, Reply
from app.domain.workflows.returns import ReturnWorkflow, Step
from tests.support.fake_station import FakeStationData, context, meaning, outcome

GTIN = "09506000134352"
NOT_SHIPPED = (
    "SO-9 shipped 1 x SKU-A: 3 more cannot be returned against it; only a supervisor may accept "
    "them, as an unexpected return"
)


@pytest.fixture
def data() -> FakeStationData:
    data = FakeStationData()
    data.add_sku("SKU-A", GTIN)
    data.add_bin("B-01")
    return data


@pytest.fixture
def wf(data: FakeStationData) -> ReturnWorkflow:
    return ReturnWorkflow(context(data, "D001"))


def item() -> Interpretation:
    return meaning(Kind.ITEM, gtin=GTIN, sku="SKU-A")


def order(code: str = "SO-9") -> Interpretation:
    return meaning(Kind.ORDER, code=code)


def badge(code: str) -> Interpretation:
    return meaning(Kind.BADGE, code=code)


def cmd(name: CommandName, arg: str | None = None) -> Interpretation:
    return meaning(Kind.COMMAND, command=name, command_arg=arg)


def text(reply: Reply) -> str:
    return reply.feedback.text if reply.feedback else ""


def level(reply: Reply) -> Level | None:
    return reply.feedback.level if reply.feedback else None


def step(wf: ReturnWorkflow) -> Step:
    """The workflow's step, read afresh (not narrowed by an earlier assert)."""
    return wf.step


def sent(reply: Reply) -> Return:
    (command,) = reply.commands
    assert isinstance(command, Return)
    return command


def refused_not_shipped(wf: ReturnWorkflow) -> Return:
    """SO-9, 3 x SKU-A, wrong item: the ledger refuses it as not shipped."""
    wf.on_scan(order())
    wf.on_scan(cmd(CommandName.QTY, "3"))
    wf.on_scan(item())
    ret = sent(wf.on_scan(cmd(CommandName.REASON, "wrong_item")))
    reply = wf.on_outcome(
        ret, outcome(ret, ok=False, reason=Reason.NOT_SHIPPED.value, message=NOT_SHIPPED)
    )
    assert level(reply) is Level.ERROR
    assert text(reply).startswith("Return of 3 x SKU-A refused: SO-9 shipped 1 x SKU-A")
    assert "CONFIRM (or a supervisor's badge) to accept them now" in text(reply)
    assert step(wf) is Step.OFFER and wf.wants_badge and wf.busy
    return ret


# --- the order first, then a reason ---


def test_an_item_before_its_order_is_refused_and_the_order_can_follow(
    wf: ReturnWorkflow,
) -> None:
    reply = wf.on_scan(item())
    assert level(reply) is Level.ERROR and not reply.commands
    assert "Scan the order the goods came from first" in text(reply)
    assert "a supervisor may accept goods without an order as an unexpected return" in text(reply)
    assert reply.prompt.startswith("Scan the order, or CONFIRM for a supervisor to accept")
    reply = wf.on_scan(order())
    assert text(reply) == "1 x SKU-A for order SO-9: scan the reason code."
    assert reply.prompt.startswith("Why did 1 x SKU-A come back?")
    ret = sent(wf.on_scan(cmd(CommandName.REASON, "damaged")))
    assert (ret.order, ret.reason, ret.approved_by) == ("SO-9", ReturnReason.DAMAGED, None)


@pytest.mark.parametrize(
    ("scan", "reason"),
    [
        (cmd(CommandName.REASON, "wrong_item"), ReturnReason.WRONG_ITEM),
        (cmd(CommandName.REASON, "not_wanted"), ReturnReason.NOT_WANTED),
        (cmd(CommandName.REASON, "defective"), ReturnReason.DEFECTIVE),
        (cmd(CommandName.REASON, "other"), ReturnReason.OTHER),
        (cmd(CommandName.DAMAGED), ReturnReason.DAMAGED),
    ],
)
def test_every_reason_code(wf: ReturnWorkflow, scan: Interpretation, reason: ReturnReason) -> None:
    wf.on_scan(order())
    wf.on_scan(item())
    assert sent(wf.on_scan(scan)).reason is reason


def test_a_count_reason_is_not_a_return_reason_and_cancel_sends_nothing(
    wf: ReturnWorkflow,
) -> None:
    wf.on_scan(order())
    wf.on_scan(item())
    for scan in (cmd(CommandName.REASON, "lost"), location_scan(), cmd(CommandName.CONFIRM)):
        reply = wf.on_scan(scan)
        assert level(reply) is Level.ERROR and not reply.commands
        assert step(wf) is Step.REASON
    assert "not a return reason" in text(wf.on_scan(cmd(CommandName.REASON, "lost")))
    assert wf.on_entry("4").feedback is not None and step(wf) is Step.REASON
    reply = wf.on_scan(cmd(CommandName.CANCEL))
    assert text(reply) == "Return of 1 x SKU-A cancelled; nothing was sent."
    assert step(wf) is Step.ITEM and wf.order == "SO-9" and reply.entry is Entry.QUANTITY


def location_scan() -> Interpretation:
    return meaning(Kind.LOCATION, code="B-01")


# --- refused as not shipped: a supervisor may accept it ---


def test_not_shipped_then_a_supervisor_accepts_it(wf: ReturnWorkflow) -> None:
    first = refused_not_shipped(wf)
    reply = wf.on_scan(cmd(CommandName.CONFIRM))
    assert reply.prompt.startswith("Supervisor: scan your badge to approve accepting 3 x SKU-A")
    assert "for SO-9 as an unexpected return" in reply.prompt and wf.wants_badge
    reply = wf.on_scan(badge("D001"))
    assert level(reply) is Level.ERROR and "not an active supervisor" in text(reply)
    reply = wf.on_scan(badge("S001"))
    assert reply.entry is Entry.PIN and not wf.wants_badge
    reply = wf.on_entry("0000")
    assert level(reply) is Level.WARNING and "Wrong PIN" in text(reply) and not reply.commands
    again = sent(wf.on_entry("123456"))
    assert again.tx_id != first.tx_id and again.approved_by == "S001"
    assert (again.order, again.sku, again.qty, again.reason) == (
        "SO-9",
        "SKU-A",
        3,
        ReturnReason.WRONG_ITEM,
    )
    reply = wf.on_outcome(again, outcome(again, result={"unexpected": True}))
    assert text(reply) == ("Returned 3 x SKU-A to RET-1 as an unexpected return, accepted by S001.")
    assert reply.prompt.startswith("Inspect 3 x SKU-A")
    (restock,) = wf.on_scan(location_scan()).commands
    assert isinstance(restock, Transfer) and restock.from_location == "RET-1"


def test_not_shipped_accepted_by_a_badge_scan_straight_away(wf: ReturnWorkflow) -> None:
    refused_not_shipped(wf)
    reply = wf.on_scan(badge("S002"))
    assert reply.prompt == "Supervisor S002: enter your PIN on the keypad."
    assert sent(wf.on_entry("567890")).approved_by == "S002"


def test_the_operator_cannot_accept_their_own_return(data: FakeStationData) -> None:
    wf = ReturnWorkflow(context(data, "S001"))
    refused_not_shipped(wf)
    reply = wf.on_scan(badge("S001"))
    assert level(reply) is Level.ERROR and "cannot approve their own work" in text(reply)
    assert wf.wants_badge and not reply.commands


def test_not_shipped_set_aside(wf: ReturnWorkflow) -> None:
    refused_not_shipped(wf)
    wf.on_scan(cmd(CommandName.CONFIRM))
    reply = wf.on_scan(cmd(CommandName.DONE))
    assert level(reply) is Level.ERROR and "waiting for a supervisor" in text(reply)
    reply = wf.on_scan(cmd(CommandName.CANCEL))
    assert step(wf) is Step.OFFER and "CONFIRM to ask again" in text(reply)
    reply = wf.on_scan(cmd(CommandName.CANCEL))
    assert level(reply) is Level.WARNING
    assert text(reply) == "3 x SKU-A not returned: set the goods aside for a supervisor."
    assert step(wf) is Step.ITEM and wf.order == "SO-9" and not wf.wants_badge


def test_an_accepted_return_refused_again_goes_back_to_the_item(wf: ReturnWorkflow) -> None:
    refused_not_shipped(wf)
    wf.on_scan(badge("S001"))
    again = sent(wf.on_entry("123456"))
    reply = wf.on_outcome(
        again, outcome(again, ok=False, reason="lot_not_tracked", message="not tracked by lot")
    )
    assert level(reply) is Level.ERROR and "Set the goods aside" in text(reply)
    assert step(wf) is Step.ITEM


def test_other_refusals_offer_no_override(wf: ReturnWorkflow) -> None:
    wf.on_scan(order())
    wf.on_scan(item())
    ret = sent(wf.on_scan(cmd(CommandName.REASON, "other")))
    reply = wf.on_outcome(ret, outcome(ret, ok=False, reason="unknown_order", message="no SO-9"))
    assert "no SO-9" in text(reply) and step(wf) is Step.ITEM and not wf.wants_badge


def test_goods_without_an_order_accepted_by_a_supervisor(wf: ReturnWorkflow) -> None:
    wf.on_scan(item())
    reply = wf.on_scan(cmd(CommandName.CONFIRM))
    assert "accepting 1 x SKU-A with no order as an unexpected return" in reply.prompt
    wf.on_scan(badge("S001"))
    reply = wf.on_entry("123456")
    assert not reply.commands and text(reply).startswith("S001 accepts 1 x SKU-A")
    assert reply.prompt.startswith("Why did 1 x SKU-A come back?")
    assert "Returning 1 x SKU-A, accepted by S001" in reply.lines
    ret = sent(wf.on_scan(cmd(CommandName.REASON, "other")))
    assert (ret.order, ret.approved_by, ret.reason) == (None, "S001", ReturnReason.OTHER)


# --- damaged goods are scrapped only after CONFIRM ---


def test_scrap_asks_for_confirmation(wf: ReturnWorkflow) -> None:
    wf.on_scan(order())
    wf.on_scan(item())
    ret = sent(wf.on_scan(cmd(CommandName.REASON, "damaged")))
    wf.on_outcome(ret, outcome(ret))
    reply = wf.on_scan(cmd(CommandName.DAMAGED))
    assert text(reply) == "Scrap 1 x SKU-A? CONFIRM to scrap, CANCEL to keep inspecting."
    assert not reply.commands and step(wf) is Step.SCRAP
    assert level(wf.on_scan(location_scan())) is Level.ERROR and step(wf) is Step.SCRAP
    reply = wf.on_scan(cmd(CommandName.CANCEL))
    assert text(reply) == "1 x SKU-A not scrapped: keep inspecting." and step(wf) is Step.INSPECT
    wf.on_scan(cmd(CommandName.DAMAGED))
    (scrap,) = wf.on_scan(cmd(CommandName.CONFIRM)).commands
    assert isinstance(scrap, Scrap) and scrap.qty == 1 and scrap.from_location == "RET-1"
    reply = wf.on_outcome(scrap, outcome(scrap))
    assert text(reply) == "Scrapped 1 x SKU-A." and step(wf) is Step.ITEM
