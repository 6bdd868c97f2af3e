"""Event types and their live fan-out."""

from __future__ import annotations

from meterr.events.bus import EventBus, org_channel

__all__ = ["EventBus", "org_channel"]
