"""Usage through both doors: totals over a period with a per-provider breakdown (o1 15/60,
cached 7.50; claude-3-opus 15/75 USD per 1M tokens)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import KeyFactory
from tests.support.doors import Door
from tests.support.rest import track_batch

JsonObject = dict[str, Any]


async def test_usage_reports_totals_with_a_per_provider_breakdown(
    client: httpx.AsyncClient, make_key: KeyFactory, door: Door
) -> None:
    key = await make_key()
    await track_batch(
        client,
        key,
        [
            # o1: 6000 uncached * 15 + 4000 cached * 7.50 + 1000 visible output * 60
            # + 2000 reasoning * 60 = 0.09 + 0.03 + 0.06 + 0.12 = 0.30
            {
                "provider": "openai",
                "model": "o1",
                "input_tokens": 10_000,
                "cached_input_tokens": 4000,
                "output_tokens": 3000,
                "reasoning_tokens": 2000,
                "timestamp": "2025-06-03T08:00:00Z",
            },
            # Unknown model: counted, not priced.
            {
                "provider": "openai",
                "model": "in-house-llm",
                "input_tokens": 500,
                "output_tokens": 50,
                "timestamp": "2025-06-03T09:00:00Z",
            },
            # claude-3-opus: 1000 * 15 + 200 * 75 = 0.015 + 0.015 = 0.03
            {
                "provider": "anthropic",
                "model": "claude-3-opus",
                "input_tokens": 1000,
                "output_tokens": 200,
                "timestamp": "2025-06-30T23:59:59Z",
            },
            # Outside June.
            {
                "provider": "anthropic",
                "model": "claude-3-opus",
                "input_tokens": 1000,
                "timestamp": "2025-07-01T00:00:00Z",
            },
        ],
    )
    body = (await door.usage(key, start_date="2025-06-01", end_date="2025-06-30")).value()
    assert body == {
        "start": "2025-06-01T00:00:00Z",
        "end": "2025-07-01T00:00:00Z",
        "requests": 3,
        "input_tokens": 11_500,
        "output_tokens": 3250,
        "cached_input_tokens": 4000,
        "cache_write_tokens": 0,
        "reasoning_tokens": 2000,
        "tokens": 14_750,
        "cost": 0.33,
        "unpriced_requests": 1,
        "providers": {
            "openai": {
                "requests": 2,
                "input_tokens": 10_500,
                "output_tokens": 3050,
                "cached_input_tokens": 4000,
                "cache_write_tokens": 0,
                "reasoning_tokens": 2000,
                "tokens": 13_550,
                "cost": 0.3,
                "unpriced_requests": 1,
            },
            "anthropic": {
                "requests": 1,
                "input_tokens": 1000,
                "output_tokens": 200,
                "cached_input_tokens": 0,
                "cache_write_tokens": 0,
                "reasoning_tokens": 0,
                "tokens": 1200,
                "cost": 0.03,
                "unpriced_requests": 0,
            },
        },
    }
    answer = await door.usage(
        key, start_date="2025-06-01", end_date="2025-06-30", provider="anthropic"
    )
    filtered = answer.value()
    assert filtered["requests"] == 1
    assert filtered["cost"] == 0.03
    assert list(filtered["providers"]) == ["anthropic"]


async def test_usage_of_an_empty_period_is_all_zeros(door: Door, make_key: KeyFactory) -> None:
    key = await make_key()
    answer = await door.usage(
        key, start_date="2025-06-01", end_date="2025-06-01", tz="Asia/Kolkata"
    )
    body = answer.value()
    assert body == {
        "start": "2025-05-31T18:30:00Z",
        "end": "2025-06-01T18:30:00Z",
        "requests": 0,
        "input_tokens": 0,
        "output_tokens": 0,
        "cached_input_tokens": 0,
        "cache_write_tokens": 0,
        "reasoning_tokens": 0,
        "tokens": 0,
        "cost": 0.0,
        "unpriced_requests": 0,
        "providers": {},
    }
