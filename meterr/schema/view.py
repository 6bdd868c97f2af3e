"""/graphql over HTTP: authenticated and rate-limited like /v1, errors with extensions.code."""

from __future__ import annotations

import json
from typing import Any

from graphql import FieldNode, GraphQLError, OperationDefinitionNode, OperationType, parse
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UNSET, UnsetType

from meterr.bodies import read_body, with_body
from meterr.errors import MeterrError, PayloadTooLarge, RateLimited, StoreUnavailable
from meterr.resolvers import Services, admit
from meterr.schema.context import GraphQLContext
from meterr.schema.websockets import GraphQLWSHandler, TransportWSHandler

__all__ = ["MeterrGraphQL"]


def _error(exc: MeterrError) -> Response:
    extensions: dict[str, Any] = {"code": exc.code, "details": exc.details}
    response = JSONResponse(
        {"data": None, "errors": [{"message": exc.message, "extensions": extensions}]},
        status_code=exc.status,
    )
    if isinstance(exc, RateLimited | StoreUnavailable):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


_KEYLESS_FIELDS = frozenset({"acceptInvitation"})


def _accepts_an_invitation_only(request: Request, raw: bytes) -> bool:
    """Whether the request is one mutation selecting nothing but acceptInvitation."""
    if request.method != "POST":
        return False
    try:
        body = json.loads(raw)
        document = parse(body["query"])
    except (ValueError, KeyError, TypeError, GraphQLError):
        return False
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1 or len(document.definitions) != 1:
        return False
    [operation] = operations
    selections = operation.selection_set.selections
    return operation.operation is OperationType.MUTATION and all(
        isinstance(field, FieldNode) and field.name.value in _KEYLESS_FIELDS for field in selections
    )


class MeterrGraphQL(GraphQL[GraphQLContext, None]):
    """Strawberry's ASGI view with Meterr's authentication in front, and websockets that send
    through a queue of their own (schema/websockets.py)."""

    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = GraphQLWSHandler

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> GraphQLContext:
        if isinstance(request, WebSocket):
            return GraphQLContext(request=request, response=response)  # see on_ws_connect
        # None only for the keyless operations handle_http lets through.
        meterr = request.scope.get("meterr.context")
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
        try:
            raw = await read_body(request, services.settings.max_body_bytes)
        except PayloadTooLarge as exc:
            return _error(exc)
        request = with_body(request, raw)
        authorization = request.headers.get("authorization")
        if not authorization and _accepts_an_invitation_only(request, raw):
            # The invitee has no key yet: the invitation's token is the credential.
            return await self.run(request)
        try:
            meterr, status = await admit(services, authorization)
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
