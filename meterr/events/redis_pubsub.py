"""A Redis pub/sub backend for broadcaster that starts listening only once subscribed.

broadcaster's own Redis backend wakes its listener before the first SUBSCRIBE has completed;
redis-py's `listen()` then finds no channel, returns at once, and the listener waits for a
subscription that already happened: no message ever arrives. Here the listener waits for a
completed subscription, reads with `get_message`, and outlives a dropped connection
(redis-py reconnects and subscribes again; what was published meanwhile is lost, as with
any pub/sub, and the feeds fill such gaps from the store).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from broadcaster import BroadcastBackend, Event
from redis import asyncio as redis
from redis.exceptions import ConnectionError as RedisConnectionError

__all__ = ["RedisPubSubBackend"]

log = logging.getLogger(__name__)


class RedisPubSubBackend(BroadcastBackend):
    def __init__(self, url: str) -> None:
        self._url = url
        self._queue: asyncio.Queue[Event] = asyncio.Queue()
        self._subscribed = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        self._conn = redis.Redis.from_url(self._url)
        self._pubsub = self._conn.pubsub(ignore_subscribe_messages=True)
        await self._conn.ping()  # fail at start-up, not at the first message
        self._listener = asyncio.create_task(self._listen())

    async def disconnect(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
        await self._pubsub.reset()
        await self._conn.aclose()

    async def subscribe(self, group: str) -> None:
        await self._pubsub.subscribe(group)
        self._subscribed.set()

    async def unsubscribe(self, group: str) -> None:
        await self._pubsub.unsubscribe(group)

    async def publish(self, channel: str, message: Any) -> None:
        await self._conn.publish(channel, message)

    async def next_published(self) -> Event:
        return await self._queue.get()

    async def _listen(self) -> None:
        while True:
            await self._subscribed.wait()
            if not self._pubsub.subscribed:
                self._subscribed.clear()
                continue
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except (RedisConnectionError, OSError):
                log.warning("Lost the Redis pub/sub connection; reconnecting.", exc_info=True)
                await asyncio.sleep(1.0)
                continue
            if message is not None and message["type"] == "message":
                await self._queue.put(
                    Event(channel=message["channel"].decode(), message=message["data"].decode())
                )
