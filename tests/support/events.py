"""Usage events the tests send and store."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from meterr.domain import UsageEvent
from meterr.pricing import TokenUsage

__all__ = ["EVENT", "MIXED_EVENTS", "event", "usage_event"]

EVENT = {"provider": "openai", "model": "gpt-4o", "input_tokens": 1000, "output_tokens": 0}

# Every provider of the documentation, each kind of token, a sub-cent event and an unpriced one,
# priced from the catalogue (USD per 1M tokens): gpt-4 30/60, gpt-4-turbo 10/30, o1 15/60
# (cached 7.50), claude-3-opus 15/75, gemini-pro 0.50/1.50, mistral-large 2/6 (2025),
# command-r-plus 2.50/10 (2025), command-r7b 0.0375/0.15.
MIXED_EVENTS: list[dict[str, Any]] = [
    # 1500 * 30 + 500 * 60 = 0.045 + 0.03 = 0.075
    {
        "provider": "openai",
        "model": "gpt-4",
        "input_tokens": 1500,
        "output_tokens": 500,
        "endpoint": "/v1/chat/completions",
        "metadata": {"user_id": "user_123", "session": "c1"},
        "timestamp": "2025-08-05T10:00:00Z",
        "event_id": "mixed-1",
    },
    # 2000 * 15 + 800 * 75 = 0.03 + 0.06 = 0.09
    {
        "provider": "anthropic",
        "model": "claude-3-opus",
        "input_tokens": 2000,
        "output_tokens": 800,
        "endpoint": "/v1/messages",
        "metadata": {"user_id": "user_123", "purpose": "analysis"},
        "timestamp": "2025-08-05T11:00:00Z",
        "event_id": "mixed-2",
    },
    # 1200 * 0.50 + 600 * 1.50 = 0.0006 + 0.0009 = 0.0015
    {
        "provider": "google",
        "model": "gemini-pro",
        "input_tokens": 1200,
        "output_tokens": 600,
        "timestamp": "2025-08-06T12:00:00Z",
        "event_id": "mixed-3",
    },
    # 1800 * 10 + 700 * 30 = 0.018 + 0.021 = 0.039
    {
        "provider": "azure",
        "model": "gpt-4-turbo",
        "input_tokens": 1800,
        "output_tokens": 700,
        "metadata": {"deployment": "production"},
        "timestamp": "2025-08-07T13:00:00Z",
        "event_id": "mixed-4",
    },
    # 900 * 2 + 400 * 6 = 0.0018 + 0.0024 = 0.0042
    {
        "provider": "mistral",
        "model": "mistral-large",
        "input_tokens": 900,
        "output_tokens": 400,
        "team_id": "engineering",
        "timestamp": "2025-08-08T14:00:00Z",
        "event_id": "mixed-5",
    },
    # 1100 * 2.50 + 550 * 10 = 0.00275 + 0.0055 = 0.00825
    {
        "provider": "cohere",
        "model": "command-r-plus",
        "input_tokens": 1100,
        "output_tokens": 550,
        "timestamp": "2025-08-09T15:00:00Z",
        "event_id": "mixed-6",
    },
    # 6000 * 15 + 4000 * 7.50 + 1000 * 60 + 2000 * 60 = 0.09 + 0.03 + 0.06 + 0.12 = 0.30
    {
        "provider": "openai",
        "model": "o1",
        "input_tokens": 10_000,
        "cached_input_tokens": 4000,
        "output_tokens": 3000,
        "reasoning_tokens": 2000,
        "timestamp": "2025-08-10T16:00:00Z",
        "event_id": "mixed-7",
    },
    # 1001 * 0.0375 = 0.0000375375 -> 0.000037538; 333 * 0.15 = 0.00004995
    {
        "provider": "cohere",
        "model": "command-r7b",
        "input_tokens": 1001,
        "output_tokens": 333,
        "timestamp": "2025-08-11T17:00:00Z",
        "event_id": "mixed-8",
    },
    # No price: counted, unpriced.
    {
        "provider": "openai",
        "model": "in-house-llm",
        "input_tokens": 500,
        "output_tokens": 50,
        "timestamp": "2025-08-12T18:00:00Z",
        "event_id": "mixed-9",
    },
]


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
