"""Who the caller is, as an app needs to know it: what its key may do and how much of the
hour's requests it has left."""

from __future__ import annotations

from dataclasses import dataclass

from meterr.auth import Operation, Role, Tier
from meterr.errors import Forbidden, NotFound
from meterr.resolvers.context import RateLimitStatus, RequestContext
from meterr.resolvers.teams import TeamView, get_team

__all__ = ["Viewer", "viewer", "viewer_team"]


@dataclass(frozen=True, slots=True)
class Viewer:
    org_id: str
    org_name: str
    tier: Tier
    key_id: str
    role: Role
    team_id: str | None  # the key's team: its events' default team, or (confined) its only one
    confined: bool
    allowed: tuple[Operation, ...]
    rate_limit: RateLimitStatus | None


def viewer(ctx: RequestContext) -> Viewer:
    principal = ctx.principal
    return Viewer(
        org_id=principal.org_id,
        org_name=principal.org_name,
        tier=principal.tier,
        key_id=principal.key_id,
        role=principal.role,
        team_id=principal.team_id,
        confined=principal.confined,
        allowed=tuple(operation for operation in Operation if operation in principal.allowed),
        rate_limit=ctx.rate_limit,
    )


async def viewer_team(ctx: RequestContext) -> TeamView | None:
    """The key's team, when it is a team of the organization that the key may read."""
    if ctx.principal.team_id is None:
        return None
    try:
        return await get_team(ctx, ctx.principal.team_id)
    except (NotFound, Forbidden):
        return None
