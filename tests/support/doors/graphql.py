"""The GraphQL door: /graphql with the schema's own field names and enums, its answers put in
REST's names and values (camelCase to snake_case, enum names to values)."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import httpx

from meterr.domain import PriceOrigin, PricingStatus
from tests.conftest import bearer
from tests.support.amounts import MICRO
from tests.support.doors.answers import Answer, JsonObject, Query
from tests.support.graphql import as_input, camel

__all__ = ["GraphQLDoor"]

_MONEY = "{ amount value currency }"
_BUDGET_AMOUNT = "{ amount value unit }"
_TOTALS = f"""
    requests inputTokens outputTokens cachedInputTokens cacheWriteTokens reasoningTokens
    tokens total {_MONEY} unpricedRequests
"""
_EVENT = f"""
    id eventId timestamp provider model endpoint teamId userId apiKeyId metadata
    inputTokens outputTokens cachedInputTokens cacheWriteTokens reasoningTokens
    cost {_MONEY} pricingStatus
    costBreakdown {{
      input {_MONEY} output {_MONEY} cacheRead {_MONEY} cacheWrite {_MONEY}
      reasoning {_MONEY}
    }}
    price {{
      provider model effectiveFrom origin source input output cachedInput cacheWrite
      reasoning longContext
    }}
"""
_BUDGET = f"""
    id name teamId userId provider model apiKeyId limit {_BUDGET_AMOUNT} unit period timezone
    thresholds action current {_BUDGET_AMOUNT} reserved {_BUDGET_AMOUNT}
    remaining {_BUDGET_AMOUNT} percent exceeded periodStart periodEnd createdAt updatedAt
