"""Transfer and return modes as the worker sees them: source, items, target; a return into the
returns lane, then restock or scrap; and the exact commands they submit, against the in-memory
station (no database, no Qt)."""

from __future__ import annotations

import pytest

from app.domain.commands import Return, ReturnReason, Scrap, Transfer
from app.domain.interpret import CommandName, Interpretation, Kind, StationMode
from app.domain.model import Tracking
from app.domain.workflow import Entry, Level, Reply, StationInfo, TagRead
from app.domain.workflows.returns import ReturnWorkflow
from app.domain.workflows.transfer import TransferWorkflow
from tests.support.fake_station import FakeStationData, context, meaning, outcome

GTIN = {"SKU-A": "09506000134352", "SKU-L": "09506000134376"}


@pytest.fixture
def data() -> FakeStationData:
    data = FakeStationData()
    data.add_sku("SKU-A", GTIN["SKU-A"])
    data.add_sku("SKU-L", GTIN["SKU-L"], Tracking.LOT)
    data.add_sku("SKU-S", None, Tracking.SERIAL)
    data.add_bin("B-01")
    data.add_bin("B-02")
    return data


def location(code: str) -> Interpretation:
    return meaning(Kind.LOCATION, code=code)


def item(sku: str, **fields: object) -> Interpretation:
    return meaning(Kind.ITEM, gtin=GTIN.get(sku), sku=sku, **fields)


def cmd(name: CommandName, arg: str | None = None) -> Interpretation:
    return meaning(Kind.COMMAND, command=name, command_arg=arg)


def level(reply: Reply) -> Level | None:
    return reply.feedback.level if reply.feedback else None


def text(reply: Reply) -> str:
    return reply.feedback.text if reply.feedback else ""


# --- transfer ---


def test_transfer_moves_the_scanned_items_from_source_to_target(data: FakeStationData) -> None:
    wf = TransferWorkflow(context(data, "D001"))
    assert wf.mode is StationMode.TRANSFER
    assert wf.start().prompt == "Scan the location to move goods from."
    wf.on_scan(location("B-01"))
    assert wf.busy
    wf.on_scan(item("SKU-A"))
    wf.on_scan(cmd(CommandName.QTY, "3"))
    reply = wf.on_scan(item("SKU-A"))
    assert reply.lines == ("From B-01", "4 x SKU-A") and reply.entry is Entry.QUANTITY
    assert reply.prompt.startswith("Scan the items to move from B-01")
    reply = wf.on_scan(location("B-02"))
    (transfer,) = reply.commands
    assert isinstance(transfer, Transfer)
    assert (transfer.sku, transfer.qty, transfer.lot, transfer.serials) == ("SKU-A", 4, None, ())
    assert (transfer.from_location, transfer.to_location) == ("B-01", "B-02")
    assert (transfer.station, transfer.operator) == ("ST-1", "D001")
    assert reply.prompt == "Scan the location to move goods from." and not wf.busy
    done = wf.on_outcome(transfer, outcome(transfer))
    assert level(done) is Level.OK and text(done) == "Moved 4 x SKU-A from B-01 to B-02."


def test_transfer_one_command_per_sku_and_lot_with_serials_and_gs1_count(
    data: FakeStationData,
) -> None:
    wf = TransferWorkflow(context(data))
    wf.on_scan(location("B-01"))
    wf.on_scan(item("SKU-L", lot="L1", count=6))
    wf.on_scan(item("SKU-S", serial="SN1"))
    again = wf.on_scan(item("SKU-S", serial="SN1"))
    assert level(again) is Level.ERROR and "SN1 is already scanned" in text(again)
    wf.on_scan(item("SKU-S", serial="SN2"))
    lot, serial = wf.on_scan(location("B-02")).commands
    assert isinstance(lot, Transfer) and isinstance(serial, Transfer)
    assert (lot.sku, lot.qty, lot.lot) == ("SKU-L", 6, "L1")
    assert (serial.sku, serial.qty, serial.serials) == ("SKU-S", 2, ("SN1", "SN2"))
    wf.on_outcome(lot, outcome(lot))
    reply = wf.on_outcome(serial, outcome(serial, ok=False, message="B-02 is full"))
    assert level(reply) is Level.ERROR
    assert "Moved 6 x SKU-L lot L1 from B-01 to B-02." in text(reply)
    assert "Moving 2 x SKU-S from B-01 to B-02 was refused: B-02 is full." in text(reply)


