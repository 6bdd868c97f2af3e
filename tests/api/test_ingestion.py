"""POST /v1/track and POST /v1/usage: validation, pricing, idempotency and batches."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from meterr.clock import SettableClock
from tests.conftest import SUITE_NOW, KeyFactory, bearer
from tests.support.exact import inexact

Body = dict[str, Any]

MAX_METADATA_BYTES = 16 * 1024
# gpt-4 at 30/60 USD per 1M tokens: 1000 * 30e-6 + 200 * 60e-6.
BASE_COST = 0.042
BASE_TOKENS = 1200
ZERO_BREAKDOWN = dict.fromkeys(("input", "output", "cache_read", "cache_write", "reasoning"), 0.0)


def stored_part(answer: dict[str, Any]) -> dict[str, Any]:
    """A track answer without what belongs to the request rather than to the event."""
    request_only = {"replayed", "over_budget", "over_budget_ids"}
    return {name: value for name, value in answer.items() if name not in request_only}


def event(*drop: str, **changes: Any) -> Body:
    """A valid gpt-4 event (cost BASE_COST), with fields changed or dropped."""
    body: Body = {
        "provider": "openai",
        "model": "gpt-4",
        "input_tokens": 1000,
        "output_tokens": 200,
        "endpoint": "/v1/chat/completions",
        "metadata": {"feature": "ingestion-tests"},
    }
    body.update(changes)
    for name in drop:
        del body[name]
    return body


def breakdown(**components: float) -> dict[str, float]:
    return {**ZERO_BREAKDOWN, **components}


def metadata_of_size(size: int) -> dict[str, str]:
    """A metadata object whose compact JSON form is exactly `size` bytes."""
    return {"blob": "x" * (size - len('{"blob":""}'))}


def wide_range() -> dict[str, str]:
    """Nearly the longest range the API allows (3 years), ending after the module's today."""
    today = SUITE_NOW.date()
    start, end = today - timedelta(days=1090), today + timedelta(days=1)
    return {"start_date": start.isoformat(), "end_date": end.isoformat()}


async def post(
    client: httpx.AsyncClient, key: str, body: Any, *, path: str = "/v1/track", **headers: str
) -> httpx.Response:
    return await client.post(path, headers={**bearer(key), **headers}, json=body)


async def usage_totals(client: httpx.AsyncClient, key: str) -> Body:
    response = await client.get("/v1/usage", headers=bearer(key), params=wide_range())
    assert response.status_code == 200, response.text
    return response.json()


async def stored_events(client: httpx.AsyncClient, key: str) -> list[Body]:
    params = {**wide_range(), "limit": "1000"}
    response = await client.get("/v1/usage/history", headers=bearer(key), params=params)
    assert response.status_code == 200, response.text
    return response.json()["events"]


async def assert_nothing_stored(client: httpx.AsyncClient, key: str) -> None:
    totals = await usage_totals(client, key)
    assert (totals["requests"], totals["tokens"], totals["cost"]) == (0, 0, 0.0)
    assert await stored_events(client, key) == []


async def cost_groups(client: httpx.AsyncClient, key: str, group_by: str) -> Body:
    params = {**wide_range(), "group_by": group_by}
    response = await client.get("/v1/costs", headers=bearer(key), params=params)
    assert response.status_code == 200, response.text
    return inexact(response.json())


def keyed(via: str, event_id: str, body: Body) -> tuple[Body, dict[str, str]]:
    """The body and headers naming event_id in the body or as the Idempotency-Key header."""
    if via == "event_id":
        return {**body, "event_id": event_id}, {}
    return body, {"Idempotency-Key": event_id}


def invalid_fields(response: httpx.Response) -> dict[str, str]:
    """The offending fields of a 400 invalid_input answer."""
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert isinstance(error["message"], str)
    assert error["message"]
    fields = error["details"]["fields"]
    assert isinstance(fields, dict)
    return fields


