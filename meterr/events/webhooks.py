"""Webhook delivery: how a delivery is signed, and the dispatcher that works through the
outbox with retries."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import SplitResult, urlsplit, urlunsplit

import httpx
from standardwebhooks.webhooks import Webhook

from meterr.auth import Sealer, SealError
from meterr.clock import Clock
from meterr.events.destinations import DestinationRefused, check_destination
from meterr.store import Delivery, DeliveryAttempt, WebhookEndpoint
from meterr.store.webhooks import WebhookStore

__all__ = [
    "RetryPolicy",
    "WebhookDispatcher",
    "signed_headers",
    "webhook_bound_to",
]

log = logging.getLogger(__name__)


def webhook_bound_to(endpoint_id: str) -> str:
    """What a webhook endpoint's sealed secret is bound to."""
    return f"webhook-endpoint:{endpoint_id}"


def signed_headers(secret: str, message_id: str, body: str, at: datetime) -> dict[str, str]:
    """Standard Webhooks headers: receivers verify them with any Standard Webhooks library
    (or HMAC-SHA256 over "id.timestamp.body")."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
        "content-type": "application/json",
        "user-agent": "Meterr-Webhooks/1",
    }


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter, from `base` seconds up to `longest`, until
    `window` seconds after the notification."""

    base: float
    longest: float
    window: float

    def next_attempt(self, delivery: Delivery, now: datetime) -> datetime | None:
        if (now - delivery.created_at).total_seconds() >= self.window:
            return None
        ceiling = min(self.longest, self.base * 2 ** min(delivery.attempt_count, 30))
        wait = ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - jitter, not secrecy
        return now + timedelta(seconds=wait)


class WebhookDispatcher:
    """Works through due deliveries of every organization, one at a time per instance;
    several instances share the work through the store's claims."""

    def __init__(
        self,
        store: WebhookStore,
        policy: RetryPolicy,
        sealer: Sealer,
        *,
        clock: Clock,
        allow_private: bool,
        allowed_ports: Collection[int],
        timeout: float,
        lease: float = 60.0,
        observe: Callable[[str], None] | None = None,
    ) -> None:
        self._store = store
        self._policy = policy
        self._sealer = sealer
        self._clock = clock
        self._allow_private = allow_private
        self._allowed_ports = frozenset(allowed_ports)
        self._timeout = timeout
        self._lease = lease
        self._observe = observe or (lambda _outcome: None)
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Something may be due now."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        async with httpx.AsyncClient(timeout=self._timeout, follow_redirects=False) as http:
            while not stop.is_set():
                try:
                    worked = await self.deliver_due(http)
                except Exception:
                    log.exception("Webhook dispatch failed; retrying.")
                    worked = False
                if not worked:
                    self._wake.clear()
                    waits = [asyncio.create_task(e.wait()) for e in (self._wake, stop)]
                    await asyncio.wait(waits, timeout=1.0, return_when=asyncio.FIRST_COMPLETED)
                    for waiting in waits:
                        waiting.cancel()

    async def deliver_due(self, http: httpx.AsyncClient) -> bool:
        """Deliver one due delivery; False when none was due."""
        now = self._clock.now()
        delivery = await self._store.claim_due_across_tenants(
            now, now + timedelta(seconds=self._lease)
        )
        if delivery is None:
            return False
        endpoint = await self._store.endpoint_for(delivery)
        if endpoint is None:
            attempt = DeliveryAttempt(now, None, "the endpoint was deleted", 0)
            await self._store.record_attempt(
                delivery, attempt, status="cancelled", next_attempt_at=None
            )
            return True
        attempt = await self._attempt(http, endpoint, delivery)
        if attempt.status_code is not None and 200 <= attempt.status_code < 300:
            await self._store.record_attempt(
                delivery, attempt, status="delivered", next_attempt_at=None
            )
            self._observe("delivered")
            return True
        retry_at = self._policy.next_attempt(delivery, attempt.at)
        self._observe("retrying" if retry_at is not None else "failed")
        await self._store.record_attempt(
            delivery,
            attempt,
            status="pending" if retry_at is not None else "failed",
            next_attempt_at=retry_at,
        )
        return True

    async def _attempt(
        self, http: httpx.AsyncClient, endpoint: WebhookEndpoint, delivery: Delivery
    ) -> DeliveryAttempt:
        at = self._clock.now()
        started = time.perf_counter()

        def took() -> int:
            return int((time.perf_counter() - started) * 1000)

        try:
            addresses = await check_destination(
                endpoint.url, allow_private=self._allow_private, allowed_ports=self._allowed_ports
            )
        except DestinationRefused as refused:
            return DeliveryAttempt(at, None, f"refused: {refused}", took())
        body = json.dumps(delivery.payload, separators=(",", ":"))
        try:
            secret = self._sealer.open(endpoint.sealed_secret, webhook_bound_to(endpoint.id))
        except SealError:
            return DeliveryAttempt(
                at,
                None,
                "the signing secret does not open with this instance's key: give every "
                "instance the same METERR_SECRET_KEY",
                took(),
            )
        headers = signed_headers(secret, delivery.notification_id, body, at)
        parts = urlsplit(endpoint.url)
        # Connect to the address just checked, not to whatever the name resolves to next.
        pinned = _with_address(parts, addresses[0])
        headers["host"] = parts.netloc.rpartition("@")[2]
        extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
        try:
            response = await http.post(pinned, content=body, headers=headers, extensions=extensions)
        except httpx.HTTPError as exc:
            return DeliveryAttempt(at, None, f"{type(exc).__name__}: {exc}"[:500], took())
        error = None if response.is_success else f"answered {response.status_code}"
        return DeliveryAttempt(at, response.status_code, error, took())


def _with_address(parts: SplitResult, address: str) -> str:
    host = f"[{address}]" if ":" in address else address
    return urlunsplit(parts._replace(netloc=f"{host}:{parts.port}" if parts.port else host))
