"""Costs filtered, through both doors: by provider, model, team and user (one or a list,
combined), and over ranges of instants that include their start and exclude their end.

Amounts as in tests/support/seeds.py: gpt-4 30/60, gpt-4o 2.50/10, claude-3-opus 15/75,
gemini-pro 0.50/1.50 USD per 1M tokens.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import KeyFactory
from tests.support.doors import Door, Query
from tests.support.seeds import seed_dimensions_org

JsonObject = dict[str, Any]


@pytest.fixture(scope="module")
async def dimensions_org(client: httpx.AsyncClient, make_key: KeyFactory) -> JsonObject:
    """One organization, two keys (the second bound to team-key), five priced events."""
    return await seed_dimensions_org(client, make_key)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param(
            {"provider": "openai"},
            {"openai": {"total": 0.075, "tokens": 4500}},
            id="one-provider",
        ),
        pytest.param(
            {"provider": ["OpenAI", " google"]},
            {
                "openai": {"total": 0.075, "tokens": 4500},
                "google": {"total": 0.008, "tokens": 12_000},
            },
            id="provider-list-normalized",
        ),
        pytest.param(
            {"model": "gpt-4", "group_by": "model"},
            {"gpt-4": {"total": 0.06, "tokens": 1500}},
            id="one-model",
        ),
        pytest.param(
            {"model": ["gpt-4o", "gemini-pro"], "group_by": "model"},
            {
                "gpt-4o": {"total": 0.015, "tokens": 3000},
                "gemini-pro": {"total": 0.008, "tokens": 12_000},
            },
            id="model-list",
        ),
        pytest.param(
            {"team_id": "alpha", "group_by": "model"},
            {
                "claude-3-opus": {"total": 0.09, "tokens": 2000},
                "gpt-4": {"total": 0.06, "tokens": 1500},
            },
            id="team",
        ),
        pytest.param(
            {"team_id": ["beta", "team-key"], "group_by": "team"},
            {
                "beta": {"total": 0.015, "tokens": 3000},
                "team-key": {"total": 0.0015, "tokens": 100},
            },
            id="team-list",
        ),
        pytest.param(
            {"user_id": "u2", "group_by": "model"},
            {
                "claude-3-opus": {"total": 0.09, "tokens": 2000},
                "gpt-4o": {"total": 0.015, "tokens": 3000},
            },
            id="user",
        ),
        pytest.param(
            {"provider": "openai", "user_id": ["u1", "u2"], "group_by": "user"},
            {
                "u1": {"total": 0.06, "tokens": 1500},
                "u2": {"total": 0.015, "tokens": 3000},
            },
            id="filters-combine",
        ),
        pytest.param(
            {"provider": "azure"},
            {},
            id="no-match-is-empty",
        ),
    ],
)
async def test_costs_filters_restrict_the_events_counted(
    door: Door, dimensions_org: JsonObject, params: dict[str, Query], expected: JsonObject
) -> None:
    answer = await door.costs(
        dimensions_org["key"], start_date="2025-03-01", end_date="2025-04-30", **params
    )
    assert answer.value() == expected


async def test_costs_over_rfc3339_instants_include_start_and_exclude_end(
    door: Door, dimensions_org: JsonObject
) -> None:
    key = dimensions_org["key"]
    # From e1 (10:15Z on 3 March, given with a +01:00 offset) up to, not including, e3.
    answer = await door.costs(
        key,
        start_date="2025-03-03T11:15:00+01:00",
        end_date="2025-03-10T08:00:00Z",
        group_by="model",
    )
    assert answer.value() == {
        "gpt-4": {"total": 0.06, "tokens": 1500},
        "gpt-4o": {"total": 0.015, "tokens": 3000},
    }
    one_second_later = await door.costs(
        key, start_date="2025-03-03T10:15:01Z", end_date="2025-03-10T08:00:01Z", group_by="model"
    )
    assert one_second_later.value() == {
        "claude-3-opus": {"total": 0.09, "tokens": 2000},
        "gpt-4o": {"total": 0.015, "tokens": 3000},
    }
