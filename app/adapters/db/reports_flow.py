"""The flow reports, read from the ledger (`perpetua report age | turnover | receiving | picks |
health`; the arithmetic is app/domain/reports_flow.py). Each function returns a ReportTable.

Every date is the UTC day of the transaction's station time: when it happened on the floor, even
if it waited in a station's queue. On hand is the stock of the real locations (every location but
VENDOR, CUSTOMER, ADJUSTMENT and SCRAP): bins, docks, staging, outbound, returns, quarantine.
Reads only: on SQLite give these a connection with the READONLY execution option
(engine.READONLY), so that a report does not take the write lock that stations wait on.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from app.domain.accuracy import CLASSES, NO_CLASS
from app.domain.model import LocationKind, VirtualLocation
from app.domain.report_table import Column, ColumnKind, ReportTable, Value
from app.domain.reports_flow import (
    AGE_BUCKETS,
    BREAK_MINUTES,
    AgedStock,
    HealthLimits,
    Pick,
    Receipt,
    SkuStock,
    Turnover,
    age_on_hand,
    all_pickers,
    average_on_hand,
    combined,
    days_of,
    health,
    over_and_short,
    overall,
    pick_rates,
)

from . import authority
from .schema import (
    HoldRow,
    LocationRow,
    MoveRow,
    OperatorRow,
    QuantRow,
    ReceiptLineRow,
    ReceiptRow,
    ReservationRow,
    SkuClassRow,
    SkuRow,
    TransactionRow,
    table,
)
from .work_items import received

_M, _T, _Q, _S = table(MoveRow), table(TransactionRow), table(QuantRow), table(SkuRow)
_K, _L, _O, _R = table(SkuClassRow), table(LocationRow), table(OperatorRow), table(ReceiptRow)
_SRC, _DST = _L.alias("source"), _L.alias("target")
VIRTUAL = LocationKind.VIRTUAL.value

HEALTH_DAYS = 90
"""Sell-through and excess are judged on the demand of this many days, today included."""

CODE_CHUNK = 500
"""Codes per `IN (...)` question: well under SQLite's limit of bound parameters."""

SHIPPED, PICKED = "shipped", "picked"

PICKED_OR_HELD = tuple(
    k.value for k in (LocationKind.QUARANTINE, LocationKind.OUTBOUND, LocationKind.STAGING)
)
"""Kinds of location whose stock is not available: held, or picked for an order."""


def _moment(day: date) -> datetime:
    """The start of a UTC day."""
    return datetime.combine(day, time(), UTC)


def _after(day: date) -> datetime:
    """The end of a UTC day: the start of the next (of 9999-12-31, the last moment there is)."""
    if day == date.max:
        return datetime.max.replace(tzinfo=UTC)
    return _moment(day + timedelta(days=1))


@dataclass(frozen=True, slots=True)
class _Sku:
    code: str
    active: bool
    unit_value_cents: int | None
    abc: str


def _skus(c: Connection) -> dict[int, _Sku]:
    rows = c.execute(
        select(_S.c.id, _S.c.code, _S.c.active, _S.c.unit_value_cents, _K.c.abc).select_from(
            _S.outerjoin(_K, _K.c.sku_id == _S.c.id)
        )
    )
    return {r.id: _Sku(r.code, bool(r.active), r.unit_value_cents, r.abc or NO_CLASS) for r in rows}


def _on_hand(c: Connection) -> dict[int, int]:
    """Units on hand now per SKU id (the balances, which the ledger keeps equal to its moves)."""
    rows = c.execute(
        select(_Q.c.sku_id, func.sum(_Q.c.on_hand))
        .where(_Q.c.is_virtual.is_(False))
        .group_by(_Q.c.sku_id)
    )
    return {int(sku): int(units or 0) for sku, units in rows}


