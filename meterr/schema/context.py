"""The typed context of a GraphQL operation."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from meterr.resolvers import RequestContext

__all__ = ["GraphQLContext"]


@dataclass
class GraphQLContext:
    request: Request | WebSocket
    response: Response | WebSocket | None
    meterr: RequestContext
