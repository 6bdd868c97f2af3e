"""The typed context of a GraphQL operation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from meterr.errors import Unauthenticated
from meterr.resolvers import RequestContext, Services

__all__ = ["GraphQLContext"]


@dataclass
class GraphQLContext:
    """Over HTTP the caller is known before the operation runs; over a websocket, once the
    connection_init payload carried a valid key (`connection_params`)."""

    request: Request | WebSocket
    response: Response | WebSocket | None
    authenticated: RequestContext | None = None
    connection_params: dict[str, Any] | None = None

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
