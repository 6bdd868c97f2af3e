"""Tracking through either door: each event comes back priced to the nano-dollar and reads back
the same through costs and usage; replays count once, batches are all or nothing, bad events
are refused naming the same field, unknown models are stored unpriced, roles are kept, and a
tiny amount rounds half-even the same way everywhere.

Amounts come from catalogue prices (USD per 1M tokens), worked out beside MIXED_EVENTS.
"""

from __future__ import annotations

from typing import Any

import pytest

from meterr.auth import Role
from tests.conftest import KeyFactory
from tests.support.doors import Door, costs_through
from tests.support.events import MIXED_EVENTS

JsonObject = dict[str, Any]

AUGUST = {"start_date": "2025-08-01", "end_date": "2025-08-14"}

# (team_id, user_id, cost, cost_breakdown) of each of MIXED_EVENTS, as tracked.
MIXED_AS_TRACKED: list[tuple[str | None, str | None, float | None, JsonObject | None]] = [
    (None, "user_123", 0.075, {"input": 0.045, "output": 0.03}),
    (None, "user_123", 0.09, {"input": 0.03, "output": 0.06}),
    (None, None, 0.0015, {"input": 0.0006, "output": 0.0009}),
    (None, None, 0.039, {"input": 0.018, "output": 0.021}),
    ("engineering", None, 0.0042, {"input": 0.0018, "output": 0.0024}),
    (None, None, 0.00825, {"input": 0.00275, "output": 0.0055}),
    (None, None, 0.3, {"input": 0.09, "output": 0.06, "cache_read": 0.03, "reasoning": 0.12}),
    # 0.0000375375 and 0.00004995 kept to the nano-dollar, each shown to six decimals.
    (None, None, 0.000087, {"input": 0.000038, "output": 0.00005}),
    (None, None, None, None),
]

MIXED_BY_PROVIDER = {
    "openai": {"total": 0.375, "tokens": 15_550},
    "anthropic": {"total": 0.09, "tokens": 2800},
    "azure": {"total": 0.039, "tokens": 2500},
    "cohere": {"total": 0.008337, "tokens": 2984},
    "mistral": {"total": 0.0042, "tokens": 1300},
    "google": {"total": 0.0015, "tokens": 1800},
}

MIXED_BY_MODEL = {
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

MIXED_TOTALS = {
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

TOKEN_KINDS = (
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
)


def breakdown(parts: JsonObject | None) -> JsonObject | None:
    if parts is None:
        return None
    kinds = ("input", "output", "cache_read", "cache_write", "reasoning")
    return {kind: parts.get(kind, 0.0) for kind in kinds}


async def test_each_event_comes_back_priced_and_reads_back_in_costs_and_usage(
    door: Door, make_key: KeyFactory
) -> None:
    key = await make_key()
    # The first six one by one, the rest as a batch.
    tracked = [(await door.track(key, body)).value() for body in MIXED_EVENTS[:6]]
    tracked += (await door.track_batch(key, MIXED_EVENTS[6:])).value()

    for body, event, (team, user, cost, parts) in zip(
        MIXED_EVENTS, tracked, MIXED_AS_TRACKED, strict=True
    ):
        given = {name: value for name, value in body.items() if name not in TOKEN_KINDS}
        assert {name: event[name] for name in given} == given
        assert {kind: event[kind] for kind in TOKEN_KINDS} == {
            kind: body.get(kind, 0) for kind in TOKEN_KINDS
        }
        assert (event["team_id"], event["user_id"]) == (team, user), body["event_id"]
        assert event["cost"] == cost, body["event_id"]
        assert event["cost_breakdown"] == breakdown(parts), body["event_id"]
        assert event["pricing_status"] == ("unpriced" if cost is None else "priced")
        assert event["replayed"] is False

    by_provider = await costs_through(door, key, group_by="provider", **AUGUST)
    assert by_provider == MIXED_BY_PROVIDER
    assert list(by_provider) == list(MIXED_BY_PROVIDER), "largest cost first"
    by_model = await costs_through(door, key, group_by="model", **AUGUST)
    assert by_model == MIXED_BY_MODEL
    assert list(by_model) == list(MIXED_BY_MODEL), "largest cost first"

    usage = (await door.usage(key, **AUGUST)).value()
    assert {name: usage[name] for name in MIXED_TOTALS} == MIXED_TOTALS
    assert {name: group["cost"] for name, group in usage["providers"].items()} == {
        name: group["total"] for name, group in MIXED_BY_PROVIDER.items()
    }


async def test_a_replay_is_counted_once_and_a_changed_body_conflicts(
    door: Door, make_key: KeyFactory
) -> None:
    key = await make_key()
    first = (await door.track(key, MIXED_EVENTS[0])).value()
    again = (await door.track(key, MIXED_EVENTS[0])).value()
    assert (first["replayed"], again["replayed"]) == (False, True)
    assert again["id"] == first["id"]
    assert again["cost"] == 0.075

    changed = await door.track(key, {**MIXED_EVENTS[0], "input_tokens": 1501})
    assert changed.code == "idempotency_conflict"

    assert await costs_through(door, key, **AUGUST) == {"openai": {"total": 0.075, "tokens": 2000}}


async def test_the_same_idempotency_key_replays(door: Door, make_key: KeyFactory) -> None:
    key = await make_key()
    body = {
        "provider": "openai",
        "model": "gpt-4",
        "input_tokens": 1000,
        "timestamp": "2025-01-20T08:30:00Z",
    }
    first = (await door.track(key, body, idempotency_key="req-42")).value()
    again = (await door.track(key, body, idempotency_key="req-42")).value()
    assert (first["replayed"], again["replayed"]) == (False, True)
    assert again["id"] == first["id"]
    assert again["event_id"] == "req-42"
    day = {"start_date": "2025-01-20", "end_date": "2025-01-20"}
    assert await costs_through(door, key, **day) == {"openai": {"total": 0.03, "tokens": 1000}}


async def test_a_batch_is_all_or_nothing(door: Door, make_key: KeyFactory) -> None:
    key = await make_key()
    good = {
        "provider": "openai",
        "model": "gpt-4",
        "input_tokens": 1000,
        "timestamp": "2025-01-21T08:00:00Z",
    }
    bad = {**good, "input_tokens": 10, "cached_input_tokens": 20}
    refused = await door.track_batch(key, [good, bad])
    assert (refused.code, refused.fields) == ("invalid_input", {"events[1].cached_input_tokens"})
    day = {"start_date": "2025-01-21", "end_date": "2025-01-21"}
    assert await costs_through(door, key, **day) == {}

    tracked = (await door.track_batch(key, [good, {**good, "model": "gpt-4-turbo"}])).value()
    assert [event["cost"] for event in tracked] == [0.03, 0.01]
    assert [event["replayed"] for event in tracked] == [False, False]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param({"input_tokens": -1}, "input_tokens", id="negative-tokens"),
        pytest.param({"input_tokens": 10**9 + 1}, "input_tokens", id="over-a-billion"),
        pytest.param(
            {"output_tokens": 5, "reasoning_tokens": 6}, "reasoning_tokens", id="reasoning-over"
        ),
        pytest.param({"cached_input_tokens": 11}, "cached_input_tokens", id="cached-over"),
        pytest.param({"provider": ""}, "provider", id="empty-provider"),
        pytest.param({"model": ""}, "model", id="empty-model"),
        pytest.param({"metadata": "session=1"}, "metadata", id="metadata-string"),
        pytest.param({"timestamp": "2025-08-05 10:00"}, "timestamp", id="timestamp-no-t"),
        pytest.param({"timestamp": "2025-13-01T00:00:00Z"}, "timestamp", id="month-13"),
    ],
)
async def test_a_bad_event_is_refused_naming_the_same_field(
    door: Door, make_key: KeyFactory, changes: JsonObject, field: str
) -> None:
    key = await make_key()
    body = {"provider": "openai", "model": "gpt-4", "input_tokens": 10, **changes}
    answer = await door.track(key, body)
    assert (answer.code, answer.fields) == ("invalid_input", {field})
    assert (await door.usage(key)).value()["requests"] == 0, "nothing is stored"


