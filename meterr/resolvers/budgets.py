"""Budgets: limits over calendar periods, their exact spend, alerts that fire once per period,
and the answer to "may this call go ahead?"."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from meterr.auth import Operation
from meterr.domain import (
    SCOPE_FIELDS,
    Budget,
    BudgetAction,
    BudgetPeriod,
    BudgetScope,
    BudgetStatus,
    BudgetUnit,
    UsageEvent,
)
from meterr.errors import InvalidInput, NotFound
from meterr.pricing import NANO_PER_USD, normalize_provider, usd_to_nano
from meterr.resolvers.context import RequestContext, Services
from meterr.resolvers.costs import usage_in
from meterr.resolvers.inputs import BudgetInput, validate_model
from meterr.resolvers.messages import notification_message
from meterr.resolvers.timerange import TimeRange, stored_instant

__all__ = [
    "BudgetCheck",
    "CallScope",
    "budget_amount",
    "budget_status",
    "call_scope",
    "check_budgets",
    "covering",
    "create_budget",
    "current_period",
    "delete_budget",
    "get_budget",
    "list_budgets",
    "organization_budgets",
    "release_expired",
    "update_budget",
    "watch_budgets",
]

# The start of "all time" for budgets whose period is total.
_ALL_TIME = datetime(1970, 1, 1, tzinfo=UTC)
_EXCEEDED = "exceeded"


@dataclass(frozen=True, slots=True)
class CallScope:
    """What a call about to be made (or just made) is: the fields budgets are scoped by."""

    team_id: str | None = None
    user_id: str | None = None
    provider: str | None = None
    model: str | None = None
    api_key_id: str | None = None


@dataclass(frozen=True, slots=True)
class BudgetCheck:
    """Whether a call may go ahead: `blocking` lists the blocking budgets it would overrun."""

    allowed: bool
    budgets: list[BudgetStatus]
    blocking: list[str]


def current_period(budget: Budget, now: datetime) -> tuple[datetime, datetime | None]:
    """The budget's period holding `now`, on calendar boundaries in its zone (UTC bounds;
    no end for a total budget)."""
    if budget.period is BudgetPeriod.TOTAL:
        return _ALL_TIME, None
    zone = ZoneInfo(budget.timezone)
    day = now.astimezone(zone).date()
    if budget.period is BudgetPeriod.DAY:
        start, following = day, day + timedelta(days=1)
    elif budget.period is BudgetPeriod.WEEK:
        start = day - timedelta(days=day.weekday())
        following = start + timedelta(days=7)
    else:
        start = day.replace(day=1)
        following = (start + timedelta(days=32)).replace(day=1)

    def midnight(local_day: Any) -> datetime:
        return datetime(local_day.year, local_day.month, local_day.day, tzinfo=zone).astimezone(UTC)

    return midnight(start), midnight(following)


def budget_amount(budget: Budget, amount: int) -> Decimal | int:
    """An amount in the budget's unit as people read it: USD, or tokens."""
    if budget.unit is BudgetUnit.USD:
        return Decimal(amount) / NANO_PER_USD
    return amount


async def release_expired(ctx: RequestContext) -> None:
    """Give back what reservations past their time still hold."""
    now = datetime.now(UTC)
    for reservation_id in await ctx.store.reservations.expired(ctx.org_id, now):
        await ctx.store.reservations.release(ctx.org_id, reservation_id, "expired")


async def budget_status(ctx: RequestContext, budget: Budget, now: datetime) -> BudgetStatus:
    """The budget's spend (and holds) in its period holding `now`."""
    start, end = current_period(budget, now)
    # A total budget counts every event so far, including those stamped up to the
    # accepted clock skew ahead.
    until = end or now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
    totals = await usage_in(
        ctx, TimeRange(start, until, ZoneInfo(budget.timezone)), budget.scope.usage_filter()
    )
    current = totals.cost_nano if budget.unit is BudgetUnit.USD else totals.tokens
    status = BudgetStatus(budget, start, end, current)
    reserved = await ctx.store.budgets.reserved(ctx.org_id, budget.id, status.period_key)
    return replace(status, reserved=reserved)


