"""The arithmetic of the flow reports (`perpetua report age | turnover | receiving | picks |
health`): how old the stock on hand is, how fast it turns, how receipts matched their notice, how
fast pickers pick and how healthy each SKU's stock is. Pure values and functions, so that every
figure can be checked by hand; the ledger queries that feed them are app/adapters/db/
reports_flow.py.

Days are UTC dates; a period of days includes both ends. Units are whole; averages and rates
are floats only where a report shows them (never in stock arithmetic).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

AGE_BUCKETS: tuple[tuple[int, int | None, str], ...] = (
    (0, 30, "0-30"),
    (31, 60, "31-60"),
    (61, 90, "61-90"),
    (91, 180, "91-180"),
    (181, None, "over 180"),
)
"""(first day, last day or None, name): a unit's age in whole days picks its bucket."""

BREAK_MINUTES = 30
"""A gap between two picks of one operator longer than this is a break, not work."""


# --- age ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Receipt:
    """Units that entered stock from VENDOR on one day (a receive or an opening balance)."""

    day: date
    units: int


@dataclass(frozen=True, slots=True)
class AgedStock:
    """The units on hand of one SKU by age bucket (AGE_BUCKETS order), and those no receipt
    accounts for (stock found by a count, say, when it exceeds everything ever received)."""

    buckets: tuple[int, ...]
    unaged: int

    @property
    def on_hand(self) -> int:
        return sum(self.buckets) + self.unaged


def bucket_of(age_days: int) -> int:
    """The index in AGE_BUCKETS of a unit `age_days` old (a receipt dated after `today`, from a
    station clock ahead of time, counts as 0 days old)."""
    age = max(age_days, 0)
    for i, (_, last, _) in enumerate(AGE_BUCKETS):
        if last is None or age <= last:
            return i
    raise AssertionError("the last bucket is open-ended")


def age_on_hand(on_hand: int, receipts: Iterable[Receipt], today: date) -> AgedStock:
    """First in, first out: what went out went oldest first, so the units still on hand are
    those of the newest receipts. Each unit is as old as the receipt it is taken from."""
    buckets = [0] * len(AGE_BUCKETS)
    left = max(on_hand, 0)
    for r in sorted(receipts, key=lambda r: r.day, reverse=True):
        if left == 0:
            break
        take = min(left, r.units)
        buckets[bucket_of((today - r.day).days)] += take
        left -= take
    return AgedStock(tuple(buckets), left)


# --- turnover -------------------------------------------------------------------------------


def days_of(start: date, end: date) -> int:
    """How many days `start` .. `end` are, both included."""
    return (end - start).days + 1


def average_on_hand(
    on_hand_after: int, changes: Mapping[date, int], start: date, end: date
) -> tuple[float, int]:
    """The mean of the on hand at the end of each day `start` .. `end`, and the on hand at the
    end of `end`, from the on hand after every change (`on_hand_after`: now) and the net change
    of each day from `start` on (receipts in, losses and shipments out). Going back from now, a
    day closes at the next day's closing less the next day's change; the stock stays the same
    between two days with changes, so the work grows with the changes, not with the days.

    A real location never holds less than nothing, so a day that replays below 0 (a station
    clock that put a move out of order, an opening balance dated after the moves it stands for)
    counts as 0."""
    closing = on_hand_after - sum(n for day, n in changes.items() if day > end)
    at_end = closing
    total, upper = 0, end
    for day in sorted((d for d in changes if start < d <= end), reverse=True):
        total += max(closing, 0) * days_of(day, upper)  # day .. upper close alike
        closing -= changes[day]
        upper = day - timedelta(days=1)
    total += max(closing, 0) * days_of(start, upper)
    return total / days_of(start, end), max(at_end, 0)


@dataclass(frozen=True, slots=True)
class Turnover:
    """One SKU's (or class's) turnover over a period of `days` days."""

    demand: int
    """Units shipped (or picked) in the period."""
    average_on_hand: float
    on_hand: int
    """At the end of the period."""
    days: int

    @property
    def turnover(self) -> float | None:
        """Demand / average on hand: how many times the stock turned (None: no stock held)."""
        return self.demand / self.average_on_hand if self.average_on_hand else None

    @property
    def days_of_supply(self) -> float | None:
        """On hand / daily demand: how long the stock lasts at the period's pace (None: no
        demand, it lasts for ever)."""
        return self.on_hand * self.days / self.demand if self.demand else None


def combined(parts: Iterable[Turnover], days: int) -> Turnover:
    """The turnover of a group of SKUs (a class, the warehouse): sums of demand and stock."""
    items = list(parts)
    return Turnover(
        sum(p.demand for p in items),
        sum(p.average_on_hand for p in items),
        sum(p.on_hand for p in items),
        days,
    )


# --- receiving ------------------------------------------------------------------------------


def over_and_short(expected: Mapping[str, int], received: Mapping[str, int]) -> tuple[int, int]:
    """Units received beyond what a receipt expected, and units it expected that did not come,
    SKU by SKU: 2 too many of one SKU do not make up for 2 missing of another."""
    over = short = 0
    for sku in expected.keys() | received.keys():
        difference = received.get(sku, 0) - expected.get(sku, 0)
        if difference > 0:
            over += difference
        else:
            short -= difference
    return over, short