# The six provider examples of api-overview.md, verbatim, with their cost at today's prices.
DOCUMENTED_EXAMPLES: list[tuple[Body, float]] = [
    (
        {
            "provider": "openai",
            "model": "gpt-4",
            "input_tokens": 1500,
            "output_tokens": 500,
            "endpoint": "/v1/chat/completions",
            "metadata": {"user_id": "user_123", "session": "chat_456"},
        },
        0.075,  # 1500 * 30/M + 500 * 60/M
    ),
    (
        {
            "provider": "anthropic",
            "model": "claude-3-opus",
            "input_tokens": 2000,
            "output_tokens": 800,
            "endpoint": "/v1/messages",
            "metadata": {"user_id": "user_123", "purpose": "analysis"},
        },
        0.09,  # 2000 * 15/M + 800 * 75/M
    ),
    (
        {
            "provider": "google",
            "model": "gemini-pro",
            "input_tokens": 1200,
            "output_tokens": 600,
            "endpoint": "/v1beta/models/gemini-pro:generateContent",
            "metadata": {"user_id": "user_123", "project": "research"},
        },
        0.0015,  # 1200 * 0.50/M + 600 * 1.50/M
    ),
    (
        {
            "provider": "azure",
            "model": "gpt-4-turbo",
            "input_tokens": 1800,
            "output_tokens": 700,
            "endpoint": "/openai/deployments/gpt4/chat/completions",
            "metadata": {"deployment": "production", "region": "eastus"},
        },
        0.039,  # OpenAI's table: 1800 * 10/M + 700 * 30/M
    ),
    (
        {
            "provider": "mistral",
            "model": "mistral-large",
            "input_tokens": 900,
            "output_tokens": 400,
            "endpoint": "/v1/chat/completions",
            "metadata": {"team": "engineering"},
        },
        0.0042,  # 900 * 2/M + 400 * 6/M (price of 2024-09-18)
    ),
    (
        {
            "provider": "cohere",
            "model": "command-r-plus",
            "input_tokens": 1100,
            "output_tokens": 550,
            "endpoint": "/v1/generate",
            "metadata": {"task": "summarization", "language": "en"},
        },
        0.00825,  # 1100 * 2.50/M + 550 * 10/M (price of 2024-08-30)
    ),
]

# (changes, dropped fields, field the 400 must name): each makes one event invalid.
BAD_EVENTS = [
    pytest.param({}, ("provider",), "provider", id="missing-provider"),
    pytest.param({}, ("model",), "model", id="missing-model"),
    pytest.param({"provider": ""}, (), "provider", id="empty-provider"),
    pytest.param({"input_token": 1000}, ("input_tokens",), "input_token", id="typo-field"),
    pytest.param({"input_tokens": -1}, (), "input_tokens", id="negative"),
    pytest.param({"output_tokens": 1.5}, (), "output_tokens", id="fraction"),
    pytest.param({"input_tokens": "100"}, (), "input_tokens", id="string-count"),
    pytest.param({"input_tokens": True}, (), "input_tokens", id="boolean-count"),
    pytest.param({"input_tokens": 10**9 + 1}, (), "input_tokens", id="over-a-billion"),
    pytest.param({"reasoning_tokens": -5}, (), "reasoning_tokens", id="negative-reasoning"),
    pytest.param({"cached_input_tokens": 1001}, (), "cached_input_tokens", id="cached-over-input"),
    pytest.param({"cache_write_tokens": 1001}, (), "cache_write_tokens", id="write-over-input"),
    pytest.param({"reasoning_tokens": 201}, (), "reasoning_tokens", id="reasoning-over-output"),
    pytest.param({"metadata": "session=1"}, (), "metadata", id="metadata-string"),
    pytest.param({"metadata": ["a", "b"]}, (), "metadata", id="metadata-list"),
    pytest.param(
        {"metadata": metadata_of_size(MAX_METADATA_BYTES + 1)}, (), "metadata", id="metadata-16k+1"
    ),
    pytest.param({"timestamp": "yesterday"}, (), "timestamp", id="timestamp-words"),
    pytest.param({"timestamp": "2025-13-01T00:00:00Z"}, (), "timestamp", id="timestamp-month-13"),
    pytest.param({"timestamp": "2025-05-01T12:00:00"}, (), "timestamp", id="timestamp-no-offset"),
    pytest.param({"timestamp": 1746100800}, (), "timestamp", id="timestamp-number"),
    pytest.param(
        {"timestamp": (SUITE_NOW + timedelta(days=1)).isoformat()},
        (),
        "timestamp",
        id="timestamp-a-day-ahead",
    ),
]


