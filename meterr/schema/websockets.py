"""Strawberry's two websocket protocols (graphql-transport-ws and graphql-ws), each message
going out through the connection's outbox, and each operation serving as the live sink of
the subscription it runs."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import timedelta
from typing import Any

from graphql import GraphQLFormattedError, OperationType
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.async_base_view import AsyncBaseHTTPView, AsyncWebSocketAdapter
from strawberry.schema import BaseSchema
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ErrorMessage as TransportError,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    Message,
    SubscribeMessage,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import ErrorMessage as LegacyError
from strawberry.subscriptions.protocols.graphql_ws.types import OperationMessage, StartMessage

from meterr.errors import (
    InvalidInput,
    MeterrError,
    RateLimited,
    StoreUnavailable,
    Unauthenticated,
)
from meterr.resolvers import admit_operation
from meterr.schema.context import GraphQLContext
from meterr.schema.documents import DocumentLimits, measure_document
from meterr.schema.errors import error_extensions
from meterr.schema.live import LiveOperation, Outbox, serving
from meterr.schema.transport import read_payload

__all__ = ["GraphQLWSHandler", "TransportWSHandler"]

View = AsyncBaseHTTPView[Any, Any, Any, Any, Any, Any, None]

_SUBSCRIPTION = OperationType.SUBSCRIPTION
_REVOKED = 4403  # the close code of graphql-transport-ws for a refused key
# The messages of either protocol that name an operation by its id, a string: any other id
# would be looked up among the running operations, where a list or an object fails.
_NAMING_AN_OPERATION = frozenset({"subscribe", "complete", "start", "stop"})


class _QueuedSocket(AsyncWebSocketAdapter):
    """The websocket as a protocol handler sees it: what it sends, and its close, go out
    through the outbox in the order they were sent."""

    def __init__(self, view: View, socket: AsyncWebSocketAdapter, outbox: Outbox) -> None:
        super().__init__(view)
        self._socket = socket
        self._outbox = outbox

    async def iter_json(
        self, *, ignore_parsing_errors: bool = False
    ) -> AsyncGenerator[object, None]:
        async for message in self._socket.iter_json(ignore_parsing_errors=ignore_parsing_errors):
            yield message

    async def send_json(self, message: Mapping[str, object]) -> None:
        self._outbox.push_message(_encoded(self.view, message))

    async def close(self, code: int, reason: str) -> None:
        await self._outbox.close(code, reason)


def _encoded(view: View, message: Mapping[str, object]) -> str:
    encoded = view.encode_json(message)
    return encoded.decode() if isinstance(encoded, bytes) else encoded


class _Connection:
    """One websocket's outbox and its running operations, for either protocol."""

    def __init__(self, view: View, websocket: AsyncWebSocketAdapter, context: GraphQLContext):
        assert isinstance(websocket, ASGIWebSocketAdapter)
        self._raw = websocket
        self._view = view
        self._context = context
        self.outbox = Outbox(websocket.ws.send_text, context.services.bus.pacer)
        self.socket = _QueuedSocket(view, websocket, self.outbox)
        self._operations: dict[str, LiveOperation] = {}
        self._watch = contextlib.ExitStack()
        self._watching = False

    @asynccontextmanager
    async def open(self) -> AsyncIterator[None]:
        self.outbox.start(self._raw.close)
        try:
            with self._watch:
                yield
        finally:
            await self.outbox.stop()

    async def _revoked(self) -> None:
        await self.outbox.close(_REVOKED, "The API key of this connection no longer works.")

    async def _admit(self, operations: int) -> None:
        """Check the connection's key again and count the operation; a key that no longer
        works closes the socket with 4403. From the first operation on, the socket is
        watched, so that a key revoked later closes it too."""
        key = self._context.api_key
        if key is None:
            raise Unauthenticated("Missing API key.", {"reason": "missing"})
        services = self._context.services
        try:
            status = await admit_operation(services, key, operations=operations)
        except Unauthenticated:
            await self._revoked()
            raise
        if self._context.authenticated is not None:
            self._context.authenticated = replace(self._context.authenticated, rate_limit=status)
        if not self._watching:
            self._watch.enter_context(services.sockets.watching(key, self._revoked))
            self._watching = True

    def send(self, message: Mapping[str, object], result_type: str) -> None:
        """Queue a message; a result (`result_type`) counts in its operation's backlog."""
        operation = None
        if message.get("type") == result_type:
            operation = self._operations.get(str(message.get("id")))
        self.outbox.push_message(_encoded(self._view, message), operation)

    @asynccontextmanager
    async def operation(
        self,
        operation_id: str,
        head: str,
        query: str,
        variables: Mapping[str, object] | None,
        operation_name: str | None,
    ) -> AsyncIterator[None]:
        """Run an operation as the live sink of its subscription (if it is one)."""
        live = LiveOperation(self.outbox, head, self._context, query, variables, operation_name)
        self._operations[operation_id] = live
        try:
            with serving(live):
                yield
        finally:
            live.active = False
            if self._operations.get(operation_id) is live:
                del self._operations[operation_id]

    async def refusal(
        self, payload: object, *, subscriptions_only: bool = False
    ) -> GraphQLFormattedError | None:
        """Why the operation of a subscribe (or start) message's `payload` may not start, as
        the GraphQL error to send, or None. The document is held to the same limits as over
        HTTP, and the operation counts against the organization's hour as it starts (once
        per root field): one socket buys no more than the hour allows."""
        refused: MeterrError | None = None
        operations = 1
        try:
            request = read_payload(payload)
            settings = self._context.services.settings
            limits = DocumentLimits.of(settings)
            measured = measure_document(request.query, request.operation_name, limits)
            operations = measured.root_fields
            if subscriptions_only and measured.kind is not _SUBSCRIPTION:
                raise InvalidInput(
                    "graphql-ws runs subscriptions only: send queries and mutations over "
                    "HTTP or graphql-transport-ws.",
                    {"operation": measured.kind.value},
                )
        except MeterrError as exc:
            refused = exc
        try:
            await self._admit(operations)
        except (RateLimited, Unauthenticated, StoreUnavailable) as exc:
            refused = exc
        if refused is None:
            return None
        return GraphQLFormattedError(message=refused.message, extensions=error_extensions(refused))

    def stop(self, operation_id: str) -> None:
        """The client ended the operation: none of its results go out any more."""
        live = self._operations.get(operation_id)
        if live is not None:
            live.active = False


