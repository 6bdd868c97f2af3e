"""/graphql over HTTP: authenticated and rate-limited like /v1, errors with extensions.code."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UNSET, UnsetType

from meterr.errors import MeterrError, PayloadTooLarge, RateLimited, Unauthenticated
from meterr.resolvers import Services, admit
from meterr.schema.context import GraphQLContext

__all__ = ["MeterrGraphQL"]


def _error(exc: MeterrError) -> Response:
    extensions: dict[str, Any] = {"code": exc.code, "details": exc.details}
    response = JSONResponse(
        {"data": None, "errors": [{"message": exc.message, "extensions": extensions}]},
        status_code=exc.status,
    )
    if isinstance(exc, RateLimited):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


class MeterrGraphQL(GraphQL[GraphQLContext, None]):
    """Strawberry's ASGI view with Meterr's authentication in front."""

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> GraphQLContext:
        if isinstance(request, WebSocket):
            return GraphQLContext(request=request, response=response)  # see on_ws_connect
        meterr = request.scope.get("meterr.context")
        if meterr is None:
            raise Unauthenticated("Missing API key.")
        return GraphQLContext(request=request, response=response, authenticated=meterr)

    async def on_ws_connect(self, context: GraphQLContext) -> UnsetType | dict[str, object] | None:
        """Authenticate a websocket by its connection_init payload: `{"Authorization":
        "Bearer <key>"}` or `{"api_key": "<key>"}`. A refusal closes it (4403 Forbidden with
        graphql-transport-ws; connection_error with graphql-ws). A connection counts as one
        request against the hour's budget."""
        params = context.connection_params or {}
        authorization = params.get("Authorization") or params.get("authorization")
        api_key = params.get("api_key") or params.get("apiKey")
        if not authorization and isinstance(api_key, str):
            authorization = f"Bearer {api_key}"
        services: Services = context.request.app.state.services
        try:
            meterr, _ = await admit(
                services, authorization if isinstance(authorization, str) else None
            )
        except MeterrError as exc:
            raise ConnectionRejectionError({"code": exc.code, "message": exc.message}) from None
        context.authenticated = meterr
        acknowledged: UnsetType = UNSET  # a plain connection_ack
        return acknowledged

    async def handle_http(self, request: Request) -> Response:
        services: Services = request.app.state.services
        wants_ide = request.method == "GET" and "text/html" in request.headers.get("accept", "")
        if wants_ide and "query" not in request.query_params:
            return await self.render_graphql_ide(request)
        declared = request.headers.get("content-length", "")
        limit = services.settings.max_body_bytes
        if declared.isdigit() and int(declared) > limit:
            return _error(
                PayloadTooLarge(
                    f"The body is {declared} bytes; at most {limit} are accepted.",
                    {"limit_bytes": limit},
                )
            )
        try:
            meterr, status = await admit(services, request.headers.get("authorization"))
        except MeterrError as exc:
            return _error(exc)
        request.scope["meterr.context"] = meterr
        response = await self.run(request)
        response.headers.update(status.headers())
        return response

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            request = Request(scope, receive=receive)
            response = await self.handle_http(request)
            await response(scope, receive, send)
            return
        await super().__call__(scope, receive, send)
