"""What the GraphQL queries answer beyond the numbers both doors share: costs as a list of
groups with exact totals and unpriced counts, usage totals with their exact decimal, metadata
groupings refused naming the argument, and the events connection.

Amounts come from catalogue prices (USD per 1M tokens): gpt-4 30/60, claude-3-opus 15/75
(from 2024-03-04), mistral-medium 2.70/8.10 (2024); MIXED_EVENTS are worked out beside them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.conftest import KeyFactory
from tests.support.events import MIXED_EVENTS
from tests.support.graphql import (
    COSTS,
    EVENTS,
    USAGE,
    costs_gql,
    data_of,
    error_of,
    track_batch_gql,
    usd,
)
from tests.support.seeds import seed_january

JsonObject = dict[str, Any]


@pytest.fixture(scope="module")
async def january_key(client: httpx.AsyncClient, make_key: KeyFactory) -> str:
    """Events in January 2024, plus one on 1 February."""
    return await seed_january(client, make_key)


async def test_costs_by_provider_answers_a_list_of_groups(
    client: httpx.AsyncClient, january_key: str
) -> None:
    data = await data_of(
        client,
        january_key,
        '{ costs(startDate: "2024-01-01", endDate: "2024-01-31", groupBy: PROVIDER) '
        "{ key total { amount value currency } tokens } }",
    )
    assert data == {
        "costs": [
            {"key": "openai", "total": usd("0.6", 0.6), "tokens": 15_000},
            {"key": "mistral", "total": usd("0.432", 0.432), "tokens": 120_000},
            {"key": "anthropic", "total": usd("0", 0.0), "tokens": 1100},
        ]
    }


async def test_costs_groups_carry_exact_totals_and_unpriced_counts(
    client: httpx.AsyncClient, january_key: str
) -> None:
    groups = await costs_gql(client, january_key, start="2024-01-01", end="2024-01-31")
    by_key = {g["key"]: g for g in groups}
    assert Decimal(by_key["openai"]["total"]["amount"]) == Decimal("0.6")
    assert Decimal(by_key["mistral"]["total"]["amount"]) == Decimal("0.432")
    assert Decimal(by_key["anthropic"]["total"]["amount"]) == 0
    assert [(g["key"], g["requests"], g["unpricedRequests"]) for g in groups] == [
        ("openai", 1, 0),
        ("mistral", 1, 0),
        ("anthropic", 1, 1),
    ]


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        pytest.param({"groupBy": "METADATA"}, "groupBy", id="metadata-without-key"),
        pytest.param({"groupBy": "METADATA", "metadataKey": "a.b"}, "groupBy", id="bad-key"),
        pytest.param({"metadataKey": "feature"}, "metadataKey", id="key-without-metadata"),
    ],
)
async def test_bad_costs_arguments_are_invalid_input_naming_the_field(
    client: httpx.AsyncClient, january_key: str, variables: JsonObject, field: str
) -> None:
    error = await error_of(
        client,
        january_key,
        COSTS,
        {"start": "2024-01-01", "end": "2024-01-31", "groupBy": "PROVIDER", **variables},
    )
    assert error["extensions"]["code"] == "invalid_input"
    assert set(error["extensions"]["details"]["fields"]) == {field}


async def test_usage_query_reports_totals_and_providers(
    client: httpx.AsyncClient, january_key: str
) -> None:
    data = await data_of(client, january_key, USAGE, {"start": "2024-01-01", "end": "2024-01-31"})
    usage = data["usage"]
    assert usage["start"] == "2024-01-01T00:00:00Z"
    assert usage["end"] == "2024-02-01T00:00:00Z"
    assert usage["totals"] == {
        "requests": 3,
        "inputTokens": 111_000,
        "outputTokens": 25_100,
        "cachedInputTokens": 0,
        "cacheWriteTokens": 0,
        "reasoningTokens": 0,
        "tokens": 136_100,
        "total": usd("1.032", 1.032),
        "unpricedRequests": 1,
    }
    assert [(p["key"], p["requests"], p["total"]["value"]) for p in usage["providers"]] == [
        ("openai", 1, 0.6),
        ("mistral", 1, 0.432),
        ("anthropic", 1, 0.0),
    ]


async def test_usage_total_exact_is_the_sum_of_the_nano_dollar_costs(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    await track_batch_gql(client, key, MIXED_EVENTS)
    window = {"start": "2025-08-01", "end": "2025-08-14"}
    usage = (await data_of(client, key, USAGE, window))["usage"]
    assert usage["totals"]["total"] == usd("0.518037488", 0.518037)


async def test_events_connection_pages_newest_first_to_the_end(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    tracked = await track_batch_gql(
        client,
        key,
        [
            {
                "provider": "openai",
                "model": "gpt-4",
                "input_tokens": 100 + i,
                "timestamp": f"2025-04-0{1 + i // 4}T12:00:0{i % 2}Z",
            }
            for i in range(11)
        ],
    )
    ids = {item["event"]["id"] for item in tracked}
    seen: list[JsonObject] = []
    after: str | None = None
    has_next = True
    pages = 0
    while has_next:
        data = await data_of(
            client,
            key,
            EVENTS,
            {"start": "2025-04-01", "end": "2025-04-30", "first": 4, "after": after},
        )
        page = data["events"]
        pages += 1
        seen.extend(page["nodes"])
        has_next = page["pageInfo"]["hasNextPage"]
        assert page["pageInfo"]["hasPreviousPage"] == (after is not None)
        after = page["pageInfo"]["endCursor"]
        assert after == page["edges"][-1]["cursor"]
        assert len(page["nodes"]) == (4 if has_next else 3)
        assert pages <= 3
    assert pages == 3
    assert {node["id"] for node in seen} == ids
    assert len(seen) == 11
    stamps = [node["timestamp"] for node in seen]
    assert stamps == sorted(stamps, reverse=True)
    assert seen[0]["timestamp"] == "2025-04-03T12:00:01Z"


async def test_events_connection_accepts_a_thousand_per_page(
    client: httpx.AsyncClient, january_key: str
) -> None:
    data = await data_of(
        client, january_key, EVENTS, {"start": "2024-01-01", "end": "2024-02-29", "first": 1000}
    )
    assert len(data["events"]["nodes"]) == 4
    assert data["events"]["pageInfo"]["hasNextPage"] is False
