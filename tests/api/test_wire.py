"""One wire format through every door: an amount reads the same over REST, GraphQL, in the
notifications webhooks deliver and in live feeds, rounded half-even to six decimals from the
exact amount (never through a float), and instants are UTC with a Z."""

from __future__ import annotations

import re

import httpx

from tests.conftest import KeyFactory, bearer

# gpt-4o input is $2.50 per million tokens: one token costs $0.0000025, a half micro-dollar
# above $0.000002, which half-even rounding takes down and a float's rounding took up.
ONE_TOKEN = {"provider": "openai", "model": "gpt-4o", "input_tokens": 1}
Z_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


async def test_a_half_micro_dollar_reads_the_same_through_every_door(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    budget = await client.post(
        "/v1/budgets",
        headers=bearer(key),
        json={"name": "tiny", "limit": "0.000001", "thresholds": [100]},
    )
    assert budget.status_code == 201, budget.text
    tracked = await client.post("/v1/track", headers=bearer(key), json=ONE_TOKEN)
    assert tracked.status_code == 201, tracked.text
    assert (tracked.json()["cost"], tracked.json()["cost_exact"]) == (0.000002, "0.0000025")
    assert Z_INSTANT.match(tracked.json()["timestamp"])

    rest_budget = await client.get(f"/v1/budgets/{budget.json()['id']}", headers=bearer(key))
    assert (rest_budget.json()["current"], rest_budget.json()["current_exact"]) == (
        0.000002,
        "0.0000025",
    )
    costs = (await client.get("/v1/costs", headers=bearer(key))).json()
    assert (costs["openai"]["total"], costs["openai"]["total_exact"]) == (0.000002, "0.0000025")
    usage = (await client.get("/v1/usage", headers=bearer(key))).json()
    assert (usage["cost"], usage["cost_exact"]) == (0.000002, "0.0000025")

    query = (
        "{ budgets { nodes { current { amount value } } } "
        "usage { totals { total { amount value } } } }"
    )
    data = (await client.post("/graphql", headers=bearer(key), json={"query": query})).json()
    [gql_budget] = data["data"]["budgets"]["nodes"]
    half_micro = {"amount": "0.0000025", "value": 0.000002}
    assert gql_budget == {"current": half_micro}
    assert data["data"]["usage"]["totals"] == {"total": half_micro}

    events = (await client.get("/v1/events", headers=bearer(key))).json()["events"]
    exceeded = [event for event in events if event["event"] == "usage.exceeded"]
    assert exceeded, events
    # What webhooks deliver is this same payload.
    assert exceeded[0]["data"]["current"] == 0.000002
    assert exceeded[0]["data"]["current_exact"] == "0.0000025"
    assert Z_INSTANT.match(exceeded[0]["created"])
    assert Z_INSTANT.match(exceeded[0]["data"]["period_start"])


async def test_a_tiny_price_reads_in_plain_notation_through_both_doors(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    override = {"provider": "openai", "model": "tiny-llm", "input": "0.00000025", "output": "1.50"}
    created = await client.post("/v1/prices/overrides", headers=bearer(key), json=override)
    assert created.status_code == 201, created.text
    tracked = await client.post(
        "/v1/track",
        headers=bearer(key),
        json={"provider": "openai", "model": "tiny-llm", "input_tokens": 4_000_000},
    )
    assert tracked.status_code == 201, tracked.text
    assert (tracked.json()["price"]["input"], tracked.json()["price"]["output"]) == (
        "0.00000025",
        "1.5",
    )
    assert tracked.json()["cost_exact"] == "0.000001"
    listed = (await client.get("/v1/prices", headers=bearer(key))).json()["prices"]
    [rest] = [price for price in listed if price["model"] == "tiny-llm"]
    query = '{ prices(provider: "openai") { model input output } }'
    data = (await client.post("/graphql", headers=bearer(key), json={"query": query})).json()
    [gql] = [price for price in data["data"]["prices"] if price["model"] == "tiny-llm"]
    assert (rest["input"], rest["output"]) == (gql["input"], gql["output"]) == ("0.00000025", "1.5")
