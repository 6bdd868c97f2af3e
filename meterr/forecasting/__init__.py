"""Forecasts of daily spend: pure numerics, no I/O."""

from __future__ import annotations

from meterr.forecasting.backtest import Backtest, backtest
from meterr.forecasting.model import DayForecast, Forecast, forecast_daily

__all__ = ["Backtest", "DayForecast", "Forecast", "backtest", "forecast_daily"]
