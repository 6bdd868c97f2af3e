"""The documented JSON answers of /v1, as models: /v1/openapi.json is generated from them.

Amounts are USD numbers rounded half-even to six decimals; instants are RFC 3339 in UTC
with a Z; days are YYYY-MM-DD. Every answer lists all its fields (`additionalProperties`
is false), so that a field added to an answer without its model fails the contract test."""

from __future__ import annotations

from meterr.rest_compat.answers.alerts import (
    BudgetAnswer,
    BudgetCheckAnswer,
    BudgetsAnswer,
    DeliveriesAnswer,
    DeliveryAnswer,
    NotificationAnswer,
    NotificationsAnswer,
    ReservationAnswer,
    WebhookAnswer,
    WebhooksAnswer,
)
from meterr.rest_compat.answers.base import (
    ErrorAnswer,
)
from meterr.rest_compat.answers.organizations import (
    ConnectionAnswer,
    InvitationAnswer,
    JoinedAnswer,
    MemberAnswer,
    ProviderAnswer,
    ProvidersAnswer,
    ReconciliationAnswer,
    SyncAnswer,
    TeamAnswer,
    TeamsAnswer,
)
from meterr.rest_compat.answers.usage import (
    BacktestAnswer,
    CostsAnswer,
    CostSeriesAnswer,
    EventAnswer,
    ForecastAnswer,
    HistoryAnswer,
    MetadataKeysAnswer,
    OtlpAnswer,
    PriceAnswer,
    PriceImportAnswer,
    PricesAnswer,
    RepriceAnswer,
    TrackBatchAnswer,
    TrackedAnswer,
    UsageAnswer,
)

__all__ = [
    "BacktestAnswer",
    "BudgetAnswer",
    "BudgetCheckAnswer",
    "BudgetsAnswer",
    "ConnectionAnswer",
    "CostSeriesAnswer",
    "CostsAnswer",
    "DeliveriesAnswer",
    "DeliveryAnswer",
    "ErrorAnswer",
    "EventAnswer",
    "ForecastAnswer",
    "HistoryAnswer",
    "InvitationAnswer",
    "JoinedAnswer",
    "MemberAnswer",
    "MetadataKeysAnswer",
    "NotificationAnswer",
    "NotificationsAnswer",
    "OtlpAnswer",
    "PriceAnswer",
    "PriceImportAnswer",
    "PricesAnswer",
    "ProviderAnswer",
    "ProvidersAnswer",
    "ReconciliationAnswer",
    "RepriceAnswer",
    "ReservationAnswer",
    "SyncAnswer",
    "TeamAnswer",
    "TeamsAnswer",
    "TrackBatchAnswer",
    "TrackedAnswer",
    "UsageAnswer",
    "WebhookAnswer",
    "WebhooksAnswer",
]
