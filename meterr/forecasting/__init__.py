"""Forecasts of daily spend: pure numerics, no I/O."""

from __future__ import annotations

from meterr.forecasting.model import DayForecast, Forecast, forecast_daily

__all__ = ["DayForecast", "Forecast", "forecast_daily"]
