"""Teams and their invitations, made over REST."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import bearer

__all__ = ["create_team", "invite", "join"]


async def create_team(
    client: httpx.AsyncClient, key: str, name: str = "Research", **body: Any
) -> dict[str, Any]:
    response = await client.post("/v1/teams", headers=bearer(key), json={"name": name, **body})
    assert response.status_code == 201, response.text
    team: dict[str, Any] = response.json()
    return team


async def invite(
    client: httpx.AsyncClient, key: str, team_id: str, email: str, role: str = "member"
) -> dict[str, Any]:
    response = await client.post(
        f"/v1/teams/{team_id}/invite", headers=bearer(key), json={"email": email, "role": role}
    )
    assert response.status_code == 201, response.text
    invitation: dict[str, Any] = response.json()
    return invitation


async def join(client: httpx.AsyncClient, token: str) -> dict[str, Any]:
    response = await client.post(f"/v1/invitations/{token}/accept")
    assert response.status_code == 201, response.text
    joined: dict[str, Any] = response.json()
    return joined
