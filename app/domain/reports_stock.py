"""The stock reports (README "Stock, trace, expiring lots and adjustments"): `perpetua report
stock`, `trace`, `expiring` and `adjustments` as ReportTables. The database adapter
(app/adapters/db/reports_stock.py) reads the lines; the tables, their totals and the sentences
after them are made here, so that the screen and the command line say the same thing."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum

from app.domain.report_table import Column, ColumnKind, ReportTable, Value, money

ADJUST_PREFIX = "adjust: "
"""How an adjustment's move names its reason code ("adjust: lost")."""


# --- stock ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StockFilter:
    """What `perpetua report stock` was asked for (None: any). The SKU of a --gtin is its SKU."""

    sku: str | None = None
    lot: str | None = None
    location: str | None = None
    zone: str | None = None

    def described(self) -> str:
        parts = [
            f"{name} {value}"
            for name, value in (
                ("SKU", self.sku),
                ("lot", self.lot),
                ("location", self.location),
                ("zone", self.zone),
            )
            if value is not None
        ]
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class StockLine:
    """One SKU and lot in one real location: on hand, reserved, and why it is held (if so)."""

    location: str
    zone: str | None
    sku: str
    lot: str | None
    expiry: date | None
    on_hand: int
    reserved: int
    held: str | None
    """"quarantine", "location" or "lot": none of it can be picked. None: not held."""
    name: str

    @property
    def available(self) -> int:
        return 0 if self.held else self.on_hand - self.reserved


STOCK_COLUMNS = (
    Column("location", "Location"),
    Column("zone", "Zone"),
    Column("sku", "SKU"),
    Column("lot", "Lot"),
    Column("expiry", "Expiry", ColumnKind.DATE),
    Column("on_hand", "On hand", ColumnKind.INT),
    Column("reserved", "Reserved", ColumnKind.INT),
    Column("available", "Available", ColumnKind.INT),
    Column("held", "Held"),
    Column("name", "Name"),
)


def stock_table(
    lines: Iterable[StockLine], filters: StockFilter, at: datetime | None
) -> ReportTable:
    """Stock on hand per location, SKU and lot, now or `at` a past moment. The rows stay an
    iterator: a whole warehouse streams to its CSV file instead of being held in memory."""
    when = "now" if at is None else f"at {at.astimezone(UTC).isoformat(timespec='seconds')}"
    asked = filters.described()
    title = f"Stock on hand {when}" + (f" ({asked})" if asked else "")
    source = (
        "Read from the balances (quants)."
        if at is None
        else "Computed from the ledger: the moves of every transaction the database recorded up "
        "to that moment (database clock), to minus from; reserved is what open reservations "
        "held then, and held what was in quarantine or on hold then."
    )
    notes = (
        f"{source} Real locations only (not VENDOR, CUSTOMER, ADJUSTMENT, SCRAP). Held stock "
        "(in quarantine, or on a location or lot on hold) shows 0 available.",
    )
    rows: Iterator[tuple[Value, ...]] = (
        (
            line.location,
            line.zone,
            line.sku,
            line.lot,
            line.expiry,
            line.on_hand,
            line.reserved,
            line.available,
            line.held,
            line.name,
        )
        for line in lines
    )
    return ReportTable(title, STOCK_COLUMNS, rows, notes)


def parse_moment(text: str) -> datetime:
    """A moment typed on the command line, as an aware datetime: ISO 8601 with a time, in the
    computer's local time unless it carries an offset (Z, +01:00). A date alone is refused: the
    start and the end of a day are different stock. ValueError says what to type."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{text!r} is not a moment: give a date and a time, e.g. 2026-11-30T18:00 "
            "(local time) or 2026-11-30T18:00+01:00"
        ) from None
    if "T" not in text.upper() and " " not in text.strip():
        raise ValueError(
            f"{text!r} is a day, not a moment: give the time too, e.g. {text.strip()}T18:00 "
            f"(or {text.strip()}T00:00 for the start of the day)"
        )
    return moment if moment.tzinfo is not None else moment.astimezone()


# --- trace ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TraceMove:
    """One move of a lot, with what the ledger knows of its transaction."""

    time: datetime
    """The station's clock: when it happened where it happened."""
    kind: str
    sku: str
    qty: int
    source: str
    target: str
    source_virtual: bool
    target_virtual: bool
    operator: str | None
    station: str | None
    reference: str | None
    """The receipt or the customer order (the order line's order for picks and shipments)."""
    reason: str