def test_transfer_refuses_the_same_location_and_an_empty_move(data: FakeStationData) -> None:
    wf = TransferWorkflow(context(data))
    wf.on_scan(location("B-01"))
    empty = wf.on_scan(location("B-02"))
    assert level(empty) is Level.ERROR and "nothing is scanned to move" in text(empty)
    wf.on_scan(item("SKU-A"))
    same = wf.on_scan(location("B-01"))
    assert level(same) is Level.ERROR and same.commands == ()
    assert "B-01, the source of this transfer" in text(same)
    undo = wf.on_scan(cmd(CommandName.UNDO))
    assert "Took back 1 x SKU-A" in text(undo) and undo.lines == ("From B-01",)
    cancel = wf.on_scan(cmd(CommandName.CANCEL))
    assert level(cancel) is Level.WARNING and "nothing was moved" in text(cancel)
    assert not wf.busy


def test_transfer_refused_by_the_ledger_or_queued(data: FakeStationData) -> None:
    wf = TransferWorkflow(context(data))
    for answer in ("refused", None):
        wf.on_scan(location("B-01"))
        wf.on_scan(item("SKU-A"))
        (transfer,) = wf.on_scan(location("B-02")).commands
        if answer is None:
            reply = wf.on_outcome(transfer, None)
            assert level(reply) is Level.WARNING and "queued" in text(reply)
        else:
            msg = "B-01 holds 0 of SKU-A; 0 can be taken, not 1. Check the bin and the item, or count the bin."
            reply = wf.on_outcome(transfer, outcome(transfer, ok=False, message=msg))
            assert level(reply) is Level.ERROR and msg in text(reply)
        assert reply.prompt == "Scan the location to move goods from."


def test_transfer_takes_no_rfid(data: FakeStationData) -> None:
    reply = TransferWorkflow(context(data)).on_tags([TagRead("30")])
    assert level(reply) is Level.ERROR and "does not take RFID" in text(reply)


# --- return ---


def test_return_then_restock_into_a_bin(data: FakeStationData) -> None:
    wf = ReturnWorkflow(context(data, "D001"))
    assert wf.mode is StationMode.RETURN
    assert wf.start().prompt == "Scan the order the returned goods came from."
    wf.on_scan(meaning(Kind.ORDER, code="SO-9"))
    wf.on_scan(cmd(CommandName.QTY, "2"))
    reply = wf.on_scan(item("SKU-L", lot="L4"))
    assert not reply.commands and reply.prompt.startswith("Why did 2 x SKU-L lot L4 come back?")
    reply = wf.on_scan(cmd(CommandName.REASON, "not_wanted"))
    (ret,) = reply.commands
    assert isinstance(ret, Return)
    assert (ret.sku, ret.qty, ret.lot, ret.serials) == ("SKU-L", 2, "L4", ())
    assert (ret.to_location, ret.order, ret.operator) == ("RET-1", "SO-9", "D001")
    assert (ret.reason, ret.approved_by) == (ReturnReason.NOT_WANTED, None)

    reply = wf.on_outcome(ret, outcome(ret))
    assert level(reply) is Level.OK and text(reply) == "Returned 2 x SKU-L lot L4 to RET-1."
    assert (
        reply.prompt
        == "Inspect 2 x SKU-L lot L4: scan a bin to restock it, or DAMAGED to scrap it."
    )
    assert reply.lines == ("Order SO-9", "In RET-1: 2 x SKU-L lot L4")

    lane = wf.on_scan(location("RET-1"))
    assert level(lane) is Level.ERROR and "scan a bin label" in text(lane)
    reply = wf.on_scan(location("B-02"))
    (restock,) = reply.commands
    assert isinstance(restock, Transfer)
    assert (restock.sku, restock.qty, restock.lot) == ("SKU-L", 2, "L4")
    assert (restock.from_location, restock.to_location) == ("RET-1", "B-02")
    reply = wf.on_outcome(restock, outcome(restock))
    assert level(reply) is Level.OK and text(reply) == "Restocked 2 x SKU-L lot L4 into B-02."
    assert reply.prompt.startswith("Scan the returned items of SO-9")
    assert reply.lines == ("Order SO-9",)
    done = wf.on_scan(cmd(CommandName.DONE))
    assert text(done) == "Return for SO-9 done." and not wf.busy


