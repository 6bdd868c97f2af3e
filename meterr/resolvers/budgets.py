"""Budgets: limits over calendar periods, kept by organization, and the answer to "may this
call go ahead?"."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from meterr.auth import Operation
from meterr.domain import (
    SCOPE_FIELDS,
    Budget,
    BudgetAction,
    BudgetForecast,
    BudgetScope,
    BudgetStatus,
    BudgetUnit,
)
from meterr.errors import InvalidInput, NotFound
from meterr.pricing import normalize_provider, usd_to_nano
from meterr.resolvers.alerts import fire_due_alerts, fire_forecast_alert, with_forecast
from meterr.resolvers.changes import Changes
from meterr.resolvers.context import RequestContext
from meterr.resolvers.forecasts import budget_forecast
from meterr.resolvers.inputs import MAX_ESTIMATED_COST, MAX_TOKENS, BudgetInput
from meterr.resolvers.spend import (
    CallScope,
    budget_amount,
    budget_status,
    budget_statuses,
    covering,
    forget_budgets,
    release_expired,
    visible_to,
)
from meterr.resolvers.timerange import stored_instant

__all__ = [
    "BudgetCheck",
    "check_budgets",
    "create_budget",
    "delete_budget",
    "forecast_of",
    "get_budget",
    "list_budgets",
    "update_budget",
]


@dataclass(frozen=True, slots=True)
class BudgetCheck:
    """Whether a call may go ahead: `blocking` lists the blocking budgets it would overrun."""

    allowed: bool
    budgets: list[BudgetStatus]
    blocking: list[str]


def _scope_of(data: BudgetInput) -> BudgetScope:
    for name in SCOPE_FIELDS:
        value = getattr(data, name)
        if value is not None:
            return BudgetScope(name, normalize_provider(value) if name == "provider" else value)
    return BudgetScope()


def _definition(data: BudgetInput) -> dict[str, Any]:
    """The Budget fields a client defines."""
    return {
        "name": data.name,
        "scope": _scope_of(data),
        "limit": usd_to_nano(data.limit) if data.unit is BudgetUnit.USD else int(data.limit),
        "unit": data.unit,
        "period": data.period,
        "timezone": data.timezone,
        "thresholds": tuple(data.thresholds),
        "action": data.action,
    }


def _as_input(budget: Budget) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "name": budget.name,
        "limit": budget_amount(budget, budget.limit),
        "unit": budget.unit,
        "period": budget.period,
        "thresholds": list(budget.thresholds),
        "action": budget.action,
        "timezone": budget.timezone,
    }
    if budget.scope.field is not None:
        fields[budget.scope.field] = budget.scope.value
    return fields


def _measure(budget: Budget) -> tuple[object, ...]:
    """What a budget's alerts are measured against."""
    return (
        budget.scope,
        budget.limit,
        budget.unit,
        budget.period,
        budget.timezone,
        budget.thresholds,
    )


def _counted(budget: Budget) -> tuple[object, ...]:
    """What decides which events a budget's periods count."""
    return (budget.scope, budget.period, budget.timezone)


async def create_budget(ctx: RequestContext, data: BudgetInput) -> BudgetStatus:
    ctx.principal.require(Operation.MANAGE)
    now = stored_instant(ctx.now())
    budget = Budget(
        id=f"bud_{secrets.token_hex(12)}",
        org_id=ctx.org_id,
        **_definition(data),
        created_at=now,
        updated_at=now,
    )
    await ctx.store.budgets.insert(budget)
    forget_budgets(ctx.services, ctx.org_id)
    status = await _forecast_status(ctx, budget, now)
    await fire_due_alerts(ctx, status, now)
    return status


async def _budget(ctx: RequestContext, budget_id: str) -> Budget:
    budget = await ctx.store.budgets.get(ctx.org_id, budget_id)
    if budget is None or not visible_to(ctx, budget):
        raise NotFound(f"No budget {budget_id}.", {"id": budget_id})
    return budget


async def _forecast_status(ctx: RequestContext, budget: Budget, now: datetime) -> BudgetStatus:
    """The budget's spend and forecast; a forecast reaching the limit fires its alert."""
    status = await with_forecast(ctx, await budget_status(ctx, budget, now), now)
    await fire_forecast_alert(ctx, status, now)
    return status


async def get_budget(ctx: RequestContext, budget_id: str, *, forecast: bool = True) -> BudgetStatus:
    """The budget, its spend and holds in the current period, and (unless not wanted) its
    forecast. Looking fires no alert: those fire as spend moves and budgets change."""
    ctx.principal.require(Operation.READ)
    now = ctx.now()
    await release_expired(ctx, now)
    status = await budget_status(ctx, await _budget(ctx, budget_id), now)
    return await with_forecast(ctx, status, now) if forecast else status