TRACE_COLUMNS = (
    Column("time", "Time (station)", ColumnKind.TIME),
    Column("kind", "Kind"),
    Column("sku", "SKU"),
    Column("qty", "Qty", ColumnKind.INT),
    Column("from_location", "From"),
    Column("to_location", "To"),
    Column("operator", "Operator"),
    Column("station", "Station"),
    Column("reference", "Reference"),
    Column("reason", "Reason"),
)

CUSTOMER = "CUSTOMER"
NO_ORDER = "(no order)"


@dataclass
class LotStanding:
    """Where one SKU's lot stands after its moves: per real location, and per customer order
    (shipped less returned)."""

    sku: str
    locations: dict[str, int] = field(default_factory=dict)
    orders: dict[str, int] = field(default_factory=dict)

    def add(self, move: TraceMove) -> None:
        for place, virtual, sign in (
            (move.source, move.source_virtual, -1),
            (move.target, move.target_virtual, 1),
        ):
            if not virtual:
                self.locations[place] = self.locations.get(place, 0) + sign * move.qty
            elif place == CUSTOMER:  # shipped to it counts for the order, a return against
                order = move.reference or NO_ORDER
                self.orders[order] = self.orders.get(order, 0) + sign * move.qty

    def sentence(self, lot: str) -> str:
        held = {k: v for k, v in sorted(self.locations.items()) if v}
        if held:
            where = ", ".join(f"{qty} in {place}" for place, qty in held.items())
            now = f"Lot {lot} of {self.sku} now: {where} ({sum(held.values())} in stock)."
        else:
            now = f"Lot {lot} of {self.sku} now: none in stock."
        sent = {k: v for k, v in sorted(self.orders.items()) if v}
        if not sent:
            return now + " None of it is with customers."
        orders = ", ".join(f"{order} {qty}" for order, qty in sent.items())
        return f"{now} With customers: {sum(sent.values())} ({orders}), net of returns."


def standings(moves: Iterable[TraceMove]) -> list[LotStanding]:
    """Per SKU, where its lot stands after `moves` (all the lot's moves: its balances now)."""
    found: dict[str, LotStanding] = {}
    for move in moves:
        found.setdefault(move.sku, LotStanding(move.sku)).add(move)
    return [found[sku] for sku in sorted(found)]


def trace_table(lot: str, skus: Sequence[str], moves: Sequence[TraceMove]) -> ReportTable:
    """Every move of `lot` (of `skus`) in ledger order, and where it stands now: a recall's list
    of where the goods went, in one report."""
    title = f"Trace of lot {lot} ({', '.join(skus)}): {len(moves)} move(s)"
    rows = [
        (
            m.time,
            m.kind,
            m.sku,
            m.qty,
            m.source,
            m.target,
            m.operator,
            m.station,
            m.reference,
            m.reason,
        )
        for m in moves
    ]
    notes = tuple(s.sentence(lot) for s in standings(moves))
    return ReportTable(title, TRACE_COLUMNS, rows, notes or (f"Lot {lot} has not moved yet.",))


# --- expiring ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExpiringLine:
    location: str
    sku: str
    lot: str
    expiry: date
    on_hand: int
    reserved: int
    days_left: int
    state: str
    """"expired", "short" (fewer days left than the SKU's min_shelf_days) or "expiring"."""
    held: str | None


EXPIRING_COLUMNS = (
    Column("location", "Location"),
    Column("sku", "SKU"),
    Column("lot", "Lot"),
    Column("expiry", "Expiry", ColumnKind.DATE),
    Column("days_left", "Days left", ColumnKind.INT),
    Column("on_hand", "On hand", ColumnKind.INT),
    Column("reserved", "Reserved", ColumnKind.INT),
    Column("state", "State"),
    Column("held", "Held"),
)


def expiring_table(lines: Sequence[ExpiringLine], today: date, days: int) -> ReportTable:
    """Lots in stock expired on `today` or expiring within `days` days, soonest first."""
    title = f"Lots expired or expiring within {days} day(s) of {today.isoformat()}"
    rows = [
        (
            e.location,
            e.sku,
            e.lot,
            e.expiry,
            e.days_left,
            e.on_hand,
            e.reserved,
            e.state,
            e.held,
        )
        for e in lines
    ]
    expired = [e for e in lines if e.state == "expired"]
    notes = [
        "Days left count from today (UTC) to the expiry date: 0 on the expiry date, negative "
        "once expired. short: fewer days left than the SKU's min_shelf_days, so it is not "
        "allocated any more.",
        f"{sum(e.on_hand for e in lines)} unit(s) in {len(lines)} line(s); "
        f"{sum(e.on_hand for e in expired)} unit(s) already expired.",
    ]
    if expired:
        notes.append(
            "Move expired stock out of the pick path (perpetua hold, or scrap it at a station)."
        )
    return ReportTable(title, EXPIRING_COLUMNS, rows, tuple(notes))


