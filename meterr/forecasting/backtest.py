"""Replaying history: each past day forecast from the days before it, then compared."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from meterr.forecasting.model import forecast_daily

__all__ = ["Backtest", "backtest"]


@dataclass(frozen=True, slots=True)
class Backtest:
    """How the forecast did on `days` past days: percentage errors over the days with
    spend, interval coverage over all of them."""

    days: int
    mape: float | None  # mean absolute percentage error
    bias: float | None  # mean signed percentage error: positive means over-forecast
    coverage80: float | None
    coverage95: float | None


def backtest(history: Sequence[float], first_day: date, days: int) -> Backtest:
    """Forecast each of the last `days` days of `history` one day ahead from the days
    before it."""
    days = min(days, max(0, len(history) - 1))
    errors: list[float] = []
    inside80 = inside95 = 0
    for index in range(len(history) - days, len(history)):
        actual = history[index]
        [ahead] = forecast_daily(history[:index], first_day, 1).days
        assert ahead.day == first_day + timedelta(days=index)
        inside80 += ahead.low80 <= actual <= ahead.high80
        inside95 += ahead.low95 <= actual <= ahead.high95
        if actual > 0:
            errors.append((ahead.expected - actual) / actual)
    if not days:
        return Backtest(0, None, None, None, None)
    return Backtest(
        days=days,
        mape=sum(abs(e) for e in errors) / len(errors) if errors else None,
        bias=sum(errors) / len(errors) if errors else None,
        coverage80=inside80 / days,
        coverage95=inside95 / days,
    )
