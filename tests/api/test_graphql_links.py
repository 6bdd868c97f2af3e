"""The GraphQL graph links what belongs together: a budget's team, a team's budgets and its
spend over any range, an event's team; one event and the forecast's backtest by name. Each
answers what the REST routes answer, and a list of teams reads each link once for all."""

from __future__ import annotations

import secrets

import httpx

from meterr.auth import Role
from meterr.clock import SettableClock
from meterr.config import Settings
from meterr.store import Store
from tests.conftest import KeyFactory, bearer
from tests.support.budgets import DOCUMENTED, create
from tests.support.graphql import data_of, error_of
from tests.support.orgs import org_id_named
from tests.support.recording import USAGE_COLLECTIONS, recorded_app
from tests.support.teams import create_team

EVENT = {"provider": "openai", "model": "gpt-4o", "input_tokens": 1000, "output_tokens": 10}


async def test_a_budget_links_its_team_and_a_team_its_budgets(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    team = await create_team(client, key, name="Search")
    scoped = await create(client, key, {**DOCUMENTED, "name": "Search", "team_id": team["id"]})
    loose = await create(client, key, {**DOCUMENTED, "name": "Loose", "team_id": "never-made"})
    whole = await create(client, key, {**DOCUMENTED, "name": "Whole", "team_id": None})
    data = await data_of(
        client,
        key,
        """{ budgets { nodes { id team { id name budgets { id } } } }
             teams { nodes { id budgets { id name current { amount unit } } } } }""",
    )
    teams = {b["id"]: b["team"] for b in data["budgets"]["nodes"]}
    assert teams[scoped["id"]] == {
        "id": team["id"],
        "name": "Search",
        "budgets": [{"id": scoped["id"]}],
    }
    assert teams[loose["id"]] is None, "a team id no team was made with links nothing"
    assert teams[whole["id"]] is None
    [listed] = data["teams"]["nodes"]
    assert listed["budgets"] == [
        {"id": scoped["id"], "name": "Search", "current": {"amount": "0", "unit": "TOKENS"}}
    ]


async def test_a_teams_spend_over_a_range_is_the_costs_of_its_events(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    team = await create_team(client, key, name="Ranking")
    days = ["2026-05-30T12:00:00Z", "2026-06-01T23:00:00Z", "2026-06-10T18:30:00Z"]
    events = [{**EVENT, "team_id": team["id"], "timestamp": day} for day in days]
    events.append({**EVENT, "team_id": "other", "timestamp": days[1]})
    tracked = await client.post("/v1/track", headers=bearer(key), json={"events": events})
    assert tracked.status_code == 201, tracked.text
    query = """query S($t: ID!) { team(id: $t) {
      june: spend(startDate: "2026-06-01", endDate: "2026-06-30") {
        requests tokens total { amount value }
      }
      berlin: spend(startDate: "2026-06-02", endDate: "2026-06-02", tz: "Europe/Berlin") {
        requests
      }
      thisMonth: spend { requests }
      spendThisMonth { requests }
    } }"""
    spend = (await data_of(client, key, query, {"t": team["id"]}))["team"]
    rest = await client.get(
        "/v1/costs",
        headers=bearer(key),
        params={"start_date": "2026-06-01", "end_date": "2026-06-30", "group_by": "team"},
    )
    group = rest.json()[team["id"]]
    assert spend["june"]["requests"] == 2
    assert (spend["june"]["tokens"], spend["june"]["total"]) == (
        group["tokens"],
        {"amount": group["total_exact"], "value": group["total"]},
    )
    assert spend["berlin"]["requests"] == 1, "23:00 UTC on June 1 is June 2 in Berlin"
    assert spend["thisMonth"] == spend["spendThisMonth"] == {"requests": 2}


async def test_an_event_links_its_team_and_is_found_by_id_as_rest_finds_it(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    team = await create_team(client, key, name="Ads")
    events = [{**EVENT, "team_id": team["id"]}, {**EVENT, "team_id": "unmade"}]
    tracked = await client.post("/v1/track", headers=bearer(key), json={"events": events})
    assert tracked.status_code == 201, tracked.text
    ids = [event["id"] for event in tracked.json()["events"]]
    query = "query E($id: ID!) { event(id: $id) { id eventId cost { value } team { id name } } }"
    found = [(await data_of(client, key, query, {"id": i}))["event"] for i in ids]
    assert found[0]["team"] == {"id": team["id"], "name": "Ads"}
    assert found[1]["team"] is None
    rest = (await client.get(f"/v1/usage/events/{ids[0]}", headers=bearer(key))).json()
    assert (found[0]["eventId"], found[0]["cost"]) == (rest["event_id"], {"value": rest["cost"]})

    stranger = await make_key()
    hidden = await error_of(client, stranger, query, {"id": ids[0]})
    assert hidden["extensions"]["code"] == "not_found", "another organization's event"


async def test_the_forecast_backtest_answers_as_rest_does(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    days = [f"2026-06-{day:02d}T12:00:00Z" for day in range(1, 17)]
    events = [
        {**EVENT, "input_tokens": 1000 * (i % 3 + 1), "timestamp": d} for i, d in enumerate(days)
    ]
    tracked = await client.post("/v1/track", headers=bearer(key), json={"events": events})
    assert tracked.status_code == 201, tracked.text
    query = "{ forecastBacktest(days: 10) { days mape bias coverage80 coverage95 } }"
    gql = (await data_of(client, key, query))["forecastBacktest"]
    rest = await client.get("/v1/costs/forecast/backtest", headers=bearer(key), params={"days": 10})
    assert gql == rest.json()
    assert gql["days"] == 10
    assert gql["mape"] is not None
    refused = await error_of(client, key, "{ forecastBacktest(days: 0) { days } }")
    assert refused["extensions"]["details"] == {"fields": {"days": "1 to 366"}}


async def test_a_list_of_teams_reads_each_link_once_for_all_teams(
    settings: Settings, store: Store, clock: SettableClock, make_key: KeyFactory
) -> None:
    org = f"links-{secrets.token_hex(4)}"
    key = await make_key(org=org)
    org_id = await org_id_named(store, org)
    async with recorded_app(settings, store, clock) as (http, log):
        ids = [(await create_team(http, key, name=f"L{n}"))["id"] for n in range(4)]
        events = [{**EVENT, "team_id": team_id} for team_id in ids[1:]]
        assert (
            await http.post("/v1/track", headers=bearer(key), json={"events": events})
        ).is_success
        for team_id in ids[:2]:
            await create(http, key, {**DOCUMENTED, "name": f"B {team_id}", "team_id": team_id})
        log.recording = True
        data = await data_of(
            http,
            key,
            """{ teams { nodes { id
                 june: spend(startDate: "2026-06-01", endDate: "2026-06-30") { requests }
                 budgets { name } } } }""",
        )
        log.recording = False
    nodes = {node["id"]: node for node in data["teams"]["nodes"]}
    assert [nodes[i]["june"]["requests"] for i in ids] == [0, 1, 1, 1]
    assert [len(nodes[i]["budgets"]) for i in ids] == [1, 1, 0, 0]
    assert log.reads_of(org_id, {"budgets"}) == 1, "one read of the budgets for every team"
    # One usage question for every team's June, and the budgets' spend of their period.
    assert log.reads_of(org_id, USAGE_COLLECTIONS) <= 4


NODE = """query N($id: ID!) { node(id: $id) { __typename id
  ... on Team { name } ... on Budget { name } ... on UsageEvent { eventId }
  ... on WebhookEndpoint { url } ... on ProviderConnection { provider } } }"""


async def test_node_finds_each_kind_of_object_by_its_id_alone(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    team = await create_team(client, key, name="Nodes")
    budget = await create(client, key, {**DOCUMENTED, "name": "Node budget"})
    tracked = await client.post("/v1/track", headers=bearer(key), json={**EVENT, "event_id": "n-1"})
    hook = await client.post(
        "/v1/webhooks", headers=bearer(key), json={"url": "https://93.184.216.34/meterr"}
    )
    connected = await client.post(
        "/v1/providers/connect",
        headers=bearer(key),
        json={"provider": "openai", "api_key": "sk-node-0000"},
    )
    assert hook.status_code == connected.status_code == 201, (hook.text, connected.text)
    expected = {
        team["id"]: ("Team", "name", "Nodes"),
        budget["id"]: ("Budget", "name", "Node budget"),
        tracked.json()["id"]: ("UsageEvent", "eventId", "n-1"),
        hook.json()["id"]: ("WebhookEndpoint", "url", "https://93.184.216.34/meterr"),
        connected.json()["id"]: ("ProviderConnection", "provider", "openai"),
    }
    for object_id, (typename, field, value) in expected.items():
        node = (await data_of(client, key, NODE, {"id": object_id}))["node"]
        assert (node["__typename"], node["id"], node[field]) == (typename, object_id, value)

    stranger = await make_key()
    for object_id in [*expected, "xyz_1"]:
        missing = await error_of(client, stranger, NODE, {"id": object_id})
        assert missing["extensions"]["code"] == "not_found", object_id
    reader = await make_key(role=Role.READ)
    refused = await error_of(client, reader, NODE, {"id": hook.json()["id"]})
    assert refused["extensions"]["code"] == "forbidden", "endpoints are for admin keys"
