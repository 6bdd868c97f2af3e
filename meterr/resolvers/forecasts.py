"""Cost forecasts: each day ahead with its intervals, and the month's projected total, for
the organization and for each group."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
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
from meterr.forecasting import Backtest, Forecast, backtest, forecast_daily, project_period
from meterr.pricing import NANO_PER_USD
from meterr.resolvers.context import RequestContext
from meterr.resolvers.costs import daily_totals
from meterr.resolvers.spend import last_day_of
from meterr.resolvers.timerange import local_days, share_of_day_left

__all__ = [
    "MAX_BACKTEST_DAYS",
    "MAX_HORIZON",
    "CostForecast",
    "MonthProjection",
    "SeriesForecast",
    "budget_forecast",
    "cost_forecast",
    "forecast_backtest",
]

MAX_HORIZON = 366
_DEFAULT_HISTORY_DAYS = 90


@dataclass(frozen=True, slots=True)
class MonthProjection:
    """The current calendar month in the forecast's zone: spent so far (today included),
    and where it ends up by the one projection rule (`project_period`)."""

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
    zone: ZoneInfo
    total: SeriesForecast
    groups: list[SeriesForecast]
    group_by: GroupBy | None


@dataclass(frozen=True, slots=True)
class _Today:
    """Where a forecast stands: the local day, how much of it is still to come, and the
    last day of its month."""

    day: date
    rest: float
    month_start: date
    month_last_day: date

    @classmethod
    def at(cls, now: datetime, zone: ZoneInfo) -> _Today:
        day = now.astimezone(zone).date()
        month_start = day.replace(day=1)
        following = (month_start + timedelta(days=32)).replace(day=1)
        return cls(day, share_of_day_left(now, zone), month_start, following - timedelta(days=1))


def _costs(daily: dict[str | None, dict[date, UsageTotals]]) -> dict[str | None, dict[date, int]]:
    return {key: {day: t.cost_nano for day, t in days.items()} for key, days in daily.items()}


def _history(by_day: dict[date, float], first: date, today: date) -> tuple[list[date], list[float]]:
    """The complete days before today, from the series' first spend: days before it are
    not zeros of a running series, they are days before it existed."""
    days = [first + timedelta(days=k) for k in range((today - first).days)]
    values = [by_day.get(day, 0.0) for day in days]
    while values and values[0] == 0:
        values.pop(0)
        days.pop(0)
    return days, values


def _series(
    key: str | None, by_day: dict[date, int], first: date, today: _Today, horizon: int
) -> SeriesForecast:
    usd = {day: nano / NANO_PER_USD for day, nano in by_day.items()}
    days, values = _history(usd, first, today.day)
    # The month's end may lie beyond the horizon asked for: forecast far enough for both.
    reach = max(horizon, (today.month_last_day - today.day).days + 1)
    forecast = forecast_daily(values, days[0] if days else today.day, reach)
    spent = sum(cost for day, cost in usd.items() if today.month_start <= day <= today.day)
    month = project_period(
        spent,
        forecast.days,
        today=today.day,
        rest_of_today=today.rest,
        last_day=today.month_last_day,
    )
    shown = Forecast(forecast.method, forecast.history_days, forecast.days[:horizon])
    return SeriesForecast(
        key,
        list(zip(days, values, strict=True)),
        shown,
        MonthProjection(
            spent, month.expected, month.low80, month.high80, month.low95, month.high95
        ),
    )


async def cost_forecast(
    ctx: RequestContext,
    *,
    horizon: int = 30,
    group_by: GroupBy | None = None,
    history_start: date | None = None,
    usage_filter: UsageFilter | None = None,
    zone: ZoneInfo | None = None,
) -> CostForecast:
    """Forecast daily cost from today `horizon` days ahead, from the complete days since
    `history_start` (default 90 days back), in the days of `zone` (default UTC); and project
    the month's total."""
    ctx.principal.require(Operation.READ)
    usage_filter = ctx.confine(usage_filter or UsageFilter())
    zone = zone or ZoneInfo("UTC")
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
    today = _Today.at(ctx.now(), zone)
    first = history_start or today.day - timedelta(days=_DEFAULT_HISTORY_DAYS)
    if first >= today.day:
        raise InvalidInput(
            "start_date must be before today.", {"fields": {"start_date": "before today"}}
        )
    # The history and today's spend so far in one read: every day up to today's end.
    first_read = min(first, today.month_start)
    days = local_days(first_read, today.day + timedelta(days=1), zone)
    daily = _costs(await daily_totals(ctx, days, usage_filter, group_by))
    total_by_day: dict[date, int] = defaultdict(int)
    for by_day in daily.values():
        for day, nano in by_day.items():
            total_by_day[day] += nano
    total = _series(None, total_by_day, first, today, horizon)
    groups = []
    if group_by is not None:
        for key in sorted(daily, key=lambda k: -sum(daily[k].values())):
            groups.append(_series(key, daily[key], first, today, horizon))
    return CostForecast(horizon, first, today.day, zone, total, groups, group_by)


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
    utc = ZoneInfo("UTC")
    today = ctx.now().astimezone(utc).date()
    first = today - timedelta(days=days + _DEFAULT_HISTORY_DAYS)
    daily = await daily_totals(ctx, local_days(first, today, utc), usage_filter, None)
    by_day = {day: totals.cost_nano / NANO_PER_USD for day, totals in daily.get(None, {}).items()}
    all_days, values = _history(by_day, first, today)
    return backtest(values, all_days[0] if all_days else today, days)


