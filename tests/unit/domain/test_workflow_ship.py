"""Ship mode as the dock worker sees it: an order (or the outbound location holding it) on screen
with what is staged against what was ordered, CONFIRM, a supervisor for a short shipment, a
supervisor's CANCELORDER with the putaway list, and every refusal leaving the station ready for
the next order; against the in-memory station (no database, no Qt)."""

from __future__ import annotations

from typing import Any

import pytest

from app.domain.commands import CancelOrder, Command, ShipOrder
from app.domain.interpret import CommandName, Interpretation, Kind, StationMode
from app.domain.orders import OrderState
from app.domain.workflow import Entry, Level, Reply, Shipment, ShipmentLine, StagedGoods
from app.domain.workflows.ship import ShipWorkflow
from tests.support.fake_station import FakeStationData, context, meaning, outcome


def picked(code: str, *lines: tuple[str, int, int], where: str = "OUT-1") -> Shipment:
    """A picked order: (sku, ordered, staged) per line, all staged in `where`."""
    return Shipment(
        code,
        OrderState.PICKED,
        tuple(
            ShipmentLine(n, sku, ordered, staged, 0, staged)
            for n, (sku, ordered, staged) in enumerate(lines, start=1)
        ),
        tuple(StagedGoods(where, sku, None, staged) for sku, _, staged in lines if staged),
    )


@pytest.fixture
def data() -> FakeStationData:
    data = FakeStationData()
    data.locations["STAGE-1"] = "staging"
    data.add_bin("B-01")
    data.shipments["SO-1"] = picked("SO-1", ("BOLT", 3, 3), ("NUT", 2, 2))
    return data


def order(code: str) -> Interpretation:
    return meaning(Kind.ORDER, code=code)


def location(code: str) -> Interpretation:
    return meaning(Kind.LOCATION, code=code)


def badge(code: str) -> Interpretation:
    return meaning(Kind.BADGE, code=code)


def cmd(name: CommandName) -> Interpretation:
    return meaning(Kind.COMMAND, command=name)


def level(reply: Reply) -> Level | None:
    return reply.feedback.level if reply.feedback else None


def text(reply: Reply) -> str:
    return reply.feedback.text if reply.feedback else ""


def only(reply: Reply) -> Command:
    (command,) = reply.commands
    return command


def shipped(command: Command, **result: Any) -> Any:
    return outcome(command, message="shipped", result=result)


def test_an_order_shows_each_line_staged_against_ordered_and_confirm_ships_it(
    data: FakeStationData,
) -> None:
    wf = ShipWorkflow(context(data, "D001"))
    assert wf.mode is StationMode.SHIP
    start = wf.start()
    assert start.prompt.startswith("Scan the order to ship")
    assert start.lines == ("Picked, waiting to ship: SO-1",)
    shown = wf.on_scan(order("SO-1"))
    assert level(shown) is Level.OK and "5 unit(s) of SO-1 staged in OUT-1" in text(shown)
    assert shown.prompt == "CONFIRM to ship SO-1, or CANCEL to leave it."
    assert shown.lines == (
        "Order SO-1 (picked)",
        "line 1 BOLT: staged 3 of 3 ordered",
        "line 2 NUT: staged 2 of 2 ordered",
        "Staged in OUT-1",
    )
    assert wf.busy and not shown.commands
    reply = wf.on_scan(cmd(CommandName.CONFIRM))
    command = only(reply)
    assert isinstance(command, ShipOrder)
    assert (command.order, command.approved_by, command.station, command.operator) == (
        "SO-1",
        None,
        "ST-1",
        "D001",
    )
    assert reply.prompt == "Shipping SO-1: wait for the ledger."
    lines = [
        {"line": 1, "sku": "BOLT", "ordered": 3, "shipped": 3, "short": 0},
        {"line": 2, "sku": "NUT", "ordered": 2, "shipped": 2, "short": 0},
    ]
    data.shipments.pop("SO-1")
    done = wf.on_outcome(command, shipped(command, lines=lines))
    assert level(done) is Level.OK
    assert text(done) == "Shipped SO-1: 5 unit(s) to the customer."
    assert done.lines == (
        "line 1 BOLT: shipped 3 of 3 ordered",
        "line 2 NUT: shipped 2 of 2 ordered",
    )
    assert done.prompt.startswith("Scan the order to ship") and not wf.busy


