"""Usage history through both doors: gap-free series by hour, day, week and month, in any zone
(half-hour zones and clock changes included); over REST also the range it answers and its
events newest first (gpt-4 input at 30 USD per 1M tokens)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import KeyFactory
from tests.support.amounts import gpt4_point, zero_point
from tests.support.doors import Door, Query
from tests.support.rest import history, track_batch
from tests.support.seeds import seed_january

JsonObject = dict[str, Any]


@pytest.fixture(scope="module")
async def history_key(client: httpx.AsyncClient, make_key: KeyFactory) -> str:
    key = await make_key()
    await track_batch(
        client,
        key,
        [
            {"provider": "openai", "model": "gpt-4", "input_tokens": tokens, "timestamp": ts}
            for tokens, ts in [
                (100, "2025-06-02T10:05:00Z"),
                (200, "2025-06-02T10:55:00Z"),
                (400, "2025-06-02T13:30:00Z"),
                (800, "2025-06-04T00:00:00Z"),
                (1600, "2025-07-15T12:00:00Z"),
            ]
        ],
    )
    return key


async def series(door: Door, key: str, **query: Query) -> list[JsonObject]:
    points: list[JsonObject] = (await door.history(key, **query)).value()
    return points


async def test_history_hourly_series_is_gap_free_with_zero_points(
    door: Door, history_key: str
) -> None:
    assert await series(
        door,
        history_key,
        start_date="2025-06-02T10:00:00Z",
        end_date="2025-06-02T14:00:00Z",
        interval="hour",
    ) == [
        gpt4_point("2025-06-02T10:00:00Z", 2, 300),
        zero_point("2025-06-02T11:00:00Z"),
        zero_point("2025-06-02T12:00:00Z"),
        gpt4_point("2025-06-02T13:00:00Z", 1, 400),
    ]


async def test_history_daily_series_is_the_default_interval(door: Door, history_key: str) -> None:
    assert await series(door, history_key, start_date="2025-06-01", end_date="2025-06-05") == [
        zero_point("2025-06-01T00:00:00Z"),
        gpt4_point("2025-06-02T00:00:00Z", 3, 700),
        zero_point("2025-06-03T00:00:00Z"),
        gpt4_point("2025-06-04T00:00:00Z", 1, 800),
        zero_point("2025-06-05T00:00:00Z"),
    ]


async def test_history_answers_the_range_and_interval_it_drew(
    client: httpx.AsyncClient, history_key: str
) -> None:
    hourly = await history(
        client,
        history_key,
        start_date="2025-06-02T10:00:00Z",
        end_date="2025-06-02T14:00:00Z",
        interval="hour",
    )
    assert (hourly["start"], hourly["end"], hourly["interval"]) == (
        "2025-06-02T10:00:00Z",
        "2025-06-02T14:00:00Z",
        "hour",
    )
    daily = await history(client, history_key, start_date="2025-06-01", end_date="2025-06-05")
    assert daily["interval"] == "day"
    kolkata = await history(
        client,
        history_key,
        start_date="2025-06-02T15:00:00+05:30",
        end_date="2025-06-02T20:00:00+05:30",
        interval="hour",
        tz="Asia/Kolkata",
    )
    assert kolkata["start"] == "2025-06-02T09:30:00Z"


async def test_history_daily_series_starts_at_local_midnight_in_the_zone(
    door: Door, history_key: str
) -> None:
    points = await series(
        door, history_key, start_date="2025-06-03", end_date="2025-06-04", tz="Asia/Kolkata"
    )
    # 2025-06-04T00:00Z is 05:30 on 4 June in Kolkata.
    assert points == [
        zero_point("2025-06-02T18:30:00Z"),
        gpt4_point("2025-06-03T18:30:00Z", 1, 800),
    ]


async def test_history_hourly_series_in_a_half_hour_zone_follows_local_hours(
    door: Door, history_key: str
) -> None:
    # 15:00 to 20:00 in Kolkata on 2 June; the events fall at 15:35, 16:25 and 19:00 there.
    points = await series(
        door,
        history_key,
        start_date="2025-06-02T15:00:00+05:30",
        end_date="2025-06-02T20:00:00+05:30",
        interval="hour",
        tz="Asia/Kolkata",
    )
    assert points == [
        gpt4_point("2025-06-02T09:30:00Z", 1, 100),
        gpt4_point("2025-06-02T10:30:00Z", 1, 200),
        zero_point("2025-06-02T11:30:00Z"),
        zero_point("2025-06-02T12:30:00Z"),
        gpt4_point("2025-06-02T13:30:00Z", 1, 400),
    ]


async def test_history_hourly_series_spans_a_half_hour_clock_change(
    client: httpx.AsyncClient, make_key: KeyFactory, door: Door
) -> None:
    # Lord Howe Island turns its clocks back from 02:00 (+11:00) to 01:30 (+10:30) on
    # 6 April 2025, at 15:00 UTC: local hour 01 lasts 90 minutes, 14:00 to 15:30 UTC.
    key = await make_key()
    await track_batch(
        client,
        key,
        [
            {"provider": "openai", "model": "gpt-4", "input_tokens": tokens, "timestamp": ts}
            for tokens, ts in [
                (100, "2025-04-05T14:10:00Z"),  # 01:10 +11:00
                (200, "2025-04-05T15:10:00Z"),  # 01:40 +10:30, the second time round
                (400, "2025-04-05T15:40:00Z"),  # 02:10 +10:30
            ]
        ],
    )
    points = await series(
        door,
        key,
        start_date="2025-04-06T00:00:00+11:00",
        end_date="2025-04-06T04:00:00+10:30",
        interval="hour",
        tz="Australia/Lord_Howe",
    )
    assert points == [
        zero_point("2025-04-05T13:00:00Z"),
        gpt4_point("2025-04-05T14:00:00Z", 2, 300),
        gpt4_point("2025-04-05T15:30:00Z", 1, 400),
        zero_point("2025-04-05T16:30:00Z"),
    ]


async def test_history_weekly_series_is_keyed_by_monday(door: Door, history_key: str) -> None:
    points = await series(
        door, history_key, start_date="2025-06-02", end_date="2025-06-22", interval="week"
    )
    assert points == [
        gpt4_point("2025-06-02T00:00:00Z", 4, 1500),
        zero_point("2025-06-09T00:00:00Z"),
        zero_point("2025-06-16T00:00:00Z"),
    ]


async def test_history_monthly_series_is_gap_free(door: Door, history_key: str) -> None:
    points = await series(
        door, history_key, start_date="2025-05-01", end_date="2025-08-31", interval="month"
    )
    assert points == [
        zero_point("2025-05-01T00:00:00Z"),
        gpt4_point("2025-06-01T00:00:00Z", 4, 1500),
        gpt4_point("2025-07-01T00:00:00Z", 1, 1600),
        zero_point("2025-08-01T00:00:00Z"),
    ]


@pytest.fixture(scope="module")
async def january_key(client: httpx.AsyncClient, make_key: KeyFactory) -> str:
    """Events in January 2024, one of them unpriced, plus one on 1 February."""
    return await seed_january(client, make_key)


async def test_history_series_count_an_unpriced_event_and_every_empty_period(
    door: Door, january_key: str
) -> None:
    hourly = await series(
        door,
        january_key,
        start_date="2024-01-15T10:00:00Z",
        end_date="2024-01-15T14:00:00Z",
        interval="hour",
    )
    assert [(p["start"], p["requests"], p["tokens"], p["cost"]) for p in hourly] == [
        ("2024-01-15T10:00:00Z", 0, 0, 0.0),
        ("2024-01-15T11:00:00Z", 0, 0, 0.0),
        ("2024-01-15T12:00:00Z", 1, 15_000, 0.6),
        ("2024-01-15T13:00:00Z", 0, 0, 0.0),
    ]
    monthly = await series(
        door, january_key, start_date="2023-12-01", end_date="2024-02-29", interval="month"
    )
    assert [(p["start"], p["requests"], p["cost"]) for p in monthly] == [
        ("2023-12-01T00:00:00Z", 0, 0.0),
        ("2024-01-01T00:00:00Z", 3, 1.032),
        ("2024-02-01T00:00:00Z", 1, 0.03),
    ]


async def test_history_events_are_newest_first_within_the_range(
    client: httpx.AsyncClient, history_key: str
) -> None:
    body = await history(client, history_key, start_date="2025-06-01", end_date="2025-06-30")
    assert [(e["timestamp"], e["input_tokens"]) for e in body["events"]] == [
        ("2025-06-04T00:00:00Z", 800),
        ("2025-06-02T13:30:00Z", 400),
        ("2025-06-02T10:55:00Z", 200),
        ("2025-06-02T10:05:00Z", 100),
    ]
    assert body["next_cursor"] is None
    first = body["events"][0]
    assert first["provider"] == "openai"
    assert first["model"] == "gpt-4"
    assert first["cost"] == 0.024
    assert first["currency"] == "USD"
    assert first["pricing_status"] == "priced"


async def test_history_includes_events_at_the_first_instant_of_the_range(
    door: Door, history_key: str
) -> None:
    # A range of instants that starts exactly on an event (answered from raw events).
    instants = {"start_date": "2025-06-02T10:05:00Z", "end_date": "2025-06-02T10:55:00.001Z"}
    assert await series(door, history_key, interval="hour", **instants) == [
        gpt4_point("2025-06-02T10:00:00Z", 2, 300)
    ]
    events = (await door.events(history_key, **instants)).value()["events"]
    assert [e["timestamp"] for e in events] == ["2025-06-02T10:55:00Z", "2025-06-02T10:05:00Z"]
    # A whole day whose only event falls at its midnight (answered from rollups).
    day = {"start_date": "2025-06-04", "end_date": "2025-06-04"}
    assert await series(door, history_key, **day) == [gpt4_point("2025-06-04T00:00:00Z", 1, 800)]
    events = (await door.events(history_key, **day)).value()["events"]
    assert [e["timestamp"] for e in events] == ["2025-06-04T00:00:00Z"]
