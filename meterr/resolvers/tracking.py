"""Ingestion: validate, price, store once, roll up and announce usage events."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from meterr.auth import Operation
from meterr.domain import PriceUsed, UsageEvent
from meterr.errors import Forbidden, IdempotencyConflict, InvalidInput
from meterr.pricing import ModelPrice, PriceBook, TokenUsage, compute_cost, normalize_provider
from meterr.resolvers.alerts import watch_budgets
from meterr.resolvers.context import RequestContext, Services
from meterr.resolvers.inputs import TrackEventInput, validate_model
from meterr.resolvers.messages import event_message
from meterr.resolvers.notifications import USAGE_TRACKED, usage_tracked
from meterr.resolvers.reservations import check_reservations, settle
from meterr.resolvers.timerange import stored_instant
from meterr.store import AfterInsert, delivery_payload

__all__ = [
    "TrackedEvent",
    "Tracking",
    "organization_overrides",
    "price_book",
    "priced",
    "track_events",
]

MAX_FUTURE_SKEW = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class TrackedEvent:
    """A stored event and whether this request only replayed it."""

    event: UsageEvent
    replayed: bool


@dataclass(frozen=True, slots=True)
class Tracking:
    """What one track request stored, and the blocking budgets its events are over."""

    events: list[TrackedEvent]
    over_budget: list[str]


async def organization_overrides(services: Services, org_id: str) -> tuple[ModelPrice, ...]:
    overrides = services.overrides.get(org_id)
    if overrides is None:
        overrides = tuple(await services.store.price_overrides.list(org_id))
        services.overrides[org_id] = overrides
    return overrides


async def price_book(services: Services, org_id: str) -> PriceBook:
    return PriceBook(services.catalogue, await organization_overrides(services, org_id))


def _price_used(price: ModelPrice, input_tokens: int) -> PriceUsed:
    rates = price.rates_for(input_tokens)
    return PriceUsed(
        provider=price.provider,
        model=price.model,
        effective_from=price.effective_from,
        origin=price.origin,
        source=price.source,
        input=rates.input,
        output=rates.output,
        cached_input=rates.effective_cached_input,
        cache_write=rates.effective_cache_write,
        reasoning=rates.effective_reasoning,
        long_context=price.long_context is not None
        and input_tokens > price.long_context.above_input_tokens,
    )


def priced(event: UsageEvent, book: PriceBook) -> UsageEvent:
    """The event costed with the price in force at its timestamp, or unpriced."""
    price = book.lookup(event.provider, event.model, event.timestamp)
    if price is None:
        return replace(event, cost=None, price=None)
    prompt = _prompt_tokens(event)
    return replace(
        event,
        cost=compute_cost(event.tokens, price, prompt_tokens=prompt),
        price=_price_used(price, prompt),
    )


def _prompt_tokens(event: UsageEvent) -> int:
    """The prompt size that picks a long-context tier. An imported event sums many calls,
    so its tier is the one the provider reported (`metadata.long_context`), not its sum."""
    if event.metadata.get("source") == "import":
        return 10**12 if event.metadata.get("long_context") else 0
    return event.tokens.input_tokens


def _fingerprint(event: TrackEventInput) -> str:
    # The reservation a call settles is not part of what was used.
    body = event.model_dump(mode="json", exclude={"event_id", "reservation_id"}, exclude_none=True)
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _metadata_id(metadata: Mapping[str, Any] | None, key: str) -> str | None:
    value = (metadata or {}).get(key)
    if value is None:
        return None
    if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
        raise InvalidInput(
            f"metadata.{key} must be a non-empty string.",
            {"fields": {f"metadata.{key}": "must be a non-empty string"}},
        )
    return str(value)


def _build_event(
    ctx: RequestContext, item: TrackEventInput, where: str, now: datetime, book: PriceBook
) -> UsageEvent:
    tokens = TokenUsage(
        input_tokens=item.input_tokens,
        output_tokens=item.output_tokens,
        cached_input_tokens=item.cached_input_tokens,
        cache_write_tokens=item.cache_write_tokens,
        reasoning_tokens=item.reasoning_tokens,
    )
    problems = {f"{where}{name}": message for name, message in tokens.violations().items()}
    if item.timestamp is not None and item.timestamp > now + MAX_FUTURE_SKEW:
        problems[f"{where}timestamp"] = "more than 5 minutes in the future"
    if problems:
        raise InvalidInput(f"Invalid input: {', '.join(problems)}.", {"fields": problems})
    event = UsageEvent(
        id=f"evt_{secrets.token_hex(12)}",
        org_id=ctx.org_id,
        event_id=item.event_id or f"gen_{secrets.token_hex(12)}",
        fingerprint=_fingerprint(item),
        timestamp=stored_instant(item.timestamp) if item.timestamp is not None else now,
        received_at=now,
        provider=normalize_provider(item.provider),
        model=item.model,
        endpoint=item.endpoint,
        team_id=item.team_id or _metadata_id(item.metadata, "team_id") or ctx.principal.team_id,
        user_id=item.user_id or _metadata_id(item.metadata, "user_id"),
        api_key_id=ctx.principal.key_id,
        metadata=dict(item.metadata or {}),
        tokens=tokens,
        cost=None,
        price=None,
    )
    return priced(event, book)


def _validate(
    ctx: RequestContext,
    raw_events: Sequence[object],
    *,
    batch: bool,
    now: datetime,
    book: PriceBook,
) -> tuple[list[UsageEvent], list[str | None]]:
    """The events, and the reservation each one settles."""
    events: list[UsageEvent] = []
    reservations: list[str | None] = []
    problems: dict[str, str] = {}
    for index, raw in enumerate(raw_events):
        where = f"events[{index}]." if batch else ""
        try:
            item = validate_model(TrackEventInput, raw, prefix=where.rstrip("."))
            events.append(_build_event(ctx, item, where, now, book))
            reservations.append(item.reservation_id)
        except InvalidInput as exc:
            problems.update(exc.details.get("fields", {}))
    if problems:
        raise InvalidInput(f"Invalid input: {', '.join(problems)}.", {"fields": problems})
    seen: dict[str, int] = {}
    for index, event in enumerate(events):
        if event.event_id in seen:
            problems[f"events[{index}].event_id"] = (
                f"repeats the event_id of events[{seen[event.event_id]}]"
            )
        seen.setdefault(event.event_id, index)
    if problems:
        raise InvalidInput("Invalid input: repeated event_id in one batch.", {"fields": problems})
    return events, reservations


def _conflicts(events: Sequence[UsageEvent], stored: Sequence[UsageEvent]) -> list[str]:
    by_id = {event.event_id: event for event in stored}
    return [
        event.event_id
        for event in events
        if event.event_id in by_id and by_id[event.event_id].fingerprint != event.fingerprint
    ]


def _raise_conflict(event_ids: list[str]) -> None:
    raise IdempotencyConflict(
        "An event with this event_id was already stored with a different body.",
        {"event_ids": event_ids},
    )


async def track_events(
    ctx: RequestContext,
    raw_events: Sequence[object],
    *,
    batch: bool,
    idempotency_key: str | None = None,
) -> Tracking:
    """Store each event once: a replayed event_id answers the stored event, a batch is
    all or nothing."""
    ctx.principal.require(Operation.INGEST)
    with ctx.services.metrics.ingest_seconds.time():
        return await _track(ctx, raw_events, batch=batch, idempotency_key=idempotency_key)


async def _track(
    ctx: RequestContext,
    raw_events: Sequence[object],
    *,
    batch: bool,
    idempotency_key: str | None,
) -> Tracking:
    limit = ctx.services.settings.max_batch_events
    if batch and not 1 <= len(raw_events) <= limit:
        raise InvalidInput(
            f"A batch holds between 1 and {limit} events; this one has {len(raw_events)}.",
            {"fields": {"events": f"must hold 1 to {limit} events"}},
        )
    if idempotency_key is not None and not batch:
        raw = raw_events[0]
        if isinstance(raw, Mapping) and "event_id" not in raw:
            raw_events = [{**raw, "event_id": idempotency_key}]
    now = stored_instant(ctx.now())
    book = await price_book(ctx.services, ctx.org_id)
    events, reservations = _validate(ctx, raw_events, batch=batch, now=now, book=book)
    _check_team(ctx, events, batch=batch)
    await check_reservations(ctx, reservations, batch=batch)
    store = ctx.store

    if batch and len(events) > 1 and any(_has_event_id(raw) for raw in raw_events):
        # Refuse a conflicting batch before writing, so nothing of it is ever visible.
        known = await store.events.by_event_ids(ctx.org_id, [e.event_id for e in events])
        if conflicts := _conflicts(events, known):
            _raise_conflict(conflicts)

    new_ids = not any(_has_event_id(raw) for raw in raw_events)
    outcome = await store.writer.write(events, await _usage_deliveries(ctx), new_ids=new_ids)
    stored: dict[str, UsageEvent] = {}
    if outcome.duplicate_event_ids:
        existing = await store.events.by_event_ids(ctx.org_id, list(outcome.duplicate_event_ids))
        if conflicts := _conflicts(events, existing):
            await store.writer.retract(ctx.org_id, outcome.inserted)
            _raise_conflict(conflicts)
        stored = {event.event_id: event for event in existing}

    await ctx.services.bus.publish(
        ctx.org_id, USAGE_TRACKED, [event_message(event) for event in outcome.inserted]
    )
    if outcome.inserted and ctx.services.usage_webhooks.get(ctx.org_id):
        ctx.services.wake_dispatcher()
    inserted = {event.event_id: event for event in outcome.inserted}
    for event in outcome.inserted:
        ctx.services.metrics.events.labels(event.pricing_status.value).inc()
    tracked = [
        TrackedEvent(stored[event.event_id], True)
        if event.event_id in stored
        else TrackedEvent(inserted[event.event_id], False)
        for event in events
    ]
    await settle(ctx, reservations)
    over_budget = await watch_budgets(ctx, [item.event for item in tracked])
    return Tracking(tracked, over_budget)


def _check_team(ctx: RequestContext, events: Sequence[UsageEvent], *, batch: bool) -> None:
    """A team's key reports its own team's usage only."""
    team = ctx.team_scope
    if team is None:
        return
    others = {
        (f"events[{index}].team_id" if batch else "team_id"): str(event.team_id)
        for index, event in enumerate(events)
        if event.team_id != team
    }
    if others:
        raise Forbidden(
            f"This key reports usage of team {team} only.", {"team_id": team, "fields": others}
        )


async def _usage_deliveries(ctx: RequestContext) -> AfterInsert | None:
    """The webhook deliveries of `usage.tracked`, written with the events they announce,
    when the organization has endpoints for them."""
    services = ctx.services
    endpoint_ids = services.usage_webhooks.get(ctx.org_id)
    if endpoint_ids is None:
        endpoint_ids = tuple(await ctx.store.webhooks.subscribed(ctx.org_id, USAGE_TRACKED))
        services.usage_webhooks[ctx.org_id] = endpoint_ids
    if not endpoint_ids:
        return None

    def message(event: UsageEvent) -> tuple[str, datetime, dict[str, Any]]:
        return event.id, event.received_at, delivery_payload(usage_tracked(event))

    return ctx.store.webhooks.announce(ctx.org_id, endpoint_ids, USAGE_TRACKED, message)


def _has_event_id(raw: object) -> bool:
    return isinstance(raw, Mapping) and raw.get("event_id") is not None
