"""POST /v1/otlp/v1/traces: OTLP/HTTP trace exports, protobuf or JSON, decoded into spans."""

from __future__ import annotations

from typing import Any

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from starlette.responses import JSONResponse, Response

from meterr.bodies import parse_json, read_body
from meterr.errors import InvalidInput
from meterr.resolvers import GenAISpan, ingest_spans
from meterr.rest_compat.contract import Call

__all__ = ["otlp_traces"]

_PROTOBUF = "application/x-protobuf"


def _any_value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    return None if kind is None else getattr(value, kind)


def _proto_attributes(attributes: Any) -> dict[str, Any]:
    pairs: list[KeyValue] = list(attributes)
    return {pair.key: _any_value(pair.value) for pair in pairs}


def _from_protobuf(body: bytes) -> list[GenAISpan]:
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except DecodeError:
        raise InvalidInput(
            "The body is not an OTLP ExportTraceServiceRequest.", {"fields": {"body": "invalid"}}
        ) from None
    return [
        GenAISpan(
            trace_id=span.trace_id.hex(),
            span_id=span.span_id.hex(),
            start_unix_nano=span.start_time_unix_nano,
            end_unix_nano=span.end_time_unix_nano,
            attributes=_proto_attributes(span.attributes),
            resource=_proto_attributes(resource_spans.resource.attributes),
        )
        for resource_spans in request.resource_spans
        for scope_spans in resource_spans.scope_spans
        for span in scope_spans.spans
    ]


def _json_value(value: dict[str, Any]) -> Any:
    for kind in ("stringValue", "boolValue", "doubleValue"):
        if kind in value:
            return value[kind]
    if "intValue" in value:  # a string in OTLP JSON: 64-bit integers
        return int(value["intValue"])
    return None


def _json_attributes(attributes: Any) -> dict[str, Any]:
    return {
        pair["key"]: _json_value(pair.get("value") or {})
        for pair in attributes or []
        if isinstance(pair, dict) and "key" in pair
    }


def _from_json(body: bytes) -> list[GenAISpan]:
    document = parse_json(body)
    try:
        return [
            GenAISpan(
                trace_id=str(span["traceId"]).lower(),
                span_id=str(span["spanId"]).lower(),
                start_unix_nano=int(span.get("startTimeUnixNano") or 0),
                end_unix_nano=int(span.get("endTimeUnixNano") or 0),
                attributes=_json_attributes(span.get("attributes")),
                resource=_json_attributes((resource.get("resource") or {}).get("attributes")),
            )
            for resource in document.get("resourceSpans") or []
            for scope in resource.get("scopeSpans") or []
            for span in scope.get("spans") or []
        ]
    except (ValueError, KeyError, TypeError, AttributeError):
        raise InvalidInput(
            "The body is not OTLP JSON: resourceSpans[].scopeSpans[].spans[] with traceId "
            "and spanId.",
            {"fields": {"body": "invalid OTLP JSON"}},
        ) from None


async def otlp_traces(call: Call) -> Response:
    ctx = call.ctx
    content_type = call.request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await read_body(call.request, ctx.services.settings.max_body_bytes * 4)
    if content_type == _PROTOBUF:
        spans = _from_protobuf(body)
    elif content_type == "application/json":
        spans = _from_json(body)
    else:
        raise InvalidInput(
            f"OTLP/HTTP bodies are {_PROTOBUF} or application/json, not '{content_type}'.",
            {"fields": {"content-type": "application/x-protobuf or application/json"}},
        )
    outcome = await ingest_spans(ctx, spans)
    if content_type == _PROTOBUF:
        answer = ExportTraceServiceResponse()
        return Response(answer.SerializeToString(), media_type=_PROTOBUF)
    return JSONResponse(
        {
            "partialSuccess": {},
            "meterr": {
                "stored": outcome.stored,
                "replayed": outcome.replayed,
                "ignored": outcome.ignored,
            },
        }
    )
