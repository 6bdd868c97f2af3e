"""meterr.Client and meterr.AsyncClient: the /v1 API over httpx, with retries that never
count an event twice. Both offer every operation of `meterr.sdk.operations` as a method, and
answer with the typed objects of `meterr.sdk.models`."""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import os
import random
import re
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, Literal, ParamSpec, TypeVar, overload

import httpx

from meterr.sdk import operations
from meterr.sdk.batching import EventBatcher
from meterr.sdk.calls import Call, Flow, encode, event_body, one
from meterr.sdk.errors import MeterrConnectionError, error_from
from meterr.sdk.models import TrackedEvent

__all__ = ["AsyncClient", "Client"]

T = TypeVar("T")
P = ParamSpec("P")

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
_RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
_RETRIED_ERRORS = (httpx.TransportError,)
# Failures after which the server surely did nothing: the request never reached it, or it was
# refused before being handled. Only these are retried for a request that must not run twice.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout)
_NOT_HANDLED = frozenset({429})
_JSON = {"Content-Type": "application/json"}


def _method_signature(operation: Callable[..., Any]) -> inspect.Signature:
    """The operation's signature as its method's: `self` first, answering what it reads."""
    signature = inspect.signature(operation)
    answer = re.sub(r"^(?:Call|Flow)\[(.*)\]$", r"\1", str(signature.return_annotation))
    this = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
    return signature.replace(
        parameters=[this, *signature.parameters.values()], return_annotation=answer
    )


