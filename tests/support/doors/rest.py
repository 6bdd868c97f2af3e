"""The REST door: /v1 as documented, its answers reshaped only where GraphQL has no twin
(a currency, the budgets a request is over, a forecast)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tests.conftest import bearer
from tests.support.doors.answers import Answer, JsonObject, Query
from tests.support.exact import inexact

__all__ = ["RestDoor"]


# The documented status of each error code a door test meets over REST.
REST_STATUS = {
    "invalid_input": 400,
    "unauthenticated": 401,
    "forbidden": 403,
    "not_found": 404,
    "idempotency_conflict": 409,
}


def _rest_error(response: httpx.Response) -> Answer:
    error = response.json()["error"]
    assert response.status_code == REST_STATUS[error["code"]], response.text
    fields = (error.get("details") or {}).get("fields") or {}
    return Answer(response.status_code, code=error["code"], fields=frozenset(fields))


def _created_unless_replayed(
    response: httpx.Response, events_of: Callable[[JsonObject], list[JsonObject]]
) -> None:
    """A request that stored an event is 201 Created; one that only replayed is 200."""
    if response.is_success:
        replayed = all(event["replayed"] for event in events_of(response.json()))
        assert response.status_code == (200 if replayed else 201), response.text


def _rest_event(event: JsonObject) -> JsonObject:
    """An event without what only REST shows: its currency, and the budgets a request is over
    (GraphQL answers those beside the event)."""
    hidden = ("currency", "over_budget", "over_budget_ids")
    shaped = {name: value for name, value in inexact(event).items() if name not in hidden}
    if shaped.get("price") is not None:
        shaped["price"] = {k: v for k, v in shaped["price"].items() if k != "unit"}
    return shaped


def _rest_budget(budget: JsonObject) -> JsonObject:
    return {name: value for name, value in inexact(budget).items() if name != "forecast"}


def _rest_reservation(reservation: JsonObject) -> JsonObject:
    """Whether a hold was granted, and its id or the budget that refused it."""
    return {
        "allowed": reservation["allowed"],
        "reservation_id": reservation.get("reservation_id"),
        "budget_id": reservation.get("budget_id"),
    }


def _rest_team(team: JsonObject) -> JsonObject:
    """A team's own fields, without its members and spend."""
    return {name: team[name] for name in ("id", "name", "description")}


def _rest_params(query: dict[str, Query]) -> dict[str, str | int]:
    return {
        name: ",".join(value) if isinstance(value, list) else value for name, value in query.items()
    }


class RestDoor:
    """/v1, as documented."""

    name = "rest"

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    def _answer(self, response: httpx.Response, shape: Any) -> Answer:
        if response.is_success:
            body = response.json() if response.content else None
            return Answer(response.status_code, data=shape(body))
        return _rest_error(response)

    async def _get(self, key: str, path: str, query: dict[str, Query]) -> httpx.Response:
        return await self.client.get(path, headers=bearer(key), params=_rest_params(query))

    async def track(
        self, key: str, body: JsonObject, *, idempotency_key: str | None = None
    ) -> Answer:
        headers = bearer(key)
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        response = await self.client.post("/v1/track", headers=headers, json=body)
        _created_unless_replayed(response, lambda body: [body])
        return self._answer(response, _rest_event)

    async def track_batch(self, key: str, bodies: list[JsonObject]) -> Answer:
        response = await self.client.post("/v1/track", headers=bearer(key), json={"events": bodies})
        _created_unless_replayed(response, lambda body: body["events"])
        return self._answer(response, lambda body: [_rest_event(e) for e in body["events"]])

    async def costs(self, key: str, **query: Query) -> Answer:
        return self._answer(await self._get(key, "/v1/costs", query), inexact)

    async def usage(self, key: str, **query: Query) -> Answer:
        return self._answer(await self._get(key, "/v1/usage", query), inexact)

    async def history(self, key: str, **query: Query) -> Answer:
        response = await self._get(key, "/v1/usage/history", query)
        return self._answer(response, lambda body: inexact(body["series"]))

    async def events(self, key: str, **query: Query) -> Answer:
        response = await self._get(key, "/v1/usage/history", query)
        return self._answer(
            response,
            lambda body: {
                "events": [_rest_event(event) for event in body["events"]],
                "next_cursor": body["next_cursor"],
            },
        )

    async def create_budget(self, key: str, body: JsonObject) -> Answer:
        response = await self.client.post("/v1/budgets", headers=bearer(key), json=body)
        return self._answer(response, _rest_budget)

    async def update_budget(self, key: str, budget_id: str, changes: JsonObject) -> Answer:
        response = await self.client.patch(
            f"/v1/budgets/{budget_id}", headers=bearer(key), json=changes
        )
        return self._answer(response, _rest_budget)

    async def budget(self, key: str, budget_id: str) -> Answer:
        response = await self.client.get(f"/v1/budgets/{budget_id}", headers=bearer(key))
        return self._answer(response, _rest_budget)

    async def budgets(self, key: str) -> Answer:
        response = await self.client.get("/v1/budgets", headers=bearer(key))
        return self._answer(
            response, lambda body: [_rest_budget(budget) for budget in body["budgets"]]
        )

    async def delete_budget(self, key: str, budget_id: str) -> Answer:
        response = await self.client.delete(f"/v1/budgets/{budget_id}", headers=bearer(key))
        return self._answer(response, lambda _body: budget_id)

    async def reserve(self, key: str, body: JsonObject) -> Answer:
        response = await self.client.post("/v1/budgets/reserve", headers=bearer(key), json=body)
        return self._answer(response, _rest_reservation)

    async def create_team(self, key: str, body: JsonObject) -> Answer:
        response = await self.client.post("/v1/teams", headers=bearer(key), json=body)
        return self._answer(response, _rest_team)

    async def update_team(self, key: str, team_id: str, changes: JsonObject) -> Answer:
        response = await self.client.patch(
            f"/v1/teams/{team_id}", headers=bearer(key), json=changes
        )
        return self._answer(response, _rest_team)

    async def team(self, key: str, team_id: str) -> Answer:
        response = await self.client.get(f"/v1/teams/{team_id}", headers=bearer(key))
        return self._answer(response, _rest_team)
