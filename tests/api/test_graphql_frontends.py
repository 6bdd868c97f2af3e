"""What a frontend builds on: a panel that fails empties only its own field, and introspection
reports each input's real defaults (the models' own) without a complaint in the log."""

from __future__ import annotations

import logging

import httpx
import pytest
from graphql import get_introspection_query

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


async def test_introspection_reports_the_models_defaults_and_logs_nothing(
    client: httpx.AsyncClient, make_key: KeyFactory, caplog: pytest.LogCaptureFixture
) -> None:
    key = await make_key()
    with caplog.at_level(logging.WARNING):
        answer = await client.post(
            "/graphql", headers=bearer(key), json={"query": get_introspection_query()}
        )
    assert answer.status_code == 200
    body = answer.json()
    assert "errors" not in body
    assert [record.getMessage() for record in caplog.records] == []
    types = {t["name"]: t for t in body["data"]["__schema"]["types"]}

    def defaults(name: str) -> dict[str, str | None]:
        return {f["name"]: f["defaultValue"] for f in types[name]["inputFields"]}

    assert defaults("BudgetInput") == {
        "name": None,
        "limit": None,
        "unit": "USD",
        "period": "MONTH",
        "thresholds": "[50, 80, 100]",
        "action": "ALERT",
        "timezone": '"UTC"',
        "teamId": "null",
        "userId": "null",
        "provider": "null",
        "model": "null",
        "apiKeyId": "null",
    }
    assert defaults("TrackUsageInput")["outputTokens"] == "0"
    assert defaults("ReservationInput")["ttlSeconds"] == "600"
    assert defaults("RepriceEventsInput")["dryRun"] == "true"
