"""What a frontend builds on: a panel that fails empties only its own field, and introspection
reports each input's real defaults (the models' own) without a complaint in the log."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

import httpx
import pytest
from graphql import get_introspection_query

from meterr.auth import Tier
from meterr.schema import build_schema
from tests.conftest import KeyFactory, bearer

DASHBOARD = """
query Dashboard($budgetId: ID!, $teamId: ID!) {
  usage { totals { requests tokens } }
  budget(id: $budgetId) { id name }
  team(id: $teamId) { id }
  budgets { nodes { id } }
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
        "budgets": {"nodes": []},
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


VIEWER = """
{ viewer {
    organization { name tier } role allowed confined teamId
    rateLimit { limit remaining resetAt }
    team { name }
} }
"""


async def test_the_viewer_says_what_the_key_may_do_and_what_is_left_of_the_hour(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    org = f"viewer-{secrets.token_hex(4)}"
    admin = await make_key(org=org, tier=Tier.FREE)
    team = await client.post("/v1/teams", headers=bearer(admin), json={"name": "Search"})
    assert team.status_code == 201
    invited = await client.post(
        f"/v1/teams/{team.json()['id']}/invite",
        headers=bearer(admin),
        json={"email": "ana@example.com"},
    )
    joined = await client.post(f"/v1/invitations/{invited.json()['token']}/accept")
    member = joined.json()["api_key"]

    first = await client.post("/graphql", headers=bearer(admin), json={"query": VIEWER})
    second = await client.post("/graphql", headers=bearer(member), json={"query": VIEWER})
    seen, other = first.json()["data"]["viewer"], second.json()["data"]["viewer"]
    assert seen["organization"] == {"name": org, "tier": "FREE"}
    assert (seen["role"], seen["allowed"]) == ("ADMIN", ["INGEST", "READ", "INVITE", "MANAGE"])
    assert (seen["confined"], seen["team"]) == (False, None)
    assert seen["rateLimit"]["limit"] == 100
    # The organization's requests share one count: the member's came right after the admin's.
    assert other["rateLimit"]["remaining"] == seen["rateLimit"]["remaining"] - 1
    assert int(first.headers["X-RateLimit-Remaining"]) == seen["rateLimit"]["remaining"]
    assert other["role"] == "MEMBER"
    assert other["allowed"] == ["INGEST", "READ"]
    assert (other["confined"], other["teamId"], other["team"]) == (
        True,
        team.json()["id"],
        {"name": "Search"},
    )


async def test_an_unlimited_tier_has_no_limit_to_show(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    answer = await client.post("/graphql", headers=bearer(key), json={"query": VIEWER})
    limit = answer.json()["data"]["viewer"]["rateLimit"]
    assert (limit["limit"], limit["remaining"]) == (None, None)
    reset = datetime.fromisoformat(limit["resetAt"].replace("Z", "+00:00"))
    assert (reset.utcoffset(), reset.minute, reset.second) == (timedelta(0), 0, 0)
