"""Mutation.trackUsage: the event returned whole with its exact cost and the price it was
costed with, and a refused field named in an error on the mutation's path (gpt-4o 2.50/10 with
cached input 1.25 USD per 1M tokens)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import KeyFactory
from tests.support.graphql import (
    TRACK,
    costs_gql,
    error_of,
    key_total_tokens,
    track_gql,
    usd,
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
    assert event["cost"] == usd("0.04", 0.04)
    assert event["costBreakdown"] == {
        "input": usd("0.015", 0.015),
        "output": usd("0.02", 0.02),
        "cacheRead": usd("0.005", 0.005),
        "cacheWrite": usd("0", 0.0),
        "reasoning": usd("0", 0.0),
        "total": usd("0.04", 0.04),
    }
    assert event["pricingStatus"] == "PRICED"
    assert event["price"]["origin"] == "CATALOGUE"
    assert (event["price"]["input"], event["price"]["output"]) == ("2.5", "10")
    groups = await costs_gql(client, key, start="2025-01-20", end="2025-01-20")
    assert key_total_tokens(groups) == [
        {"key": "openai", "total": usd("0.04", 0.04), "tokens": 12_000}
    ]


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
    assert set(error["extensions"]["details"]["fields"]) == {"inputTokens"}
    assert error["message"] == "Invalid input: inputTokens."
    assert error["path"] == ["trackUsage"]


async def test_a_value_the_types_refuse_names_the_field_within_its_variable(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    error = await error_of(
        client,
        key,
        TRACK,
        {"input": {"provider": "openai", "model": "gpt-4", "inputTokens": 1.5}},
    )
    assert error["extensions"]["code"] == "invalid_input"
    assert set(error["extensions"]["details"]["fields"]) == {"input.inputTokens"}
