"""No transaction can jam a queue (issue 11, point 5), on a real SQLite file and a real PostgreSQL.

A transaction the database refuses for good (a balance beyond its 32-bit range, a rule a
database administrator added, a value it cannot store) is stored as that transaction's refusal
with a sentence a user can read; the station shows it in red for a supervisor and sends the rest
of its queue. Two docks receiving the same new lot at once both get it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from app.adapters.db.errors import Failure, classify
from app.adapters.db.schema import LotRow, MoveRow, TransactionRow, table
from app.adapters.outbox import CONFIRMED, REFUSED, Outbox
from app.bootstrap import open_station
from app.config import Settings
from app.domain.commands import Command, Receive, Return, Scrap
from app.domain.errors import Reason, Rejection
from app.domain.ledger import Outcome, Status
from app.domain.workflow import Level
from app.services.ledger import submit
from tests.support.checker import check
from tests.support.races import patient_warehouse, until, waiting
from tests.support.warehouse import Warehouse

ALMOST_FULL = 2_147_483_000
RECALLED = "lot POISON of MILK is recalled: do not receive it"
STOCK_TAKE = "no scrapping during the stock take"
VOID_ORDER = "purchase order PO-VOID is void"


def is_pg(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def refusing_trigger(engine: Engine, name: str, table_name: str, when: str, message: str) -> None:
    """A rule a database administrator adds that the application knows nothing of: a trigger
    that refuses some inserts with its own message."""
    with engine.begin() as c:
        if is_pg(engine):
            c.exec_driver_sql(
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"IF {when} THEN RAISE EXCEPTION '{message}'; END IF; "
                "RETURN NEW; END $$"
            )
            c.exec_driver_sql(
                f"CREATE TRIGGER {name} BEFORE INSERT ON {table_name} "
                f"FOR EACH ROW EXECUTE FUNCTION {name}()"
            )
        else:
            c.exec_driver_sql(
                f"CREATE TRIGGER {name} BEFORE INSERT ON {table_name} WHEN {when} "
                f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
            )


def stock_take_rule(engine: Engine) -> str:
    """No scrap may be confirmed: a CHECK constraint on PostgreSQL, a trigger on SQLite (which
    cannot add a constraint to a table). Returns what the refusal says."""
    if is_pg(engine):
        with engine.begin() as c:
            c.exec_driver_sql(
                "ALTER TABLE transactions ADD CONSTRAINT stock_take_no_scrap "
                "CHECK (kind <> 'scrap' OR status <> 'confirmed')"
            )
        return "it breaks rule stock_take_no_scrap"
    refusing_trigger(
        engine,
        "stock_take",
        "transactions",
        "NEW.kind = 'scrap' AND NEW.status = 'confirmed'",
        STOCK_TAKE,
    )
    return STOCK_TAKE


def stored(engine: Engine, tx_id: uuid.UUID) -> Any:
    t = table(TransactionRow)
    with engine.connect() as c:
        return c.execute(select(t).where(t.c.id == tx_id)).one()


def moves_of(engine: Engine, tx_id: uuid.UUID) -> int:
    m = table(MoveRow)
    with engine.connect() as c:
        return int(c.execute(select(func.count()).where(m.c.tx_id == tx_id)).scalar_one())


def refused_by_database(why: str, then: str = "show this to a supervisor") -> str:
    return f"the database refused this transaction: {why}. Nothing was changed: {then}"


# --- the poison pill ---------------------------------------------------------------------------


def test_a_poison_pill_is_refused_and_the_queue_behind_it_drains(
    warehouse: Warehouse, db_url: str, tmp_path: Path
) -> None:
    """A station's queue (a crash or an outage left it there) holds two transactions that fail
    for good among good ones. The station's drain refuses them with a sentence, sends the rest
    in order, and shows the two in red until a supervisor acknowledges them."""
    refusing_trigger(warehouse.engine, "recall", "lots", "NEW.code = 'POISON'", RECALLED)
    queue: list[Command] = [
        warehouse.command(Receive, sku="WIDGET", qty=ALMOST_FULL, to_location="DOCK-1"),
        warehouse.command(Receive, sku="WIDGET", qty=1_000, to_location="DOCK-1"),  # overflow
        warehouse.command(Receive, sku="MILK", qty=2, lot="POISON", to_location="DOCK-1"),
        warehouse.command(Receive, sku="BOLT", qty=5, to_location="DOCK-2"),
        warehouse.command(Receive, sku="MILK", qty=3, lot="L1", to_location="DOCK-1"),
    ]
    path = tmp_path / "outbox.sqlite"
    with Outbox(path) as outbox:
        for command in queue:
            outbox.enqueue(command)

    session = open_station(Settings(db_url, "test"), "ST-1", path)
    try:
        view = session.drain()
        assert view is not None
    finally:
        session.close()

    overflow = (
        "DOCK-1 would then hold 2147484000 x WIDGET, above the largest quantity 2147483647; "
        "nothing was changed. Split the goods over other locations"
    )
    recalled = refused_by_database(RECALLED)
    assert view.queue_depth == 0
    assert view.feedback is not None and view.feedback.level is Level.ERROR
    assert view.feedback.text == (
        f"2 queued transaction(s) were refused when sent: receive {str(queue[1].tx_id)[:8]}: "
        f"{overflow}; receive {str(queue[2].tx_id)[:8]}: {recalled}. They stay on screen until "
        "a supervisor acknowledges them (ACK)."
    )
    assert [line.split(" queued at ")[0] for line in view.exceptions] == [
        "Refused after the outage: receive",
        "Refused by the database: receive",
    ]
    assert view.exceptions[0].endswith(f"UTC: {overflow}")
    assert view.exceptions[1].endswith(f"UTC: {recalled}")

    with Outbox(path) as outbox:
        assert [e.state for e in outbox.entries()] == [
            CONFIRMED,
            REFUSED,
            REFUSED,
            CONFIRMED,
            CONFIRMED,
        ]
        assert [e.tx_id for e in outbox.exceptions()] == [queue[1].tx_id, queue[2].tx_id]
        assert check(warehouse.engine, outbox.entries()).ok
    assert warehouse.on_hand("DOCK-1", "WIDGET") == ALMOST_FULL
    assert warehouse.on_hand("DOCK-2", "BOLT") == 5
    assert warehouse.on_hand("DOCK-1", "MILK", "L1") == 3
    assert warehouse.invariants().total == 0

    # Each refusal is the transaction's stored answer: a resend gets it back, nothing moves.
    for command, message, reason in (
        (queue[1], overflow, Reason.BAD_QUANTITY),
        (queue[2], recalled, Reason.DATABASE_REFUSED),
    ):
        row = stored(warehouse.engine, command.tx_id)
        assert (row.status, row.reason, row.message) == ("refused", reason.value, message)
        assert row.station_id is not None and row.operator_id is not None
        again = submit(command, warehouse.ledger)
        assert again.replayed and again.status is Status.REFUSED and again.message == message
        assert moves_of(warehouse.engine, command.tx_id) == 0


def test_a_balance_pushed_past_the_range_is_refused_on_both_databases(
    warehouse: Warehouse,
) -> None:
    """Refused before anything is written, with the same sentence on SQLite (whose integers
    have 64 bits) as on PostgreSQL (whose `integer` column would overflow)."""
    assert warehouse.run(Receive, sku="WIDGET", qty=ALMOST_FULL, to_location="DOCK-1").ok
    more = warehouse.run(Receive, sku="WIDGET", qty=1_000, to_location="DOCK-1")
    assert (more.status, more.reason) == (Status.REFUSED, Reason.BAD_QUANTITY.value)
    assert more.message.startswith("DOCK-1 would then hold 2147484000 x WIDGET, above")
    # Another dock has room, and VENDOR's running total of what it ever gave is 64 bits
    # (migration 0007): it may pass 2^31 on both databases.
    assert warehouse.run(Receive, sku="WIDGET", qty=1_000, to_location="DOCK-2").ok
    assert warehouse.on_hand("DOCK-1", "WIDGET") == ALMOST_FULL
    assert warehouse.on_hand("DOCK-2", "WIDGET") == 1_000
    assert warehouse.on_hand("VENDOR", "WIDGET") == -(ALMOST_FULL + 1_000)
    assert warehouse.invariants().total == 0


def test_a_refusal_at_commit_is_stored_in_a_transaction_of_its_own(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    """The database refuses the transaction's own record (outside the handler): the work is
    rolled back and its refusal is stored in a transaction of its own. Sent at once (not from
    the queue), it is still an exception for a supervisor: the database itself refused it."""
    assert warehouse.run(Receive, sku="WIDGET", qty=5, to_location="DOCK-1").ok
    why = stock_take_rule(warehouse.engine)
    scrap = warehouse.command(Scrap, sku="WIDGET", qty=2, from_location="DOCK-1", reason="crushed")
    with Outbox(tmp_path / "outbox.db") as outbox:
        outbox.enqueue(scrap)
        (outcome,) = outbox.drain(warehouse.ledger, submit, fresh=frozenset({scrap.tx_id})).outcomes
        assert [e.tx_id for e in outbox.exceptions()] == [scrap.tx_id]
    assert (outcome.status, outcome.reason) == (Status.REFUSED, Reason.DATABASE_REFUSED.value)
    assert outcome.message == refused_by_database(why)
    assert warehouse.on_hand("DOCK-1", "WIDGET") == 5
    assert moves_of(warehouse.engine, scrap.tx_id) == 0
    row = stored(warehouse.engine, scrap.tx_id)
    assert (row.status, row.message, row.kind) == ("refused", outcome.message, "scrap")
    assert row.station_id is not None and row.payload["reason"] == "crushed"
    again = submit(scrap, warehouse.ledger)
    assert again.replayed and again.message == outcome.message
    assert warehouse.run(Receive, sku="WIDGET", qty=1, to_location="DOCK-1").ok
    assert warehouse.invariants().total == 0


def test_a_refusal_the_database_refuses_too_is_stored_with_its_id_alone(
    warehouse: Warehouse,
) -> None:
    refusing_trigger(
        warehouse.engine, "void_order", "transactions", "NEW.reference = 'PO-VOID'", VOID_ORDER
    )
    receive = warehouse.command(
        Receive, sku="WIDGET", qty=4, to_location="DOCK-1", receipt="PO-VOID"
    )
    outcome = submit(receive, warehouse.ledger)
    assert outcome.message == refused_by_database(VOID_ORDER)
    row = stored(warehouse.engine, receive.tx_id)
    assert (row.status, row.reference, row.payload) == ("refused", None, {"kind": "receive"})
    assert row.payload_hash == receive.payload_hash()
    again = submit(receive, warehouse.ledger)
    assert again.replayed and again.message == outcome.message
    assert warehouse.on_hand("DOCK-1", "WIDGET") == 0


def test_an_entry_an_older_version_queued_beyond_the_range_is_answered_not_sent(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    with Outbox(tmp_path / "outbox.db") as outbox:
        old = warehouse.command(Receive, sku="WIDGET", qty=5, to_location="DOCK-1")
        good = warehouse.command(Receive, sku="WIDGET", qty=2, to_location="DOCK-1")
        outbox.enqueue(old)
        outbox.enqueue(good)
        # As a version without the range check stored it.
        outbox._db.execute(
            "UPDATE outbox SET payload = replace(payload, '\"qty\":5', '\"qty\":3000000000')"
            " WHERE tx_id = ?",
            (str(old.tx_id),),
        )
        report = outbox.drain(warehouse.ledger, submit)
        assert [o.status for o in report.outcomes] == [Status.REFUSED, Status.CONFIRMED]
        assert report.outcomes[0].message == (
            "not sent: quantity 3000000000 is above the largest quantity 2147483647: check the "
            "number and enter it again"
        )
        assert [e.tx_id for e in outbox.exceptions()] == [old.tx_id]
    assert warehouse.on_hand("DOCK-1", "WIDGET") == 2


def test_the_classifier_reads_a_real_server(warehouse: Warehouse) -> None:
    """The errors the unit tests build, as the real database raises them."""
    engine = warehouse.engine

    def failure(sql: str) -> Failure | None:
        with engine.connect() as c, pytest.raises(Exception) as caught:
            c.exec_driver_sql(sql)
        return classify(caught.value)

    quant = "(location_id, sku_id, lot_id, on_hand, reserved, is_virtual)"
    assert failure(f"INSERT INTO quants {quant} VALUES (1, 1, 0, -5, 0, false)") is (
        Failure.CONSTRAINT
    )
    if is_pg(engine):
        assert failure("SELECT 2147483647::integer + 1") is Failure.RANGE
    tx = warehouse.run(Receive, sku="WIDGET", qty=1, to_location="DOCK-1").tx_id
    t = table(TransactionRow)
    row = stored(engine, tx)  # the same id recorded twice: the loser replays
    values = {k: v for k, v in row._mapping.items() if k != "db_time"}
    with engine.connect() as c, pytest.raises(Exception) as caught:
        c.execute(t.insert().values(**values))
    assert classify(caught.value) is Failure.TRANSIENT


def test_inside_the_handler_a_refusal_leaves_the_transaction_usable(warehouse: Warehouse) -> None:
    """The handler's savepoint turns the database's refusal into a Rejection and rolls back to
    before it: the same transaction then records the refusal (PostgreSQL would otherwise refuse
    every later statement of an aborted transaction)."""
    refusing_trigger(warehouse.engine, "recall", "lots", "NEW.code = 'POISON'", RECALLED)
    with warehouse.ledger() as uow:
        milk = uow.store.sku("MILK")
        assert milk is not None
        with pytest.raises(Rejection) as refused, uow.store.savepoint():
            uow.store.add_lot(milk.id, "L2", None)
            uow.store.add_lot(milk.id, "POISON", None)
        assert refused.value.message == refused_by_database(RECALLED)
        assert uow.store.lot(milk.id, "L2") is None  # rolled back with the savepoint
        uow.store.add_lot(milk.id, "L3", None)
        uow.commit()
    with warehouse.ledger() as uow:
        assert uow.store.lot(milk.id, "L3") is not None


# --- the race on a new lot ------------------------------------------------------------------------


@pytest.fixture
def pg_warehouse(postgres_url: str) -> Iterator[Warehouse]:
    with patient_warehouse(postgres_url) as warehouse:
        yield warehouse


def raced(warehouse: Warehouse, first: Command, second: Command, meets: str) -> list[Outcome]:
    """`first` is held just before it writes its moves (the test holds a lock on `moves`) and
    `second` sent until it waits for what `first` made (its statement starting with `meets`);
    then `first` is let go. Both outcomes, in that order."""
    engine = warehouse.engine
    hold = engine.connect()
    hold.begin()
    hold.exec_driver_sql("LOCK TABLE moves IN EXCLUSIVE MODE")
    released = False
    try:
        with ThreadPoolExecutor(2) as pool:
            one = pool.submit(submit, first, warehouse.ledger)
            until(lambda: waiting(engine, "INSERT INTO moves%"), "the first held before its moves")
            two = pool.submit(submit, second, warehouse.ledger)
            until(lambda: waiting(engine, f"{meets}%"), "the second waiting for the first")
            hold.commit()
            released = True
            return [one.result(), two.result()]
    finally:
        if not released:
            hold.rollback()
        hold.close()


@pytest.mark.postgres
def test_two_docks_receiving_the_same_new_lot_at_once_both_get_it(
    pg_warehouse: Warehouse,
) -> None:
    """Dock 1's receipt has made lot NEW-7 and is held before it commits; dock 2's receipt then
    makes the same lot and must wait for dock 1. When dock 1 commits, dock 2 takes the lot dock
    1 made: both are confirmed, with one lot."""
    one = pg_warehouse.command(Receive, sku="MILK", qty=2, lot="NEW-7", to_location="DOCK-1")
    two = pg_warehouse.command(
        Receive, sku="MILK", qty=3, lot="NEW-7", to_location="DOCK-2", station="ST-2"
    )
    outcomes = raced(pg_warehouse, one, two, "INSERT INTO lots")
    assert [(o.status, o.message) for o in outcomes] == [
        (Status.CONFIRMED, "received 2 x MILK into DOCK-1"),
        (Status.CONFIRMED, "received 3 x MILK into DOCK-2"),
    ]
    lots = table(LotRow)
    with pg_warehouse.engine.connect() as c:
        made = c.execute(select(func.count()).where(lots.c.code == "NEW-7")).scalar_one()
    assert made == 1
    assert pg_warehouse.on_hand("DOCK-1", "MILK", "NEW-7") == 2
    assert pg_warehouse.on_hand("DOCK-2", "MILK", "NEW-7") == 3
    assert pg_warehouse.invariants().total == 0


@pytest.mark.postgres
def test_two_docks_disagreeing_on_a_new_lots_expiry_meet_the_usual_check(
    pg_warehouse: Warehouse,
) -> None:
    """The second dock's lot turned out to be made by the first with another expiry: its
    transaction runs again and is refused as if the lot had been there all along."""
    one = pg_warehouse.command(
        Receive, sku="MILK", qty=2, lot="NEW-8", expiry=date(2099, 1, 1), to_location="DOCK-1"
    )
    two = pg_warehouse.command(
        Receive,
        sku="MILK",
        qty=3,
        lot="NEW-8",
        expiry=date(2099, 2, 1),
        to_location="DOCK-2",
        station="ST-2",
    )
    outcomes = raced(pg_warehouse, one, two, "INSERT INTO lots")
    assert [(o.status, o.message) for o in outcomes] == [
        (Status.CONFIRMED, "received 2 x MILK lot NEW-8 (expires 2099-01-01) into DOCK-1"),
        (
            Status.REFUSED,
            "lot NEW-8 of MILK expires 2099-01-01, the label says 2099-02-01; set the goods "
            "aside and call a supervisor",
        ),
    ]
    assert pg_warehouse.invariants().total == 0


@pytest.mark.postgres
def test_a_new_serial_received_and_returned_at_once_is_in_stock_once(
    pg_warehouse: Warehouse,
) -> None:
    """A receipt and an unexpected return of the same new serial meet (they take different
    balances, VENDOR's and CUSTOMER's, so nothing else orders them). The return runs again once
    the receipt has committed, and is refused for the reason a person can act on."""
    one = pg_warehouse.command(
        Receive, sku="PHONE", qty=1, serials=("SN-RACE",), to_location="DOCK-1"
    )
    two = pg_warehouse.command(
        Return, sku="PHONE", qty=1, serials=("SN-RACE",), to_location="RET-1", approved_by="S1"
    )
    outcomes = raced(pg_warehouse, one, two, "INSERT INTO serials")
    assert [(o.status, o.reason, o.message) for o in outcomes] == [
        (Status.CONFIRMED, None, "received 1 x PHONE into DOCK-1"),
        (
            Status.REFUSED,
            Reason.SERIAL_ALREADY_IN_STOCK.value,
            "serial SN-RACE of PHONE is in stock",
        ),
    ]
    assert pg_warehouse.on_hand("DOCK-1", "PHONE") == 1
    assert pg_warehouse.on_hand("RET-1", "PHONE") == 0
    assert pg_warehouse.invariants().total == 0
