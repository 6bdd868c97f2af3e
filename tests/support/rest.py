"""The REST door as the query tests call it: track events, then read /v1/costs, /v1/usage and
/v1/usage/history, each expected to answer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from tests.conftest import bearer

__all__ = ["costs", "get_ok", "history", "track", "track_batch"]

JsonObject = dict[str, Any]


async def track(client: httpx.AsyncClient, key: str, **body: Any) -> JsonObject:
    response = await client.post("/v1/track", headers=bearer(key), json=body)
    assert response.status_code == 201, response.text
    result: JsonObject = response.json()
    return result


async def track_batch(
    client: httpx.AsyncClient, key: str, events: list[JsonObject]
) -> list[JsonObject]:
    response = await client.post("/v1/track", headers=bearer(key), json={"events": events})
    assert response.status_code == 201, response.text
    tracked: list[JsonObject] = response.json()["events"]
    assert len(tracked) == len(events)
    return tracked


async def get_ok(
    client: httpx.AsyncClient, key: str, path: str, params: Mapping[str, str | int]
) -> Any:
    response = await client.get(path, headers=bearer(key), params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def costs(client: httpx.AsyncClient, key: str, **params: str) -> JsonObject:
    result: JsonObject = await get_ok(client, key, "/v1/costs", params)
    return result


async def history(client: httpx.AsyncClient, key: str, **params: str | int) -> JsonObject:
    result: JsonObject = await get_ok(client, key, "/v1/usage/history", params)
    return result
