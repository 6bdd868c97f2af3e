"""How a webhook delivery is sent and tried again: its Standard Webhooks signature, and the
backoff between attempts."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from standardwebhooks.webhooks import Webhook

from meterr.store import Delivery
from meterr.store.webhook_lanes import PAUSE_AFTER

__all__ = ["RetryPolicy", "signed_headers", "webhook_bound_to"]


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
        if self.expired(delivery, now):
            return None
        return now + timedelta(seconds=self._wait(delivery.attempt_count))

    def expired(self, delivery: Delivery, now: datetime) -> bool:
        return (now - delivery.created_at).total_seconds() >= self.window

    def pause(self, failures: int, now: datetime) -> datetime:
        """When a paused lane tries again, after `failures` failed attempts in a row."""
        return now + timedelta(seconds=self._wait(failures - PAUSE_AFTER))

    def _wait(self, tries: int) -> float:
        ceiling = min(self.longest, self.base * float(2 ** min(max(tries, 0), 30)))
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - jitter, not secrecy
