"""Budgets as the documentation shows them, and made over REST."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import bearer

__all__ = ["DOCUMENTED", "create"]

DOCUMENTED = {
    "name": "Team 123 monthly tokens",
    "team_id": "team_123",
    "limit": 10000,
    "unit": "tokens",
    "period": "month",
    "thresholds": [50, 80, 100],
    "action": "alert",
}


async def create(client: httpx.AsyncClient, key: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/v1/budgets", headers=bearer(key), json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created
