"""What budgets measure: the period holding a moment, the spend and holds in it, and which
budgets a call counts against."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from meterr.domain import Budget, BudgetPeriod, BudgetStatus, BudgetUnit
from meterr.errors import Forbidden
from meterr.pricing import NANO_PER_USD, normalize_provider
from meterr.resolvers.context import RequestContext, Services
from meterr.resolvers.costs import usage_in
from meterr.resolvers.timerange import TimeRange, local_midnight

__all__ = [
    "CallScope",
    "budget_amount",
    "budget_status",
    "call_scope",
    "covering",
    "current_period",
    "forget_budgets",
    "last_day_of",
    "organization_budgets",
    "release_expired",
]

# The start of "all time" for budgets whose period is total.
_ALL_TIME = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class CallScope:
    """What a call about to be made (or just made) is: the fields budgets are scoped by."""

    team_id: str | None = None
    user_id: str | None = None
    provider: str | None = None
    model: str | None = None
    api_key_id: str | None = None


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
    for the events it will track. A team's key speaks for its own team only."""
    if team_id and ctx.team_scope is not None and team_id != ctx.team_scope:
        raise Forbidden(
            "This key acts for its own team only.",
            {"team_id": ctx.team_scope, "requested": team_id},
        )
    return CallScope(
        team_id=team_id or ctx.principal.team_id,
        user_id=user_id,
        provider=normalize_provider(provider) if provider else None,
        model=model,
        api_key_id=api_key_id or ctx.principal.key_id,
    )


def current_period(budget: Budget, now: datetime) -> tuple[datetime, datetime | None]:
    """The budget's period holding `now`, on calendar boundaries in its zone: [start, end)
    in UTC, with no end for a total budget."""
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
    return local_midnight(start, zone), local_midnight(following, zone)


def last_day_of(status: BudgetStatus) -> date | None:
    """The last local day of the status's period (None for a total budget)."""
    if status.period_end is None:
        return None
    zone = ZoneInfo(status.budget.timezone)
    return status.period_end.astimezone(zone).date() - timedelta(days=1)


def budget_amount(budget: Budget, amount: int) -> Decimal | int:
    """An amount in the budget's unit as people read it: USD, or tokens."""
    if budget.unit is BudgetUnit.USD:
        return Decimal(amount) / NANO_PER_USD
    return amount


async def release_expired(ctx: RequestContext, now: datetime) -> None:
    """Give back what reservations past their time still hold."""
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


def forget_budgets(services: Services, org_id: str) -> None:
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
