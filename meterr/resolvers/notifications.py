"""The organization's events as feeds and webhooks deliver them, newest first, with cursors:
its notifications (alerts), and its usage events as `usage.tracked`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from meterr.auth import Operation
from meterr.domain import Notification, NotificationType, UsageEvent
from meterr.errors import InvalidInput
from meterr.resolvers.context import RequestContext
from meterr.resolvers.messages import event_json

__all__ = [
    "MAX_NOTIFICATIONS_PAGE",
    "EVENT_TYPES",
    "NOTIFICATION_TYPES",
    "USAGE_TRACKED",
    "NotificationsPage",
    "list_notifications",
    "usage_tracked",
]

USAGE_TRACKED = NotificationType.USAGE_TRACKED
# The notifications stored one by one (tracked usage is the events themselves).
NOTIFICATION_TYPES = tuple(kind for kind in NotificationType if kind is not USAGE_TRACKED)
EVENT_TYPES = tuple(NotificationType)
MAX_NOTIFICATIONS_PAGE = 1000


@dataclass(frozen=True, slots=True)
class NotificationsPage:
    notifications: list[Notification]
    next_cursor: str | None


def _seq_cursor(cursor: str) -> int:
    # Sequence numbers are 64-bit integers written in ASCII digits (`isdigit` alone lets
    # through '²' and other digits that int() refuses).
    if not (cursor.isascii() and cursor.isdigit() and len(cursor) <= 18):
        raise InvalidInput(
            "cursor is not one this API returned.", {"fields": {"cursor": "invalid cursor"}}
        )
    return int(cursor)


async def list_notifications(
    ctx: RequestContext,
    *,
    types: Sequence[str] = (),
    limit: int = 100,
    cursor: str | None = None,
) -> NotificationsPage:
    ctx.principal.require(Operation.READ)
    unknown = sorted(set(types) - set(EVENT_TYPES))
    problems = {}
    if unknown:
        problems["type"] = f"unknown type {', '.join(unknown)}; one of {', '.join(EVENT_TYPES)}"
    elif USAGE_TRACKED in types and len(set(types)) > 1:
        problems["type"] = f"{USAGE_TRACKED} is listed on its own"
    if not 1 <= limit <= MAX_NOTIFICATIONS_PAGE:
        problems["limit"] = f"1 to {MAX_NOTIFICATIONS_PAGE}"
    if problems:
        raise InvalidInput(f"Invalid input: {', '.join(problems)}.", {"fields": problems})
    before = _seq_cursor(cursor) if cursor else None
    if USAGE_TRACKED in types:
        newest = await ctx.store.sequences.current(ctx.org_id, "usage")
        events = await ctx.store.events.before_seq(
            ctx.org_id, newest + 1 if before is None else before, limit + 1, team_id=ctx.team_scope
        )
        found = [usage_tracked(event) for event in events]
    else:
        found = await ctx.store.notifications.page(
            ctx.org_id, types=types, before_seq=before, limit=limit + 1, team_id=ctx.team_scope
        )
    page, more = found[:limit], len(found) > limit
    return NotificationsPage(page, str(page[-1].seq) if more else None)


def usage_tracked(event: UsageEvent) -> Notification:
    """A stored usage event as the `usage.tracked` event that announces it."""
    return Notification(
        id=event.id,
        org_id=event.org_id,
        type=USAGE_TRACKED,
        data=event_json(event),
        created_at=event.received_at,
        seq=event.seq or 0,
    )
