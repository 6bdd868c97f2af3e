"""Live fan-out of stored events over broadcaster (memory:// or redis://)."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlparse

from broadcaster import Broadcast
from broadcaster._base import Unsubscribed

from meterr.events.redis_pubsub import RedisPubSubBackend

__all__ = ["BusMessage", "EventBus", "Feed", "FeedLost", "FeedOverflow", "org_channel"]


T = TypeVar("T")


def org_channel(org_id: str) -> str:
    return f"meterr.org.{org_id}"


@dataclass(frozen=True, slots=True)
class BusMessage:
    """One message of an organization's live news, handed to each of its local feeds."""

    type: str
    data: dict[str, Any]
    _decoded: dict[Callable[[dict[str, Any]], Any], Any] = field(
        default_factory=dict, compare=False, repr=False
    )

    def decoded(self, decode: Callable[[dict[str, Any]], T]) -> T:
        """`decode(data)`, worked out once however many feeds ask (the result is shared, so
        it must not be changed)."""
        if decode not in self._decoded:
            self._decoded[decode] = decode(self.data)
        value: T = self._decoded[decode]
        return value


class FeedOverflow(Exception):
    """The subscriber fell further behind than its feed holds."""

    def __init__(self, bound: int) -> None:
        super().__init__(f"more than {bound} messages waited for this subscriber")
        self.bound = bound


class FeedLost(Exception):
    """The connection to the broadcast backend was lost: live messages may be missing."""


class Feed:
    """One subscriber's messages, at most `bound` waiting: past that the feed ends with
    FeedOverflow rather than holding more and more memory for a reader that does not read."""

    def __init__(self, bound: int) -> None:
        self._bound = bound
        self._waiting: deque[BusMessage] = deque()
        self._ready = asyncio.Event()
        self._overflowed = False
        self._lost: BaseException | None = None

    def offer(self, messages: Sequence[BusMessage]) -> None:
        if self._overflowed:
            return
        if len(self._waiting) + len(messages) > self._bound:
            self._overflowed = True
            self._waiting.clear()
        else:
            self._waiting.extend(messages)
        self._ready.set()

    def lose(self, cause: BaseException) -> None:
        self._lost = cause
        self._ready.set()

    def __aiter__(self) -> Feed:
        return self

    async def __anext__(self) -> BusMessage:
        while not self._waiting:
            if self._overflowed:
                raise FeedOverflow(self._bound)
            if self._lost is not None:
                raise FeedLost(str(self._lost)) from self._lost
            self._ready.clear()
            await self._ready.wait()
        return self._waiting.popleft()


class EventBus:
    """Carries the news of stored events to live subscribers on every instance.

    Pub/sub is at-most-once: a message published while a subscriber is away is lost, so
    the store stays the truth and feeds fill gaps from it. Each instance holds one
    broadcaster subscription per organization and hands messages to its local feeds.
    """

    def __init__(self, url: str, feed_bound: int = 10_000) -> None:
        self._broadcast = (
            Broadcast(backend=RedisPubSubBackend(url))
            if urlparse(url).scheme in ("redis", "rediss")
            else Broadcast(url)
        )
        self._feed_bound = feed_bound
        self._feeds: dict[str, set[Feed]] = {}
        self._listeners: dict[str, asyncio.Task[None]] = {}

    @property
    def feed_count(self) -> int:
        """Live feeds open on this instance."""
        return sum(len(feeds) for feeds in self._feeds.values())

    async def connect(self) -> None:
        await self._broadcast.connect()

    async def disconnect(self) -> None:
        for task in list(self._listeners.values()):
            task.cancel()
        await asyncio.gather(*self._listeners.values(), return_exceptions=True)
        self._listeners.clear()
        await self._broadcast.disconnect()

    async def publish(
        self, org_id: str, event_type: str, items: Sequence[Mapping[str, Any]]
    ) -> None:
        """Announce stored items of one type, in one message however many there are."""
        if not items:
            return
        message = json.dumps({"type": event_type, "items": list(items)}, default=str)
        await self._broadcast.publish(channel=org_channel(org_id), message=message)

    @asynccontextmanager
    async def subscribe(self, org_id: str) -> AsyncIterator[Feed]:
        """A feed of the organization's messages from now on."""
        feed = Feed(self._feed_bound)
        self._feeds.setdefault(org_id, set()).add(feed)
        try:
            if org_id not in self._listeners:
                listening = asyncio.Event()
                listener = asyncio.create_task(self._listen(org_id, listening))
                self._listeners[org_id] = listener
                ready = asyncio.create_task(listening.wait())
                await asyncio.wait({listener, ready}, return_when=asyncio.FIRST_COMPLETED)
                if not listening.is_set():
                    ready.cancel()
                    self._listeners.pop(org_id, None)
                    listener.result()  # the reason it could not subscribe
            yield feed
        finally:
            feeds = self._feeds.get(org_id, set())
            feeds.discard(feed)
            if not feeds:
                self._feeds.pop(org_id, None)
                idle = self._listeners.pop(org_id, None)
                if idle is not None:
                    idle.cancel()

    async def _listen(self, org_id: str, listening: asyncio.Event) -> None:
        try:
            async with self._broadcast.subscribe(channel=org_channel(org_id)) as subscriber:
                listening.set()
                while True:
                    try:
                        event = await subscriber.get()
                    except Unsubscribed:
                        return
                    decoded = json.loads(event.message)
                    messages = [BusMessage(decoded["type"], item) for item in decoded["items"]]
                    for feed in list(self._feeds.get(org_id, ())):
                        feed.offer(messages)
        except Exception as exc:
            if self._listeners.get(org_id) is asyncio.current_task():
                del self._listeners[org_id]
            for feed in list(self._feeds.get(org_id, ())):
                feed.lose(exc)
            raise
