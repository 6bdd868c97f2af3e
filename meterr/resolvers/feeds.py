"""Live feeds: stored usage events, notifications and running cost totals as they change.

Live messages are only news (broadcaster is at-most-once); the store is the truth. Events and
notifications carry their organization's sequence number, so a feed resumes after the last
one a client saw by reading the store first, then follows the live messages, skipping what it
already gave and reading from the store any number it finds missing: no gap, no duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TypeVar

from meterr.auth import Operation
from meterr.domain import GroupBy, Notification, NotificationType, UsageEvent, UsageFilter
from meterr.errors import FeedInterrupted, NotFound, RateLimited
from meterr.events import BusMessage, FeedLost, FeedOverflow
from meterr.resolvers.context import RequestContext
from meterr.resolvers.costs import CostGroup, cost_groups
from meterr.resolvers.messages import event_from_message, notification_from_message
from meterr.resolvers.notifications import NOTIFICATION_TYPES
from meterr.resolvers.ordered import Sink, in_order
from meterr.resolvers.shared_feeds import FeedLimitReached
from meterr.resolvers.timerange import TimeRange

__all__ = ["COST_FEED_INTERVAL", "Sink", "cost_feed", "notification_feed", "usage_feed"]

# The least time between two updates of one cost feed, in seconds.
COST_FEED_INTERVAL = 0.25

T = TypeVar("T")


def _matches(event: UsageEvent, usage_filter: UsageFilter) -> bool:
    return all(
        getattr(event, field) in values for field, values in usage_filter.restrictions().items()
    )


def _everything(_event: UsageEvent) -> bool:
    return True


def _filtering(usage_filter: UsageFilter) -> Callable[[UsageEvent], bool]:
    restrictions = usage_filter.restrictions()
    if not restrictions:
        return _everything

    def wanted(event: UsageEvent) -> bool:
        return all(getattr(event, field) in values for field, values in restrictions.items())

    return wanted


async def usage_feed(
    ctx: RequestContext,
    usage_filter: UsageFilter,
    *,
    present: Callable[[UsageEvent], T],
    sink: Sink[T] | None = None,
    after: str | None = None,
) -> AsyncIterator[T]:
    """Each usage event as it is stored, as `present` shows it (once per live message for
    every subscriber on this instance); with `after` (an event id), first those stored since
    that one. With a `sink`, what it takes is not yielded."""
    ctx.principal.require(Operation.READ)
    usage_filter = ctx.confine(usage_filter)
    store = ctx.store
    start: int | None = None
    if after is not None:
        resumed = await store.events.by_id(ctx.org_id, after)
        if resumed is None:
            raise NotFound(f"No usage event {after} to resume after.", {"after": after})
        start = resumed.seq or 0
    async with ctx.services.bus.subscribe(ctx.org_id) as feed:
        if start is None:
            start = await store.sequences.current(ctx.org_id, "usage")

        async def read_after(seq: int, limit: int) -> list[UsageEvent]:
            until = await store.sequences.current(ctx.org_id, "usage") + 1
            return await store.events.after_seq(ctx.org_id, seq, limit, until=until)

        async for value in in_order(
            feed,
            {NotificationType.USAGE_TRACKED},
            start,
            read_after,
            event_from_message,
            wanted=_filtering(usage_filter),
            present=present,
            sink=sink,
        ):
            yield value


async def notification_feed(
    ctx: RequestContext,
    *,
    present: Callable[[Notification], T],
    sink: Sink[T] | None = None,
    types: Sequence[str] = (),
    data: dict[str, str] | None = None,
    after: str | None = None,
) -> AsyncIterator[T]:
    """Each notification of `types` as it is stored, those whose data hold every item of
    `data`, as `present` shows them; with `after` (a notification id), first those stored
    since that one. With a `sink`, what it takes is not yielded."""
    ctx.principal.require(Operation.READ)
    store = ctx.store
    start: int | None = None
    if after is not None:
        start = await store.notifications.seq_of(ctx.org_id, after)
        if start is None:
            raise NotFound(f"No notification {after} to resume after.", {"after": after})
    wanted_data = dict(data or {})
    if ctx.team_scope is not None:
        wanted_data["team_id"] = ctx.team_scope  # a team's keys hear of its own budgets only

    def wanted(notification: Notification) -> bool:
        if types and notification.type not in types:
            return False
        return all(notification.data.get(key) == value for key, value in wanted_data.items())

    async with ctx.services.bus.subscribe(ctx.org_id) as feed:
        if start is None:
            start = await store.sequences.current(ctx.org_id, "notifications")

        async def read_after(seq: int, limit: int) -> list[Notification]:
            return await store.notifications.page(
                ctx.org_id, after_seq=seq, limit=limit, newest_first=False
            )

        async for value in in_order(
            feed,
            NOTIFICATION_TYPES,
            start,
            read_after,
            notification_from_message,
            wanted=wanted,
            present=present,
            sink=sink,
        ):
            yield value


def _moves(message: BusMessage, time_range: TimeRange, usage_filter: UsageFilter) -> bool:
    if message.type != NotificationType.USAGE_TRACKED:
        return False
    event = message.decoded(event_from_message)
    return time_range.start <= event.timestamp < time_range.end and _matches(event, usage_filter)


async def cost_feed(
    ctx: RequestContext, time_range: TimeRange, group_by: GroupBy, usage_filter: UsageFilter
) -> AsyncIterator[list[CostGroup]]:
    """The cost query's answer now, then again each time it changes, at most every
    COST_FEED_INTERVAL seconds. Subscribers asking the same question of the same
    organization share one computation on this instance."""
    ctx.principal.require(Operation.READ)
    usage_filter = ctx.confine(usage_filter)
    key = (ctx.org_id, "costs", time_range, group_by, usage_filter)
    bound = ctx.services.settings.cost_feeds_per_organization
    try:
        joined = ctx.services.cost_feeds.join(
            key, lambda: _cost_updates(ctx, time_range, group_by, usage_filter), bound=bound
        )
        async with joined as updates:
            async for groups in updates:
                yield groups
    except FeedLimitReached:
        raise RateLimited(
            f"This organization already follows {bound} distinct cost feeds; join one of "
            "them (the same question answers every subscriber at no cost) or end one first.",
            retry_after=60,
            details={"reason": "cost_feeds", "limit": bound},
        ) from None


async def _cost_updates(
    ctx: RequestContext, time_range: TimeRange, group_by: GroupBy, usage_filter: UsageFilter
) -> AsyncIterator[list[CostGroup]]:
    async def answer() -> list[CostGroup]:
        ctx.services.metrics.cost_feed_queries.inc()
        return await cost_groups(ctx, time_range, group_by, usage_filter)

    async with ctx.services.bus.subscribe(ctx.org_id) as feed:
        changed = asyncio.Event()

        async def watch() -> None:
            async for message in feed:
                if _moves(message, time_range, usage_filter):
                    changed.set()

        watcher = asyncio.create_task(watch())
        try:
            previous = await answer()
            yield previous
            while True:
                await _until(changed, watcher)
                changed.clear()
                current = await answer()
                if current != previous:
                    previous = current
                    yield current
                await asyncio.sleep(COST_FEED_INTERVAL)
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, FeedLost, FeedOverflow):
                await watcher


async def _until(changed: asyncio.Event, watcher: asyncio.Task[None]) -> None:
    """Wait for a change; end the feed if the live messages stopped coming."""
    waiting = asyncio.create_task(changed.wait())
    try:
        await asyncio.wait({waiting, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiting.cancel()
    if not changed.is_set() and watcher.done():
        raise FeedInterrupted(
            "The live feed lost its broadcast connection; subscribe again.", {}
        ) from watcher.exception()
