"""Live fan-out of stored events over broadcaster (memory:// or redis://)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlparse

from broadcaster import Broadcast
from broadcaster._base import Unsubscribed

from meterr.events.pacing import Pacer
from meterr.events.redis_pubsub import RedisPubSubBackend

__all__ = ["BusMessage", "EventBus", "Feed", "FeedLost", "FeedOverflow", "org_channel"]

logger = logging.getLogger("meterr.events")

# Messages offered to a feed at once: the first feed of a distinct subscription renders them,
# so a part is a few milliseconds of work at most.
_OFFERED_AT_ONCE = 8


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
        try:
            value: T = self._decoded[decode]
        except KeyError:
            value = self._decoded[decode] = decode(self.data)
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
    FeedOverflow rather than holding more and more memory for a reader that does not read.

    A reader that can pass a message on at once may install a handler (`hand_on`): while
    nothing waits in the feed and the reader waits for the next message, each message goes
    to the handler as it is offered, in the bus listener's turn, and the reader is not woken.
    A handler that declines a message (answers False) leaves it, and every one after it, to
    the reader; once the reader has caught up and waits again, the handler has them again.
    Its `room` says whether the subscriber can take so many more (its own backlog counts
    against the bound).
    """

    def __init__(self, bound: int) -> None:
        self.bound = bound
        self._waiting: deque[BusMessage] = deque()
        self._ready = asyncio.Event()
        self._ended = asyncio.Event()
        self._overflowed = False
        self._lost: BaseException | None = None
        self._closed = False
        self._handler: Callable[[BusMessage], bool] | None = None
        self._room: Callable[[int], bool] | None = None
        self._reader_waits = False

    @property
    def overflowed(self) -> bool:
        return self._overflowed

    def hand_on(self, handler: Callable[[BusMessage], bool], room: Callable[[int], bool]) -> None:
        self._handler, self._room = handler, room

    def expect(self, count: int) -> None:
        """`count` messages are coming (a bus message's items, offered in parts): a
        subscriber that has no room for all of them now is too far behind, whatever the pace
        at which they are handed out."""
        if self._overflowed or self._closed:
            return
        if self._handed_on():
            assert self._room is not None
            if not self._room(count):
                self.overflow()
        elif len(self._waiting) + count > self.bound:
            self.overflow()

    def offer(self, messages: Sequence[BusMessage]) -> None:
        if self._overflowed or self._closed:
            return
        handler = self._handler
        if handler is not None and self._handed_on():
            handed = 0
            try:
                for message in messages:
                    if not handler(message):
                        break
                    handed += 1
            except Exception:  # the reader meets the message and fails where it can say so
                logger.exception("a live feed's handler failed; its reader takes over")
                self._handler = None
            messages = messages[handed:]
            if not messages:
                return
        if len(self._waiting) + len(messages) > self.bound:
            self.overflow()
            return
        self._waiting.extend(messages)
        self._reader_waits = False
        self._ready.set()

    def _handed_on(self) -> bool:
        return self._handler is not None and self._reader_waits and not self._waiting

    def overflow(self) -> None:
        """End the feed: its subscriber fell too far behind."""
        self._overflowed = True
        self._waiting.clear()
        self._ready.set()
        self._ended.set()

    def lose(self, cause: BaseException) -> None:
        self._lost = cause
        self._ready.set()
        self._ended.set()

    def close(self) -> None:
        """Take no more messages (the subscriber left)."""
        self._closed = True
        self._handler = None

    async def ended(self) -> None:
        """Wait until the feed overflows or loses its connection."""
        await self._ended.wait()

    def __aiter__(self) -> Feed:
        return self

    async def __anext__(self) -> BusMessage:
        while not self._waiting:
            if self._overflowed:
                raise FeedOverflow(self.bound)
            if self._lost is not None:
                raise FeedLost(str(self._lost)) from self._lost
            self._ready.clear()
            self._reader_waits = True
            try:
                await self._ready.wait()
            finally:
                self._reader_waits = False
        return self._waiting.popleft()


class EventBus:
    """Carries the news of stored events to live subscribers on every instance.

    Pub/sub is at-most-once: a message published while a subscriber is away is lost, so
    the store stays the truth and feeds fill gaps from it. Each instance holds one
    broadcaster subscription per organization and hands messages to its local feeds, in
    the turns of its `pacer`, which the websockets' senders share.
    """

    def __init__(self, url: str, feed_bound: int = 10_000) -> None:
        self.pacer = Pacer()
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
        await self.pacer.close()
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
            feed.close()
            feeds = self._feeds.get(org_id, set())
            feeds.discard(feed)
            if not feeds:
                self._feeds.pop(org_id, None)
                idle = self._listeners.pop(org_id, None)
                if idle is not None:
                    idle.cancel()

    async def _hand_out(self, feeds: list[Feed], messages: list[BusMessage]) -> None:
        """Offer the messages to each feed, a few at a time to every feed in turn, in the
        pacer's turns; a feed learns first how many are coming, so that a burst larger than
        its room overflows it whatever the pace."""
        if not feeds:
            return
        for feed in feeds:
            feed.expect(len(messages))
        await self.pacer.turn()
        started = time.perf_counter()
        for first in range(0, len(messages), _OFFERED_AT_ONCE):
            part = messages[first : first + _OFFERED_AT_ONCE]
            for feed in feeds:
                if time.perf_counter() - started >= self.pacer.slice:
                    self.pacer.spent(time.perf_counter() - started)
                    await self.pacer.turn()
                    started = time.perf_counter()
                feed.offer(part)
        self.pacer.spent(time.perf_counter() - started)

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
                    await self._hand_out(list(self._feeds.get(org_id, ())), messages)
        except Exception as exc:
            if self._listeners.get(org_id) is asyncio.current_task():
                del self._listeners[org_id]
            for feed in list(self._feeds.get(org_id, ())):
                feed.lose(exc)
            raise
