"""One computation per distinct live feed on an instance, however many subscribe to it.

A dashboard opened by a hundred people asks the same cost question a hundred times; the answer
is computed once per change and handed to every subscriber. Subscribers want the latest
answer, not every intermediate one, so a slow subscriber skips to the newest instead of
queueing old ones.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Hashable
from typing import Any, Generic, TypeVar

__all__ = ["FeedLimitReached", "SharedFeeds"]

T = TypeVar("T")


class FeedLimitReached(Exception):
    """An owner asked for one more distinct feed than it may run at once."""

    def __init__(self, bound: int) -> None:
        super().__init__(bound)
        self.bound = bound


class _Shared(Generic[T]):
    """A source run once, its latest value (or its failure) shown to each listener."""

    def __init__(self, source: AsyncIterator[T]) -> None:
        self._source = source
        self._changed = asyncio.Condition()
        self._latest: T | None = None
        self._version = 0
        self._failure: BaseException | None = None
        self.listeners = 0
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        try:
            async for value in self._source:
                async with self._changed:
                    self._latest, self._version = value, self._version + 1
                    self._changed.notify_all()
        except Exception as exc:  # handed to every listener, who raise it
            async with self._changed:
                self._failure = exc
                self._changed.notify_all()

    @property
    def failed(self) -> bool:
        return self._failure is not None

    async def listen(self) -> AsyncGenerator[T, None]:
        """The latest value, then each newer one (skipping those it was too slow for)."""
        seen = 0
        while True:
            async with self._changed:
                while self._version == seen and self._failure is None:
                    await self._changed.wait()
                if self._version == seen and self._failure is not None:
                    raise self._failure
                seen, value = self._version, self._latest
            assert value is not None
            yield value

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        aclose = getattr(self._source, "aclose", None)
        if aclose is not None:
            await aclose()


class SharedFeeds:
    """The live feeds of this instance, one per key (what the feed answers: organization,
    question, filters), each running while someone listens."""

    def __init__(self) -> None:
        self._feeds: dict[Hashable, _Shared[Any]] = {}

    def running(self) -> int:
        """How many distinct feeds run (each listened to by one subscriber or more)."""
        return len(self._feeds)

    def owned_by(self, owner: Hashable) -> int:
        """How many distinct feeds run for `owner` (the first part of their keys)."""
        return sum(1 for key in self._feeds if isinstance(key, tuple) and key[:1] == (owner,))

    @contextlib.asynccontextmanager
    async def join(
        self, key: Hashable, source: Callable[[], AsyncIterator[T]], *, bound: int | None = None
    ) -> AsyncIterator[AsyncIterator[T]]:
        """The feed for `key`, started from `source` by its first listener (or anew after a
        failure) and stopped when its last listener leaves. A key (owner, ...) starts no new
        feed while its owner already runs `bound` of them: joining one that runs is free,
        starting one more raises FeedLimitReached."""
        running: _Shared[T] | None = self._feeds.get(key)
        owner = key[0] if isinstance(key, tuple) and key else None
        if running is None and bound is not None and self.owned_by(owner) >= bound:
            raise FeedLimitReached(bound)
        shared = running if running is not None and not running.failed else _Shared(source())
        self._feeds[key] = shared
        shared.listeners += 1
        listening = shared.listen()
        try:
            yield listening
        finally:
            await listening.aclose()
            shared.listeners -= 1
            if shared.listeners == 0 and self._feeds.get(key) is shared:
                del self._feeds[key]
                await shared.stop()
