"""The GraphQL door as the tests call it: a POST to /graphql, its data or its one error."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import bearer

__all__ = ["as_input", "camel", "data_of", "error_of", "graphql"]

JsonObject = dict[str, Any]


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


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def as_input(body: JsonObject) -> JsonObject:
    """A REST track body as a GraphQL TrackUsageInput."""
    return {camel(name): value for name, value in body.items()}
