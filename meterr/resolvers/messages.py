"""Stored events and notifications as live messages (JSON), and back."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from meterr.domain import Notification, NotificationType, PriceUsed, UsageEvent
from meterr.pricing import CostBreakdown, TokenUsage
from meterr.wire import exact, exact_usd, instant, usd

__all__ = [
    "event_from_message",
    "event_json",
    "event_message",
    "notification_from_message",
    "notification_message",
]

_PRICE_RATES = ("input", "output", "cached_input", "cache_write", "reasoning")


def event_message(event: UsageEvent) -> dict[str, Any]:
    """Everything a subscriber needs to rebuild the stored event exactly."""
    tokens = event.tokens
    price = event.price
    return {
        "id": event.id,
        "org_id": event.org_id,
        "event_id": event.event_id,
        "fingerprint": event.fingerprint,
        "timestamp": event.timestamp.isoformat(),
        "received_at": event.received_at.isoformat(),
        "provider": event.provider,
        "model": event.model,
        "endpoint": event.endpoint,
        "team_id": event.team_id,
        "user_id": event.user_id,
        "api_key_id": event.api_key_id,
        "metadata": event.metadata,
        "tokens": [
            tokens.input_tokens,
            tokens.output_tokens,
            tokens.cached_input_tokens,
            tokens.cache_write_tokens,
            tokens.reasoning_tokens,
        ],
        "cost_nano": None if event.cost is None else event.cost.to_nano(),
        "price": None
        if price is None
        else {
            "provider": price.provider,
            "model": price.model,
            "effective_from": price.effective_from.isoformat(),
            "origin": price.origin,
            "source": price.source,
            "long_context": price.long_context,
            **{name: str(getattr(price, name)) for name in _PRICE_RATES},
        },
        "seq": event.seq,
    }


def event_from_message(message: dict[str, Any]) -> UsageEvent:
    price, cost = message["price"], message["cost_nano"]
    return UsageEvent(
        id=message["id"],
        org_id=message["org_id"],
        event_id=message["event_id"],
        fingerprint=message["fingerprint"],
        timestamp=datetime.fromisoformat(message["timestamp"]),
        received_at=datetime.fromisoformat(message["received_at"]),
        provider=message["provider"],
        model=message["model"],
        endpoint=message["endpoint"],
        team_id=message["team_id"],
        user_id=message["user_id"],
        api_key_id=message["api_key_id"],
        metadata=message["metadata"],
        tokens=TokenUsage(*message["tokens"]),
        cost=None if cost is None else CostBreakdown.from_nano(cost),
        price=None
        if price is None
        else PriceUsed(
            provider=price["provider"],
            model=price["model"],
            effective_from=datetime.fromisoformat(price["effective_from"]),
            origin=price["origin"],
            source=price["source"],
            long_context=price["long_context"],
            **{name: Decimal(price[name]) for name in _PRICE_RATES},
        ),
        seq=message["seq"],
    )


def notification_message(notification: Notification) -> dict[str, Any]:
    return {
        "id": notification.id,
        "org_id": notification.org_id,
        "type": notification.type,
        "data": notification.data,
        "created_at": notification.created_at.isoformat(),
        "seq": notification.seq,
    }


def notification_from_message(message: dict[str, Any]) -> Notification:
    return Notification(
        id=message["id"],
        org_id=message["org_id"],
        type=NotificationType(message["type"]),
        data=message["data"],
        created_at=datetime.fromisoformat(message["created_at"]),
        seq=message["seq"],
    )


def event_json(event: UsageEvent) -> dict[str, Any]:
    """A stored event as every JSON answer and message shows it: USD to 6 decimals."""
    cost = event.cost
    return {
        "id": event.id,
        "event_id": event.event_id,
        "timestamp": instant(event.timestamp),
        "provider": event.provider,
        "model": event.model,
        "endpoint": event.endpoint,
        "team_id": event.team_id,
        "user_id": event.user_id,
        "api_key_id": event.api_key_id,
        "metadata": event.metadata,
        "input_tokens": event.tokens.input_tokens,
        "output_tokens": event.tokens.output_tokens,
        "cached_input_tokens": event.tokens.cached_input_tokens,
        "cache_write_tokens": event.tokens.cache_write_tokens,
        "reasoning_tokens": event.tokens.reasoning_tokens,
        "cost": None if cost is None else usd(cost.total),
        "cost_exact": None if cost is None else exact_usd(cost.total),
        "currency": "USD",
        "cost_breakdown": None
        if cost is None
        else {
            "input": usd(cost.input),
            "output": usd(cost.output),
            "cache_read": usd(cost.cache_read),
            "cache_write": usd(cost.cache_write),
            "reasoning": usd(cost.reasoning),
        },
        "pricing_status": event.pricing_status.value,
        "price": None
        if event.price is None
        else {
            "provider": event.price.provider,
            "model": event.price.model,
            "effective_from": instant(event.price.effective_from),
            "origin": event.price.origin,
            "source": event.price.source,
            "long_context": event.price.long_context,
            "unit": "USD per 1M tokens",
            "input": exact(event.price.input),
            "output": exact(event.price.output),
            "cached_input": exact(event.price.cached_input),
            "cache_write": exact(event.price.cache_write),
            "reasoning": exact(event.price.reasoning),
        },
    }