def test_the_outbound_location_stands_for_the_one_order_it_holds(data: FakeStationData) -> None:
    wf = ShipWorkflow(context(data))
    shown = wf.on_scan(location("OUT-1"))
    assert level(shown) is Level.OK and text(shown).startswith("OUT-1 holds SO-1: 5 unit(s)")
    assert isinstance(only(wf.on_scan(cmd(CommandName.CONFIRM))), ShipOrder)


def test_a_location_holding_several_orders_asks_for_the_order(data: FakeStationData) -> None:
    data.shipments["SO-2"] = picked("SO-2", ("BOLT", 1, 1))
    wf = ShipWorkflow(context(data))
    reply = wf.on_scan(location("OUT-1"))
    assert level(reply) is Level.ERROR
    assert text(reply) == "OUT-1 holds SO-1, SO-2: scan the order."
    assert not wf.busy and not reply.commands


@pytest.mark.parametrize(
    ("code", "kind", "says"),
    [
        ("B-01", "bin", "Scanned location B-01 (a bin), but shipping starts from an order"),
        ("STAGE-1", "staging", "STAGE-1 holds nothing picked for an order"),
    ],
)
def test_a_location_without_staged_goods_is_refused(
    data: FakeStationData, code: str, kind: str, says: str
) -> None:
    wf = ShipWorkflow(context(data))
    reply = wf.on_scan(location(code))
    assert level(reply) is Level.ERROR and text(reply).startswith(says)
    assert not wf.busy


@pytest.mark.parametrize(
    ("state", "says"),
    [
        (OrderState.SHIPPED, "SO-9 is already shipped: it cannot be shipped. Scan another order."),
        (OrderState.CANCELLED, "SO-9 is cancelled: it cannot be shipped. Scan another order."),
    ],
)
def test_a_shipped_or_cancelled_order_is_refused_and_the_station_stays_ready(
    data: FakeStationData, state: OrderState, says: str
) -> None:
    data.shipments["SO-9"] = Shipment("SO-9", state, (ShipmentLine(1, "BOLT", 3, 3, 3, 0),))
    wf = ShipWorkflow(context(data))
    reply = wf.on_scan(order("SO-9"))
    assert level(reply) is Level.ERROR and text(reply) == says
    assert not wf.busy and reply.prompt.startswith("Scan the order to ship")
    again = wf.on_scan(order("SO-1"))
    assert level(again) is Level.OK


@pytest.mark.parametrize(
    ("state", "says"),
    [
        (OrderState.OPEN, "SO-9 is open: nothing of it is picked yet. Pick it first"),
        (OrderState.PICKING, "SO-9 is still being picked: finish or release the pick list"),
    ],
)
def test_an_order_not_picked_cannot_ship_and_confirm_sends_nothing(
    data: FakeStationData, state: OrderState, says: str
) -> None:
    data.shipments["SO-9"] = Shipment("SO-9", state, (ShipmentLine(1, "BOLT", 3),))
    wf = ShipWorkflow(context(data))
    reply = wf.on_scan(order("SO-9"))
    assert level(reply) is Level.ERROR and text(reply).startswith(says)
    assert "CANCELORDER" in text(reply)
    assert reply.prompt.startswith("SO-9 cannot ship now")
    confirm = wf.on_scan(cmd(CommandName.CONFIRM))
    assert level(confirm) is Level.ERROR and not confirm.commands


def test_a_picked_order_with_nothing_staged_cannot_ship(data: FakeStationData) -> None:
    data.shipments["SO-3"] = Shipment("SO-3", OrderState.PICKED, (ShipmentLine(1, "BOLT", 3, 3),))
    wf = ShipWorkflow(context(data))
    reply = wf.on_scan(order("SO-3"))
    assert level(reply) is Level.ERROR
    assert text(reply).startswith("Nothing of SO-3 stands in an outbound location")
    assert not wf.on_scan(cmd(CommandName.CONFIRM)).commands


