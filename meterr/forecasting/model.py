"""A forecast of daily spend: a robust trend with a day-of-week pattern and widening
prediction intervals, or simpler estimates when history is short. Pure: numbers in, numbers
out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from numpy.typing import NDArray

__all__ = ["DayForecast", "Forecast", "forecast_daily"]

# Two-sided normal quantiles of the 80% and 95% intervals.
Z80 = 1.2816
Z95 = 1.9600
_WEEKLY_MIN_DAYS = 14  # two of each weekday before a weekly pattern is believed
_TREND_WINDOW = 56  # the trend follows the last eight weeks: older levels matter less
_MAD_TO_SD = 1.4826


@dataclass(frozen=True, slots=True)
class DayForecast:
    day: date
    expected: float
    low80: float
    high80: float
    low95: float
    high95: float
    sd: float


@dataclass(frozen=True, slots=True)
class Forecast:
    method: str  # "none", "level" or "trend+weekly"
    history_days: int
    days: list[DayForecast]


def _theil_sen(t: NDArray[np.float64], y: NDArray[np.float64]) -> tuple[float, float]:
    """A line robust to outliers: the median of pairwise slopes, then the median intercept."""
    if len(t) < 2:
        return float(np.median(y)) if len(y) else 0.0, 0.0
    i, j = np.triu_indices(len(t), k=1)
    slope = float(np.median((y[j] - y[i]) / (t[j] - t[i])))
    return float(np.median(y - slope * t)), slope


def _weekly_pattern(y: NDArray[np.float64], weekdays: NDArray[np.int64]) -> NDArray[np.float64]:
    """Each weekday's typical offset from the surrounding week (a centred 7-day median),
    centred on zero."""
    padded = np.pad(y, 3, mode="edge")
    local = np.array([np.median(padded[k : k + 7]) for k in range(len(y))])
    offsets = y - local
    by_day = [offsets[weekdays == d] for d in range(7)]
    pattern = np.array([float(np.median(o)) if len(o) else 0.0 for o in by_day])
    centred: NDArray[np.float64] = pattern - pattern.mean()
    return centred


def forecast_daily(history: Sequence[float], first_day: date, horizon: int) -> Forecast:
    """Forecast `horizon` days after a history of daily costs whose first day is
    `first_day`. Costs never go negative; intervals widen with the distance ahead."""
    y = np.asarray(history, dtype=np.float64)
    n = len(y)
    start = first_day + timedelta(days=n)
    days = [start + timedelta(days=h) for h in range(horizon)]
    if n == 0:
        return Forecast("none", 0, [DayForecast(d, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0) for d in days])
    weekdays = np.array([(first_day + timedelta(days=k)).weekday() for k in range(n)])
    if n < _WEEKLY_MIN_DAYS:
        recent = y[-7:]
        level = float(np.median(recent))
        spread = _MAD_TO_SD * float(np.median(np.abs(recent - level)))
        # With a handful of days the spread itself is uncertain: never narrower than a
        # quarter of the level.
        sd = max(spread, 0.25 * abs(level))
        pattern = np.zeros(7)
        intercept, slope, t_end = level, 0.0, 0.0
        method = "level"
    else:
        pattern = _weekly_pattern(y, weekdays)
        window = slice(max(0, n - _TREND_WINDOW), n)
        t = np.arange(n, dtype=np.float64)
        adjusted = y - pattern[weekdays]
        intercept, slope = _theil_sen(t[window], adjusted[window])
        residuals = adjusted[window] - (intercept + slope * t[window])
        sd = _MAD_TO_SD * float(np.median(np.abs(residuals - np.median(residuals))))
        recent_shift = float(np.median(residuals[-7:]))
        if abs(recent_shift) > 2 * sd and np.all(np.sign(residuals[-7:]) == np.sign(recent_shift)):
            # A step change (a launch, a new feature): follow the new level only.
            window = slice(n - _WEEKLY_MIN_DAYS, n)
            intercept, slope = _theil_sen(t[window], adjusted[window])
            residuals = adjusted[window] - (intercept + slope * t[window])
            sd = _MAD_TO_SD * float(np.median(np.abs(residuals - np.median(residuals))))
        t_end = float(n - 1)
        method = "trend+weekly"
    fitted_days = min(n, _TREND_WINDOW)
    if method == "trend+weekly":
        # In-sample residuals understate the error ahead: correct for the nine values the
        # fit estimated (seven weekday offsets, a level and a slope) and for the noise in
        # each weekday's offset, a median of n/7 days.
        sd *= float(np.sqrt(fitted_days / (fitted_days - 9) * (1 + 1.57 / (n / 7))))
    out = []
    for h, day in enumerate(days, start=1):
        expected = intercept + slope * (t_end + h) + pattern[day.weekday()]
        expected = max(0.0, float(expected))
        # Farther days carry the trend's own uncertainty as well as the day's noise.
        sd_h = sd * float(np.sqrt(1.0 + h / fitted_days))
        out.append(
            DayForecast(
                day=day,
                expected=expected,
                low80=max(0.0, expected - Z80 * sd_h),
                high80=expected + Z80 * sd_h,
                low95=max(0.0, expected - Z95 * sd_h),
                high95=expected + Z95 * sd_h,
                sd=sd_h,
            )
        )
    return Forecast(method, n, out)