def _blocking(
    operation: Callable[P, Call[T] | Flow[T]],
) -> Callable[Concatenate[Client, P], T]:
    """The operation as a method of Client: sent, and its answer returned."""

    @functools.wraps(operation)
    def method(self: Client, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self._run(operation(*args, **kwargs))

    method.__signature__ = _method_signature(operation)  # type: ignore[attr-defined]
    return method


def _awaited(
    operation: Callable[P, Call[T] | Flow[T]],
) -> Callable[Concatenate[AsyncClient, P], Coroutine[Any, Any, T]]:
    """The operation as a method of AsyncClient: sent, and its answer awaited."""

    @functools.wraps(operation)
    async def method(self: AsyncClient, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._run(operation(*args, **kwargs))

    method.__signature__ = _method_signature(operation)  # type: ignore[attr-defined]
    return method


class _Base:
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


class Client(_Base):
    """`client.track_usage(provider=..., model=..., input_tokens=..., output_tokens=...)`.

    The API key and server come from `api_key` and `base_url`, else from METERR_API_KEY and
    METERR_BASE_URL. Connection errors, 429 (after its Retry-After) and 5xx are retried up
    to `max_retries` times; every event carries an event_id, so a retry never counts twice.
    Error answers raise `MeterrAPIError` subclasses carrying the API's code, message and
    details."""

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float = 10.0,
        max_retries: int = 3,
        backoff: float = 0.5,
    ) -> None:
        super().__init__(api_key, base_url, max_retries, backoff)
        self._http = httpx.Client(base_url=self.base_url, headers=self._headers, timeout=timeout)

    def _background_sender(self) -> Callable[[list[dict[str, Any]]], None]:
        def send(events: list[dict[str, Any]]) -> None:
            self.request("POST", "/track", repeatable=True, json={"events": events})

        return send

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Send what background tracking still holds, then close the connections."""
        if self._batcher is not None:
            self._batcher.close()
        self._http.close()

    def _send(self, method: str, path: str, repeatable: bool, **kwargs: Any) -> httpx.Response:
        for attempt in range(self.max_retries + 1):
            try:
                response = self._http.request(method, path, **kwargs)
            except _RETRIED_ERRORS as exc:
                if not self._retries_error(attempt, exc, repeatable):
                    raise MeterrConnectionError(f"Meterr is unreachable: {exc}") from exc
                time.sleep(self._wait(attempt, None))
                continue
            if self._retries_answer(attempt, response, repeatable):
                time.sleep(self._wait(attempt, response))
                continue
            return self._checked(response)
        raise AssertionError("unreachable")

    def request(
        self, method: str, path: str, *, repeatable: bool | None = None, **kwargs: Any
    ) -> Any:
        """Any /v1 call (httpx keywords: params, json...) and its JSON answer. It is retried
        after any failure when `repeatable` (by default, unless it is a POST), else only
        when the server surely did nothing."""
        again = method != "POST" if repeatable is None else repeatable
        return self._json(self._send(method, path, again, **kwargs))

    def _call(self, call: Call[T]) -> T:
        content = call.content()
        headers = _JSON if content is not None else None
        response = self._send(
            call.method,
            call.path,
            call.repeatable,
            params=call.params,
            content=content,
            headers=headers,
        )
        return call.read(response.content)

    def _run(self, work: Call[T] | Flow[T]) -> T:
        """One call, or each call of a flow in turn with the answer to the one before."""
        if isinstance(work, Call):
            return self._call(work)
        try:
            call = next(work)
            while True:
                call = work.send(self._call(call))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    @overload
    def track_usage(
        self,
        provider: str,
        model: str,
        input_tokens: int,
        output_tokens: int = ...,
        *,
        background: Literal[False] = ...,
        **fields: Any,
    ) -> TrackedEvent: ...

    @overload
    def track_usage(
        self,
        provider: str,
        model: str,
        input_tokens: int,
        output_tokens: int = ...,
        *,
        background: Literal[True],
        **fields: Any,
    ) -> None: ...

    def track_usage(
        self,
        provider: str,
        model: str,
        input_tokens: int,
        output_tokens: int = 0,
        *,
        background: bool = False,
        **fields: Any,
    ) -> TrackedEvent | None:
        """Record one call: endpoint, metadata, team_id, user_id, timestamp, cached_input_tokens,
        cache_write_tokens, reasoning_tokens, event_id and reservation_id as keywords. With
        `background=True` it is queued and sent in a batch; the call returns at once."""
        if background:
            self.queue_usage(provider, model, input_tokens, output_tokens, **fields)
            return None
        body = event_body(provider, model, input_tokens, output_tokens, fields)
        return self._run(Call("POST", "/track", one(TrackedEvent), body=body))

    # usage
    track_batch = _blocking(operations.track_batch)
    event = _blocking(operations.event)
    usage = _blocking(operations.usage)
    history = _blocking(operations.history)
    events = _blocking(operations.events)
    costs = _blocking(operations.costs)
    forecast = _blocking(operations.forecast)
    backtest = _blocking(operations.backtest)

    # prices
    prices = _blocking(operations.prices)
    set_price = _blocking(operations.set_price)
    reprice = _blocking(operations.reprice)
    import_prices = _blocking(operations.import_prices)

    # budgets
    budgets = _blocking(operations.budgets)
    budget = _blocking(operations.budget)
    create_budget = _blocking(operations.create_budget)
    update_budget = _blocking(operations.update_budget)
    delete_budget = _blocking(operations.delete_budget)
    check_budget = _blocking(operations.check_budget)
    reserve = _blocking(operations.reserve)

    # teams
    teams = _blocking(operations.teams)
    team = _blocking(operations.team)
    create_team = _blocking(operations.create_team)
    update_team = _blocking(operations.update_team)
    delete_team = _blocking(operations.delete_team)
    invite = _blocking(operations.invite)
    remove_member = _blocking(operations.remove_member)
    accept_invitation = _blocking(operations.accept_invitation)

    # providers
    providers = _blocking(operations.providers)
    connection = _blocking(operations.connection)
    connect_provider = _blocking(operations.connect_provider)
    disconnect_provider = _blocking(operations.disconnect_provider)
    sync_provider = _blocking(operations.sync_provider)

    # webhooks
    webhooks = _blocking(operations.webhooks)
    create_webhook = _blocking(operations.create_webhook)
    delete_webhook = _blocking(operations.delete_webhook)
    deliveries = _blocking(operations.deliveries)
    resend_delivery = _blocking(operations.resend_delivery)


class AsyncClient(_Base):
    """The same operations as Client, awaited."""

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float = 10.0,
        max_retries: int = 3,
        backoff: float = 0.5,
    ) -> None:
        super().__init__(api_key, base_url, max_retries, backoff)
        self._timeout = timeout
        self._http = httpx.AsyncClient(
            base_url=self.base_url, headers=self._headers, timeout=timeout
        )
        self._sender: Client | None = None

    def _background_sender(self) -> Callable[[list[dict[str, Any]]], None]:
        """The batcher sends from a thread of its own, so with a blocking client."""
        self._sender = Client(
            self._api_key,
            self.base_url,
            timeout=self._timeout,
            max_retries=self.max_retries,
            backoff=self.backoff,
        )
        return self._sender._background_sender()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Send what background tracking still holds, then close the connections."""
        if self._batcher is not None:
            await asyncio.to_thread(self._batcher.close)
        if self._sender is not None:
            await asyncio.to_thread(self._sender.close)
        await self._http.aclose()

    async def _send(
        self, method: str, path: str, repeatable: bool, **kwargs: Any
    ) -> httpx.Response:
        for attempt in range(self.max_retries + 1):
            try:
                response = await self._http.request(method, path, **kwargs)
            except _RETRIED_ERRORS as exc:
                if not self._retries_error(attempt, exc, repeatable):
                    raise MeterrConnectionError(f"Meterr is unreachable: {exc}") from exc
                await asyncio.sleep(self._wait(attempt, None))
                continue
            if self._retries_answer(attempt, response, repeatable):
                await asyncio.sleep(self._wait(attempt, response))
                continue
            return self._checked(response)
        raise AssertionError("unreachable")

    async def request(
        self, method: str, path: str, *, repeatable: bool | None = None, **kwargs: Any
    ) -> Any:
        again = method != "POST" if repeatable is None else repeatable
        return self._json(await self._send(method, path, again, **kwargs))

    async def _call(self, call: Call[T]) -> T:
        content = call.content()
        headers = _JSON if content is not None else None
        response = await self._send(
            call.method,
            call.path,
            call.repeatable,
            params=call.params,
            content=content,
            headers=headers,
        )
        return call.read(response.content)

    async def _run(self, work: Call[T] | Flow[T]) -> T:
        if isinstance(work, Call):
            return await self._call(work)
        try:
            call = next(work)
            while True:
                call = work.send(await self._call(call))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    @overload
    async def track_usage(
        self,
        provider: str,
        model: str,
        input_tokens: int,
        output_tokens: int = ...,
        *,
        background: Literal[False] = ...,
        **fields: Any,
    ) -> TrackedEvent: ...

    @overload
    async def track_usage(
        self,
        provider: str,
        model: str,
        input_tokens: int,
        output_tokens: int = ...,
        *,
        background: Literal[True],
        **fields: Any,
    ) -> None: ...

    async def track_usage(
        self,
        provider: str,
        model: str,
        input_tokens: int,
        output_tokens: int = 0,
        *,
        background: bool = False,
        **fields: Any,
    ) -> TrackedEvent | None:
        if background:
            self.queue_usage(provider, model, input_tokens, output_tokens, **fields)
            return None
        body = event_body(provider, model, input_tokens, output_tokens, fields)
        return await self._run(Call("POST", "/track", one(TrackedEvent), body=body))

    # usage
    track_batch = _awaited(operations.track_batch)
    event = _awaited(operations.event)
    usage = _awaited(operations.usage)
    history = _awaited(operations.history)
    events = _awaited(operations.events)
    costs = _awaited(operations.costs)
    forecast = _awaited(operations.forecast)
    backtest = _awaited(operations.backtest)

    # prices
    prices = _awaited(operations.prices)
    set_price = _awaited(operations.set_price)
    reprice = _awaited(operations.reprice)
    import_prices = _awaited(operations.import_prices)

    # budgets
    budgets = _awaited(operations.budgets)
    budget = _awaited(operations.budget)
    create_budget = _awaited(operations.create_budget)
    update_budget = _awaited(operations.update_budget)
    delete_budget = _awaited(operations.delete_budget)
    check_budget = _awaited(operations.check_budget)
    reserve = _awaited(operations.reserve)

    # teams
    teams = _awaited(operations.teams)
    team = _awaited(operations.team)
    create_team = _awaited(operations.create_team)
    update_team = _awaited(operations.update_team)
    delete_team = _awaited(operations.delete_team)
    invite = _awaited(operations.invite)
    remove_member = _awaited(operations.remove_member)
    accept_invitation = _awaited(operations.accept_invitation)

    # providers
    providers = _awaited(operations.providers)
    connection = _awaited(operations.connection)
    connect_provider = _awaited(operations.connect_provider)
    disconnect_provider = _awaited(operations.disconnect_provider)
    sync_provider = _awaited(operations.sync_provider)

    # webhooks
    webhooks = _awaited(operations.webhooks)
    create_webhook = _awaited(operations.create_webhook)
    delete_webhook = _awaited(operations.delete_webhook)
    deliveries = _awaited(operations.deliveries)
    resend_delivery = _awaited(operations.resend_delivery)