# --- adjustments ------------------------------------------------------------------------------


class AdjustmentsBy(StrEnum):
    REASON = "reason"
    OPERATOR = "operator"


@dataclass(frozen=True, slots=True)
class AdjustmentMove:
    """One move to or from ADJUSTMENT: `units` > 0 a gain (into stock), < 0 a loss."""

    tx_id: str
    reason: str
    """The move's reason as stored ("adjust: lost")."""
    operator: str
    operator_name: str
    units: int
    unit_value_cents: int | None

    @property
    def reason_code(self) -> str:
        return self.reason.removeprefix(ADJUST_PREFIX)


@dataclass
class AdjustmentGroup:
    key: str
    name: str
    transactions: set[str] = field(default_factory=set)
    units_in: int = 0
    units_out: int = 0
    value_in: int = 0
    value_out: int = 0

    def add(self, move: AdjustmentMove) -> None:
        self.transactions.add(move.tx_id)
        value = abs(move.units) * (move.unit_value_cents or 0)
        if move.units > 0:
            self.units_in += move.units
            self.value_in += value
        else:
            self.units_out -= move.units
            self.value_out += value

    def row(self, by: AdjustmentsBy) -> tuple[Value, ...]:
        figures: tuple[Value, ...] = (
            len(self.transactions),
            self.units_in,
            self.units_out,
            self.units_in - self.units_out,
            self.value_in,
            self.value_out,
            self.value_in - self.value_out,
        )
        return (
            (self.key, self.name, *figures)
            if by is AdjustmentsBy.OPERATOR
            else (self.key, *figures)
        )


_FIGURE_COLUMNS = (
    Column("transactions", "Transactions", ColumnKind.INT),
    Column("units_in", "Units in", ColumnKind.INT),
    Column("units_out", "Units out", ColumnKind.INT),
    Column("net_units", "Net units", ColumnKind.INT),
    Column("value_in", "Value in", ColumnKind.MONEY),
    Column("value_out", "Value out", ColumnKind.MONEY),
    Column("net_value", "Net value", ColumnKind.MONEY),
)


def adjustments_table(
    moves: Iterable[AdjustmentMove], by: AdjustmentsBy, start: date, end: date
) -> ReportTable:
    """Adjustments of the period per reason code or per operator: units into and out of stock,
    their value at the SKUs' unit values, and how many transactions made them."""
    groups: dict[str, AdjustmentGroup] = {}
    total = AdjustmentGroup("total", "")
    unvalued = 0
    for move in moves:
        key = move.reason_code if by is AdjustmentsBy.REASON else move.operator
        groups.setdefault(key, AdjustmentGroup(key, move.operator_name)).add(move)
        total.add(move)
        if move.unit_value_cents is None:
            unvalued += abs(move.units)
    first = (
        (Column("reason", "Reason"),)
        if by is AdjustmentsBy.REASON
        else (Column("operator", "Operator"), Column("name", "Name"))
    )
    rows = [groups[k].row(by) for k in sorted(groups)]
    notes = [
        "Adjustments are the moves to and from ADJUSTMENT (a counter's adjustment, a supervisor's "
        "approval of a count), on the days of the station's clock (UTC). Units in: gains into "
        "stock; units out: losses.",
        f"Total: {len(total.transactions)} transaction(s), {total.units_in} unit(s) in, "
        f"{total.units_out} out, net {total.units_in - total.units_out:+d}; value in "
        f"{money(total.value_in)}, out {money(total.value_out)}, net "
        f"{money(total.value_in - total.value_out)}.",
    ]
    if unvalued:
        notes.append(
            f"{unvalued} unit(s) of SKUs without a unit value count as 0: set their unit_value "
            "with `perpetua import skus FILE --update` to value them."
        )
    title = f"Adjustments by {by.value}, {start.isoformat()} .. {end.isoformat()}"
    return ReportTable(title, (*first, *_FIGURE_COLUMNS), rows, tuple(notes))
