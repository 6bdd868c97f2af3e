"""Lists in GraphQL are Relay cursor connections: edges with cursors, pageInfo, and nodes as a
shorthand; forward with first/after everywhere, back with last/before where offered; page
arguments out of bounds are refused naming the argument."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import KeyFactory, bearer
from tests.support.budgets import DOCUMENTED, create
from tests.support.graphql import data_of, error_of
from tests.support.teams import create_team

PAGE = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"
TEAMS = f"""
query T($first: Int, $after: String, $last: Int, $before: String) {{
  teams(first: $first, after: $after, last: $last, before: $before) {{
    edges {{ cursor node {{ id name }} }} nodes {{ id }} {PAGE}
  }}
}}
"""
BUDGETS = f"""
query B($first: Int, $after: String, $last: Int, $before: String) {{
  budgets(first: $first, after: $after, last: $last, before: $before) {{
    edges {{ cursor node {{ id name }} }} nodes {{ id }} {PAGE}
  }}
}}
"""


async def page(client: httpx.AsyncClient, key: str, query: str, **args: Any) -> dict[str, Any]:
    data = await data_of(client, key, query, args)
    [(_, found)] = data.items()
    if found["edges"] and "node" in found["edges"][0]:
        assert [edge["node"]["id"] for edge in found["edges"]] == ids(found)
    assert [edge["cursor"] for edge in found["edges"]][:1] == (
        [found["pageInfo"]["startCursor"]] if found["edges"] else []
    )
    result: dict[str, Any] = found
    return result


def ids(found: dict[str, Any]) -> list[str]:
    return [node["id"] for node in found["nodes"]]


def flags(found: dict[str, Any]) -> tuple[bool, bool]:
    return found["pageInfo"]["hasPreviousPage"], found["pageInfo"]["hasNextPage"]


@pytest.fixture(scope="module")
async def five_teams(client: httpx.AsyncClient, make_key: KeyFactory) -> tuple[str, list[str]]:
    key = await make_key()
    made = [await create_team(client, key, name=f"Team {n}") for n in range(5)]
    return key, sorted(team["id"] for team in made)


async def test_teams_page_forward_and_back_with_cursors(
    client: httpx.AsyncClient, five_teams: tuple[str, list[str]]
) -> None:
    key, all_ids = five_teams
    first = await page(client, key, TEAMS, first=2)
    assert ids(first) == all_ids[:2]
    assert flags(first) == (False, True)
    second = await page(client, key, TEAMS, first=2, after=first["pageInfo"]["endCursor"])
    assert ids(second) == all_ids[2:4]
    assert flags(second) == (True, True)
    third = await page(client, key, TEAMS, first=2, after=second["pageInfo"]["endCursor"])
    assert ids(third) == all_ids[4:]
    assert flags(third) == (True, False)

    # Back from the end, and back again from the start of that page.
    tail = await page(client, key, TEAMS, last=2)
    assert ids(tail) == all_ids[3:]
    assert flags(tail) == (True, False)
    before = await page(client, key, TEAMS, last=2, before=tail["pageInfo"]["startCursor"])
    assert ids(before) == all_ids[1:3]
    assert flags(before)[0] is True
    head = await page(client, key, TEAMS, last=2, before=before["pageInfo"]["startCursor"])
    assert ids(head) == all_ids[:1]
    assert flags(head)[0] is False

    # Any edge's cursor resumes right after it.
    middle = first["edges"][0]["cursor"]
    assert ids(await page(client, key, TEAMS, first=1, after=middle)) == all_ids[1:2]


async def test_budgets_page_in_both_directions_and_refuse_a_cursor_they_never_gave(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    made = [
        (await create(client, key, {**DOCUMENTED, "name": f"Budget {n}"}))["id"] for n in range(4)
    ]
    everything = await page(client, key, BUDGETS)
    assert ids(everything) == made
    assert flags(everything) == (False, False)
    first = await page(client, key, BUDGETS, first=3)
    assert (ids(first), flags(first)) == (made[:3], (False, True))
    rest = await page(client, key, BUDGETS, first=3, after=first["pageInfo"]["endCursor"])
    assert (ids(rest), flags(rest)) == (made[3:], (True, False))
    last = await page(client, key, BUDGETS, last=2, before=made[3])
    assert (ids(last), flags(last)) == (made[1:3], (True, True))

    unknown = await error_of(client, key, BUDGETS, {"after": "bud_none"})
    assert unknown["extensions"]["code"] == "invalid_input"
    assert unknown["extensions"]["details"] == {"fields": {"after": "unknown cursor"}}


@pytest.mark.parametrize(
    ("args", "fields"),
    [
        ({"first": 0}, {"first": "1 to 100"}),
        ({"first": 101}, {"first": "1 to 100"}),
        ({"last": 0}, {"last": "1 to 100"}),
        (
            {"first": 2, "last": 2},
            {"first": "not with last or before", "last": "not with first or after"},
        ),
    ],
)
async def test_page_arguments_out_of_bounds_are_refused_naming_the_argument(
    client: httpx.AsyncClient,
    five_teams: tuple[str, list[str]],
    args: dict[str, Any],
    fields: dict[str, str],
) -> None:
    key, _ = five_teams
    refused = await error_of(client, key, TEAMS, args)
    assert refused["extensions"]["code"] == "invalid_input"
    assert refused["extensions"]["details"] == {"fields": fields}


@pytest.mark.parametrize(
    "query",
    [
        "{ events(last: 5) { nodes { id } } }",
        '{ notifications(before: "9") { nodes { id } } }',
        '{ webhookDeliveries(webhookId: "whk_x", last: 1) { nodes { id } } }',
    ],
)
async def test_feeds_newest_first_page_forward_only_and_say_so(
    client: httpx.AsyncClient, five_teams: tuple[str, list[str]], query: str
) -> None:
    key, _ = five_teams
    refused = await error_of(client, key, query)
    assert refused["extensions"]["code"] == "invalid_input"
    assert "page forward only" in refused["message"]
    [field] = refused["extensions"]["details"]["fields"]
    assert field in {"last", "before"}


async def test_the_events_page_cursors_resume_where_rest_does(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    events = [{"provider": "openai", "model": "gpt-4o", "input_tokens": n} for n in range(1, 6)]
    tracked = await client.post("/v1/track", headers=bearer(key), json={"events": events})
    assert tracked.status_code == 201
    query = f"""query E($after: String) {{
      events(first: 2, after: $after) {{ edges {{ cursor }} nodes {{ id }} {PAGE} nextCursor }}
    }}"""
    gql = await page(client, key, query)
    rest = (await client.get("/v1/usage/history", headers=bearer(key), params={"limit": 2})).json()
    assert ids(gql) == [event["id"] for event in rest["events"]]
    assert gql["pageInfo"]["endCursor"] == rest["next_cursor"] == gql["nextCursor"]
    after = await page(client, key, query, after=gql["edges"][0]["cursor"])
    assert ids(after)[0] == ids(gql)[1], "an edge's cursor resumes right after it"
