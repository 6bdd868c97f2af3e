"""A webhook receiver on a loopback port, and webhooks made and read over REST."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from meterr.config import Settings
from tests.conftest import bearer, eventually
from tests.support.budgets import DOCUMENTED
from tests.support.events import event
from tests.support.processes import free_port

__all__ = [
    "CREATE_WEBHOOK",
    "ENDPOINT_FIELDS",
    "Receiver",
    "deliveries",
    "exceed",
    "subscribe",
    "webhook_settings",
]

ENDPOINT_FIELDS = "id url events description createdAt"
CREATE_WEBHOOK = (
    "mutation C($input: WebhookInput!) "
    f"{{ createWebhook(input: $input) {{ {ENDPOINT_FIELDS} secret }} }}"
)


class Receiver:
    """A webhook receiver on a loopback port that can be stopped and started again; it
    answers the queued status codes, then 204; while `hold` is clear it keeps each request
    waiting for an answer."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.received: list[tuple[dict[str, str], str]] = []
        self.answers: deque[int] = deque()
        self.hold = asyncio.Event()
        self.hold.set()
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def _hook(self, request: Request) -> Response:
        self.received.append((dict(request.headers), (await request.body()).decode()))
        await self.hold.wait()
        return Response(status_code=self.answers.popleft() if self.answers else 204)

    async def start(self) -> None:
        app = Starlette(routes=[Route("/hook", self._hook, methods=["POST"])])
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        server = uvicorn.Server(config)
        self._server, self._task = server, asyncio.create_task(server.serve())

        async def started() -> bool:
            return server.started

        await eventually(started)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def stop(self) -> None:
        assert self._server is not None
        assert self._task is not None
        self._server.should_exit = True
        await self._task

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.received]


def webhook_settings(settings: Settings, **changes: Any) -> Settings:
    fast = {
        "webhook_allow_private": True,
        "webhook_retry_base": 0.05,
        "webhook_retry_max": 0.2,
        "webhook_retry_window": 60.0,
        **changes,
    }
    return settings.model_copy(update=fast)


async def subscribe(http: httpx.AsyncClient, key: str, url: str, **body: Any) -> dict[str, Any]:
    response = await http.post("/v1/webhooks", headers=bearer(key), json={"url": url, **body})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def exceed(http: httpx.AsyncClient, key: str) -> None:
    """Fire three alerts: threshold 50, threshold 100 and usage.exceeded."""
    body = {**DOCUMENTED, "limit": 100, "thresholds": [50, 100]}
    assert (await http.post("/v1/budgets", headers=bearer(key), json=body)).status_code == 201
    await http.post("/v1/track", headers=bearer(key), json=event(input_tokens=150))


async def deliveries(http: httpx.AsyncClient, key: str, webhook_id: str) -> list[dict[str, Any]]:
    response = await http.get(f"/v1/webhooks/{webhook_id}/deliveries", headers=bearer(key))
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["deliveries"]
    return found
