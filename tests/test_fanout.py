"""Two `meterr serve` processes sharing one MongoDB and one Redis: an event tracked on one
reaches a subscriber of the other."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from meterr.auth import Tier
from meterr.clock import SystemClock
from meterr.resolvers import create_key
from meterr.store import Store
from tests.support.processes import DEADLINE, free_port

REDIS_URL = "redis://127.0.0.1:6379"


@contextlib.asynccontextmanager
async def serve(mongodb_url: str, database: str) -> AsyncIterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "MONGODB_URL": mongodb_url,
        "METERR_DATABASE": database,
        "METERR_BROADCAST_URL": REDIS_URL,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "meterr", "serve", "--port", str(port),
        env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    address = f"127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=f"http://{address}") as http:
            async with asyncio.timeout(DEADLINE):
                while True:
                    with contextlib.suppress(httpx.TransportError):
                        if (await http.get("/readyz")).status_code == 200:
                            break
                    await asyncio.sleep(0.05)
        yield address
    finally:
        process.terminate()
        async with asyncio.timeout(DEADLINE):
            await process.wait()


async def test_an_event_tracked_on_one_instance_reaches_a_subscriber_of_the_other(
    mongodb_url: str, store: Store
) -> None:
    key = (
        await create_key(store, org_name="fanout", tier=Tier.ENTERPRISE, now=SystemClock().now())
    ).key
    async with (
        serve(mongodb_url, store.db.name) as first,
        serve(mongodb_url, store.db.name) as second,
        connect(f"ws://{first}/graphql", subprotocols=[Subprotocol("graphql-transport-ws")]) as ws,
    ):
        await ws.send(json.dumps({"type": "connection_init", "payload": {"api_key": key}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        async with httpx.AsyncClient(base_url=f"http://{second}") as http:

            async def track(tokens: int) -> dict[str, Any]:
                response = await http.post(
                    "/v1/track",
                    headers={"Authorization": f"Bearer {key}"},
                    json={"provider": "openai", "model": "gpt-4o", "input_tokens": tokens},
                )
                assert response.status_code == 201
                body: dict[str, Any] = response.json()
                return body

            async def next_message() -> dict[str, Any]:
                async with asyncio.timeout(DEADLINE):
                    message: dict[str, Any] = json.loads(await ws.recv())
                    return message

            # Resuming after one event and receiving the next proves the feed is live.
            first_event, second_event = await track(1), await track(2)
            query = "subscription($after: ID) { usageTracked(after: $after) { id inputTokens } }"
            payload = {"query": query, "variables": {"after": first_event["id"]}}
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
            replayed = await next_message()
            assert replayed["payload"]["data"]["usageTracked"]["id"] == second_event["id"]
            tracked = await track(4242)
            message = await next_message()
    assert message["type"] == "next"
    assert message["payload"]["data"]["usageTracked"] == {
        "id": tracked["id"],
        "inputTokens": 4242,
    }
