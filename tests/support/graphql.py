"""The GraphQL door as the tests call it: a POST to /graphql, its data or its one error, and
the documents of the usage queries and mutations with every field."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import bearer

__all__ = [
    "COSTS",
    "EVENTS",
    "EVENT_FIELDS",
    "HISTORY",
    "MONEY",
    "TOTALS_FIELDS",
    "TRACK",
    "TRACK_BATCH",
    "USAGE",
    "as_input",
    "camel",
    "costs_gql",
    "data_of",
    "error_of",
    "graphql",
    "key_total_tokens",
    "track_batch_gql",
    "track_gql",
    "usd",
]

JsonObject = dict[str, Any]

MONEY = "{ amount value currency }"

TOTALS_FIELDS = f"""
    requests inputTokens outputTokens cachedInputTokens cacheWriteTokens reasoningTokens
    tokens total {MONEY} unpricedRequests
"""

EVENT_FIELDS = f"""
    id eventId timestamp provider model endpoint teamId userId apiKeyId metadata
    inputTokens outputTokens cachedInputTokens cacheWriteTokens reasoningTokens
    cost {MONEY} pricingStatus
    costBreakdown {{
      input {MONEY} output {MONEY} cacheRead {MONEY} cacheWrite {MONEY} reasoning {MONEY}
      total {MONEY}
    }}
    price {{ provider model origin input output cachedInput reasoning longContext }}
"""

TRACK = f"""
mutation Track($input: TrackUsageInput!, $idempotencyKey: String) {{
  trackUsage(input: $input, idempotencyKey: $idempotencyKey) {{
    replayed
    event {{ {EVENT_FIELDS} }}
  }}
}}
"""

TRACK_BATCH = f"""
mutation TrackBatch($events: [TrackUsageInput!]!) {{
  trackUsageBatch(events: $events) {{ replayed event {{ {EVENT_FIELDS} }} }}
}}
"""

COSTS = f"""
query Costs($start: TimeBound, $end: TimeBound, $groupBy: CostDimension!, $metadataKey: String,
            $filter: UsageFilterInput, $tz: TimeZone) {{
  costs(startDate: $start, endDate: $end, groupBy: $groupBy, metadataKey: $metadataKey,
        filter: $filter, tz: $tz) {{
    key total {MONEY} tokens requests unpricedRequests
  }}
}}
"""

USAGE = f"""
query Usage($start: TimeBound, $end: TimeBound, $filter: UsageFilterInput, $tz: TimeZone) {{
  usage(startDate: $start, endDate: $end, filter: $filter, tz: $tz) {{
    start end
    totals {{ {TOTALS_FIELDS} }}
    providers {{ key {TOTALS_FIELDS} }}
  }}
}}
"""

HISTORY = f"""
query History($start: TimeBound, $end: TimeBound, $interval: Interval!, $tz: TimeZone) {{
  usageHistory(startDate: $start, endDate: $end, interval: $interval, tz: $tz) {{
    start {TOTALS_FIELDS}
  }}
}}
"""

EVENTS = f"""
query Events($start: TimeBound, $end: TimeBound, $first: Int!, $after: String,
             $filter: UsageFilterInput) {{
  events(startDate: $start, endDate: $end, first: $first, after: $after, filter: $filter) {{
    nodes {{ {EVENT_FIELDS} }}
    edges {{ cursor }}
    pageInfo {{ hasNextPage hasPreviousPage endCursor }}
  }}
}}
"""


async def graphql(
    client: httpx.AsyncClient,
    key: str | None,
    query: str,
    variables: JsonObject | None = None,
    *,
    status: int = 200,
) -> JsonObject:
    headers = bearer(key) if key is not None else {}
    response = await client.post(
        "/graphql", headers=headers, json={"query": query, "variables": variables or {}}
    )
    assert response.status_code == status, response.text
    body: JsonObject = response.json()
    return body


async def data_of(
    client: httpx.AsyncClient, key: str, query: str, variables: JsonObject | None = None
) -> JsonObject:
    body = await graphql(client, key, query, variables)
    assert "errors" not in body, body
    data: JsonObject = body["data"]
    return data


async def error_of(
    client: httpx.AsyncClient, key: str | None, query: str, variables: JsonObject | None = None
) -> JsonObject:
    """The only error of a failed operation."""
    body = await graphql(client, key, query, variables)
    assert len(body.get("errors") or []) == 1, body
    error: JsonObject = body["errors"][0]
    return error


def usd(amount: str, value: float) -> JsonObject:
    """A Money of USD as GraphQL answers it: the exact decimal and the rounded number."""
    return {"amount": amount, "value": value, "currency": "USD"}


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def as_input(body: JsonObject) -> JsonObject:
    """A REST track body as a GraphQL TrackUsageInput."""
    return {camel(name): value for name, value in body.items()}


async def track_gql(client: httpx.AsyncClient, key: str, body: JsonObject) -> JsonObject:
    data = await data_of(client, key, TRACK, {"input": as_input(body)})
    tracked: JsonObject = data["trackUsage"]
    return tracked


async def track_batch_gql(
    client: httpx.AsyncClient, key: str, bodies: list[JsonObject]
) -> list[JsonObject]:
    data = await data_of(client, key, TRACK_BATCH, {"events": [as_input(b) for b in bodies]})
    tracked: list[JsonObject] = data["trackUsageBatch"]
    assert len(tracked) == len(bodies)
    return tracked


async def costs_gql(client: httpx.AsyncClient, key: str, **variables: Any) -> list[JsonObject]:
    data = await data_of(client, key, COSTS, {"groupBy": "PROVIDER", **variables})
    groups: list[JsonObject] = data["costs"]
    return groups


def key_total_tokens(groups: list[JsonObject]) -> list[JsonObject]:
    return [{"key": g["key"], "total": g["total"], "tokens": g["tokens"]} for g in groups]
