"""A dashboard asks for several panels in one document: a panel that fails empties only its
own field, the others are answered."""

from __future__ import annotations

import httpx

from meterr.schema import build_schema
from tests.conftest import KeyFactory, bearer

DASHBOARD = """
query Dashboard($budgetId: ID!, $teamId: ID!) {
  usage { totals { requests tokens } }
  budget(id: $budgetId) { id name }
  team(id: $teamId) { id }
  budgets { id }
}
"""


async def test_a_failing_panel_leaves_the_others_answered(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    tracked = await client.post(
        "/v1/track",
        headers=bearer(key),
        json={"provider": "openai", "model": "gpt-4o", "input_tokens": 10, "output_tokens": 5},
    )
    assert tracked.status_code == 201
    answer = await client.post(
        "/graphql",
        headers=bearer(key),
        json={"query": DASHBOARD, "variables": {"budgetId": "missing", "teamId": "missing"}},
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["data"] == {
        "usage": {"totals": {"requests": 1, "tokens": 15}},
        "budget": None,
        "team": None,
        "budgets": [],
    }
    failed = {tuple(error["path"]): error["extensions"]["code"] for error in body["errors"]}
    assert failed == {("budget",): "not_found", ("team",): "not_found"}


def test_every_root_query_field_is_nullable() -> None:
    """Whatever a root field may fail with (a missing object, a bad argument, a refusal),
    the failure is reported on that field alone."""
    query = build_schema()._schema.query_type
    assert query is not None
    required = [name for name, field in query.fields.items() if str(field.type).endswith("!")]
    assert required == []
