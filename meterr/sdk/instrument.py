"""meterr.instrument(client): every call of an official OpenAI or Anthropic client (sync or
async, streamed or not) tracked in the background, with no further code."""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from meterr.sdk.client import AsyncClient, Client

__all__ = ["instrument"]

log = logging.getLogger("meterr.sdk")

Usage = dict[str, Any]


def _get(value: Any, name: str) -> Any:
    if value is None:
        return None
    if isinstance(value, dict):
        return value.get(name)
    return getattr(value, name, None)


def _openai_usage(usage: Any) -> Usage | None:
    """OpenAI counts cached tokens inside prompt_tokens and reasoning inside
    completion_tokens: Meterr's convention already."""
    if usage is None:
        return None
    return {
        "input_tokens": int(_get(usage, "prompt_tokens") or _get(usage, "input_tokens") or 0),
        "output_tokens": int(_get(usage, "completion_tokens") or _get(usage, "output_tokens") or 0),
        "cached_input_tokens": int(
            _get(_get(usage, "prompt_tokens_details"), "cached_tokens") or 0
        ),
        "reasoning_tokens": int(
            _get(_get(usage, "completion_tokens_details"), "reasoning_tokens") or 0
        ),
    }


def _anthropic_usage(usage: Any, output_tokens: int | None = None) -> Usage | None:
    """Anthropic counts input without the cached tokens: add them back."""
    if usage is None:
        return None
    read = int(_get(usage, "cache_read_input_tokens") or 0)
    written = int(_get(usage, "cache_creation_input_tokens") or 0)
    return {
        "input_tokens": int(_get(usage, "input_tokens") or 0) + read + written,
        "output_tokens": int(
            output_tokens if output_tokens is not None else _get(usage, "output_tokens") or 0
        ),
        "cached_input_tokens": read,
        "cache_write_tokens": written,
    }


class _Tracker:
    def __init__(
        self, meterr: Client | AsyncClient, provider: str, endpoint: str, defaults: dict[str, Any]
    ):
        self.meterr = meterr
        self.provider = provider
        self.endpoint = endpoint
        self.defaults = defaults

    def track(self, model: str | None, usage: Usage | None) -> None:
        if not model or usage is None:
            log.debug(
                "A %s call without usage (for streams, ask for it) was not tracked.", self.provider
            )
            return
        try:
            self.meterr.queue_usage(
                self.provider, model, endpoint=self.endpoint, **usage, **self.defaults
            )
        except Exception:  # tracking must never break the caller's call
            log.exception("Meterr could not queue a usage event.")


def _openai_stream(stream: Any, tracker: _Tracker) -> Iterator[Any]:
    model, usage = None, None
    for chunk in stream:
        model = _get(chunk, "model") or model
        usage = _openai_usage(_get(chunk, "usage")) or usage
        yield chunk
    tracker.track(model, usage)


async def _openai_astream(stream: Any, tracker: _Tracker) -> AsyncIterator[Any]:
    model, usage = None, None
    async for chunk in stream:
        model = _get(chunk, "model") or model
        usage = _openai_usage(_get(chunk, "usage")) or usage
        yield chunk
    tracker.track(model, usage)


def _anthropic_event(event: Any, state: dict[str, Any]) -> None:
    kind = _get(event, "type")
    if kind == "message_start":
        message = _get(event, "message")
        state["model"] = _get(message, "model")
        state["usage"] = _get(message, "usage")
    elif kind == "message_delta":
        state["output"] = _get(_get(event, "usage"), "output_tokens")


def _anthropic_stream(stream: Any, tracker: _Tracker) -> Iterator[Any]:
    state: dict[str, Any] = {}
    for event in stream:
        _anthropic_event(event, state)
        yield event
    tracker.track(state.get("model"), _anthropic_usage(state.get("usage"), state.get("output")))


async def _anthropic_astream(stream: Any, tracker: _Tracker) -> AsyncIterator[Any]:
    state: dict[str, Any] = {}
    async for event in stream:
        _anthropic_event(event, state)
        yield event
    tracker.track(state.get("model"), _anthropic_usage(state.get("usage"), state.get("output")))


def _wrap(
    resource: Any,
    tracker: _Tracker,
    read: Callable[[Any], Usage | None],
    streams: tuple[Callable[[Any, _Tracker], Any], Callable[[Any, _Tracker], Any]],
    is_async: bool,
) -> None:
    original = resource.create
    if getattr(original, "__meterr__", False):
        return  # instrumented already
    sync_stream, async_stream = streams

    if is_async:

        @functools.wraps(original)
        async def create_async(*args: Any, **kwargs: Any) -> Any:
            result = await original(*args, **kwargs)
            if kwargs.get("stream"):
                return async_stream(result, tracker)
            tracker.track(_get(result, "model"), read(_get(result, "usage")))
            return result

        create_async.__meterr__ = True  # type: ignore[attr-defined]
        resource.create = create_async
        return

    @functools.wraps(original)
    def create(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        if kwargs.get("stream"):
            return sync_stream(result, tracker)
        tracker.track(_get(result, "model"), read(_get(result, "usage")))
        return result

    create.__meterr__ = True  # type: ignore[attr-defined]
    resource.create = create


def instrument(client: Any, meterr: Client | AsyncClient | None = None, **defaults: Any) -> Any:
    """Track every call of an `openai.OpenAI`/`AsyncOpenAI` (or Azure) or
    `anthropic.Anthropic`/`AsyncAnthropic` client through `meterr`, a Client or AsyncClient
    (default: a Client from METERR_API_KEY and METERR_BASE_URL), in the background.
    `defaults` (team_id, user_id, metadata...) go with every event. Streams are tracked when
    they end; an OpenAI stream reports usage only when asked with
    `stream_options={"include_usage": True}`. Returns the client."""
    meterr = meterr or Client()
    kind = type(client).__name__
    is_async = kind.startswith("Async")
    if hasattr(client, "chat") and hasattr(client.chat, "completions"):
        provider = "azure" if "Azure" in kind else "openai"
        tracker = _Tracker(meterr, provider, "/v1/chat/completions", defaults)
        streams = (_openai_stream, _openai_astream)
        _wrap(client.chat.completions, tracker, _openai_usage, streams, is_async)
        return client
    if hasattr(client, "messages") and hasattr(client.messages, "create"):
        tracker = _Tracker(meterr, "anthropic", "/v1/messages", defaults)
        streams = (_anthropic_stream, _anthropic_astream)
        _wrap(client.messages, tracker, _anthropic_usage, streams, is_async)
        return client
    raise TypeError(f"meterr.instrument knows OpenAI and Anthropic clients, not {kind}.")