"""
_RANGE = "$start: TimeBound, $end: TimeBound, $tz: TimeZone, $filter: UsageFilterInput"
_RANGE_ARGS = "startDate: $start, endDate: $end, tz: $tz, filter: $filter"

_DOCUMENTS = {
    "track": f"""
        mutation Track($input: TrackUsageInput!, $idempotencyKey: String) {{
          trackUsage(input: $input, idempotencyKey: $idempotencyKey) {{
            replayed event {{ {_EVENT} }}
          }}
        }}""",
    "track_batch": f"""
        mutation TrackBatch($events: [TrackUsageInput!]!) {{
          trackUsageBatch(events: $events) {{ replayed event {{ {_EVENT} }} }}
        }}""",
    "costs": f"""
        query Costs({_RANGE}, $groupBy: CostDimension, $metadataKey: String) {{
          costs({_RANGE_ARGS}, groupBy: $groupBy, metadataKey: $metadataKey) {{
            key total {_MONEY} tokens name deleted
          }}
        }}""",
    "usage": f"""
        query Usage({_RANGE}) {{
          usage({_RANGE_ARGS}) {{
            start end totals {{ {_TOTALS} }} providers {{ key {_TOTALS} }}
          }}
        }}""",
    "history": f"""
        query History({_RANGE}, $interval: Interval) {{
          usageHistory({_RANGE_ARGS}, interval: $interval) {{ start {_TOTALS} }}
        }}""",
    "events": f"""
        query Events({_RANGE}, $first: Int, $after: String) {{
          events({_RANGE_ARGS}, first: $first, after: $after) {{
            nodes {{ {_EVENT} }} pageInfo {{ hasNextPage endCursor }}
          }}
        }}""",
    "create_budget": f"""
        mutation CreateBudget($input: BudgetInput!) {{
          createBudget(input: $input) {{ {_BUDGET} }}
        }}""",
    "update_budget": f"""
        mutation UpdateBudget($id: ID!, $changes: BudgetChanges!) {{
          updateBudget(id: $id, changes: $changes) {{ {_BUDGET} }}
        }}""",
    "budget": f"query Budget($id: ID!) {{ budget(id: $id) {{ {_BUDGET} }} }}",
    "budgets": f"query Budgets {{ budgets {{ nodes {{ {_BUDGET} }} }} }}",
    "delete_budget": "mutation DeleteBudget($id: ID!) { deleteBudget(id: $id) }",
    "reserve": """
        mutation Reserve($input: ReservationInput!) {
          reserveBudget(input: $input) { allowed reservationId budgetId }
        }""",
    "create_team": """
        mutation CreateTeam($input: TeamInput!) {
          createTeam(input: $input) { id name description }
        }""",
    "update_team": """
        mutation UpdateTeam($id: ID!, $changes: TeamChanges!) {
          updateTeam(id: $id, changes: $changes) { id name description }
        }""",
    "team": "query Team($id: ID!) { team(id: $id) { id name description } }",
}

_FILTERS = {"provider": "providers", "model": "models", "team_id": "teamIds", "user_id": "userIds"}
_ARGUMENTS = {
    "start_date": "start",
    "end_date": "end",
    "tz": "tz",
    "interval": "interval",
    "limit": "first",
    "cursor": "after",
}
_ENUMS = ("unit", "period", "action")


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


# What a refusal names that REST calls otherwise: page arguments, and this door's variables of
# a range (a value its scalar refuses is named by its variable, as GraphQL does).
_REST_NAMES = {"first": "limit", "after": "cursor", "start": "start_date", "end": "end_date"}


def _rest_name(field: str) -> str:
    """A field as GraphQL names it (`input.inputTokens`, `changes.apiKeyId`,
    `events[1].cachedInputTokens`, `first`) as REST names it (`input_tokens`, `api_key_id`,
    `events[1].cached_input_tokens`, `limit`)."""
    if field in _REST_NAMES:
        return _REST_NAMES[field]
    return _snake(field.removeprefix("input.").removeprefix("changes."))


def _variables(query: dict[str, Query]) -> JsonObject:
    """REST's query parameters as the GraphQL field's arguments."""
    variables: JsonObject = {}
    filters: JsonObject = {}
    for name, value in query.items():
        if name in _FILTERS:
            filters[_FILTERS[name]] = value if isinstance(value, list) else [value]
        elif name == "group_by":
            assert isinstance(value, str)
            dimension, _, metadata_key = value.partition(".")
            variables["groupBy"] = dimension.upper()
            if metadata_key:
                variables["metadataKey"] = metadata_key
        elif name == "interval":
            assert isinstance(value, str)
            variables["interval"] = value.upper()
        else:
            variables[_ARGUMENTS[name]] = value
    if filters:
        variables["filter"] = filters
    return variables


def _number(amount: JsonObject | None, unit: str = "USD") -> float | int | None:
    """A Money or BudgetAmount as REST's number, once its exact amount and its number are
    checked to agree (USD rounded half-even to six decimals; tokens whole)."""
    if amount is None:
        return None
    assert amount.get("currency", amount.get("unit")) == unit, amount
    exact = Decimal(amount["amount"])
    if unit == "TOKENS":
        assert exact == int(exact) == amount["value"], amount
        return int(exact)
    assert amount["value"] == float(exact.quantize(MICRO, rounding=ROUND_HALF_EVEN)), amount
    value: float = amount["value"]
    return value


def _totals(totals: JsonObject) -> JsonObject:
    return {
        "cost" if name == "total" else _snake(name): _number(value) if name == "total" else value
        for name, value in totals.items()
        if name not in ("key", "start")
    }


def _event(node: JsonObject) -> JsonObject:
    shaped = {_snake(name): value for name, value in node.items()}
    shaped["cost"] = _number(shaped["cost"])
    if shaped["cost_breakdown"] is not None:
        shaped["cost_breakdown"] = {
            _snake(name): _number(value) for name, value in shaped["cost_breakdown"].items()
        }
    if shaped["price"] is not None:
        shaped["price"] = {_snake(name): value for name, value in shaped["price"].items()}
    # Enums as REST spells them: PRICED is priced.
    shaped["pricing_status"] = PricingStatus[shaped["pricing_status"]].value
    if shaped["price"] is not None and "origin" in shaped["price"]:
        shaped["price"]["origin"] = PriceOrigin[shaped["price"]["origin"]].value
    return shaped


def _tracked(item: JsonObject) -> JsonObject:
    return {**_event(item["event"]), "replayed": item["replayed"]}


def _snaked(value: JsonObject) -> JsonObject:
    return {_snake(name): item for name, item in value.items()}


def _budget(budget: JsonObject) -> JsonObject:
    shaped = {_snake(name): value for name, value in budget.items()}
    for name in ("limit", "current", "reserved", "remaining"):
        shaped[name] = _number(shaped[name], budget["unit"])
    for name in _ENUMS:
        shaped[name] = shaped[name].lower()
    return shaped


def _budget_input(body: JsonObject) -> JsonObject:
    shaped = {camel(name): value for name, value in body.items()}
    for name in _ENUMS:
        if isinstance(shaped.get(name), str):
            shaped[name] = shaped[name].upper()
    return shaped


def _group(group: JsonObject) -> JsonObject:
    """A group as REST shows it: the team's name and whether it was deleted, for known teams."""
    shaped = {"total": _number(group["total"]), "tokens": group["tokens"]}
    if group["name"] is None:
        return shaped
    return {**shaped, "name": group["name"], "deleted": group["deleted"]}


