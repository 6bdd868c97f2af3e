"""meterr.Client and meterr.AsyncClient: the /v1 API over httpx, with retries that never
count an event twice. Both send the operations of `meterr.sdk.calls` and answer with the
typed objects of `meterr.sdk.models`."""

from __future__ import annotations

import asyncio
import json
import os
import random
import threading
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Literal, TypeVar, overload

import httpx

from meterr.sdk import calls
from meterr.sdk.batching import EventBatcher
from meterr.sdk.calls import Call, Day, Flow
from meterr.sdk.errors import MeterrConnectionError, error_from
from meterr.sdk.models import (
    Backtest,
    Budget,
    BudgetCheck,
    Connection,
    CostForecast,
    CostGroup,
    Delivery,
    EventPage,
    Invitation,
    Membership,
    Price,
    PriceImport,
    Provider,
    RepriceReport,
    Reservation,
    SyncReport,
    Team,
    TrackedBatch,
    TrackedEvent,
    UsageEvent,
    UsageSummary,
    Webhook,
)

__all__ = ["AsyncClient", "Client"]

T = TypeVar("T")

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
_RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
_RETRIED_ERRORS = (httpx.TransportError,)
_JSON = {"Content-Type": "application/json"}


def _arguments(values: dict[str, Any]) -> dict[str, Any]:
    """A method's arguments, as `locals()` holds them at its start, without `self`."""
    return {name: value for name, value in values.items() if name != "self"}


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
        body = calls.event_body(provider, model, input_tokens, output_tokens, fields)
        self.batcher.add(json.loads(json.dumps(body, default=calls.encode)))

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
            self.request("POST", "/track", json={"events": events})

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

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        for attempt in range(self.max_retries + 1):
            try:
                response = self._http.request(method, path, **kwargs)
            except _RETRIED_ERRORS as exc:
                if attempt == self.max_retries:
                    raise MeterrConnectionError(f"Meterr is unreachable: {exc}") from exc
                time.sleep(self._wait(attempt, None))
                continue
            if response.status_code in _RETRIED_STATUSES and attempt < self.max_retries:
                time.sleep(self._wait(attempt, response))
                continue
            return self._checked(response)
        raise AssertionError("unreachable")

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Any /v1 call (httpx keywords: params, json...), retried; its JSON answer."""
        return self._json(self._send(method, path, **kwargs))

    def _run(self, call: Call[T]) -> T:
        content = call.content()
        headers = _JSON if content is not None else None
        response = self._send(
            call.method, call.path, params=call.params, content=content, headers=headers
        )
        return call.read(response.content)

    def _drive(self, flow: Flow[T]) -> T:
        try:
            call = next(flow)
            while True:
                call = flow.send(self._run(call))
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
        body = calls.event_body(provider, model, input_tokens, output_tokens, fields)
        return self._run(calls.track(body))

    def track_batch(self, events: list[Mapping[str, Any]]) -> TrackedBatch:
        """Record up to 1,000 events at once, all or nothing."""
        return self._run(calls.track_batch(events))

    def event(self, event_id: str) -> UsageEvent:
        """One stored event by its id."""
        return self._run(calls.event(event_id))

    def usage(
        self,
        *,
        start_date: Day | None = None,
        end_date: Day | None = None,
        tz: str | None = None,
        provider: str | None = None,
        model: str | None = None,
        team_id: str | None = None,
        user_id: str | None = None,
    ) -> UsageSummary:
        """Token and cost totals over a range (default: this month), and per provider."""
        return self._run(calls.usage(_arguments(locals())))

    def history(
        self,
        *,
        start_date: Day | None = None,
        end_date: Day | None = None,
        tz: str | None = None,
        provider: str | None = None,
        model: str | None = None,
        team_id: str | None = None,
        user_id: str | None = None,
        interval: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> EventPage:
        """The series per `interval` (hour or day) and one page of events, newest first."""
        return self._run(calls.history(_arguments(locals())))

    def events(
        self,
        *,
        start_date: Day | None = None,
        end_date: Day | None = None,
        tz: str | None = None,
        provider: str | None = None,
        model: str | None = None,
        team_id: str | None = None,
        user_id: str | None = None,
    ) -> list[UsageEvent]:
        """Every event of the range, newest first, read page by page."""
        return self._drive(calls.all_events(_arguments(locals())))

    def costs(
        self,
        *,
        group_by: str | None = None,
        start_date: Day | None = None,
        end_date: Day | None = None,
        tz: str | None = None,
        provider: str | None = None,
        model: str | None = None,
        team_id: str | None = None,
        user_id: str | None = None,
    ) -> list[CostGroup]:
        """Cost per group: provider (default), model, team, user, endpoint, day..., or two
        joined by a comma."""
        return self._run(calls.costs(_arguments(locals())))

    def forecast(
        self,
        *,
        horizon: int | None = None,
        group_by: str | None = None,
        start_date: Day | None = None,
        provider: str | None = None,
        model: str | None = None,
        team_id: str | None = None,
        user_id: str | None = None,
    ) -> CostForecast:
        """Daily cost for `horizon` days ahead with 80% and 95% intervals, and the month's
        projected total."""
        return self._run(calls.forecast(_arguments(locals())))

    def backtest(self, days: int = 30) -> Backtest:
        """How the forecast did on each of the last `days` days, from the days before."""
        return self._run(calls.backtest(days))

    def prices(self, provider: str | None = None) -> list[Price]:
        """Prices in force now: the catalogue's, and the organization's own."""
        return self._run(calls.prices(provider))

    def set_price(
        self,
        provider: str,
        model: str,
        input: Decimal | str,
        output: Decimal | str,
        **rates: Any,
    ) -> Price:
        """An organization price (USD per 1M tokens); `cached_input`, `cache_write`,
        `reasoning`, `effective_from`, `note` as keywords."""
        body = {"provider": provider, "model": model, "input": input, "output": output}
        return self._run(calls.set_price({**body, **rates}))

    def reprice(self, *, dry_run: bool = False, **scope: Any) -> RepriceReport:
        """Reprice stored events with the prices in force now; `start_date`, `end_date`,
        `provider`, `model`, `unpriced_only` narrow it."""
        return self._run(calls.reprice({**scope, "dry_run": dry_run}))

    def import_prices(self, document: Mapping[str, Any], *, dry_run: bool = False) -> PriceImport:
        """A LiteLLM model_prices document as the organization's prices."""
        return self._run(calls.import_prices(document, dry_run))

    def budgets(self) -> list[Budget]:
        return self._run(calls.budgets())

    def budget(self, budget_id: str) -> Budget:
        return self._run(calls.budget(budget_id))

    def create_budget(self, name: str, limit: Decimal | int | str, **fields: Any) -> Budget:
        """`team_id`, `user_id`, `provider`, `model` or `api_key_id` (the scope; none: the
        whole organization), `unit` ("usd" or "tokens"), `period`, `thresholds`, `action`
        ("alert" or "block") and `timezone` as keywords."""
        return self._run(calls.create_budget({"name": name, "limit": limit, **fields}))

    def update_budget(self, budget_id: str, **changes: Any) -> Budget:
        return self._run(calls.update_budget(budget_id, changes))

    def delete_budget(self, budget_id: str) -> None:
        return self._run(calls.delete_budget(budget_id))

    def check_budget(self, **scope: Any) -> BudgetCheck:
        """May a call go ahead? `team_id`, `user_id`, `provider`, `model`, `api_key_id`,
        `estimated_cost` or `estimated_tokens`."""
        return self._run(calls.check_budget(scope))

    def reserve(self, **call: Any) -> Reservation:
        """Reserve a call's estimated cost (`estimated_cost`) or tokens (`estimated_tokens`)
        against every budget its scope falls under; settle it by passing `reservation_id`
        to track_usage."""
        return self._run(calls.reserve(call))

    def teams(self) -> list[Team]:
        """Every team, read page by page."""
        return self._drive(calls.all_teams())

    def team(self, team_id: str) -> Team:
        return self._run(calls.team(team_id))

    def create_team(self, name: str, description: str | None = None) -> Team:
        return self._run(calls.create_team(name, description))

    def update_team(self, team_id: str, **changes: Any) -> Team:
        return self._run(calls.update_team(team_id, changes))

    def delete_team(self, team_id: str) -> None:
        """Delete a team; its usage is kept, shown as a deleted team's."""
        return self._run(calls.delete_team(team_id))

    def invite(self, team_id: str, email: str, role: str = "member") -> Invitation:
        """Invite someone as admin, member or viewer; hand them the invitation's token."""
        return self._run(calls.invite(team_id, email, role))

    def remove_member(self, team_id: str, member_id: str) -> None:
        return self._run(calls.remove_member(team_id, member_id))

    def accept_invitation(self, token: str) -> Membership:
        """Join with an invitation's token; the answer holds the new member's API key."""
        return self._run(calls.accept_invitation(token))

    def providers(self) -> list[Provider]:
        """Every supported provider, its models and prices, and the organization's
        connections to it."""
        return self._run(calls.providers())

    def connection(self, connection_id: str) -> Connection:
        return self._run(calls.connection(connection_id))

    def connect_provider(
        self,
        provider: str,
        api_key: str,
        *,
        name: str | None = None,
        mode: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> Connection:
        """Connect a provider's admin key (stored encrypted) to import its usage (`mode`
        "import", the default) or to check tracked usage against it ("reconcile");
        `options` such as the organization or project ids."""
        body = {
            "provider": provider,
            "name": name,
            "api_key": api_key,
            "mode": mode,
            "options": options,
        }
        return self._run(calls.connect_provider(body))

    def disconnect_provider(self, connection_id: str) -> None:
        return self._run(calls.disconnect_provider(connection_id))

    def sync_provider(self, connection_id: str, start_date: Day, end_date: Day) -> SyncReport:
        """Import the provider's own usage for a range; what was imported before counts once."""
        return self._run(calls.sync_provider(connection_id, start_date, end_date))

    def webhooks(self) -> list[Webhook]:
        return self._run(calls.webhooks())

    def create_webhook(
        self, url: str, events: list[str] | None = None, description: str | None = None
    ) -> Webhook:
        """An endpoint for `events` (default: all); keep the answer's `secret` to verify
        signatures, it is not shown again."""
        return self._run(calls.create_webhook(url, events, description))

    def delete_webhook(self, webhook_id: str) -> None:
        return self._run(calls.delete_webhook(webhook_id))

    def deliveries(
        self, webhook_id: str, *, limit: int = 50, before: str | None = None
    ) -> list[Delivery]:
        """An endpoint's deliveries, newest first, with every attempt."""
        return self._run(calls.deliveries(webhook_id, limit, before))

    def resend_delivery(self, webhook_id: str, delivery_id: str) -> Delivery:
        return self._run(calls.resend_delivery(webhook_id, delivery_id))


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

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        for attempt in range(self.max_retries + 1):
            try:
                response = await self._http.request(method, path, **kwargs)
            except _RETRIED_ERRORS as exc:
                if attempt == self.max_retries:
                    raise MeterrConnectionError(f"Meterr is unreachable: {exc}") from exc
                await asyncio.sleep(self._wait(attempt, None))
                continue
            if response.status_code in _RETRIED_STATUSES and attempt < self.max_retries:
                await asyncio.sleep(self._wait(attempt, response))
                continue
            return self._checked(response)
        raise AssertionError("unreachable")

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._json(await self._send(method, path, **kwargs))

    async def _run(self, call: Call[T]) -> T:
        content = call.content()
        headers = _JSON if content is not None else None
        response = await self._send(
            call.method, call.path, params=call.params, content=content, headers=headers
        )
        return call.read(response.content)

    async def _drive(self, flow: Flow[T]) -> T:
        try:
            call = next(flow)
            while True:
                call = flow.send(await self._run(call))
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
        body = calls.event_body(provider, model, input_tokens, output_tokens, fields)
        return await self._run(calls.track(body))

    async def track_batch(self, events: list[Mapping[str, Any]]) -> TrackedBatch:
        return await self._run(calls.track_batch(events))

    async def event(self, event_id: str) -> UsageEvent:
        """One stored event by its id."""
        return await self._run(calls.event(event_id))

    async def usage(
        self,
        *,
        start_date: Day | None = None,
        end_date: Day | None = None,
        tz: str | None = None,
        provider: str | None = None,
        model: str | None = None,
        team_id: str | None = None,
        user_id: str | None = None,
    ) -> UsageSummary:
        """Token and cost totals over a range (default: this month), and per provider."""
        return await self._run(calls.usage(_arguments(locals())))

    async def history(
        self,
        *,
        start_date: Day | None = None,
        end_date: Day | None = None,
        tz: str | None = None,
        provider: str | None = None,
        model: str | None = None,
        team_id: str | None = None,
        user_id: str | None = None,
        interval: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> EventPage:
        """The series per `interval` (hour or day) and one page of events, newest first."""
        return await self._run(calls.history(_arguments(locals())))

    async def events(
        self,
        *,
        start_date: Day | None = None,
        end_date: Day | None = None,
        tz: str | None = None,
        provider: str | None = None,
        model: str | None = None,
        team_id: str | None = None,
        user_id: str | None = None,
    ) -> list[UsageEvent]:
        """Every event of the range, newest first, read page by page."""
        return await self._drive(calls.all_events(_arguments(locals())))

    async def costs(
        self,
        *,
        group_by: str | None = None,
        start_date: Day | None = None,
        end_date: Day | None = None,
        tz: str | None = None,
        provider: str | None = None,
        model: str | None = None,
        team_id: str | None = None,
        user_id: str | None = None,
    ) -> list[CostGroup]:
        """Cost per group: provider (default), model, team, user, endpoint, day..., or two
        joined by a comma."""
        return await self._run(calls.costs(_arguments(locals())))

    async def forecast(
        self,
        *,
        horizon: int | None = None,
        group_by: str | None = None,
        start_date: Day | None = None,
        provider: str | None = None,
        model: str | None = None,
        team_id: str | None = None,
        user_id: str | None = None,
    ) -> CostForecast:
        """Daily cost for `horizon` days ahead with 80% and 95% intervals, and the month's
        projected total."""
        return await self._run(calls.forecast(_arguments(locals())))

    async def backtest(self, days: int = 30) -> Backtest:
        """How the forecast did on each of the last `days` days, from the days before."""
        return await self._run(calls.backtest(days))

    async def prices(self, provider: str | None = None) -> list[Price]:
        """Prices in force now: the catalogue's, and the organization's own."""
        return await self._run(calls.prices(provider))

    async def set_price(
        self,
        provider: str,
        model: str,
        input: Decimal | str,
        output: Decimal | str,
        **rates: Any,
    ) -> Price:
        """An organization price (USD per 1M tokens); `cached_input`, `cache_write`,
        `reasoning`, `effective_from`, `note` as keywords."""
        body = {"provider": provider, "model": model, "input": input, "output": output}
        return await self._run(calls.set_price({**body, **rates}))

    async def reprice(self, *, dry_run: bool = False, **scope: Any) -> RepriceReport:
        """Reprice stored events with the prices in force now; `start_date`, `end_date`,
        `provider`, `model`, `unpriced_only` narrow it."""
        return await self._run(calls.reprice({**scope, "dry_run": dry_run}))

    async def import_prices(
        self, document: Mapping[str, Any], *, dry_run: bool = False
    ) -> PriceImport:
        """A LiteLLM model_prices document as the organization's prices."""
        return await self._run(calls.import_prices(document, dry_run))

    async def budgets(self) -> list[Budget]:
        return await self._run(calls.budgets())

    async def budget(self, budget_id: str) -> Budget:
        return await self._run(calls.budget(budget_id))

    async def create_budget(self, name: str, limit: Decimal | int | str, **fields: Any) -> Budget:
        """`team_id`, `user_id`, `provider`, `model` or `api_key_id` (the scope; none: the
        whole organization), `unit` ("usd" or "tokens"), `period`, `thresholds`, `action`
        ("alert" or "block") and `timezone` as keywords."""
        return await self._run(calls.create_budget({"name": name, "limit": limit, **fields}))

    async def update_budget(self, budget_id: str, **changes: Any) -> Budget:
        return await self._run(calls.update_budget(budget_id, changes))

    async def delete_budget(self, budget_id: str) -> None:
        return await self._run(calls.delete_budget(budget_id))

    async def check_budget(self, **scope: Any) -> BudgetCheck:
        """May a call go ahead? `team_id`, `user_id`, `provider`, `model`, `api_key_id`,
        `estimated_cost` or `estimated_tokens`."""
        return await self._run(calls.check_budget(scope))

    async def reserve(self, **call: Any) -> Reservation:
        """Reserve a call's estimated cost (`estimated_cost`) or tokens (`estimated_tokens`)
        against every budget its scope falls under; settle it by passing `reservation_id`
        to track_usage."""
        return await self._run(calls.reserve(call))

    async def teams(self) -> list[Team]:
        """Every team, read page by page."""
        return await self._drive(calls.all_teams())

    async def team(self, team_id: str) -> Team:
        return await self._run(calls.team(team_id))

    async def create_team(self, name: str, description: str | None = None) -> Team:
        return await self._run(calls.create_team(name, description))

    async def update_team(self, team_id: str, **changes: Any) -> Team:
        return await self._run(calls.update_team(team_id, changes))

    async def delete_team(self, team_id: str) -> None:
        """Delete a team; its usage is kept, shown as a deleted team's."""
        return await self._run(calls.delete_team(team_id))

    async def invite(self, team_id: str, email: str, role: str = "member") -> Invitation:
        """Invite someone as admin, member or viewer; hand them the invitation's token."""
        return await self._run(calls.invite(team_id, email, role))

    async def remove_member(self, team_id: str, member_id: str) -> None:
        return await self._run(calls.remove_member(team_id, member_id))

    async def accept_invitation(self, token: str) -> Membership:
        """Join with an invitation's token; the answer holds the new member's API key."""
        return await self._run(calls.accept_invitation(token))

    async def providers(self) -> list[Provider]:
        """Every supported provider, its models and prices, and the organization's
        connections to it."""
        return await self._run(calls.providers())

    async def connection(self, connection_id: str) -> Connection:
        return await self._run(calls.connection(connection_id))

    async def connect_provider(
        self,
        provider: str,
        api_key: str,
        *,
        name: str | None = None,
        mode: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> Connection:
        """Connect a provider's admin key (stored encrypted) to import its usage (`mode`
        "import", the default) or to check tracked usage against it ("reconcile");
        `options` such as the organization or project ids."""
        body = {
            "provider": provider,
            "name": name,
            "api_key": api_key,
            "mode": mode,
            "options": options,
        }
        return await self._run(calls.connect_provider(body))

    async def disconnect_provider(self, connection_id: str) -> None:
        return await self._run(calls.disconnect_provider(connection_id))

    async def sync_provider(self, connection_id: str, start_date: Day, end_date: Day) -> SyncReport:
        """Import the provider's own usage for a range; what was imported before counts once."""
        return await self._run(calls.sync_provider(connection_id, start_date, end_date))

    async def webhooks(self) -> list[Webhook]:
        return await self._run(calls.webhooks())

    async def create_webhook(
        self, url: str, events: list[str] | None = None, description: str | None = None
    ) -> Webhook:
        """An endpoint for `events` (default: all); keep the answer's `secret` to verify
        signatures, it is not shown again."""
        return await self._run(calls.create_webhook(url, events, description))

    async def delete_webhook(self, webhook_id: str) -> None:
        return await self._run(calls.delete_webhook(webhook_id))

    async def deliveries(
        self, webhook_id: str, *, limit: int = 50, before: str | None = None
    ) -> list[Delivery]:
        """An endpoint's deliveries, newest first, with every attempt."""
        return await self._run(calls.deliveries(webhook_id, limit, before))

    async def resend_delivery(self, webhook_id: str, delivery_id: str) -> Delivery:
        return await self._run(calls.resend_delivery(webhook_id, delivery_id))
