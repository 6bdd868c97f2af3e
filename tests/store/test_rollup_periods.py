"""A question's range is read as whole months, then days, then hours: the periods cover it
exactly, and the answers equal the events in the range whatever its edges, with filters of
several values read one value at a time."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from hypothesis import given
from hypothesis import strategies as st

from meterr.clock import SettableClock
from meterr.config import Settings
from meterr.store import Store
from meterr.store.rollup_cells import GRAINS, period_start, spans
from tests.conftest import KeyFactory, bearer
from tests.support.apps import instances

_HOURS = st.integers(min_value=0, max_value=3 * 366 * 24)
_EPOCH = datetime(2023, 11, 1, tzinfo=UTC)


@given(_HOURS, _HOURS, st.sampled_from(sorted(GRAINS)))
def test_periods_cover_a_range_exactly_with_the_coarsest_whole_cells(
    a: int, b: int, family: str
) -> None:
    start, end = sorted((_EPOCH + timedelta(hours=a), _EPOCH + timedelta(hours=b)))
    periods = spans(start, end, GRAINS[family])
    covered = sorted((s, e) for _, s, e in periods)
    # Back to back, no gap and no overlap, from start to end.
    assert [s for s, _ in covered] == [start, *(e for _, e in covered[:-1])] or start == end
    assert (covered[-1][1] if covered else start) == end
    for grain, s, e in periods:
        assert grain in GRAINS[family]
        assert period_start(s, grain) == s
        assert period_start(e, grain) == e
    # A whole month (or day) inside the range is never read as smaller cells.
    if "month" in GRAINS[family]:
        month = period_start(start, "month")
        while month < end:
            following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
            if start <= month and following <= end:
                assert ("month", month, following) in periods or any(
                    g == "month" and s <= month and following <= e for g, s, e in periods
                )
            month = following


_START = datetime(2025, 1, 25, 3, tzinfo=UTC)
_EVENTS: list[dict[str, Any]] = [
    {
        "provider": "openai",
        "model": ["gpt-4o", "gpt-4o-mini"][i % 2],
        "input_tokens": 100 + i,
        "output_tokens": i % 7,
        "team_id": f"team-{i % 4}",
        "user_id": f"user-{i % 3}",
        "metadata": {"feature": f"f{i % 3}"},
        "timestamp": (_START + timedelta(hours=7 * i, minutes=13)).isoformat(),
    }
    for i in range(250)
]

_RANGES = [
    ("2025-03-01T00:00:00Z", "2025-04-01T00:00:00Z"),  # one whole month
    ("2025-02-15T00:00:00Z", "2025-04-03T00:00:00Z"),  # days, a month, days
    ("2025-02-14T19:00:00Z", "2025-03-02T05:00:00Z"),  # hours, days, hours
    ("2025-01-31T23:00:00Z", "2025-03-01T01:00:00Z"),  # an hour, February, an hour
    ("2025-01-01T00:00:00Z", "2025-12-01T00:00:00Z"),  # every event, in months
    # Not on whole hours: the rollups answer the whole hours, the raw events the rest.
    ("2025-02-14T20:10:00Z", "2025-03-02T07:45:00Z"),  # part of an hour, ..., part of an hour
    ("2025-02-28T20:10:00Z", "2025-03-01T03:15:00Z"),  # part of an hour, hours, part
    ("2025-03-01T10:05:00Z", "2025-03-01T10:55:00Z"),  # within one hour: raw events alone
]


def _expected(start: str, end: str, field: str, teams: set[str] | None) -> dict[str, int]:
    low, high = datetime.fromisoformat(start), datetime.fromisoformat(end)
    sums: Counter[str] = Counter()
    for event in _EVENTS:
        at = datetime.fromisoformat(event["timestamp"])
        if low <= at < high and (teams is None or event["team_id"] in teams):
            value = event["metadata"]["feature"] if field == "feature" else event[field]
            sums[str(value)] += event["input_tokens"] + event["output_tokens"]
    return dict(sums)


async def test_answers_over_months_days_and_hours_equal_the_events_in_the_range(
    client: httpx.AsyncClient, make_key: KeyFactory, store: Store
) -> None:
    key = await make_key()
    tracked = await client.post("/v1/track", headers=bearer(key), json={"events": _EVENTS})
    assert tracked.status_code == 201, tracked.text
    questions: list[tuple[dict[str, str], str, set[str] | None]] = [
        ({"group_by": "team"}, "team_id", None),
        ({"group_by": "user"}, "user_id", None),
        ({"group_by": "model", "team_id": "team-1,team-3,team-1"}, "model", {"team-1", "team-3"}),
        ({"group_by": "user", "team_id": "team-2,team-2"}, "user_id", {"team-2"}),
        ({"group_by": "metadata.feature", "team_id": "team-0,team-1"}, "feature",
         {"team-0", "team-1"}),
    ]  # fmt: skip
    for folded in (False, True):
        if folded:  # asked again once the pending increments are folded into cells
            await store.rollups.compact_all_across_tenants()
        for (start, end), (params, field, teams) in itertools.product(_RANGES, questions):
            response = await client.get(
                "/v1/costs",
                headers=bearer(key),
                params={"start_date": start, "end_date": end, **params},
            )
            assert response.status_code == 200, response.text
            within_an_hour = start[:13] == end[:13]
            source = "events" if within_an_hour else "rollups"
            assert response.headers["X-Meterr-Source"] == source, (start, end)
            answer = {k: g["tokens"] for k, g in response.json().items() if g["tokens"]}
            assert answer == _expected(start, end, field, teams), (start, end, params)


async def test_cells_of_an_earlier_layout_are_rebuilt_when_the_service_starts(
    settings: Settings,
    mongodb_url: str,
    client: httpx.AsyncClient,
    make_key: KeyFactory,
    store: Store,
    clock: SettableClock,
) -> None:
    key = await make_key()
    assert (
        await client.post("/v1/track", headers=bearer(key), json={"events": _EVENTS})
    ).is_success
    await store.rollups.compact_all_across_tenants()
    # Cells as an earlier version made them: no month cells.
    await store.rollups.collection.delete_many({"grain": "month"})
    await store.db["rollups_state"].update_one({"_id": "layout"}, {"$set": {"value": 1}})
    async with instances(settings, mongodb_url, store, 1, clock) as [restarted]:
        start, end = _RANGES[0]
        response = await restarted.get(
            "/v1/costs",
            headers=bearer(key),
            params={"start_date": start, "end_date": end, "group_by": "team"},
        )
    answer = {k: g["tokens"] for k, g in response.json().items()}
    assert answer == _expected(start, end, "team_id", None)
    assert await store.rollups.layout_is_current()


async def test_a_zone_off_whole_hours_is_answered_from_the_rollups_by_day_but_not_by_hour(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    # Beside the spread events, some on either side of Kolkata's midnights (18:30 UTC).
    near_midnight = [
        {**_EVENTS[0], "timestamp": f"2025-02-{day:02}T18:{minute:02}:00Z", "input_tokens": day}
        for day in (3, 9, 27)
        for minute in (5, 29, 30, 59)
    ]
    events = _EVENTS + near_midnight
    tracked = await client.post("/v1/track", headers=bearer(key), json={"events": events})
    assert tracked.status_code == 201, tracked.text
    # February in Kolkata (UTC+5:30): from 2025-01-31T18:30Z to 2025-02-28T18:30Z.
    february = {"start_date": "2025-02-01", "end_date": "2025-02-28", "tz": "Asia/Kolkata"}
    by_team = await client.get(
        "/v1/costs", headers=bearer(key), params={**february, "group_by": "team"}
    )
    assert by_team.headers["X-Meterr-Source"] == "rollups"
    total = sum(g["tokens"] for g in by_team.json().values())
    # Its local days start on half hours, inside hourly cells: those hours are read from the
    # raw events, the other hours from the cells.
    by_day = await client.get(
        "/v1/costs", headers=bearer(key), params={**february, "group_by": "day"}
    )
    assert by_day.headers["X-Meterr-Source"] == "rollups"
    kolkata = ZoneInfo("Asia/Kolkata")
    expected: Counter[str] = Counter()
    for event in events:
        at = datetime.fromisoformat(event["timestamp"])
        if (
            datetime(2025, 1, 31, 18, 30, tzinfo=UTC)
            <= at
            < datetime(2025, 2, 28, 18, 30, tzinfo=UTC)
        ):
            tokens = event["input_tokens"] + event["output_tokens"]
            expected[at.astimezone(kolkata).date().isoformat()] += tokens
    answer = {day: g["tokens"] for day, g in by_day.json().items() if g["tokens"]}
    assert answer == dict(expected)
    assert sum(answer.values()) == total
    # Local hours start on half hours too: no cell answers them.
    by_hour = await client.get(
        "/v1/usage/history",
        headers=bearer(key),
        params={"start_date": "2025-02-03", "end_date": "2025-02-04", "tz": "Asia/Kolkata",
                "interval": "hour"},
    )  # fmt: skip
    assert by_hour.headers["X-Meterr-Source"] == "events"
    assert "whole number of hours" in by_hour.headers["X-Meterr-Source-Reason"]
