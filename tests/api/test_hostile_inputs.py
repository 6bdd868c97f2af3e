"""Inputs meant to break the server: each is refused with 400 and the error envelope, stores
nothing, leaves the connection usable, and never fails another tenant's requests."""

from __future__ import annotations

import asyncio
import base64
import json
import math
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from starlette.requests import Request
from starlette.routing import Route

from meterr.app import create_app
from meterr.clock import Clock
from meterr.config import Settings
from meterr.store import Store
from tests.conftest import SUITE_NOW, KeyFactory, api_only, bearer
from tests.servers import serving
from tests.support.processes import local_port

EVENT = {"provider": "openai", "model": "gpt-4o", "input_tokens": 10, "output_tokens": 5}
RAW_EVENT = '{"provider":"openai","model":"gpt-4o","input_tokens":1,"metadata":{"x":%s}}'


@pytest.fixture(scope="module")
async def http(server: str) -> AsyncIterator[httpx.AsyncClient]:
    """One keep-alive connection to a real server: a dropped connection shows."""
    limits = httpx.Limits(max_connections=1)
    async with httpx.AsyncClient(base_url=server, limits=limits, timeout=30) as client:
        yield client


async def stored_requests(http: httpx.AsyncClient, key: str) -> int:
    response = await http.get("/v1/usage", headers=bearer(key))
    assert response.status_code == 200, response.text
    return int(response.json()["requests"])


def assert_refused(response: httpx.Response, *, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == "invalid_input"
    if field is not None:
        assert any(name.startswith(field) for name in error["details"]["fields"]), error
    return error


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (RAW_EVENT % str(2**63), "metadata"),
        (RAW_EVENT % str(-(2**63) - 1), "metadata"),
        (
            '{"provider":"openai","model":"gpt-4o","input_tokens":1,"metadata":{"a\\u0000b":1}}',
            "metadata",
        ),
        (RAW_EVENT % '"\\udfff"', "body"),
        (
            '{"provider":"openai","model":"gpt-4o","input_tokens":1,"metadata":{"\\ud800":1}}',
            "body",
        ),
        (RAW_EVENT % "NaN", "body"),
        (RAW_EVENT % "Infinity", "body"),
        (RAW_EVENT % "-Infinity", "body"),
        (RAW_EVENT % ("[" * 9 + "]" * 9), "metadata"),
        (RAW_EVENT % ("[" * 100_000 + "]" * 100_000), "body"),
        ("[" * 100_000 + "]" * 100_000, "body"),
        ('{"provider":"openai","model":"gpt-4o","input_tokens":' + "9" * 5000 + "}", "body"),
        (
            '{"provider":"openai","model":"gpt-4o","input_tokens":1,"timestamp":"0001-01-01T00:00:00+01:00"}',
            "timestamp",
        ),
        (
            '{"provider":"openai","model":"gpt-4o","input_tokens":1,"timestamp":"9999-12-31T23:59:59-01:00"}',
            "timestamp",
        ),
        (
            '{"provider":"openai","model":"gpt-4o","input_tokens":1,"timestamp":"1969-12-31T23:59:59Z"}',
            "timestamp",
        ),
    ],
    ids=[
        "int-2^63",
        "int-below-int64",
        "nul-in-key",
        "lone-surrogate-value",
        "lone-surrogate-key",
        "nan",
        "infinity",
        "minus-infinity",
        "nested-9-deep",
        "nested-100k-deep",
        "array-100k-deep",
        "int-5000-digits",
        "year-1",
        "year-9999",
        "before-1970",
    ],
)
async def test_unstorable_events_are_refused_and_store_nothing(
    http: httpx.AsyncClient, make_key: KeyFactory, raw: str, field: str
) -> None:
    key = await make_key()
    headers = {**bearer(key), "Content-Type": "application/json"}
    refused = await http.post("/v1/track", headers=headers, content=raw.encode())
    assert_refused(refused, field=field)
    refused_batch = await http.post(
        "/v1/track", headers=headers, content=f'{{"events":[{raw}]}}'.encode()
    )
    assert refused_batch.status_code == 400, refused_batch.text
    # Nothing stored, and the same connection answers the next request.
    assert await stored_requests(http, key) == 0
    assert (await http.post("/v1/track", headers=bearer(key), json=EVENT)).status_code == 201
    assert await stored_requests(http, key) == 1