def _scope_of(data: BudgetInput) -> BudgetScope:
    for name in SCOPE_FIELDS:
        value = getattr(data, name)
        if value is not None:
            return BudgetScope(name, normalize_provider(value) if name == "provider" else value)
    return BudgetScope()


def _checked(data: BudgetInput) -> BudgetInput:
    """Rules across fields, each naming the fields at fault."""
    scoped = [name for name in SCOPE_FIELDS if getattr(data, name) is not None]
    if len(scoped) > 1:
        raise InvalidInput(
            f"A budget is scoped by at most one of {', '.join(SCOPE_FIELDS)}; "
            f"this one names {', '.join(scoped)}.",
            {"fields": dict.fromkeys(scoped, "only one scope field may be given")},
        )
    if data.unit is BudgetUnit.TOKENS and data.limit != data.limit.to_integral_value():
        raise InvalidInput(
            "A token limit must be a whole number.",
            {"fields": {"limit": "must be a whole number of tokens"}},
        )
    return data


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


def _forget_budgets(services: Services, org_id: str) -> None:
    services.budgets.pop(org_id, None)


async def organization_budgets(services: Services, org_id: str) -> tuple[Budget, ...]:
    """The organization's budgets, cached for a few seconds."""
    budgets = services.budgets.get(org_id)
    if budgets is None:
        budgets = tuple(await services.store.budgets.list(org_id))
        services.budgets[org_id] = budgets
    return budgets


async def covering(ctx: RequestContext, scope: CallScope) -> list[Budget]:
    """The budgets a call of this scope counts against."""
    budgets = await organization_budgets(ctx.services, ctx.org_id)
    return [budget for budget in budgets if budget.scope.covers(scope)]


async def create_budget(ctx: RequestContext, body: object) -> BudgetStatus:
    ctx.principal.require(Operation.MANAGE)
    data = _checked(validate_model(BudgetInput, body))
    now = stored_instant(datetime.now(UTC))
    budget = Budget(
        id=f"bud_{secrets.token_hex(12)}",
        org_id=ctx.org_id,
        **_definition(data),
        created_at=now,
        updated_at=now,
    )
    await ctx.store.budgets.insert(budget)
    _forget_budgets(ctx.services, ctx.org_id)
    status = await budget_status(ctx, budget, now)
    await _fire_due_alerts(ctx, status, now)
    return status


async def _budget(ctx: RequestContext, budget_id: str) -> Budget:
    budget = await ctx.store.budgets.get(ctx.org_id, budget_id)
    if budget is None:
        raise NotFound(f"No budget {budget_id}.", {"id": budget_id})
    return budget


async def get_budget(ctx: RequestContext, budget_id: str) -> BudgetStatus:
    ctx.principal.require(Operation.READ)
    await release_expired(ctx)
    return await budget_status(ctx, await _budget(ctx, budget_id), datetime.now(UTC))


async def list_budgets(ctx: RequestContext) -> list[BudgetStatus]:
    ctx.principal.require(Operation.READ)
    now = datetime.now(UTC)
    return [
        await budget_status(ctx, budget, now) for budget in await ctx.store.budgets.list(ctx.org_id)
    ]


async def update_budget(ctx: RequestContext, budget_id: str, body: object) -> BudgetStatus:
    """Merge the given fields into the budget. Naming a scope field replaces the scope; a
    change of limit, unit, period, zone, thresholds or scope lets alerts fire again."""
    ctx.principal.require(Operation.MANAGE)
    if not isinstance(body, Mapping):
        raise InvalidInput("Expected a JSON object.", {"fields": {"body": "must be an object"}})
    current = await _budget(ctx, budget_id)
    merged = _as_input(current)
    if any(name in body for name in SCOPE_FIELDS):
        for name in SCOPE_FIELDS:
            merged.pop(name, None)
    if "unit" in body and "limit" not in body:
        raise InvalidInput(
            "Changing the unit needs the limit in the new unit.",
            {"fields": {"limit": "required when unit changes"}},
        )
    merged.update(body)
    data = _checked(validate_model(BudgetInput, merged))
    now = stored_instant(datetime.now(UTC))
    updated = replace(current, **_definition(data), updated_at=now)
    reset = _measure(updated) != _measure(current)
    stored = await ctx.store.budgets.replace(updated, reset_alerts=reset)
    if stored is None:
        raise NotFound(f"No budget {budget_id}.", {"id": budget_id})
    _forget_budgets(ctx.services, ctx.org_id)
    if reset:
        for key in [key for key in ctx.services.fired_alerts if key[0] == budget_id]:
            ctx.services.fired_alerts.pop(key, None)
    status = await budget_status(ctx, stored, now)
    await _fire_due_alerts(ctx, status, now)
    return status