def test_the_ledgers_refusal_is_shown_and_the_station_is_ready_for_the_next_order(
    data: FakeStationData,
) -> None:
    wf = ShipWorkflow(context(data))
    wf.on_scan(order("SO-1"))
    command = only(wf.on_scan(cmd(CommandName.CONFIRM)))
    refused = outcome(
        command, ok=False, reason="order_state", message="SO-1 is cancelled: it cannot be shipped"
    )
    reply = wf.on_outcome(command, refused)
    assert level(reply) is Level.ERROR
    assert text(reply) == "SO-1 was not shipped: SO-1 is cancelled: it cannot be shipped"
    assert not wf.busy and reply.prompt.startswith("Scan the order to ship")


def test_a_short_shipment_needs_a_supervisor_and_is_sent_again_with_a_new_id(
    data: FakeStationData,
) -> None:
    data.shipments["SO-1"] = picked("SO-1", ("BOLT", 3, 2), ("NUT", 2, 2))
    wf = ShipWorkflow(context(data, "D001"))
    shown = wf.on_scan(order("SO-1"))
    assert level(shown) is Level.WARNING and "1 line(s) short" in text(shown)
    assert "line 1 BOLT: staged 2 of 3 ordered (1 short)" in shown.lines
    first = only(wf.on_scan(cmd(CommandName.CONFIRM)))
    report = [
        {"line": 1, "sku": "BOLT", "ordered": 3, "shipped": 2, "short": 1},
        {"line": 2, "sku": "NUT", "ordered": 2, "shipped": 2, "short": 0},
    ]
    refused = outcome(
        first,
        ok=False,
        reason="approval_required",
        message="SO-1 would ship short (line 1 BOLT: 2 of 3). A supervisor must approve",
        result={"lines": report},
    )
    ask = wf.on_outcome(first, refused)
    assert level(ask) is Level.WARNING and "SO-1 would ship short" in text(ask)
    assert ask.prompt.startswith("Supervisor: scan your badge to approve shipping SO-1 short")
    assert ask.lines[0] == "line 1 BOLT: staged 2 of 3 ordered (1 short)"
    assert wf.wants_badge and wf.busy
    pin = wf.on_scan(badge("S001"))
    assert pin.entry is Entry.PIN and not wf.wants_badge
    wrong = wf.on_entry("0000")
    assert level(wrong) is Level.WARNING and not wrong.commands
    approved = wf.on_entry("123456")
    second = only(approved)
    assert isinstance(second, ShipOrder)
    assert second.approved_by == "S001" and second.order == "SO-1"
    assert second.tx_id != first.tx_id
    report[0]["shipped"] = 2
    done = wf.on_outcome(second, shipped(second, lines=report))
    assert (
        text(done) == "Shipped SO-1, approved by S001: 4 unit(s) to the customer, 1 closed short."
    )
    assert "line 1 BOLT: shipped 2 of 3 ordered (1 short)" in done.lines


def test_the_operator_cannot_approve_their_own_short_shipment(data: FakeStationData) -> None:
    wf = ShipWorkflow(context(data, "S001"))
    wf.on_scan(order("SO-1"))
    first = only(wf.on_scan(cmd(CommandName.CONFIRM)))
    wf.on_outcome(first, outcome(first, ok=False, reason="approval_required", message="short"))
    own = wf.on_scan(badge("S001"))
    assert level(own) is Level.ERROR and "cannot approve their own work" in text(own)
    assert wf.wants_badge


def test_cancel_during_the_approval_goes_back_to_the_order_then_leaves_it(
    data: FakeStationData,
) -> None:
    wf = ShipWorkflow(context(data))
    wf.on_scan(order("SO-1"))
    first = only(wf.on_scan(cmd(CommandName.CONFIRM)))
    wf.on_outcome(first, outcome(first, ok=False, reason="approval_required", message="short"))
    back = wf.on_scan(cmd(CommandName.CANCEL))
    assert level(back) is Level.WARNING and text(back) == "SO-1 was not shipped: nothing was sent."
    assert back.prompt == "CONFIRM to ship SO-1, or CANCEL to leave it." and not wf.wants_badge
    left = wf.on_scan(cmd(CommandName.CANCEL))
    assert text(left) == "Left order SO-1: nothing was shipped." and not wf.busy


