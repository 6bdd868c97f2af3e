"""A team's keys see their team only: not the organization's provider connections, nor the
name, limit or spend of a budget outside their team, though every covering budget still
applies to them. Racing accepts of one invitation leave one member and one key."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from meterr.store import Store
from tests.conftest import KeyFactory, bearer
from tests.support.orgs import org_id_named
from tests.support.teams import create_team, invite, join


async def team_member(
    client: httpx.AsyncClient, admin: str, name: str, email: str
) -> tuple[dict[str, Any], str]:
    team = await create_team(client, admin, name)
    joined = await join(client, (await invite(client, admin, team["id"], email))["token"])
    return team, str(joined["api_key"])


async def graphql(client: httpx.AsyncClient, key: str, query: str) -> dict[str, Any]:
    response = await client.post("/graphql", headers=bearer(key), json={"query": query})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_teams_key_sees_no_provider_connection(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    admin = await make_key()
    connect = {"provider": "openai", "name": "production", "api_key": "sk-proj-abcdef123456"}
    created = await client.post("/v1/providers/connect", headers=bearer(admin), json=connect)
    assert created.status_code == 201, created.text
    connection_id = created.json()["id"]
    _, member = await team_member(client, admin, "Research", "ada@example.com")

    listed = (await client.get("/v1/providers", headers=bearer(member))).json()["providers"]
    assert listed, "the providers and their prices stay readable"
    assert all(provider["connections"] == [] for provider in listed)
    seen_by_admin = (await client.get("/v1/providers", headers=bearer(admin))).json()
    assert any(p["connections"] for p in seen_by_admin["providers"])

    for path in (
        f"/v1/providers/{connection_id}",
        f"/v1/providers/{connection_id}/reconciliation?start_date=2026-06-01&end_date=2026-06-10",
    ):
        response = await client.get(path, headers=bearer(member))
        assert response.status_code == 404, (path, response.text)
        assert response.json()["error"]["code"] == "not_found"

    body = await graphql(client, member, "{ providers { name connections { id name } } }")
    assert all(provider["connections"] == [] for provider in body["data"]["providers"])
    body = await graphql(
        client,
        member,
        f'{{ reconciliation(connectionId: "{connection_id}", startDate: "2026-06-01", '
        'endDate: "2026-06-10") { flaggedDays } }',
    )
    assert body["errors"][0]["extensions"]["code"] == "not_found"


async def test_an_organization_budget_blocks_a_teams_key_without_showing_itself(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    admin = await make_key()
    team, member = await team_member(client, admin, "Search", "grace@example.com")
    org_budget = await client.post(
        "/v1/budgets",
        headers=bearer(admin),
        json={"name": "Company cap", "limit": 1, "action": "block"},
    )
    assert org_budget.status_code == 201, org_budget.text
    org_budget_id = org_budget.json()["id"]
    team_budget = await client.post(
        "/v1/budgets",
        headers=bearer(admin),
        json={"name": "Search cap", "limit": 1000, "team_id": team["id"], "action": "block"},
    )
    assert team_budget.status_code == 201, team_budget.text

    check = await client.get(
        "/v1/budgets/check", headers=bearer(member), params={"estimated_cost": "5"}
    )
    assert check.status_code == 200, check.text
    answer = check.json()
    assert answer["allowed"] is False
    assert answer["blocking"] == [org_budget_id]
    assert [budget["id"] for budget in answer["budgets"]] == [team_budget.json()["id"]]
    assert "Company cap" not in check.text

    seen_by_admin = await client.get(
        "/v1/budgets/check", headers=bearer(admin), params={"estimated_cost": "5"}
    )
    assert org_budget_id in [budget["id"] for budget in seen_by_admin.json()["budgets"]]

    body = await graphql(
        client, member, '{ budgetCheck(estimatedCost: "5") { allowed blocking budgets { name } } }'
    )
    assert body["data"]["budgetCheck"] == {
        "allowed": False,
        "blocking": [org_budget_id],
        "budgets": [{"name": "Search cap"}],
    }

    refused = await client.post(
        "/v1/budgets/reserve", headers=bearer(member), json={"estimated_cost": 5}
    )
    assert refused.status_code == 200, refused.text
    assert refused.json() == {
        "allowed": False,
        "budget_id": org_budget_id,
        "limit": None,
        "current": None,
        "reserved": None,
        "unit": None,
    }
    body = await graphql(
        client,
        member,
        'mutation { reserveBudget(input: {estimatedCost: "5"}) '
        "{ allowed budgetId limit { amount } current { amount } } }",
    )
    assert body["data"]["reserveBudget"] == {
        "allowed": False,
        "budgetId": org_budget_id,
        "limit": None,
        "current": None,
    }
    by_admin = await client.post(
        "/v1/budgets/reserve", headers=bearer(admin), json={"estimated_cost": 5}
    )
    assert by_admin.json()["limit"] == 1.0


async def test_racing_accepts_leave_one_member_and_one_key_per_invitation(
    client: httpx.AsyncClient, make_key: KeyFactory, store: Store
) -> None:
    org = "racing-accepts"
    admin = await make_key(org=org)
    team = await create_team(client, admin, "Racers")
    tokens = [
        (await invite(client, admin, team["id"], f"racer{i}@example.com"))["token"]
        for i in range(5)
    ]
    org_id = await org_id_named(store, org)
    keys_before = await store.organizations.api_keys.count_documents({"org_id": org_id})

    answers = await asyncio.gather(
        *(client.post(f"/v1/invitations/{tokens[i % 5]}/accept") for i in range(100))
    )

    statuses = sorted(response.status_code for response in answers)
    assert statuses.count(201) == 5
    assert set(statuses) == {201, 409}
    keys_after = await store.organizations.api_keys.count_documents({"org_id": org_id})
    assert keys_after - keys_before == 5
    members = (await client.get(f"/v1/teams/{team['id']}", headers=bearer(admin))).json()
    assert len(members["members"]) == 5
