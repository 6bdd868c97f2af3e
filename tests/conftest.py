"""One real store per test session; a fresh database per test module."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from pymongo import AsyncMongoClient

from meterr.app import create_app
from meterr.auth import Role, Tier
from meterr.clock import Clock, SettableClock
from meterr.config import Settings
from meterr.resolvers import create_key
from meterr.store import EmbeddedServer, Store
from tests.support.contract import OpenApiContract

if TYPE_CHECKING:
    from tests.support.webhooks import Receiver

KeyFactory = Callable[..., Awaitable[str]]

# The suite's "now": mid-morning (UTC) of a Wednesday in the middle of a month. Each module's
# clock starts here and runs on; the tests about period edges set instants of their own.
SUITE_NOW = datetime(2026, 6, 17, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
async def mongodb_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    configured = os.environ.get("MONGODB_URL")
    if configured:
        yield configured
        return
    server = EmbeddedServer(tmp_path_factory.mktemp("secantus"))
    url = await server.start()
    try:
        yield url
    finally:
        await server.stop()


@pytest.fixture(scope="module")
async def store(mongodb_url: str) -> AsyncIterator[Store]:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(mongodb_url, tz_aware=True)
    name = f"meterr_test_{secrets.token_hex(4)}"
    opened = Store(client, client[name])
    await opened.ensure_indexes()
    try:
        yield opened
    finally:
        # The embedded store's data goes with the session's temporary directory; dropping a
        # database there costs as long as writing it did.
        if os.environ.get("MONGODB_URL"):
            await client.drop_database(name)
        await client.close()


@pytest.fixture(scope="module")
def settings(mongodb_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        mongodb_url=mongodb_url,
        data_dir=Path(tmp_path_factory.mktemp("data")),
        key_cache_seconds=0,
        # No test reaches the internet: the providers' APIs are a closed local port.
        openai_api_base="http://127.0.0.1:9",
        anthropic_api_base="http://127.0.0.1:9",
    )


@pytest.fixture(scope="module")
def clock() -> SettableClock:
    """The module's clock: every app the module's tests make reads the time from it."""
    return SettableClock(SUITE_NOW)


def api_only(settings: Settings) -> Settings:
    """The module's shared apps answer the API and deliver no webhooks: the tests of
    deliveries run an app of their own, which no other dispatcher races."""
    return settings.model_copy(update={"webhook_dispatch": False})


@pytest.fixture(scope="module")
async def server(settings: Settings, store: Store, clock: Clock) -> AsyncIterator[str]:
    """Meterr behind a real uvicorn server on the test store, one per test module."""
    from tests.servers import serving  # it imports this module

    async with serving(create_app(api_only(settings), store=store, clock=clock)) as url:
        yield url


@pytest.fixture(scope="module")
async def client(
    settings: Settings, store: Store, clock: Clock
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client speaking to the app over ASGI, lifespan included. Each /v1 answer it
    receives is checked against the app's /v1/openapi.json."""
    app = create_app(api_only(settings), store=store, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://meterr.test") as http:
            contract = OpenApiContract((await http.get("/v1/openapi.json")).json())
            http.event_hooks["response"].append(contract.on_response)
            yield http


@pytest.fixture(scope="module")
def make_key(store: Store, clock: Clock) -> KeyFactory:
    """A new organization (unique name) and a key for it: returns the key."""

    async def make(
        *,
        role: Role = Role.ADMIN,
        tier: Tier = Tier.ENTERPRISE,
        org: str | None = None,
        team_id: str | None = None,
    ) -> str:
        new = await create_key(
            store,
            org_name=org or f"org-{secrets.token_hex(4)}",
            tier=tier,
            role=role,
            team_id=team_id,
            now=clock.now(),
        )
        return new.key

    return make


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A webhook receiver on a loopback port, for one test."""
    from tests.support.webhooks import Receiver  # it imports this module

    running = Receiver()
    await running.start()
    yield running
    if running.running:
        await running.stop()


def json_usd(amount: Decimal) -> float:
    """USD as the API shows it: a number rounded half-even to six decimals."""
    return float(amount.quantize(Decimal("0.000001"), rounding=ROUND_HALF_EVEN))


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def eventually(condition: Callable[[], Awaitable[bool]], within: float = 10) -> None:
    """Wait until `condition()` holds, polling; fail after `within` seconds."""
    async with asyncio.timeout(within):
        while True:
            if await condition():
                return
            await asyncio.sleep(0.02)
