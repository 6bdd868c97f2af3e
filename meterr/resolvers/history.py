"""Drill-down into raw events, newest first, with opaque cursors."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime

from meterr.auth import Operation
from meterr.domain import UsageEvent, UsageFilter
from meterr.errors import InvalidInput, NotFound
from meterr.resolvers.context import RequestContext
from meterr.resolvers.inputs import parse_rfc3339
from meterr.resolvers.timerange import TimeRange
from meterr.strict_json import parse_json

__all__ = ["MAX_PAGE", "EventsPage", "event_cursor", "get_event", "list_events"]

MAX_PAGE = 1000


@dataclass(frozen=True, slots=True)
class EventsPage:
    events: list[UsageEvent]
    next_cursor: str | None


def _encode(after: tuple[datetime, str]) -> str:
    raw = json.dumps([after[0].isoformat(), after[1]]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        moment, event_id = parse_json(base64.urlsafe_b64decode(padded), field="cursor")
        if not isinstance(moment, str) or not isinstance(event_id, str):
            raise TypeError(moment)
        return parse_rfc3339(moment, field="cursor"), event_id
    except (ValueError, TypeError, binascii.Error, InvalidInput):
        raise InvalidInput(
            "cursor is not one this API returned.", {"fields": {"cursor": "invalid cursor"}}
        ) from None


def event_cursor(event: UsageEvent) -> str:
    """The cursor of the page of events that follows `event`."""
    return _encode((event.timestamp, event.id))


async def list_events(
    ctx: RequestContext,
    time_range: TimeRange,
    usage_filter: UsageFilter,
    *,
    limit: int = 100,
    cursor: str | None = None,
) -> EventsPage:
    ctx.principal.require(Operation.READ)
    usage_filter = ctx.confine(usage_filter)
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(
            f"limit must be between 1 and {MAX_PAGE}.", {"fields": {"limit": f"1 to {MAX_PAGE}"}}
        )
    page = await ctx.store.events.page(
        ctx.org_id,
        start=time_range.start,
        end=time_range.end,
        usage_filter=usage_filter,
        limit=limit,
        after=_decode(cursor) if cursor else None,
    )
    return EventsPage(page.events, _encode(page.next_after) if page.next_after else None)


async def get_event(ctx: RequestContext, event_id: str) -> UsageEvent:
    """One stored event by its id; another organization's events do not exist here."""
    ctx.principal.require(Operation.READ)
    event = await ctx.store.events.by_id(ctx.org_id, event_id)
    if event is None or (ctx.team_scope is not None and event.team_id != ctx.team_scope):
        raise NotFound(f"No usage event {event_id}.", {"id": event_id})
    return event
