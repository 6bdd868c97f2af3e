"""Meterr, or any ASGI app, behind a real uvicorn server on a free loopback port."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn

from meterr.app.http import server_config
from meterr.config import Settings
from tests.conftest import eventually
from tests.support.processes import free_port

__all__ = ["serving"]


@asynccontextmanager
async def serving(app: Any, settings: Settings | None = None) -> AsyncIterator[str]:
    """Serves `app` until the block ends; yields its base URL. With `settings`, as
    `meterr serve` does (deadlines, connection bound); else with uvicorn's defaults."""
    port = free_port()
    if settings is None:
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    else:
        served = settings.model_copy(update={"host": "127.0.0.1", "port": port})
        config = server_config(app, served, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        return server.started

    await eventually(started)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
