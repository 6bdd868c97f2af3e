"""meterr.instrument on the real openai and anthropic packages, their HTTP pointed at a local
stub answering in the providers' documented shapes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import anthropic
import openai
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

import meterr
from tests.conftest import KeyFactory
from tests.servers import serving

COMPLETION = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1730000000,
    "model": "gpt-4o-2024-08-06",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hi"},
            "finish_reason": "stop",
        }
    ],
    "usage": {
        "prompt_tokens": 1000,
        "completion_tokens": 200,
        "total_tokens": 1200,
        "prompt_tokens_details": {"cached_tokens": 400},
        "completion_tokens_details": {"reasoning_tokens": 0},
    },
}

MESSAGE: dict[str, Any] = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-3-haiku-20240307",
    "content": [{"type": "text", "text": "Hi"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 100,
        "output_tokens": 20,
        "cache_read_input_tokens": 800,
        "cache_creation_input_tokens": 100,
    },
}


def sse(events: list[tuple[str | None, dict[str, Any]]]) -> StreamingResponse:
    async def body() -> AsyncIterator[bytes]:
        for name, data in events:
            prefix = f"event: {name}\n" if name else ""
            yield f"{prefix}data: {json.dumps(data)}\n\n".encode()
        if events and events[0][0] is None:
            yield b"data: [DONE]\n\n"

    return StreamingResponse(body(), media_type="text/event-stream")


async def chat(request: Request) -> Response:
    body = await request.json()
    if not body.get("stream"):
        return JSONResponse(COMPLETION)
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini"}
    events: list[tuple[str | None, dict[str, Any]]] = [
        (None, {**chunk, "choices": [{"index": 0, "delta": {"content": "Hi"}}]}),
        (None, {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
    ]
    if (body.get("stream_options") or {}).get("include_usage"):
        usage = {"prompt_tokens": 50, "completion_tokens": 5, "total_tokens": 55}
        events.append((None, {**chunk, "choices": [], "usage": usage}))
    return sse(events)


async def messages(request: Request) -> Response:
    body = await request.json()
    if not body.get("stream"):
        return JSONResponse(MESSAGE)
    start = {**MESSAGE, "content": [], "usage": {**MESSAGE["usage"], "output_tokens": 1}}
    return sse(
        [
            ("message_start", {"type": "message_start", "message": start}),
            ("content_block_start", {"type": "content_block_start", "index": 0,
                                     "content_block": {"type": "text", "text": ""}}),
            ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                     "delta": {"type": "text_delta", "text": "Hi"}}),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            ("message_delta", {"type": "message_delta",
                               "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                               "usage": {"output_tokens": 42}}),
            ("message_stop", {"type": "message_stop"}),
        ]
    )  # fmt: skip


@pytest.fixture(scope="module")
async def providers() -> AsyncIterator[str]:
    app = Starlette(
        routes=[
            Route("/v1/chat/completions", chat, methods=["POST"]),
            Route("/v1/messages", messages, methods=["POST"]),
        ]
    )
    async with serving(app) as url:
        yield url


async def tracked(server: str, key: str) -> list[meterr.sdk.UsageEvent]:
    async with meterr.AsyncClient(api_key=key, base_url=server) as reader:
        return await reader.events()


async def test_openai_calls_are_tracked_sync_async_and_streamed(
    server: str, providers: str, make_key: KeyFactory
) -> None:
    key = await make_key()
    meter = meterr.Client(api_key=key, base_url=server)

    def sync_calls() -> None:
        client = meterr.instrument(
            openai.OpenAI(api_key="sk-test", base_url=f"{providers}/v1"), meter, team_id="t1"
        )
        reply = client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "Hi"}]
        )
        assert reply.choices[0].message.content == "Hi", "the caller's answer is untouched"
        stream = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "Hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        pieces = [chunk.choices[0].delta.content for chunk in stream if chunk.choices]
        assert "".join(piece or "" for piece in pieces) == "Hi"
        client.close()
        meter.batcher.flush()

    await asyncio.to_thread(sync_calls)
    async_client = meterr.instrument(
        openai.AsyncOpenAI(api_key="sk-test", base_url=f"{providers}/v1"), meter
    )
    await async_client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "x"}]
    )
    await async_client.close()
    await asyncio.to_thread(meter.batcher.flush)
    events = await tracked(server, key)
    await asyncio.to_thread(meter.close)
    by_model: dict[str, list[meterr.sdk.UsageEvent]] = {}
    for event in events:
        by_model.setdefault(event.model, []).append(event)
    full = by_model["gpt-4o-2024-08-06"]
    assert len(full) == 2
    assert {(e.input_tokens, e.cached_input_tokens, e.output_tokens) for e in full} == {
        (1000, 400, 200)
    }
    assert {e.team_id for e in full} == {"t1", None}
    [streamed] = by_model["gpt-4o-mini"]
    assert (streamed.input_tokens, streamed.output_tokens) == (50, 5)


async def test_anthropic_calls_are_tracked_with_their_cache_tokens_added_back(
    server: str, providers: str, make_key: KeyFactory
) -> None:
    key = await make_key()
    meter = meterr.AsyncClient(api_key=key, base_url=server)  # an async app's own client
    client = meterr.instrument(
        anthropic.AsyncAnthropic(api_key="sk-ant", base_url=providers), meter
    )
    message = await client.messages.create(
        model="claude-3-haiku-20240307", max_tokens=10, messages=[{"role": "user", "content": "Hi"}]
    )
    assert message.content[0].text == "Hi"
    stream = await client.messages.create(
        model="claude-3-haiku-20240307",
        max_tokens=10,
        messages=[{"role": "user", "content": "Hi"}],
        stream=True,
    )
    kinds = [event.type async for event in stream]
    assert kinds[0] == "message_start"
    await client.close()
    await meter.aclose()
    events = await tracked(server, key)
    assert sorted((e.input_tokens, e.cached_input_tokens, e.cache_write_tokens,
                   e.output_tokens) for e in events) == [
        (1000, 800, 100, 20),
        (1000, 800, 100, 42),
    ]  # fmt: skip
    assert {e.provider for e in events} == {"anthropic"}


def test_only_known_clients_are_instrumented() -> None:
    with pytest.raises(TypeError, match="OpenAI and Anthropic"):
        meterr.instrument(object(), meterr.Client(api_key="mtr_x_y"))
