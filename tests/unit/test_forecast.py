"""Croston, SBA and TSB (app/domain/forecast.py) against examples worked by hand.

The recursions are those published by Croston (1972) and, as the tests read them, in two
public texts: R's forecast package documentation (Hyndman, `croston_model`: SES on the non-zero
demands and on the intervals between them; SBA multiplies Croston's forecast by 1 - alpha / 2,
alpha being the interval's smoothing constant) and the tutorial "Adaptations of Croston's
method" (P. Morgan, pmorgan.com.au/tutorials/adaptations-of-crostons-method: TSB's
p <- p + beta (1 - p) on a day with demand, p <- (1 - beta) p on a day without, forecast p z).
No published example with every intermediate figure was found, so the examples are computed
step by step below, each step in a comment, and each constant is varied alone so that a
method that swapped alpha and beta would fail.
"""

from __future__ import annotations

import pytest

from app.domain.forecast import Method, croston, forecast, sba, tsb

SERIES = [0, 4, 0, 0, 6, 0, 2, 0]
"""Eight days: demand of 4 on day 2, 6 on day 5, 2 on day 7."""


def test_croston_step_by_step() -> None:
    # alpha 0.2 (size), beta 0.5 (interval)
    # day 2: first demand: size 4, interval 2 (days 1-2)
    # day 5: 3 days since: size 4 + 0.2 (6 - 4) = 4.4; interval 2 + 0.5 (3 - 2) = 2.5
    # day 7: 2 days since: size 4.4 + 0.2 (2 - 4.4) = 3.92; interval 2.5 + 0.5 (2 - 2.5) = 2.25
    # day 8: no demand: nothing changes. Forecast 3.92 / 2.25
    assert croston(SERIES, alpha=0.2, beta=0.5) == pytest.approx(3.92 / 2.25)
    assert croston(SERIES, alpha=0.2, beta=0.5) == pytest.approx(1.742222, abs=1e-6)


def test_croston_smooths_size_with_alpha_and_interval_with_beta() -> None:
    # alpha 0.5, beta 0.1: size 4 -> 5 -> 3.5; interval 2 -> 2.1 -> 2.09
    assert croston(SERIES, alpha=0.5, beta=0.1) == pytest.approx(3.5 / 2.09)


def test_sba_takes_off_half_the_interval_constant() -> None:
    # Croston's 3.92 / 2.25 times (1 - 0.5 / 2) = 0.75
    assert sba(SERIES, alpha=0.2, beta=0.5) == pytest.approx(0.75 * 3.92 / 2.25)
    assert sba(SERIES, alpha=0.2, beta=0.5) == pytest.approx(1.306667, abs=1e-6)


def test_tsb_step_by_step() -> None:
    # alpha 0.2 (size), beta 0.5 (probability)
    # day 2: first demand: size 4, probability 1/2
    # day 3: 0.5 x 0.5 = 0.25; day 4: 0.125
    # day 5: size 4.4; probability 0.125 + 0.5 (1 - 0.125) = 0.5625
    # day 6: 0.28125; day 7: size 3.92; probability 0.28125 + 0.5 x 0.71875 = 0.640625
    # day 8: 0.3203125. Forecast 3.92 x 0.3203125 = 1.255625
    assert tsb(SERIES, alpha=0.2, beta=0.5) == pytest.approx(1.255625)


def test_tsb_decays_while_an_item_stops_selling_and_croston_does_not() -> None:
    quiet = [*SERIES, 0, 0]
    assert croston(quiet, 0.2, 0.5) == croston(SERIES, 0.2, 0.5)
    assert tsb(quiet, 0.2, 0.5) == pytest.approx(1.255625 / 4)  # two more halvings


def test_steady_demand_is_forecast_as_it_is() -> None:
    steady = [3] * 10
    assert croston(steady) == pytest.approx(3.0)
    assert tsb(steady) == pytest.approx(3.0)
    assert sba(steady) == pytest.approx(0.95 * 3.0)  # SBA's known small bias on steady demand


def test_no_demand_forecasts_nothing() -> None:
    for method in Method:
        assert forecast(method, [0, 0, 0]) == 0.0
        assert forecast(method, []) == 0.0


def test_forecast_dispatches_by_method() -> None:
    assert forecast(Method.CROSTON, SERIES, 0.2, 0.5) == croston(SERIES, 0.2, 0.5)
    assert forecast(Method.SBA, SERIES, 0.2, 0.5) == sba(SERIES, 0.2, 0.5)
    assert forecast(Method.TSB, SERIES, 0.2, 0.5) == tsb(SERIES, 0.2, 0.5)


@pytest.mark.parametrize("alpha, beta", [(0, 0.1), (0.1, 0), (1.5, 0.1), (0.1, -1)])
def test_smoothing_constants_outside_0_to_1_are_refused(alpha: float, beta: float) -> None:
    with pytest.raises(ValueError, match="above 0 and at most 1"):
        croston(SERIES, alpha, beta)
    with pytest.raises(ValueError, match="above 0 and at most 1"):
        tsb(SERIES, alpha, beta)
