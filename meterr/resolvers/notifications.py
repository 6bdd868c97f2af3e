"""The organization's notifications (alerts and the like), newest first, with cursors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from meterr.auth import Operation
from meterr.domain import Notification
from meterr.errors import InvalidInput
from meterr.resolvers.context import RequestContext

__all__ = ["NOTIFICATION_TYPES", "NotificationsPage", "list_notifications"]

NOTIFICATION_TYPES = ("budget.threshold_reached", "usage.exceeded")
_MAX_PAGE = 1000


@dataclass(frozen=True, slots=True)
class NotificationsPage:
    notifications: list[Notification]
    next_cursor: str | None


def _seq_cursor(cursor: str) -> int:
    if not cursor.isdigit():
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
    unknown = sorted(set(types) - set(NOTIFICATION_TYPES))
    problems = {}
    if unknown:
        problems["type"] = (
            f"unknown type {', '.join(unknown)}; one of {', '.join(NOTIFICATION_TYPES)}"
        )
    if not 1 <= limit <= _MAX_PAGE:
        problems["limit"] = f"1 to {_MAX_PAGE}"
    if problems:
        raise InvalidInput(f"Invalid input: {', '.join(problems)}.", {"fields": problems})
    found = await ctx.store.notifications.page(
        ctx.org_id,
        types=types,
        before_seq=_seq_cursor(cursor) if cursor else None,
        limit=limit + 1,
    )
    page, more = found[:limit], len(found) > limit
    return NotificationsPage(page, str(page[-1].seq) if more else None)
