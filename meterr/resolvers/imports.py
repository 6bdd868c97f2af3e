"""Usage imported from a provider's own usage API: in import mode it becomes ordinary events,
priced by the catalogue and counted once however often a range is synced; in reconcile mode
it is kept aside, to be compared with what clients tracked."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict

from meterr.auth import Operation, Principal, Role
from meterr.domain import NotificationType, UsageEvent
from meterr.errors import InvalidInput, MeterrError, ProviderUnavailable
from meterr.importers import (
    ImportedUsage,
    ProviderAPIError,
    read_anthropic_usage,
    read_openai_usage,
)
from meterr.pricing import TokenUsage
from meterr.resolvers.alerts import watch_budgets
from meterr.resolvers.context import RequestContext, Services
from meterr.resolvers.messages import event_message
from meterr.resolvers.providers import credential_of, get_connection
from meterr.resolvers.timerange import parse_time_range, stored_instant
from meterr.resolvers.tracking import price_book, priced
from meterr.store import Connection

__all__ = ["SyncReport", "sync_connection", "sync_due_connections"]

log = logging.getLogger(__name__)

_MAX_SYNC_DAYS = 93

Reader = Callable[
    [httpx.AsyncClient, str, str, datetime, datetime, Mapping[str, Any]],
    AsyncIterator[ImportedUsage],
]


class SyncInput(BaseModel):
    """The whole days to import, first and last (YYYY-MM-DD)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start_date: str
    end_date: str


@dataclass(frozen=True, slots=True)
class SyncReport:
    """What one sync read and did: rows are (bucket, model, group) usage figures."""

    connection: Connection
    start: datetime
    end: datetime
    rows: int
    imported: int
    already_imported: int
    open_buckets: int  # not yet complete at the provider: imported once they close


def _row_id(connection: Connection, row: ImportedUsage) -> str:
    group = ",".join(f"{k}={v}" for k, v in sorted(row.group.items()))
    raw = f"{connection.id}|{row.start.isoformat()}|{row.model}|{group}"
    return "imp_" + hashlib.blake2b(raw.encode(), digest_size=12).hexdigest()


def _event(connection: Connection, row: ImportedUsage, now: datetime) -> UsageEvent:
    metadata = {
        "source": "import",
        "connection_id": connection.id,
        "provider_requests": row.requests,
        "long_context": row.long_context,
        **row.group,
    }
    tokens = TokenUsage(
        input_tokens=row.input_tokens,
        output_tokens=row.output_tokens,
        cached_input_tokens=row.cached_input_tokens,
        cache_write_tokens=row.cache_write_tokens,
    )
    event_id = _row_id(connection, row)
    figures = [row.input_tokens, row.output_tokens, row.cached_input_tokens, row.cache_write_tokens]
    body = json.dumps([event_id, row.model, *figures])
    return UsageEvent(
        id=f"evt_{event_id.removeprefix('imp_')}",
        org_id=connection.org_id,
        event_id=event_id,
        fingerprint=hashlib.sha256(body.encode()).hexdigest(),
        timestamp=row.start,
        received_at=now,
        provider=connection.provider,
        model=row.model,
        endpoint=None,
        team_id=None,
        user_id=None,
        api_key_id=connection.id,
        metadata=metadata,
        tokens=tokens,
        cost=None,
        price=None,
        # The provider's count of calls; Anthropic's report gives none, so a row is one.
        requests=row.requests or 1,
    )


def _reader(ctx: RequestContext, connection: Connection) -> tuple[Reader, str]:
    settings = ctx.services.settings
    if connection.provider == "openai":
        return read_openai_usage, settings.openai_api_base
    return read_anthropic_usage, settings.anthropic_api_base


