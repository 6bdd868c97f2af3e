"""The forecast on generated series of known shape."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from meterr.forecasting import Backtest, backtest, forecast_daily

MONDAY = date(2025, 1, 6)


def weekly(days: int, weekday: float = 100.0, weekend: float = 30.0) -> list[float]:
    return [
        weekend if (MONDAY + timedelta(days=k)).weekday() >= 5 else weekday for k in range(days)
    ]


def test_a_weekly_rhythm_is_recovered() -> None:
    rng = np.random.default_rng(7)
    history = [v + rng.normal(0, 3) for v in weekly(56)]
    forecast = forecast_daily(history, MONDAY, 14)
    assert forecast.method == "trend+weekly"
    for day in forecast.days:
        expected = 30.0 if day.day.weekday() >= 5 else 100.0
        assert abs(day.expected - expected) < 8, (day.day, day.expected)


def test_a_trend_is_followed() -> None:
    history = [50 + 2 * k for k in range(60)]
    forecast = forecast_daily(history, MONDAY, 10)
    assert [round(d.expected) for d in forecast.days] == [50 + 2 * k for k in range(60, 70)]


def test_a_step_change_moves_the_forecast_to_the_new_level() -> None:
    rng = np.random.default_rng(3)
    history = [50 + rng.normal(0, 2) for _ in range(60)] + [
        150 + rng.normal(0, 2) for _ in range(20)
    ]
    forecast = forecast_daily(history, MONDAY, 7)
    assert all(140 < d.expected < 165 for d in forecast.days), [d.expected for d in forecast.days]


def test_outlier_days_do_not_drag_the_forecast() -> None:
    history = [100.0] * 56
    history[20] = 5000.0
    history[40] = 4000.0
    forecast = forecast_daily(history, MONDAY, 7)
    assert all(abs(d.expected - 100) < 5 for d in forecast.days)


def test_eighty_percent_intervals_cover_about_eighty_percent_of_held_out_days() -> None:
    rng = np.random.default_rng(11)
    inside = total = 0
    for _ in range(40):
        series = [v + rng.normal(0, 10) for v in weekly(112)]
        forecast = forecast_daily(series[:84], MONDAY, 28)
        for actual, day in zip(series[84:], forecast.days, strict=True):
            inside += day.low80 <= actual <= day.high80
            total += 1
    assert 0.7 <= inside / total <= 0.92, inside / total


def test_short_empty_gapped_and_zero_histories_give_sensible_answers() -> None:
    single = forecast_daily([42.0], MONDAY, 3)
    assert single.method == "level"
    assert [d.expected for d in single.days] == [42.0, 42.0, 42.0]
    assert all(d.low95 < 42 < d.high95 for d in single.days)

    empty = forecast_daily([], MONDAY, 2)
    assert (empty.method, [d.expected for d in empty.days]) == ("none", [0.0, 0.0])
    assert empty.days[0].day == MONDAY

    zeros = forecast_daily([0.0] * 30, MONDAY, 5)
    assert all(d.expected == d.low95 == d.high95 == 0 for d in zeros.days)

    gapped = weekly(56)
    gapped[10:17] = [0.0] * 7
    forecast = forecast_daily(gapped, MONDAY, 7)
    assert all(d.expected >= 0 and d.low80 >= 0 for d in forecast.days)
    assert forecast.days[0].day == MONDAY + timedelta(days=56)


def test_a_falling_trend_never_forecasts_negative_cost() -> None:
    history = [100 - 3 * k for k in range(30)]
    forecast = forecast_daily(history, MONDAY, 60)
    assert all(d.expected >= 0 and d.low95 >= 0 for d in forecast.days)
    assert forecast.days[-1].expected == 0


def test_a_backtest_replays_history_and_reports_its_errors() -> None:
    rng = np.random.default_rng(5)
    series = [v + rng.normal(0, 5) for v in weekly(90)]
    report = backtest(series, MONDAY, 28)
    assert report.days == 28
    assert report.mape is not None
    assert report.mape < 0.2
    assert report.bias is not None
    assert abs(report.bias) < 0.1
    assert report.coverage80 is not None
    assert 0.5 <= report.coverage80 <= 1.0
    assert backtest([], MONDAY, 10) == Backtest(0, None, None, None, None)
    zero_days = backtest([0.0] * 20, MONDAY, 5)
    assert (zero_days.days, zero_days.mape, zero_days.coverage95) == (5, None, 1.0)
