"""`node(id:)`: any object with an id of its own kind, found by the id alone."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import strawberry
from strawberry.types import Info

from meterr import resolvers
from meterr.errors import NotFound
from meterr.schema.budgets import Budget
from meterr.schema.context import GraphQLContext
from meterr.schema.node import Node
from meterr.schema.providers import ProviderConnection
from meterr.schema.teams import Team
from meterr.schema.types import UsageEvent
from meterr.schema.webhooks import WebhookEndpoint

__all__ = ["NodeQueries"]

GqlInfo = Info[GraphQLContext, None]


async def _team(ctx: resolvers.RequestContext, id: str) -> Node:
    return Team.from_domain(await resolvers.visible_team(ctx, id))


async def _budget(ctx: resolvers.RequestContext, id: str) -> Node:
    return Budget.from_domain(await resolvers.get_budget(ctx, id, forecast=False))


async def _event(ctx: resolvers.RequestContext, id: str) -> Node:
    return UsageEvent.from_domain(await resolvers.get_event(ctx, id))


async def _webhook(ctx: resolvers.RequestContext, id: str) -> Node:
    return WebhookEndpoint.from_domain(await resolvers.get_webhook(ctx, id))


async def _connection(ctx: resolvers.RequestContext, id: str) -> Node:
    return ProviderConnection.from_domain(await resolvers.get_connection(ctx, id))


# An id's kind is its prefix.
_KINDS: dict[str, Callable[[resolvers.RequestContext, str], Awaitable[Node]]] = {
    "team_": _team,
    "bud_": _budget,
    "evt_": _event,
    "whk_": _webhook,
    "conn_": _connection,
}


@strawberry.type
class NodeQueries:
    @strawberry.field(
        description="The team, budget, event, webhook endpoint or provider connection with this "
        "id; the same rules as asking for it by its own field."
    )
    async def node(self, info: GqlInfo, id: strawberry.ID) -> Node | None:
        ctx = info.context.meterr
        find = next((f for prefix, f in _KINDS.items() if str(id).startswith(prefix)), None)
        if find is None:
            raise NotFound(f"No object with id {id}.", {"id": str(id)})
        return await find(ctx, str(id))