# --- picks ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pick:
    """One posted pick task: who, when (station clock), units picked, whether it was short."""

    operator: str
    at: datetime
    units: int
    short: bool


@dataclass(frozen=True, slots=True)
class PickRate:
    operator: str
    lines: int
    units: int
    seconds: float
    """Time worked: see `worked_seconds`."""
    shorts: int

    @property
    def hours(self) -> float:
        return self.seconds / 3600

    @property
    def lines_per_hour(self) -> float | None:
        return self.lines / self.hours if self.seconds else None

    @property
    def units_per_hour(self) -> float | None:
        return self.units / self.hours if self.seconds else None


def worked_seconds(times: Iterable[datetime], break_minutes: int = BREAK_MINUTES) -> float:
    """Time from the first to the last pick of each UTC day, less the breaks: the gaps between
    consecutive picks longer than `break_minutes`. A lunch break is not picking time, and a day
    with one pick adds nothing (there is no span to measure)."""
    limit = timedelta(minutes=break_minutes)
    seconds = 0.0
    for before, after in pairwise(sorted(t.astimezone(UTC) for t in times)):
        gap = after - before
        if before.date() == after.date() and gap <= limit:
            seconds += gap.total_seconds()
    return seconds


def pick_rates(picks: Iterable[Pick]) -> list[PickRate]:
    """Lines, units, time worked and short picks per operator, by operator."""
    by_operator: dict[str, list[Pick]] = {}
    for p in picks:
        by_operator.setdefault(p.operator, []).append(p)
    return [
        PickRate(
            operator,
            len(done),
            sum(p.units for p in done),
            worked_seconds(p.at for p in done),
            sum(1 for p in done if p.short),
        )
        for operator, done in sorted(by_operator.items())
    ]


def all_pickers(rates: Iterable[PickRate]) -> PickRate:
    """The warehouse's total: time worked is each operator's summed (two pickers working the
    same hour are two hours of work)."""
    items = list(rates)
    return PickRate(
        "total",
        sum(r.lines for r in items),
        sum(r.units for r in items),
        sum(r.seconds for r in items),
        sum(r.shorts for r in items),
    )


# --- health ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SkuStock:
    """What the health of one SKU's stock is judged from."""

    sku: str
    active: bool
    on_hand: int
    available: int
    """On hand less reserved, outside quarantine and holds: what could be picked now."""
    demand: int
    """Units shipped (or picked) over the health window."""
    last_demand: date | None
    unit_value_cents: int | None


@dataclass(frozen=True, slots=True)
class HealthLimits:
    window_days: int
    """Demand is counted over this many days, today included (90)."""
    excess_days: int
    """Policy excess_days_of_supply."""
    stranded_days: int
    """Policy stranded_days."""
    today: date


@dataclass(frozen=True, slots=True)
class Health:
    """The health figures of one SKU, or of the whole warehouse (`sku` "overall")."""

    sku: str
    active: bool | None
    demand: int
    on_hand: int
    available: int
    sell_through: float | None
    """Percent: demand / (demand + on hand)."""
    excess_units: int
    excess_value_cents: int
    stranded_units: int
    stranded_value_cents: int
    in_stock: float | None
    """Percent of active SKUs with stock available (for a SKU: 100 or 0; inactive: None)."""


def sell_through(demand: int, on_hand: int) -> float | None:
    return 100 * demand / (demand + on_hand) if demand + on_hand else None


def excess_units(stock: SkuStock, limits: HealthLimits) -> int:
    """On hand beyond `excess_days` days of the window's average daily demand (in whole units,
    rounded down: 10 units over 90 days allow 11 units for 100 days)."""
    allowed = stock.demand * limits.excess_days // limits.window_days
    return max(stock.on_hand - allowed, 0)


def is_stranded(stock: SkuStock, limits: HealthLimits) -> bool:
    """Inactive, or no demand on the last `stranded_days` days (today included)."""
    since = limits.today - timedelta(days=limits.stranded_days - 1)
    return not stock.active or stock.last_demand is None or stock.last_demand < since


def health(stock: SkuStock, limits: HealthLimits) -> Health:
    value = stock.unit_value_cents or 0
    excess = excess_units(stock, limits)
    stranded = stock.on_hand if is_stranded(stock, limits) else 0
    return Health(
        stock.sku,
        stock.active,
        stock.demand,
        stock.on_hand,
        stock.available,
        sell_through(stock.demand, stock.on_hand),
        excess,
        excess * value,
        stranded,
        stranded * value,
        (100.0 if stock.available > 0 else 0.0) if stock.active else None,
    )


def overall(rows: Sequence[Health]) -> Health:
    """The warehouse as a whole: sums, the sell-through of the sums, and the in-stock rate of
    the active SKUs."""
    active = [r for r in rows if r.active]
    demand, on_hand = sum(r.demand for r in rows), sum(r.on_hand for r in rows)
    in_stock = 100 * sum(1 for r in active if r.available > 0) / len(active) if active else None
    return Health(
        "overall",
        None,
        demand,
        on_hand,
        sum(r.available for r in rows),
        sell_through(demand, on_hand),
        sum(r.excess_units for r in rows),
        sum(r.excess_value_cents for r in rows),
        sum(r.stranded_units for r in rows),
        sum(r.stranded_value_cents for r in rows),
        in_stock,
    )