async def sync_connection(ctx: RequestContext, connection_id: str, data: SyncInput) -> SyncReport:
    """Read the connection's usage for a range of whole days and import (or keep aside)
    every complete bucket."""
    ctx.principal.require(Operation.MANAGE)
    connection = await get_connection(ctx, connection_id)
    now = stored_instant(ctx.now())
    time_range = parse_time_range(data.start_date, data.end_date, None, now=now)
    if time_range.end - time_range.start > timedelta(days=_MAX_SYNC_DAYS):
        raise InvalidInput(
            f"A sync covers at most {_MAX_SYNC_DAYS} days.",
            {"fields": {"end_date": f"at most {_MAX_SYNC_DAYS} days after start_date"}},
        )
    read, base_url = _reader(ctx, connection)
    rows: list[ImportedUsage] = []
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            async for row in read(
                http,
                base_url,
                credential_of(ctx, connection),
                time_range.start,
                time_range.end,
                connection.options,
            ):
                rows.append(row)
    except ProviderAPIError as exc:
        await ctx.store.connections.record_sync(ctx.org_id, connection.id, now, error=str(exc))
        raise ProviderUnavailable(
            f"{connection.provider} refused the usage import: {exc.message}",
            {"provider": connection.provider, "status": exc.status},
        ) from None
    complete = [row for row in rows if row.end <= now]
    imported = already = 0
    if connection.mode == "import":
        imported, already = await _import(ctx, connection, complete, now)
    else:
        kept = [_aside(connection, row) for row in complete]
        imported = await ctx.store.connections.keep_aside(ctx.org_id, connection.id, kept)
        already = len(kept) - imported
    await ctx.store.connections.record_sync(ctx.org_id, connection.id, now, error=None)
    return SyncReport(
        connection=await get_connection(ctx, connection.id),
        start=time_range.start,
        end=time_range.end,
        rows=len(rows),
        imported=imported,
        already_imported=already,
        open_buckets=len(rows) - len(complete),
    )


async def _import(
    ctx: RequestContext, connection: Connection, rows: list[ImportedUsage], now: datetime
) -> tuple[int, int]:
    """Store the rows as events (one per row, priced now); rows stored before count once."""
    if not rows:
        return 0, 0
    book = await price_book(ctx.services, ctx.org_id)
    events = [priced(_event(connection, row, now), book) for row in rows]
    outcome = await ctx.store.writer.write(events)
    await ctx.services.bus.publish(
        ctx.org_id,
        NotificationType.USAGE_TRACKED,
        [event_message(event) for event in outcome.inserted],
    )
    await watch_budgets(ctx, outcome.inserted)
    return len(outcome.inserted), len(outcome.duplicate_event_ids)


def _aside(connection: Connection, row: ImportedUsage) -> dict[str, object]:
    return {
        "_id": _row_id(connection, row),
        "provider": connection.provider,
        "start": row.start,
        "end": row.end,
        "model": row.model,
        "input_tokens": row.input_tokens,
        "output_tokens": row.output_tokens,
        "cached_input_tokens": row.cached_input_tokens,
        "cache_write_tokens": row.cache_write_tokens,
        "requests": row.requests,
        "long_context": row.long_context,
        "group": row.group,
    }


async def sync_due_connections(services: Services, stop: asyncio.Event) -> None:
    """The scheduled imports: each connection, when due, imports the last two days (the
    day that closed and the one still open), once every `provider_sync_interval`."""
    interval = timedelta(seconds=services.settings.provider_sync_interval)
    pause = min(5.0, services.settings.provider_sync_interval)
    while not stop.is_set():
        try:
            synced = await _sync_next_due(services, interval)
        except Exception:
            log.exception("Scheduled usage import failed; trying again.")
            synced = False
        if not synced:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)


async def _sync_next_due(services: Services, interval: timedelta) -> bool:
    """Import the most overdue connection's last two days; False when none was due."""
    now = services.clock.now()
    connection = await services.store.connections.claim_due_across_tenants(now, now + interval)
    if connection is None:
        return False
    organization = await services.store.organizations.organization(connection.org_id)
    if organization is None:
        return True
    scheduler = Principal(
        organization.id, organization.name, organization.tier, "scheduler", Role.ADMIN
    )
    today = now.date()
    days = SyncInput(start_date=(today - timedelta(days=1)).isoformat(), end_date=today.isoformat())
    try:
        await sync_connection(RequestContext(scheduler, services), connection.id, days)
    except MeterrError as exc:  # recorded on the connection; the next round tries again
        log.warning("Scheduled import of %s failed: %s", connection.id, exc.message)
    return True