async def test_unknown_providers_and_models_are_stored_unpriced(
    door: Door, make_key: KeyFactory
) -> None:
    key = await make_key()
    at = "2025-08-05T10:00:00Z"
    unknown = [
        {"provider": "acme", "model": "m-1", "input_tokens": 5, "timestamp": at},
        {"provider": "openai", "model": "in-house-llm", "input_tokens": 7, "timestamp": at},
    ]
    for body in unknown:
        event = (await door.track(key, body)).value()
        assert (event["provider"], event["model"]) == (body["provider"], body["model"])
        assert (event["cost"], event["cost_breakdown"], event["price"]) == (None, None, None)
        assert event["pricing_status"] == "unpriced"
    assert await costs_through(door, key, group_by="model", **AUGUST) == {
        "in-house-llm": {"total": 0.0, "tokens": 7},
        "m-1": {"total": 0.0, "tokens": 5},
    }
    usage = (await door.usage(key, **AUGUST)).value()
    assert (usage["requests"], usage["unpriced_requests"], usage["cost"]) == (2, 2, 0.0)


async def test_a_read_key_may_not_track_and_a_write_key_may_not_read(
    door: Door, make_key: KeyFactory
) -> None:
    reader = await make_key(role=Role.READ)
    assert (await door.track(reader, MIXED_EVENTS[1])).code == "forbidden"
    assert (await door.track_batch(reader, MIXED_EVENTS[:2])).code == "forbidden"
    assert (await door.costs(reader)).ok

    writer = await make_key(role=Role.WRITE)
    assert (await door.track(writer, MIXED_EVENTS[1])).ok
    for refused in (
        await door.costs(writer, **AUGUST),
        await door.usage(writer),
        await door.history(writer),
        await door.events(writer),
        await door.budgets(writer),
    ):
        assert refused.code == "forbidden", refused


async def test_a_half_micro_dollar_rounds_half_even_through_every_answer(
    door: Door, make_key: KeyFactory
) -> None:
    # gpt-4o input is $2.50 per million tokens: one token costs $0.0000025, which rounds
    # half-even to $0.000002 (a float's rounding took it up to 0.000003).
    key = await make_key()
    budget = (await door.create_budget(key, {"name": "tiny", "limit": "0.000001"})).value()
    one_token = {"provider": "openai", "model": "gpt-4o", "input_tokens": 1}
    event = (await door.track(key, one_token)).value()
    assert event["cost"] == 0.000002
    assert event["cost_breakdown"]["input"] == 0.000002
    assert await costs_through(door, key) == {"openai": {"total": 0.000002, "tokens": 1}}
    assert (await door.usage(key)).value()["cost"] == 0.000002
    [point] = [p for p in (await door.history(key)).value() if p["requests"]]
    assert point["cost"] == 0.000002
    spent = (await door.budget(key, budget["id"])).value()
    assert (spent["current"], spent["exceeded"]) == (0.000002, True)