# --- Documented examples, providers and pricing -------------------------------------------


@pytest.mark.parametrize(
    ("body", "cost"), DOCUMENTED_EXAMPLES, ids=[b["provider"] for b, _ in DOCUMENTED_EXAMPLES]
)
async def test_documented_example_is_stored_and_priced(
    client: httpx.AsyncClient, make_key: KeyFactory, body: Body, cost: float
) -> None:
    key = await make_key()
    response = await post(client, key, body)
    assert response.status_code == 201, response.text
    stored = response.json()
    assert stored["provider"] == body["provider"]
    assert stored["pricing_status"] == "priced"
    assert stored["cost"] == cost
    assert stored["cost_breakdown"]["input"] + stored["cost_breakdown"]["output"] == (
        pytest.approx(cost)
    )
    assert stored["metadata"] == body["metadata"]
    totals = await usage_totals(client, key)
    tokens = body["input_tokens"] + body["output_tokens"]
    assert (totals["requests"], totals["tokens"], totals["cost"]) == (1, tokens, cost)


async def test_documented_examples_add_up_per_provider_in_costs(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    expected: dict[str, Body] = {}
    for body, cost in DOCUMENTED_EXAMPLES:
        assert (await post(client, key, body)).status_code == 201
        tokens = body["input_tokens"] + body["output_tokens"]
        expected[body["provider"]] = {"total": cost, "tokens": tokens}
    assert await cost_groups(client, key, "provider") == expected


async def test_response_is_the_stored_event_with_its_price(
    client: httpx.AsyncClient, make_key: KeyFactory, clock: SettableClock
) -> None:
    key = await make_key()
    before = clock.now() - timedelta(milliseconds=1)  # stored to the millisecond
    response = await post(client, key, event())
    after = clock.now()
    assert response.status_code == 201, response.text
    body = response.json()
    assert isinstance(body["id"], str)
    assert body["id"]
    assert before <= datetime.fromisoformat(body["timestamp"]) <= after  # default: now
    assert body["cost"] == BASE_COST
    assert body["cost_breakdown"] == breakdown(input=0.03, output=0.012)
    assert body["pricing_status"] == "priced"
    price = body["price"]
    assert (price["provider"], price["model"]) == ("openai", "gpt-4")
    assert price["effective_from"] == "2023-03-14T00:00:00Z"
    assert (Decimal(price["input"]), Decimal(price["output"])) == (Decimal(30), Decimal(60))
    assert body["metadata"] == {"feature": "ingestion-tests"}
    assert (body["input_tokens"], body["output_tokens"]) == (1000, 200)
    [stored] = await stored_events(client, key)
    assert stored == stored_part(body)


async def test_answer_equals_the_event_read_back_to_the_millisecond(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    response = await post(client, key, event(timestamp="2025-05-01T12:00:00.123456Z"))
    assert response.status_code == 201, response.text
    [stored] = await stored_events(client, key)
    assert stored == stored_part(response.json())


async def test_post_usage_records_like_post_track(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    first = await post(client, key, event(event_id="shared-1"), path="/v1/usage")
    assert first.status_code == 201, first.text
    assert first.json()["cost"] == BASE_COST
    replay = await post(client, key, event(event_id="shared-1"), path="/v1/track")
    assert replay.status_code == 200, replay.text
    assert replay.json()["id"] == first.json()["id"]
    assert (await usage_totals(client, key))["requests"] == 1


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [("azure_openai", "azure"), ("gemini", "google"), ("vertex_ai", "google")],
)
async def test_provider_alias_is_stored_under_its_canonical_name(
    client: httpx.AsyncClient, make_key: KeyFactory, alias: str, canonical: str
) -> None:
    key = await make_key()
    body, cost = next((b, c) for b, c in DOCUMENTED_EXAMPLES if b["provider"] == canonical)
    response = await post(client, key, {**body, "provider": alias})
    assert response.status_code == 201, response.text
    assert (response.json()["provider"], response.json()["cost"]) == (canonical, cost)
    assert list(await cost_groups(client, key, "provider")) == [canonical]


@pytest.mark.parametrize(
    ("provider", "model"), [("openai", "gpt-unknown-9000"), ("acme-ai", "acme-large")]
)
async def test_unknown_model_is_stored_unpriced(
    client: httpx.AsyncClient, make_key: KeyFactory, provider: str, model: str
) -> None:
    key = await make_key()
    response = await post(client, key, event(provider=provider, model=model))
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["cost"], body["cost_breakdown"], body["price"]) == (None, None, None)
    assert body["pricing_status"] == "unpriced"
    totals = await usage_totals(client, key)
    assert (totals["requests"], totals["unpriced_requests"], totals["cost"]) == (1, 1, 0.0)


def at(day: str, provider: str, model: str, **tokens: int) -> Body:
    """An event at noon UTC on `day`; token keywords drop their `_tokens` suffix."""
    counts = {f"{kind}_tokens": count for kind, count in tokens.items()}
    return event(provider=provider, model=model, timestamp=f"{day}T12:00:00Z", **counts)


# (event, expected cost_breakdown, rates the price used must show), each by hand from the
# catalogue: cost = tokens * USD per 1M / 10^6 for each kind.
PRICING_CASES = [
    pytest.param(
        at("2025-03-01", "openai", "gpt-4o", input=10_000, cached_input=4_000, output=2_000),
        breakdown(input=0.015, cache_read=0.005, output=0.02),
        {"input": "2.50", "cached_input": "1.25", "output": "10"},
        id="gpt-4o-cache-read-at-1.25",
    ),
    pytest.param(
        at(
            "2025-01-15",
            "anthropic",
            "claude-3-opus",
            input=10_000,
            cached_input=2_000,
            cache_write=4_000,
            output=1_000,
        ),
        breakdown(input=0.06, cache_read=0.003, cache_write=0.075, output=0.075),
        {"input": "15", "cached_input": "1.50", "cache_write": "18.75"},  # write = 1.25x input
        id="claude-cache-write-at-1.25x",
    ),
    pytest.param(
        at("2025-05-01", "google", "gemini-2.5-flash", input=10_000, output=5_000, reasoning=3_000),
        breakdown(input=0.0015, output=0.0012, reasoning=0.0105),
        {"input": "0.15", "output": "0.60", "reasoning": "3.50"},
        id="gemini-2.5-flash-preview-reasoning-rate",
    ),
    pytest.param(
        at("2025-08-01", "google", "gemini-2.5-flash", input=10_000, output=5_000, reasoning=3_000),
        breakdown(input=0.003, output=0.005, reasoning=0.0075),
        {"input": "0.30", "output": "2.50", "reasoning": "2.50"},
        id="gemini-2.5-flash-ga-reasoning-as-output",
    ),
    pytest.param(
        at("2024-06-01", "openai", "gpt-4o", input=1_000, output=1_000),
        breakdown(input=0.005, output=0.015),
        {"input": "5", "output": "15", "effective_from": "2024-05-13T00:00:00Z"},
        id="gpt-4o-before-price-cut",
    ),
    pytest.param(
        at("2024-10-02", "openai", "gpt-4o", input=1_000, output=1_000),
        breakdown(input=0.0025, output=0.01),
        {"input": "2.50", "output": "10", "effective_from": "2024-10-02T00:00:00Z"},
        id="gpt-4o-after-price-cut",
    ),
    pytest.param(
        at(
            "2025-01-15",
            "google",
            "gemini-1.5-pro",
            input=200_000,
            cached_input=100_000,
            output=1_000,
        ),
        breakdown(input=0.25, cache_read=0.0625, output=0.01),
        {"input": "2.50", "cached_input": "0.625", "output": "10", "long_context": True},
        id="gemini-1.5-pro-long-context",
    ),
    pytest.param(
        at("2025-01-15", "google", "gemini-1.5-pro", input=128_000, output=1_000),
        breakdown(input=0.16, output=0.005),
        {"input": "1.25", "output": "5", "long_context": False},
        id="gemini-1.5-pro-at-128k-is-not-long",
    ),
    pytest.param(
        at("2025-05-01", "google", "gemini-2.5-flash", input=7, output=3),
        breakdown(input=0.000001, output=0.000002),  # 1.05e-6 and 1.8e-6
        {"input": "0.15"},
        id="sub-micro-amounts-rounded-to-6-decimals",
    ),
]


@pytest.mark.parametrize(("body", "expected", "rates"), PRICING_CASES)
async def test_each_token_kind_is_priced_at_its_own_rate(
    client: httpx.AsyncClient,
    make_key: KeyFactory,
    body: Body,
    expected: dict[str, float],
    rates: Body,
) -> None:
    key = await make_key()
    response = await post(client, key, body)
    assert response.status_code == 201, response.text
    stored = response.json()
    assert stored["timestamp"] == body["timestamp"]
    assert stored["cost_breakdown"] == expected
    total = float(
        sum((Decimal(str(v)) for v in expected.values()), Decimal(0)).quantize(Decimal("1e-6"))
    )
    assert stored["cost"] == total
    for name, rate in rates.items():
        if isinstance(rate, str) and name != "effective_from":
            assert Decimal(stored["price"][name]) == Decimal(rate), name
        else:
            assert stored["price"][name] == rate, name


# --- Who spent it -----------------------------------------------------------------------


async def test_team_and_user_from_metadata_are_stored_and_grouped(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    from_metadata = await post(client, key, event(metadata={"team_id": "search", "user_id": "u1"}))
    assert from_metadata.status_code == 201, from_metadata.text
    assert (from_metadata.json()["team_id"], from_metadata.json()["user_id"]) == ("search", "u1")
    top_level = await post(client, key, event(team_id="ads", user_id="u2", input_tokens=2000))
    assert (top_level.json()["team_id"], top_level.json()["user_id"]) == ("ads", "u2")
    await post(client, key, event(metadata={"team_id": "search", "user_id": "u3"}))

    assert await cost_groups(client, key, "team") == {
        "search": {"total": 2 * BASE_COST, "tokens": 2 * BASE_TOKENS},
        "ads": {"total": 0.072, "tokens": 2200},
    }
    assert set(await cost_groups(client, key, "user")) == {"u1", "u2", "u3"}
    stored = {e["user_id"]: e["team_id"] for e in await stored_events(client, key)}
    assert stored == {"u1": "search", "u2": "ads", "u3": "search"}


# --- Idempotency --------------------------------------------------------------------------


@pytest.mark.parametrize("via", ["event_id", "idempotency_key"])
async def test_replayed_event_id_is_counted_once(
    client: httpx.AsyncClient, make_key: KeyFactory, via: str
) -> None:
    key = await make_key()
    body, headers = keyed(via, "req-1", event())
    first = await post(client, key, body, **headers)
    assert first.status_code == 201, first.text
    assert first.json()["event_id"] == "req-1"
    replay = await post(client, key, body, **headers)
    assert replay.status_code == 200, replay.text
    for name in ("id", "event_id", "timestamp", "cost"):
        assert replay.json()[name] == first.json()[name]
    totals = await usage_totals(client, key)
    assert (totals["requests"], totals["cost"]) == (1, BASE_COST)


@pytest.mark.parametrize("via", ["event_id", "idempotency_key"])
async def test_concurrent_duplicates_are_stored_once(
    client: httpx.AsyncClient, make_key: KeyFactory, via: str
) -> None:
    key = await make_key()
    body, headers = keyed(via, "burst-1", event())
    responses = await asyncio.gather(*(post(client, key, body, **headers) for _ in range(20)))
    assert sorted(r.status_code for r in responses) == [200] * 19 + [201]
    assert len({r.json()["id"] for r in responses}) == 1
    totals = await usage_totals(client, key)
    assert (totals["requests"], totals["tokens"], totals["cost"]) == (1, BASE_TOKENS, BASE_COST)
    assert len(await stored_events(client, key)) == 1


@pytest.mark.parametrize("via", ["event_id", "idempotency_key"])
async def test_same_event_id_with_another_body_conflicts(
    client: httpx.AsyncClient, make_key: KeyFactory, via: str
) -> None:
    key = await make_key()
    first_body, headers = keyed(via, "req-9", event())
    assert (await post(client, key, first_body, **headers)).status_code == 201
    other_body, headers = keyed(via, "req-9", event(input_tokens=5000))
    response = await post(client, key, other_body, **headers)
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "idempotency_conflict"
    totals = await usage_totals(client, key)
    assert (totals["requests"], totals["tokens"], totals["cost"]) == (1, BASE_TOKENS, BASE_COST)


@pytest.mark.parametrize(
    "batch_ids", [["new-1", "new-2", "old"], ["old", "new-1"], ["old"]], ids=str
)
async def test_conflict_inside_a_batch_stores_nothing_of_it(
    client: httpx.AsyncClient, make_key: KeyFactory, batch_ids: list[str]
) -> None:
    key = await make_key()
    assert (await post(client, key, event(event_id="old"))).status_code == 201
    batch = [event(event_id=i, output_tokens=7 if i == "old" else 200) for i in batch_ids]
    response = await post(client, key, {"events": batch})
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "idempotency_conflict"
    assert [e["event_id"] for e in await stored_events(client, key)] == ["old"]
    totals = await usage_totals(client, key)
    assert (totals["requests"], totals["cost"]) == (1, BASE_COST)


# --- Batches ------------------------------------------------------------------------------


async def test_batch_answers_events_count_and_replayed(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    claude = {"provider": "anthropic", "model": "claude-3-opus"}
    first = await post(
        client, key, {"events": [event(event_id="a"), event(event_id="b", **claude)]}
    )
    assert first.status_code == 201, first.text
    body = first.json()
    assert set(body) == {"events", "count", "replayed", "over_budget", "over_budget_ids"}
    assert (body["count"], body["replayed"]) == (2, 0)
    assert [(e["event_id"], e["cost"]) for e in body["events"]] == [("a", BASE_COST), ("b", 0.03)]

    replay = await post(
        client, key, {"events": [event(event_id="a"), event(event_id="b", **claude)]}
    )
    assert replay.status_code == 200, replay.text
    assert (replay.json()["count"], replay.json()["replayed"]) == (2, 2)
    assert [e["id"] for e in replay.json()["events"]] == [e["id"] for e in body["events"]]

    mixed = await post(client, key, {"events": [event(event_id="a"), event(event_id="c")]})
    assert mixed.status_code == 201, mixed.text
    assert (mixed.json()["count"], mixed.json()["replayed"]) == (2, 1)
    totals = await usage_totals(client, key)
    assert (totals["requests"], totals["cost"]) == (3, 2 * BASE_COST + 0.03)


async def test_batch_of_1000_events_is_accepted(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    batch = [event(input_tokens=10, output_tokens=0) for _ in range(1000)]
    response = await post(client, key, {"events": batch})
    assert response.status_code == 201, response.text
    assert (response.json()["count"], response.json()["replayed"]) == (1000, 0)
    totals = await usage_totals(client, key)
    assert (totals["requests"], totals["tokens"], totals["cost"]) == (1000, 10_000, 0.3)


# --- Bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize("in_batch", [False, True], ids=["single", "batch"])
@pytest.mark.parametrize(("changes", "drop", "field"), BAD_EVENTS)
async def test_bad_event_is_refused_naming_the_field_and_nothing_is_stored(
    client: httpx.AsyncClient,
    make_key: KeyFactory,
    changes: Body,
    drop: tuple[str, ...],
    field: str,
    in_batch: bool,
) -> None:
    key = await make_key()
    bad = event(*drop, **changes)
    if in_batch:  # valid events around it: the batch is all or nothing
        body: Body = {"events": [event(), event(), event(), bad, event()]}
        field = f"events[3].{field}"
    else:
        body = bad
    assert field in invalid_fields(await post(client, key, body))
    await assert_nothing_stored(client, key)


async def test_batch_names_every_offending_event(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    batch = [event(), event("model"), event(), event(input_tokens=-1)]
    fields = invalid_fields(await post(client, key, {"events": batch}))
    assert {"events[1].model", "events[3].input_tokens"} <= set(fields)
    await assert_nothing_stored(client, key)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"events": [event() for _ in range(1001)]}, "events", id="1001-events"),
        pytest.param({"events": []}, "events", id="no-events"),
        pytest.param({"events": event()}, "events", id="events-not-a-list"),
        pytest.param({"events": [event()], "source": "sdk"}, "source", id="unknown-batch-field"),
        pytest.param({"events": [event(), "not an event"]}, "events[1]", id="event-not-object"),
    ],
)
async def test_malformed_batch_is_refused(
    client: httpx.AsyncClient, make_key: KeyFactory, body: Body, field: str
) -> None:
    key = await make_key()
    assert field in invalid_fields(await post(client, key, body))
    await assert_nothing_stored(client, key)


@pytest.mark.parametrize(
    "content",
    [b"provider=openai&model=gpt-4", b'{"provider": "openai",', b"", b"\xff\xfe{}"],
    ids=["form-encoded", "truncated", "empty", "not-utf8"],
)
async def test_body_that_is_not_json_is_refused(
    client: httpx.AsyncClient, make_key: KeyFactory, content: bytes
) -> None:
    key = await make_key()
    headers = {**bearer(key), "Content-Type": "application/json"}
    invalid_fields(await client.post("/v1/track", headers=headers, content=content))
    await assert_nothing_stored(client, key)


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
async def test_body_over_one_megabyte_is_refused(
    client: httpx.AsyncClient, make_key: KeyFactory, declared: bool
) -> None:
    key = await make_key()
    # Every event is valid on its own; only the body size (about 1.1 MB) is wrong.
    batch = [event(metadata=metadata_of_size(14_000)) for _ in range(80)]
    raw = json.dumps({"events": batch}).encode()
    assert len(raw) > 1_048_576

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(raw), 65_536):
            yield raw[start : start + 65_536]

    headers = {**bearer(key), "Content-Type": "application/json"}
    content = raw if declared else chunks()
    response = await client.post("/v1/track", headers=headers, content=content)
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "payload_too_large"
    await assert_nothing_stored(client, key)