async def list_budgets(ctx: RequestContext, *, forecast: bool = True) -> list[BudgetStatus]:
    """The budgets the key may see, their spend read at once, and their forecasts."""
    ctx.principal.require(Operation.READ)
    now = ctx.now()
    await release_expired(ctx, now)
    budgets = [b for b in await ctx.store.budgets.list(ctx.org_id) if visible_to(ctx, b)]
    statuses = await budget_statuses(ctx, budgets, now)
    if not forecast:
        return statuses
    return [await with_forecast(ctx, status, now) for status in statuses]


async def forecast_of(ctx: RequestContext, status: BudgetStatus) -> BudgetForecast:
    """A listed budget's forecast, worked out when it is asked for."""
    if status.forecast is not None:
        return status.forecast
    return await budget_forecast(ctx, status, ctx.now())


async def update_budget(
    ctx: RequestContext, budget_id: str, changes: Changes[BudgetInput]
) -> BudgetStatus:
    """Merge the given fields into the budget. Naming a scope field replaces the scope; a
    change of limit, unit, period, zone, thresholds or scope lets alerts fire again."""
    ctx.principal.require(Operation.MANAGE)
    current = await _budget(ctx, budget_id)
    defined = _as_input(current)
    if any(name in changes for name in SCOPE_FIELDS):
        for name in SCOPE_FIELDS:
            defined.pop(name, None)
    if "unit" in changes and "limit" not in changes:
        raise InvalidInput(
            "Changing the unit needs the limit in the new unit.",
            {"fields": {"limit": "required when unit changes"}},
        )
    data = changes.over(defined)
    now = stored_instant(ctx.now())
    updated = replace(current, **_definition(data), updated_at=now)
    reset = _measure(updated) != _measure(current)
    recount = _counted(updated) != _counted(current)
    stored = await ctx.store.budgets.replace(updated, reset_alerts=reset, recount=recount)
    if stored is None:
        raise NotFound(f"No budget {budget_id}.", {"id": budget_id})
    forget_budgets(ctx.services, ctx.org_id)
    if reset:
        for key in [key for key in ctx.services.fired_alerts if key[0] == budget_id]:
            ctx.services.fired_alerts.pop(key, None)
    status = await _forecast_status(ctx, stored, now)
    await fire_due_alerts(ctx, status, now)
    return status


async def delete_budget(ctx: RequestContext, budget_id: str) -> None:
    ctx.principal.require(Operation.MANAGE)
    if not await ctx.store.budgets.delete(ctx.org_id, budget_id):
        raise NotFound(f"No budget {budget_id}.", {"id": budget_id})
    forget_budgets(ctx.services, ctx.org_id)


async def check_budgets(
    ctx: RequestContext,
    scope: CallScope,
    *,
    estimated_cost: Decimal | None = None,
    estimated_tokens: int | None = None,
) -> BudgetCheck:
    """Whether a call of this scope may go ahead: no blocking budget over it is spent, or
    would be by the estimate in its unit."""
    ctx.principal.require(Operation.INGEST, Operation.READ)
    problems = {}
    if estimated_cost is not None and not (
        estimated_cost.is_finite() and 0 <= estimated_cost <= MAX_ESTIMATED_COST
    ):
        problems["estimated_cost"] = f"must be a number of USD from 0 to {MAX_ESTIMATED_COST}"
    if estimated_tokens is not None and not 0 <= estimated_tokens <= MAX_TOKENS:
        problems["estimated_tokens"] = f"must be a whole number from 0 to {MAX_TOKENS}"
    if problems:
        raise InvalidInput(f"Invalid input: {', '.join(problems)}.", {"fields": problems})
    now = ctx.now()
    await release_expired(ctx, now)
    statuses = await budget_statuses(ctx, await covering(ctx, scope), now)
    blocking = []
    for status in statuses:
        if status.budget.action is not BudgetAction.BLOCK:
            continue
        if status.budget.unit is BudgetUnit.USD:
            extra = usd_to_nano(estimated_cost) if estimated_cost is not None else 0
        else:
            extra = estimated_tokens or 0
        if status.exceeded or status.current + status.reserved + extra > status.budget.limit:
            blocking.append(status.budget.id)
    # Every covering budget is enforced; a team's key is told which one blocks it, but not
    # the name, limit or spend of one it may not read.
    shown = [status for status in statuses if visible_to(ctx, status.budget)]
    return BudgetCheck(allowed=not blocking, budgets=shown, blocking=blocking)
