"""Usage events the tests send and store."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from meterr.domain import UsageEvent
from meterr.pricing import TokenUsage

__all__ = ["EVENT", "event", "usage_event"]

EVENT = {"provider": "openai", "model": "gpt-4o", "input_tokens": 1000, "output_tokens": 0}


def event(team_id: str = "team_123", input_tokens: int = 1000, **extra: Any) -> dict[str, Any]:
    """A gpt-4o call of a team, input tokens only."""
    return {
        "provider": "openai",
        "model": "gpt-4o",
        "input_tokens": input_tokens,
        "output_tokens": 0,
        "team_id": team_id,
        **extra,
    }


def usage_event(
    org_id: str, event_id: str, at: datetime, *, team_id: str | None = None
) -> UsageEvent:
    """A stored-event object as the writer receives it, 10 input and 1 output token."""
    return UsageEvent(
        id=f"evt_{event_id}",
        org_id=org_id,
        event_id=event_id,
        fingerprint="f",
        timestamp=at,
        received_at=at,
        provider="openai",
        model="gpt-4o",
        endpoint=None,
        team_id=team_id,
        user_id=None,
        api_key_id="key",
        metadata={},
        tokens=TokenUsage(input_tokens=10, output_tokens=1),
        cost=None,
        price=None,
    )