@pytest.mark.parametrize(
    ("changes", "check"),
    [
        pytest.param({"input_tokens": 10**9}, ("cost", 30_000.012), id="a-billion-tokens"),
        pytest.param(
            {"metadata": metadata_of_size(MAX_METADATA_BYTES)},
            ("metadata", metadata_of_size(MAX_METADATA_BYTES)),
            id="metadata-exactly-16k",
        ),
        pytest.param(
            {"cached_input_tokens": 600, "cache_write_tokens": 400},
            ("cached_input_tokens", 600),
            id="cache-read-plus-write-equal-input",
        ),
        pytest.param({"reasoning_tokens": 200}, ("reasoning_tokens", 200), id="all-reasoning"),
        pytest.param(
            {"timestamp": "2025-05-01T14:00:00+02:00"},
            ("timestamp", "2025-05-01T12:00:00Z"),
            id="offset-timestamp-stored-in-utc",
        ),
    ],
)
async def test_edge_values_are_accepted(
    client: httpx.AsyncClient, make_key: KeyFactory, changes: Body, check: tuple[str, Any]
) -> None:
    key = await make_key()
    response = await post(client, key, event(**changes))
    assert response.status_code == 201, response.text
    name, value = check
    assert response.json()[name] == value


async def test_timestamp_a_minute_ahead_is_tolerated(
    client: httpx.AsyncClient, make_key: KeyFactory, clock: SettableClock
) -> None:
    key = await make_key()
    ahead = (clock.now() + timedelta(minutes=1)).isoformat(timespec="milliseconds")
    response = await post(client, key, event(timestamp=ahead))
    assert response.status_code == 201, response.text
    assert datetime.fromisoformat(response.json()["timestamp"]) == datetime.fromisoformat(ahead)


