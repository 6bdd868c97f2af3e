"""Notifications: what feeds, webhooks and the events list tell."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["DeliveryStatus", "Notification", "NotificationType"]


class NotificationType(enum.StrEnum):
    """What a notification tells: feeds, webhooks and the events list name these."""

    USAGE_TRACKED = "usage.tracked"
    THRESHOLD_REACHED = "budget.threshold_reached"
    FORECAST_EXCEEDED = "budget.forecast_exceeded"
    USAGE_EXCEEDED = "usage.exceeded"
    MEMBER_JOINED = "team.member_joined"

    @classmethod
    def alerts(cls) -> tuple[NotificationType, ...]:
        """The notifications a budget raises."""
        return (cls.THRESHOLD_REACHED, cls.FORECAST_EXCEEDED, cls.USAGE_EXCEEDED)


class DeliveryStatus(enum.StrEnum):
    """Where a webhook delivery stands: pending until delivered, failed once its retries ran
    out, cancelled when its endpoint was deleted."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Notification:
    """Something that happened, as feeds and webhooks deliver it: `seq` orders an
    organization's notifications as they were stored."""

    id: str
    org_id: str
    type: NotificationType
    data: dict[str, Any]
    created_at: datetime
    seq: int
