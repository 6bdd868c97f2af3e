"""Costs in a time zone, through both doors: days, weeks and months are drawn where the zone
says, as is the date range itself (gpt-4 input at 30 USD per 1M tokens)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import KeyFactory
from tests.support.doors import Door, costs_through
from tests.support.rest import track, track_batch

JsonObject = dict[str, Any]


@pytest.fixture(scope="module")
async def late_evening_key(client: httpx.AsyncClient, make_key: KeyFactory) -> str:
    """Events near midnight of 1 March 2025 (UTC, Paris and Kolkata)."""
    key = await make_key()
    await track_batch(
        client,
        key,
        [
            # 23:50 in Kolkata (UTC+05:30), still 1 March there: 100 * 30 = 0.003
            {
                "provider": "openai",
                "model": "gpt-4",
                "input_tokens": 100,
                "timestamp": "2025-03-01T18:20:00Z",
            },
            # 00:10 on 2 March in Kolkata: 200 * 30 = 0.006
            {
                "provider": "openai",
                "model": "gpt-4",
                "input_tokens": 200,
                "timestamp": "2025-03-01T18:40:00Z",
            },
            # 00:30 on 2 March in Paris (UTC+01:00): 1000 * 30 = 0.03
            {
                "provider": "openai",
                "model": "gpt-4",
                "input_tokens": 1000,
                "timestamp": "2025-03-01T23:30:00Z",
            },
        ],
    )
    return key


async def test_costs_by_day_use_utc_days_without_tz(door: Door, late_evening_key: str) -> None:
    body = await costs_through(
        door, late_evening_key, start_date="2025-03-01", end_date="2025-03-02", group_by="day"
    )
    assert body == {"2025-03-01": {"total": 0.039, "tokens": 1300}}


async def test_costs_by_day_put_a_late_utc_event_on_the_next_paris_day(
    door: Door, late_evening_key: str
) -> None:
    body = await costs_through(
        door,
        late_evening_key,
        start_date="2025-03-01",
        end_date="2025-03-02",
        group_by="day",
        tz="Europe/Paris",
    )
    assert body == {
        "2025-03-01": {"total": 0.009, "tokens": 300},
        "2025-03-02": {"total": 0.03, "tokens": 1000},
    }


async def test_costs_by_day_in_paris_agree_over_dates_and_unaligned_instants(
    door: Door, late_evening_key: str
) -> None:
    # A range of instants that does not start on a whole hour is answered from raw events.
    body = await costs_through(
        door,
        late_evening_key,
        start_date="2025-03-01T18:19:59.500Z",
        end_date="2025-03-01T23:30:00.001Z",
        group_by="day",
        tz="Europe/Paris",
    )
    assert body == {
        "2025-03-01": {"total": 0.009, "tokens": 300},
        "2025-03-02": {"total": 0.03, "tokens": 1000},
    }


async def test_costs_by_day_follow_a_half_hour_zone(door: Door, late_evening_key: str) -> None:
    body = await costs_through(
        door,
        late_evening_key,
        start_date="2025-03-01",
        end_date="2025-03-02",
        group_by="day",
        tz="Asia/Kolkata",
    )
    assert body == {
        "2025-03-01": {"total": 0.003, "tokens": 100},
        "2025-03-02": {"total": 0.036, "tokens": 1200},
    }


async def test_costs_date_range_is_drawn_in_the_requested_zone(
    door: Door, late_evening_key: str
) -> None:
    utc = await costs_through(
        door, late_evening_key, start_date="2025-03-02", end_date="2025-03-02"
    )
    assert utc == {}
    paris = await costs_through(
        door, late_evening_key, start_date="2025-03-02", end_date="2025-03-02", tz="Europe/Paris"
    )
    assert paris == {"openai": {"total": 0.03, "tokens": 1000}}
    kolkata = await costs_through(
        door, late_evening_key, start_date="2025-03-02", end_date="2025-03-02", tz="Asia/Kolkata"
    )
    assert kolkata == {"openai": {"total": 0.036, "tokens": 1200}}


async def test_costs_by_month_and_week_follow_the_zone(
    client: httpx.AsyncClient, make_key: KeyFactory, door: Door
) -> None:
    key = await make_key()
    # Friday 28 February 2025, 23:30 UTC: Saturday 1 March 05:00 in Kolkata.
    await track(
        client,
        key,
        provider="openai",
        model="gpt-4",
        input_tokens=100,
        timestamp="2025-02-28T23:30:00Z",
    )
    # Sunday 2 March 2025, 23:30 UTC: Monday 3 March 05:00 in Kolkata.
    await track(
        client,
        key,
        provider="openai",
        model="gpt-4",
        input_tokens=200,
        timestamp="2025-03-02T23:30:00Z",
    )
    window = {"start_date": "2025-02-01", "end_date": "2025-03-31"}
    assert await costs_through(door, key, group_by="month", **window) == {
        "2025-02": {"total": 0.003, "tokens": 100},
        "2025-03": {"total": 0.006, "tokens": 200},
    }
    assert await costs_through(door, key, group_by="month", tz="Asia/Kolkata", **window) == {
        "2025-03": {"total": 0.009, "tokens": 300},
    }
    assert await costs_through(door, key, group_by="week", **window) == {
        "2025-02-24": {"total": 0.009, "tokens": 300},
    }
    assert await costs_through(door, key, group_by="week", tz="Asia/Kolkata", **window) == {
        "2025-02-24": {"total": 0.003, "tokens": 100},
        "2025-03-03": {"total": 0.006, "tokens": 200},
    }