def start_return(wf: ReturnWorkflow, scan: Interpretation, reason: str = "defective") -> Return:
    """Order SO-9, the item, the reason: the Return the workflow sends."""
    wf.on_scan(meaning(Kind.ORDER, code="SO-9"))
    wf.on_scan(scan)
    (ret,) = wf.on_scan(cmd(CommandName.REASON, reason)).commands
    assert isinstance(ret, Return)
    return ret


def test_damaged_return_is_scrapped(data: FakeStationData) -> None:
    wf = ReturnWorkflow(context(data))
    ret = start_return(wf, item("SKU-S", serial="SN7"))
    assert ret.serials == ("SN7",) and ret.order == "SO-9"
    wf.on_outcome(ret, outcome(ret))
    ask = wf.on_scan(cmd(CommandName.DAMAGED))
    assert not ask.commands and level(ask) is Level.WARNING
    assert ask.prompt == "Scrap 1 x SKU-S? CONFIRM to scrap, CANCEL to keep inspecting."
    (scrap,) = wf.on_scan(cmd(CommandName.CONFIRM)).commands
    assert isinstance(scrap, Scrap)
    assert (scrap.sku, scrap.qty, scrap.serials) == ("SKU-S", 1, ("SN7",))
    assert (scrap.from_location, scrap.reason) == ("RET-1", "damaged on return")
    reply = wf.on_outcome(scrap, outcome(scrap))
    assert text(reply) == "Scrapped 1 x SKU-S." and reply.prompt.startswith("Scan the returned")


def test_queued_return_is_still_inspected_and_a_refused_restock_asks_again(
    data: FakeStationData,
) -> None:
    wf = ReturnWorkflow(context(data))
    ret = start_return(wf, item("SKU-A"))
    reply = wf.on_outcome(ret, None)
    assert level(reply) is Level.WARNING and "queued" in text(reply)
    assert reply.prompt.startswith("Inspect 1 x SKU-A")
    (restock,) = wf.on_scan(location("B-01")).commands
    reply = wf.on_outcome(restock, outcome(restock, ok=False, message="B-01 is full"))
    assert level(reply) is Level.ERROR and "B-01 is full" in text(reply)
    assert reply.prompt.startswith("Inspect 1 x SKU-A")
    (restock,) = wf.on_scan(location("B-02")).commands
    assert wf.on_outcome(restock, None).prompt.startswith("Scan the returned item")


def test_refused_return_goes_back_to_the_item_scan(data: FakeStationData) -> None:
    wf = ReturnWorkflow(context(data))
    ret = start_return(wf, item("SKU-A"))
    reply = wf.on_outcome(ret, outcome(ret, ok=False, message="serial SN1 of SKU-A is in stock"))
    assert level(reply) is Level.ERROR and "serial SN1 of SKU-A is in stock" in text(reply)
    assert reply.prompt.startswith("Scan the returned item") and wf.step == "item"


def test_no_returns_lane_no_returns(data: FakeStationData) -> None:
    data.stations["ST-2"] = StationInfo("ST-2", "A", "DOCK-1", "QUAR-1", None)
    wf = ReturnWorkflow(context(data, station="ST-2"))
    start = wf.start()
    assert level(start) is Level.ERROR and "Station ST-2 has no returns lane" in text(start)
    reply = wf.on_scan(item("SKU-A"))
    assert level(reply) is Level.ERROR and reply.commands == ()
    assert "takes no returns" in text(reply)
