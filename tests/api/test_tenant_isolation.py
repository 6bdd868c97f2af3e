"""One organization never sees another's events, whatever it asks and however (gpt-4 input at
30 USD per 1M tokens).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import KeyFactory
from tests.support.graphql import (
    EVENTS,
    HISTORY,
    USAGE,
    costs_gql,
    data_of,
    key_total_tokens,
    track_gql,
)
from tests.support.rest import costs, get_ok, history, track, track_batch
from tests.support.seeds import seed_january

JsonObject = dict[str, Any]


async def test_queries_never_show_another_organizations_events(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    mine = await make_key(team_id="shared-team")
    theirs = await make_key(team_id="shared-team")
    ts = "2025-10-01T12:00:00Z"
    # Mine: gpt-4 1000 * 30 = 0.03. Theirs: the same model plus another provider.
    await track(
        client,
        mine,
        provider="openai",
        model="gpt-4",
        input_tokens=1000,
        user_id="same-user",
        metadata={"feature": "x"},
        timestamp=ts,
    )
    their_events = await track_batch(
        client,
        theirs,
        [
            {
                "provider": "openai",
                "model": "gpt-4",
                "input_tokens": 50_000,
                "user_id": "same-user",
                "metadata": {"feature": "x"},
                "timestamp": ts,
            },
            {
                "provider": "anthropic",
                "model": "claude-3-opus",
                "input_tokens": 9000,
                "timestamp": "2025-10-01T12:00:01Z",
            },
        ],
    )
    window = {"start_date": "2025-10-01", "end_date": "2025-10-01"}

    for group_by, key in [
        ("provider", "openai"),
        ("model", "gpt-4"),
        ("team", "shared-team"),
        ("user", "same-user"),
        ("day", "2025-10-01"),
        ("metadata.feature", "x"),
    ]:
        assert await costs(client, mine, group_by=group_by, **window) == {
            key: {"total": 0.03, "tokens": 1000}
        }, group_by
    assert await costs(client, mine, group_by="model", team_id="shared-team", **window) == {
        "gpt-4": {"total": 0.03, "tokens": 1000}
    }
    unaligned = {"start_date": "2025-10-01T11:59:59.5Z", "end_date": "2025-10-01T12:00:02.5Z"}
    assert await costs(client, mine, **unaligned) == {"openai": {"total": 0.03, "tokens": 1000}}

    usage = await get_ok(client, mine, "/v1/usage", window)
    assert (usage["requests"], usage["input_tokens"], usage["cost"]) == (1, 1000, 0.03)
    assert list(usage["providers"]) == ["openai"]

    body = await history(client, mine, interval="day", **window)
    assert [point["requests"] for point in body["series"]] == [1]
    assert [event["input_tokens"] for event in body["events"]] == [1000]

    # Their cursor, pointing past their newest event, shows nothing of theirs to me.
    their_page = await history(client, theirs, limit=1, **window)
    assert their_page["events"][0]["id"] == their_events[1]["id"]
    through_mine = await history(client, mine, cursor=their_page["next_cursor"], **window)
    assert [event["input_tokens"] for event in through_mine["events"]] == [1000]


@pytest.fixture(scope="module")
async def january_key(client: httpx.AsyncClient, make_key: KeyFactory) -> str:
    """Events in January 2024, plus one on 1 February."""
    return await seed_january(client, make_key)


async def test_graphql_queries_never_show_another_organizations_events(
    client: httpx.AsyncClient, make_key: KeyFactory, january_key: str
) -> None:
    other = await make_key()
    await track_gql(
        client,
        other,
        {
            "provider": "openai",
            "model": "gpt-4",
            "input_tokens": 7,
            "timestamp": "2024-01-15T12:00:00Z",
        },
    )
    window = {"start": "2024-01-01", "end": "2024-01-31"}
    assert key_total_tokens(await costs_gql(client, other, **window)) == [
        {"key": "openai", "total": 0.00021, "tokens": 7}
    ]
    usage = await data_of(client, other, USAGE, window)
    assert usage["usage"]["totals"]["requests"] == 1
    events = await data_of(client, other, EVENTS, {**window, "first": 100})
    assert [node["inputTokens"] for node in events["events"]["nodes"]] == [7]
    history = await data_of(client, other, HISTORY, {**window, "interval": "month"})
    assert [p["requests"] for p in history["usageHistory"]] == [1]
    # And the January organization still sees only its own three events.
    mine = await data_of(client, january_key, USAGE, window)
    assert mine["usage"]["totals"]["requests"] == 3
