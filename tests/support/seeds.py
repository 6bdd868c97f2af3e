"""Organizations seeded with events whose costs are worked out by hand from catalogue prices
(USD per 1M tokens): gpt-4 30/60, gpt-4o 2.50/10, claude-3-opus 15/75 (from 2024-03-04),
gemini-pro 0.50/1.50, mistral-medium 2.70/8.10 (2024)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import KeyFactory
from tests.support.graphql import track_batch_gql
from tests.support.rest import track

__all__ = ["seed_dimensions_org", "seed_january"]

JsonObject = dict[str, Any]


async def seed_dimensions_org(client: httpx.AsyncClient, make_key: KeyFactory) -> JsonObject:
    """One organization, two keys (the second bound to team-key), five priced events."""
    org = "dimensions-org"
    key_a = await make_key(org=org)
    key_b = await make_key(org=org, team_id="team-key")
    # e1: gpt-4 1000 * 30 + 500 * 60 = 0.03 + 0.03 = 0.06 (Monday 3 March)
    e1 = await track(
        client,
        key_a,
        provider="openai",
        model="gpt-4",
        input_tokens=1000,
        output_tokens=500,
        team_id="alpha",
        user_id="u1",
        endpoint="/v1/chat/completions",
        metadata={"feature": "chat"},
        timestamp="2025-03-03T10:15:00Z",
    )
    # e2: gpt-4o 2000 * 2.50 + 1000 * 10 = 0.005 + 0.01 = 0.015 (Sunday 9 March);
    # team and user come from metadata.
    await track(
        client,
        key_a,
        provider="openai",
        model="gpt-4o",
        input_tokens=2000,
        output_tokens=1000,
        endpoint="/v1/chat/completions",
        metadata={"feature": "search", "team_id": "beta", "user_id": "u2"},
        timestamp="2025-03-09T23:00:00Z",
    )
    # e3: claude-3-opus 1000 * 15 + 1000 * 75 = 0.015 + 0.075 = 0.09 (Monday 10 March);
    # an explicit team wins over the key's team.
    e3 = await track(
        client,
        key_b,
        provider="anthropic",
        model="claude-3-opus",
        input_tokens=1000,
        output_tokens=1000,
        team_id="alpha",
        user_id="u2",
        endpoint="/v1/messages",
        timestamp="2025-03-10T08:00:00Z",
    )
    # e4: claude-3-opus 100 * 15 = 0.0015 (Tuesday 1 April), team from key_b.
    await track(
        client,
        key_b,
        provider="anthropic",
        model="claude-3-opus",
        input_tokens=100,
        timestamp="2025-04-01T00:00:00Z",
    )
    # e5: gemini-pro 10000 * 0.50 + 2000 * 1.50 = 0.005 + 0.003 = 0.008 (Wednesday 30 April);
    # no team, user or endpoint at all.
    await track(
        client,
        key_a,
        provider="google",
        model="gemini-pro",
        input_tokens=10_000,
        output_tokens=2000,
        timestamp="2025-04-30T23:59:59Z",
    )
    return {
        "key": key_a,
        "key_a_id": e1["api_key_id"],
        "key_b_id": e3["api_key_id"],
    }


async def seed_january(client: httpx.AsyncClient, make_key: KeyFactory) -> str:
    """Events in January 2024, plus one on 1 February."""
    key = await make_key()
    await track_batch_gql(
        client,
        key,
        [
            # 10000 * 30 + 5000 * 60 = 0.30 + 0.30 = 0.60
            {
                "provider": "openai",
                "model": "gpt-4",
                "input_tokens": 10_000,
                "output_tokens": 5000,
                "timestamp": "2024-01-15T12:00:00Z",
                "metadata": {"feature": "chat"},
            },
            # 100000 * 2.70 + 20000 * 8.10 = 0.27 + 0.162 = 0.432
            {
                "provider": "mistral",
                "model": "mistral-medium",
                "input_tokens": 100_000,
                "output_tokens": 20_000,
                "timestamp": "2024-01-31T23:59:59Z",
                "metadata": {"feature": "summaries"},
            },
            # claude-3-opus had no price before March 2024: counted, unpriced.
            {
                "provider": "anthropic",
                "model": "claude-3-opus",
                "input_tokens": 1000,
                "output_tokens": 100,
                "timestamp": "2024-01-02T00:00:00Z",
            },
            # Outside January.
            {
                "provider": "openai",
                "model": "gpt-4",
                "input_tokens": 1000,
                "timestamp": "2024-02-01T00:00:00Z",
            },
        ],
    )
    return key
