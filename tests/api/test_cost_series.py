"""Costs per interval and per group in one question (a stacked chart): the largest groups
over the range, the others summed as "(other)", every interval present; the same numbers
through REST and GraphQL, answered from the rollups."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import KeyFactory, bearer

# gpt-4o input costs $2.50 per million tokens: 400 tokens cost exactly $0.001.
UNIT = 400
# (team, day of March 2025, units): team-a spends most, then team-b; c and d are small.
USAGE = [
    ("team-a", 1, 10), ("team-a", 3, 20), ("team-b", 1, 5), ("team-b", 2, 6),
    ("team-c", 2, 3), ("team-d", 3, 1), ("team-d", 3, 1),
]  # fmt: skip
WINDOW = {"start_date": "2025-03-01", "end_date": "2025-03-04"}

SERIES = """
query Series($start: TimeBound, $end: TimeBound, $first: Int!) {
  costSeries(startDate: $start, endDate: $end, groupBy: TEAM, first: $first) {
    interval keys points { start groups { key total { amount value } tokens requests } }
  }
}
"""


@pytest.fixture(scope="module")
async def series_key(client: httpx.AsyncClient, make_key: KeyFactory) -> str:
    key = await make_key()
    events = [
        {
            "provider": "openai",
            "model": "gpt-4o",
            "input_tokens": units * UNIT,
            "team_id": team,
            "timestamp": f"2025-03-{day:02}T12:00:00Z",
        }
        for team, day, units in USAGE
    ]
    tracked = await client.post("/v1/track", headers=bearer(key), json={"events": events})
    assert tracked.status_code == 201, tracked.text
    return key


def expected(first: int) -> tuple[list[str], dict[str, dict[str, int]]]:
    """The kept keys, and the tokens per day and key."""
    overall: dict[str, int] = {}
    for team, _, units in USAGE:
        overall[team] = overall.get(team, 0) + units * UNIT
    ranked = sorted(overall, key=lambda team: -overall[team])
    keys = ranked[:first] + (["(other)"] if len(ranked) > first else [])
    days = {f"2025-03-{day:02}": dict.fromkeys(keys, 0) for day in (1, 2, 3, 4)}
    for team, day, units in USAGE:
        days[f"2025-03-{day:02}"][team if team in keys else "(other)"] += units * UNIT
    return keys, days


@pytest.mark.parametrize("first", [2, 10])
async def test_the_largest_groups_per_day_and_the_rest_summed(
    client: httpx.AsyncClient, series_key: str, first: int
) -> None:
    answer = await client.get(
        "/v1/costs/series",
        headers=bearer(series_key),
        params={**WINDOW, "group_by": "team", "first": str(first)},
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Meterr-Source"] == "rollups"
    body = answer.json()
    keys, days = expected(first)
    assert (body["interval"], body["group_by"], body["keys"]) == ("day", "team", keys)
    assert [point["start"][:10] for point in body["points"]] == list(days)
    for point in body["points"]:
        tokens = {key: group["tokens"] for key, group in point["groups"].items()}
        assert tokens == days[point["start"][:10]]
        for group in point["groups"].values():
            assert group["total"] == round(group["tokens"] / UNIT * 0.001, 6)

    graphql = await client.post(
        "/graphql",
        headers=bearer(series_key),
        json={
            "query": SERIES,
            "variables": {"start": "2025-03-01", "end": "2025-03-04", "first": first},
        },
    )
    data: dict[str, Any] = graphql.json()["data"]["costSeries"]
    assert (data["interval"], data["keys"]) == ("DAY", keys)
    assert [
        {group["key"]: (group["tokens"], group["total"]) for group in point["groups"]}
        for point in data["points"]
    ] == [
        {
            key: (group["tokens"], {"amount": group["total_exact"], "value": group["total"]})
            for key, group in point["groups"].items()
        }
        for point in body["points"]
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"group_by": "day"}, "group_by"),
        ({"first": "0"}, "first"),
        ({"first": "101"}, "first"),
        ({"interval": "fortnight"}, "interval"),
        ({"order_by": "price"}, "order_by"),
    ],
)
async def test_a_series_question_out_of_bounds_is_refused_by_name(
    client: httpx.AsyncClient, series_key: str, params: dict[str, str], field: str
) -> None:
    answer = await client.get(
        "/v1/costs/series", headers=bearer(series_key), params={**WINDOW, **params}
    )
    assert answer.status_code == 400, answer.text
    assert set(answer.json()["error"]["details"]["fields"]) == {field}


# Each ranks first by another measure: "costly" by cost (gpt-4 input, $30 per million tokens),
# "wordy" by tokens, "chatty" by requests (gpt-4o-mini input, $0.15 per million tokens).
RANKED = [
    ("costly", "gpt-4", 1, 1000),
    ("wordy", "gpt-4o-mini", 3, 5000),
    ("chatty", "gpt-4o-mini", 10, 10),
]
RANKED_SERIES = """
query Ranked($orderBy: Ranking!) {
  costSeries(startDate: "2025-03-01", endDate: "2025-03-01", groupBy: TEAM, first: 2,
             orderBy: $orderBy) { keys }
}
"""


@pytest.mark.parametrize(
    ("order_by", "keys"),
    [
        ("cost", ["costly", "wordy", "(other)"]),
        ("tokens", ["wordy", "costly", "(other)"]),
        ("requests", ["chatty", "wordy", "(other)"]),
    ],
)
async def test_the_largest_groups_are_chosen_by_cost_tokens_or_requests_through_both_doors(
    client: httpx.AsyncClient, make_key: KeyFactory, order_by: str, keys: list[str]
) -> None:
    key = await make_key()
    events = [
        {
            "provider": "openai",
            "model": model,
            "input_tokens": tokens,
            "team_id": team,
            "timestamp": "2025-03-01T12:00:00Z",
        }
        for team, model, requests, tokens in RANKED
        for _ in range(requests)
    ]
    tracked = await client.post("/v1/track", headers=bearer(key), json={"events": events})
    assert tracked.status_code == 201, tracked.text
    params = {"start_date": "2025-03-01", "end_date": "2025-03-01", "group_by": "team"}
    answer = await client.get(
        "/v1/costs/series",
        headers=bearer(key),
        params={**params, "first": "2", "order_by": order_by},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["keys"] == keys
    graphql = await client.post(
        "/graphql",
        headers=bearer(key),
        json={"query": RANKED_SERIES, "variables": {"orderBy": order_by.upper()}},
    )
    assert graphql.json()["data"]["costSeries"]["keys"] == keys
