"""The one projection rule: what is spent, plus the rest of today, plus each remaining day."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterr.forecasting import DayForecast, forecast_daily, project_period

TODAY = date(2026, 11, 30)


def days_from(today: date, values: list[float], sd: float = 0.0) -> list[DayForecast]:
    return [DayForecast(today + timedelta(days=k), v, v, v, v, v, sd) for k, v in enumerate(values)]


def test_the_rest_of_today_and_each_remaining_day_are_added_to_what_is_spent() -> None:
    forecast = days_from(TODAY, [10.0, 20.0, 30.0, 40.0])
    projection = project_period(
        5.0, forecast, today=TODAY, rest_of_today=0.25, last_day=TODAY + timedelta(days=2)
    )
    assert projection.expected == pytest.approx(5.0 + 0.25 * 10.0 + 20.0 + 30.0)
    assert projection.spent == 5.0


def test_on_the_last_day_of_the_period_only_the_rest_of_today_is_added() -> None:
    forecast = days_from(TODAY, [24.0, 1000.0])
    projection = project_period(
        30.0, forecast, today=TODAY, rest_of_today=0.125, last_day=TODAY, limit=35.0
    )
    assert projection.expected == pytest.approx(33.0)
    assert projection.exceeds_on is None, "the next period's first day is not this period's"


def test_a_steady_daily_spend_under_a_daily_limit_never_warns() -> None:
    for rest in (0.0, 0.1, 0.5, 0.9, 1.0):
        spent_so_far = 26.0 * (1 - rest)
        forecast = days_from(TODAY, [26.0, 26.0])
        projection = project_period(
            spent_so_far, forecast, today=TODAY, rest_of_today=rest, last_day=TODAY, limit=30.0
        )
        assert projection.expected == pytest.approx(26.0)
        assert projection.exceeds_on is None


def test_exceeds_on_is_the_first_day_the_total_reaches_the_limit() -> None:
    forecast = days_from(TODAY, [10.0, 10.0, 10.0, 10.0])
    last = TODAY + timedelta(days=3)
    reached = project_period(0.0, forecast, today=TODAY, rest_of_today=1.0, last_day=last, limit=25)
    assert reached.exceeds_on == TODAY + timedelta(days=2)
    already = project_period(
        25.0, forecast, today=TODAY, rest_of_today=1.0, last_day=last, limit=25
    )
    assert already.exceeds_on == TODAY
    never = project_period(0.0, forecast, today=TODAY, rest_of_today=1.0, last_day=last, limit=41)
    assert never.exceeds_on is None


def test_the_interval_adds_the_days_variances_with_todays_share() -> None:
    forecast = days_from(TODAY, [10.0, 10.0], sd=4.0)
    projection = project_period(
        100.0, forecast, today=TODAY, rest_of_today=0.5, last_day=TODAY + timedelta(days=1)
    )
    sd = math.sqrt((0.5 * 4.0) ** 2 + 4.0**2)
    assert projection.high80 == pytest.approx(115.0 + 1.2816 * sd)
    assert projection.high95 == pytest.approx(115.0 + 1.96 * sd)
    assert projection.low80 == pytest.approx(115.0 - 1.2816 * sd)


def test_a_forecast_that_stops_short_of_the_period_is_refused() -> None:
    with pytest.raises(ValueError, match="does not reach"):
        project_period(
            0.0,
            days_from(TODAY, [1.0]),
            today=TODAY,
            rest_of_today=1,
            last_day=TODAY.replace(day=30) + timedelta(days=1),
        )
    with pytest.raises(ValueError, match="between 0 and 1"):
        project_period(0.0, days_from(TODAY, [1.0]), today=TODAY, rest_of_today=1.5, last_day=TODAY)
    with pytest.raises(ValueError, match="before today"):
        project_period(
            0.0,
            days_from(TODAY, [1.0]),
            today=TODAY,
            rest_of_today=1,
            last_day=TODAY - timedelta(days=1),
        )


@given(
    history=st.lists(st.floats(0, 1e6, allow_nan=False), max_size=60),
    spent=st.floats(0, 1e7, allow_nan=False),
    rest=st.floats(0, 1),
    days_left=st.integers(0, 40),
    limit=st.floats(0, 1e8, allow_nan=False),
)
def test_the_projection_never_falls_below_what_is_spent_nor_names_a_day_outside(
    history: list[float], spent: float, rest: float, days_left: int, limit: float
) -> None:
    first = TODAY - timedelta(days=len(history))
    forecast = forecast_daily(history, first, days_left + 1)
    last_day = TODAY + timedelta(days=days_left)
    projection = project_period(
        spent, forecast.days, today=TODAY, rest_of_today=rest, last_day=last_day, limit=limit
    )
    assert spent <= projection.low95 <= projection.low80
    assert projection.low80 <= projection.expected + 1e-6
    assert projection.expected <= projection.high80 <= projection.high95
    ahead = rest * forecast.days[0].expected + sum(d.expected for d in forecast.days[1:])
    assert projection.expected == pytest.approx(spent + ahead, rel=1e-9, abs=1e-6)
    if projection.exceeds_on is not None:
        assert TODAY <= projection.exceeds_on <= last_day
    else:
        assert projection.expected < limit