async def test_a_litellm_price_file_becomes_prices_and_bad_files_are_refused_whole(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    entry = {
        "litellm_provider": "openai",
        "mode": "chat",
        "input_cost_per_token": 4e-07,
        "output_cost_per_token": 1.6e-06,
    }
    for body, param, field in [
        (b"[1, 2]", "", "file"),
        (b"{not json", "", "body"),
        (json.dumps({"ft:house": entry}).encode(), "?dry_run=perhaps", "dry_run"),
    ]:
        refused = await client.post(f"/v1/prices/import{param}", headers=bearer(key), content=body)
        assert refused.status_code == 400, body
        assert field in refused.json()["error"]["details"]["fields"]
    prices = await client.get("/v1/prices", headers=bearer(key), params={"provider": "openai"})
    assert "ft:house" not in {price["model"] for price in prices.json()["prices"]}

    answer = await client.post(
        "/v1/prices/import", headers=bearer(key), json={"ft:house": entry, "bad": {"mode": "chat"}}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "dry_run": False,
        "imported": [{"provider": "openai", "model": "ft:house"}],
        "skipped": {"bad": "no provider or no per-token input and output cost"},
        "repriced": 0,
    }
    prices = await client.get("/v1/prices", headers=bearer(key), params={"provider": "openai"})
    [house] = [price for price in prices.json()["prices"] if price["model"] == "ft:house"]
    assert (house["input"], house["output"], house["origin"]) == ("0.4", "1.6", "override")


async def test_litellm_entries_of_the_wrong_shape_are_skipped_with_a_reason(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    costs = {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06}
    document = {
        "listed-mode": {"litellm_provider": "openai", "mode": ["chat"], **costs},
        "image-mode": {"litellm_provider": "openai", "mode": "image_generation", **costs},
        "object-provider": {"litellm_provider": {"name": "openai"}, "mode": "chat", **costs},
        "huge": {
            "litellm_provider": "openai",
            "input_cost_per_token": 10**400,
            "output_cost_per_token": 1e308,
        },
    }
    answer = await client.post("/v1/prices/import", headers=bearer(key), json=document)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["imported"] == []
    skipped = report["skipped"]
    assert skipped["listed-mode"] == 'mode ["chat"] is not a text model'
    assert skipped["image-mode"] == "mode image_generation is not a text model"
    assert skipped["object-provider"] == "no provider or no per-token input and output cost"
    assert "input" in skipped["huge"]
    prices = await client.get("/v1/prices", headers=bearer(key), params={"provider": "openai"})
    assert not {"huge", "listed-mode"} & {price["model"] for price in prices.json()["prices"]}
