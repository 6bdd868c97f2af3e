"""Bulk loading of usage events from files: every good line stored, every bad one named."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from meterr.errors import InvalidInput
from meterr.resolvers.context import RequestContext
from meterr.resolvers.tracking import track_events
from meterr.usage_files import BatchRefused, LoadReport, load_in_batches

__all__ = ["import_usage"]


async def import_usage(
    ctx: RequestContext,
    rows: Sequence[tuple[int, Any]],
    progress: Callable[[int], None] | None = None,
) -> LoadReport:
    """Store (line, event) rows through the same rules as POST /v1/track."""

    async def send(events: list[Any]) -> list[bool]:
        try:
            tracking = await track_events(ctx, events, batch=True)
        except InvalidInput as exc:
            raise BatchRefused(dict(exc.details.get("fields") or {})) from exc
        return [item.replayed for item in tracking.events]

    return await load_in_batches(rows, send, progress)
