"""What meterr.Client and meterr.AsyncClient share: the key and server they are given, the
rule of what is retried and after how long, the errors read from the API's answers, and each
operation's signature as a method's."""

from __future__ import annotations

import functools
import inspect
import json
import os
import random
import re
import threading
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

import httpx

from meterr.sdk.batching import EventBatcher
from meterr.sdk.calls import Call, Flow, encode, event_body
from meterr.sdk.errors import error_from

if TYPE_CHECKING:
    from meterr.sdk.client import AsyncClient, Client

__all__ = [
    "DEFAULT_BASE_URL",
    "JSON_HEADERS",
    "RETRIED_ERRORS",
    "ClientBase",
    "awaited",
    "blocking",
    "method_signature",
]

T = TypeVar("T")
P = ParamSpec("P")

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
_RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRIED_ERRORS = (httpx.TransportError,)
# Failures after which the server surely did nothing: the request never reached it, or it was
# refused before being handled. Only these are retried for a request that must not run twice.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout)
_NOT_HANDLED = frozenset({429})
JSON_HEADERS = {"Content-Type": "application/json"}


def method_signature(operation: Callable[..., Any]) -> inspect.Signature:
    """The operation's signature as its method's: `self` first, answering what it reads."""
    signature = inspect.signature(operation)
    answer = re.sub(r"^(?:Call|Flow)\[(.*)\]$", r"\1", str(signature.return_annotation))
    this = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
    return signature.replace(
        parameters=[this, *signature.parameters.values()], return_annotation=answer
    )


def blocking(
    operation: Callable[P, Call[T] | Flow[T]],
) -> Callable[Concatenate[Client, P], T]:
    """The operation as a method of Client: sent, and its answer returned."""

    @functools.wraps(operation)
    def method(self: Client, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self._run(operation(*args, **kwargs))

    method.__signature__ = method_signature(operation)  # type: ignore[attr-defined]
    return method


def awaited(
    operation: Callable[P, Call[T] | Flow[T]],
) -> Callable[Concatenate[AsyncClient, P], Coroutine[Any, Any, T]]:
    """The operation as a method of AsyncClient: sent, and its answer awaited."""

    @functools.wraps(operation)
    async def method(self: AsyncClient, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._run(operation(*args, **kwargs))

    method.__signature__ = method_signature(operation)  # type: ignore[attr-defined]
    return method


class ClientBase:
    def __init__(
        self,
        api_key: str | None,
        base_url: str | None,
        max_retries: int,
        backoff: float,
    ) -> None:
        key = api_key or os.environ.get("METERR_API_KEY")
        if not key:
            raise ValueError("An API key is needed: pass api_key= or set METERR_API_KEY.")
        self._api_key = key
        self._headers = {"Authorization": f"Bearer {key}", "User-Agent": "meterr-python"}
        root = (base_url or os.environ.get("METERR_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.base_url = root if root.endswith("/v1") else f"{root}/v1"
        self.max_retries = max_retries
        self.backoff = backoff
        self._batcher: EventBatcher | None = None
        self._batcher_lock = threading.Lock()

    def _background_sender(self) -> Callable[[list[dict[str, Any]]], None]:
        raise NotImplementedError

    @property
    def batcher(self) -> EventBatcher:
        """The background sender of `track_usage(..., background=True)`, made on first use."""
        with self._batcher_lock:
            if self._batcher is None:
                self._batcher = EventBatcher(self._background_sender())
            return self._batcher

    def queue_usage(
        self,
        provider: str,
        model: str,
        input_tokens: int,
        output_tokens: int = 0,
        **fields: Any,
    ) -> None:
        """Queue one call's usage for the background sender and return at once; the same
        as `track_usage(..., background=True)`, callable from sync and async code alike."""
        body = event_body(provider, model, input_tokens, output_tokens, fields)
        self.batcher.add(json.loads(json.dumps(body, default=encode)))

    def _retries_error(self, attempt: int, error: Exception, repeatable: bool) -> bool:
        return attempt < self.max_retries and (repeatable or isinstance(error, _NOT_SENT))

    def _retries_answer(self, attempt: int, response: httpx.Response, repeatable: bool) -> bool:
        status = response.status_code
        return (
            attempt < self.max_retries
            and status in _RETRIED_STATUSES
            and (repeatable or status in _NOT_HANDLED)
        )

    def _wait(self, attempt: int, response: httpx.Response | None) -> float:
        """Seconds before the next attempt: Retry-After when the server says so (within
        reason), else exponential backoff with jitter."""
        if response is not None and response.headers.get("retry-after", "").isdigit():
            return min(float(response.headers["retry-after"]), 60.0)
        return float(self.backoff * 2**attempt * random.uniform(0.5, 1.5))  # noqa: S311

    @staticmethod
    def _checked(response: httpx.Response) -> httpx.Response:
        """The response, or the typed exception for an error answer."""
        if response.is_success:
            return response
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        retry_after = response.headers.get("retry-after")
        raise error_from(response.status_code, body, float(retry_after) if retry_after else None)

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        return response.json() if response.content else None
