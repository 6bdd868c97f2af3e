"""GraphQL subscriptions over real websockets, in either protocol."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from tests.conftest import bearer
from tests.support.events import event

__all__ = [
    "LEGACY_WS",
    "TRANSPORT_WS",
    "USAGE_TRACKED",
    "WAIT",
    "Subscriber",
    "subscriber",
    "track_event",
]

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"
WAIT = 10.0


class Subscriber:
    """A websocket client speaking either protocol."""

    def __init__(self, socket: ClientConnection, protocol: str) -> None:
        self.socket = socket
        self.protocol = protocol

    async def send(self, message: dict[str, Any]) -> None:
        await self.socket.send(json.dumps(message))

    async def receive(self) -> dict[str, Any]:
        async with asyncio.timeout(WAIT):
            while True:
                message: dict[str, Any] = json.loads(await self.socket.recv())
                if message["type"] not in ("ka", "ping", "pong"):
                    return message

    async def init(self, payload: dict[str, Any]) -> dict[str, Any]:
        await self.send({"type": "connection_init", "payload": payload})
        return await self.receive()

    async def subscribe(
        self, query: str, variables: dict[str, Any] | None = None, op_id: str = "1"
    ) -> None:
        kind = "subscribe" if self.protocol == TRANSPORT_WS else "start"
        payload = {"query": query, "variables": variables or {}}
        await self.send({"id": op_id, "type": kind, "payload": payload})

    async def next_data(self) -> dict[str, Any]:
        """The data of the next result; fails on an error."""
        message = await self.receive()
        assert message["type"] in ("next", "data"), message
        assert not message["payload"].get("errors"), message
        data: dict[str, Any] = message["payload"]["data"]
        return data


@contextlib.asynccontextmanager
async def subscriber(
    server: str, key: str | None, protocol: str = TRANSPORT_WS
) -> AsyncIterator[Subscriber]:
    async with connect(f"ws://{server}/graphql", subprotocols=[Subprotocol(protocol)]) as socket:
        client = Subscriber(socket, protocol)
        if key is not None:
            ack = await client.init({"Authorization": f"Bearer {key}"})
            assert ack["type"] == "connection_ack", ack
        yield client


USAGE_TRACKED = """
subscription Usage($after: ID, $filter: UsageFilterInput) {
  usageTracked(after: $after, filter: $filter) {
    id eventId teamId inputTokens cost { amount value }
  }
}
"""


async def track_event(http: httpx.AsyncClient, key: str, **fields: Any) -> dict[str, Any]:
    """Tracks `event(**fields)` over REST; answers the stored event."""
    response = await http.post("/v1/track", headers=bearer(key), json=event(**fields))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body
