"""Hypothesis against /graphql's websockets (both protocols), over a real server: after
connection_init, frames of garbage (messages of the protocol with fields of the wrong kind,
text that is not JSON, JSON of any shape, binary frames); and connection_init payloads of
any shape. The socket answers the next operation, or closes as its protocol says; no error
it sends is unexpected, and afterwards the server still answers its probes and another
tenant's requests."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from tests.conftest import KeyFactory
from tests.fuzz.answers import CODES, assert_still_serving
from tests.fuzz.hostile import SHORT_JSON_VALUES, SHORT_TEXT

TRANSPORT_WS, LEGACY_WS = "graphql-transport-ws", "graphql-ws"
WAIT = 10.0
PROBE = "{ prices { model } }"
# The codes a socket may close with after garbage. graphql-transport-ws: a message not in
# the protocol (4400), an id already running (4409), a second connection_init (4429).
# graphql-ws: connection_terminate or a connection_init it cannot read (1000), a binary
# frame (1002).
CLOSE_CODES = {TRANSPORT_WS: {4400, 4409, 4429}, LEGACY_WS: {1000, 1002}}
MESSAGE_TYPES = {
    TRANSPORT_WS: ["connection_init", "ping", "pong", "subscribe", "complete", "next", "error"],
    LEGACY_WS: ["connection_init", "start", "stop", "connection_terminate", "data", "ka"],
}
DOCUMENTS = st.sampled_from(
    [
        PROBE,
        "subscription { usageTracked { id } }",
        'subscription { costFeed(tz: "\\u0000") { key } }',
        'mutation { trackUsage(input: {provider: "x", model: "m", inputTokens: 1}) { replayed } }',
        "query A { prices { model } } query B { prices { model } }",
        "{ prices { model",
        "",
    ]
)


def messages(protocol: str) -> st.SearchStrategy[dict[str, Any]]:
    """Messages of the protocol, their fields now and then of the wrong kind."""
    payload = st.one_of(
        st.fixed_dictionaries(
            {"query": DOCUMENTS},
            optional={"variables": SHORT_JSON_VALUES, "operationName": SHORT_JSON_VALUES},
        ),
        SHORT_JSON_VALUES,
    )
    operation_id = st.one_of(
        *[st.sampled_from(["probe", "a", "", "é" * 200])] * 3,
        st.lists(st.integers(), max_size=2),
        st.dictionaries(SHORT_TEXT, st.integers(), max_size=2),
        st.integers(),
        st.none(),
    )
    return st.fixed_dictionaries(
        {"type": st.one_of(*[st.sampled_from(MESSAGE_TYPES[protocol])] * 5, SHORT_JSON_VALUES)},
        optional={"id": operation_id, "payload": payload},
    )


def frames(protocol: str) -> st.SearchStrategy[list[str | bytes]]:
    """A few messages of the protocol, their fields now and then of the wrong kind, then
    perhaps a frame that is none: text that is not JSON (text frames are UTF-8, so a lone
    surrogate only escaped in JSON), JSON of another shape, deep nesting, a binary frame."""
    junk: st.SearchStrategy[str | bytes] = st.one_of(
        SHORT_JSON_VALUES.map(json.dumps),
        SHORT_TEXT.map(lambda text: text.encode(errors="replace").decode()),
        st.binary(max_size=64),
        st.just("[" * 50_000 + "]" * 50_000),
    )
    return st.builds(
        lambda sent, last: [*sent, *last],
        st.lists(messages(protocol).map(json.dumps), max_size=3),
        st.lists(junk, max_size=1),
    ).filter(bool)


class Closed(Exception):
    def __init__(self, code: int | None) -> None:
        super().__init__(code)
        self.code = code


async def receive(socket: ClientConnection) -> dict[str, Any]:
    """The next message other than a keep-alive or pong, or Closed with the socket's code."""
    while True:
        try:
            raw = await socket.recv()
        except ConnectionClosed as closed:
            raise Closed(closed_code(closed)) from None
        message = json.loads(raw)
        assert isinstance(message, dict), message
        if message.get("type") not in ("ka", "ping", "pong"):
            return message


def assert_expected_errors(message: dict[str, Any]) -> None:
    if message.get("type") != "error":
        return
    payload = message["payload"]
    for error in payload if isinstance(payload, list) else [payload]:
        code = (error.get("extensions") or {}).get("code")
        assert code in CODES, message
        assert code != "internal_error", message


