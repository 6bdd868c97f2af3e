"""/graphql over HTTP: authenticated and rate-limited like /v1, errors with extensions.code."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException, StarletteRequestAdapter
from graphql import OperationType
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from meterr.bodies import parse_json, read_body
from meterr.errors import (
    InvalidInput,
    MeterrError,
    MethodNotAllowed,
    RateLimited,
    StoreUnavailable,
)
from meterr.resolvers import (
    RequestContext,
    Services,
    admit,
    authenticate,
    bearer_token,
    count_request,
)
from meterr.schema.context import GraphQLContext
from meterr.schema.documents import DocumentLimits, measure_document
from meterr.schema.errors import error_extensions
from meterr.schema.transport import GraphQLRequest, read_http_request
from meterr.schema.websockets import GraphQLWSHandler, TransportWSHandler

__all__ = ["MeterrGraphQL"]

# An acceptInvitation document selecting every field of its answer is some 40 tokens: the one
# request that needs no key is parsed no further than this.
_KEYLESS_MAX_TOKENS = 256


def _error(exc: MeterrError, *, status: int | None = None) -> Response:
    """`exc` as a GraphQL response; `status` 200 for an error of the GraphQL request itself
    (its document), which GraphQL-over-HTTP answers with 200 when the response is JSON."""
    response = JSONResponse(
        {"data": None, "errors": [{"message": exc.message, "extensions": error_extensions(exc)}]},
        status_code=exc.status if status is None else status,
    )
    if isinstance(exc, RateLimited | StoreUnavailable):
        response.headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, MethodNotAllowed):
        response.headers["Allow"] = ", ".join(exc.details.get("allowed", ["GET", "POST"]))
    return response


def _from_strawberry(exc: HTTPException) -> MeterrError:
    """What Strawberry refuses itself (the doors' checks leave it nothing to refuse)."""
    if exc.status_code == 405:
        return MethodNotAllowed(exc.reason, {"allowed": ["POST"]})
    return InvalidInput(exc.reason)


@dataclasses.dataclass(frozen=True, slots=True)
class _Reading:
    """A request as the door read it: what to run, how many operations it counts for, and
    the error that refuses it."""

    request: GraphQLRequest | None
    operations: int = 1
    refusal: Response | None = None


def _read(request: Request, raw: bytes, limits: DocumentLimits) -> _Reading:
    try:
        read = read_http_request(
            request.method, request.headers.get("content-type"), request.query_params, raw
        )
    except MeterrError as exc:
        return _Reading(None, refusal=_error(exc))
    try:
        measured = measure_document(read.query, read.operation_name, limits, method=request.method)
    except MethodNotAllowed as exc:
        return _Reading(None, refusal=_error(exc))
    except MeterrError as exc:
        return _Reading(None, refusal=_error(exc, status=200))
    if measured.kind is OperationType.SUBSCRIPTION:
        refused = InvalidInput(
            "Subscriptions run over a websocket (graphql-transport-ws or graphql-ws).",
            {"operation": "subscription"},
        )
        return _Reading(None, refusal=_error(refused, status=200))
    return _Reading(read, measured.root_fields)


def _invitation(request: Request, raw: bytes, limits: DocumentLimits) -> GraphQLRequest | None:
    """The request, when it is one mutation asking for acceptInvitation and nothing else."""
    if request.method != "POST":
        return None
    keyless = dataclasses.replace(
        limits, tokens=min(limits.tokens, _KEYLESS_MAX_TOKENS), root_fields=1
    )
    try:
        read = read_http_request("POST", request.headers.get("content-type"), {}, raw)
        measured = measure_document(read.query, read.operation_name, keyless)
    except MeterrError:
        return None
    if measured.kind is not OperationType.MUTATION or measured.root_names != {"acceptInvitation"}:
        return None
    return read


def _lost_store(result: ExecutionResult) -> int | None:
    """The seconds to wait before a retry, when the operation lost the store midway and
    nothing of it answered (no root field has a value): such an answer is a 503 with
    Retry-After, as when the store was known to be down before it started."""
    lost = [
        error.extensions
        for error in result.errors or ()
        if error.extensions and error.extensions.get("code") == StoreUnavailable.code
    ]
    answered = any(value is not None for value in (result.data or {}).values())
    if not lost or answered:
        return None
    return max(int(extensions.get("retry_after", 5)) for extensions in lost)


class _ReadRequest(StarletteRequestAdapter):
    """The request as Strawberry sees it, its parameters already read by the door."""

    def __init__(self, request: Request) -> None:
        super().__init__(request)
        self.graphql: GraphQLRequest = request.scope["meterr.graphql_request"]


class MeterrGraphQL(GraphQL[GraphQLContext, None]):
    """Strawberry's ASGI view with Meterr's authentication, request reading and document
    limits in front, and websockets that send through a queue of their own
    (schema/websockets.py)."""

    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = GraphQLWSHandler
    request_adapter_class = _ReadRequest

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> GraphQLContext:
        if isinstance(request, WebSocket):
            return GraphQLContext(request=request, response=response)  # see on_ws_connect
        # None only for the keyless operations handle_http lets through.
        meterr = request.scope.get("meterr.context")
        return GraphQLContext(request=request, response=response, authenticated=meterr)

    def decode_json(self, data: str | bytes) -> object:
        """Websocket messages, parsed as strictly as request bodies: what is refused is a
        message that is not JSON, as the protocols have it."""
        try:
            return parse_json(data, field="message")
        except InvalidInput as exc:
            raise json.JSONDecodeError(exc.message, "", 0) from None

    async def parse_http_body(self, request: AsyncHTTPRequestAdapter) -> GraphQLRequestData:
        assert isinstance(request, _ReadRequest)
        read = request.graphql
        return GraphQLRequestData(
            query=read.query,
            variables=read.variables,
            operation_name=read.operation_name,
            extensions=read.extensions,
        )

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        retry_after = _lost_store(result)
        if retry_after is not None:
            request.scope["meterr.store_lost"] = retry_after
        return await super().process_result(request, result)

    async def on_ws_connect(self, context: GraphQLContext) -> UnsetType | dict[str, object] | None:
        """Authenticate a websocket by its connection_init payload: `{"Authorization":
        "Bearer <key>"}` or `{"api_key": "<key>"}`. A refusal closes it (4403 Forbidden with
        graphql-transport-ws; connection_error with graphql-ws). A connection counts as one
        request against the hour's budget, and each operation it starts counts again."""
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
        assert isinstance(authorization, str)
        context.api_key = bearer_token(authorization)
        acknowledged: UnsetType = UNSET  # a plain connection_ack
        return acknowledged

    async def handle_http(self, request: Request) -> Response:
        services: Services = request.app.state.services
        wants_ide = request.method == "GET" and "text/html" in request.headers.get("accept", "")
        if wants_ide and "query" not in request.query_params:
            return await self.render_graphql_ide(request)
        try:
            raw = await read_body(request, services.settings.max_body_bytes)
        except MeterrError as exc:
            return _error(exc)
        limits = DocumentLimits.of(services.settings)
        authorization = request.headers.get("authorization")
        if not authorization and (invitation := _invitation(request, raw, limits)) is not None:
            # The invitee has no key yet: the invitation's token is the credential.
            return await self._execute(request, invitation)
        # The key first: a caller without one costs no more than reading its body.
        try:
            principal = await authenticate(services, bearer_token(authorization))
        except MeterrError as exc:
            return _error(exc)
        reading = _read(request, raw, limits)
        try:
            status = await count_request(services, principal, operations=reading.operations)
        except MeterrError as exc:
            return _error(exc)
        if reading.request is None:
            assert reading.refusal is not None
            response = reading.refusal
        else:
            request.scope["meterr.context"] = RequestContext(principal, services, rate_limit=status)
            try:
                async with services.work.turn(principal.org_id):
                    response = await self._execute(request, reading.request)
            except MeterrError as exc:
                response = _error(exc)
        response.headers.update(status.headers())
        return response

    async def _execute(self, request: Request, read: GraphQLRequest) -> Response:
        request.scope["meterr.graphql_request"] = read
        try:
            response = await self.run(request)
        except HTTPException as exc:
            return _error(_from_strawberry(exc))
        retry_after = request.scope.get("meterr.store_lost")
        if retry_after is not None:
            response.status_code = StoreUnavailable.status
            response.headers["Retry-After"] = str(retry_after)
        return response

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            request = Request(scope, receive=receive)
            response = await self.handle_http(request)
            await response(scope, receive, send)
            return
        await super().__call__(scope, receive, send)
