"""The providers' usage APIs, answered by a local server in their documented shapes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.conftest import eventually
from tests.support.processes import free_port

__all__ = ["DAY1", "DAY2", "FakeProviders", "openai_bucket"]


DAY1 = datetime(2025, 6, 1, tzinfo=UTC)


DAY2 = DAY1 + timedelta(days=1)


def openai_bucket(start: datetime, results: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "object": "bucket",
        "start_time": int(start.timestamp()),
        "end_time": int((start + timedelta(days=1)).timestamp()),
        "results": [{"object": "organization.usage.completions.result", **r} for r in results],
    }


class FakeProviders:
    """OpenAI's and Anthropic's usage endpoints, answering what a test puts in `pages`."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.requests: list[Request] = []
        self.openai_pages: dict[str | None, dict[str, Any]] = {}
        self.anthropic_pages: dict[str | None, dict[str, Any]] = {}
        self.fail: tuple[int, dict[str, Any]] | None = None

    async def _openai(self, request: Request) -> Response:
        self.requests.append(request)
        if self.fail:
            return JSONResponse(self.fail[1], status_code=self.fail[0])
        return JSONResponse(self.openai_pages[request.query_params.get("page")])

    async def _anthropic(self, request: Request) -> Response:
        self.requests.append(request)
        if self.fail:
            return JSONResponse(self.fail[1], status_code=self.fail[0])
        return JSONResponse(self.anthropic_pages[request.query_params.get("page")])

    @asynccontextmanager
    async def running(self) -> AsyncIterator[FakeProviders]:
        app = Starlette(
            routes=[
                Route("/v1/organization/usage/completions", self._openai),
                Route("/v1/organizations/usage_report/messages", self._anthropic),
            ]
        )
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())

        async def started() -> bool:
            return server.started

        await eventually(started)
        try:
            yield self
        finally:
            server.should_exit = True
            await task
