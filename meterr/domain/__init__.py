"""Domain objects shared by resolvers, store and the two API doors: small and frozen."""

from __future__ import annotations

from meterr.domain.budgets import (
    SCOPE_FIELDS,
    Budget,
    BudgetAction,
    BudgetForecast,
    BudgetPeriod,
    BudgetScope,
    BudgetStatus,
    BudgetUnit,
)
from meterr.domain.notifications import DeliveryStatus, Notification, NotificationType
from meterr.domain.organizations import ConnectionMode, InvitationStatus, MemberRole
from meterr.domain.usage import (
    GROUPABLE_METADATA_KEY,
    CostBreakdown,
    Dimension,
    GroupBy,
    Interval,
    PriceOrigin,
    PriceUsed,
    PricingStatus,
    Ranking,
    TimeRange,
    UsageEvent,
    UsageFilter,
    UsageTotals,
    local_midnight,
)

__all__ = [
    "DeliveryStatus",
    "InvitationStatus",
    "PriceOrigin",
    "GROUPABLE_METADATA_KEY",
    "SCOPE_FIELDS",
    "Budget",
    "BudgetAction",
    "BudgetForecast",
    "BudgetPeriod",
    "BudgetScope",
    "BudgetStatus",
    "BudgetUnit",
    "ConnectionMode",
    "CostBreakdown",
    "Dimension",
    "GroupBy",
    "Interval",
    "MemberRole",
    "Notification",
    "NotificationType",
    "PriceUsed",
    "PricingStatus",
    "Ranking",
    "TimeRange",
    "UsageEvent",
    "UsageFilter",
    "UsageTotals",
    "local_midnight",
]