async def delete_budget(ctx: RequestContext, budget_id: str) -> None:
    ctx.principal.require(Operation.MANAGE)
    if not await ctx.store.budgets.delete(ctx.org_id, budget_id):
        raise NotFound(f"No budget {budget_id}.", {"id": budget_id})
    _forget_budgets(ctx.services, ctx.org_id)


def call_scope(
    ctx: RequestContext,
    *,
    team_id: str | None = None,
    user_id: str | None = None,
    provider: str | None = None,
    model: str | None = None,
    api_key_id: str | None = None,
) -> CallScope:
    """The call's scope; the key's default team and the key itself when not given, as
    for the events it will track."""
    return CallScope(
        team_id=team_id or ctx.principal.team_id,
        user_id=user_id,
        provider=normalize_provider(provider) if provider else None,
        model=model,
        api_key_id=api_key_id or ctx.principal.key_id,
    )


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
    if estimated_cost is not None and (not estimated_cost.is_finite() or estimated_cost < 0):
        problems["estimated_cost"] = "must be a non-negative number of USD"
    if estimated_tokens is not None and estimated_tokens < 0:
        problems["estimated_tokens"] = "must be a non-negative whole number"
    if problems:
        raise InvalidInput(f"Invalid input: {', '.join(problems)}.", {"fields": problems})
    now = datetime.now(UTC)
    covering = [
        b for b in await organization_budgets(ctx.services, ctx.org_id) if b.scope.covers(scope)
    ]
    statuses = [await budget_status(ctx, budget, now) for budget in covering]
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
    return BudgetCheck(allowed=not blocking, budgets=statuses, blocking=blocking)


async def watch_budgets(ctx: RequestContext, events: Sequence[UsageEvent]) -> list[str]:
    """After events are stored: fire the alerts now due on the budgets they fall under, and
    answer the ids of the blocking budgets among those that are spent."""
    if not events:
        return []
    now = datetime.now(UTC)
    over = []
    for budget in await organization_budgets(ctx.services, ctx.org_id):
        if not any(budget.scope.covers(event) for event in events):
            continue
        status = await budget_status(ctx, budget, now)
        await _fire_due_alerts(ctx, status, now)
        if budget.action is BudgetAction.BLOCK and status.exceeded:
            over.append(budget.id)
    return over


async def _fire_due_alerts(ctx: RequestContext, status: BudgetStatus, now: datetime) -> None:
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


def _json_amount(budget: Budget, amount: int) -> float | int:
    value = budget_amount(budget, amount)
    return round(float(value), 6) if isinstance(value, Decimal) else value


def _notification(status: BudgetStatus, alert: str) -> tuple[str, dict[str, Any]]:
    """The documented payload: the scope field, limit and current in the budget's unit,
    then the budget and its period."""
    budget = status.budget
    data: dict[str, Any] = {}
    if budget.scope.field is not None:
        data[budget.scope.field] = budget.scope.value
    data.update(
        {
            "limit": _json_amount(budget, budget.limit),
            "current": _json_amount(budget, status.current),
            "unit": budget.unit.value,
            "percent": float(status.percent),
            "budget_id": budget.id,
            "budget_name": budget.name,
            "action": budget.action.value,
            "scope": {budget.scope.field: budget.scope.value} if budget.scope.field else {},
            "period": budget.period.value,
            "period_start": status.period_start.isoformat().replace("+00:00", "Z"),
            "period_end": None
            if status.period_end is None
            else status.period_end.isoformat().replace("+00:00", "Z"),
        }
    )
    if alert == _EXCEEDED:
        return "usage.exceeded", data
    return "budget.threshold_reached", {**data, "threshold": int(alert.split(":")[1])}
