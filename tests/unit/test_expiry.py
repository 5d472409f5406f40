"""Shelf life (app/domain/expiry.py): a lot is good through its expiry date, and a SKU's minimum
shelf life moves the last day it may be received or allocated."""

from __future__ import annotations

from datetime import date

import pytest

from app.domain.expiry import ShelfLife, last_sellable_day, sellable, shelf_problem

TODAY = date(2026, 12, 7)


@pytest.mark.parametrize(
    ("expiry", "days_left", "expired"),
    [
        (date(2026, 12, 8), 1, False),
        (date(2026, 12, 7), 0, False),  # good through its expiry date
        (date(2026, 12, 6), -1, True),
        (date(2025, 1, 1), -705, True),
    ],
)
def test_a_lot_expires_the_day_after_its_date(expiry: date, days_left: int, expired: bool) -> None:
    life = ShelfLife(expiry, TODAY)
    assert (life.days_left, life.expired, life.too_short) == (days_left, expired, expired)


def test_a_minimum_shelf_life_makes_a_good_lot_too_short() -> None:
    assert ShelfLife(date(2026, 12, 20), TODAY, 14).too_short  # 13 days left
    assert not ShelfLife(date(2026, 12, 21), TODAY, 14).too_short  # 14 days left
    assert not ShelfLife(date(2026, 12, 20), TODAY, 14).expired


def test_sellable_takes_undated_lots_and_no_minimum() -> None:
    assert sellable(None, 30, TODAY)
    assert sellable(TODAY, None, TODAY)
    assert not sellable(date(2026, 12, 6), None, TODAY)
    assert not sellable(date(2026, 12, 20), 14, TODAY)
    assert sellable(date(2026, 12, 21), 14, TODAY)


def test_the_last_sellable_day_is_the_expiry_less_the_minimum() -> None:
    assert last_sellable_day(date(2027, 3, 1), 10) == date(2027, 2, 19)
    assert last_sellable_day(date(2027, 3, 1), None) == date(2027, 3, 1)
    # The rule and the day agree: sellable on the last day, not the day after.
    last = last_sellable_day(date(2027, 3, 1), 10)
    assert sellable(date(2027, 3, 1), 10, last)
    assert not sellable(date(2027, 3, 1), 10, date(2027, 2, 20))


def test_an_expired_lot_is_named_with_both_dates() -> None:
    assert shelf_problem("MILK", "L1", date(2025, 1, 1), None, TODAY) == (
        "lot L1 of MILK expired on 2025-01-01 (705 days ago; today is 2026-12-07)"
    )
    assert shelf_problem("MILK", "L1", date(2026, 12, 6), 5, TODAY) == (
        "lot L1 of MILK expired on 2026-12-06 (yesterday; today is 2026-12-07)"
    )


def test_a_short_dated_lot_is_named_with_the_first_acceptable_expiry() -> None:
    assert shelf_problem("MILK", "L2", date(2026, 12, 10), 14, TODAY) == (
        "lot L2 of MILK expires on 2026-12-10 (in 3 day(s)), and MILK must have at least 14 "
        "days of shelf life left: an expiry on or after 2026-12-21"
    )
    assert "(today)" in (shelf_problem("MILK", None, TODAY, 1, TODAY) or "")


def test_no_problem_for_a_good_or_undated_lot() -> None:
    assert shelf_problem("MILK", "L1", date(2027, 3, 1), 14, TODAY) is None
    assert shelf_problem("MILK", "L1", None, 14, TODAY) is None