@pytest.mark.parametrize(
    "metadata",
    [{"big": 2**63}, {"a\x00b": 1}, {"deep": [[[[[[[[[1]]]]]]]]]}, {"$set": 1}, {"": 1}],
    ids=["int-2^63", "nul-in-key", "nested-9-deep", "dollar-key", "empty-key"],
)
async def test_graphql_refuses_the_same_metadata(
    http: httpx.AsyncClient, make_key: KeyFactory, metadata: dict[str, Any]
) -> None:
    key = await make_key()
    mutation = "mutation($input: TrackUsageInput!) { trackUsage(input: $input) { replayed } }"
    variables = {
        "input": {"provider": "openai", "model": "gpt-4o", "inputTokens": 1, "metadata": metadata}
    }
    response = await http.post(
        "/graphql", headers=bearer(key), json={"query": mutation, "variables": variables}
    )
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "invalid_input", error
    assert "metadata" in error["message"]
    assert await stored_requests(http, key) == 0


async def test_one_tenants_unstorable_values_never_fail_anothers_ingestion(
    server: str, make_key: KeyFactory
) -> None:
    honest, hostile = await make_key(), await make_key()
    bad_bodies = [RAW_EVENT % str(2**63), RAW_EVENT % '"\\udfff"', RAW_EVENT % "NaN"]
    async with httpx.AsyncClient(base_url=server, timeout=60) as concurrent:

        async def honest_call(i: int) -> int:
            event = {**EVENT, "event_id": f"honest-{i}", "metadata": {"n": i}}
            response = await concurrent.post("/v1/track", headers=bearer(honest), json=event)
            return response.status_code

        async def hostile_call(i: int) -> int:
            headers = {**bearer(hostile), "Content-Type": "application/json"}
            body = bad_bodies[i % len(bad_bodies)].encode()
            return (await concurrent.post("/v1/track", headers=headers, content=body)).status_code

        statuses = await asyncio.gather(
            *(honest_call(i) for i in range(80)), *(hostile_call(i) for i in range(80))
        )
    assert statuses[:80] == [201] * 80
    assert set(statuses[80:]) == {400}
    async with httpx.AsyncClient(base_url=server) as check:
        assert await stored_requests(check, honest) == 80
        assert await stored_requests(check, hostile) == 0


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/v1/costs?tz=America", "tz"),
        ("/v1/costs?tz=Etc", "tz"),
        ("/v1/costs?tz=../../etc/passwd", "tz"),
        ("/v1/costs?start_date=9999-12-31&end_date=9999-12-31", "start_date"),
        ("/v1/costs?start_date=0001-01-01&end_date=0001-01-02", "start_date"),
        ("/v1/costs?start_date=0001-01-01T00:00:00%2B01:00", "start_date"),
        ("/v1/usage/history?end_date=9999-12-31", "end_date"),
        ("/v1/budgets/check?estimated_cost=1e999990", "estimated_cost"),
        ("/v1/budgets/check?estimated_cost=1e1000000", "estimated_cost"),
        ("/v1/budgets/check?estimated_cost=1000000001", "estimated_cost"),
        ("/v1/budgets/check?estimated_cost=-1", "estimated_cost"),
        ("/v1/budgets/check?estimated_cost=NaN", "estimated_cost"),
        ("/v1/budgets/check?estimated_cost=" + "1" * 5000, "estimated_cost"),
        ("/v1/budgets/check?estimated_tokens=" + "1" * 5000, "estimated_tokens"),
        ("/v1/usage/history?cursor=%C3%A9%C3%A9", "cursor"),
        ("/v1/usage/history?cursor=" + "9" * 400, "cursor"),
        ("/v1/events?cursor=%C2%B2", "cursor"),
        ("/v1/events?cursor=" + "9" * 40, "cursor"),
    ],
)
async def test_query_parameters_out_of_range_are_refused(
    http: httpx.AsyncClient, make_key: KeyFactory, path: str, field: str
) -> None:
    key = await make_key()
    assert_refused(await http.get(path, headers=bearer(key)), field=field)
    assert (await http.get("/v1/usage", headers=bearer(key))).status_code == 200


