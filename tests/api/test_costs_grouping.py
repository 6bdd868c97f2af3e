"""Costs grouped, through both doors: every dimension, largest cost first, time groups in
calendar order, unpriced events counted at nothing; and GET /v1/costs in its documented shape.

Amounts are worked out by hand from catalogue prices (USD per 1M tokens): gpt-4 30/60,
gpt-4o 2.50/10 (after 2024-10-02), claude-3-opus 15/75, gemini-pro 0.50/1.50,
gpt-4-turbo 10/30, mistral-large 2/6 (after 2024-09-18), mistral-medium 2.70/8.10 (2024),
command-r-plus 2.50/10 (after 2024-08-30), command-r7b 0.0375/0.15; claude-3-opus had no price
before 2024-03-04.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import KeyFactory
from tests.support.doors import Door, Query
from tests.support.exact import inexact
from tests.support.rest import costs, track, track_batch
from tests.support.seeds import seed_dimensions_org, seed_january

JsonObject = dict[str, Any]


async def test_costs_by_provider_returns_documented_shape_over_inclusive_whole_days(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    day = "2025-08-05T12:00:00Z"
    events = [
        # openai: 30 + 15 + 15 = 60.00 USD, 1,500,000 tokens over two events.
        {"provider": "openai", "model": "gpt-4", "input_tokens": 1_000_000, "output_tokens": 0},
        {"provider": "openai", "model": "gpt-4", "input_tokens": 0, "output_tokens": 500_000},
        # anthropic: 600k * 15 + 290k * 75 = 9 + 21.75 = 30.75
        {
            "provider": "anthropic",
            "model": "claude-3-opus",
            "input_tokens": 600_000,
            "output_tokens": 290_000,
        },
        # google: 500k * 0.50 + 250k * 1.50 = 0.25 + 0.375 = 0.625
        {
            "provider": "google",
            "model": "gemini-pro",
            "input_tokens": 500_000,
            "output_tokens": 250_000,
        },
        # azure bills with the openai table: 1M * 10 + 400k * 30 = 10 + 12 = 22
        {
            "provider": "azure",
            "model": "gpt-4-turbo",
            "input_tokens": 1_000_000,
            "output_tokens": 400_000,
        },
        # mistral: 400k * 2 + 250k * 6 = 0.8 + 1.5 = 2.3
        {
            "provider": "mistral",
            "model": "mistral-large",
            "input_tokens": 400_000,
            "output_tokens": 250_000,
        },
        # cohere: 300k * 2.50 + 150k * 10 = 0.75 + 1.5 = 2.25
        {
            "provider": "cohere",
            "model": "command-r-plus",
            "input_tokens": 300_000,
            "output_tokens": 150_000,
        },
    ]
    await track_batch(client, key, [{**event, "timestamp": day} for event in events])
    # The first and last instants of the range are in; one instant either side is out.
    await track_batch(
        client,
        key,
        [
            {"provider": provider, "model": model, "input_tokens": tokens, "timestamp": moment}
            for provider, model, tokens, moment in [
                ("openai", "gpt-4", 1000, "2025-08-01T00:00:00Z"),
                ("openai", "gpt-4", 1000, "2025-08-14T23:59:59Z"),
                ("openai", "gpt-4", 7, "2025-07-31T23:59:59Z"),
                ("cohere", "command-r-plus", 9, "2025-08-15T00:00:00Z"),
            ]
        ],
    )

    body = await costs(
        client, key, start_date="2025-08-01", end_date="2025-08-14", group_by="provider"
    )

    assert {key: group["total_exact"] for key, group in body.items()} == {
        "openai": "60.06",
        "anthropic": "30.75",
        "azure": "22",
        "mistral": "2.3",
        "cohere": "2.25",
        "google": "0.625",
    }, "the exact totals beside the documented numbers"
    assert inexact(body) == {
        "openai": {"total": 60.06, "tokens": 1_502_000},
        "anthropic": {"total": 30.75, "tokens": 890_000},
        "azure": {"total": 22.0, "tokens": 1_400_000},
        "mistral": {"total": 2.3, "tokens": 650_000},
        "cohere": {"total": 2.25, "tokens": 450_000},
        "google": {"total": 0.625, "tokens": 750_000},
    }
    assert list(body) == ["openai", "anthropic", "azure", "mistral", "cohere", "google"]
    assert all(type(group["total"]) is float for group in body.values())
    assert all(type(group["tokens"]) is int for group in body.values())


async def test_costs_default_to_grouping_by_provider(
    client: httpx.AsyncClient, make_key: KeyFactory, door: Door
) -> None:
    key = await make_key()
    await track(
        client,
        key,
        provider="anthropic",
        model="claude-3-opus",
        input_tokens=2000,
        output_tokens=800,
        timestamp="2025-02-10T09:00:00Z",
    )
    answer = await door.costs(key, start_date="2025-02-01", end_date="2025-02-28")
    # 2000 * 15 + 800 * 75 per million = 0.03 + 0.06
    assert answer.value() == {"anthropic": {"total": 0.09, "tokens": 2800}}


async def test_costs_total_is_rounded_half_even_to_six_decimals(
    client: httpx.AsyncClient, make_key: KeyFactory, door: Door
) -> None:
    key = await make_key()
    # 1 input token of gpt-4 costs 0.00003 USD; 7 tokens of command-r7b cost 0.0000002625,
    # stored as 0.000000262 (half even at the nano-dollar) and shown as 0.0 at six decimals.
    await track(
        client,
        key,
        provider="openai",
        model="gpt-4",
        input_tokens=1,
        timestamp="2025-02-10T09:00:00Z",
    )
    await track(
        client,
        key,
        provider="cohere",
        model="command-r7b",
        input_tokens=7,
        timestamp="2025-02-10T09:00:00Z",
    )
    answer = await door.costs(key, start_date="2025-02-10", end_date="2025-02-10")
    assert answer.value() == {
        "openai": {"total": 0.00003, "tokens": 1},
        "cohere": {"total": 0.0, "tokens": 7},
    }


@pytest.fixture(scope="module")
async def dimensions_org(client: httpx.AsyncClient, make_key: KeyFactory) -> JsonObject:
    """One organization, two keys (the second bound to team-key), five priced events."""
    return await seed_dimensions_org(client, make_key)


EXPECTED_BY_GROUP: dict[str, JsonObject] = {
    "provider": {
        "anthropic": {"total": 0.0915, "tokens": 2100},
        "openai": {"total": 0.075, "tokens": 4500},
        "google": {"total": 0.008, "tokens": 12_000},
    },
    "model": {
        "claude-3-opus": {"total": 0.0915, "tokens": 2100},
        "gpt-4": {"total": 0.06, "tokens": 1500},
        "gpt-4o": {"total": 0.015, "tokens": 3000},
        "gemini-pro": {"total": 0.008, "tokens": 12_000},
    },
    "team": {
        "alpha": {"total": 0.15, "tokens": 3500},
        "beta": {"total": 0.015, "tokens": 3000},
        "(none)": {"total": 0.008, "tokens": 12_000},
        "team-key": {"total": 0.0015, "tokens": 100},
    },
    "user": {
        "u2": {"total": 0.105, "tokens": 5000},
        "u1": {"total": 0.06, "tokens": 1500},
        "(none)": {"total": 0.0095, "tokens": 12_100},
    },
    "endpoint": {
        "/v1/messages": {"total": 0.09, "tokens": 2000},
        "/v1/chat/completions": {"total": 0.075, "tokens": 4500},
        "(none)": {"total": 0.0095, "tokens": 12_100},
    },
    "day": {
        "2025-03-03": {"total": 0.06, "tokens": 1500},
        "2025-03-09": {"total": 0.015, "tokens": 3000},
        "2025-03-10": {"total": 0.09, "tokens": 2000},
        "2025-04-01": {"total": 0.0015, "tokens": 100},
        "2025-04-30": {"total": 0.008, "tokens": 12_000},
    },
    # Weeks are keyed by their Monday; Sunday 9 March belongs to the week of 3 March.
    "week": {
        "2025-03-03": {"total": 0.075, "tokens": 4500},
        "2025-03-10": {"total": 0.09, "tokens": 2000},
        "2025-03-31": {"total": 0.0015, "tokens": 100},
        "2025-04-28": {"total": 0.008, "tokens": 12_000},
    },
    "month": {
        "2025-03": {"total": 0.165, "tokens": 6500},
        "2025-04": {"total": 0.0095, "tokens": 12_100},
    },
    "metadata.feature": {
        "(none)": {"total": 0.0995, "tokens": 14_100},
        "chat": {"total": 0.06, "tokens": 1500},
        "search": {"total": 0.015, "tokens": 3000},
    },
}


@pytest.mark.parametrize("group_by", list(EXPECTED_BY_GROUP))
async def test_costs_group_by_each_dimension(
    door: Door, dimensions_org: JsonObject, group_by: str
) -> None:
    answer = await door.costs(
        dimensions_org["key"], start_date="2025-03-01", end_date="2025-04-30", group_by=group_by
    )
    body = answer.value()
    assert body == EXPECTED_BY_GROUP[group_by]
    if group_by in ("day", "week", "month"):
        assert list(body) == sorted(body), "time groups come in calendar order"
    else:
        assert list(body) == list(EXPECTED_BY_GROUP[group_by]), "largest cost first"


async def test_costs_group_by_api_key_separates_the_keys_of_one_organization(
    door: Door, dimensions_org: JsonObject
) -> None:
    answer = await door.costs(
        dimensions_org["key"], start_date="2025-03-01", end_date="2025-04-30", group_by="api_key"
    )
    assert answer.value() == {
        # e3 + e4
        dimensions_org["key_b_id"]: {"total": 0.0915, "tokens": 2100},
        # e1 + e2 + e5
        dimensions_org["key_a_id"]: {"total": 0.083, "tokens": 16_500},
    }


async def test_group_by_accepts_field_name_aliases(
    client: httpx.AsyncClient, dimensions_org: JsonObject
) -> None:
    window = {"start_date": "2025-03-01", "end_date": "2025-04-30"}
    key = dimensions_org["key"]
    by_team = await costs(client, key, group_by="team_id", **window)
    assert inexact(by_team) == EXPECTED_BY_GROUP["team"]
    by_user = await costs(client, key, group_by="user_id", **window)
    assert inexact(by_user) == EXPECTED_BY_GROUP["user"]


@pytest.fixture(scope="module")
async def january_key(client: httpx.AsyncClient, make_key: KeyFactory) -> str:
    """Events in January 2024, one of them unpriced, plus one on 1 February."""
    return await seed_january(client, make_key)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param(
            {"group_by": "model"},
            [
                {"key": "gpt-4", "total": 0.6, "tokens": 15_000},
                {"key": "mistral-medium", "total": 0.432, "tokens": 120_000},
                {"key": "claude-3-opus", "total": 0.0, "tokens": 1100},
            ],
            id="model",
        ),
        pytest.param(
            {"group_by": "metadata.feature"},
            [
                {"key": "chat", "total": 0.6, "tokens": 15_000},
                {"key": "summaries", "total": 0.432, "tokens": 120_000},
                {"key": "(none)", "total": 0.0, "tokens": 1100},
            ],
            id="metadata",
        ),
        pytest.param(
            {"group_by": "team"},
            [{"key": "(none)", "total": 1.032, "tokens": 136_100}],
            id="team-none",
        ),
        pytest.param(
            {"group_by": "day"},
            [
                {"key": "2024-01-02", "total": 0.0, "tokens": 1100},
                {"key": "2024-01-15", "total": 0.6, "tokens": 15_000},
                {"key": "2024-01-31", "total": 0.432, "tokens": 120_000},
            ],
            id="day-utc",
        ),
        pytest.param(
            # 2024-01-31T23:59:59Z is 1 February in Paris; the Paris range ends at
            # 2024-01-31T23:00:00Z, so that event is outside it.
            {"group_by": "day", "tz": "Europe/Paris"},
            [
                {"key": "2024-01-02", "total": 0.0, "tokens": 1100},
                {"key": "2024-01-15", "total": 0.6, "tokens": 15_000},
            ],
            id="day-paris",
        ),
        pytest.param(
            {"group_by": "month", "end_date": "2024-02-29"},
            [
                {"key": "2024-01", "total": 1.032, "tokens": 136_100},
                {"key": "2024-02", "total": 0.03, "tokens": 1000},
            ],
            id="month",
        ),
        pytest.param(
            {"provider": ["OpenAI", "anthropic"]},
            [
                {"key": "openai", "total": 0.6, "tokens": 15_000},
                {"key": "anthropic", "total": 0.0, "tokens": 1100},
            ],
            id="filter-providers",
        ),
        pytest.param(
            {"group_by": "model", "model": ["mistral-medium"]},
            [{"key": "mistral-medium", "total": 0.432, "tokens": 120_000}],
            id="filter-models",
        ),
    ],
)
async def test_costs_group_and_filter_counting_an_unpriced_event_at_nothing(
    door: Door, january_key: str, query: dict[str, Query], expected: list[JsonObject]
) -> None:
    answer = await door.costs(
        january_key, **{"start_date": "2024-01-01", "end_date": "2024-01-31", **query}
    )
    assert answer.value() == {
        group["key"]: {"total": group["total"], "tokens": group["tokens"]} for group in expected
    }
    assert list(answer.value()) == [group["key"] for group in expected], "the same order"
