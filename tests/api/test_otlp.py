"""OpenTelemetry GenAI spans, exported by the real SDK over OTLP/HTTP, become usage events."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import httpx
import time_machine
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from meterr.clock import SettableClock
from tests.conftest import KeyFactory, bearer


def export_spans(url: str, key: str, spans: list[dict[str, Any]], at: datetime) -> None:
    """Record and export spans the way an instrumented application does, on a machine
    whose clock shows `at` (Meterr's time)."""
    with time_machine.travel(at, tick=True):
        _record_and_export(url, key, spans)


def _record_and_export(url: str, key: str, spans: list[dict[str, Any]]) -> None:
    exporter = OTLPSpanExporter(
        endpoint=f"{url}/v1/otlp/v1/traces", headers={"Authorization": f"Bearer {key}"}
    )
    provider = TracerProvider(resource=Resource.create({"service.name": "chatbot"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    for attributes in spans:
        with tracer.start_as_current_span("chat gpt-4o", attributes=attributes):
            pass
    provider.shutdown()


def attr(key: str, **value: str) -> dict[str, Any]:
    """An OTLP JSON attribute: {"key", "value": {"stringValue" | "intValue": ...}}."""
    return {"key": key, "value": value}


async def history(client: httpx.AsyncClient, key: str) -> list[dict[str, Any]]:
    response = await client.get("/v1/usage/history", headers=bearer(key))
    events: list[dict[str, Any]] = response.json()["events"]
    return events


async def test_spans_exported_by_the_opentelemetry_sdk_become_usage_events(
    server: str, make_key: KeyFactory, clock: SettableClock
) -> None:
    key = await make_key()
    llm_call = {
        "gen_ai.system": "openai",
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.response.model": "gpt-4o-2024-08-06",
        "gen_ai.usage.input_tokens": 1200,
        "gen_ai.usage.output_tokens": 300,
        "gen_ai.usage.cache_read.input_tokens": 200,
        "user.id": "ana",
    }
    not_an_llm = {"http.method": "GET"}
    await asyncio.to_thread(export_spans, server, key, [llm_call, not_an_llm], clock.now())
    async with httpx.AsyncClient(base_url=server) as client:
        [event] = await history(client, key)
    assert (event["provider"], event["model"]) == ("openai", "gpt-4o-2024-08-06")
    assert (event["input_tokens"], event["output_tokens"]) == (1200, 300)
    assert event["cached_input_tokens"] == 200
    assert (event["endpoint"], event["user_id"]) == ("chat", "ana")
    assert event["metadata"]["service"] == "chatbot"
    assert event["event_id"].startswith("otel:")
    # 1000 uncached at $2.50/1M, 200 cached at $1.25/1M, 300 output at $10/1M
    assert event["cost"] == 0.00575


async def test_otlp_json_is_accepted_and_a_retried_export_counts_once(
    server: str, make_key: KeyFactory, clock: SettableClock
) -> None:
    key = await make_key()
    now = int(clock.now().timestamp()) * 10**9
    attributes = [
        attr("gen_ai.provider.name", stringValue="anthropic"),
        attr("gen_ai.request.model", stringValue="claude-3-haiku"),
        attr("gen_ai.usage.input_tokens", intValue="100"),
        attr("gen_ai.usage.output_tokens", intValue="50"),
        attr("gen_ai.usage.cache_read.input_tokens", intValue="400"),
        attr("meterr.team_id", stringValue="team_rag"),
    ]
    span = {
        "traceId": "5B8EFFF798038103D269B633813FC60C",
        "spanId": "EEE19B7EC3C1B174",
        "name": "messages",
        "startTimeUnixNano": str(now - 10**9),
        "endTimeUnixNano": str(now),
        "attributes": attributes,
    }
    resource = {"attributes": [attr("service.name", stringValue="rag")]}
    export = {"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": [span]}]}]}
    async with httpx.AsyncClient(base_url=server) as client:
        for attempt in range(2):
            response = await client.post("/v1/otlp/v1/traces", headers=bearer(key), json=export)
            assert response.status_code in (200, 201), response.text
            counts = response.json()["meterr"]
            assert counts == ({"stored": 1, "replayed": 0, "ignored": 0} if attempt == 0
                              else {"stored": 0, "replayed": 1, "ignored": 0})  # fmt: skip
        [event] = await history(client, key)
        refused = await client.post(
            "/v1/otlp/v1/traces",
            headers={**bearer(key), "Content-Type": "text/plain"},
            content=b"spans",
        )
        unauthenticated = await client.post("/v1/otlp/v1/traces", json=export)
    assert event["event_id"] == "otel:5b8efff798038103d269b633813fc60c:eee19b7ec3c1b174"
    assert (event["input_tokens"], event["cached_input_tokens"]) == (500, 400), "Anthropic's count"
    assert event["team_id"] == "team_rag"
    assert refused.status_code == 400
    assert unauthenticated.status_code == 401