class TransportWSHandler(BaseGraphQLTransportWSHandler[GraphQLContext, None]):
    """graphql-transport-ws over the connection's outbox."""

    def __init__(
        self,
        view: View,
        websocket: AsyncWebSocketAdapter,
        context: GraphQLContext,
        root_value: None,
        schema: BaseSchema,
        connection_init_wait_timeout: timedelta,
        max_subscriptions_per_connection: int | None = None,
    ) -> None:
        self.connection = _Connection(view, websocket, context)
        super().__init__(
            view,
            self.connection.socket,
            context,
            root_value,
            schema,
            connection_init_wait_timeout,
            max_subscriptions_per_connection,
        )

    async def handle(self) -> None:
        async with self.connection.open():
            await super().handle()

    async def send_message(self, message: Message) -> None:
        self.connection.send(message, "next")

    async def handle_message(self, message: Message) -> None:
        if not isinstance(message, dict):
            await self.handle_invalid_message("Failed to parse message")
            return
        kind = message.get("type")
        if not isinstance(kind, str):
            await self.handle_invalid_message("A message's type is a string.")
            return
        if kind in _NAMING_AN_OPERATION and not isinstance(message.get("id"), str):
            await self.handle_invalid_message(f"A {kind} message's id is a string.")
            return
        await super().handle_message(message)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        operation_id = message["id"]
        if self.connection_acknowledged and operation_id not in self.operations:
            try:
                read_payload(message.get("payload"))
            except InvalidInput as exc:
                # The protocol closes the socket on a message not in its format (4400).
                await self.handle_invalid_message(exc.message)
                return
            error = await self.connection.refusal(message["payload"])
            if error is not None:
                await self.send_message(
                    TransportError(id=operation_id, type="error", payload=[error])
                )
                return
        await super().handle_subscribe(message)

    async def run_operation(self, operation: Operation[GraphQLContext, None]) -> None:
        head = f'{{"id": {json.dumps(operation.id)}, "type": "next", "payload": '
        async with self.connection.operation(
            operation.id, head, operation.query, operation.variables, operation.operation_name
        ):
            await super().run_operation(operation)

    async def cleanup_operation(self, operation_id: str) -> None:
        self.connection.stop(operation_id)
        await super().cleanup_operation(operation_id)


class GraphQLWSHandler(BaseGraphQLWSHandler[GraphQLContext, None]):
    """graphql-ws (the older protocol) over the connection's outbox."""

    def __init__(
        self,
        view: View,
        websocket: AsyncWebSocketAdapter,
        context: GraphQLContext,
        root_value: None,
        schema: BaseSchema,
        keep_alive: bool,
        keep_alive_interval: float | None,
        max_subscriptions_per_connection: int | None = None,
    ) -> None:
        self.connection = _Connection(view, websocket, context)
        super().__init__(
            view,
            self.connection.socket,
            context,
            root_value,
            schema,
            keep_alive,
            keep_alive_interval,
            max_subscriptions_per_connection,
        )

    async def handle(self) -> None:
        async with self.connection.open():
            await super().handle()

    async def send_message(self, message: OperationMessage) -> None:
        self.connection.send(message, "data")

    async def handle_message(self, message: OperationMessage) -> None:
        """The protocol ignores what it cannot read: a message that is no object, has no
        type, or names its operation by anything but a string."""
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            return
        if message["type"] in _NAMING_AN_OPERATION and not isinstance(message.get("id"), str):
            return
        await super().handle_message(message)

    async def handle_start(self, message: StartMessage) -> None:
        operation_id = message["id"]
        if self.connection_acknowledged:
            payload = message.get("payload")
            error = await self.connection.refusal(payload, subscriptions_only=True)
            if error is not None:
                await self.send_message(LegacyError(type="error", id=operation_id, payload=error))
                return
        await super().handle_start(message)

    async def handle_async_results(
        self,
        operation_id: str,
        query: str,
        operation_name: str | None,
        variables: dict[str, object] | None,
    ) -> None:
        head = f'{{"type": "data", "id": {json.dumps(operation_id)}, "payload": '
        async with self.connection.operation(operation_id, head, query, variables, operation_name):
            await super().handle_async_results(operation_id, query, operation_name, variables)

    async def cleanup_operation(self, operation_id: str) -> None:
        self.connection.stop(operation_id)
        await super().cleanup_operation(operation_id)
