"""Forecasts of daily spend: pure numerics, no I/O."""

from __future__ import annotations

from meterr.forecasting.backtest import Backtest, backtest
from meterr.forecasting.model import DayForecast, Forecast, forecast_daily
from meterr.forecasting.projection import PeriodProjection, project_period

__all__ = [
    "Backtest",
    "DayForecast",
    "Forecast",
    "PeriodProjection",
    "backtest",
    "forecast_daily",
    "project_period",
]