def _available(c: Connection) -> dict[int, int]:
    """Units that could be picked now per SKU id: on hand less reserved, leaving out what is
    held (quarantine locations, locations and lots on hold, as `perpetua stock` shows them) and
    what was picked already (outbound and staging locations: it belongs to an order)."""
    h = table(HoldRow)
    active = h.c.released_at.is_(None)
    held_location = select(h.c.id).where(h.c.location_id == _Q.c.location_id, active).exists()
    held_lot = select(h.c.id).where(h.c.lot_id == _Q.c.lot_id, active).exists()
    rows = c.execute(
        select(_Q.c.sku_id, func.sum(_Q.c.on_hand - _Q.c.reserved))
        .select_from(_Q.join(_L, _L.c.id == _Q.c.location_id))
        .where(
            _Q.c.is_virtual.is_(False),
            _L.c.kind.not_in(PICKED_OR_HELD),
            ~held_location,
            ~held_lot,
        )
        .group_by(_Q.c.sku_id)
    )
    return {int(sku): int(units or 0) for sku, units in rows}


def _moves() -> Any:
    return (
        _M.join(_T, _T.c.id == _M.c.tx_id)
        .join(_SRC, _SRC.c.id == _M.c.from_location_id)
        .join(_DST, _DST.c.id == _M.c.to_location_id)
    )


def _in_period(since: datetime, until: datetime | None = None) -> Any:
    if until is None:
        return _T.c.station_time >= since
    return and_(_T.c.station_time >= since, _T.c.station_time < until)


def _demand_filter(measure: str) -> Any:
    if measure == SHIPPED:
        return _DST.c.code == VirtualLocation.CUSTOMER.value
    return _M.c.reason == "pick"


def _demand(c: Connection, since: datetime, until: datetime) -> tuple[str, dict[int, int]]:
    """Units per SKU id shipped to customers from `since` to `until`, or, when nothing at all was
    shipped then (a warehouse that does not record shipping), units picked: one measure for every
    SKU, so that their figures compare."""
    for measure in (SHIPPED, PICKED):
        rows = c.execute(
            select(_M.c.sku_id, func.sum(_M.c.qty))
            .select_from(_moves())
            .where(_demand_filter(measure), _in_period(since, until))
            .group_by(_M.c.sku_id)
        ).all()
        if rows:
            return measure, {int(sku): int(units) for sku, units in rows}
    return PICKED, {}


def _demand_text(measure: str) -> str:
    if measure == SHIPPED:
        return "Demand is the units shipped to customers (moves to CUSTOMER)."
    return (
        "Nothing was shipped in the period, so demand is the units picked (moves with reason "
        "pick) instead."
    )


# --- age ------------------------------------------------------------------------------------


AGE_COLUMNS = (
    Column("sku", "SKU"),
    Column("on_hand", "on hand", ColumnKind.INT),
    *(
        Column(f"days_{name.replace('-', '_').replace(' ', '_')}", name, ColumnKind.INT)
        for _, _, name in AGE_BUCKETS
    ),
    Column("no_receipt", "no receipt", ColumnKind.INT),
    Column("value", "value", ColumnKind.MONEY),
    Column("value_over_90", "value >90 days", ColumnKind.MONEY),
)


def _receipts(c: Connection, sku_ids: Sequence[int]) -> dict[int, list[Receipt]]:
    """Units that entered stock from VENDOR (receives and opening balances) per SKU id, by day."""
    days: dict[int, dict[date, int]] = {}
    for at in range(0, len(sku_ids), CODE_CHUNK):
        rows = c.execute(
            select(_M.c.sku_id, _T.c.station_time, _M.c.qty)
            .select_from(_moves())
            .where(
                _M.c.sku_id.in_(sku_ids[at : at + CODE_CHUNK]),
                _SRC.c.code == VirtualLocation.VENDOR.value,  # to a real location, always
            )
        )
        for sku, moment, qty in rows:
            per_day = days.setdefault(int(sku), {})
            day = moment.astimezone(UTC).date()
            per_day[day] = per_day.get(day, 0) + int(qty)
    return {sku: [Receipt(d, n) for d, n in per_day.items()] for sku, per_day in days.items()}


