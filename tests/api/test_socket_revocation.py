"""A key that stops working stops at once on the websockets it opened: a removed member, a
revoked key, a deleted team's members. Their sockets close with 4403, and nothing sent
over them after the revocation runs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from meterr.app import create_app
from meterr.auth import hash_key
from meterr.clock import SettableClock
from meterr.config import Settings
from meterr.store import Store
from tests.conftest import KeyFactory, api_only, bearer
from tests.servers import serving
from tests.support.subscriptions import (
    LEGACY_WS,
    TRANSPORT_WS,
    USAGE_TRACKED,
    WAIT,
    Subscriber,
    subscriber,
)
from tests.support.teams import create_team, invite, join


@pytest.fixture(scope="module")
async def server(settings: Settings, store: Store, clock: SettableClock) -> AsyncIterator[str]:
    """host:port of the app behind uvicorn, served as `meterr serve` serves it."""
    served = api_only(settings)
    async with serving(create_app(served, store=store, clock=clock), served) as url:
        yield url.removeprefix("http://")


@pytest.fixture
async def http(server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"http://{server}") as client:
        yield client


async def go_live(
    client: Subscriber, http: httpx.AsyncClient, key: str, team_id: str | None = None
) -> None:
    """Subscribed to usageTracked and surely following live events on return."""
    body = {"provider": "openai", "model": "gpt-4o", "input_tokens": 5}
    if team_id is not None:
        body["team_id"] = team_id
    first, second = [
        (await http.post("/v1/track", headers=bearer(key), json=body)).json() for _ in range(2)
    ]
    await client.subscribe(USAGE_TRACKED, {"after": first["id"]})
    assert (await client.next_data())["usageTracked"]["id"] == second["id"]


TRACK = (
    'mutation { trackUsage(input: {provider: "openai", model: "gpt-4o", inputTokens: 5}) '
    "{ replayed } }"
)


async def member_key(http: httpx.AsyncClient, admin: str) -> tuple[str, str, str]:
    """A team, one member of it and the member's key: (team id, member id, key)."""
    team = await create_team(http, admin, f"Team {id(admin)}")
    joined = await join(http, (await invite(http, admin, team["id"], "ada@example.com"))["token"])
    return team["id"], joined["member"]["id"], joined["api_key"]


async def closed_with(client: Subscriber) -> int | None:
    """The close code, once the server closes the socket."""
    async with asyncio.timeout(WAIT):
        while True:
            try:
                await client.socket.recv()
            except ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd is not None else None


async def requests_of(http: httpx.AsyncClient, key: str) -> int:
    return int((await http.get("/v1/usage", headers=bearer(key))).json()["requests"])


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_removing_a_member_closes_its_live_feed_with_4403(
    server: str,
    http: httpx.AsyncClient,
    make_key: KeyFactory,
    protocol: str,
) -> None:
    admin = await make_key()
    team_id, member_id, key = await member_key(http, admin)
    async with subscriber(server, key, protocol) as client:
        await go_live(client, http, key, team_id)
        removed = await http.delete(
            f"/v1/teams/{team_id}/members/{member_id}", headers=bearer(admin)
        )
        assert removed.status_code == 204, removed.text
        assert await closed_with(client) == 4403


async def test_deleting_a_team_closes_its_members_sockets(
    server: str,
    http: httpx.AsyncClient,
    make_key: KeyFactory,
) -> None:
    admin = await make_key()
    team_id, _, key = await member_key(http, admin)
    async with subscriber(server, key) as client:
        await go_live(client, http, key, team_id)
        deleted = await http.delete(f"/v1/teams/{team_id}", headers=bearer(admin))
        assert deleted.status_code == 204, deleted.text
        assert await closed_with(client) == 4403


async def test_a_key_revoked_elsewhere_closes_its_sockets_and_runs_nothing_more(
    server: str,
    http: httpx.AsyncClient,
    make_key: KeyFactory,
    store: Store,
    clock: SettableClock,
) -> None:
    key = await make_key()
    principal = await store.organizations.principal_for_key_hash_across_tenants(hash_key(key))
    assert principal is not None
    organization = await store.organizations.organization(principal.org_id)
    assert organization is not None
    reader = await make_key(org=organization.name)
    async with subscriber(server, key) as client:
        await go_live(client, http, key)
        before = await requests_of(http, reader)
        # As `meterr keys revoke` does from another process: in the store, not through here.
        await store.organizations.revoke_keys(principal.org_id, [principal.key_id], clock.now())
        # An operation sent at once is refused: the key is checked again as it starts.
        await client.subscribe(TRACK, op_id="after-revocation")
        assert await closed_with(client) == 4403
    assert await requests_of(http, reader) == before
