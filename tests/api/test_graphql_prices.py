"""Prices through GraphQL: the catalogue in force, overrides from their date (pricing events
stored unpriced), and LiteLLM price files imported as over REST.
"""

from __future__ import annotations

from typing import Any

import httpx

from meterr.auth import Role
from tests.conftest import KeyFactory
from tests.support.graphql import (
    costs_gql,
    data_of,
    error_of,
    key_total_tokens,
    track_batch_gql,
    track_gql,
    usd,
)

JsonObject = dict[str, Any]


async def test_prices_query_lists_catalogue_prices(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key(role=Role.READ)
    data = await data_of(
        client,
        key,
        '{ prices(provider: "openai") { provider model origin input output cachedInput } }',
    )
    prices = {p["model"]: p for p in data["prices"]}
    assert {p["provider"] for p in data["prices"]} == {"openai"}
    assert prices["gpt-4"] == {
        "provider": "openai",
        "model": "gpt-4",
        "origin": "CATALOGUE",
        "input": "30",
        "output": "60",
        "cachedInput": "30",
    }
    # The latest gpt-4o price is the one in force now.
    assert (prices["gpt-4o"]["input"], prices["gpt-4o"]["output"]) == ("2.5", "10")
    assert prices["gpt-4o"]["cachedInput"] == "1.25"


async def test_set_price_override_wins_from_its_date_and_prices_unpriced_events(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    await track_batch_gql(
        client,
        key,
        [
            {
                "provider": "openai",
                "model": "gpt-4",
                "input_tokens": 1000,
                "output_tokens": 1000,
                "timestamp": "2024-12-31T23:00:00Z",
            },
            {
                "provider": "openai",
                "model": "in-house-llm",
                "input_tokens": 1000,
                "output_tokens": 1000,
                "timestamp": "2025-02-01T00:00:00Z",
            },
        ],
    )
    override = await data_of(
        client,
        key,
        """
        mutation {
          setPriceOverride(input: {provider: "openai", model: "in-house-llm", input: "1.5",
                                   output: "4.5", note: "self-hosted"}) {
            provider model origin source input output
          }
        }
        """,
    )
    assert override["setPriceOverride"] == {
        "provider": "openai",
        "model": "in-house-llm",
        "origin": "OVERRIDE",
        "source": "self-hosted",
        "input": "1.5",
        "output": "4.5",
    }
    await data_of(
        client,
        key,
        """
        mutation {
          setPriceOverride(input: {provider: "openai", model: "gpt-4", input: "20",
                                   output: "40", effectiveFrom: "2025-01-01T00:00:00Z"}) {
            origin
          }
        }
        """,
    )
    # gpt-4 before the override keeps the catalogue price: 0.03 + 0.06.
    before = await track_gql(
        client,
        key,
        {
            "provider": "openai",
            "model": "gpt-4",
            "input_tokens": 1000,
            "output_tokens": 1000,
            "timestamp": "2024-12-31T23:30:00Z",
        },
    )
    after = await track_gql(
        client,
        key,
        {
            "provider": "openai",
            "model": "gpt-4",
            "input_tokens": 1000,
            "output_tokens": 1000,
            "timestamp": "2025-01-01T00:00:00Z",
        },
    )
    assert (before["event"]["cost"], before["event"]["price"]["origin"]) == (
        usd("0.09", 0.09),
        "CATALOGUE",
    )
    assert (after["event"]["cost"], after["event"]["price"]["origin"]) == (
        usd("0.06", 0.06),
        "OVERRIDE",
    )

    groups = await costs_gql(client, key, start="2024-12-01", end="2025-02-28", groupBy="MODEL")
    # gpt-4: 0.09 + 0.09 + 0.06; in-house-llm priced by its override: 0.0015 + 0.0045.
    assert key_total_tokens(groups) == [
        {"key": "gpt-4", "total": usd("0.24", 0.24), "tokens": 6000},
        {"key": "in-house-llm", "total": usd("0.006", 0.006), "tokens": 2000},
    ]
    assert [g["unpricedRequests"] for g in groups] == [0, 0]
    prices = await data_of(
        client, key, '{ prices(provider: "openai") { model origin input output } }'
    )
    listed = {p["model"]: p for p in prices["prices"]}
    assert listed["gpt-4"] == {
        "model": "gpt-4",
        "origin": "OVERRIDE",
        "input": "20",
        "output": "40",
    }


async def test_prices_query_lists_an_override_for_a_model_outside_the_catalogue(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    await data_of(
        client,
        key,
        """
        mutation {
          setPriceOverride(input: {provider: "openai", model: "in-house-llm", input: "1.5",
                                   output: "4.5"}) { origin }
        }
        """,
    )
    prices = await data_of(
        client, key, '{ prices(provider: "openai") { model origin input output } }'
    )
    listed = {p["model"]: p for p in prices["prices"]}
    assert listed["in-house-llm"] == {
        "model": "in-house-llm",
        "origin": "OVERRIDE",
        "input": "1.5",
        "output": "4.5",
    }
    assert listed["gpt-4"]["origin"] == "CATALOGUE"


async def test_a_litellm_price_file_is_imported_through_graphql_as_through_rest(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    await track_gql(
        client, key, {"provider": "mistral", "model": "house-7b", "input_tokens": 10**6}
    )
    file = {
        "mistral/house-7b": {
            "litellm_provider": "mistral",
            "mode": "chat",
            "input_cost_per_token": 2.5e-07,
            "output_cost_per_token": 2.5e-07,
        },
        "mistral-embed": {"litellm_provider": "mistral", "mode": "embedding"},
    }
    mutation = """
    mutation Import($file: JSON!, $dryRun: Boolean!) {
      importPrices(file: $file, dryRun: $dryRun) {
        dryRun imported { provider model } skipped { entry reason } repriced
      }
    }
    """
    dry = await data_of(client, key, mutation, {"file": file, "dryRun": True})
    assert dry["importPrices"] == {
        "dryRun": True,
        "imported": [{"provider": "mistral", "model": "house-7b"}],
        "skipped": [{"entry": "mistral-embed", "reason": "mode embedding is not a text model"}],
        "repriced": 0,
    }
    done = await data_of(client, key, mutation, {"file": file, "dryRun": False})
    assert done["importPrices"]["repriced"] == 1, "the unpriced event is priced by the import"
    costs = await data_of(client, key, "{ costs(groupBy: MODEL) { key total { amount } } }")
    assert {"key": "house-7b", "total": {"amount": "0.25"}} in costs["costs"]
    refused = await error_of(client, key, "mutation { importPrices(file: [1]) { repriced } }")
    assert refused["extensions"]["code"] == "invalid_input"