def age(c: Connection, today: date) -> ReportTable:
    """The stock on hand per SKU by age, first in, first out against its receipts."""
    skus, on_hand = _skus(c), _on_hand(c)
    held = sorted((i for i, n in on_hand.items() if n > 0), key=lambda i: skus[i].code)
    receipts = _receipts(c, held)
    figures = [
        _age_figures(skus[i], age_on_hand(on_hand[i], receipts.get(i, ()), today)) for i in held
    ]
    rows: list[tuple[Value, ...]] = [(code, *numbers) for code, numbers in figures]
    rows.append(("total", *(sum(n[k] for _, n in figures) for k in range(len(AGE_COLUMNS) - 1))))
    return ReportTable(
        f"Inventory age on {today.isoformat()} (days since receipt)",
        AGE_COLUMNS,
        rows,
        (
            "First in, first out: the units on hand are taken to be those of the SKU's newest "
            "receipts (receives and opening balances, by the station's day), and each unit is as "
            "old as its receipt. 'no receipt' is stock beyond everything ever received (found by "
            "a count, or returned by a customer). Value is units x the SKU's unit_value; a SKU "
            "without one counts 0.",
        ),
    )


OLD_BUCKETS = [i for i, (first, _, _) in enumerate(AGE_BUCKETS) if first > 90]
"""The buckets of stock over 90 days old, whose value the report adds up apart."""


def _age_figures(sku: _Sku, aged: AgedStock) -> tuple[str, tuple[int, ...]]:
    """A SKU's code and the numbers of its row: on hand, units per bucket, units without a
    receipt, value, value over 90 days old."""
    value = sku.unit_value_cents or 0
    over_90 = sum(aged.buckets[i] for i in OLD_BUCKETS)
    return sku.code, (
        aged.on_hand,
        *aged.buckets,
        aged.unaged,
        aged.on_hand * value,
        over_90 * value,
    )


# --- turnover -------------------------------------------------------------------------------


def _changes(c: Connection, since: datetime) -> dict[int, dict[date, int]]:
    """The net change of on hand per SKU id and day from `since` on: what came in from a virtual
    location less what went out to one (a move between real locations changes nothing)."""
    crosses = or_(
        and_(_SRC.c.kind == VIRTUAL, _DST.c.kind != VIRTUAL),
        and_(_SRC.c.kind != VIRTUAL, _DST.c.kind == VIRTUAL),
    )
    rows = c.execute(
        select(_M.c.sku_id, _T.c.station_time, _M.c.qty, _DST.c.kind)
        .select_from(_moves())
        .where(crosses, _in_period(since))
    )
    changes: dict[int, dict[date, int]] = {}
    for sku, moment, qty, target in rows:
        per_day = changes.setdefault(int(sku), {})
        day = moment.astimezone(UTC).date()
        per_day[day] = per_day.get(day, 0) + (-int(qty) if target == VIRTUAL else int(qty))
    return changes


