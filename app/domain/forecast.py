"""Forecasts of intermittent demand (README "Replenishment"): most SKUs of a warehouse sell on a
few days and not at all on the others, where a plain moving average or exponential smoothing
swings after each sale. Croston's method smooths the size of a demand and the interval between
demands apart; SBA (Syntetos-Boylan approximation) takes out Croston's known upward bias; TSB
(Teunter-Syntetos-Babai) smooths the probability of a demand instead of the interval, so that its
forecast decays while an item stops selling.

Written here (some forty lines, the standard library only) rather than taken from a forecasting
library: statsforecast or sktime would bring numpy, pandas and numba into every station's install
for three short recursions, which the tests below check against hand-computed examples. Each
function takes the demand of consecutive periods (days here), oldest first, and returns the
forecast demand per period.

Initialisation, as the "naive" start of Kourentzes' tsintermittent package: the first demand
sets the size, and the periods up to it (the first included) set the interval; TSB's probability
starts at one demand in that many periods. A history without demand forecasts 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

DEFAULT_ALPHA = 0.1
"""Smoothing of the demand size: small, since a size seen once says little."""
DEFAULT_BETA = 0.1
"""Smoothing of the interval (Croston, SBA) or of the probability of a demand (TSB)."""


class Method(StrEnum):
    CROSTON = "croston"
    SBA = "sba"
    TSB = "tsb"


def _check(alpha: float, beta: float) -> None:
    for name, value in (("alpha", alpha), ("beta", beta)):
        if not 0 < value <= 1:
            raise ValueError(f"the smoothing constant {name} is above 0 and at most 1, not {value}")


def croston(
    demand: Sequence[float], alpha: float = DEFAULT_ALPHA, beta: float = DEFAULT_BETA
) -> float:
    """Croston (1972): smoothed demand size over smoothed interval between demands."""
    _check(alpha, beta)
    size = interval = 0.0
    since = 0  # periods since the last demand, the current one included
    started = False
    for d in demand:
        since += 1
        if d <= 0:
            continue
        if not started:
            size, interval, started = float(d), float(since), True
        else:
            size += alpha * (d - size)
            interval += beta * (since - interval)
        since = 0
    return size / interval if started else 0.0


def sba(demand: Sequence[float], alpha: float = DEFAULT_ALPHA, beta: float = DEFAULT_BETA) -> float:
    """Syntetos and Boylan (2005): Croston's forecast times (1 - beta / 2), beta being the
    interval's smoothing constant, which removes most of Croston's bias."""
    return (1 - beta / 2) * croston(demand, alpha, beta)


def tsb(demand: Sequence[float], alpha: float = DEFAULT_ALPHA, beta: float = DEFAULT_BETA) -> float:
    """Teunter, Syntetos and Babai (2011): smoothed probability of a demand in a period times the
    smoothed demand size; the probability is updated every period, with or without demand."""
    _check(alpha, beta)
    size = probability = 0.0
    since = 0
    started = False
    for d in demand:
        since += 1
        if not started:
            if d > 0:
                size, probability, started = float(d), 1 / since, True
            continue
        if d > 0:
            size += alpha * (d - size)
            probability += beta * (1 - probability)
        else:
            probability -= beta * probability
    return size * probability


def forecast(
    method: Method,
    demand: Sequence[float],
    alpha: float = DEFAULT_ALPHA,
    beta: float = DEFAULT_BETA,
) -> float:
    """The demand per period by `method`."""
    if method is Method.CROSTON:
        return croston(demand, alpha, beta)
    if method is Method.SBA:
        return sba(demand, alpha, beta)
    return tsb(demand, alpha, beta)
