"""The exceptions list in the ledger (app/domain/exceptions.py): raising an exception in the
transaction that makes it, and a supervisor's `Decide`, which settles it and does what the
decision means for its kind, in the same transaction.

The raising steps are called by the handlers of `ledger`, `work_ledger` and `holds`, inside their
savepoint: a refused transaction raises nothing, except a refusal after an outage, which is the
exception itself (`refused_late`, written beside the refusal).

Locks: a decision locks its subject first (the count task's location, the hold), then the
exception, the order in which the transactions that raise and resolve them go.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from app.domain.commands import Command, CountLine, CountOrigin, Decide
from app.domain.errors import Reason, Rejection
from app.domain.exceptions import (
    COUNT_KINDS,
    Decision,
    ExceptionKind,
    ExceptionState,
    count_differences,
    count_what,
    label,
    reason_refusal,
)
from app.domain.model import NO_LOT_ID, Location, LocationKind, Lot, Move, Operator, Sku, Station
from app.domain.orders import clock
from app.domain.ports import (
    ExceptionRecord,
    HoldRecord,
    LedgerStore,
    NewException,
    ReceiptFigure,
    ReceiptHead,
)
from app.domain.rules import DOING, beyond
from app.services.ledger_steps import (
    Context,
    Handler,
    adjust_stock,
    known_sku,
    moved,
)

COUNT_REASON_LENGTH = 80
"""The longest reason a count task keeps (count_tasks.reason)."""


def _raise(
    ctx: Context,
    kind: ExceptionKind,
    ref: str,
    what: str,
    *,
    by: Operator | None = None,
    location: Location | None = None,
    sku: Sku | None = None,
    lot: str | None = None,
    qty: int | None = None,
) -> int | None:
    return ctx.store.raise_exception(
        NewException(
            kind,
            ref,
            what,
            ctx.tx_id,
            (by or ctx.operator).id,
            ctx.station.id,
            location.id if location else None,
            sku.id if sku else None,
            lot,
            qty,
        )
    )


def _tx_ref(ctx: Context) -> str:
    return f"tx:{ctx.tx_id}"


def _lot_words(lot: str | None) -> str:
    return f" lot {lot}" if lot else ""


def _lot_code(ctx: Context, moves: Sequence[Move]) -> str | None:
    lot_id = moves[0].lot_id if moves else NO_LOT_ID
    if lot_id == NO_LOT_ID:
        return None
    found = ctx.store.lots_by_id([lot_id]).get(lot_id)
    return found.code if found else None


# --- raised by the work -----------------------------------------------------------------------


def count_saved(
    ctx: Context,
    task_id: int,
    state: str,
    location: Location,
    counter: Operator,
    counts: Sequence[CountLine],
    snapshot: Sequence[CountLine],
    counters: Sequence[str],
) -> None:
    """A count saved on task `task_id`: beyond tolerance it waits for a recount
    (COUNT_VARIANCE), a recount beyond tolerance too waits for a supervisor (COUNT_DISAGREEMENT,
    and the variance is settled: it was recounted); a task done settles both."""
    ref = f"task:{task_id}"
    if state == "done":
        ctx.store.resolve_exceptions(COUNT_KINDS, ref, ctx.tx_id, counter.id)
        return
    if state not in ("recount", "approval"):
        return
    first_by: list[str] = []
    kind = ExceptionKind.COUNT_VARIANCE
    if state == "approval":
        ctx.store.resolve_exceptions((ExceptionKind.COUNT_VARIANCE,), ref, ctx.tx_id, counter.id)
        first_by = [badge for badge in counters if badge != counter.badge]
        kind = ExceptionKind.COUNT_DISAGREEMENT
    what = count_what(location.code, counter.badge, counts, snapshot, first_by)
    differences = count_differences(counts, snapshot)
    sku, lot, qty = None, None, None
    if len(differences) == 1:  # one SKU and lot off: the list names it
        (code, lot), counted, ledger = differences[0]
        sku, qty = ctx.store.sku(code), counted - ledger
    _raise(ctx, kind, ref, what, by=counter, location=location, sku=sku, lot=lot, qty=qty)


def short_pick(
    ctx: Context,
    source: Location,
    sku: Sku,
    lot: Lot | None,
    picked: int,
    reserved: int,
    line: str,
    why: str | None,
) -> None:
    """A pick of fewer units than were reserved: the bin held less than the ledger said."""
    short = reserved - picked
    because = f" ({why})" if why else ""
    what = (
        f"{ctx.operator.badge} picked {picked} of {reserved} x {sku.code}"
        f"{_lot_words(lot.code if lot else None)} from {source.code} for {line}: {short} short"
        f"{because}"
    )
    code = lot.code if lot else None
    _raise(
        ctx,
        ExceptionKind.SHORT_PICK,
        _tx_ref(ctx),
        what,
        location=source,
        sku=sku,
        lot=code,
        qty=short,
    )


def damaged_receipt(
    ctx: Context,
    target: Location,
    sku: Sku,
    lot: str | None,
    qty: int,
    receipt: str | None,
    accepted_by: str | None,
) -> None:
    """Goods received into quarantine: damaged, or a lot a supervisor accepted out of date."""
    why = f"out of date, accepted by {accepted_by}" if accepted_by else "damaged (or set aside)"
    on = f" on {receipt}" if receipt else ""
    what = (
        f"{ctx.operator.badge} received {qty} x {sku.code}{_lot_words(lot)}{on} into "
        f"quarantine {target.code}: {why}"
    )
    _raise(
        ctx,
        ExceptionKind.DAMAGED_RECEIPT,
        _tx_ref(ctx),
        what,
        location=target,
        sku=sku,
        lot=lot,
        qty=qty,
    )


def receipt_closed(
    ctx: Context, head: ReceiptHead, figures: Iterable[ReceiptFigure], approved_by: str | None
) -> None:
    """A receipt closed with a line received beyond the receiving tolerances (over or under):
    one exception per receipt, naming every such line."""
    policy = ctx.policy
    off = [
        f
        for f in figures
        if (f.received > f.expected and beyond(policy.receipt_over, f.expected, f.received))
        or (f.received < f.expected and beyond(policy.receipt_under, f.expected, f.received))
    ]
    if not off:
        return
    listed = "; ".join(
        f"{f.sku} received {f.received} of {f.expected} expected ({f.received - f.expected:+d})"
        for f in off
    )
    short_close = f", short close approved by {approved_by}" if approved_by else ""
    what = (
        f"receipt {head.code} closed by {ctx.operator.badge} outside the receiving tolerance: "
        f"{listed}{short_close}"
    )
    sku, qty = None, None
    if len(off) == 1:
        sku, qty = ctx.store.sku(off[0].sku), off[0].received - off[0].expected
    _raise(ctx, ExceptionKind.RECEIPT_TOLERANCE, f"receipt:{head.code}", what, sku=sku, qty=qty)


def override(
    ctx: Context,
    target: Location,
    suggested: str,
    sku: Sku,
    moves: Sequence[Move],
    qty: int,
    lookalike: str,
) -> None:
    """A putaway into another bin than the suggested one, where it may be mistaken for a
    look-alike or another lot."""
    lot = _lot_code(ctx, moves)
    what = (
        f"{ctx.operator.badge} put {qty} x {sku.code}{_lot_words(lot)} into {target.code} "
        f"instead of the suggested {suggested}; {lookalike}"
    )
    _raise(
        ctx,
        ExceptionKind.OVERRIDE,
        _tx_ref(ctx),
        what,
        location=target,
        sku=sku,
        lot=lot,
        qty=qty,
    )


def hold_placed(
    ctx: Context,
    hold_id: int,
    what: str,
    reason: str,
    location: Location | None,
    sku: Sku | None,
    lot: str | None,
) -> None:
    text = f"{what} put on hold by {ctx.operator.badge}: {reason}"
    _raise(ctx, ExceptionKind.HOLD, f"hold:{hold_id}", text, location=location, sku=sku, lot=lot)


def hold_lifted(ctx: Context, hold_id: int, by: Operator) -> None:
    """A hold lifted (a release at a station or terminal): its exception is settled."""
    ctx.store.resolve_exceptions((ExceptionKind.HOLD,), f"hold:{hold_id}", ctx.tx_id, by.id)


def refused_late(
    store: LedgerStore,
    command: Command,
    station: Station | None,
    operator: Operator | None,
    message: str,
) -> None:
    """A refusal of a transaction that waited in a station's queue (an outage) at least the
    policy's `late_refusal_seconds`: whoever scanned it has moved on and was never told, so it
    goes on the supervisors' list, in the refusal's own database transaction."""
    waited = (store.database_now() - command.station_time).total_seconds()
    if waited < store.policy().late_refusal_seconds:
        return
    payload = command.payload()
    code = next(
        (payload[k] for k in ("location", "from_location", "to_location") if payload.get(k)),
        None,
    )
    location = store.location(str(code)) if code else None
    sku = store.sku(str(payload["sku"])) if payload.get("sku") else None
    qty = payload.get("qty", payload.get("delta"))
    who = f" by {operator.badge}" if operator else f" by badge {command.operator}"
    at = f" at {station.code}" if station else f" at station {command.station}"
    late = f"{round(waited / 60)} min" if waited >= 120 else f"{round(waited)} s"
    what = (
        f"{DOING[command.kind]}{who}{at}, scanned at {clock(command.station_time)}, was refused "
        f"{late} later, after waiting in the station's queue: {message}"
    )
    store.raise_exception(
        NewException(
            ExceptionKind.REFUSED_LATE,
            f"tx:{command.tx_id}",
            what,
            command.tx_id,
            operator.id if operator else None,
            station.id if station else None,
            location.id if location else None,
            sku.id if sku else None,
            str(payload["lot"]) if payload.get("lot") else None,
            qty if isinstance(qty, int) and not isinstance(qty, bool) else None,
        )
    )


# --- decided by a supervisor ------------------------------------------------------------------


def _decide(cmd: Decide, ctx: Context) -> tuple[str, dict[str, Any]]:
    store = ctx.store
    decision = Decision(cmd.decision)
    name = label(cmd.exception)
    approver = store.operator(cmd.approved_by)
    assert approver is not None  # authorise verified the supervisor and their PIN
    found = store.exception(cmd.exception)
    if found is None:
        raise Rejection(
            Reason.BAD_INPUT,
            f"{name} does not exist: check its number (perpetua exceptions --open). "
            "Nothing was done.",
        )
    # The subject first, then the exception: the order the work that raises them locks in.
    if found.kind in COUNT_KINDS:
        decided = _count_decision
    elif found.kind is ExceptionKind.HOLD:
        decided = _hold_decision
    else:
        decided = _check_decision
    return decided(cmd, ctx, found, decision, approver)


def _locked_open(ctx: Context, cmd: Decide, decision: Decision) -> ExceptionRecord:
    """The exception, locked, if it is still open and the reason fits the decision."""
    item = ctx.store.exception(cmd.exception, lock=True)
    assert item is not None  # exceptions are never deleted
    if item.state is not ExceptionState.OPEN:
        by = f" by {item.decided_by}" if item.decided_by else ""
        at = f" at {clock(item.decided_at)}" if item.decided_at else ""
        why = f" ({item.decision_reason})" if item.decision_reason else ""
        raise Rejection(
            Reason.BAD_INPUT,
            f"{label(item.id)} was already {item.state.value}{by}{at}{why}: nothing was done",
        )
    refusal = reason_refusal(item.kind, decision, cmd.reason)
    if refusal:
        raise Rejection(Reason.BAD_INPUT, f"{refusal}. Nothing was done.")
    return item


def _settle(
    ctx: Context, item: ExceptionRecord, decision: Decision, approver: Operator, reason: str
) -> str:
    state = ExceptionState.APPROVED if decision is Decision.APPROVE else ExceptionState.REJECTED
    ctx.store.decide_exception(item.id, state, ctx.tx_id, approver.id, reason)
    return f"{label(item.id)} {state.value} by {approver.badge} ({reason})"


def _location(ctx: Context, location_id: int | None) -> Location | None:
    if location_id is None:
        return None
    return ctx.store.locations_by_id([location_id]).get(location_id)


def _count_decision(
    cmd: Decide, ctx: Context, found: ExceptionRecord, decision: Decision, approver: Operator
) -> tuple[str, dict[str, Any]]:
    """Approve: post the saved count against the bin's current balance, as a supervisor's
    approval at the station does; the task is done. Reject: the count is discarded and the
    bin counted again (the first count is kept for the accuracy figure)."""
    store = ctx.store
    bin_ = _location(ctx, found.location_id)
    task_id = int(found.ref.removeprefix("task:"))
    task = store.lock_count_task(bin_.id) if bin_ else None
    item = _locked_open(ctx, cmd, decision)
    saved = store.saved_count(task_id)
    if bin_ is None or task is None or task.id != task_id or saved is None:
        raise Rejection(
            Reason.BAD_INPUT,
            f"the count {label(item.id)} is about is finished or gone: nothing to decide",
        )
    if approver.badge in saved.counters:
        raise Rejection(
            Reason.NOT_ALLOWED,
            f"{approver.badge} counted {bin_.code}: another supervisor must decide "
            f"{label(item.id)}. Nothing was done.",
        )
    result: dict[str, Any] = {"exception": item.id, "task": task_id}
    if decision is Decision.REJECT:
        why = f"recount: {label(item.id)} rejected by {approver.badge} ({cmd.reason})"
        store.update_count_task(
            task_id, state="open", counts=[], snapshot=[], reason=why[:COUNT_REASON_LENGTH]
        )
        done = _settle(ctx, item, decision, approver, cmd.reason)
        store.resolve_exceptions(COUNT_KINDS, item.ref, ctx.tx_id, approver.id)
        return (
            f"{done}: the count of {bin_.code} is discarded; the bin is to be counted again",
            result | {"state": ExceptionState.REJECTED.value},
        )
    moves: list[Move] = []
    for (code, lot), counted, ledger in count_differences(saved.counts, saved.snapshot):
        sku = known_sku(store, code)
        _, posted = adjust_stock(ctx, sku, bin_, counted - ledger, cmd.reason, lot_code=lot)
        moves += posted
    store.update_count_task(task_id, state="done", done_at=cmd.station_time)
    done = _settle(ctx, item, decision, approver, cmd.reason)
    store.resolve_exceptions(COUNT_KINDS, item.ref, ctx.tx_id, approver.id)
    adjusted = len(count_differences(saved.counts, saved.snapshot))
    return (
        f"{done}: {adjusted} adjustment(s) of {bin_.code} posted",
        result | moved(moves) | {"state": ExceptionState.APPROVED.value},
    )


def _hold_decision(
    cmd: Decide, ctx: Context, found: ExceptionRecord, decision: Decision, approver: Operator
) -> tuple[str, dict[str, Any]]:
    """Approve: the hold is lifted (inspected ok), as a release without a quantity does.
    Reject: the hold stays, with the decision recorded."""
    store = ctx.store
    hold, what = _hold_of(ctx, found)
    item = _locked_open(ctx, cmd, decision)
    result: dict[str, Any] = {"exception": item.id}
    if decision is Decision.REJECT:
        done = _settle(ctx, item, decision, approver, cmd.reason)
        return f"{done}: {what} stays on hold", result | {"state": "rejected"}
    if hold is None or f"hold:{hold.id}" != item.ref:
        raise Rejection(
            Reason.BAD_INPUT,
            f"the hold {label(item.id)} is about was released meanwhile: nothing to release",
        )
    store.release_hold(hold.id, approver.id, ctx.tx_id, cmd.reason)
    done = _settle(ctx, item, decision, approver, cmd.reason)
    return (
        f"{done}: the hold on {what} ({hold.reason}) is lifted: its stock may be picked and "
        "moved again",
        result | {"state": "approved", "hold": hold.id},
    )


def _hold_of(ctx: Context, found: ExceptionRecord) -> tuple[HoldRecord | None, str]:
    """The active hold an exception is about, locked, and how to name what it holds."""
    store = ctx.store
    location = _location(ctx, found.location_id)
    if location is not None:
        return store.lock_active_hold(location.id, None), location.code
    sku = store.sku_by_id(found.sku_id) if found.sku_id is not None else None
    lot = store.lot(sku.id, found.lot) if sku is not None and found.lot else None
    what = f"lot {found.lot} of {sku.code}" if sku is not None else f"lot {found.lot}"
    return (store.lock_active_hold(None, lot.id) if lot else None), what


def _check_decision(
    cmd: Decide, ctx: Context, found: ExceptionRecord, decision: Decision, approver: Operator
) -> tuple[str, dict[str, Any]]:
    """Approve: accepted as it is. Reject: not accepted, and its bin (if it names one) is
    counted, so that the stock is checked."""
    item = _locked_open(ctx, cmd, decision)
    done = _settle(ctx, item, decision, approver, cmd.reason)
    result: dict[str, Any] = {"exception": item.id, "state": "approved"}
    if decision is Decision.APPROVE:
        return f"{done}: accepted as it is", result
    result["state"] = "rejected"
    location = _location(ctx, item.location_id)
    if location is None:
        return f"{done}: not accepted; it names no bin to count", result
    if location.kind is not LocationKind.BIN or not location.active:
        what = location.kind.value if location.active else "deactivated location"
        return f"{done}: not accepted; {location.code} is a {what}, not counted", result
    task = ctx.store.lock_count_task(location.id)
    if task is not None:
        already = f"{location.code} already has a count task ({task.state})"
        return f"{done}: not accepted; {already}", result | {"task": task.id}
    words = item.kind.value.replace("_", " ")
    task_id = ctx.store.insert_count_task(
        location.id,
        state="open",
        reason=f"rejected {label(item.id)}: {words}"[:COUNT_REASON_LENGTH],
        origin=CountOrigin.EVENT.value,
        raised_by_station_id=ctx.station.id,
        raised_by_operator_id=ctx.operator.id,
    )
    return f"{done}: not accepted; a count of {location.code} is raised", result | {"task": task_id}


HANDLERS: dict[type, Handler] = {Decide: _decide}
