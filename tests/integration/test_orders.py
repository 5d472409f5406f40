"""An order's life through the ledger services on SQLite and PostgreSQL, with no station code in
between: take a pick list (claim and reserve), refuse a second picker, take over, release, ship,
cancel, put back and return; invariant 5 in `perpetua verify`; and the `perpetua orders`,
`ship` and `order cancel` commands, exactly once per --tx-id."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, insert, select, update

from app.adapters.db import authority, catalogue, queries
from app.adapters.db.schema import (
    MoveRow,
    OperatorRow,
    OrderEventRow,
    OrderLineRow,
    OrderRow,
    QuantRow,
    ReservationRow,
    table,
)
from app.cli import main
from app.domain.catalogue import OperatorSpec, OrderLineSpec
from app.domain.commands import (
    CancelOrder,
    Opening,
    OpeningLine,
    PostPick,
    Putaway,
    ReleaseHow,
    ReleaseList,
    Reserve,
    Return,
    ReturnReason,
    ShipOrder,
    TakeList,
)
from app.domain.errors import Reason
from app.domain.ledger import Outcome
from app.domain.model import NO_LOT_ID, Role
from app.services.ledger import submit
from tests.support.warehouse import Warehouse

PICKER = {"station": "ST-1", "operator": "P1"}  # Pat Picker
OTHER = {"station": "ST-2", "operator": "P2"}  # Pia Picker
DOCK = {"station": "ST-1", "operator": "D1"}
CLAIM_MESSAGE = re.compile(
    r"SO-1 is being picked by Pat Picker at ST-1 since \d\d:\d\d\. "
    r"Scan another order; a supervisor can take it over\."
)


@pytest.fixture
def wh(warehouse: Warehouse) -> Warehouse:
    """SO-1: 4 WIDGET and 3 BOLT; SO-2: 1 WIDGET. 10 WIDGET in A-01-01, 2 BOLT in A-01-03."""
    with warehouse.engine.begin() as c:
        catalogue.add_operators(c, [OperatorSpec("P2", "Pia Picker", Role.PICKER)])
        catalogue.add_orders(
            c,
            [
                OrderLineSpec("SO-1", 1, "WIDGET", 4),
                OrderLineSpec("SO-1", 2, "BOLT", 3),
                OrderLineSpec("SO-2", 1, "WIDGET", 1),
            ],
        )
    stock(warehouse, OpeningLine("WIDGET", "A-01-01", 10), OpeningLine("BOLT", "A-01-03", 2))
    return warehouse


def stock(w: Warehouse, *lines: OpeningLine) -> None:
    opened = w.run(Opening, lines=lines)
    assert opened.ok, opened.message


def ok(outcome: Outcome) -> Outcome:
    assert outcome.ok, outcome.message
    return outcome


def refused(outcome: Outcome, reason: Reason) -> str:
    assert not outcome.ok and outcome.reason == reason.value, outcome
    return outcome.message


def figures(w: Warehouse, order: str = "SO-1") -> dict[int, tuple[int, int, int, int, int]]:
    """Line -> (ordered, reserved, picked, shipped, short), as `perpetua orders` reads them."""
    with w.engine.connect() as c:
        rows = [r for r in queries.order_lines(c) if r["order"] == order]
    return {
        r["line"]: (r["ordered"], r["reserved"], r["picked"], r["shipped"], r["short"])
        for r in rows
    }


def state(w: Warehouse, order: str = "SO-1") -> str:
    with w.engine.connect() as c:
        o = table(OrderRow)
        return str(c.execute(select(o.c.status).where(o.c.code == order)).scalar_one())


def reservations(outcome: Outcome) -> list[dict[str, Any]]:
    return [r for line in outcome.result["lines"] for r in line["reservations"]]


def pick_all(w: Warehouse, taken: Outcome, who: dict[str, str], short: int = 0) -> None:
    """Post every reservation of a TakeList into OUT-1; the first one `short` units short."""
    for n, r in enumerate(reservations(taken)):
        qty = r["qty"] - (short if n == 0 else 0)
        ok(w.run(PostPick, reservation=r["reservation"], qty=qty, to_location="OUT-1", **who))


def picked_order(w: Warehouse, short: int = 0) -> None:
    """SO-1 taken, picked (short on its first pick), finished: state picked."""
    taken = ok(w.run(TakeList, order="SO-1", **PICKER))
    pick_all(w, taken, PICKER, short)
    ok(w.run(ReleaseList, order="SO-1", how=ReleaseHow.FINISHED, **PICKER))
    assert state(w) == "picked"


def snapshot(w: Warehouse) -> tuple[Any, ...]:
    """Stock, orders, lines, reservations, moves and order events: what a refusal must not touch."""
    with w.engine.connect() as c:

        def rows(row: type, *order: str) -> list[Any]:
            t = table(row)
            return [tuple(r) for r in c.execute(select(t).order_by(*(t.c[k] for k in order)))]

        return (
            rows(QuantRow, "location_id", "sku_id", "lot_id"),
            rows(OrderRow, "id"),
            rows(OrderLineRow, "id"),
            rows(ReservationRow, "id"),
            c.execute(select(func.count()).select_from(table(MoveRow))).scalar_one(),
            c.execute(select(func.count()).select_from(table(OrderEventRow))).scalar_one(),
        )


# --- taking a pick list -----------------------------------------------------------------------


def test_taking_a_list_claims_the_order_and_reserves_what_is_open(wh: Warehouse) -> None:
    taken = ok(wh.run(TakeList, order="SO-1", **PICKER))
    assert taken.result["event"] == "claimed"
    assert [(line["line"], line["reserved"]) for line in taken.result["lines"]] == [(1, 4), (2, 2)]
    assert figures(wh) == {1: (4, 4, 0, 0, 0), 2: (3, 2, 0, 0, 0)}
    assert state(wh) == "picking"
    assert wh.reserved("A-01-01", "WIDGET") == 4 and wh.reserved("A-01-03", "BOLT") == 2
    # Taking it again reserves only what is still open: the missing BOLT, once it is in stock.
    again = ok(wh.run(TakeList, order="SO-1", **PICKER))
    assert again.result["event"] == "resumed" and again.result["reserved"] == 0
    stock(wh, OpeningLine("BOLT", "A-01-02", 5))
    more = ok(wh.run(TakeList, order="SO-1", **PICKER))
    assert more.result["reserved"] == 1
    assert figures(wh) == {1: (4, 4, 0, 0, 0), 2: (3, 3, 0, 0, 0)}
    assert wh.invariants().total == 0


def test_a_second_picker_is_told_who_holds_the_list(wh: Warehouse) -> None:
    ok(wh.run(TakeList, order="SO-1", **PICKER))
    before = snapshot(wh)
    second = wh.run(TakeList, order="SO-1", **OTHER)
    assert CLAIM_MESSAGE.fullmatch(refused(second, Reason.ORDER_CLAIMED))
    assert snapshot(wh) == before
    # Nor may the second picker reserve on it directly.
    sneak = wh.run(Reserve, order="SO-1", line=1, sku="WIDGET", qty=1, **OTHER)
    assert "Pat Picker" in refused(sneak, Reason.ORDER_CLAIMED)
    assert snapshot(wh) == before


def test_a_supervisor_takes_the_list_over_and_the_first_picker_learns_it(
    wh: Warehouse,
) -> None:
    taken = ok(wh.run(TakeList, order="SO-1", **PICKER))
    first, *rest = reservations(taken)
    ok(wh.run(PostPick, reservation=first["reservation"], qty=1, to_location="OUT-1", **PICKER))
    not_a_supervisor = wh.run(TakeList, order="SO-1", takeover_by="C1", **OTHER)
    refused(not_a_supervisor, Reason.NOT_ALLOWED)
    over = ok(wh.run(TakeList, order="SO-1", takeover_by="S1", **OTHER))
    assert over.result["event"] == "taken_over"
    assert over.result["before"]["holder"] == "Pat Picker"
    assert "it was Pat Picker's at ST-1" in over.message
    with wh.engine.connect() as c:
        claim = next(r["claim"] for r in queries.order_lines(c) if r["order"] == "SO-1")
    assert (claim["name"], claim["station"]) == ("Pia Picker", "ST-2")
    late = wh.run(
        PostPick, reservation=rest[0]["reservation"], qty=1, to_location="OUT-1", **PICKER
    )
    message = refused(late, Reason.ORDER_CLAIMED)
    assert "taken over by Pia Picker at ST-2" in message
    assert figures(wh)[1][2] == 1  # what the first picker picked stays picked
    bolt = rest[0]  # the new holder picks what the first one left
    ok(
        wh.run(
            PostPick, reservation=bolt["reservation"], qty=bolt["qty"], to_location="OUT-1", **OTHER
        )
    )
    with wh.engine.connect() as c:
        e, o = table(OrderEventRow), table(OperatorRow)
        approver = c.execute(
            select(o.c.badge)
            .select_from(e.join(o, o.c.id == e.c.approved_by_id))
            .where(e.c.event == "taken_over")
        ).scalar_one()
    assert approver == "S1"
    assert wh.invariants().total == 0


def test_an_idle_claim_can_be_taken_by_another_picker(wh: Warehouse) -> None:
    ok(wh.run(TakeList, order="SO-1", **PICKER))
    with wh.engine.begin() as c:  # the first picker last worked on it a while ago
        o = table(OrderRow)
        active = c.execute(select(o.c.claim_active_at).where(o.c.code == "SO-1")).scalar_one()
        c.execute(
            update(o)
            .where(o.c.code == "SO-1")
            .values(claim_active_at=active - timedelta(minutes=5))
        )
    refused(wh.run(TakeList, order="SO-1", **OTHER), Reason.ORDER_CLAIMED)  # 30 min by default
    with wh.engine.begin() as c:  # the warehouse policy says 1 minute is idle enough
        authority.set_policy(c, "claim_idle_minutes", 1, None, None)
    taken = submit(wh.command(TakeList, order="SO-1", **OTHER), wh.ledger)
    assert ok(taken).result["event"] == "idle_taken"
    assert figures(wh) == {1: (4, 4, 0, 0, 0), 2: (3, 2, 0, 0, 0)}  # nothing reserved twice


# --- releasing a pick list --------------------------------------------------------------------


def test_release_keep_leaves_the_reservations_for_the_next_picker(wh: Warehouse) -> None:
    ok(wh.run(TakeList, order="SO-1", **PICKER))
    kept = ok(wh.run(ReleaseList, order="SO-1", how=ReleaseHow.KEEP, **PICKER))
    assert kept.result["state"] == "picking" and kept.result["released"] == 0
    assert figures(wh) == {1: (4, 4, 0, 0, 0), 2: (3, 2, 0, 0, 0)}
    again = ok(wh.run(TakeList, order="SO-1", **OTHER))  # nobody holds it now
    assert again.result["event"] == "claimed" and again.result["reserved"] == 0


def test_release_give_back_returns_the_reservations_to_stock(wh: Warehouse) -> None:
    ok(wh.run(TakeList, order="SO-1", **PICKER))
    back = ok(wh.run(ReleaseList, order="SO-1", how=ReleaseHow.GIVE_BACK, **PICKER))
    assert back.result == {"state": "open", "released": 6, "short": {}}
    assert state(wh) == "open"
    assert wh.reserved("A-01-01", "WIDGET") == 0 and wh.reserved("A-01-03", "BOLT") == 0
    assert figures(wh) == {1: (4, 0, 0, 0, 0), 2: (3, 0, 0, 0, 0)}
    assert wh.invariants().total == 0


def test_release_finished_closes_what_was_not_picked_short(wh: Warehouse) -> None:
    taken = ok(wh.run(TakeList, order="SO-1", **PICKER))
    pick_all(wh, taken, PICKER, short=1)  # 3 of 4 WIDGET, 2 of 3 BOLT (all there was)
    done = ok(wh.run(ReleaseList, order="SO-1", how=ReleaseHow.FINISHED, **PICKER))
    assert done.result == {"state": "picked", "released": 0, "short": {"1": 1, "2": 1}}
    assert figures(wh) == {1: (4, 0, 3, 0, 1), 2: (3, 0, 2, 0, 1)}
    # Closed short: nothing more is reserved for it, even with stock and the claim.
    stock(wh, OpeningLine("BOLT", "A-01-02", 5))
    refused(wh.run(TakeList, order="SO-1", **PICKER), Reason.ORDER_STATE)
    assert wh.on_hand("OUT-1", "WIDGET") == 3 and wh.on_hand("OUT-1", "BOLT") == 2


def test_a_reservation_never_exceeds_what_is_open_on_the_line(wh: Warehouse) -> None:
    stock(wh, OpeningLine("WIDGET", "A-01-02", 10))
    taken = ok(wh.run(TakeList, order="SO-1", **PICKER))
    full = wh.run(Reserve, order="SO-1", line=1, sku="WIDGET", qty=5, allow_partial=True, **PICKER)
    assert "nothing left to reserve" in refused(full, Reason.NOT_ENOUGH_STOCK)
    first = reservations(taken)[0]
    ok(wh.run(PostPick, reservation=first["reservation"], qty=2, to_location="OUT-1", **PICKER))
    # 2 picked, 2 released by the short pick: a Reserve of 9 takes only those 2.
    again = ok(
        wh.run(Reserve, order="SO-1", line=1, sku="WIDGET", qty=9, allow_partial=True, **PICKER)
    )
    assert again.result["reserved"] == 2
    assert figures(wh)[1] == (4, 2, 2, 0, 0)
    wrong = wh.run(Reserve, order="SO-1", line=1, sku="BOLT", qty=1, **PICKER)
    refused(wrong, Reason.BAD_INPUT)
    assert wh.invariants().total == 0


# --- shipping ---------------------------------------------------------------------------------


@pytest.mark.parametrize("order_state", ["unknown", "open", "picking", "cancelled", "shipped"])
def test_ship_is_refused_for_an_order_not_picked_and_changes_nothing(
    wh: Warehouse, order_state: str
) -> None:
    order, words = (
        "SO-1",
        {
            "unknown": "is not known",
            "open": "SO-1 is open: nothing of it is picked yet",
            "picking": "SO-1 is still being picked (SO-1 is being picked by Pat Picker at ST-1",
            "cancelled": "SO-1 is cancelled: it cannot be shipped",
            "shipped": "SO-1 is already shipped: it cannot be shipped",
        }[order_state],
    )
    if order_state == "unknown":
        order = "SO-404"
    elif order_state == "picking":
        ok(wh.run(TakeList, order="SO-1", **PICKER))
    elif order_state == "cancelled":
        ok(wh.run(CancelOrder, order="SO-1", reason="customer called", operator="S1"))
    elif order_state == "shipped":
        picked_order(wh)
        stock(wh, OpeningLine("BOLT", "A-01-02", 5))
        ok(wh.run(ShipOrder, order="SO-1", approved_by="S1", **DOCK))
    before = snapshot(wh)
    outcome = wh.run(ShipOrder, order=order, **DOCK)
    reason = Reason.UNKNOWN_ORDER if order_state == "unknown" else Reason.ORDER_STATE
    assert words in refused(outcome, reason)
    assert snapshot(wh) == before


def test_shipping_short_needs_a_supervisor_and_empties_the_outbound_lane(wh: Warehouse) -> None:
    picked_order(wh, short=1)
    before = snapshot(wh)
    alone = wh.run(ShipOrder, order="SO-1", carrier_reference="DHL-1", **DOCK)
    message = refused(alone, Reason.APPROVAL_REQUIRED)
    assert "line 1 WIDGET: 3 of 4" in message and "line 2 BOLT: 2 of 3" in message
    assert [line["short"] for line in alone.result["lines"]] == [1, 1]
    assert snapshot(wh) == before
    refused(wh.run(ShipOrder, order="SO-1", approved_by="D1", **DOCK), Reason.NOT_ALLOWED)
    shipped = ok(
        wh.run(ShipOrder, order="SO-1", approved_by="S1", carrier_reference="DHL-1", **DOCK)
    )
    assert shipped.message == "shipped SO-1: 5 unit(s) on 2 line(s), 2 short"
    assert state(wh) == "shipped"
    assert figures(wh) == {1: (4, 0, 3, 3, 1), 2: (3, 0, 2, 2, 1)}
    assert wh.on_hand("OUT-1", "WIDGET") == 0 and wh.on_hand("OUT-1", "BOLT") == 0
    assert wh.on_hand("CUSTOMER", "WIDGET") == 3 and wh.on_hand("CUSTOMER", "BOLT") == 2
    with wh.engine.connect() as c:
        rows = queries.stock(c, location="OUT-1")
        e = table(OrderEventRow)
        note = c.execute(select(e.c.note).where(e.c.event == "shipped")).scalar_one()
    assert [r for r in rows if r["on_hand"]] == [] and note == "DHL-1"
    assert wh.invariants().total == 0


def test_the_same_ship_transaction_twice_ships_once(wh: Warehouse) -> None:
    stock(wh, OpeningLine("BOLT", "A-01-02", 5))
    picked_order(wh)
    command = wh.command(ShipOrder, order="SO-1", **DOCK)
    first = ok(submit(command, wh.ledger))
    after_first = snapshot(wh)
    second = submit(command, wh.ledger)
    assert second.ok and second.replayed and second.message == first.message
    assert snapshot(wh) == after_first
    assert wh.on_hand("CUSTOMER", "WIDGET") == 4 and wh.on_hand("CUSTOMER", "BOLT") == 3


# --- cancelling -------------------------------------------------------------------------------


def test_cancel_voids_reservations_and_lists_what_to_put_back(wh: Warehouse) -> None:
    taken = ok(wh.run(TakeList, order="SO-1", **PICKER))
    first = reservations(taken)[0]
    ok(wh.run(PostPick, reservation=first["reservation"], qty=4, to_location="OUT-1", **PICKER))
    picker = wh.run(CancelOrder, order="SO-1", reason="customer called", approved_by="S1", **PICKER)
    assert refused(picker, Reason.NOT_ALLOWED) == (
        "Pat Picker (P1) is a picker and may not cancel an order: a dock or supervisor must. "
        "Nothing was done."
    )
    alone = wh.run(CancelOrder, order="SO-1", reason="customer called", **DOCK)
    refused(alone, Reason.APPROVAL_REQUIRED)
    no_reason = wh.run(CancelOrder, order="SO-1", reason=" ", operator="S1")
    refused(no_reason, Reason.REASON_REQUIRED)
    cancelled = ok(
        wh.run(CancelOrder, order="SO-1", reason="customer called", approved_by="S1", **DOCK)
    )
    assert cancelled.result == {
        "released": 2,
        "putaway": [{"location": "OUT-1", "sku": "WIDGET", "lot": None, "qty": 4}],
    }
    assert state(wh) == "cancelled"
    assert wh.reserved("A-01-03", "BOLT") == 0
    assert figures(wh) == {1: (4, 0, 4, 0, 0), 2: (3, 0, 0, 0, 0)}
    # The picked goods go back from the outbound lane, attributed to the order.
    plain = wh.run(Putaway, sku="WIDGET", qty=4, from_location="OUT-1", to_location="A-01-02")
    refused(plain, Reason.WRONG_LOCATION_KIND)
    too_many = wh.run(
        Putaway, sku="WIDGET", qty=5, from_location="OUT-1", to_location="A-01-02", order="SO-1"
    )
    refused(too_many, Reason.NOT_ENOUGH_STOCK)
    ok(
        wh.run(
            Putaway, sku="WIDGET", qty=4, from_location="OUT-1", to_location="A-01-02", order="SO-1"
        )
    )
    assert wh.on_hand("OUT-1", "WIDGET") == 0 and wh.on_hand("A-01-02", "WIDGET") == 4
    again = wh.run(CancelOrder, order="SO-1", reason="twice", operator="S1")
    assert "SO-1 is cancelled" in refused(again, Reason.ORDER_STATE)
    assert wh.invariants().total == 0


def test_only_a_cancelled_orders_picks_go_back_from_the_outbound_lane(wh: Warehouse) -> None:
    picked_order(wh)
    back = wh.run(
        Putaway, sku="WIDGET", qty=1, from_location="OUT-1", to_location="A-01-02", order="SO-1"
    )
    assert "only a cancelled order's picks" in refused(back, Reason.ORDER_STATE)


def test_a_shipped_order_cannot_be_cancelled(wh: Warehouse) -> None:
    stock(wh, OpeningLine("BOLT", "A-01-02", 5))
    picked_order(wh)
    ok(wh.run(ShipOrder, order="SO-1", **DOCK))
    before = snapshot(wh)
    late = wh.run(CancelOrder, order="SO-1", reason="too late", operator="S1")
    assert "SO-1 is already shipped" in refused(late, Reason.ORDER_STATE)
    assert snapshot(wh) == before


# --- returns ----------------------------------------------------------------------------------


def test_returns_are_checked_against_what_the_order_shipped(wh: Warehouse) -> None:
    stock(wh, OpeningLine("BOLT", "A-01-02", 5))
    picked_order(wh)
    ok(wh.run(ShipOrder, order="SO-1", **DOCK))
    back = {"sku": "WIDGET", "to_location": "RET-1", "order": "SO-1"}
    too_many = wh.run(Return, qty=5, **back)
    assert "SO-1 shipped 4 x WIDGET" in refused(too_many, Reason.NOT_SHIPPED)
    ok(wh.run(Return, qty=3, reason=ReturnReason.DAMAGED, **back))
    more = wh.run(Return, qty=2, **back)
    assert "3 came back already" in refused(more, Reason.NOT_SHIPPED)
    accepted = ok(wh.run(Return, qty=2, approved_by="S1", reason=ReturnReason.OTHER, **back))
    assert accepted.result["unexpected"] is True
    assert "accepted by S1 as an unexpected return" in accepted.message
    never = wh.run(Return, sku="SCREW-4", qty=1, to_location="RET-1", order="SO-1")
    refused(never, Reason.NOT_SHIPPED)
    refused(wh.run(Return, qty=1, **{**back, "order": "SO-404"}), Reason.UNKNOWN_ORDER)
    refused(wh.run(Return, sku="WIDGET", qty=1, to_location="RET-1"), Reason.NOT_SHIPPED)
    assert wh.on_hand("RET-1", "WIDGET") == 5
    with wh.engine.connect() as c:
        reasons = {m["reason"] for m in queries.moves(c, sku="WIDGET", location="RET-1")}
    assert reasons == {"return: damaged", "return: other"}
    assert wh.invariants().total == 0


# --- invariant 5 in perpetua verify -----------------------------------------------------------


def perpetua(db_url: str, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, ["--db", db_url, *args], input=stdin, catch_exceptions=False)


def test_verify_names_an_over_reserved_order_line(wh: Warehouse, db_url: str) -> None:
    taken = ok(wh.run(TakeList, order="SO-1", **PICKER))
    assert perpetua(db_url, "verify").exit_code == 0
    with wh.engine.begin() as c:  # forged: a reservation the ledger would never make
        row = c.execute(select(table(ReservationRow)).limit(1)).one()
        c.execute(
            insert(table(ReservationRow)).values(
                tx_id=taken.tx_id,
                order_ref="SO-1",
                order_line=1,
                location_id=row.location_id,
                sku_id=row.sku_id,
                lot_id=NO_LOT_ID,
                qty=2,
                state="open",
            )
        )
    checked = perpetua(db_url, "verify")
    assert checked.exit_code == 1
    assert "order SO-1 line 1: 6 reserved + 0 picked > 4 ordered" in checked.output
    as_json = json.loads(perpetua(db_url, "verify", "--json").output)
    assert as_json["violations"]["order_line_over"] == 1
    assert as_json["order_lines"] == ["order SO-1 line 1: 6 reserved + 0 picked > 4 ordered"]


# --- the command line -------------------------------------------------------------------------


@pytest.fixture
def no_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERPETUA_CONFIG", str(tmp_path / "absent.toml"))


def test_perpetua_orders_lists_states_claims_and_figures(
    wh: Warehouse, db_url: str, no_config: None
) -> None:
    ok(wh.run(TakeList, order="SO-1", **PICKER))
    rows = [json.loads(x) for x in perpetua(db_url, "orders", "--json").output.splitlines()]
    assert [(r["order"], r["line"], r["state"]) for r in rows] == [
        ("SO-1", 1, "picking"),
        ("SO-1", 2, "picking"),
        ("SO-2", 1, "open"),
    ]
    assert {k: rows[1][k] for k in ("ordered", "reserved", "picked", "shipped", "short")} == {
        "ordered": 3,
        "reserved": 2,
        "picked": 0,
        "shipped": 0,
        "short": 0,
    }
    assert rows[0]["claim"]["name"] == "Pat Picker" and rows[0]["claim"]["station"] == "ST-1"
    assert rows[2]["claim"] is None
    text = perpetua(db_url, "orders", "--state", "picking").output
    assert re.search(
        r"SO-1  picking  being picked by Pat Picker \(P1\) at ST-1 since \d\d:\d\d", text
    )
    assert "SO-2" not in text
    assert text.splitlines()[1].split() == [
        "line",
        "sku",
        "ordered",
        "reserved",
        "picked",
        "shipped",
        "short",
    ]
    assert text.splitlines()[2].split() == ["1", "WIDGET", "4", "4", "0", "0", "0"]
    assert perpetua(db_url, "orders", "--state", "shipped").output.strip() == "(no shipped orders)"


def test_perpetua_ship_is_exactly_once_per_tx_id(
    wh: Warehouse, db_url: str, no_config: None
) -> None:
    stock(wh, OpeningLine("BOLT", "A-01-02", 5))
    ship = ["ship", "SO-1", "--operator", "D1", "--reference", "DHL-7"]
    no_station = perpetua(db_url, *ship)
    assert no_station.exit_code == 1 and "pass --station" in no_station.output
    early = perpetua(db_url, *ship, "--station", "ST-1")
    assert early.exit_code == 1 and "SO-1 is open: nothing of it is picked yet" in early.output
    picked_order(wh)
    tx = str(uuid.uuid4())
    first = perpetua(db_url, *ship, "--station", "ST-1", "--tx-id", tx)
    assert first.exit_code == 0, first.output
    assert first.output.strip() == "shipped SO-1: 7 unit(s) on 2 line(s)"
    after = snapshot(wh)
    retried = perpetua(db_url, *ship, "--station", "ST-1", "--tx-id", tx, "--json")
    assert retried.exit_code == 0, retried.output
    answer = json.loads(retried.output)
    assert answer["replayed"] is True and answer["tx_id"] == tx
    assert answer["result"]["carrier_reference"] == "DHL-7"
    assert snapshot(wh) == after
    assert wh.on_hand("CUSTOMER", "WIDGET") == 4 and wh.on_hand("OUT-1", "WIDGET") == 0
    other = perpetua(db_url, "ship", "SO-2", "--operator", "D1", "--station", "ST-1", "--tx-id", tx)
    assert other.exit_code == 1 and "already used" in other.output
    shipped = [json.loads(x) for x in perpetua(db_url, "orders", "--json").output.splitlines()]
    assert [r["state"] for r in shipped if r["order"] == "SO-1"] == ["shipped", "shipped"]


def test_perpetua_ship_short_asks_the_supervisors_pin(
    wh: Warehouse, db_url: str, no_config: None
) -> None:
    picked_order(wh, short=1)
    ship = ["ship", "SO-1", "--operator", "D1", "--station", "ST-1"]
    alone = perpetua(db_url, *ship)
    assert alone.exit_code == 1 and "A supervisor must approve shipping it short" in alone.output
    before = snapshot(wh)
    wrong = perpetua(db_url, *ship, "--approved-by", "S1", stdin="999999\n")
    assert wrong.exit_code == 1
    assert "wrong PIN for badge S1; 2 attempt(s) left. Nothing was done." in wrong.output
    not_one = perpetua(db_url, *ship, "--approved-by", "P1", stdin="123456\n")
    assert not_one.exit_code == 1 and "not an active supervisor's" in not_one.output
    assert snapshot(wh) == before
    approved = perpetua(db_url, *ship, "--approved-by", "S1", stdin="123456\n")
    assert approved.exit_code == 0, approved.output
    assert "shipped SO-1: 5 unit(s) on 2 line(s), 2 short" in approved.output
    assert state(wh) == "shipped"


def test_perpetua_order_cancel_prints_the_putaway_list(
    wh: Warehouse, db_url: str, no_config: None
) -> None:
    taken = ok(wh.run(TakeList, order="SO-1", **PICKER))
    first = reservations(taken)[0]
    ok(wh.run(PostPick, reservation=first["reservation"], qty=4, to_location="OUT-1", **PICKER))
    cancel = ["order", "cancel", "SO-1", "--reason", "customer called", "--station", "ST-1"]
    alone = perpetua(db_url, *cancel, "--operator", "D1")
    assert alone.exit_code == 1 and "may not cancel an order alone" in alone.output
    tx = str(uuid.uuid4())
    done = perpetua(
        db_url, *cancel, "--operator", "D1", "--approved-by", "S2", "--tx-id", tx, stdin="567890\n"
    )
    assert done.exit_code == 0, done.output
    assert done.output.splitlines()[-2:] == [
        "to put back to stock (the station's putaway screen offers them):",
        "  4 x WIDGET from OUT-1",
    ]
    assert state(wh) == "cancelled" and wh.reserved("A-01-03", "BOLT") == 0
    again = perpetua(
        db_url, *cancel, "--operator", "D1", "--approved-by", "S2", "--tx-id", tx, stdin="567890\n"
    )
    assert again.exit_code == 0 and "was already done" in again.output
    late = perpetua(db_url, *cancel, "--operator", "S1")
    assert late.exit_code == 1 and "SO-1 is cancelled" in late.output


def test_imported_orders_carry_priority_and_due_date(
    warehouse: Warehouse, db_url: str, tmp_path: Path, no_config: None
) -> None:
    csv = tmp_path / "orders.csv"
    csv.write_text(
        "order,line,sku,qty,priority,due_date\n"
        "SO-7,1,WIDGET,1,,\n"
        "SO-8,1,BOLT,2,5,2030-01-31\n"
        "SO-8,2,WIDGET,1,,\n",
        encoding="utf-8",
    )
    imported = perpetua(db_url, "import", "orders", str(csv))
    assert imported.exit_code == 0, imported.output
    rows = [json.loads(x) for x in perpetua(db_url, "orders", "--json").output.splitlines()]
    assert [(r["order"], r["line"], r["priority"], r["due_date"]) for r in rows] == [
        ("SO-8", 1, 5, "2030-01-31"),
        ("SO-8", 2, 5, "2030-01-31"),
        ("SO-7", 1, 0, None),
    ]
    assert "SO-8  open  priority 5  due 2030-01-31" in perpetua(db_url, "orders").output


def test_perpetua_ship_takes_the_station_from_the_config_file_and_tolerance_from_the_policy(
    wh: Warehouse, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('station = "ST-2"\n', encoding="utf-8")
    monkeypatch.setenv("PERPETUA_CONFIG", str(config))
    with wh.engine.begin() as c:
        authority.set_policy(c, "ship_short_units", 1, None, None)
    picked_order(wh, short=1)  # each line 1 short: within the tolerance, no supervisor needed
    shipped = perpetua(db_url, "ship", "SO-1", "--operator", "D1", "--json")
    assert shipped.exit_code == 0, shipped.output
    assert json.loads(shipped.output)["status"] == "confirmed"
    with wh.engine.connect() as c:
        moves = queries.moves(c, location="CUSTOMER")
    assert {m["station"] for m in moves} == {"ST-2"}
