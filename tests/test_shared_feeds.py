"""One computation per distinct feed: started by the first listener, shared, stopped by the
last, restarted after a failure."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

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
