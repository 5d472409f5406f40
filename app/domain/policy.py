"""The warehouse policy: tolerances, thresholds, PIN rules and claim times, kept in the database
(table `warehouse_policy`) so that every station and every ledger transaction applies the same
figures. A station's own file holds only what is truly its own (devices, zone, sounds).

`perpetua policy show|set KEY VALUE` reads and changes it; a change is a ledger transaction
(`SetPolicy`) made by a supervisor with their PIN.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

from app.domain.orders import OrderPolicy
from app.domain.workflow import StationPolicy, Tolerance


@dataclass(frozen=True, slots=True)
class Key:
    name: str
    default: int
    least: int
    most: int
    meaning: str


KEYS: tuple[Key, ...] = (
    Key("receipt_over_percent", 10, 0, 1000, "receiving more than expected, before approval"),
    Key("receipt_over_units", 0, 0, 1_000_000, "receiving more than expected, before approval"),
    Key("receipt_under_percent", 10, 0, 100, "closing a receipt short, before approval"),
    Key("receipt_under_units", 0, 0, 1_000_000, "closing a receipt short, before approval"),
    Key("count_percent", 5, 0, 100, "a count beyond this is counted again by someone else"),
    Key("count_units", 1, 0, 1_000_000, "a count beyond this is counted again by someone else"),
    Key("adjust_percent", 5, 0, 100, "an adjustment beyond this needs a supervisor's approval"),
    Key("adjust_units", 1, 0, 1_000_000, "an adjustment beyond this needs a supervisor's approval"),
    Key("ship_short_percent", 0, 0, 100, "shipping a line short, before approval"),
    Key("ship_short_units", 0, 0, 1_000_000, "shipping a line short, before approval"),
    Key("claim_idle_minutes", 30, 1, 24 * 60, "an idle pick list may be taken by another picker"),
    Key("pin_min_digits", 6, 6, 12, "the fewest digits a new PIN may have"),
    Key("pin_attempts", 3, 1, 10, "wrong PINs in a row before a badge is locked"),
    Key("lockout_seconds", 300, 30, 86_400, "how long a badge stays locked after wrong PINs"),
    Key("abc_a_percent", 80, 1, 100, "SKUs making this share of the picked value are class A"),
    Key("abc_b_percent", 95, 1, 100, "... and up to this share, class B (the rest: C)"),
    Key("abc_days", 90, 7, 730, "the days of picks ABC classes are computed from"),
    Key("count_days_a", 30, 1, 730, "a class A location is counted at least this often (days)"),
    Key("count_days_b", 90, 1, 730, "a class B location is counted at least this often (days)"),
    Key("count_days_c", 180, 1, 730, "a class C location is counted at least this often (days)"),
    Key("count_sample", 5, 0, 10_000, "bins counted at random each day, so that none escapes"),
    Key("late_refusal_seconds", 60, 5, 86_400, "a refusal this late (queued) is an exception"),
    Key("service_level_percent", 95, 50, 99, "replenishment: the share of demand met from stock"),
    Key("excess_days_of_supply", 90, 1, 3650, "stock beyond this many days of demand is excess"),
    Key("stranded_days", 90, 1, 3650, "stock without demand for this many days is stranded"),
)
BY_NAME: dict[str, Key] = {k.name: k for k in KEYS}


class PolicyError(ValueError):
    """A policy key or value that cannot be: the message says what can."""


@dataclass(frozen=True, slots=True)
class WarehousePolicy:
    receipt_over_percent: int = 10
    receipt_over_units: int = 0
    receipt_under_percent: int = 10
    receipt_under_units: int = 0
    count_percent: int = 5
    count_units: int = 1
    adjust_percent: int = 5
    adjust_units: int = 1
    ship_short_percent: int = 0
    ship_short_units: int = 0
    claim_idle_minutes: int = 30
    pin_min_digits: int = 6
    pin_attempts: int = 3
    lockout_seconds: int = 300
    abc_a_percent: int = 80
    abc_b_percent: int = 95
    abc_days: int = 90
    count_days_a: int = 30
    count_days_b: int = 90
    count_days_c: int = 180
    count_sample: int = 5
    late_refusal_seconds: int = 60
    service_level_percent: int = 95
    excess_days_of_supply: int = 90
    stranded_days: int = 90

    @classmethod
    def from_values(cls, values: Mapping[str, str | int]) -> WarehousePolicy:
        """The policy from stored key/value pairs; unknown keys (a newer version's) are ignored,
        a value out of range falls back to nothing: it raises, since the database checks it."""
        known = {k: parse(k, str(v)) for k, v in values.items() if k in BY_NAME}
        return replace(cls(), **known)

    def values(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def adjust(self) -> Tolerance:
        return Tolerance(self.adjust_units, self.adjust_percent)

    @property
    def count(self) -> Tolerance:
        return Tolerance(self.count_units, self.count_percent)

    @property
    def receipt_over(self) -> Tolerance:
        return Tolerance(self.receipt_over_units, self.receipt_over_percent)

    @property
    def receipt_under(self) -> Tolerance:
        return Tolerance(self.receipt_under_units, self.receipt_under_percent)

    def station(self) -> StationPolicy:
        return StationPolicy(
            receipt_over=self.receipt_over,
            receipt_under=self.receipt_under,
            count=self.count,
            pin_attempts=self.pin_attempts,
            lockout_seconds=self.lockout_seconds,
            adjust=self.adjust,
        )

    def orders(self) -> OrderPolicy:
        return OrderPolicy(
            claim_idle_minutes=self.claim_idle_minutes,
            ship_short_units=self.ship_short_units,
            ship_short_percent=self.ship_short_percent,
        )


def parse(name: str, text: str) -> int:
    """The value of policy key `name` written as `text`; PolicyError says what is wrong."""
    key = BY_NAME.get(name)
    if key is None:
        raise PolicyError(f"{name!r} is not a policy key; the keys are: {', '.join(BY_NAME)}")
    if not text.isascii() or not text.strip().isdigit():
        raise PolicyError(f"{name} is a whole number from {key.least} to {key.most}, not {text!r}")
    value = int(text.strip())
    if not key.least <= value <= key.most:
        raise PolicyError(f"{name} is a whole number from {key.least} to {key.most}, not {value}")
    return value
