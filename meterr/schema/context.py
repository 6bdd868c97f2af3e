"""The typed context of a GraphQL operation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.dataloader import DataLoader

from meterr.domain import BudgetStatus, TimeRange, UsageTotals
from meterr.errors import Unauthenticated
from meterr.resolvers import (
    Member,
    RequestContext,
    Services,
    Team,
    team_budgets,
    team_members,
    team_month_spend,
    team_spend_over,
    teams_by_id,
)

__all__ = ["GraphQLContext", "Loaders"]


@dataclass(frozen=True)
class Loaders:
    """What a field of many items looks up, read once for all the items of an operation
    (keyed by team id; a team's spend over a range by the team and the range)."""

    team_members: DataLoader[str, list[Member]]
    team_spend: DataLoader[str, UsageTotals]
    teams: DataLoader[str, Team | None]
    team_budgets: DataLoader[str, list[BudgetStatus]]
    team_spend_over: DataLoader[tuple[str, TimeRange], UsageTotals]

    @classmethod
    def of(cls, ctx: RequestContext, *, remember: bool) -> Loaders:
        return cls(
            team_members=DataLoader(lambda ids: team_members(ctx, ids), cache=remember),
            team_spend=DataLoader(lambda ids: team_month_spend(ctx, ids), cache=remember),
            teams=DataLoader(lambda ids: teams_by_id(ctx, ids), cache=remember),
            team_budgets=DataLoader(lambda ids: team_budgets(ctx, ids), cache=remember),
            team_spend_over=DataLoader(lambda keys: team_spend_over(ctx, keys), cache=remember),
        )


@dataclass
class GraphQLContext:
    """Over HTTP the caller is known before the operation runs; over a websocket, once the
    connection_init payload carried a valid key (`connection_params`)."""

    request: Request | WebSocket
    response: Response | WebSocket | None
    authenticated: RequestContext | None = None
    connection_params: dict[str, Any] | None = None
    # A websocket's key, checked again as each operation starts and while the socket is open.
    api_key: str | None = None
    _loaders: Loaders | None = field(default=None, init=False, repr=False)

    @property
    def services(self) -> Services:
        """The service's shared parts, for the few fields that need no caller."""
        services: Services = self.request.app.state.services
        return services

    @property
    def meterr(self) -> RequestContext:
        if self.authenticated is None:
            raise Unauthenticated("Missing API key.", {"reason": "missing"})
        return self.authenticated

    @property
    def loaders(self) -> Loaders:
        """Made for the caller on first use. A websocket's context lasts as long as its
        connection, so its loaders batch but remember nothing from one operation to the next."""
        if self._loaders is None:
            remember = not isinstance(self.request, WebSocket)
            self._loaders = Loaders.of(self.meterr, remember=remember)
        return self._loaders
