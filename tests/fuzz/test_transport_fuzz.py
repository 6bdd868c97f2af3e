"""Hypothesis against what surrounds a request on both doors: bodies that are not JSON, or
not what the route reads, content types of every kind, query strings for GET /graphql and
header values a real server lets through (any byte but controls). No answer is a server
error; each carries its door's error shape."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import KeyFactory, bearer
from tests.fuzz.answers import assert_envelope, assert_graphql_answer, assert_still_serving
from tests.fuzz.hostile import JSON_VALUES, SHORT_JSON_VALUES

DEADLINE = 10.0
FUZZED = settings(
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
EVENT = {"provider": "openai", "model": "gpt-4o", "input_tokens": 10, "output_tokens": 5}
GRAPHQL = {"query": "{ prices { model } }"}

# Routes that read a body, each with one it would take.
BODIES: dict[str, object] = {
    "/graphql": GRAPHQL,
    "/v1/track": EVENT,
    "/v1/budgets": {"name": "b", "limit": 10},
    "/v1/teams": {"name": "t"},
    "/v1/prices/overrides": {"provider": "openai", "model": "m", "input": 1, "output": 2},
    "/v1/prices/import": {},
    "/v1/budgets/reserve": {"estimated_cost": 1},
    "/v1/otlp/v1/traces": {"resourceSpans": []},
}


def json_text(value: Any) -> bytes:
    return json.dumps(value).encode()


# What a hostile client puts in a body: raw bytes, JSON of any shape, a valid body cut short
# or padded, deep nesting past any parser's stack, UTF-16, a BOM, and JSON's own extensions.
RAW_BODIES: st.SearchStrategy[bytes] = st.one_of(
    st.binary(max_size=512),
    JSON_VALUES.map(json_text),
    st.sampled_from(
        [
            b"",
            b" ",
            b"null",
            b"[]",
            b"{",
            b'{"a":1}garbage',
            b"\xef\xbb\xbf{}",
            json_text(EVENT).decode().encode("utf-16"),
            b'{"a":NaN}',
            b'{"a":Infinity}',
            b'{"a":1e999999}',
            b'{"a":-1e999999}',
            b'{"a":' + b"1" * 10_000 + b"}",
            b'{"a":"\\ud800"}',
            b'{"a":"\\u0000"}',
            b'{"a":1,"a":2}',
            b"[" * 50_000 + b"]" * 50_000,
            b'{"a":' * 50_000,
            b"{}" + b" " * 2_000_000,
            b'{"d":[' * 600 + b"1" + b"]}" * 600,
        ]
    ),
)
CONTENT_TYPES = st.one_of(
    st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-8",
            "application/json; charset=utf-16",
            "APPLICATION/JSON",
            "application/graphql-response+json",
            "application/x-protobuf",
            "application/x-www-form-urlencoded",
            "multipart/form-data",
            "multipart/form-data; boundary=x",
            "text/plain",
            "",
            ";",
            "application/json;;;",
        ]
    ),
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40),
)
# Header values as a real server passes them on: visible ASCII, spaces, tabs and the
# obs-text bytes 0x80 to 0xff, which Starlette reads as latin-1.
HEADER_VALUES = st.one_of(
    st.binary(max_size=80).map(
        lambda raw: bytes(byte for byte in raw if byte >= 0x20 and byte != 0x7F or byte == 0x09)
    ),
    st.sampled_from([b"\xff\xfe", b"\xc3\xa9", b"\xed\xa0\x80", b"a" * 10_000, b" ", b""]),
)
HEADERS = st.sampled_from(
    [
        "authorization",
        "x-request-id",
        "idempotency-key",
        "content-type",
        "origin",
        "accept",
        "accept-encoding",
        "content-encoding",
        "cookie",
        "host",
    ]
)


@pytest.fixture(scope="module")
async def key(make_key: KeyFactory) -> str:
    return await make_key()


def assert_answer(path: str, response: httpx.Response, label: str) -> None:
    if path == "/graphql":
        assert_graphql_answer(response, label)
    else:
        assert_envelope(response, label)


@settings(FUZZED, max_examples=40)
@given(
    path=st.sampled_from(sorted(BODIES)),
    body=RAW_BODIES,
    content_type=CONTENT_TYPES,
)
async def test_no_body_or_content_type_answers_a_server_error(
    client: httpx.AsyncClient, key: str, path: str, body: bytes, content_type: str
) -> None:
    headers = {**bearer(key), "content-type": content_type}
    async with asyncio.timeout(DEADLINE):
        response = await client.post(path, headers=headers, content=body)
    assert_answer(path, response, f"POST {path} ({content_type!r}) with {body[:200]!r}")


@settings(FUZZED, max_examples=40)
@given(
    path=st.sampled_from(sorted(BODIES)),
    name=HEADERS,
    value=HEADER_VALUES,
)
async def test_no_header_value_answers_a_server_error(
    client: httpx.AsyncClient, key: str, path: str, name: str, value: bytes
) -> None:
    headers: dict[bytes, bytes] = {
        b"authorization": f"Bearer {key}".encode(),
        b"content-type": b"application/json",
        name.encode(): value,
    }
    async with asyncio.timeout(DEADLINE):
        response = await client.post(path, headers=headers, content=json_text(BODIES[path]))
    assert_answer(path, response, f"POST {path} with {name}: {value[:200]!r}")


@settings(FUZZED, max_examples=30)
@given(
    params=st.dictionaries(
        st.sampled_from(["query", "variables", "operationName", "extensions", "x"]),
        st.one_of(
            st.text(max_size=50),
            st.sampled_from(["{ prices { model } }", 'mutation { deleteTeam(id: "x") }']),
            SHORT_JSON_VALUES.map(json.dumps),
        ),
    ),
    accept=st.sampled_from(["application/json", "text/html", "*/*", ""]),
)
async def test_no_graphql_get_answers_a_server_error(
    client: httpx.AsyncClient, key: str, params: dict[str, str], accept: str
) -> None:
    headers = {**bearer(key), "accept": accept}
    async with asyncio.timeout(DEADLINE):
        response = await client.get("/graphql", headers=headers, params=params)
    if response.headers.get("content-type", "").startswith("text/html"):
        assert response.status_code == 200, response.text[:500]
        return
    assert_graphql_answer(response, f"GET /graphql?{params!r}")


async def test_after_the_fuzzing_the_server_serves_probes_and_other_tenants(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    await assert_still_serving(client, await make_key())
