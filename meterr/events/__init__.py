"""Event types and their live fan-out."""

from __future__ import annotations

from meterr.events.bus import BusMessage, EventBus, Feed, FeedLost, FeedOverflow, org_channel

__all__ = ["BusMessage", "EventBus", "Feed", "FeedLost", "FeedOverflow", "org_channel"]
