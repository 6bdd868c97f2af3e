"""Cost forecasts: each day ahead with its intervals, and the month's projected total, for
the organization and for each group."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from meterr.auth import Operation
from meterr.domain import (
    Budget,
    BudgetForecast,
    BudgetStatus,
    BudgetUnit,
    GroupBy,
    UsageFilter,
    UsageTotals,
)
from meterr.errors import InvalidInput
from meterr.forecasting import Backtest, Forecast, backtest, forecast_daily
from meterr.pricing import NANO_PER_USD
from meterr.resolvers.context import RequestContext
from meterr.resolvers.costs import daily_totals, group_field_of, usage_in
from meterr.resolvers.timerange import TimeRange

__all__ = [
    "MAX_BACKTEST_DAYS",
    "budget_forecast",
    "CostForecast",
    "MonthProjection",
    "SeriesForecast",
    "cost_forecast",
    "forecast_backtest",
]

MAX_HORIZON = 366
_DEFAULT_HISTORY_DAYS = 90
_Z80, _Z95 = 1.2816, 1.96


@dataclass(frozen=True, slots=True)
class MonthProjection:
    """The current calendar month (UTC): spent so far, and its projected total."""

    month_to_date: float
    expected: float
    low80: float
    high80: float
    low95: float
    high95: float


@dataclass(frozen=True, slots=True)
class SeriesForecast:
    """One series (the organization's, or a group's): its daily history in USD and the
    forecast from today on."""

    key: str | None
    history: list[tuple[date, float]]
    forecast: Forecast
    month: MonthProjection


@dataclass(frozen=True, slots=True)
class CostForecast:
    horizon: int
    history_start: date
    today: date
    total: SeriesForecast
    groups: list[SeriesForecast]
    group_by: GroupBy | None


def _costs(daily: dict[str | None, dict[date, UsageTotals]]) -> dict[str | None, dict[date, int]]:
    return {key: {day: t.cost_nano for day, t in days.items()} for key, days in daily.items()}


def _utc_range(start: date, end: date) -> TimeRange:
    zone = ZoneInfo("UTC")
    return TimeRange(datetime.combine(start, time(), UTC), datetime.combine(end, time(), UTC), zone)


def _series(
    key: str | None,
    by_day: dict[date, int],
    first: date,
    today: date,
    horizon: int,
    today_so_far: int,
) -> SeriesForecast:
    days = [first + timedelta(days=k) for k in range((today - first).days)]
    values = [by_day.get(day, 0) / NANO_PER_USD for day in days]
    # History starts with the series' first spend: days before it are not zeros of a
    # running series, they are days before it existed.
    while values and values[0] == 0:
        values.pop(0)
        days.pop(0)
    forecast = forecast_daily(values, days[0] if days else today, horizon)
    month_start = today.replace(day=1)
    month_end = (month_start + timedelta(days=32)).replace(day=1)
    spent = sum(v for d, v in zip(days, values, strict=True) if d >= month_start)
    ahead = [f for f in forecast.days if f.day < month_end]
    expected = spent + sum(f.expected for f in ahead)
    sd = math.sqrt(sum(f.sd**2 for f in ahead))
    month = MonthProjection(
        month_to_date=spent + today_so_far / NANO_PER_USD,
        expected=expected,
        low80=max(spent, expected - _Z80 * sd),
        high80=expected + _Z80 * sd,
        low95=max(spent, expected - _Z95 * sd),
        high95=expected + _Z95 * sd,
    )
    return SeriesForecast(key, list(zip(days, values, strict=True)), forecast, month)


async def cost_forecast(
    ctx: RequestContext,
    *,
    horizon: int = 30,
    group_by: GroupBy | None = None,
    history_start: date | None = None,
    usage_filter: UsageFilter | None = None,
) -> CostForecast:
    """Forecast daily cost from today (UTC) `horizon` days ahead, from the complete days
    since `history_start` (default 90 days back)."""
    ctx.principal.require(Operation.READ)
    usage_filter = ctx.confine(usage_filter or UsageFilter())
    if not 1 <= horizon <= MAX_HORIZON:
        raise InvalidInput(
            f"horizon must be between 1 and {MAX_HORIZON} days.",
            {"fields": {"horizon": f"1 to {MAX_HORIZON}"}},
        )
    if group_by is not None and group_by.dimension.is_time:
        raise InvalidInput(
            "A forecast is grouped by provider, model, team, user, endpoint, api_key or "
            "metadata.KEY; its days are the forecast itself.",
            {"fields": {"group_by": "not a time dimension"}},
        )
    today = datetime.now(UTC).date()
    first = history_start or today - timedelta(days=_DEFAULT_HISTORY_DAYS)
    if first >= today:
        raise InvalidInput(
            "start_date must be before today.", {"fields": {"start_date": "before today"}}
        )
    field = group_field_of(group_by) if group_by is not None else None
    history = _costs(await daily_totals(ctx, _utc_range(first, today), usage_filter, field))
    now = datetime.now(UTC)
    so_far_range = TimeRange(datetime.combine(today, time(), UTC), now, ZoneInfo("UTC"))
    total_by_day: dict[date, int] = defaultdict(int)
    for by_day in history.values():
        for day, nano in by_day.items():
            total_by_day[day] += nano
    today_total = (await usage_in(ctx, so_far_range, usage_filter)).cost_nano
    total = _series(None, total_by_day, first, today, horizon, today_total)
    groups = []
    if field is not None:
        today_by_group = _costs(await daily_totals(ctx, so_far_range, usage_filter, field))
        for key in sorted(history, key=lambda k: -sum(history[k].values())):
            so_far = sum(today_by_group.get(key, {}).values())
            groups.append(_series(key, history[key], first, today, horizon, so_far))
    return CostForecast(horizon, first, today, total, groups, group_by)


MAX_BACKTEST_DAYS = 366


async def forecast_backtest(
    ctx: RequestContext, *, days: int = 30, usage_filter: UsageFilter | None = None
) -> Backtest:
    """Replay the last `days` complete days: each forecast one day ahead from the 90 days
    before it, then compared with what was spent."""
    ctx.principal.require(Operation.READ)
    usage_filter = ctx.confine(usage_filter or UsageFilter())
    if not 1 <= days <= MAX_BACKTEST_DAYS:
        raise InvalidInput(
            f"days must be between 1 and {MAX_BACKTEST_DAYS}.",
            {"fields": {"days": f"1 to {MAX_BACKTEST_DAYS}"}},
        )
    today = datetime.now(UTC).date()
    first = today - timedelta(days=days + _DEFAULT_HISTORY_DAYS)
    by_day: dict[date, int] = defaultdict(int)
    daily = _costs(await daily_totals(ctx, _utc_range(first, today), usage_filter, None))
    for series in daily.values():
        for day, nano in series.items():
            by_day[day] += nano
    all_days = [first + timedelta(days=k) for k in range((today - first).days)]
    values = [by_day.get(day, 0) / NANO_PER_USD for day in all_days]
    while values and values[0] == 0:
        values.pop(0)
        all_days.pop(0)
    return backtest(values, all_days[0] if all_days else today, days)


async def budget_forecast(ctx: RequestContext, status: BudgetStatus) -> BudgetForecast:
    """Where the budget is heading: its spend so far plus the forecast of its scope's
    remaining days (today's rest included), and the first day that total reaches the limit."""
    budget = status.budget
    now = datetime.now(UTC)
    today = now.date()
    first = today - timedelta(days=_DEFAULT_HISTORY_DAYS)
    daily = await daily_totals(ctx, _utc_range(first, today), budget.scope.usage_filter(), None)
    by_day = daily.get(None, {})
    days = [first + timedelta(days=k) for k in range(_DEFAULT_HISTORY_DAYS)]
    values = [_amount(budget, by_day.get(day, UsageTotals())) for day in days]
    while values and values[0] == 0:
        values.pop(0)
        days.pop(0)
    end = status.period_end.astimezone(UTC).date() if status.period_end else None
    horizon = min(MAX_HORIZON, max(1, ((end or today + timedelta(days=365)) - today).days + 1))
    forecast = forecast_daily(values, days[0] if days else today, horizon)
    rest_of_today = 1 - (now - datetime.combine(today, time(), UTC)).total_seconds() / 86_400
    cumulative = float(status.current)
    exceeds_on = today if status.current >= budget.limit else None
    for ahead in forecast.days:
        if end is not None and ahead.day > end:
            break
        cumulative += ahead.expected * (rest_of_today if ahead.day == today else 1.0)
        if exceeds_on is None and cumulative >= budget.limit:
            exceeds_on = ahead.day
    return BudgetForecast(
        projected=round(cumulative) if end is not None else None, exceeds_on=exceeds_on
    )


def _amount(budget: Budget, totals: UsageTotals) -> float:
    return float(totals.cost_nano if budget.unit is BudgetUnit.USD else totals.tokens)
