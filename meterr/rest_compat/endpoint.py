"""What every authenticated /v1 handler shares: the caller, its rate limit, the body."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from meterr.bodies import parse_json, read_body
from meterr.errors import InvalidInput, MeterrError
from meterr.resolvers import RequestContext, Services, admit
from meterr.rest_compat.errors import error_response

__all__ = ["Handler", "read_body", "read_json", "v1_endpoint"]

Handler = Callable[[Request, RequestContext], Awaitable[Response]]


def v1_endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Authenticate, count the request against the hour, run, and label the response
    (its rate limit, and where its usage figures came from)."""

    @functools.wraps(handler)
    async def run(request: Request) -> Response:
        services: Services = request.app.state.services
        ctx, status = await admit(services, request.headers.get("authorization"))
        try:
            async with services.work.turn(ctx.org_id):
                response = await handler(request, ctx)
        except MeterrError as exc:
            response = error_response(exc)
        response.headers.update(status.headers())
        response.headers.update(ctx.answers.headers())
        return response

    return run


async def read_json(request: Request, max_bytes: int) -> Any:
    """The request body as JSON, refusing bodies over max_bytes before reading them whole."""
    body = await read_body(request, max_bytes)
    if not body.strip():
        raise InvalidInput(
            "The request body is empty; send a JSON object.", {"fields": {"body": "empty"}}
        )
    return parse_json(body)
