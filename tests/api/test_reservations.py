"""Reservations: a gateway holds a call's estimate before making it and settles it after."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from meterr.clock import SettableClock
from meterr.config import Settings
from meterr.store import Store
from tests.conftest import KeyFactory, bearer, eventually
from tests.support.apps import instances
from tests.support.budgets import create
from tests.support.events import event
from tests.support.graphql import as_input, data_of

CAP = {"name": "Cap", "team_id": "team_123", "limit": 10, "action": "block"}


async def reserve(client: httpx.AsyncClient, key: str, **body: Any) -> dict[str, Any]:
    response = await client.post("/v1/budgets/reserve", headers=bearer(key), json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def budget(client: httpx.AsyncClient, key: str, budget_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/budgets/{budget_id}", headers=bearer(key))
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def test_a_hundred_racing_reservations_of_one_dollar_get_exactly_ten_of_ten(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    cap = await create(client, key, CAP)
    answers = await asyncio.gather(
        *(reserve(client, key, team_id="team_123", estimated_cost=1) for _ in range(100))
    )
    granted = [a for a in answers if a["allowed"]]
    assert len(granted) == 10
    assert len({a["reservation_id"] for a in granted}) == 10
    refused = next(a for a in answers if not a["allowed"])
    assert refused["budget_id"] == cap["id"]
    assert (refused["limit"], refused["current"]) == (10, 0)
    assert (await budget(client, key, cap["id"]))["reserved"] == 10


async def test_racing_reservations_on_two_instances_never_pass_the_limit(
    settings: Settings, mongodb_url: str, store: Store, make_key: KeyFactory, clock: SettableClock
) -> None:
    key = await make_key()
    async with instances(settings, mongodb_url, store, 2, clock) as clients:
        await create(clients[0], key, CAP)
        answers = await asyncio.gather(
            *(
                reserve(clients[i % 2], key, team_id="team_123", estimated_cost="0.75")
                for i in range(40)
            )
        )
    assert sum(a["allowed"] for a in answers) == 13  # 13 x 0.75 = 9.75


async def test_tracking_the_call_settles_its_reservation(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    cap = await create(client, key, {**CAP, "limit": 1})
    held = await reserve(client, key, team_id="team_123", estimated_cost="0.8")
    assert held["allowed"] is True
    assert held["expires_at"].endswith("Z")
    assert not (await reserve(client, key, team_id="team_123", estimated_cost="0.3"))["allowed"]

    usage = event(input_tokens=100_000, reservation_id=held["reservation_id"])  # $0.25
    tracked = await client.post("/v1/track", headers=bearer(key), json=usage)
    assert tracked.status_code == 201
    after = await budget(client, key, cap["id"])
    assert (after["current"], after["reserved"]) == (0.25, 0)
    assert (await reserve(client, key, team_id="team_123", estimated_cost="0.7"))["allowed"]

    replay = await client.post(
        "/v1/track", headers={**bearer(key), "Idempotency-Key": "call-1"}, json=usage
    )
    assert replay.status_code == 201
    again = await client.post(
        "/v1/track", headers={**bearer(key), "Idempotency-Key": "call-1"}, json=usage
    )
    assert again.status_code == 200
    assert (await budget(client, key, cap["id"]))["reserved"] == 0.7, "settled only once"


async def test_an_unsettled_reservation_expires_and_releases_its_hold(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    cap = await create(client, key, CAP)
    held = await reserve(client, key, team_id="team_123", estimated_cost=10, ttl_seconds=1)
    assert held["allowed"] is True
    assert not (await reserve(client, key, team_id="team_123", estimated_cost=1))["allowed"]

    async def released() -> bool:
        return (await budget(client, key, cap["id"]))["reserved"] == 0

    await eventually(released)
    assert (await reserve(client, key, team_id="team_123", estimated_cost=1))["allowed"]


async def test_a_reservation_holds_on_every_budget_or_on_none(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    team = await create(client, key, CAP)
    everyone = await create(client, key, {"name": "All", "limit": 5, "action": "block"})
    watch = await create(client, key, {"name": "Watch", "team_id": "team_123", "limit": 1})
    refused = await reserve(client, key, team_id="team_123", estimated_cost=6)
    assert refused == {
        "allowed": False,
        "budget_id": everyone["id"],
        "limit": 5,
        "current": 0,
        "reserved": 0,
        "unit": "usd",
    }
    for created in (team, everyone, watch):
        assert (await budget(client, key, created["id"]))["reserved"] == 0

    granted = await reserve(client, key, team_id="team_123", estimated_cost=4)
    assert granted["allowed"] is True
    for created in (team, everyone, watch):
        held = await budget(client, key, created["id"])
        assert held["reserved"] == 4, f"{created['name']} holds the estimate"


async def test_token_budgets_hold_estimated_tokens(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    body = {"name": "T", "limit": 1000, "unit": "tokens", "action": "block"}
    await create(client, key, body)
    assert (await reserve(client, key, estimated_tokens=600))["allowed"]
    refused = await reserve(client, key, estimated_tokens=600)
    assert (refused["allowed"], refused["reserved"], refused["unit"]) == (False, 600, "tokens")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"team_id": "team_123"}, "estimated_cost"),
        ({"estimated_cost": -1}, "estimated_cost"),
        ({"estimated_tokens": 1.5}, "estimated_tokens"),
        ({"estimated_cost": 1, "ttl_seconds": 0}, "ttl_seconds"),
        ({"estimated_cost": 1, "teams": "x"}, "teams"),
    ],
)
async def test_a_bad_reservation_is_refused_naming_the_field(
    client: httpx.AsyncClient, make_key: KeyFactory, body: dict[str, Any], field: str
) -> None:
    key = await make_key()
    response = await client.post("/v1/budgets/reserve", headers=bearer(key), json=body)
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]["fields"]


async def test_tracking_with_an_unknown_reservation_stores_nothing(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key, other = await make_key(), await make_key()
    await create(client, other, CAP)
    theirs = await reserve(client, other, team_id="team_123", estimated_cost=1)
    batch = {"events": [event(), event(reservation_id=theirs["reservation_id"])]}
    response = await client.post("/v1/track", headers=bearer(key), json=batch)
    assert response.status_code == 400
    assert response.json()["error"]["details"]["fields"] == {
        "events[1].reservation_id": "no such reservation"
    }
    assert (await client.get("/v1/usage", headers=bearer(key))).json()["requests"] == 0


async def test_graphql_reserves_and_settles_through_track_usage(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    cap = await create(client, key, {**CAP, "limit": 1})
    reserve_query = """
    mutation R($input: ReservationInput!) {
      reserveBudget(input: $input) {
        allowed reservationId expiresAt budgetId
        limit { amount value unit } current { amount value unit }
      }
    }
    """
    data = await data_of(
        client, key, reserve_query, {"input": {"teamId": "team_123", "estimatedCost": "0.9"}}
    )
    held = data["reserveBudget"]
    assert held["allowed"] is True
    refused = await data_of(
        client, key, reserve_query, {"input": {"teamId": "team_123", "estimatedCost": "0.2"}}
    )
    assert refused["reserveBudget"]["budgetId"] == cap["id"]
    assert refused["reserveBudget"]["allowed"] is False
    assert (refused["reserveBudget"]["limit"], refused["reserveBudget"]["current"]) == (
        {"amount": "1", "value": 1.0, "unit": "USD"},
        {"amount": "0", "value": 0.0, "unit": "USD"},
    )

    track = "mutation T($input: TrackUsageInput!) { trackUsage(input: $input) { replayed } }"
    usage = as_input(event(input_tokens=1000, reservation_id=held["reservationId"]))
    await data_of(client, key, track, {"input": usage})
    assert (await budget(client, key, cap["id"]))["reserved"] == 0
