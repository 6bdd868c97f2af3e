"""History pages over ranges dense and sparse: every event once, newest first, with filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from meterr.auth import Role, hash_key
from meterr.store import Store
from tests.conftest import KeyFactory, bearer
from tests.support.rest import history, track_batch

JsonObject = dict[str, Any]

END = datetime(2026, 3, 1, tzinfo=UTC)


def stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def spread() -> list[datetime]:
    """A burst in the range's last minute (ties included), a day's trickle, then events
    months and years back."""
    burst = [END - timedelta(seconds=30, milliseconds=i % 4) for i in range(40)]
    trickle = [END - timedelta(hours=h, minutes=7) for h in range(1, 25)]
    far = [END - timedelta(days=d) for d in (40, 41, 200, 700, 1000)]
    return burst + trickle + far


async def walk(client: httpx.AsyncClient, key: str, params: dict[str, Any]) -> list[Any]:
    seen, cursor = [], None
    for _ in range(100):
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get("/v1/usage/history", headers=bearer(key), params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["events"]) <= int(params["limit"])
        seen += body["events"]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("the walk did not end")


@pytest.mark.parametrize("limit", [1, 7, 50, 1000])
async def test_a_walk_over_a_burst_a_trickle_and_years_shows_each_event_once(
    client: httpx.AsyncClient, make_key: KeyFactory, limit: int
) -> None:
    key = await make_key()
    moments = spread()
    events = [
        {"provider": "openai", "model": "gpt-4o", "input_tokens": 10 + i,
         "team_id": f"team_{i % 2}", "timestamp": stamp(at)}
        for i, at in enumerate(moments)
    ]  # fmt: skip
    tracked = await client.post("/v1/track", headers=bearer(key), json={"events": events})
    assert tracked.status_code == 201, tracked.text
    window = {"start_date": "2023-06-01", "end_date": "2026-02-28", "limit": str(limit)}

    seen = await walk(client, key, window)
    assert len(seen) == len(events)
    assert len({event["id"] for event in seen}) == len(events)
    order = [(event["timestamp"], event["id"]) for event in seen]
    assert order == sorted(order, reverse=True)

    team = await walk(client, key, {**window, "team_id": "team_1"})
    assert sorted(e["input_tokens"] for e in team) == [10 + i for i in range(1, len(events), 2)]


async def test_the_tracked_events_feed_pages_back_by_number_through_a_sparse_team(
    client: httpx.AsyncClient, make_key: KeyFactory, store: Store
) -> None:
    org = f"numbered-{id(client)}"
    key = await make_key(org=org)
    events: list[dict[str, Any]] = [
        {"provider": "openai", "model": "gpt-4o", "input_tokens": i, "output_tokens": 1,
         "team_id": "rare" if i % 37 == 0 else "common", "event_id": f"n-{i}"}
        for i in range(1, 400)
    ]  # fmt: skip
    for start in range(0, len(events), 100):
        batch = {"events": events[start : start + 100]}
        assert (await client.post("/v1/track", headers=bearer(key), json=batch)).is_success
    team_key = await make_key(org=org, role=Role.MEMBER, team_id="rare")
    # A team member's key, as an accepted invitation makes it: it sees its own team only.
    confined = {"$set": {"confined": True}}
    await store.organizations.api_keys.update_one({"key_hash": hash_key(team_key)}, confined)

    async def pages(key: str, limit: int) -> list[str]:
        seen, cursor = [], None
        for _ in range(500):
            params: dict[str, str | int] = {
                "type": "usage.tracked",
                "limit": limit,
                **({"cursor": cursor} if cursor else {}),
            }
            response = await client.get("/v1/events", headers=bearer(key), params=params)
            assert response.status_code == 200, response.text
            seen += [item["data"]["event_id"] for item in response.json()["events"]]
            cursor = response.json()["next_cursor"]
            if cursor is None:
                return seen
        raise AssertionError("the pages never ended")

    everything = [event["event_id"] for event in reversed(events)]
    assert await pages(key, 50) == everything
    assert await pages(team_key, 3) == [e for e in everything if int(e[2:]) % 37 == 0]


@pytest.fixture(scope="module")
async def paged_key(client: httpx.AsyncClient, make_key: KeyFactory) -> tuple[str, list[str]]:
    """25 events, several sharing a timestamp, in one day; returns the key and event ids."""
    key = await make_key()
    tracked = await track_batch(
        client,
        key,
        [
            {
                "provider": "openai",
                "model": "gpt-4",
                "input_tokens": 10 + i,
                # Groups of three share a second: ordering must break ties.
                "timestamp": f"2025-09-09T{8 + i // 12:02d}:{(i // 3) % 60:02d}:00Z",
            }
            for i in range(25)
        ],
    )
    return key, [event["id"] for event in tracked]


@pytest.mark.parametrize("limit", [1, 3, 7, 24, 25, 1000])
async def test_history_cursor_walk_yields_every_event_exactly_once(
    client: httpx.AsyncClient, paged_key: tuple[str, list[str]], limit: int
) -> None:
    key, ids = paged_key
    seen: list[JsonObject] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, str | int] = {
            "start_date": "2025-09-09",
            "end_date": "2025-09-09",
            "limit": limit,
        }
        if cursor is not None:
            params["cursor"] = cursor
        body = await history(client, key, **params)
        pages += 1
        assert len(body["events"]) <= limit
        seen.extend(body["events"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
        assert len(body["events"]) == limit
        assert pages <= 25
    assert pages == -(-25 // limit)
    assert sorted(e["id"] for e in seen) == sorted(ids)
    assert len({e["id"] for e in seen}) == 25
    timestamps = [e["timestamp"] for e in seen]
    assert timestamps == sorted(timestamps, reverse=True)


async def test_history_default_page_holds_one_hundred_events(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    await track_batch(
        client,
        key,
        [
            {
                "provider": "openai",
                "model": "gpt-4",
                "input_tokens": 1,
                "timestamp": f"2025-09-10T10:{i // 60:02d}:{i % 60:02d}Z",
            }
            for i in range(101)
        ],
    )
    body = await history(client, key, start_date="2025-09-10", end_date="2025-09-10")
    assert len(body["events"]) == 100
    assert body["events"][0]["timestamp"] == "2025-09-10T10:01:40Z"
    assert body["next_cursor"] is not None
    rest = await history(
        client, key, start_date="2025-09-10", end_date="2025-09-10", cursor=body["next_cursor"]
    )
    assert [e["timestamp"] for e in rest["events"]] == ["2025-09-10T10:00:00Z"]
    assert rest["next_cursor"] is None
