"""What budgets measure: the period holding a moment, the spend and holds in it, and which
budgets a call counts against."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from meterr.domain import Budget, BudgetStatus, BudgetUnit
from meterr.errors import Forbidden
from meterr.pricing import NANO_PER_USD, normalize_provider
from meterr.resolvers.context import RequestContext, Services
from meterr.resolvers.costs import usage_in
from meterr.resolvers.timerange import TimeRange
from meterr.store import PeriodSpend

__all__ = [
    "CallScope",
    "budget_amount",
    "budget_status",
    "budget_statuses",
    "call_scope",
    "covering",
    "forget_budgets",
    "last_day_of",
    "organization_budgets",
    "release_expired",
    "visible_to",
]

# How many times the seed of a period is worked out while events keep moving its counts.
_SEED_ATTEMPTS = 5


def visible_to(ctx: RequestContext, budget: Budget) -> bool:
    """A team's keys see the budgets of their team only."""
    team = ctx.team_scope
    return team is None or (budget.scope.field == "team_id" and budget.scope.value == team)


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
    return (await budget_statuses(ctx, [budget], now))[0]


async def budget_statuses(
    ctx: RequestContext, budgets: Sequence[Budget], now: datetime
) -> list[BudgetStatus]:
    """Each budget's spend and holds in its period holding `now`, from the counts kept as
    events are stored: one read for all of them."""
    periods = [budget.period_at(now) for budget in budgets]
    keys = [
        (budget.id, budget.period_key(start))
        for budget, (start, _) in zip(budgets, periods, strict=True)
    ]
    kept = await ctx.store.budget_spend.read(ctx.org_id, keys)
    statuses = []
    for budget, (start, end), key in zip(budgets, periods, keys, strict=True):
        spend = kept[key]
        if spend.seed is None:
            spend = await _seeded(ctx, budget, key[1], now)
        current = spend.cost if budget.unit is BudgetUnit.USD else spend.tokens
        assert current is not None
        statuses.append(BudgetStatus(budget, start, end, current, reserved=spend.reserved))
    return statuses


async def _seeded(
    ctx: RequestContext, budget: Budget, period_key: str, now: datetime
) -> PeriodSpend:
    """The period's spend read from the rollups, and the seed that, added to the counts
    kept, makes it: the spend of the events stored before the budget took its shape. It
    is stored for every later read once the counts stood still while the rollups were
    read; events moving them all the while leave this answer the rollups' own."""
    start, end = budget.period_at(now)
    # A total budget counts every event so far, including those stamped up to the
    # accepted clock skew ahead.
    until = end or now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
    time_range = TimeRange(start, until, ZoneInfo(budget.timezone))
    key = (budget.id, period_key)
    kept = ctx.store.budget_spend
    for _ in range(_SEED_ATTEMPTS):
        before = (await kept.read(ctx.org_id, [key]))[key]
        totals = await usage_in(ctx, time_range, budget.scope.usage_filter())
        after = (await kept.read(ctx.org_id, [key]))[key]
        if after.seed is not None:
            return after
        if after.writes == before.writes:
            seed = (totals.cost_nano - after.counted_cost, totals.tokens - after.counted_tokens)
            await kept.seed(ctx.org_id, budget.id, period_key, seed, after.writes)
            return replace(after, seed=seed)
    return PeriodSpend(seed=(totals.cost_nano, totals.tokens), reserved=after.reserved)


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