def test_a_queued_shipment_says_so(data: FakeStationData) -> None:
    wf = ShipWorkflow(context(data))
    wf.on_scan(order("SO-1"))
    command = only(wf.on_scan(cmd(CommandName.CONFIRM)))
    reply = wf.on_outcome(command, None)
    assert level(reply) is Level.WARNING and text(reply).startswith("Shipping SO-1 is queued")
    assert not wf.busy


def test_a_supervisor_cancels_the_order_and_sees_what_to_put_back(data: FakeStationData) -> None:
    wf = ShipWorkflow(context(data, "S001"))
    wf.on_scan(order("SO-1"))
    command = only(wf.on_scan(cmd(CommandName.CANCELORDER)))
    assert isinstance(command, CancelOrder)
    assert (command.order, command.approved_by, command.operator) == ("SO-1", None, "S001")
    assert command.reason == "cancelled at station ST-1"
    putaway = [
        {"location": "OUT-1", "sku": "BOLT", "lot": None, "qty": 3},
        {"location": "OUT-1", "sku": "MILK", "lot": "L7", "qty": 2},
    ]
    done = wf.on_outcome(command, outcome(command, result={"putaway": putaway, "released": 0}))
    assert level(done) is Level.OK and text(done).startswith("Cancelled SO-1.")
    assert done.lines[-2:] == (
        "put back: 3 x BOLT in OUT-1 (the putaway screen offers them)",
        "put back: 2 x MILK lot L7 in OUT-1 (the putaway screen offers them)",
    )
    assert not wf.busy


def test_a_dock_worker_needs_a_supervisor_to_cancel_an_order(data: FakeStationData) -> None:
    data.shipments["SO-9"] = Shipment("SO-9", OrderState.PICKING, (ShipmentLine(1, "BOLT", 3),))
    wf = ShipWorkflow(context(data, "D001"))
    wf.on_scan(order("SO-9"))
    ask = wf.on_scan(cmd(CommandName.CANCELORDER))
    assert not ask.commands and wf.wants_badge
    assert level(ask) is Level.WARNING and "may not cancel SO-9 alone" in text(ask)
    assert ask.prompt.startswith("Supervisor: scan your badge to approve cancelling order SO-9")
    wf.on_scan(badge("S002"))
    command = only(wf.on_entry("567890"))
    assert isinstance(command, CancelOrder) and command.approved_by == "S002"
    refused = outcome(command, ok=False, reason="order_state", message="SO-9 is already shipped")
    reply = wf.on_outcome(command, refused)
    assert text(reply) == "SO-9 was not cancelled: SO-9 is already shipped"
    assert level(reply) is Level.ERROR and not wf.busy


def test_cancelorder_needs_an_order_on_screen(data: FakeStationData) -> None:
    wf = ShipWorkflow(context(data, "S001"))
    reply = wf.on_scan(cmd(CommandName.CANCELORDER))
    assert level(reply) is Level.ERROR and not reply.commands
    assert text(reply) == "Scan the order to cancel first, then CANCELORDER."


def test_scans_the_mode_does_not_take_say_what_it_needs(data: FakeStationData) -> None:
    wf = ShipWorkflow(context(data))
    item = wf.on_scan(meaning(Kind.ITEM, gtin="09506000134352"))
    assert level(item) is Level.ERROR and "this step needs an order barcode" in text(item)
    keypad = wf.on_entry("3")
    assert level(keypad) is Level.ERROR and "keypad is not used" in text(keypad)
    wf.on_scan(order("SO-1"))
    command = only(wf.on_scan(cmd(CommandName.CONFIRM)))
    wait = wf.on_scan(order("SO-1"))
    assert level(wait) is Level.ERROR and not wait.commands
    assert level(wf.on_scan(cmd(CommandName.CANCEL))) is Level.ERROR
    late = wf.on_outcome(command, outcome(command, result={"lines": []}))
    assert level(late) is Level.OK
