"""Each kind of notification is a GraphQL type of its own with typed fields (a client switches
on __typename), holding what the webhook's `data` payload holds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from tests.conftest import KeyFactory, bearer
from tests.support.budgets import DOCUMENTED, create
from tests.support.events import event
from tests.support.graphql import data_of
from tests.support.teams import create_team, invite

KINDS = """
  nodes {
    __typename id event created data
    ... on BudgetAlert {
      budgetId budgetName limit { amount value unit } current { amount value unit } unit
      percent action period periodStart periodEnd
      scope { teamId userId provider model apiKeyId }
    }
    ... on ThresholdReached { threshold }
    ... on ForecastExceeded { exceedsOn projected { amount value unit } }
    ... on MemberJoined { teamId teamName memberId email role }
    ... on UsageTracked {
      usage {
        eventId timestamp provider model teamId inputTokens outputTokens pricingStatus
        cost { amount value currency }
      }
    }
  }
"""


def same_instant(graphql_value: str, payload_value: str) -> bool:
    return datetime.fromisoformat(graphql_value) == datetime.fromisoformat(payload_value)


async def notifications(
    client: httpx.AsyncClient, key: str, types: str = ""
) -> list[dict[str, Any]]:
    args = f"(types: [{types}])" if types else ""
    data = await data_of(client, key, f"{{ notifications{args} {{ {KINDS} }} }}")
    found: list[dict[str, Any]] = data["notifications"]["nodes"]
    return found


async def test_budget_alerts_are_typed_as_their_payload_says(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    budget = await create(client, key, {**DOCUMENTED, "limit": 100, "thresholds": [50, 100]})
    tracked = await client.post("/v1/track", headers=bearer(key), json=event(input_tokens=150))
    assert tracked.status_code == 201, tracked.text

    found = await notifications(client, key)
    assert sorted(n["__typename"] for n in found) == [
        "ThresholdReached",
        "ThresholdReached",
        "UsageExceeded",
    ]
    for alert in found:
        data = alert["data"]
        assert alert["budgetId"] == data["budget_id"] == budget["id"]
        assert (alert["budgetName"], alert["limit"], alert["current"]) == (
            data["budget_name"],
            {"amount": data["limit_exact"], "value": data["limit"], "unit": "TOKENS"},
            {"amount": data["current_exact"], "value": data["current"], "unit": "TOKENS"},
        )
        assert (alert["unit"], alert["action"], alert["period"]) == ("TOKENS", "ALERT", "MONTH")
        assert alert["scope"]["teamId"] == data["team_id"] == "team_123"
        assert alert["scope"]["userId"] is None
        assert same_instant(alert["periodStart"], data["period_start"])
    thresholds = sorted(n["threshold"] for n in found if n["__typename"] == "ThresholdReached")
    assert thresholds == [50, 100]
    [exceeded] = [n for n in found if n["__typename"] == "UsageExceeded"]
    assert (exceeded["event"], exceeded["current"], exceeded["percent"]) == (
        "USAGE_EXCEEDED",
        {"amount": "150", "value": 150, "unit": "TOKENS"},
        150.0,
    )


async def test_a_usd_budgets_alert_carries_its_exact_amounts_in_graphql_and_its_payload(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    await create(client, key, {"name": "Tiny", "limit": "0.0000001", "thresholds": [100]})
    # 3 tokens of gpt-4o input at $2.50 per 1M tokens: $0.0000075.
    tracked = await client.post("/v1/track", headers=bearer(key), json=event(input_tokens=3))
    assert tracked.status_code == 201, tracked.text
    [exceeded] = await notifications(client, key, "USAGE_EXCEEDED")
    data = exceeded["data"]
    assert (data["limit"], data["limit_exact"]) == (0.0, "0.0000001")
    assert (data["current"], data["current_exact"]) == (0.000008, "0.0000075")
    assert exceeded["limit"] == {"amount": "0.0000001", "value": 0.0, "unit": "USD"}
    assert exceeded["current"] == {"amount": "0.0000075", "value": 0.000008, "unit": "USD"}


async def test_usage_tracked_and_member_joined_are_typed_too(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    tracked = await client.post("/v1/track", headers=bearer(key), json=event(input_tokens=42))
    assert tracked.status_code == 201, tracked.text
    [usage] = await notifications(client, key, "USAGE_TRACKED")
    assert usage["__typename"] == "UsageTracked"
    summary = usage["usage"]
    assert (summary["eventId"], summary["inputTokens"], summary["pricingStatus"]) == (
        tracked.json()["event_id"],
        42,
        "PRICED",
    )
    assert summary["cost"] == {
        "amount": usage["data"]["cost_exact"],
        "value": usage["data"]["cost"],
        "currency": "USD",
    }
    assert (summary["cost"]["amount"], summary["cost"]["value"]) == (
        tracked.json()["cost_exact"],
        tracked.json()["cost"],
    )

    team = await create_team(client, key, name="Joiners")
    invitation = await invite(client, key, team["id"], "joiner@example.com", role="viewer")
    accepted = await client.post(f"/v1/invitations/{invitation['token']}/accept")
    assert accepted.status_code in (200, 201), accepted.text
    [joined] = await notifications(client, key, "MEMBER_JOINED")
    assert joined["__typename"] == "MemberJoined"
    assert (joined["teamId"], joined["teamName"], joined["email"], joined["role"]) == (
        team["id"],
        "Joiners",
        "joiner@example.com",
        "VIEWER",
    )
    assert joined["memberId"] == joined["data"]["member_id"]
