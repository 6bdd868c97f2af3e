"""A subscriber's items in the order they were stored, each once: what the store holds
after where it resumes, then the live messages, with any gap between them read from the store.

Items carry their organization's sequence number, taken in the transaction that stores them,
so number n+1 is only committed once n is: what the store lacks when asked is gone for good
(a rolled-back request), not late.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from typing import Any, Generic, Protocol, TypeVar

from meterr.errors import FeedInterrupted, SubscriberTooSlow
from meterr.events import BusMessage, Feed, FeedLost, FeedOverflow

__all__ = ["Sink", "in_order"]

_REPLAY_PAGE = 500


class _Numbered(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def seq(self) -> int | None: ...


N = TypeVar("N", bound=_Numbered)
T = TypeVar("T")
T_contra = TypeVar("T_contra", contravariant=True)


class Sink(Protocol[T_contra]):
    """Where a subscriber's items go when they can be sent on at once (its websocket's queue),
    without waking the task that reads its feed."""

    @property
    def backlog(self) -> int:
        """Items taken and not yet written to the subscriber."""

    def take(self, value: T_contra) -> bool:
        """Send `value` on; False when it cannot, and the feed yields it instead."""

    async def drained(self, below: int) -> None:
        """Wait until the backlog is under `below`."""


class _Presented(Generic[N, T]):
    """`present(decode(data))`, as a key of `BusMessage.decoded`: one object for every
    subscriber presenting alike (`of`), so that each message is presented once for all of
    them, and found by identity, which is quicker than comparing."""

    _made: dict[tuple[Callable[..., Any], Callable[..., Any]], _Presented[Any, Any]] = {}

    def __init__(self, decode: Callable[[dict[str, Any]], N], present: Callable[[N], T]):
        self.decode = decode
        self.present = present

    @classmethod
    def of(
        cls, decode: Callable[[dict[str, Any]], N], present: Callable[[N], T]
    ) -> _Presented[N, T]:
        made: _Presented[N, T] | None = cls._made.get((decode, present))
        if made is None:
            made = cls._made[decode, present] = cls(decode, present)
        return made

    def __call__(self, data: dict[str, Any]) -> T:
        return self.present(self.decode(data))


class _Position:
    """The last number a subscriber was given, and its item's id (where it may resume)."""

    def __init__(self, last: int) -> None:
        self.last = last
        self.last_id: str | None = None

    def advance(self, seq: int, item_id: str) -> None:
        self.last, self.last_id = seq, item_id


async def _room(sink: Sink[Any], feed: Feed) -> None:
    """Wait until the subscriber's backlog is under the feed's bound; a feed that overflows
    meanwhile (it kept filling while the subscriber did not read) ends the wait, and the feed."""
    drained = asyncio.ensure_future(sink.drained(feed.bound))
    ended = asyncio.ensure_future(feed.ended())
    try:
        await asyncio.wait({drained, ended}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in (drained, ended):
            waiting.cancel()
    if feed.overflowed:
        raise FeedOverflow(feed.bound)


async def in_order(
    feed: Feed,
    message_types: Collection[str],
    last: int,
    read_after: Callable[[int, int], Awaitable[Sequence[N]]],
    decode: Callable[[dict[str, Any]], N],
    *,
    wanted: Callable[[N], bool],
    present: Callable[[N], T],
    sink: Sink[T] | None,
) -> AsyncIterator[T]:
    """The stored items numbered after `last`, then the live ones, each once and in order:
    those `wanted`, as `present` shows them, each taken by `sink` or else yielded.

    Once the stored items are given, live messages go to the sink as the bus hands them out
    (`Feed.hand_on`), and this loop only wakes for what the sink declined or for a gap."""
    position = _Position(last)
    presenting = _Presented.of(decode, present)

    async def stored_until(bound: int | None) -> AsyncIterator[N]:
        while True:
            page = await read_after(position.last, _REPLAY_PAGE)
            for item in page:
                seq = item.seq or 0
                if bound is not None and seq >= bound:
                    return
                position.advance(seq, item.id)
                yield item
            if len(page) < _REPLAY_PAGE:
                return

    async def taken(value: T) -> bool:
        if sink is None:
            return False
        if sink.backlog >= feed.bound:
            await _room(sink, feed)
        return sink.take(value)

    def hand_on(message: BusMessage) -> bool:
        """Pass a live message on at once; False leaves it to the loop below."""
        if message.type not in message_types:
            return True
        live = message.decoded(decode)
        seq = live.seq or 0
        if seq <= position.last:
            return True
        if seq > position.last + 1:  # a gap: the loop below reads the store
            return False
        assert sink is not None
        if wanted(live) and not sink.take(message.decoded(presenting)):
            return False
        position.last, position.last_id = seq, live.id
        return True

    try:
        async for item in stored_until(None):
            if wanted(item) and not await taken(value := present(item)):
                yield value
        if sink is not None:
            feed.hand_on(hand_on, lambda count: sink.backlog + count <= feed.bound)
        async for message in feed:
            if message.type not in message_types:
                continue
            live = message.decoded(decode)
            seq = live.seq or 0
            if seq <= position.last:
                continue
            if seq > position.last + 1:  # a message lost or overtaken: the store has them
                async for item in stored_until(seq):
                    if wanted(item) and not await taken(value := present(item)):
                        yield value
            position.advance(seq, live.id)
            if wanted(live) and not await taken(value := message.decoded(presenting)):
                yield value
    except FeedOverflow as exc:
        raise SubscriberTooSlow(
            f"This subscriber fell more than {exc.bound} messages behind and was closed; "
            "subscribe again with `after` to resume.",
            {"resume_after": position.last_id, "bound": exc.bound},
        ) from None
    except FeedLost:
        raise FeedInterrupted(
            "The live feed lost its broadcast connection; subscribe again with `after` to resume.",
            {"resume_after": position.last_id},
        ) from None