def cursor_of(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        cursor_of(["9999-12-31T23:59:59-01:00", "evt"]),
        cursor_of(["2026-01-01T00:00:00", "evt"]),
        cursor_of([1, 2]),
        base64.urlsafe_b64encode(b"[" * 300).decode(),
        base64.urlsafe_b64encode(b'["2026-01-01T00:00:00Z", NaN]').decode(),
    ],
    ids=["year-9999", "no-offset", "numbers", "deep", "nan"],
)
async def test_forged_event_cursors_are_refused(
    http: httpx.AsyncClient, make_key: KeyFactory, cursor: str
) -> None:
    key = await make_key()
    error = assert_refused(
        await http.get("/v1/usage/history", headers=bearer(key), params={"cursor": cursor}),
        field="cursor",
    )
    assert error["message"] == "cursor is not one this API returned."


async def test_an_overlong_cursor_is_refused_before_it_is_read(
    http: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    cursor = base64.urlsafe_b64encode(b"[" * 3000).decode()
    error = assert_refused(
        await http.get("/v1/usage/history", headers=bearer(key), params={"cursor": cursor}),
        field="cursor",
    )
    assert "at most 512 characters" in error["details"]["fields"]["cursor"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/budgets", {"name": "b", "limit": 10, "timezone": "Europe"}, "timezone"),
        ("/v1/budgets", {"name": "b", "limit": 10, "timezone": "Etc"}, "timezone"),
        (
            "/v1/prices/overrides",
            {
                "provider": "openai",
                "model": "gpt-4o",
                "input": 1,
                "output": 1,
                "effective_from": "0001-01-01T00:00:00+01:00",
            },
            "effective_from",
        ),
        (
            "/v1/prices/overrides",
            {
                "provider": "openai",
                "model": "gpt-4o",
                "input": 1,
                "output": 1,
                "effective_from": "9999-12-31",
            },
            "effective_from",
        ),
        (
            "/v1/prices/reprice",
            {"start_date": "9999-12-31", "end_date": "9999-12-31"},
            "start_date",
        ),
    ],
    ids=[
        "zone-folder-europe",
        "zone-folder-etc",
        "override-year-1",
        "override-9999",
        "reprice-9999",
    ],
)
async def test_bodies_out_of_range_are_refused_and_store_nothing(
    http: httpx.AsyncClient, make_key: KeyFactory, path: str, body: dict[str, Any], field: str
) -> None:
    key = await make_key()
    assert_refused(await http.post(path, headers=bearer(key), json=body), field=field)
    budgets = await http.get("/v1/budgets", headers=bearer(key))
    assert budgets.json()["budgets"] == []
    prices = (await http.get("/v1/prices", headers=bearer(key))).json()["prices"]
    assert not [price for price in prices if price["origin"] == "override"]


async def test_graphql_bounds_zones_dates_and_decimals(
    http: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    for query, named in (
        ('{ costs(tz: "America") { key } }', "America"),
        ('{ costs(startDate: "9999-12-31", endDate: "2025-01-01") { key } }', "9999-12-31"),
        ('{ budgetCheck(estimatedCost: "1e999990") { allowed } }', "estimatedCost"),
        (
            'mutation { createBudget(input: {name: "b", limit: "10", timezone: "Europe"}) { id } }',
            "Europe",
        ),
    ):
        response = await http.post("/graphql", headers=bearer(key), json={"query": query})
        [error] = response.json()["errors"]
        assert error["extensions"]["code"] == "invalid_input", (query, error)
        assert named in error["message"], (query, error)
    budgets = await http.get("/v1/budgets", headers=bearer(key))
    assert budgets.json()["budgets"] == []


async def test_otlp_spans_with_times_out_of_range_are_refused(
    http: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    span = {
        "traceId": "0af7651916cd43dd8448eb211c80319c",
        "spanId": "b7ad6b7169203331",
        "startTimeUnixNano": str(10**30),
        "endTimeUnixNano": str(10**30),
        "attributes": [
            {"key": "gen_ai.system", "value": {"stringValue": "openai"}},
            {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}},
            {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "10"}},
        ],
    }
    document = {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}
    response = await http.post("/v1/otlp/v1/traces", headers=bearer(key), json=document)
    assert_refused(response)
    deep = await http.post(
        "/v1/otlp/v1/traces",
        headers={**bearer(key), "Content-Type": "application/json"},
        content=b"[" * 100_000,
    )
    assert_refused(deep, field="body")
    assert await stored_requests(http, key) == 0


