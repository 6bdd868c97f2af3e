"""Hypothesis against POST /v1/otlp/v1/traces with exports that decode: spans whose GenAI
attributes hold values of every OTLP kind (infinite and NaN doubles, 64-bit extremes,
bytes, arrays, key-value lists, NULs), with times of any size, in protobuf and in JSON. No
answer is a server error, a refusal carries the error envelope and stores nothing."""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from meterr.store import Store
from tests.conftest import KeyFactory, bearer
from tests.fuzz.answers import assert_envelope, assert_still_serving, stored_things
from tests.fuzz.hostile import SHORT_TEXT

DEADLINE = 10.0
# Nanoseconds since 1970 of the suite's "now", give or take.
NOW_NANOS = 1_781_690_000 * 10**9
KEYS = [
    "gen_ai.system",
    "gen_ai.provider.name",
    "gen_ai.request.model",
    "gen_ai.response.model",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.prompt_tokens",
    "gen_ai.usage.completion_tokens",
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.reasoning.output_tokens",
    "gen_ai.operation.name",
    "meterr.team_id",
    "user.id",
    "service.name",
]
TEXT = SHORT_TEXT.map(lambda text: text.encode(errors="replace").decode())
SCALARS: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from(["openai", "anthropic", "gpt-4o", "claude-3-5-sonnet"]),
    st.integers(min_value=0, max_value=100_000),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.inf, -math.inf, math.nan, 1e300, -0.0, 0.5]),
    st.booleans(),
    st.binary(max_size=8),
    TEXT,
)
VALUES: st.SearchStrategy[Any] = st.one_of(
    *[SCALARS] * 3,
    st.recursive(
        SCALARS,
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.sampled_from(KEYS), children, max_size=3)
        ),
        max_leaves=6,
    ),
)
TIMES = st.one_of(
    st.integers(min_value=NOW_NANOS - 10**15, max_value=NOW_NANOS),
    st.integers(min_value=0, max_value=2**64 - 1),
)
# A span that reports usage, one or more of its attributes then replaced or added.
USAGE = st.fixed_dictionaries(
    {
        "gen_ai.system": st.sampled_from(["openai", "anthropic", "az.ai.openai"]),
        "gen_ai.request.model": st.sampled_from(["gpt-4o", "claude-3-5-sonnet"]),
        "gen_ai.usage.input_tokens": st.integers(min_value=0, max_value=100_000),
        "gen_ai.usage.output_tokens": st.integers(min_value=0, max_value=100_000),
    }
)
SPANS = st.fixed_dictionaries(
    {
        "trace": st.binary(min_size=16, max_size=16),
        "span": st.binary(min_size=8, max_size=8),
        "start": TIMES,
        "end": TIMES,
        "attributes": st.builds(
            lambda usage, key, value, more: {**usage, key: value, **more},
            USAGE,
            st.sampled_from(KEYS),
            VALUES,
            st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=2),
        ),
    }
)


def any_value(target: AnyValue, value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            pair = target.kvlist_value.values.add()
            pair.key = key
            any_value(pair.value, item)
    elif isinstance(value, list):
        target.array_value.SetInParent()
        for item in value:
            any_value(target.array_value.values.add(), item)
    elif isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, int):
        target.int_value = value
    elif isinstance(value, float):
        target.double_value = value
    elif isinstance(value, bytes):
        target.bytes_value = value
    else:
        target.string_value = value


def as_protobuf(spans: list[dict[str, Any]]) -> bytes:
    export = ExportTraceServiceRequest()
    scope = export.resource_spans.add().scope_spans.add()
    for drawn in spans:
        span = scope.spans.add()
        span.trace_id, span.span_id = drawn["trace"], drawn["span"]
        span.start_time_unix_nano, span.end_time_unix_nano = drawn["start"], drawn["end"]
        for key, value in drawn["attributes"].items():
            pair = span.attributes.add()
            pair.key = key
            any_value(pair.value, value)
    return export.SerializeToString()


def json_value(value: Any) -> dict[str, Any]:
    """A value as OTLP JSON spells it (a double that JSON cannot hold, as a string)."""
    if isinstance(value, dict):
        pairs = [{"key": key, "value": json_value(item)} for key, item in value.items()]
        return {"kvlistValue": {"values": pairs}}
    if isinstance(value, list):
        return {"arrayValue": {"values": [json_value(item) for item in value]}}
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value if math.isfinite(value) else str(value)}
    if isinstance(value, bytes):
        return {"bytesValue": value.hex()}
    return {"stringValue": value}


def as_json(spans: list[dict[str, Any]]) -> bytes:
    exported = [
        {
            "traceId": drawn["trace"].hex(),
            "spanId": drawn["span"].hex(),
            "startTimeUnixNano": str(drawn["start"]),
            "endTimeUnixNano": str(drawn["end"]),
            "attributes": [
                {"key": key, "value": json_value(value)}
                for key, value in drawn["attributes"].items()
            ],
        }
        for drawn in spans
    ]
    return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": exported}]}]}).encode()


@pytest.fixture(scope="module")
async def key(make_key: KeyFactory) -> str:
    return await make_key()


@settings(
    max_examples=50,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(spans=st.lists(SPANS, min_size=1, max_size=3), protobuf=st.booleans())
async def test_no_otlp_export_answers_a_server_error(
    client: httpx.AsyncClient, store: Store, key: str, spans: list[dict[str, Any]], protobuf: bool
) -> None:
    content_type = "application/x-protobuf" if protobuf else "application/json"
    body = as_protobuf(spans) if protobuf else as_json(spans)
    before = await stored_things(store)
    headers = {**bearer(key), "content-type": content_type}
    async with asyncio.timeout(DEADLINE):
        response = await client.post("/v1/otlp/v1/traces", headers=headers, content=body)
    assert_envelope(response, f"OTLP {content_type} export of {spans!r:.2000}")
    if response.status_code >= 400:
        assert await stored_things(store) == before, "a refused export stored events"


async def test_after_the_fuzzing_the_server_serves_probes_and_other_tenants(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    await assert_still_serving(client, await make_key())
