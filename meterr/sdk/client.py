"""meterr.Client and meterr.AsyncClient: the /v1 API over httpx, with retries that never
count an event twice. Both offer every operation of `meterr.sdk.operations` as a method, and
answer with the typed objects of `meterr.sdk.models`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Literal, TypeVar, overload

import httpx

from meterr.sdk import operations
from meterr.sdk.base_client import JSON_HEADERS, RETRIED_ERRORS, ClientBase, awaited, blocking
from meterr.sdk.calls import Call, Flow, event_body, one
from meterr.sdk.errors import MeterrConnectionError
from meterr.sdk.models import TrackedEvent

__all__ = ["AsyncClient", "Client"]

T = TypeVar("T")


class Client(ClientBase):
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
            except RETRIED_ERRORS as exc:
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
        headers = JSON_HEADERS if content is not None else None
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
    track_batch = blocking(operations.track_batch)
    event = blocking(operations.event)
    usage = blocking(operations.usage)
    history = blocking(operations.history)
    events = blocking(operations.events)
    costs = blocking(operations.costs)
    forecast = blocking(operations.forecast)
    backtest = blocking(operations.backtest)

    # prices
    prices = blocking(operations.prices)
    set_price = blocking(operations.set_price)
    reprice = blocking(operations.reprice)
    import_prices = blocking(operations.import_prices)

    # budgets
    budgets = blocking(operations.budgets)
    budget = blocking(operations.budget)
    create_budget = blocking(operations.create_budget)
    update_budget = blocking(operations.update_budget)
    delete_budget = blocking(operations.delete_budget)
    check_budget = blocking(operations.check_budget)
    reserve = blocking(operations.reserve)

    # teams
    teams = blocking(operations.teams)
    team = blocking(operations.team)
    create_team = blocking(operations.create_team)
    update_team = blocking(operations.update_team)
    delete_team = blocking(operations.delete_team)
    invite = blocking(operations.invite)
    remove_member = blocking(operations.remove_member)
    accept_invitation = blocking(operations.accept_invitation)

    # providers
    providers = blocking(operations.providers)
    connection = blocking(operations.connection)
    connect_provider = blocking(operations.connect_provider)
    disconnect_provider = blocking(operations.disconnect_provider)
    sync_provider = blocking(operations.sync_provider)

    # webhooks
    webhooks = blocking(operations.webhooks)
    create_webhook = blocking(operations.create_webhook)
    delete_webhook = blocking(operations.delete_webhook)
    deliveries = blocking(operations.deliveries)
    resend_delivery = blocking(operations.resend_delivery)


class AsyncClient(ClientBase):
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
            except RETRIED_ERRORS as exc:
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
        headers = JSON_HEADERS if content is not None else None
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
    track_batch = awaited(operations.track_batch)
    event = awaited(operations.event)
    usage = awaited(operations.usage)
    history = awaited(operations.history)
    events = awaited(operations.events)
    costs = awaited(operations.costs)
    forecast = awaited(operations.forecast)
    backtest = awaited(operations.backtest)

    # prices
    prices = awaited(operations.prices)
    set_price = awaited(operations.set_price)
    reprice = awaited(operations.reprice)
    import_prices = awaited(operations.import_prices)

    # budgets
    budgets = awaited(operations.budgets)
    budget = awaited(operations.budget)
    create_budget = awaited(operations.create_budget)
    update_budget = awaited(operations.update_budget)
    delete_budget = awaited(operations.delete_budget)
    check_budget = awaited(operations.check_budget)
    reserve = awaited(operations.reserve)

    # teams
    teams = awaited(operations.teams)
    team = awaited(operations.team)
    create_team = awaited(operations.create_team)
    update_team = awaited(operations.update_team)
    delete_team = awaited(operations.delete_team)
    invite = awaited(operations.invite)
    remove_member = awaited(operations.remove_member)
    accept_invitation = awaited(operations.accept_invitation)

    # providers
    providers = awaited(operations.providers)
    connection = awaited(operations.connection)
    connect_provider = awaited(operations.connect_provider)
    disconnect_provider = awaited(operations.disconnect_provider)
    sync_provider = awaited(operations.sync_provider)

    # webhooks
    webhooks = awaited(operations.webhooks)
    create_webhook = awaited(operations.create_webhook)
    delete_webhook = awaited(operations.delete_webhook)
    deliveries = awaited(operations.deliveries)
    resend_delivery = awaited(operations.resend_delivery)
