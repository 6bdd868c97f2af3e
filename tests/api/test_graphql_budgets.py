"""Budgets and notifications through GraphQL: the same rules and numbers as through REST."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import KeyFactory, bearer
from tests.support.budgets import DOCUMENTED
from tests.support.events import event
from tests.support.graphql import as_input, data_of

AMOUNT = "{ amount value unit }"
BUDGET_FIELDS = f"""
    id name teamId userId provider model apiKeyId limit {AMOUNT} unit period timezone
    thresholds action current {AMOUNT} reserved {AMOUNT} remaining {AMOUNT} percent exceeded
    periodStart periodEnd
"""

CREATE = f"""
mutation Create($input: BudgetInput!) {{ createBudget(input: $input) {{ {BUDGET_FIELDS} }} }}
"""


def gql_budget(body: dict[str, Any]) -> dict[str, Any]:
    """A REST budget body as a GraphQL BudgetInput (enums upper-case)."""
    converted = as_input(body)
    for name in ("unit", "period", "action"):
        if name in converted:
            converted[name] = converted[name].upper()
    return converted


async def test_a_budget_created_through_graphql_reads_the_same_through_rest(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    await client.post("/v1/track", headers=bearer(key), json=event(input_tokens=2500))
    data = await data_of(client, key, CREATE, {"input": gql_budget(DOCUMENTED)})
    created = data["createBudget"]
    assert (created["unit"], created["period"], created["action"]) == ("TOKENS", "MONTH", "ALERT")
    assert created["current"] == {"amount": "2500", "value": 2500, "unit": "TOKENS"}
    assert created["remaining"] == {"amount": "7500", "value": 7500, "unit": "TOKENS"}
    assert created["percent"] == 25.0

    rest = (await client.get(f"/v1/budgets/{created['id']}", headers=bearer(key))).json()
    assert rest["current"] == created["current"]["value"] == 2500
    assert rest["limit"] == created["limit"]["value"] == 10000
    assert rest["team_id"] == created["teamId"] == "team_123"
    assert rest["period_start"] == created["periodStart"]

    listed = await data_of(client, key, f"{{ budgets {{ nodes {{ {BUDGET_FIELDS} }} }} }}")
    assert [b["id"] for b in listed["budgets"]["nodes"]] == [created["id"]]


async def test_usd_budgets_show_the_exact_decimal_beside_the_rounded_number(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    await client.post("/v1/track", headers=bearer(key), json=event(input_tokens=3))
    body = {"name": "Tiny", "limit": "0.0000001", "team_id": "team_123"}
    data = await data_of(client, key, CREATE, {"input": gql_budget(body)})
    budget = data["createBudget"]
    # 3 tokens of gpt-4o input at $2.50/1M
    assert budget["current"] == {"amount": "0.0000075", "value": 0.000008, "unit": "USD"}
    assert budget["limit"] == {"amount": "0.0000001", "value": 0.0, "unit": "USD"}
    assert budget["remaining"] == {"amount": "0", "value": 0.0, "unit": "USD"}
    assert budget["exceeded"] is True


async def test_update_delete_check_and_notifications_through_graphql(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    created = (
        await data_of(
            client,
            key,
            CREATE,
            {"input": gql_budget({**DOCUMENTED, "limit": 1000, "action": "block"})},
        )
    )["createBudget"]
    changed = await data_of(
        client,
        key,
        "mutation U($id: ID!) { updateBudget(id: $id, changes: {limit: 500}) { limit { value } } }",
        {"id": created["id"]},
    )
    assert changed["updateBudget"]["limit"] == {"value": 500}

    tracked = await data_of(
        client,
        key,
        "mutation T($input: TrackUsageInput!) { trackUsage(input: $input) "
        "{ overBudget overBudgetIds } }",
        {"input": as_input(event(input_tokens=600))},
    )
    assert tracked["trackUsage"] == {"overBudget": True, "overBudgetIds": [created["id"]]}

    check = await data_of(
        client, key, '{ budgetCheck(teamId: "team_123") { allowed blocking budgets { id } } }'
    )
    assert check["budgetCheck"]["allowed"] is False
    assert check["budgetCheck"]["blocking"] == [created["id"]]

    feed = await data_of(
        client,
        key,
        "{ notifications(types: [USAGE_EXCEEDED]) "
        "{ nodes { event data } pageInfo { hasNextPage } } }",
    )
    [exceeded] = feed["notifications"]["nodes"]
    assert exceeded["event"] == "USAGE_EXCEEDED"
    assert (exceeded["data"]["limit"], exceeded["data"]["current"]) == (500, 600)

    deleted = await data_of(
        client, key, "mutation D($id: ID!) { deleteBudget(id: $id) }", {"id": created["id"]}
    )
    assert deleted["deleteBudget"] == created["id"]
    assert (await client.get(f"/v1/budgets/{created['id']}", headers=bearer(key))).status_code == (
        404
    )
