"""Receipts closing and count tasks, written inside a ledger transaction (the store's methods).

A station never writes these rows itself: closing a receipt, raising a count and saving one are
transactions with the station's id, sent through its outbox (DESIGN.md section 2) and applied by
the ledger services, like the stock moves. The rows they lock: the receipt's row; for a count
task, the location's row, so that two stations raising the same bin's task queue one behind the
other instead of colliding on the unique index of unfinished tasks.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, func, insert, select, text, update

from app.domain.model import VirtualLocation
from app.domain.ports import CountTaskRecord, ReceiptFigure, ReceiptHead

from .schema import (
    UNFINISHED_COUNT,
    CountTaskRow,
    LocationRow,
    MoveRow,
    OperatorRow,
    ReceiptLineRow,
    ReceiptRow,
    SkuRow,
    TransactionRow,
    table,
)

_CT, _L, _O, _R = table(CountTaskRow), table(LocationRow), table(OperatorRow), table(ReceiptRow)
_S = table(SkuRow)
# The partial index's own predicate, as text: a bound 'done' would hide the index from planners.
UNFINISHED = text(f"{CountTaskRow.__tablename__}.{UNFINISHED_COUNT}")


def received(which: Any) -> Any:
    """(receipt, sku code, units) received against the receipts `which` selects by code:
    confirmed receives from VENDOR, damaged ones included."""
    m, t, vendor = table(MoveRow), table(TransactionRow), _L.alias("vendor")
    return (
        select(t.c.reference.label("receipt"), _S.c.code.label("sku"), func.sum(m.c.qty))
        .select_from(
            m.join(t, t.c.id == m.c.tx_id)
            .join(_S, _S.c.id == m.c.sku_id)
            .join(vendor, vendor.c.id == m.c.from_location_id)
        )
        .where(
            which(t.c.reference),
            t.c.kind == "receive",
            t.c.status == "confirmed",
            vendor.c.code == VirtualLocation.VENDOR.value,
        )
        .group_by(t.c.reference, _S.c.code)
    )


def received_units(receipt_code: str) -> Any:
    """(receipt, sku code, units) received against one receipt."""
    return received(lambda reference: reference == receipt_code)


def lock_receipt(c: Connection, code: str) -> ReceiptHead | None:
    closer = _O.alias("closer")
    r = c.execute(
        select(_R.c.id, _R.c.code, _R.c.status, _R.c.closed_at, closer.c.badge)
        .select_from(_R.outerjoin(closer, closer.c.id == _R.c.closed_by_id))
        .where(_R.c.code == code)
        .with_for_update(of=_R)
    ).first()
    return None if r is None else ReceiptHead(r.id, r.code, r.status, r.badge, r.closed_at)


def receipt_figures(c: Connection, head: ReceiptHead) -> list[ReceiptFigure]:
    """Expected and received units per SKU: the receipt's lines in order, then SKUs received
    that it did not expect."""
    rl = table(ReceiptLineRow)
    expected: dict[str, int] = {}
    for sku, qty in c.execute(
        select(_S.c.code, rl.c.qty)
        .select_from(rl.join(_S, _S.c.id == rl.c.sku_id))
        .where(rl.c.receipt_id == head.id)
        .order_by(rl.c.line)
    ).all():
        expected[sku] = expected.get(sku, 0) + int(qty)
    received = {sku: int(qty) for _, sku, qty in c.execute(received_units(head.code)).all()}
    others = sorted(s for s, n in received.items() if n > 0 and s not in expected)
    return [ReceiptFigure(s, expected.get(s, 0), received.get(s, 0)) for s in [*expected, *others]]


def close_receipt(
    c: Connection,
    head: ReceiptHead,
    tx_id: uuid.UUID,
    closed_by_id: int,
    approved_by_id: int | None,
    discrepancies: Sequence[ReceiptFigure],
) -> None:
    c.execute(
        update(_R)
        .where(_R.c.id == head.id)
        .values(
            status="closed",
            closed_at=func.now(),
            closed_by_id=closed_by_id,
            close_approved_by_id=approved_by_id,
            close_tx_id=tx_id,
            discrepancies=[
                {"sku": f.sku, "expected": f.expected, "received": f.received}
                for f in discrepancies
            ],
        )
    )


# --- count tasks ------------------------------------------------------------------------------


def lock_count_task(c: Connection, location_id: int) -> CountTaskRecord | None:
    """The location's unfinished task, after locking the location's row (every writer of that
    location's tasks locks it first; on SQLite the write lock serialises them already)."""
    c.execute(select(_L.c.id).where(_L.c.id == location_id).with_for_update())
    r = c.execute(
        select(_CT.c.id, _CT.c.state, _CT.c.counters, _CT.c.first_counted_at).where(
            _CT.c.location_id == location_id, UNFINISHED
        )
    ).first()
    if r is None:
        return None
    return CountTaskRecord(
        r.id, r.state, tuple(r.counters or ()), first_counted=r.first_counted_at is not None
    )


def insert_count_task(c: Connection, location_id: int, **values: Any) -> int:
    values.setdefault("counts", [])
    values.setdefault("snapshot", [])
    values.setdefault("counters", [])
    stmt = insert(_CT).values(location_id=location_id, **values).returning(_CT.c.id)
    return int(c.execute(stmt).scalar_one())


def update_count_task(c: Connection, task_id: int, **values: Any) -> None:
    c.execute(update(_CT).where(_CT.c.id == task_id).values(updated_at=func.now(), **values))
