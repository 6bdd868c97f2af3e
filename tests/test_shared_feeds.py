"""Live work done once for all who listen: one computation per distinct feed (started by
the first listener, stopped by the last, restarted after a failure), one decoding per bus
message."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from meterr.events import EventBus
from meterr.resolvers.shared_feeds import SharedFeeds


class Source:
    """Counts what it was asked for; yields what a test puts in, or fails."""

    def __init__(self) -> None:
        self.started = 0
        self.stopped = 0
        self.values: asyncio.Queue[int | Exception] = asyncio.Queue()

    async def run(self) -> AsyncIterator[int]:
        self.started += 1
        try:
            while True:
                value = await self.values.get()
                if isinstance(value, Exception):
                    raise value
                yield value
        finally:
            self.stopped += 1


async def test_listeners_share_one_source_and_a_slow_one_gets_the_latest() -> None:
    feeds, source = SharedFeeds(), Source()
    async with feeds.join("k", source.run) as first, feeds.join("k", source.run) as second:
        source.values.put_nowait(1)
        assert (await anext(first), await anext(second)) == (1, 1)
        for value in (2, 3, 4):
            source.values.put_nowait(value)
            assert await anext(first) == value
        assert await anext(second) == 4, "no queue of stale answers"
        assert (source.started, feeds.running()) == (1, 1)
        async with feeds.join("k", source.run) as late:
            assert await anext(late) == 4, "a late listener gets the current answer at once"
    await asyncio.sleep(0)
    assert (source.stopped, feeds.running()) == (1, 0)


async def test_a_failure_reaches_every_listener_and_the_next_join_starts_afresh() -> None:
    feeds, source = SharedFeeds(), Source()
    async with feeds.join("k", source.run) as listener:
        source.values.put_nowait(1)
        assert await anext(listener) == 1
        source.values.put_nowait(RuntimeError("bus lost"))
        with pytest.raises(RuntimeError, match="bus lost"):
            await anext(listener)
        async with feeds.join("k", source.run) as fresh:
            source.values.put_nowait(7)
            assert await anext(fresh) == 7
        assert source.started == 2
    assert feeds.running() == 0


async def test_a_bus_message_is_decoded_once_for_all_the_feeds_of_its_organization() -> None:
    bus = EventBus("memory://")
    await bus.connect()
    decoded: list[dict[str, Any]] = []

    def decode(data: dict[str, Any]) -> str:
        decoded.append(data)
        return f"event {data['n']}"

    try:
        async with bus.subscribe("org_1") as first, bus.subscribe("org_1") as second:
            await bus.publish("org_1", "usage.tracked", [{"n": 1}, {"n": 2}])
            received = [
                [(await anext(feed)).decoded(decode) for _ in range(2)] for feed in (first, second)
            ]
    finally:
        await bus.disconnect()
    assert received == [["event 1", "event 2"]] * 2
    assert decoded == [{"n": 1}, {"n": 2}], "each message decoded once, not once per feed"