async def budget_forecast(
    ctx: RequestContext, status: BudgetStatus, now: datetime
) -> BudgetForecast:
    """Where the budget ends its period, by the one projection rule: its spend so far plus
    the forecast of its scope for the rest of today and each remaining day of the period,
    in its own zone; and the first day inside the period that total reaches the limit."""
    budget = status.budget
    zone = ZoneInfo(budget.timezone)
    today = now.astimezone(zone).date()
    # A total budget has no last day: look a year ahead for the day it runs out.
    last_day = last_day_of(status) or today + timedelta(days=MAX_HORIZON - 1)
    forecast = await _scope_forecast(ctx, budget, today, (last_day - today).days + 1)
    projection = project_period(
        float(status.current),
        forecast.days,
        today=today,
        rest_of_today=share_of_day_left(now, zone),
        last_day=last_day,
        limit=float(budget.limit),
    )
    return BudgetForecast(
        projected=round(projection.expected) if status.period_end is not None else None,
        exceeds_on=projection.exceeds_on,
    )


async def _scope_forecast(
    ctx: RequestContext, budget: Budget, today: date, horizon: int
) -> Forecast:
    """The daily forecast of the budget's scope, in its zone and unit, from the complete
    days before today. Those do not change as the day goes on, so each instance works it
    out once in a while, not at every look at the budget (events stamped in past days
    show within minutes)."""
    key = (ctx.org_id, budget.scope, budget.unit, budget.timezone, today, horizon)
    known: Forecast | None = ctx.services.scope_forecasts.get(key)
    if known is not None:
        return known
    zone = ZoneInfo(budget.timezone)
    first = today - timedelta(days=_DEFAULT_HISTORY_DAYS)
    daily = await daily_totals(
        ctx, local_days(first, today, zone), budget.scope.usage_filter(), None
    )
    by_day = {day: _amount(budget, totals) for day, totals in daily.get(None, {}).items()}
    days, values = _history(by_day, first, today)
    forecast = forecast_daily(values, days[0] if days else today, horizon)
    ctx.services.scope_forecasts[key] = forecast
    return forecast


def _amount(budget: Budget, totals: UsageTotals) -> float:
    return float(totals.cost_nano if budget.unit is BudgetUnit.USD else totals.tokens)
