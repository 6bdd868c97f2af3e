"""Query.costs: a list of groups, each with its exact total and unpriced count, grouped and
filtered as GET /v1/costs, and bad arguments refused naming the field.

Amounts come from catalogue prices (USD per 1M tokens): gpt-4 30/60, claude-3-opus 15/75
(from 2024-03-04), mistral-medium 2.70/8.10 (2024).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.conftest import KeyFactory
from tests.support.graphql import COSTS, costs_gql, data_of, error_of, key_total_tokens
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
        "{ key total tokens } }",
    )
    assert data == {
        "costs": [
            {"key": "openai", "total": 0.6, "tokens": 15_000},
            {"key": "mistral", "total": 0.432, "tokens": 120_000},
            {"key": "anthropic", "total": 0.0, "tokens": 1100},
        ]
    }


async def test_costs_groups_carry_exact_totals_and_unpriced_counts(
    client: httpx.AsyncClient, january_key: str
) -> None:
    groups = await costs_gql(client, january_key, start="2024-01-01", end="2024-01-31")
    by_key = {g["key"]: g for g in groups}
    assert Decimal(by_key["openai"]["totalExact"]) == Decimal("0.6")
    assert Decimal(by_key["mistral"]["totalExact"]) == Decimal("0.432")
    assert Decimal(by_key["anthropic"]["totalExact"]) == 0
    assert [(g["key"], g["requests"], g["unpricedRequests"]) for g in groups] == [
        ("openai", 1, 0),
        ("mistral", 1, 0),
        ("anthropic", 1, 1),
    ]


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        pytest.param(
            {"groupBy": "MODEL"},
            [
                {"key": "gpt-4", "total": 0.6, "tokens": 15_000},
                {"key": "mistral-medium", "total": 0.432, "tokens": 120_000},
                {"key": "claude-3-opus", "total": 0.0, "tokens": 1100},
            ],
            id="model",
        ),
        pytest.param(
            {"groupBy": "METADATA", "metadataKey": "feature"},
            [
                {"key": "chat", "total": 0.6, "tokens": 15_000},
                {"key": "summaries", "total": 0.432, "tokens": 120_000},
                {"key": "(none)", "total": 0.0, "tokens": 1100},
            ],
            id="metadata",
        ),
        pytest.param(
            {"groupBy": "TEAM"},
            [{"key": "(none)", "total": 1.032, "tokens": 136_100}],
            id="team-none",
        ),
        pytest.param(
            {"groupBy": "DAY"},
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
            {"groupBy": "DAY", "tz": "Europe/Paris"},
            [
                {"key": "2024-01-02", "total": 0.0, "tokens": 1100},
                {"key": "2024-01-15", "total": 0.6, "tokens": 15_000},
            ],
            id="day-paris",
        ),
        pytest.param(
            {"groupBy": "MONTH", "end": "2024-02-29"},
            [
                {"key": "2024-01", "total": 1.032, "tokens": 136_100},
                {"key": "2024-02", "total": 0.03, "tokens": 1000},
            ],
            id="month",
        ),
        pytest.param(
            {"filter": {"providers": ["OpenAI", "anthropic"]}},
            [
                {"key": "openai", "total": 0.6, "tokens": 15_000},
                {"key": "anthropic", "total": 0.0, "tokens": 1100},
            ],
            id="filter-providers",
        ),
        pytest.param(
            {"groupBy": "MODEL", "filter": {"models": ["mistral-medium"]}},
            [{"key": "mistral-medium", "total": 0.432, "tokens": 120_000}],
            id="filter-models",
        ),
    ],
)
async def test_costs_group_and_filter_like_rest(
    client: httpx.AsyncClient,
    january_key: str,
    variables: JsonObject,
    expected: list[JsonObject],
) -> None:
    groups = await costs_gql(
        client, january_key, **{"start": "2024-01-01", "end": "2024-01-31", **variables}
    )
    assert key_total_tokens(groups) == expected


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        pytest.param({"start": "2024-02-30"}, "start_date", id="bad-date"),
        pytest.param({"end": "soon"}, "end_date", id="bad-end"),
        pytest.param({"tz": "Atlantis/Capital"}, "tz", id="unknown-zone"),
        pytest.param({"start": "2024-02-02", "end": "2024-02-01"}, "end_date", id="end-before"),
        pytest.param({"groupBy": "METADATA"}, "group_by", id="metadata-without-key"),
        pytest.param({"groupBy": "METADATA", "metadataKey": "a.b"}, "group_by", id="bad-key"),
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