def turnover_report(c: Connection, start: date, end: date, by_class: bool) -> ReportTable:
    """Demand, average on hand, turnover and days of supply per SKU (or per ABC class) over the
    days `start` .. `end`."""
    skus, on_hand = _skus(c), _on_hand(c)
    measure, demand = _demand(c, _moment(start), _after(end))
    changes = _changes(c, _moment(start))
    days = days_of(start, end)
    figures: dict[int, Turnover] = {}
    for sku_id in skus:
        average, closing = average_on_hand(
            on_hand.get(sku_id, 0), changes.get(sku_id, {}), start, end
        )
        t = Turnover(demand.get(sku_id, 0), average, closing, days)
        if t.demand or t.average_on_hand:
            figures[sku_id] = t
    if by_class:
        name, title = "class", "class"
        groups = [
            (k, combined((t for i, t in figures.items() if skus[i].abc == k), days))
            for k in CLASSES
        ]
    else:
        name, title = "sku", "SKU"
        groups = [
            (skus[i].code, t) for i, t in sorted(figures.items(), key=lambda f: skus[f[0]].code)
        ]
    rows: list[tuple[Value, ...]] = [_turnover_row(g, t) for g, t in groups]
    rows.append(_turnover_row("total", combined(figures.values(), days)))
    return ReportTable(
        f"Turnover {start.isoformat()} .. {end.isoformat()} ({days} days)",
        (
            Column(name, title),
            Column(measure, measure, ColumnKind.INT),
            Column("average_on_hand", "average on hand", ColumnKind.NUMBER),
            Column("on_hand", "on hand", ColumnKind.INT),
            Column("turnover", "turnover", ColumnKind.NUMBER),
            Column("days_of_supply", "days of supply", ColumnKind.NUMBER),
        ),
        rows,
        (
            _demand_text(measure),
            "Average on hand: the mean of the on hand at the end of each day of the period, "
            "replayed from the ledger. Turnover = demand / average on hand. Days of supply = on "
            f"hand at the end of the period / daily demand ({measure} / {days} days); '-' where "
            "there was no demand.",
            *(
                ("A SKU without an ABC class (perpetua counts plan computes them) is class C.",)
                if by_class
                else ()
            ),
        ),
    )


def _turnover_row(group: str, t: Turnover) -> tuple[Value, ...]:
    return (group, t.demand, t.average_on_hand, t.on_hand, t.turnover, t.days_of_supply)


# --- receiving ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Head:
    id: int
    code: str
    status: str
    closed_at: datetime | None
    closed_by: str | None


def _chunks(codes: Sequence[str]) -> Iterator[Sequence[str]]:
    for at in range(0, len(codes), CODE_CHUNK):
        yield codes[at : at + CODE_CHUNK]


def _receipt_codes(c: Connection, since: datetime, until: datetime) -> list[str]:
    """Receipts with a receive on one of the days, or closed on one of them."""
    received_then = select(_T.c.reference).where(
        _T.c.kind == "receive",
        _T.c.status == "confirmed",
        _T.c.reference.is_not(None),
        _in_period(since, until),
    )
    closed_then = select(_R.c.code).where(_R.c.closed_at >= since, _R.c.closed_at < until)
    codes = {str(r) for r in c.execute(received_then).scalars()}
    codes |= {str(r) for r in c.execute(closed_then).scalars()}
    known = {
        str(r)
        for ch in _chunks(sorted(codes))
        for r in c.execute(select(_R.c.code).where(_R.c.code.in_(ch))).scalars()
    }
    return sorted(known)