class GraphQLDoor:
    """/graphql, with the schema's own field names and enums."""

    name = "graphql"

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def _call(self, key: str, operation: str, variables: JsonObject, shape: Any) -> Answer:
        response = await self.client.post(
            "/graphql",
            headers=bearer(key),
            json={"query": _DOCUMENTS[operation], "variables": variables},
        )
        body = response.json()
        errors = body.get("errors")
        if errors:
            assert len(errors) == 1, body
            assert body.get("data") is None or None in body["data"].values(), body
            extensions = errors[0].get("extensions") or {}
            # GraphQL-over-HTTP: a refused key is HTTP 401; a refused operation is answered.
            expected = 401 if extensions.get("code") == "unauthenticated" else 200
            assert response.status_code == expected, response.text
            fields = (extensions.get("details") or {}).get("fields") or {}
            return Answer(
                response.status_code,
                code=extensions.get("code"),
                fields=frozenset(_rest_name(field) for field in fields),
            )
        assert response.status_code == 200, response.text
        [data] = body["data"].values()
        return Answer(response.status_code, data=shape(data))

    async def track(
        self, key: str, body: JsonObject, *, idempotency_key: str | None = None
    ) -> Answer:
        variables: JsonObject = {"input": as_input(body)}
        if idempotency_key is not None:
            variables["idempotencyKey"] = idempotency_key
        return await self._call(key, "track", variables, _tracked)

    async def track_batch(self, key: str, bodies: list[JsonObject]) -> Answer:
        variables = {"events": [as_input(body) for body in bodies]}
        return await self._call(
            key, "track_batch", variables, lambda items: [_tracked(item) for item in items]
        )

    async def costs(self, key: str, **query: Query) -> Answer:
        return await self._call(
            key,
            "costs",
            _variables(query),
            lambda groups: {group["key"]: _group(group) for group in groups},
        )

    async def usage(self, key: str, **query: Query) -> Answer:
        def shape(usage: JsonObject) -> JsonObject:
            return {
                "start": usage["start"],
                "end": usage["end"],
                **_totals(usage["totals"]),
                "providers": {group["key"]: _totals(group) for group in usage["providers"]},
            }

        return await self._call(key, "usage", _variables(query), shape)

    async def history(self, key: str, **query: Query) -> Answer:
        return await self._call(
            key,
            "history",
            _variables(query),
            lambda points: [{"start": point["start"], **_totals(point)} for point in points],
        )

    async def events(self, key: str, **query: Query) -> Answer:
        return await self._call(
            key,
            "events",
            _variables(query),
            lambda page: {
                "events": [_event(node) for node in page["nodes"]],
                "next_cursor": page["pageInfo"]["endCursor"]
                if page["pageInfo"]["hasNextPage"]
                else None,
            },
        )

    async def create_budget(self, key: str, body: JsonObject) -> Answer:
        return await self._call(key, "create_budget", {"input": _budget_input(body)}, _budget)

    async def update_budget(self, key: str, budget_id: str, changes: JsonObject) -> Answer:
        variables = {"id": budget_id, "changes": _budget_input(changes)}
        return await self._call(key, "update_budget", variables, _budget)

    async def budget(self, key: str, budget_id: str) -> Answer:
        return await self._call(key, "budget", {"id": budget_id}, _budget)

    async def budgets(self, key: str) -> Answer:
        return await self._call(
            key, "budgets", {}, lambda budgets: [_budget(budget) for budget in budgets["nodes"]]
        )

    async def delete_budget(self, key: str, budget_id: str) -> Answer:
        return await self._call(key, "delete_budget", {"id": budget_id}, str)

    async def reserve(self, key: str, body: JsonObject) -> Answer:
        return await self._call(key, "reserve", {"input": as_input(body)}, _snaked)

    async def create_team(self, key: str, body: JsonObject) -> Answer:
        return await self._call(key, "create_team", {"input": as_input(body)}, dict)

    async def update_team(self, key: str, team_id: str, changes: JsonObject) -> Answer:
        variables = {"id": team_id, "changes": as_input(changes)}
        return await self._call(key, "update_team", variables, dict)

    async def team(self, key: str, team_id: str) -> Answer:
        return await self._call(key, "team", {"id": team_id}, dict)
