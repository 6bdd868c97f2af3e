"""The domain's enums as GraphQL enums: registered here once, and used as they are."""

from __future__ import annotations

import strawberry

from meterr.domain import (
    BudgetAction,
    BudgetPeriod,
    BudgetUnit,
    ConnectionMode,
    DeliveryStatus,
    Interval,
    InvitationStatus,
    MemberRole,
    NotificationType,
    PriceOrigin,
    PricingStatus,
    Ranking,
)
from meterr.domain import Dimension as CostDimension
from meterr.resolvers import KeyOperation, KeyRole, Tier

__all__ = [
    "BudgetAction",
    "BudgetPeriod",
    "BudgetUnit",
    "ConnectionMode",
    "CostDimension",
    "DeliveryStatus",
    "InvitationStatus",
    "NotificationType",
    "PriceOrigin",
    "PricingStatus",
    "Ranking",
    "Interval",
    "KeyOperation",
    "KeyRole",
    "MemberRole",
    "Tier",
]

strawberry.enum(BudgetUnit, description="What a budget's limit counts.")
strawberry.enum(BudgetPeriod, description="When a budget's spend starts again from zero.")
strawberry.enum(BudgetAction, description="What reaching the limit does: alert, or block calls.")
strawberry.enum(
    CostDimension,
    name="CostDimension",
    description="What to group costs by; METADATA needs metadataKey.",
)
strawberry.enum(MemberRole, description="A member's role in their team.")
strawberry.enum(ConnectionMode, description="What a provider connection does.")
strawberry.enum(PricingStatus, description="Whether a price was found for the event's model.")
strawberry.enum(PriceOrigin, description="Where a price came from.")
strawberry.enum(DeliveryStatus, description="Where a webhook delivery stands.")
strawberry.enum(InvitationStatus, description="Where an invitation stands.")
strawberry.enum(
    NotificationType,
    description="What a notification tells (as webhooks name it: USAGE_EXCEEDED is "
    "usage.exceeded).",
)
strawberry.enum(Interval, description="The step of a usage time series, in its range's zone.")
strawberry.enum(Ranking, description="What ranks groups, largest first (ties by the others).")
strawberry.enum(KeyRole, name="KeyRole", description="What an API key is for.")
strawberry.enum(KeyOperation, name="KeyOperation", description="What a key's role may do.")
strawberry.enum(Tier, description="An organization's plan: its hourly request budget.")
