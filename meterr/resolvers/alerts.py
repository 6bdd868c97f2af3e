"""Budget alerts: each threshold, then the limit, fires once per budget and period, as a
notification stored with its webhook deliveries and announced on the bus."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from meterr import wire
from meterr.domain import Budget, BudgetAction, BudgetStatus, NotificationType, UsageEvent
from meterr.resolvers.context import RequestContext
from meterr.resolvers.forecasts import budget_forecast
from meterr.resolvers.messages import notification_message
from meterr.resolvers.spend import budget_amount, budget_statuses, organization_budgets

__all__ = ["fire_due_alerts", "fire_forecast_alert", "watch_budgets", "with_forecast"]

_EXCEEDED = "exceeded"
_FORECAST = "forecast_exceeded"


async def watch_budgets(ctx: RequestContext, events: Sequence[UsageEvent]) -> list[str]:
    """After events are stored: fire the alerts now due on the budgets they fall under, and
    answer the ids of the blocking budgets among those that are spent."""
    if not events:
        return []
    now = ctx.now()
    over = []
    budgets = [
        budget
        for budget in await organization_budgets(ctx.services, ctx.org_id)
        if any(budget.scope.covers(event) for event in events)
    ]
    for status in await budget_statuses(ctx, budgets, now):
        budget = status.budget
        await fire_due_alerts(ctx, status, now)
        if budget.id not in ctx.services.forecasts_checked:
            # A forecast reads 90 days of history: at most one per budget every few minutes.
            ctx.services.forecasts_checked[budget.id] = True
            await fire_forecast_alert(ctx, await with_forecast(ctx, status, now), now)
        if budget.action is BudgetAction.BLOCK and status.exceeded:
            over.append(budget.id)
    return over


async def with_forecast(ctx: RequestContext, status: BudgetStatus, now: datetime) -> BudgetStatus:
    return replace(status, forecast=await budget_forecast(ctx, status, now))


async def fire_forecast_alert(ctx: RequestContext, status: BudgetStatus, now: datetime) -> None:
    """`budget.forecast_exceeded`, once per period, when the forecast first reaches the
    limit within the period while the spend has not yet."""
    forecast = status.forecast
    if forecast is None or forecast.exceeds_on is None or status.exceeded:
        return
    await _fire(ctx, status, [_FORECAST], now)


async def fire_due_alerts(ctx: RequestContext, status: BudgetStatus, now: datetime) -> None:
    """Fire each alert the spend has reached and that has not fired in this period. Every
    check looks at the whole spend, not at what one request added, so an alert missed
    (a crash between a write and its check) fires at the next event."""
    budget = status.budget
    due = [
        f"threshold:{threshold}"
        for threshold in budget.thresholds
        if status.current * 100 >= threshold * budget.limit
    ]
    if status.exceeded:
        due.append(_EXCEEDED)
    if not due:
        return
    await _fire(ctx, status, due, now)


async def _fire(ctx: RequestContext, status: BudgetStatus, due: list[str], now: datetime) -> None:
    """Fire the alerts of `due` that have not fired in the period, each once."""
    budget = status.budget
    key = (budget.id, status.period_key)
    known = ctx.services.fired_alerts.get(key)
    fired = (
        set(known)
        if known is not None and set(due) <= known
        else await ctx.store.budgets.fired(ctx.org_id, *key)
    )
    for alert in due:
        if alert in fired:
            continue
        type_, data = _notification(status, alert)
        notification = await ctx.store.budgets.fire(ctx.org_id, *key, alert, (type_, data), now)
        if notification is not None:
            ctx.services.wake_dispatcher()
            await ctx.services.bus.publish(ctx.org_id, type_, [notification_message(notification)])
        fired.add(alert)
    ctx.services.fired_alerts[key] = frozenset(fired)


def _json_amount(budget: Budget, value: int) -> float | int:
    return wire.amount(budget_amount(budget, value))


def _exact_amount(budget: Budget, value: int) -> str:
    return wire.exact_amount(budget_amount(budget, value))


def _notification(status: BudgetStatus, alert: str) -> tuple[NotificationType, dict[str, Any]]:
    """The documented payload: the scope field, limit and current in the budget's unit,
    then the budget and its period; each amount's exact decimal beside it (`limit_exact`)."""
    budget = status.budget
    data: dict[str, Any] = {}
    if budget.scope.field is not None:
        data[budget.scope.field] = budget.scope.value
    data.update(
        {
            "limit": _json_amount(budget, budget.limit),
            "current": _json_amount(budget, status.current),
            "limit_exact": _exact_amount(budget, budget.limit),
            "current_exact": _exact_amount(budget, status.current),
            "unit": budget.unit.value,
            "percent": float(status.percent),
            "budget_id": budget.id,
            "budget_name": budget.name,
            "action": budget.action.value,
            "scope": {budget.scope.field: budget.scope.value} if budget.scope.field else {},
            "period": budget.period.value,
            "period_start": wire.instant(status.period_start),
            "period_end": None if status.period_end is None else wire.instant(status.period_end),
        }
    )
    if alert == _EXCEEDED:
        return NotificationType.USAGE_EXCEEDED, data
    if alert == _FORECAST:
        forecast = status.forecast
        assert forecast is not None
        projected = forecast.projected
        return NotificationType.FORECAST_EXCEEDED, {
            **data,
            "exceeds_on": None if forecast.exceeds_on is None else wire.day(forecast.exceeds_on),
            "projected": None if projected is None else _json_amount(budget, projected),
            "projected_exact": None if projected is None else _exact_amount(budget, projected),
        }
    return NotificationType.THRESHOLD_REACHED, {**data, "threshold": int(alert.split(":")[1])}
