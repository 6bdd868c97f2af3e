"""Mutation.trackUsage and trackUsageBatch: priced events returned whole, idempotent replays,
all-or-nothing batches, and fields refused by name (gpt-4 30/60, gpt-4o 2.50/10 with cached
input 1.25, gpt-4-turbo 10/30 USD per 1M tokens).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from tests.conftest import KeyFactory
from tests.support.graphql import (
    TRACK,
    TRACK_BATCH,
    as_input,
    costs_gql,
    data_of,
    error_of,
    key_total_tokens,
    track_batch_gql,
    track_gql,
)

JsonObject = dict[str, Any]


async def test_track_usage_prices_and_returns_the_event(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    tracked = await track_gql(
        client,
        key,
        {
            "provider": "OpenAI",
            "model": "gpt-4o",
            "input_tokens": 10_000,
            "cached_input_tokens": 4000,
            "output_tokens": 2000,
            "endpoint": "/v1/chat/completions",
            "metadata": {"user_id": "user_123", "session": "chat_456"},
            "timestamp": "2025-01-20T08:30:00Z",
            "team_id": "growth",
        },
    )
    assert tracked["replayed"] is False
    event = tracked["event"]
    # 6000 * 2.50 + 4000 * 1.25 + 2000 * 10 = 0.015 + 0.005 + 0.02 = 0.04
    assert event["provider"] == "openai"
    assert event["model"] == "gpt-4o"
    assert event["timestamp"] == "2025-01-20T08:30:00Z"
    assert (event["teamId"], event["userId"]) == ("growth", "user_123")
    assert event["metadata"] == {"user_id": "user_123", "session": "chat_456"}
    assert event["cost"] == 0.04
    assert Decimal(event["costExact"]) == Decimal("0.04")
    assert event["costBreakdown"] == {
        "input": 0.015,
        "output": 0.02,
        "cacheRead": 0.005,
        "cacheWrite": 0.0,
        "reasoning": 0.0,
        "total": 0.04,
        "totalExact": event["costBreakdown"]["totalExact"],
    }
    assert event["pricingStatus"] == "priced"
    assert event["price"]["origin"] == "catalogue"
    assert (event["price"]["input"], event["price"]["output"]) == ("2.50", "10.00")
    groups = await costs_gql(client, key, start="2025-01-20", end="2025-01-20")
    assert key_total_tokens(groups) == [{"key": "openai", "total": 0.04, "tokens": 12_000}]


async def test_track_usage_with_the_same_idempotency_key_replays(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    body = {
        "provider": "openai",
        "model": "gpt-4",
        "input_tokens": 1000,
        "timestamp": "2025-01-20T08:30:00Z",
    }
    variables = {"input": as_input(body), "idempotencyKey": "req-42"}
    first = (await data_of(client, key, TRACK, variables))["trackUsage"]
    again = (await data_of(client, key, TRACK, variables))["trackUsage"]
    assert (first["replayed"], again["replayed"]) == (False, True)
    assert again["event"]["id"] == first["event"]["id"]
    assert again["event"]["eventId"] == "req-42"
    groups = await costs_gql(client, key, start="2025-01-20", end="2025-01-20")
    assert key_total_tokens(groups) == [{"key": "openai", "total": 0.03, "tokens": 1000}]


async def test_track_usage_batch_is_all_or_nothing(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    good = {
        "provider": "openai",
        "model": "gpt-4",
        "input_tokens": 1000,
        "timestamp": "2025-01-21T08:00:00Z",
    }
    bad = {**good, "input_tokens": 10, "cached_input_tokens": 20}
    error = await error_of(client, key, TRACK_BATCH, {"events": [as_input(good), as_input(bad)]})
    assert error["extensions"]["code"] == "invalid_input"
    assert set(error["extensions"]["details"]["fields"]) == {"events[1].cached_input_tokens"}
    assert await costs_gql(client, key, start="2025-01-21", end="2025-01-21") == []

    tracked = await track_batch_gql(client, key, [good, {**good, "model": "gpt-4-turbo"}])
    assert [item["event"]["cost"] for item in tracked] == [0.03, 0.01]
    assert [item["replayed"] for item in tracked] == [False, False]


async def test_negative_tokens_are_invalid_input_naming_the_field(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    error = await error_of(
        client,
        key,
        TRACK,
        {"input": {"provider": "openai", "model": "gpt-4", "inputTokens": -5}},
    )
    assert error["extensions"]["code"] == "invalid_input"
    assert set(error["extensions"]["details"]["fields"]) == {"input_tokens"}
    assert error["path"] == ["trackUsage"]
