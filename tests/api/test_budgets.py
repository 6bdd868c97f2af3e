"""Budgets over REST: definitions, exact spend, alerts that fire once, blocking and checks."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from meterr.auth import Role
from meterr.clock import SettableClock
from meterr.config import Settings
from meterr.store import Store
from tests.conftest import SUITE_NOW, KeyFactory, bearer
from tests.support.apps import instances
from tests.support.budgets import DOCUMENTED, create
from tests.support.events import event


def this_month() -> dict[str, str]:
    today = SUITE_NOW.date()
    first = today.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return {"start_date": first.isoformat(), "end_date": last.isoformat()}


async def notifications(client: httpx.AsyncClient, key: str, type_: str) -> list[dict[str, Any]]:
    response = await client.get("/v1/events", headers=bearer(key), params={"type": type_})
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["events"]
    return found


async def test_the_documented_budget_is_created_with_its_id_and_spend(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    budget = await create(client, key, DOCUMENTED)
    assert budget["id"].startswith("bud_")
    for field, value in DOCUMENTED.items():
        assert budget[field] == value
    assert budget["current"] == 0
    assert budget["percent"] == 0
    assert budget["timezone"] == "UTC"
    start = SUITE_NOW.date().replace(day=1)
    assert budget["period_start"] == f"{start.isoformat()}T00:00:00Z"
    fetched = await client.get(f"/v1/budgets/{budget['id']}", headers=bearer(key))
    assert fetched.json() == budget
    listed = (await client.get("/v1/budgets", headers=bearer(key))).json()["budgets"]
    assert [b["id"] for b in listed] == [budget["id"]]


async def test_omitted_fields_take_their_defaults(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    budget = await create(client, key, {"name": "Everything", "limit": 250.5})
    assert budget["unit"] == "usd"
    assert budget["limit"] == 250.5
    assert budget["period"] == "month"
    assert budget["thresholds"] == [50, 80, 100]
    assert budget["action"] == "alert"
    assert all(budget[f] is None for f in ("team_id", "user_id", "provider", "model"))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**DOCUMENTED, "user_id": "u1"}, "user_id"),
        ({**DOCUMENTED, "limit": -5}, "limit"),
        ({**DOCUMENTED, "limit": 0}, "limit"),
        ({**DOCUMENTED, "limit": 10.5}, "limit"),
        ({**DOCUMENTED, "unit": "euros"}, "unit"),
        ({**DOCUMENTED, "period": "fortnight"}, "period"),
        ({**DOCUMENTED, "timezone": "Mars/Olympus"}, "timezone"),
        ({**DOCUMENTED, "thresholds": [50, 50]}, "thresholds"),
        ({**DOCUMENTED, "thresholds": [0]}, "thresholds[0]"),
        ({**DOCUMENTED, "action": "shout"}, "action"),
        ({**DOCUMENTED, "limits": 5}, "limits"),
        ({"limit": 5}, "name"),
        # Past a billion dollars, the spend's nano-dollars would not fit the store's integers.
        ({"name": "b", "limit": 10**15}, "limit"),
        ({"name": "b", "limit": "1000000000.000000001"}, "limit"),
    ],
)
async def test_a_bad_budget_is_refused_naming_the_field_and_nothing_is_stored(
    client: httpx.AsyncClient, make_key: KeyFactory, body: dict[str, Any], field: str
) -> None:
    key = await make_key()
    response = await client.post("/v1/budgets", headers=bearer(key), json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert field in error["details"]["fields"]
    assert (await client.get("/v1/budgets", headers=bearer(key))).json()["budgets"] == []


async def test_spend_is_the_same_sum_as_the_cost_query_for_its_scope(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    events = [event("team_a", 1000 + i) for i in range(7)] + [event("team_b", 5000)]
    events.append(event("team_a", 3000, timestamp="2020-01-01T00:00:00Z"))  # another period
    await client.post("/v1/track", headers=bearer(key), json={"events": events})
    usd = await create(client, key, {"name": "A", "team_id": "team_a", "limit": 1})
    tokens = await create(client, key, {**DOCUMENTED, "team_id": "team_a"})

    costs = await client.get(
        "/v1/costs", headers=bearer(key), params={**this_month(), "group_by": "team"}
    )
    assert usd["current"] == costs.json()["team_a"]["total"]
    assert tokens["current"] == costs.json()["team_a"]["tokens"] == sum(range(1000, 1007))
    assert tokens["percent"] == round(tokens["current"] / 100, 2)
    assert tokens["remaining"] == 10000 - tokens["current"]


async def test_each_threshold_fires_once_and_exceeding_sends_the_documented_event(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    budget = await create(client, key, {**DOCUMENTED, "limit": 1000})
    for tokens in (400, 200, 150, 100, 300, 50):  # 40%, 60%, 75%, 85%, 115%, 120%
        await client.post("/v1/track", headers=bearer(key), json=event(input_tokens=tokens))

    reached = await notifications(client, key, "budget.threshold_reached")
    assert sorted(n["data"]["threshold"] for n in reached) == [50, 80, 100]
    assert {n["data"]["budget_id"] for n in reached} == {budget["id"]}
    [exceeded] = await notifications(client, key, "usage.exceeded")
    assert exceeded["event"] == "usage.exceeded"
    assert exceeded["data"]["team_id"] == "team_123"
    assert exceeded["data"]["limit"] == 1000
    assert exceeded["data"]["current"] == 1150
    assert exceeded["data"]["period"] == "month"
    assert exceeded["id"].startswith("ntf_")


async def test_a_burst_on_two_instances_fires_each_threshold_exactly_once(
    settings: Settings, mongodb_url: str, store: Store, make_key: KeyFactory, clock: SettableClock
) -> None:
    key = await make_key()
    async with instances(settings, mongodb_url, store, 2, clock) as clients:
        await create(clients[0], key, {**DOCUMENTED, "limit": 4000})
        responses = await asyncio.gather(
            *(
                clients[i % 2].post("/v1/track", headers=bearer(key), json=event(input_tokens=100))
                for i in range(60)
            )
        )
        assert all(r.status_code == 201 for r in responses)
        reached = await notifications(clients[1], key, "budget.threshold_reached")
        exceeded = await notifications(clients[0], key, "usage.exceeded")
    assert sorted(n["data"]["threshold"] for n in reached) == [50, 80, 100]
    assert len(exceeded) == 1


async def test_a_new_period_starts_from_zero_in_the_budgets_zone(
    client: httpx.AsyncClient, make_key: KeyFactory, clock: SettableClock
) -> None:
    key = await make_key()
    zone = ZoneInfo("America/New_York")
    local_midnight = clock.now().astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    before = (local_midnight - timedelta(minutes=1)).astimezone(UTC)
    after = (local_midnight + timedelta(minutes=1)).astimezone(UTC)
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    await client.post(
        "/v1/track",
        headers=bearer(key),
        json={
            "events": [
                event(input_tokens=700, timestamp=before.strftime(stamp)),
                event(input_tokens=30, timestamp=after.strftime(stamp)),
            ]
        },
    )
    budget = await create(
        client,
        key,
        {**DOCUMENTED, "limit": 1000, "period": "day", "timezone": "America/New_York"},
    )
    assert budget["current"] == 30
    assert budget["period_start"] == local_midnight.astimezone(UTC).strftime(stamp)
    assert budget["period_end"] == (local_midnight + timedelta(days=1)).astimezone(UTC).strftime(
        stamp
    )
    assert await notifications(client, key, "budget.threshold_reached") == []


async def test_a_blocking_budget_still_records_usage_and_says_it_is_over(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    budget = await create(client, key, {**DOCUMENTED, "limit": 1000, "action": "block"})
    first = await client.post("/v1/track", headers=bearer(key), json=event(input_tokens=600))
    assert first.json()["over_budget"] is False
    assert first.json()["over_budget_ids"] == []
    over = await client.post("/v1/track", headers=bearer(key), json=event(input_tokens=600))
    assert over.status_code == 201
    assert over.json()["over_budget"] is True
    assert over.json()["over_budget_ids"] == [budget["id"]]
    other_team = await client.post(
        "/v1/track", headers=bearer(key), json={"events": [event("team_other")]}
    )
    assert other_team.json()["over_budget"] is False
    usage = (await client.get("/v1/usage", headers=bearer(key))).json()
    assert usage["input_tokens"] == 2200, "blocked usage is recorded all the same"


async def test_the_check_answers_whether_a_call_may_go_ahead(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    org = f"gateway-{secrets.token_hex(4)}"
    admin = await make_key(org=org)
    gateway = await make_key(org=org, role=Role.WRITE)
    body = {"name": "Cap", "team_id": "team_123", "limit": 1, "action": "block"}
    budget = await create(client, admin, body)
    await create(client, admin, {"name": "Watch", "limit": 0.001})  # alerts only
    spend = event(input_tokens=100_000)  # gpt-4o: $0.25
    await client.post("/v1/track", headers=bearer(admin), json=spend)

    async def check(**params: Any) -> dict[str, Any]:
        response = await client.get("/v1/budgets/check", headers=bearer(gateway), params=params)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    allowed = await check(team_id="team_123", estimated_cost="0.5")
    assert allowed["allowed"] is True
    assert len(allowed["budgets"]) == 2
    refused = await check(team_id="team_123", estimated_cost="0.8")
    assert refused["allowed"] is False
    assert refused["blocking"] == [budget["id"]]
    elsewhere = await check(team_id="team_9", estimated_cost="5")
    assert elsewhere["allowed"] is True
    bad = await client.get(
        "/v1/budgets/check", headers=bearer(gateway), params={"estimated_cost": "lots"}
    )
    assert bad.status_code == 400
    assert "estimated_cost" in bad.json()["error"]["details"]["fields"]


async def test_changing_a_budget_lets_its_alerts_fire_again(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    budget = await create(client, key, {**DOCUMENTED, "limit": 1000, "thresholds": [50]})
    await client.post("/v1/track", headers=bearer(key), json=event(input_tokens=600))
    assert len(await notifications(client, key, "budget.threshold_reached")) == 1

    renamed = await client.patch(
        f"/v1/budgets/{budget['id']}", headers=bearer(key), json={"name": "Renamed"}
    )
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Renamed"
    assert renamed.json()["limit"] == 1000
    assert len(await notifications(client, key, "budget.threshold_reached")) == 1

    raised = await client.patch(
        f"/v1/budgets/{budget['id']}", headers=bearer(key), json={"limit": 1100}
    )
    assert raised.json()["percent"] == round(600 / 11, 2)
    assert len(await notifications(client, key, "budget.threshold_reached")) == 2

    both = await client.patch(
        f"/v1/budgets/{budget['id']}", headers=bearer(key), json={"user_id": "u1", "team_id": "t"}
    )
    assert both.status_code == 400
    assert (await client.get(f"/v1/budgets/{budget['id']}", headers=bearer(key))).json()[
        "team_id"
    ] == "team_123"


async def test_budgets_are_deleted_and_other_organizations_budgets_do_not_exist(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key, stranger = await make_key(), await make_key()
    budget = await create(client, key, DOCUMENTED)
    path = f"/v1/budgets/{budget['id']}"
    for method in ("GET", "PATCH", "DELETE"):
        response = await client.request(
            method, path, headers=bearer(stranger), json={} if method == "PATCH" else None
        )
        assert response.status_code == 404, method
    assert (await client.delete(path, headers=bearer(key))).status_code == 204
    assert (await client.get(path, headers=bearer(key))).status_code == 404
    assert (await client.delete(path, headers=bearer(key))).status_code == 404


async def test_only_admin_keys_manage_budgets(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    org = f"roles-{secrets.token_hex(4)}"
    admin = await make_key(org=org)
    reader = await make_key(org=org, role=Role.READ)
    writer = await make_key(org=org, role=Role.WRITE)
    for key in (reader, writer):
        response = await client.post("/v1/budgets", headers=bearer(key), json=DOCUMENTED)
        assert response.status_code == 403
    await create(client, admin, DOCUMENTED)
    assert len((await client.get("/v1/budgets", headers=bearer(reader))).json()["budgets"]) == 1
    assert (await client.get("/v1/budgets", headers=bearer(writer))).status_code == 403


async def test_notifications_page_newest_first_and_refuse_unknown_types(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    await create(client, key, {**DOCUMENTED, "limit": 100, "thresholds": [10, 20, 30, 40, 50]})
    await client.post("/v1/track", headers=bearer(key), json=event(input_tokens=200))
    seen, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/events", headers=bearer(key), params=params)).json()
        seen += page["events"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 6  # five thresholds and the limit
    thresholds = [n["data"]["threshold"] for n in seen if n["event"] != "usage.exceeded"]
    assert thresholds == sorted(thresholds, reverse=True)
    bad = await client.get("/v1/events", headers=bearer(key), params={"type": "usage.explode"})
    assert bad.status_code == 400
    assert "type" in bad.json()["error"]["details"]["fields"]


async def test_usage_tracked_events_are_listed_on_their_own_newest_first(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    tracked = []
    for tokens in (10, 20, 30):
        response = await client.post(
            "/v1/track", headers=bearer(key), json=event(input_tokens=tokens)
        )
        tracked.append(response.json())
    first = await client.get(
        "/v1/events", headers=bearer(key), params={"type": "usage.tracked", "limit": 2}
    )
    page = first.json()
    assert first.status_code == 200, page
    assert [e["id"] for e in page["events"]] == [tracked[2]["id"], tracked[1]["id"]]
    assert page["events"][0]["event"] == "usage.tracked"
    assert page["events"][0]["data"]["input_tokens"] == 30
    assert page["events"][0]["data"]["cost"] == tracked[2]["cost"]
    rest = await client.get(
        "/v1/events",
        headers=bearer(key),
        params={"type": "usage.tracked", "cursor": page["next_cursor"]},
    )
    assert [e["id"] for e in rest.json()["events"]] == [tracked[0]["id"]]
    assert rest.json()["next_cursor"] is None
    mixed = await client.get(
        "/v1/events", headers=bearer(key), params={"type": "usage.tracked,usage.exceeded"}
    )
    assert mixed.status_code == 400
    assert (await client.get("/v1/events", headers=bearer(key))).json()["events"] == []


async def test_repricing_that_takes_a_budget_past_a_threshold_fires_its_alert(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    unpriced = {**event(input_tokens=1_000_000), "model": "house-model-7"}
    await client.post("/v1/track", headers=bearer(key), json=unpriced)
    await create(
        client, key, {"name": "USD", "team_id": "team_123", "limit": 1, "thresholds": [50]}
    )
    assert await notifications(client, key, "budget.threshold_reached") == []
    override = {"provider": "openai", "model": "house-model-7", "input": "0.75", "output": "1"}
    response = await client.post("/v1/prices/overrides", headers=bearer(key), json=override)
    assert response.status_code == 201  # prices the stored event: $0.75 of $1
    [reached] = await notifications(client, key, "budget.threshold_reached")
    assert (reached["data"]["threshold"], reached["data"]["current"]) == (50, 0.75)
