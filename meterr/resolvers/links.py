"""What the API's graph links, each read once for all the items of an operation: the team a
budget or an event belongs to, a team's budgets, and a team's spend over any range."""

from __future__ import annotations

from collections.abc import Sequence

from meterr.auth import Operation
from meterr.domain import BudgetStatus, Dimension, GroupBy, TimeRange, UsageFilter, UsageTotals
from meterr.resolvers.budgets import list_budgets
from meterr.resolvers.context import RequestContext
from meterr.resolvers.costs import cost_groups
from meterr.store import Team

__all__ = ["team_budgets", "team_spend_over", "teams_by_id"]


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
        # One team is indexed apart; several read every team's cells all the same.
        usage_filter = UsageFilter(team_ids=tuple(teams)) if len(teams) == 1 else UsageFilter()
        groups = await cost_groups(ctx, time_range, GroupBy(Dimension.TEAM), usage_filter)
        for group in groups:
            if group.key in teams:
                spent[(group.key, time_range)] = group.totals
    return [spent.get(key, UsageTotals()) for key in asked]