def receiving(c: Connection, start: date, end: date) -> ReportTable:
    """Expected, received, over, short and damaged units per receipt active on `start` ..
    `end`, and who closed it when."""
    codes = _receipt_codes(c, _moment(start), _after(end))
    heads: list[_Head] = []
    expected: dict[str, dict[str, int]] = {}
    got: dict[str, dict[str, int]] = {}
    damaged: dict[str, int] = {}
    for ch in _chunks(codes):
        heads += _heads(c, ch)
        for code, sku, qty in c.execute(
            select(_R.c.code, _S.c.code, func.sum(table(ReceiptLineRow).c.qty))
            .select_from(
                table(ReceiptLineRow)
                .join(_R, _R.c.id == table(ReceiptLineRow).c.receipt_id)
                .join(_S, _S.c.id == table(ReceiptLineRow).c.sku_id)
            )
            .where(_R.c.code.in_(ch))
            .group_by(_R.c.code, _S.c.code)
        ):
            expected.setdefault(code, {})[sku] = int(qty)
        for code, sku, qty in c.execute(received(lambda ref, ch=ch: ref.in_(ch))):
            got.setdefault(str(code), {})[str(sku)] = int(qty)
        for code, qty in c.execute(
            select(_T.c.reference, func.sum(_M.c.qty))
            .select_from(_moves())
            .where(
                _T.c.reference.in_(ch),
                _T.c.kind == "receive",
                _T.c.status == "confirmed",
                _SRC.c.code == VirtualLocation.VENDOR.value,
                _DST.c.kind == LocationKind.QUARANTINE.value,
            )
            .group_by(_T.c.reference)
        ):
            damaged[str(code)] = int(qty)
    rows: list[tuple[Value, ...]] = []
    for h in sorted(heads, key=lambda h: h.code):
        wanted, came = expected.get(h.code, {}), got.get(h.code, {})
        over, short = over_and_short(wanted, came)
        rows.append(
            (
                h.code,
                h.status,
                sum(wanted.values()),
                sum(came.values()),
                over,
                short,
                damaged.get(h.code, 0),
                h.closed_by,
                h.closed_at,
            )
        )
    return ReportTable(
        f"Receiving {start.isoformat()} .. {end.isoformat()}",
        (
            Column("receipt", "receipt"),
            Column("state", "state"),
            Column("expected", "expected", ColumnKind.INT),
            Column("received", "received", ColumnKind.INT),
            Column("over", "over", ColumnKind.INT),
            Column("short", "short", ColumnKind.INT),
            Column("damaged", "damaged", ColumnKind.INT),
            Column("closed_by", "closed by"),
            Column("closed_at", "closed at (UTC)", ColumnKind.TIME),
        ),
        rows,
        (
            "The receipts with a receive on one of the days or closed on one of them; their "
            "figures are the whole receipt's. Over and short are counted SKU by SKU; damaged is "
            "what was received into quarantine (included in received).",
            "Receipts carry no supplier in Perpetua, so there are no figures per supplier.",
        ),
    )


def _heads(c: Connection, codes: Sequence[str]) -> list[_Head]:
    rows = c.execute(
        select(_R.c.id, _R.c.code, _R.c.status, _R.c.closed_at, _O.c.badge)
        .select_from(_R.outerjoin(_O, _O.c.id == _R.c.closed_by_id))
        .where(_R.c.code.in_(codes))
    )
    return [_Head(r.id, r.code, r.status, r.closed_at, r.badge) for r in rows]


# --- picks ----------------------------------------------------------------------------------


def picks(c: Connection, start: date, end: date) -> ReportTable:
    """Pick lines, units, hours, rates and short picks per operator on `start` .. `end`."""
    rv = table(ReservationRow)
    rows = c.execute(
        select(_O.c.badge, _T.c.station_time, rv.c.qty_posted, rv.c.qty)
        .select_from(
            _T.join(rv, rv.c.resolved_tx_id == _T.c.id).join(_O, _O.c.id == _T.c.operator_id)
        )
        .where(
            _T.c.kind == "post_pick",
            _T.c.status == "confirmed",
            _in_period(_moment(start), _after(end)),
        )
    )
    rates = pick_rates(
        Pick(badge, moment, int(posted), int(posted) < int(qty))
        for badge, moment, posted, qty in rows
    )
    table_rows: list[tuple[Value, ...]] = [
        (r.operator, r.lines, r.units, r.hours, r.lines_per_hour, r.units_per_hour, r.shorts)
        for r in [*rates, all_pickers(rates)]
    ]
    return ReportTable(
        f"Picks {start.isoformat()} .. {end.isoformat()}",
        (
            Column("operator", "operator"),
            Column("lines", "lines", ColumnKind.INT),
            Column("units", "units", ColumnKind.INT),
            Column("hours", "hours", ColumnKind.NUMBER),
            Column("lines_per_hour", "lines/hour", ColumnKind.NUMBER),
            Column("units_per_hour", "units/hour", ColumnKind.NUMBER),
            Column("short_picks", "short picks", ColumnKind.INT),
        ),
        table_rows,
        (
            "A line is one pick task posted (a short pick of 0 units included); a short pick "
            "took fewer units than the task was for. Hours: from the first to the last pick of "
            f"each UTC day (station clock), less the gaps between picks longer than "
            f"{BREAK_MINUTES} minutes (breaks); a day with a single pick adds no time. "
            "'-': no time to divide by.",
        ),
    )


