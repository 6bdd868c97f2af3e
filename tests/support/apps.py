"""Meterr apps of a test's own, on the module's store, spoken to over ASGI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
from pymongo import AsyncMongoClient

from meterr.app import create_app
from meterr.clock import Clock
from meterr.config import Settings
from meterr.store import Store

__all__ = ["instances", "meterr"]


@asynccontextmanager
async def meterr(
    settings: Settings, store: Store, clock: Clock
) -> AsyncIterator[httpx.AsyncClient]:
    """An app of the test's own with these settings, its lifespan running; a client to it."""
    app = create_app(settings, store=store, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://meterr.test") as http:
            yield http


@asynccontextmanager
async def instances(
    settings: Settings, mongodb_url: str, store: Store, count: int, clock: Clock
) -> AsyncIterator[list[httpx.AsyncClient]]:
    """`count` apps, each with its own client and writer, on the same database."""
    async with AsyncExitStack() as stack:
        clients = []
        for _ in range(count):
            mongo: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
                mongodb_url, tz_aware=True
            )
            stack.push_async_callback(mongo.close)
            app = create_app(settings, store=Store(mongo, mongo[store.db.name]), clock=clock)
            await stack.enter_async_context(app.router.lifespan_context(app))
            transport = httpx.ASGITransport(app=app)
            clients.append(
                await stack.enter_async_context(
                    httpx.AsyncClient(transport=transport, base_url="http://m.test")
                )
            )
        yield clients
