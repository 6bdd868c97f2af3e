"""meterr.Client and meterr.AsyncClient: the /v1 API over httpx, with retries that never
count an event twice."""

from __future__ import annotations

import asyncio
import os
import random
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, overload

import httpx

from meterr.sdk.batching import EventBatcher
from meterr.sdk.errors import MeterrConnectionError, error_from

__all__ = ["AsyncClient", "Client", "CostGroup", "TrackedEvent"]

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
_RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
_RETRIED_ERRORS = (httpx.TransportError,)


@dataclass(frozen=True, slots=True)
class TrackedEvent:
    """A stored event as the API answered it; `data` holds every field."""

    id: str
    event_id: str
    cost: Decimal | None
    pricing_status: str
    replayed: bool
    data: dict[str, Any]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrackedEvent:
        cost = data.get("cost")
        return cls(
            id=data["id"],
            event_id=data["event_id"],
            cost=None if cost is None else Decimal(str(cost)),
            pricing_status=data["pricing_status"],
            replayed=bool(data.get("replayed")),
            data=data,
        )


@dataclass(frozen=True, slots=True)
class CostGroup:
    key: str
    total: Decimal
    tokens: int


def _event(
    provider: str,
    model: str,
    input_tokens: int,
    output_tokens: int,
    fields: Mapping[str, Any],
) -> dict[str, Any]:
    """A track body; every event gets an event_id, so that a retried request is a replay."""
    body = {
        "provider": provider,
        "model": model,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        **{name: value for name, value in fields.items() if value is not None},
    }
    body.setdefault("event_id", f"sdk_{uuid.uuid4().hex}")
    return body


def _params(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not None}


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
        self._headers = {"Authorization": f"Bearer {key}", "User-Agent": "meterr-python"}
        root = (base_url or os.environ.get("METERR_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.base_url = root if root.endswith("/v1") else f"{root}/v1"
        self.max_retries = max_retries
        self.backoff = backoff

    def _wait(self, attempt: int, response: httpx.Response | None) -> float:
        """Seconds before the next attempt: Retry-After when the server says so (within
        reason), else exponential backoff with jitter."""
        if response is not None and response.headers.get("retry-after", "").isdigit():
            return min(float(response.headers["retry-after"]), 60.0)
        return float(self.backoff * 2**attempt * random.uniform(0.5, 1.5))  # noqa: S311

    @staticmethod
    def _result(response: httpx.Response) -> Any:
        if response.is_success:
            return response.json() if response.content else None
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        retry_after = response.headers.get("retry-after")
        raise error_from(response.status_code, body, float(retry_after) if retry_after else None)

    @staticmethod
    def _groups(answer: dict[str, Any]) -> list[CostGroup]:
        return [
            CostGroup(key, Decimal(str(group["total"])), int(group["tokens"]))
            for key, group in answer.items()
        ]


class Client(_Base):
    """`client.track_usage(provider=..., model=..., input_tokens=..., output_tokens=...)`."""

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
        self._batcher: EventBatcher | None = None
        self._batcher_lock = threading.Lock()

    @property
    def batcher(self) -> EventBatcher:
        """The background sender of `track_usage(..., background=True)`, made on first use."""
        with self._batcher_lock:
            if self._batcher is None:
                self._batcher = EventBatcher(self._send_batch)
            return self._batcher

    def _send_batch(self, events: list[dict[str, Any]]) -> None:
        self.request("POST", "/track", json={"events": events})

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Send what background tracking still holds, then close the connections."""
        if self._batcher is not None:
            self._batcher.close()
        self._http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Any /v1 call, retried on connection errors, 429 and 5xx."""
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
            return self._result(response)
        raise AssertionError("unreachable")

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
        body = _event(provider, model, input_tokens, output_tokens, fields)
        if background:
            self.batcher.add(body)
            return None
        return TrackedEvent.from_json(self.request("POST", "/track", json=body))

    def track_batch(self, events: list[dict[str, Any]]) -> list[TrackedEvent]:
        """Record up to 1,000 events at once, all or nothing."""
        bodies = [
            _event(e["provider"], e["model"], e["input_tokens"], e.get("output_tokens", 0), e)
            for e in events
        ]
        answer = self.request("POST", "/track", json={"events": bodies})
        return [TrackedEvent.from_json(item) for item in answer["events"]]

    def costs(self, **params: Any) -> list[CostGroup]:
        """`start_date`, `end_date`, `group_by`, `provider`, `model`, `team_id`, `user_id`, `tz`."""
        return self._groups(self.request("GET", "/costs", params=_params(params)))

    def usage(self, **params: Any) -> dict[str, Any]:
        return dict(self.request("GET", "/usage", params=_params(params)))

    def history(self, **params: Any) -> dict[str, Any]:
        return dict(self.request("GET", "/usage/history", params=_params(params)))

    def forecast(self, **params: Any) -> dict[str, Any]:
        return dict(self.request("GET", "/costs/forecast", params=_params(params)))

    def budgets(self) -> list[dict[str, Any]]:
        return list(self.request("GET", "/budgets")["budgets"])

    def create_budget(self, **body: Any) -> dict[str, Any]:
        return dict(self.request("POST", "/budgets", json=body))

    def teams(self) -> list[dict[str, Any]]:
        return list(self.request("GET", "/teams")["teams"])

    def providers(self) -> list[dict[str, Any]]:
        return list(self.request("GET", "/providers")["providers"])

    def webhooks(self) -> list[dict[str, Any]]:
        return list(self.request("GET", "/webhooks")["webhooks"])


class AsyncClient(_Base):
    """The same methods as Client, awaited."""

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
        self._http = httpx.AsyncClient(
            base_url=self.base_url, headers=self._headers, timeout=timeout
        )

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
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
            return self._result(response)
        raise AssertionError("unreachable")

    async def track_usage(
        self,
        provider: str,
        model: str,
        input_tokens: int,
        output_tokens: int = 0,
        **fields: Any,
    ) -> TrackedEvent:
        body = _event(provider, model, input_tokens, output_tokens, fields)
        return TrackedEvent.from_json(await self.request("POST", "/track", json=body))

    async def track_batch(self, events: list[dict[str, Any]]) -> list[TrackedEvent]:
        bodies = [
            _event(e["provider"], e["model"], e["input_tokens"], e.get("output_tokens", 0), e)
            for e in events
        ]
        answer = await self.request("POST", "/track", json={"events": bodies})
        return [TrackedEvent.from_json(item) for item in answer["events"]]

    async def costs(self, **params: Any) -> list[CostGroup]:
        return self._groups(await self.request("GET", "/costs", params=_params(params)))

    async def usage(self, **params: Any) -> dict[str, Any]:
        return dict(await self.request("GET", "/usage", params=_params(params)))

    async def forecast(self, **params: Any) -> dict[str, Any]:
        return dict(await self.request("GET", "/costs/forecast", params=_params(params)))

    async def history(self, **params: Any) -> dict[str, Any]:
        return dict(await self.request("GET", "/usage/history", params=_params(params)))

    async def budgets(self) -> list[dict[str, Any]]:
        return list((await self.request("GET", "/budgets"))["budgets"])

    async def create_budget(self, **body: Any) -> dict[str, Any]:
        return dict(await self.request("POST", "/budgets", json=body))

    async def teams(self) -> list[dict[str, Any]]:
        return list((await self.request("GET", "/teams"))["teams"])

    async def providers(self) -> list[dict[str, Any]]:
        return list((await self.request("GET", "/providers"))["providers"])

    async def webhooks(self) -> list[dict[str, Any]]:
        return list((await self.request("GET", "/webhooks"))["webhooks"])
