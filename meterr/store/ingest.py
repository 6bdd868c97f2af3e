"""Group writes: the events of concurrent requests go to the store together."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from meterr.domain import UsageEvent
from meterr.store.events import EventStore, InsertOutcome
from meterr.store.rollups import RollupStore

__all__ = ["EventWriter"]


class EventWriter:
    """Writes events with their rollup increments, several requests per round trip.

    While one flush is at the store, new requests queue up; the next flush writes all of
    them with one insert_many and one bulk of rollup increments merged in memory. Under
    load that turns many small writes into a few large ones; alone, a request is written
    at once. Duplicates are caught by the unique event_id index and reported per request,
    and only the events actually inserted are rolled up.
    """

    def __init__(self, events: EventStore, rollups: RollupStore, max_events: int = 5000) -> None:
        self._events = events
        self._rollups = rollups
        self._max_events = max_events
        self._pending: list[tuple[Sequence[UsageEvent], asyncio.Future[InsertOutcome]]] = []
        self._drainer: asyncio.Task[None] | None = None

    async def write(self, events: Sequence[UsageEvent]) -> InsertOutcome:
        if not events:
            return InsertOutcome([], set())
        future: asyncio.Future[InsertOutcome] = asyncio.get_running_loop().create_future()
        self._pending.append((events, future))
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain())
        return await future

    async def close(self) -> None:
        """Finish what was queued."""
        if self._drainer is not None:
            await self._drainer

    def _take(self) -> list[tuple[Sequence[UsageEvent], asyncio.Future[InsertOutcome]]]:
        taken, size = 0, 0
        while taken < len(self._pending):
            size += len(self._pending[taken][0])
            taken += 1
            if size >= self._max_events:
                break
        group, self._pending = self._pending[:taken], self._pending[taken:]
        return group

    async def _drain(self) -> None:
        while self._pending:
            group = self._take()
            try:
                outcomes = await self._flush([events for events, _ in group])
            except BaseException as exc:
                for _, future in group:
                    if not future.done():
                        future.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
                continue
            for (_, future), outcome in zip(group, outcomes, strict=True):
                if not future.done():
                    future.set_result(outcome)

    async def _flush(self, requests: list[Sequence[UsageEvent]]) -> list[InsertOutcome]:
        flat = [event for events in requests for event in events]
        failed = await self._events.insert_all(flat)
        inserted = [event for index, event in enumerate(flat) if index not in failed]
        await self._rollups.apply(inserted)
        outcomes, offset = [], 0
        for events in requests:
            indexes = range(offset, offset + len(events))
            outcomes.append(
                InsertOutcome(
                    inserted=[flat[i] for i in indexes if i not in failed],
                    duplicate_event_ids={flat[i].event_id for i in indexes if i in failed},
                )
            )
            offset += len(events)
        return outcomes