async def probe(socket: ClientConnection, protocol: str) -> str | None:
    """Start an operation: None when the socket answers it, else how it closed, which must
    be one of its protocol's ways; nothing unexpected is sent before."""
    kind = "subscribe" if protocol == TRANSPORT_WS else "start"
    refused = False  # graphql-ws refuses a connection_init, then closes with 1011
    try:
        await socket.send(json.dumps({"id": "probe", "type": kind, "payload": {"query": PROBE}}))
        while True:
            message = await receive(socket)
            assert_expected_errors(message)
            refused = refused or message.get("type") == "connection_error"
            if message.get("id") != "probe":
                continue
            if protocol == TRANSPORT_WS and message["type"] == "error":
                continue  # a refusal of an operation of the garbage that took the id first
            assert message["type"] in ("next", "error"), message
            return None
    except (Closed, ConnectionClosed) as closed:
        code = closed.code if isinstance(closed, Closed) else closed_code(closed)
        if code in CLOSE_CODES[protocol] or (refused and code == 1011):
            return None
        return f"closed with {code}"


def closed_code(closed: ConnectionClosed) -> int:
    return closed.rcvd.code if closed.rcvd else 1006


@pytest.fixture(scope="module")
async def key(make_key: KeyFactory) -> str:
    return await make_key()


@pytest.fixture(scope="module")
def socket_url(server: str) -> str:
    return server.replace("http://", "ws://") + "/graphql"


@contextlib.asynccontextmanager
async def opened(url: str, key: str, protocol: str) -> AsyncIterator[ClientConnection]:
    async with connect(url, subprotocols=[Subprotocol(protocol)]) as socket:
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {key}"}}
        await socket.send(json.dumps(init))
        assert (await receive(socket))["type"] == "connection_ack"
        yield socket


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
@settings(
    max_examples=20,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=st.data())
async def test_no_garbage_frame_breaks_a_socket_or_the_server(
    socket_url: str, key: str, protocol: str, data: st.DataObject
) -> None:
    garbage = data.draw(frames(protocol))
    async with asyncio.timeout(WAIT):
        async with opened(socket_url, key, protocol) as socket:
            for frame in garbage:
                await socket.send(frame)
            broken = await probe(socket, protocol)
    assert broken is None, (broken, garbage)


async def test_after_the_fuzzing_the_server_serves_probes_and_other_tenants(
    server: str, make_key: KeyFactory
) -> None:
    async with httpx.AsyncClient(base_url=server, timeout=WAIT) as http:
        await assert_still_serving(http, await make_key())


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
@settings(
    max_examples=15,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    payload=st.one_of(
        SHORT_JSON_VALUES,
        st.fixed_dictionaries(
            {},
            optional={
                "Authorization": st.one_of(SHORT_TEXT, SHORT_JSON_VALUES),
                "authorization": SHORT_JSON_VALUES,
                "api_key": st.one_of(SHORT_TEXT, SHORT_JSON_VALUES),
                "apiKey": SHORT_JSON_VALUES,
            },
        ),
    )
)
async def test_no_connection_init_breaks_a_socket_or_the_server(
    socket_url: str, protocol: str, payload: Any
) -> None:
    """Without a key that works, the socket is refused as its protocol says: 4403 (or 4400
    for a payload that is no object, or a message that is not JSON) with
    graphql-transport-ws; with graphql-ws, connection_error then a close, or (for a message
    it cannot read, which it ignores) 4401 at the operation that follows."""
    kind = "subscribe" if protocol == TRANSPORT_WS else "start"
    async with (
        asyncio.timeout(WAIT),
        connect(socket_url, subprotocols=[Subprotocol(protocol)]) as socket,
    ):
        await socket.send(json.dumps({"type": "connection_init", "payload": payload}))
        await socket.send(json.dumps({"id": "p", "type": kind, "payload": {"query": PROBE}}))
        answers = [await answer(socket), await answer(socket)]
    if protocol == TRANSPORT_WS:
        assert answers[0] in (4400, 4403), answers
    elif answers[0] != 4401:
        assert answers[0] == "connection_error", answers
        assert answers[1] in (1000, 1011), answers


async def answer(socket: ClientConnection) -> str | int:
    """The type of the socket's next message, or the code it closed with."""
    try:
        return str((await receive(socket))["type"])
    except Closed as closed:
        return closed.code or 1006