# --- health ---------------------------------------------------------------------------------


def _last_demand(c: Connection, measure: str) -> dict[int, date]:
    rows = c.execute(
        select(_M.c.sku_id, func.max(_T.c.station_time))
        .select_from(_moves())
        .where(_demand_filter(measure))
        .group_by(_M.c.sku_id)
    )
    return {int(sku): _utc(moment).date() for sku, moment in rows if moment is not None}


def _utc(moment: Any) -> datetime:
    """An aggregate's datetime, which SQLite may return as naive UTC or as text."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    assert isinstance(moment, datetime)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def health_report(c: Connection, today: date) -> ReportTable:
    """Sell-through, excess, stranded stock and in-stock rate, overall and per SKU."""
    policy = authority.policy(c)
    limits = HealthLimits(HEALTH_DAYS, policy.excess_days_of_supply, policy.stranded_days, today)
    skus, on_hand, available = _skus(c), _on_hand(c), _available(c)
    start = today - timedelta(days=HEALTH_DAYS - 1)
    measure, demand = _demand(c, _moment(start), _after(today))
    last = _last_demand(c, measure)
    figures = [
        health(
            SkuStock(
                s.code,
                s.active,
                on_hand.get(i, 0),
                available.get(i, 0),
                demand.get(i, 0),
                last.get(i),
                s.unit_value_cents,
            ),
            limits,
        )
        for i, s in sorted(skus.items(), key=lambda item: item[1].code)
        if s.active or on_hand.get(i, 0)
    ]
    rows: list[tuple[Value, ...]] = [
        (
            h.sku,
            "" if h.active is None else "yes" if h.active else "no",
            h.demand,
            h.on_hand,
            h.available,
            h.sell_through,
            h.excess_units,
            h.excess_value_cents,
            h.stranded_units,
            h.stranded_value_cents,
            h.in_stock,
        )
        for h in [overall(figures), *figures]
    ]
    return ReportTable(
        f"Inventory health on {today.isoformat()} ({HEALTH_DAYS} days of demand)",
        (
            Column("sku", "SKU"),
            Column("active", "active"),
            Column(measure, measure, ColumnKind.INT),
            Column("on_hand", "on hand", ColumnKind.INT),
            Column("available", "available", ColumnKind.INT),
            Column("sell_through", "sell-through", ColumnKind.PERCENT),
            Column("excess_units", "excess", ColumnKind.INT),
            Column("excess_value", "excess value", ColumnKind.MONEY),
            Column("stranded_units", "stranded", ColumnKind.INT),
            Column("stranded_value", "stranded value", ColumnKind.MONEY),
            Column("in_stock", "in stock", ColumnKind.PERCENT),
        ),
        rows,
        _health_notes(measure, limits),
    )


def _health_notes(measure: str, limits: HealthLimits) -> tuple[str, ...]:
    return (
        _demand_text(measure),
        f"Sell-through = {measure} over the last {limits.window_days} days / ({measure} + on "
        f"hand now). Excess: on hand beyond {limits.excess_days} days of that demand (policy "
        f"excess_days_of_supply). Stranded: the on hand of a SKU that is inactive or has had no "
        f"demand on the last {limits.stranded_days} days (policy stranded_days). In stock: the "
        "share of active SKUs with stock available (on hand less reserved, outside quarantine, "
        "holds, outbound and staging). Values are units x unit_value (none: 0).",
    )
