"""What the API's graph links, each read once for all the items of an operation: the team a
budget or an event belongs to, a team's members and budgets, and a team's spend over this
month or any range."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from meterr.auth import Operation
from meterr.domain import BudgetStatus, Dimension, GroupBy, TimeRange, UsageFilter, UsageTotals
from meterr.errors import NotFound
from meterr.resolvers.budgets import list_budgets
from meterr.resolvers.context import RequestContext
from meterr.resolvers.costs import cost_groups
from meterr.store import Member, Team

__all__ = [
    "team_budgets",
    "team_members",
    "team_month_spend",
    "team_spend_over",
    "teams_by_id",
]


async def teams_by_id(ctx: RequestContext, team_ids: Sequence[str]) -> list[Team | None]:
    """Each id's team, or None where no team of the organization the key may see has it
    (an event's team_id names a team that was never created, or was deleted)."""
    ctx.principal.require(Operation.READ)
    asked = [t for t in dict.fromkeys(team_ids) if ctx.team_scope in (None, t)]
    found = await ctx.store.teams.named(ctx.org_id, asked) if asked else {}
    teams = {team_id: team for team_id, team in found.items() if team.deleted_at is None}
    return [teams.get(team_id) for team_id in team_ids]


async def team_budgets(ctx: RequestContext, team_ids: Sequence[str]) -> list[list[BudgetStatus]]:
    """The budgets scoped to each team, with their spend: one read of the budgets."""
    statuses = await list_budgets(ctx, forecast=False)
    by_team: dict[str, list[BudgetStatus]] = {}
    for status in statuses:
        scope = status.budget.scope
        if scope.field == "team_id" and scope.value is not None:
            by_team.setdefault(scope.value, []).append(status)
    return [by_team.get(team_id, []) for team_id in team_ids]


async def team_spend_over(
    ctx: RequestContext, asked: Sequence[tuple[str, TimeRange]]
) -> list[UsageTotals]:
    """What each team spent over its range: one usage question grouped by team per
    distinct range, however many teams ask it."""
    ctx.principal.require(Operation.READ)
    ranges: dict[TimeRange, set[str]] = {}
    for team_id, time_range in asked:
        ranges.setdefault(time_range, set()).add(team_id)
    spent: dict[tuple[str, TimeRange], UsageTotals] = {}
    for time_range, teams in ranges.items():
        # One team's cells are indexed apart only when it is asked about alone, and the
        # embedded store checks each cell against a list of teams slowly: with several, every
        # team is summed and these are kept.
        usage_filter = UsageFilter(team_ids=tuple(teams)) if len(teams) == 1 else UsageFilter()
        groups = await cost_groups(ctx, time_range, GroupBy(Dimension.TEAM), usage_filter)
        for group in groups:
            if group.key in teams:
                spent[(group.key, time_range)] = group.totals
    return [spent.get(key, UsageTotals()) for key in asked]


def _this_month(now: datetime) -> TimeRange:
    start = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=32)).replace(day=1)
    return TimeRange(start, end, ZoneInfo("UTC"))


def _only_visible(ctx: RequestContext, team_ids: Sequence[str]) -> None:
    """A team's key asks of its own team only: any other is not found."""
    for team_id in team_ids:
        if ctx.team_scope is not None and team_id != ctx.team_scope:
            raise NotFound(f"No team {team_id}.", {"id": team_id})


async def team_members(ctx: RequestContext, team_ids: Sequence[str]) -> list[list[Member]]:
    """The members of each team, in the order they joined: one read for all the teams."""
    ctx.principal.require(Operation.READ)
    _only_visible(ctx, team_ids)
    if not team_ids:
        return []
    found = await ctx.store.teams.members_of_teams(ctx.org_id, team_ids)
    return [found[team_id] for team_id in team_ids]


async def team_month_spend(
    ctx: RequestContext, team_ids: Sequence[str], *, now: datetime | None = None
) -> list[UsageTotals]:
    """What each team spent in the calendar month (UTC) of `now` (the service's clock by
    default): one usage question, grouped by team, for all the teams."""
    ctx.principal.require(Operation.READ)
    _only_visible(ctx, team_ids)
    month = _this_month(now or ctx.now())
    return await team_spend_over(ctx, [(team_id, month) for team_id in team_ids])
