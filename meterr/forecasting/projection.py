"""Where a period ends up: the one rule that month-end projections and budget forecasts share."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from meterr.forecasting.model import Z80, Z95, DayForecast

__all__ = ["PeriodProjection", "project_period"]


@dataclass(frozen=True, slots=True)
class PeriodProjection:
    """The period's projected total with its intervals, none of which is below what is
    already spent, and the first day the total reaches the limit (if one was given)."""

    spent: float
    expected: float
    low80: float
    high80: float
    low95: float
    high95: float
    exceeds_on: date | None


def project_period(
    spent: float,
    days: Sequence[DayForecast],
    *,
    today: date,
    rest_of_today: float,
    last_day: date,
    limit: float | None = None,
) -> PeriodProjection:
    """The spend recorded so far in the period (today's included), plus the forecast for the
    rest of today (`rest_of_today` is the share of today still to come, 0 to 1), plus the
    forecast of every following day up to and including `last_day`.

    `days` is a daily forecast starting today and reaching `last_day`. The interval adds the
    days' variances as if independent. `exceeds_on` is `today` when the limit is already
    reached, else the first day (up to `last_day`) whose cumulative projection reaches it."""
    if not 0.0 <= rest_of_today <= 1.0:
        raise ValueError(f"rest_of_today must lie between 0 and 1, not {rest_of_today}")
    if last_day < today:
        raise ValueError(f"the period's last day {last_day} is before today {today}")
    by_day = {forecast.day: forecast for forecast in days}
    expected, variance = spent, 0.0
    exceeds_on = today if limit is not None and spent >= limit else None
    day_count = (last_day - today).days + 1
    for offset in range(day_count):
        day = date.fromordinal(today.toordinal() + offset)
        forecast = by_day.get(day)
        if forecast is None:
            raise ValueError(f"the forecast does not reach {day}, a day of the period")
        share = rest_of_today if offset == 0 else 1.0
        expected += share * forecast.expected
        variance += (share * forecast.sd) ** 2
        if exceeds_on is None and limit is not None and expected >= limit:
            exceeds_on = day
    sd = math.sqrt(variance)
    return PeriodProjection(
        spent=spent,
        expected=expected,
        low80=max(spent, expected - Z80 * sd),
        high80=expected + Z80 * sd,
        low95=max(spent, expected - Z95 * sd),
        high95=expected + Z95 * sd,
        exceeds_on=exceeds_on,
    )
