"""Conversion between usage events and their MongoDB documents."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from meterr.domain import PriceUsed, UsageEvent
from meterr.pricing import CostBreakdown, TokenUsage

__all__ = ["Document", "NameTaken", "event_from_document", "event_to_document", "hour_of"]

Document = dict[str, Any]

_RATE_FIELDS = ("input", "output", "cached_input", "cache_write", "reasoning")


class NameTaken(Exception):
    """Another record of the organization already has this name."""


def hour_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _price_to_document(price: PriceUsed) -> Document:
    doc: Document = {
        "provider": price.provider,
        "model": price.model,
        "effective_from": price.effective_from,
        "origin": price.origin,
        "source": price.source,
        "long_context": price.long_context,
    }
    # Rates are kept as strings: exact, and only ever read back, never summed.
    doc.update({name: str(getattr(price, name)) for name in _RATE_FIELDS})
    return doc


def _price_from_document(doc: Document) -> PriceUsed:
    return PriceUsed(
        provider=doc["provider"],
        model=doc["model"],
        effective_from=doc["effective_from"],
        origin=doc["origin"],
        source=doc["source"],
        long_context=doc.get("long_context", False),
        **{name: Decimal(doc[name]) for name in _RATE_FIELDS},
    )


def event_to_document(event: UsageEvent) -> Document:
    """Token and cost fields sit at the top level under the same names as in rollups,
    so that one $group stage sums raw events and rollups alike."""
    cost = event.cost.to_nano() if event.cost is not None else None
    return {
        "_id": event.id,
        "org_id": event.org_id,
        "event_id": event.event_id,
        "fingerprint": event.fingerprint,
        "ts": event.timestamp,
        "hour": hour_of(event.timestamp),
        "received_at": event.received_at,
        "provider": event.provider,
        "model": event.model,
        "endpoint": event.endpoint,
        "team_id": event.team_id,
        "user_id": event.user_id,
        "api_key_id": event.api_key_id,
        "metadata": event.metadata,
        "requests": event.requests,
        "input_tokens": event.tokens.input_tokens,
        "output_tokens": event.tokens.output_tokens,
        "cached_input_tokens": event.tokens.cached_input_tokens,
        "cache_write_tokens": event.tokens.cache_write_tokens,
        "reasoning_tokens": event.tokens.reasoning_tokens,
        "cost_nano": sum(cost.values()) if cost is not None else None,
        "cost_breakdown_nano": cost,
        "unpriced_requests": event.requests if cost is None else 0,
        "price": _price_to_document(event.price) if event.price is not None else None,
        "seq": event.seq,
    }


def event_from_document(doc: Document) -> UsageEvent:
    breakdown = doc.get("cost_breakdown_nano")
    price = doc.get("price")
    return UsageEvent(
        id=doc["_id"],
        org_id=doc["org_id"],
        event_id=doc["event_id"],
        fingerprint=doc["fingerprint"],
        timestamp=doc["ts"],
        received_at=doc["received_at"],
        provider=doc["provider"],
        model=doc["model"],
        endpoint=doc.get("endpoint"),
        team_id=doc.get("team_id"),
        user_id=doc.get("user_id"),
        api_key_id=doc["api_key_id"],
        metadata=doc.get("metadata") or {},
        tokens=TokenUsage(
            input_tokens=doc["input_tokens"],
            output_tokens=doc["output_tokens"],
            cached_input_tokens=doc["cached_input_tokens"],
            cache_write_tokens=doc["cache_write_tokens"],
            reasoning_tokens=doc["reasoning_tokens"],
        ),
        cost=CostBreakdown.from_nano(breakdown) if breakdown is not None else None,
        price=_price_from_document(price) if price is not None else None,
        seq=doc.get("seq"),
        requests=int(doc.get("requests", 1)),
    )
