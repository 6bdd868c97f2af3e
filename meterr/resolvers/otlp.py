"""OpenTelemetry GenAI spans as usage events: the spans that report token usage, by the
GenAI semantic conventions, each stored once (by trace and span id)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from meterr.errors import InvalidInput
from meterr.resolvers.context import RequestContext
from meterr.resolvers.inputs import EARLIEST, LATEST
from meterr.resolvers.tracking import track_events

__all__ = ["GenAISpan", "OtlpOutcome", "ingest_spans"]

_BATCH = 1000
_LATEST_NANOS = int((LATEST - EARLIEST).total_seconds()) * 10**9
# gen_ai.system / gen_ai.provider.name values, as the instrumentations send them.
_PROVIDERS = {
    "az.ai.openai": "azure",
    "azure.ai.openai": "azure",
    "azure.ai.inference": "azure",
    "gcp.gemini": "google",
    "gcp.vertex_ai": "google",
    "gcp.gen_ai": "google",
    "vertex_ai": "google",
    "gemini": "google",
    "mistral_ai": "mistral",
    "aws.bedrock": "bedrock",
}


@dataclass(frozen=True, slots=True)
class GenAISpan:
    trace_id: str
    span_id: str
    start_unix_nano: int
    end_unix_nano: int
    attributes: dict[str, Any]
    resource: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OtlpOutcome:
    stored: int  # new usage events
    replayed: int  # spans already stored (an exporter's retry)
    ignored: int  # spans that report no GenAI usage


def _int(value: Any) -> int | None:
    """An attribute as a count of tokens; None for one that holds no number (a text, a
    list, a NaN or an infinite double)."""
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _instant(span: GenAISpan) -> str:
    """When the call ended (or began, if the span has no end), as RFC 3339."""
    nanos = span.end_unix_nano or span.start_unix_nano
    if not 0 <= nanos < _LATEST_NANOS:
        raise InvalidInput(
            f"Span {span.span_id} has a time of {nanos} ns since 1970, outside "
            f"{EARLIEST.year} to {LATEST.year - 1}.",
            {"fields": {f"spans.{span.span_id}.endTimeUnixNano": "outside the accepted years"}},
        )
    return datetime.fromtimestamp(nanos / 1e9, UTC).isoformat()


def _event(span: GenAISpan) -> dict[str, Any] | None:
    """The usage event of an LLM span, or None for a span that reports no token usage."""
    attrs = span.attributes
    system = attrs.get("gen_ai.provider.name") or attrs.get("gen_ai.system")
    model = attrs.get("gen_ai.response.model") or attrs.get("gen_ai.request.model")
    input_tokens = _int(
        attrs.get("gen_ai.usage.input_tokens", attrs.get("gen_ai.usage.prompt_tokens"))
    )
    output_tokens = _int(
        attrs.get("gen_ai.usage.output_tokens", attrs.get("gen_ai.usage.completion_tokens"))
    )
    if not system or not model or (input_tokens is None and output_tokens is None):
        return None
    cached = _int(attrs.get("gen_ai.usage.cache_read.input_tokens")) or 0
    written = _int(attrs.get("gen_ai.usage.cache_creation.input_tokens")) or 0
    prompt = input_tokens or 0
    if cached + written > prompt:
        # The instrumentation counted the cached tokens apart (Anthropic's convention):
        # Meterr's input_tokens counts every prompt token.
        prompt += cached + written
    event: dict[str, Any] = {
        "event_id": f"otel:{span.trace_id}:{span.span_id}",
        "provider": _PROVIDERS.get(str(system).lower(), str(system).lower()),
        "model": str(model),
        "input_tokens": prompt,
        "output_tokens": output_tokens or 0,
        "cached_input_tokens": cached,
        "cache_write_tokens": written,
        "timestamp": _instant(span),
        "endpoint": attrs.get("gen_ai.operation.name"),
        "metadata": {
            "source": "otlp",
            "trace_id": span.trace_id,
            "span_id": span.span_id,
            **(
                {"service": str(span.resource["service.name"])}
                if "service.name" in span.resource
                else {}
            ),
        },
    }
    reasoning = _int(attrs.get("gen_ai.usage.reasoning.output_tokens"))
    if reasoning:
        event["reasoning_tokens"] = reasoning
    for name, keys in (("team_id", ("meterr.team_id",)), ("user_id", ("user.id", "enduser.id"))):
        for key in keys:
            value = attrs.get(key, span.resource.get(key))
            if value:
                event[name] = str(value)
                break
    return event


async def ingest_spans(ctx: RequestContext, spans: Sequence[GenAISpan]) -> OtlpOutcome:
    """Store the LLM spans of an export as usage events, a thousand per unit of work; an
    exporter's retry stores nothing twice."""
    events = [event for span in spans if (event := _event(span)) is not None]
    stored = replayed = 0
    for start in range(0, len(events), _BATCH):
        tracking = await track_events(ctx, events[start : start + _BATCH], batch=True)
        replayed += sum(item.replayed for item in tracking.events)
        stored += sum(not item.replayed for item in tracking.events)
    return OtlpOutcome(stored, replayed, len(spans) - len(events))
