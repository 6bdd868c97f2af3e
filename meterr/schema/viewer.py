"""`viewer`: the caller's organization, key, role, team and rate limit, so that an app knows
what its key may do before it tries."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from meterr import resolvers
from meterr.schema.context import GraphQLContext
from meterr.schema.enums import KeyOperation, KeyRole, Tier
from meterr.schema.teams import Team

__all__ = ["ViewerQueries"]

GqlInfo = Info[GraphQLContext, None]


@strawberry.type(description="An organization, as its own keys see it.")
class Organization:
    id: strawberry.ID
    name: str
    tier: Tier


@strawberry.type(description="The organization's hourly request budget after this request.")
class RateLimit:
    limit: int | None = strawberry.field(description="Requests per hour; null: unlimited.")
    remaining: int | None = strawberry.field(description="null: unlimited.")
    reset_at: datetime = strawberry.field(description="When the hour's count starts again.")


@strawberry.type(description="The caller: its key and what the key may do.")
class Viewer:
    organization: Organization
    key_id: strawberry.ID
    role: KeyRole
    allowed: list[KeyOperation] = strawberry.field(description="What the key's role allows.")
    confined: bool = strawberry.field(
        description="Whether the key sees and reports its team's usage only."
    )
    team_id: strawberry.ID | None = strawberry.field(
        description="The key's team: its events' default team, or the only one it sees."
    )
    rate_limit: RateLimit | None

    @strawberry.field(description="The key's team, when the organization has it.")
    async def team(self, info: GqlInfo) -> Team | None:
        view = await resolvers.viewer_team(info.context.meterr)
        return None if view is None else Team.from_view(view)

    @classmethod
    def from_domain(cls, viewer: resolvers.Viewer) -> Viewer:
        limit = viewer.rate_limit
        return cls(
            organization=Organization(
                id=strawberry.ID(viewer.org_id), name=viewer.org_name, tier=viewer.tier
            ),
            key_id=strawberry.ID(viewer.key_id),
            role=viewer.role,
            allowed=list(viewer.allowed),
            confined=viewer.confined,
            team_id=None if viewer.team_id is None else strawberry.ID(viewer.team_id),
            rate_limit=None
            if limit is None
            else RateLimit(limit=limit.limit, remaining=limit.remaining, reset_at=limit.reset),
        )


@strawberry.type
class ViewerQueries:
    @strawberry.field(description="Who is calling: organization, key, role, team, rate limit.")
    async def viewer(self, info: GqlInfo) -> Viewer | None:
        return Viewer.from_domain(resolvers.viewer(info.context.meterr))
