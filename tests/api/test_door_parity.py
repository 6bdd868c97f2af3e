"""REST and GraphQL agree on the same cases: tracked events, costs, usage totals, refusals,
replays and conflicts.

Expected amounts come from catalogue prices (USD per 1M tokens): gpt-4 30/60,
gpt-4-turbo 10/30, o1 15/60 (cached 7.50), claude-3-opus 15/75, gemini-pro 0.50/1.50,
mistral-large 2/6 (2025), command-r-plus 2.50/10 (2025), command-r7b 0.0375/0.15.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from meterr.auth import Role
from tests.conftest import KeyFactory, bearer
from tests.support.graphql import (
    TRACK,
    USAGE,
    as_input,
    camel,
    costs_gql,
    data_of,
    error_of,
    track_batch_gql,
    track_gql,
)

JsonObject = dict[str, Any]

PARITY_EVENTS: list[JsonObject] = [
    # 1500 * 30 + 500 * 60 = 0.045 + 0.03 = 0.075
    {
        "provider": "openai",
        "model": "gpt-4",
        "input_tokens": 1500,
        "output_tokens": 500,
        "endpoint": "/v1/chat/completions",
        "metadata": {"user_id": "user_123", "session": "c1"},
        "timestamp": "2025-08-05T10:00:00Z",
        "event_id": "parity-1",
    },
    # 2000 * 15 + 800 * 75 = 0.03 + 0.06 = 0.09
    {
        "provider": "anthropic",
        "model": "claude-3-opus",
        "input_tokens": 2000,
        "output_tokens": 800,
        "endpoint": "/v1/messages",
        "metadata": {"user_id": "user_123", "purpose": "analysis"},
        "timestamp": "2025-08-05T11:00:00Z",
        "event_id": "parity-2",
    },
    # 1200 * 0.50 + 600 * 1.50 = 0.0006 + 0.0009 = 0.0015
    {
        "provider": "google",
        "model": "gemini-pro",
        "input_tokens": 1200,
        "output_tokens": 600,
        "timestamp": "2025-08-06T12:00:00Z",
        "event_id": "parity-3",
    },
    # 1800 * 10 + 700 * 30 = 0.018 + 0.021 = 0.039
    {
        "provider": "azure",
        "model": "gpt-4-turbo",
        "input_tokens": 1800,
        "output_tokens": 700,
        "metadata": {"deployment": "production"},
        "timestamp": "2025-08-07T13:00:00Z",
        "event_id": "parity-4",
    },
    # 900 * 2 + 400 * 6 = 0.0018 + 0.0024 = 0.0042
    {
        "provider": "mistral",
        "model": "mistral-large",
        "input_tokens": 900,
        "output_tokens": 400,
        "team_id": "engineering",
        "timestamp": "2025-08-08T14:00:00Z",
        "event_id": "parity-5",
    },
    # 1100 * 2.50 + 550 * 10 = 0.00275 + 0.0055 = 0.00825
    {
        "provider": "cohere",
        "model": "command-r-plus",
        "input_tokens": 1100,
        "output_tokens": 550,
        "timestamp": "2025-08-09T15:00:00Z",
        "event_id": "parity-6",
    },
    # 6000 * 15 + 4000 * 7.50 + 1000 * 60 + 2000 * 60 = 0.09 + 0.03 + 0.06 + 0.12 = 0.30
    {
        "provider": "openai",
        "model": "o1",
        "input_tokens": 10_000,
        "cached_input_tokens": 4000,
        "output_tokens": 3000,
        "reasoning_tokens": 2000,
        "timestamp": "2025-08-10T16:00:00Z",
        "event_id": "parity-7",
    },
    # 1001 * 0.0375 = 0.0000375375 -> 0.000037538; 333 * 0.15 = 0.00004995
    {
        "provider": "cohere",
        "model": "command-r7b",
        "input_tokens": 1001,
        "output_tokens": 333,
        "timestamp": "2025-08-11T17:00:00Z",
        "event_id": "parity-8",
    },
    # No price: counted, unpriced.
    {
        "provider": "openai",
        "model": "in-house-llm",
        "input_tokens": 500,
        "output_tokens": 50,
        "timestamp": "2025-08-12T18:00:00Z",
        "event_id": "parity-9",
    },
]


PARITY_BY_PROVIDER = {
    "openai": {"total": 0.375, "tokens": 15_550},
    "anthropic": {"total": 0.09, "tokens": 2800},
    "azure": {"total": 0.039, "tokens": 2500},
    "cohere": {"total": 0.008337, "tokens": 2984},
    "mistral": {"total": 0.0042, "tokens": 1300},
    "google": {"total": 0.0015, "tokens": 1800},
}


PARITY_BY_MODEL = {
    "o1": {"total": 0.3, "tokens": 13_000},
    "claude-3-opus": {"total": 0.09, "tokens": 2800},
    "gpt-4": {"total": 0.075, "tokens": 2000},
    "gpt-4-turbo": {"total": 0.039, "tokens": 2500},
    "command-r-plus": {"total": 0.00825, "tokens": 1650},
    "mistral-large": {"total": 0.0042, "tokens": 1300},
    "gemini-pro": {"total": 0.0015, "tokens": 1800},
    "command-r7b": {"total": 0.000087, "tokens": 1334},
    "in-house-llm": {"total": 0.0, "tokens": 550},
}


PARITY_TOTALS = {
    "requests": 9,
    "input_tokens": 20_001,
    "output_tokens": 6933,
    "cached_input_tokens": 4000,
    "cache_write_tokens": 0,
    "reasoning_tokens": 2000,
    "tokens": 26_934,
    "cost": 0.518037,
    "unpriced_requests": 1,
}


REST_EVENT_FIELDS = (
    "event_id",
    "timestamp",
    "provider",
    "model",
    "endpoint",
    "team_id",
    "user_id",
    "metadata",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost",
    "pricing_status",
)


def gql_event_as_rest(event: JsonObject) -> JsonObject:
    shaped = {name: event[camel(name)] for name in REST_EVENT_FIELDS}
    shaped["timestamp"] = shaped["timestamp"].replace("+00:00", "Z")
    return shaped


async def rest_error_code(client: httpx.AsyncClient, key: str, body: Any) -> tuple[str, Any]:
    response = await client.post("/v1/track", headers=bearer(key), json=body)
    error = response.json()["error"]
    return error["code"], error["details"]


async def test_rest_and_graphql_agree_on_the_same_cases(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    rest_key = await make_key()
    gql_key = await make_key()

    # Track: the first six one by one, the rest as a batch, through each door.
    rest_tracked: list[JsonObject] = []
    for body in PARITY_EVENTS[:6]:
        response = await client.post("/v1/track", headers=bearer(rest_key), json=body)
        assert response.status_code == 201, response.text
        rest_tracked.append(response.json())
    response = await client.post(
        "/v1/track", headers=bearer(rest_key), json={"events": PARITY_EVENTS[6:]}
    )
    assert response.status_code == 201, response.text
    rest_tracked.extend(response.json()["events"])
    gql_tracked = [await track_gql(client, gql_key, body) for body in PARITY_EVENTS[:6]]
    gql_tracked.extend(await track_batch_gql(client, gql_key, PARITY_EVENTS[6:]))

    assert [e["replayed"] for e in rest_tracked] == [False] * 9
    assert [e["replayed"] for e in gql_tracked] == [False] * 9
    assert [{name: e[name] for name in REST_EVENT_FIELDS} for e in rest_tracked] == [
        gql_event_as_rest(item["event"]) for item in gql_tracked
    ]
    assert [e["cost"] for e in rest_tracked] == [
        0.075,
        0.09,
        0.0015,
        0.039,
        0.0042,
        0.00825,
        0.3,
        0.000087,
        None,
    ]
    for rest_event, item in zip(rest_tracked, gql_tracked, strict=True):
        gql_breakdown = item["event"]["costBreakdown"]
        if rest_event["cost_breakdown"] is None:
            assert gql_breakdown is None
            continue
        assert rest_event["cost_breakdown"] == {
            "input": gql_breakdown["input"],
            "output": gql_breakdown["output"],
            "cache_read": gql_breakdown["cacheRead"],
            "cache_write": gql_breakdown["cacheWrite"],
            "reasoning": gql_breakdown["reasoning"],
        }

    window = {"start_date": "2025-08-01", "end_date": "2025-08-14"}
    gql_window = {"start": "2025-08-01", "end": "2025-08-14"}

    # Costs by provider and by model.
    for group_by, expected in (("provider", PARITY_BY_PROVIDER), ("model", PARITY_BY_MODEL)):
        rest = await client.get(
            "/v1/costs", headers=bearer(rest_key), params={**window, "group_by": group_by}
        )
        assert rest.status_code == 200, rest.text
        groups = await costs_gql(client, gql_key, groupBy=group_by.upper(), **gql_window)
        as_dict = {g["key"]: {"total": g["total"], "tokens": g["tokens"]} for g in groups}
        assert rest.json() == expected
        assert as_dict == expected
        assert list(rest.json()) == list(as_dict), "the same order"

    # Usage totals.
    rest_usage = await client.get("/v1/usage", headers=bearer(rest_key), params=window)
    assert rest_usage.status_code == 200, rest_usage.text
    gql_usage = (await data_of(client, gql_key, USAGE, gql_window))["usage"]
    rest_totals = {name: rest_usage.json()[name] for name in PARITY_TOTALS}
    gql_totals = {
        name: gql_usage["totals"]["total" if name == "cost" else camel(name)]
        for name in PARITY_TOTALS
    }
    assert rest_totals == PARITY_TOTALS
    assert gql_totals == PARITY_TOTALS
    assert Decimal(gql_usage["totals"]["totalExact"]) == Decimal("0.518037488")
    assert {key: value["cost"] for key, value in rest_usage.json()["providers"].items()} == {
        group["key"]: group["total"] for group in gql_usage["providers"]
    }

    # An invalid event: the same code and the same offending fields.
    for invalid in (
        {"provider": "openai", "model": "gpt-4", "input_tokens": -1},
        {
            "provider": "openai",
            "model": "gpt-4",
            "input_tokens": 10,
            "output_tokens": 5,
            "reasoning_tokens": 6,
        },
        {
            "provider": "openai",
            "model": "gpt-4",
            "input_tokens": 10,
            "timestamp": "2025-08-05 10:00",
        },
        {"provider": "", "model": "gpt-4", "input_tokens": 10},
    ):
        rest_code, rest_details = await rest_error_code(client, rest_key, invalid)
        error = await error_of(client, gql_key, TRACK, {"input": as_input(invalid)})
        assert (rest_code, error["extensions"]["code"]) == ("invalid_input", "invalid_input")
        assert set(rest_details["fields"]) == set(error["extensions"]["details"]["fields"])

    # A replay: the stored event, replayed, counted once.
    replay = PARITY_EVENTS[0]
    rest_again = await client.post("/v1/track", headers=bearer(rest_key), json=replay)
    assert rest_again.status_code == 200, rest_again.text
    gql_again = await track_gql(client, gql_key, replay)
    assert (rest_again.json()["replayed"], gql_again["replayed"]) == (True, True)
    assert rest_again.json()["id"] == rest_tracked[0]["id"]
    assert gql_again["event"]["id"] == gql_tracked[0]["event"]["id"]
    assert rest_again.json()["cost"] == gql_again["event"]["cost"] == 0.075

    # The same event_id with another body: the same conflict code.
    changed = {**replay, "input_tokens": 1501}
    rest_code, _ = await rest_error_code(client, rest_key, changed)
    error = await error_of(client, gql_key, TRACK, {"input": as_input(changed)})
    assert (rest_code, error["extensions"]["code"]) == (
        "idempotency_conflict",
        "idempotency_conflict",
    )

    # Nothing above changed the totals.
    rest_after = await client.get(
        "/v1/costs", headers=bearer(rest_key), params={**window, "group_by": "provider"}
    )
    gql_after = await costs_gql(client, gql_key, **gql_window)
    assert rest_after.json() == PARITY_BY_PROVIDER
    assert {g["key"]: {"total": g["total"], "tokens": g["tokens"]} for g in gql_after} == (
        PARITY_BY_PROVIDER
    )

    # A read key may not track, through either door.
    reader = await make_key(role=Role.READ)
    rest_code, _ = await rest_error_code(client, reader, PARITY_EVENTS[1])
    error = await error_of(client, reader, TRACK, {"input": as_input(PARITY_EVENTS[1])})
    assert (rest_code, error["extensions"]["code"]) == ("forbidden", "forbidden")