def protobuf_export(*spans: dict[str, float | int | str]) -> bytes:
    """An OTLP protobuf export of spans holding the given attributes, ending at the suite's
    "now"."""
    export = ExportTraceServiceRequest()
    scope = export.resource_spans.add().scope_spans.add()
    for number, attributes in enumerate(spans, start=1):
        span = scope.spans.add()
        span.trace_id, span.span_id = bytes([number]) * 16, bytes([number]) * 8
        span.end_time_unix_nano = int(SUITE_NOW.timestamp()) * 10**9
        for key, value in attributes.items():
            pair = span.attributes.add()
            pair.key = key
            if isinstance(value, str):
                pair.value.string_value = value
            elif isinstance(value, float):
                pair.value.double_value = value
            else:
                pair.value.int_value = value
    return export.SerializeToString()


async def test_otlp_token_counts_that_are_infinite_doubles_are_read_as_absent(
    http: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    llm = {"gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o"}
    body = protobuf_export(
        {**llm, "gen_ai.usage.input_tokens": math.inf},
        {
            **llm,
            "gen_ai.usage.input_tokens": 10,
            "gen_ai.usage.output_tokens": 5,
            "gen_ai.usage.cache_read.input_tokens": -math.inf,
            "gen_ai.usage.reasoning.output_tokens": math.inf,
        },
    )
    headers = {**bearer(key), "Content-Type": "application/x-protobuf"}
    exported = await http.post("/v1/otlp/v1/traces", headers=headers, content=body)
    assert exported.status_code == 200, exported.text
    usage = (await http.get("/v1/usage", headers=bearer(key))).json()
    assert (usage["requests"], usage["input_tokens"], usage["output_tokens"]) == (1, 10, 5)
    assert (usage["cached_input_tokens"], usage["reasoning_tokens"]) == (0, 0)


async def test_an_unexpected_error_answers_500_keeping_the_connection_and_cors(
    settings: Settings, store: Store, clock: Clock
) -> None:
    origin = "https://dashboard.example.com"
    served = api_only(settings).model_copy(update={"cors_origins": (origin,)})
    app = create_app(served, store=store, clock=clock)

    async def broken(_request: Request) -> None:
        raise RuntimeError("a bug")

    app.router.routes.insert(0, Route("/broken", broken))
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with (
        serving(app, served) as url,
        httpx.AsyncClient(base_url=url, limits=limits) as http_client,
    ):
        failed = await http_client.get("/broken", headers={"Origin": origin})
        assert failed.status_code == 500
        assert failed.json()["error"]["code"] == "internal_error"
        assert "a bug" not in failed.text
        # A page on a listed origin reads the answer (and its request id) like any other.
        assert failed.headers["access-control-allow-origin"] == origin
        assert failed.headers["x-request-id"] == failed.json()["error"]["details"]["request_id"]
        # The same connection answers the client's next request.
        after = await http_client.get("/healthz")
        assert after.status_code == 200
        assert local_port(after) == local_port(failed)


@pytest.mark.parametrize(
    "given",
    [b"\xff\xfe", b"caf\xc3\xa9", b"\xed\xa0\x80", b"two words", b"\x80" * 64],
    ids=["latin-1", "utf-8", "surrogate", "space", "obs-text"],
)
async def test_a_request_id_that_is_no_visible_ascii_token_is_replaced_by_a_new_one(
    http: httpx.AsyncClient, make_key: KeyFactory, given: bytes
) -> None:
    key = await make_key()
    headers = [(b"authorization", f"Bearer {key}".encode()), (b"x-request-id", given)]
    tracked = await http.post("/v1/track", headers=headers, json=EVENT)
    assert tracked.status_code == 201, tracked.text
    assert re.fullmatch("[0-9a-f]{16}", tracked.headers["x-request-id"])
    refused = await http.post("/v1/track", headers=headers, json={})
    assert_refused(refused)
    assert re.fullmatch("[0-9a-f]{16}", refused.headers["x-request-id"])
    assert await stored_requests(http, key) == 1
