"""Clients that send too slowly, or not at all, cannot hold the server's sockets: a request's
head and body each have a deadline (408 and closed past it), and open connections are
bounded (503 past it). Answering slowly, and websockets, are not cut."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import httpx
import pytest
import websockets
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from meterr.app import create_app
from meterr.clock import Clock
from meterr.config import Settings
from meterr.store import Store
from tests.conftest import KeyFactory, api_only, bearer, eventually
from tests.servers import serving

DEADLINE = 30.0


@contextlib.asynccontextmanager
async def meterr_served(
    settings: Settings, store: Store, clock: Clock, **limits: float | int
) -> AsyncIterator[str]:
    served = api_only(settings).model_copy(update=limits)
    app = create_app(served, store=store, clock=clock)

    async def slow_answer(_request: Request) -> PlainTextResponse:
        await asyncio.sleep(1.5)
        return PlainTextResponse("done")

    app.router.routes.insert(0, Route("/slow-answer", slow_answer))
    async with serving(app, served) as url:
        yield url


async def raw(url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = url.removeprefix("http://").split(":")
    return await asyncio.open_connection(host, int(port))


async def answer_of(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection."""
    async with asyncio.timeout(DEADLINE):
        return await reader.read()


@pytest.fixture(scope="module")
async def strict(settings: Settings, store: Store, clock: Clock) -> AsyncIterator[str]:
    async with meterr_served(
        settings, store, clock, request_head_timeout=0.5, request_body_timeout=0.5
    ) as url:
        yield url


async def test_a_connection_that_sends_nothing_is_closed_with_408(strict: str) -> None:
    reader, writer = await raw(strict)
    answer = await answer_of(reader)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]["code"] == "request_timeout"
    writer.close()


async def test_headers_sent_a_byte_at_a_time_are_cut_off_with_408(strict: str) -> None:
    reader, writer = await raw(strict)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: meterr\r\n")

    async def dribble() -> None:
        with contextlib.suppress(ConnectionError):
            for byte in b"X-Slow: " + b"a" * 100:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0.1)

    dribbling = asyncio.create_task(dribble())
    answer = await answer_of(reader)
    dribbling.cancel()
    assert answer.startswith(b"HTTP/1.1 408 ")
    writer.close()


async def test_a_body_that_never_completes_is_cut_off_and_stores_nothing(
    strict: str, make_key: KeyFactory
) -> None:
    key = await make_key()
    body = json.dumps({"provider": "openai", "model": "gpt-4o", "input_tokens": 10}).encode()
    reader, writer = await raw(strict)
    writer.write(
        b"POST /v1/track HTTP/1.1\r\nHost: meterr\r\nContent-Type: application/json\r\n"
        + f"Authorization: Bearer {key}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body[:10]
    )
    answer = await answer_of(reader)
    assert answer.startswith(b"HTTP/1.1 408 ")
    writer.close()
    async with httpx.AsyncClient(base_url=strict) as http:
        usage = await http.get("/v1/usage", headers=bearer(key))
        assert usage.json()["requests"] == 0


async def test_answering_slowly_and_keep_alive_are_not_cut(strict: str) -> None:
    async with httpx.AsyncClient(base_url=strict, timeout=DEADLINE) as http:
        slow = await http.get("/slow-answer")
        assert slow.status_code == 200
        assert slow.text == "done"
        # The same connection, idle for longer than the head deadline between requests,
        # is closed by the server and reopened by the client: never a failed request.
        for _ in range(3):
            assert (await http.get("/healthz")).status_code == 200
            await asyncio.sleep(0.3)


async def test_a_websocket_outlives_the_request_deadlines(
    strict: str, make_key: KeyFactory
) -> None:
    key = await make_key()
    url = strict.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(
        url, subprotocols=[websockets.Subprotocol("graphql-transport-ws")]
    ) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": {"api_key": key}}))
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        await asyncio.sleep(1.5)
        await socket.send(json.dumps({"type": "ping"}))
        assert json.loads(await socket.recv())["type"] == "pong"


async def test_connections_past_the_bound_are_answered_503(
    settings: Settings, store: Store, clock: Clock
) -> None:
    async with meterr_served(settings, store, clock, max_connections=3) as url:
        held = [await raw(url) for _ in range(3)]
        async with httpx.AsyncClient(base_url=url) as http:
            refused = await http.get("/healthz")
            assert refused.status_code == 503
        for _, writer in held:
            writer.close()
        async with httpx.AsyncClient(base_url=url) as http:

            async def answered() -> bool:
                return (await http.get("/healthz")).status_code == 200

            await eventually(answered)
