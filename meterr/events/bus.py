"""Live fan-out of stored events over broadcaster (memory:// or redis://)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from broadcaster import Broadcast
from broadcaster._base import Unsubscribed

__all__ = ["EventBus", "org_channel"]


def org_channel(org_id: str) -> str:
    return f"meterr.org.{org_id}"


class EventBus:
    """Carries the news of events; pub/sub is at-most-once, the store is the truth."""

    def __init__(self, url: str) -> None:
        self._broadcast = Broadcast(url)

    async def connect(self) -> None:
        await self._broadcast.connect()

    async def disconnect(self) -> None:
        await self._broadcast.disconnect()

    async def publish(self, org_id: str, event_type: str, payload: Mapping[str, Any]) -> None:
        message = json.dumps({"type": event_type, "org_id": org_id, "data": payload})
        await self._broadcast.publish(channel=org_channel(org_id), message=message)

    @asynccontextmanager
    async def subscribe(self, org_id: str) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        async with self._broadcast.subscribe(channel=org_channel(org_id)) as subscriber:

            async def messages() -> AsyncIterator[dict[str, Any]]:
                while True:
                    try:
                        event = await subscriber.get()
                    except Unsubscribed:
                        return
                    decoded: dict[str, Any] = json.loads(event.message)
                    yield decoded

            yield messages()
