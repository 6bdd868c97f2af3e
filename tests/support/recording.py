"""An app whose store commands are logged, to count the reads a request makes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from pymongo import AsyncMongoClient, monitoring

from meterr.app import create_app
from meterr.clock import SettableClock
from meterr.config import Settings
from meterr.store import Store
from tests.conftest import api_only

__all__ = ["USAGE_COLLECTIONS", "CommandLog", "recorded_app"]

USAGE_COLLECTIONS = {"usage_events", "rollups_hourly", "rollups_pending"}

_READS = {"find", "aggregate", "count", "distinct", "findAndModify"}


class CommandLog(monitoring.CommandListener):
    """The commands sent while `recording`: (command name, collection, the command as JSON)."""

    def __init__(self) -> None:
        self.commands: list[tuple[str, str, str]] = []
        self.recording = False

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if self.recording:
            name = event.command_name
            text = json.dumps(event.command, default=str)
            self.commands.append((name, str(event.command.get(name)), text))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def reads_of(self, org_id: str, collections: set[str]) -> int:
        """How many reads of these collections asked about the organization."""
        return sum(
            1
            for name, collection, text in self.commands
            if name in _READS and collection in collections and org_id in text
        )

    def written(self) -> set[str]:
        """The collections written to."""
        return {
            collection
            for name, collection, _ in self.commands
            if name in {"insert", "update", "delete", "findAndModify"}
        }


@asynccontextmanager
async def recorded_app(
    settings: Settings, store: Store, clock: SettableClock
) -> AsyncIterator[tuple[httpx.AsyncClient, CommandLog]]:
    """An app on the module's database whose store commands are logged on request."""
    log = CommandLog()
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        settings.mongodb_url, tz_aware=True, event_listeners=[log]
    )
    app = create_app(api_only(settings), store=Store(mongo, mongo[store.db.name]), clock=clock)
    transport = httpx.ASGITransport(app=app)
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://meterr.test") as http,
        ):
            yield http, log
    finally:
        await mongo.close()
