"""Ledger transactions for a station's work items: closing a receipt, raising and saving count
tasks, and holding room in a suggested bin.

These were once direct writes of the station's data adapter; they are transactions now, with the
station's id and through its outbox like every stock move (DESIGN.md section 2), so a retry
applies them once, an outage queues them, and the ledger records who did what.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from app.domain.commands import (
    CloseReceipt,
    Command,
    CountLine,
    CountOrigin,
    HoldBin,
    RaiseCount,
    SaveCount,
)
from app.domain.errors import Reason, Rejection
from app.domain.model import Location, LocationKind
from app.domain.ports import ReceiptFigure
from app.domain.rules import beyond
from app.services import exceptions, stow
from app.services.ledger_steps import Context, Handler, check_approver, known_location

COUNTABLE = (LocationKind.BIN,)


def _close_receipt(cmd: CloseReceipt, ctx: Context) -> tuple[str, dict[str, Any]]:
    store = ctx.store
    head = store.lock_receipt(cmd.receipt)
    if head is None:
        raise Rejection(Reason.UNKNOWN_RECEIPT, f"{cmd.receipt} is not an expected receipt")
    if head.status != "open":
        by = f" by {head.closed_by}" if head.closed_by else ""
        when = f" at {head.closed_at:%H:%M}" if head.closed_at else ""
        raise Rejection(Reason.RECEIPT_CLOSED, f"receipt {head.code} was already closed{by}{when}")
    check_approver(ctx, cmd.approved_by, "short close")
    approver = store.operator(cmd.approved_by) if cmd.approved_by else None
    figures = store.receipt_figures(head)
    off = [f for f in figures if not f.matches]
    tolerance = ctx.policy.receipt_under
    short = [
        f for f in off if f.received < f.expected and beyond(tolerance, f.expected, f.received)
    ]
    if short and cmd.approved_by is None:
        listed = ", ".join(f"{f.sku} {f.received} of {f.expected}" for f in short)
        raise Rejection(
            Reason.APPROVAL_REQUIRED,
            f"receipt {head.code} is short beyond the tolerance ({listed}): a supervisor must "
            "approve closing it with badge and PIN",
        )
    store.close_receipt(head, ctx.tx_id, ctx.operator.id, approver.id if approver else None, off)
    exceptions.receipt_closed(ctx, head, figures, cmd.approved_by)
    result: dict[str, Any] = {
        "discrepancies": [
            {"sku": f.sku, "expected": f.expected, "received": f.received} for f in off
        ],
        "approved_by": cmd.approved_by,
    }
    return _closed_text(head.code, off), result


def _closed_text(code: str, off: Sequence[ReceiptFigure]) -> str:
    if not off:
        return f"receipt {code} closed: everything as expected"
    short = sum(1 for f in off if f.received < f.expected)
    return f"receipt {code} closed with {len(off)} discrepancies ({short} short)"


def _countable(ctx: Context, code: str) -> Location:
    return known_location(ctx.store, code, COUNTABLE, "counted location")


def _raise_count(cmd: RaiseCount, ctx: Context) -> tuple[str, dict[str, Any]]:
    if not cmd.reason.strip():
        raise Rejection(Reason.BAD_INPUT, "a count needs a reason")
    location = _countable(ctx, cmd.location)
    store = ctx.store
    task = store.lock_count_task(location.id)
    if task is not None:
        return f"{location.code} already has a count task ({task.state})", {"task": task.id}
    task_id = store.insert_count_task(
        location.id,
        state="open",
        reason=cmd.reason,
        origin=CountOrigin.EVENT.value,
        raised_by_station_id=ctx.station.id,
        raised_by_operator_id=ctx.operator.id,
    )
    return f"count of {location.code} raised: {cmd.reason}", {"task": task_id}


def _lines(lines: Sequence[CountLine]) -> list[dict[str, Any]]:
    return [{"sku": line.sku, "lot": line.lot, "qty": line.qty} for line in lines]


def _save_count(cmd: SaveCount, ctx: Context) -> tuple[str, dict[str, Any]]:
    location = _countable(ctx, cmd.location)
    store = ctx.store
    counter = store.operator(cmd.counter)
    if counter is None:
        raise Rejection(Reason.UNKNOWN_OPERATOR, f"badge {cmd.counter!r} is not known")
    values: dict[str, Any] = {
        "state": cmd.state,
        "counts": _lines(cmd.counts),
        "snapshot": _lines(cmd.snapshot),
        "counted_by_operator_id": counter.id,
    }
    if cmd.state == "done":
        values["done_at"] = cmd.station_time
    if cmd.state == "recount":
        # Someone else must recount: a task assigned to the first counter goes to anyone (of its
        # zone, if it has one), or nobody could see it.
        values["assigned_to"] = None
    task = store.lock_count_task(location.id)
    if task is None or not task.first_counted:
        # The first count of a task is kept: the inventory-record accuracy is the first count's.
        values.update(
            first_counts=values["counts"],
            first_snapshot=values["snapshot"],
            first_counted_at=cmd.station_time,
        )
    if task is None:
        counters = [counter.badge]
        task_id = store.insert_count_task(
            location.id,
            reason="counted",
            origin=CountOrigin.COUNTER.value,
            raised_by_station_id=ctx.station.id,
            raised_by_operator_id=counter.id,
            counters=counters,
            **values,
        )
    else:
        task_id = task.id
        counters = list(task.counters)
        if counter.badge not in counters:
            counters.append(counter.badge)
        store.update_count_task(task_id, counters=counters, **values)
    exceptions.count_saved(
        ctx, task_id, cmd.state, location, counter, cmd.counts, cmd.snapshot, counters
    )
    return f"count of {location.code} saved ({cmd.state})", {"task": task_id}


def _hold_bin(cmd: HoldBin, ctx: Context) -> tuple[str, dict[str, Any]]:
    """A putaway's bin suggestion, held for this station. When no bin takes all `qty`, the bin
    that takes the most of it is held for that many ("units" in the result: the units held, 0 when
    no bin has room for even one); the station puts those away and asks again for the rest."""
    if cmd.qty <= 0:
        raise Rejection(Reason.BAD_QUANTITY, f"quantity must be above 0, not {cmd.qty}")
    ctx.store.release_expired_holds(None)
    answer = stow.answer_in(
        ctx.store,
        cmd.sku,
        cmd.qty,
        None,
        cmd.lot,
        ctx.station.code,
        ctx.stow,
        random.Random(),
        hold=True,
        split=True,
    )
    held = answer.held
    also = [s.code for s in answer.suggestions if held is None or s.code != held.code]
    result: dict[str, Any] = {
        "location": held.code if held else None,
        "why": held.why if held else None,
        "also": also,
        "units": held.units if held else 0,
    }
    if held is None:
        return f"no bin has room for {cmd.qty} x {cmd.sku}", result
    if held.units < cmd.qty:
        return (
            f"{held.code} held for {held.units} of {cmd.qty} x {cmd.sku}: no bin has room for all "
            f"{cmd.qty}",
            result,
        )
    return f"{held.code} held for {cmd.qty} x {cmd.sku}", result


HANDLERS: dict[type[Command], Handler] = {
    CloseReceipt: _close_receipt,
    RaiseCount: _raise_count,
    SaveCount: _save_count,
    HoldBin: _hold_bin,
}
