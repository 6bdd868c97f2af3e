"""Event types and their live fan-out."""

from __future__ import annotations

from meterr.events.bus import BusMessage, EventBus, Feed, FeedLost, FeedOverflow, org_channel
from meterr.events.delivery_policy import RetryPolicy, signed_headers, webhook_bound_to
from meterr.events.destinations import DestinationRefused, check_destination
from meterr.events.pacing import Pacer
from meterr.events.webhooks import WebhookDispatcher

__all__ = [
    "BusMessage",
    "DestinationRefused",
    "EventBus",
    "Feed",
    "FeedLost",
    "FeedOverflow",
    "Pacer",
    "RetryPolicy",
    "WebhookDispatcher",
    "check_destination",
    "org_channel",
    "signed_headers",
    "webhook_bound_to",
]
