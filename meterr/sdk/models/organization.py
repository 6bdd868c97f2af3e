"""Budgets, teams, provider connections and webhooks as the SDK returns them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from meterr.sdk.models.base import ApiObject
from meterr.sdk.models.usage import Price

__all__ = [
    "Budget",
    "BudgetCheck",
    "BudgetForecast",
    "Connection",
    "Delivery",
    "DeliveryAttempt",
    "Invitation",
    "Membership",
    "Provider",
    "Reservation",
    "SyncReport",
    "Team",
    "TeamMember",
    "TeamRef",
    "TeamSpend",
    "Webhook",
]


class BudgetForecast(ApiObject):
    period_end: Decimal | None
    exceeds_on: date | None


class Budget(ApiObject):
    """A budget and its spend over the current period; amounts are USD, or tokens for a
    token budget."""

    id: str
    name: str
    team_id: str | None = None
    user_id: str | None = None
    provider: str | None = None
    model: str | None = None
    api_key_id: str | None = None
    limit: Decimal
    unit: str
    period: str
    timezone: str
    thresholds: list[Decimal]
    action: str
    current: Decimal
    reserved: Decimal
    remaining: Decimal
    percent: float
    exceeded: bool
    period_start: datetime
    period_end: datetime | None
    forecast: BudgetForecast | None = None
    created_at: datetime
    updated_at: datetime


class BudgetCheck(ApiObject):
    allowed: bool
    blocking: list[str]
    budgets: list[Budget]


class Reservation(ApiObject):
    """Granted (`reservation_id`, `expires_at`) or refused by `budget_id`."""

    allowed: bool
    reservation_id: str | None = None
    expires_at: datetime | None = None
    budget_id: str | None = None
    limit: Decimal | None = None
    current: Decimal | None = None
    reserved: Decimal | None = None
    unit: str | None = None


class TeamMember(ApiObject):
    id: str
    email: str
    role: str
    joined_at: datetime


class TeamSpend(ApiObject):
    total: Decimal
    tokens: int
    requests: int


class Team(ApiObject):
    id: str
    name: str
    description: str | None
    created_at: datetime
    updated_at: datetime
    members: list[TeamMember]
    spend_this_month: TeamSpend


class Invitation(ApiObject):
    """A pending invitation; `token` is what the invitee accepts with."""

    id: str
    team_id: str
    email: str
    role: str
    status: str
    created_at: datetime
    expires_at: datetime
    token: str


class TeamRef(ApiObject):
    id: str
    name: str


class Membership(ApiObject):
    """An accepted invitation: the member, its team, and its API key (shown only here)."""

    team: TeamRef
    member: TeamMember
    api_key: str


class Connection(ApiObject):
    """A provider connection; of its credential, only the last four characters."""

    id: str
    provider: str
    name: str
    mode: str
    options: dict[str, Any]
    api_key: str
    created_at: datetime
    last_sync_at: datetime | None
    last_sync_status: str | None
    last_sync_error: str | None


class SyncReport(ApiObject):
    connection: Connection
    start: datetime
    end: datetime
    rows: int
    imported: int
    already_imported: int
    open_buckets: int


class Provider(ApiObject):
    name: str
    connectable: bool
    connected: bool
    connections: list[Connection]
    models: list[Price]


class Webhook(ApiObject):
    """A webhook endpoint; its signing `secret` only in the answer to its creation."""

    id: str
    url: str
    events: list[str]
    description: str | None
    created_at: datetime
    secret: str | None = None


class DeliveryAttempt(ApiObject):
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int | None


class Delivery(ApiObject):
    id: str
    webhook_id: str
    event_id: str
    event: str
    status: str
    attempt_count: int
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None
    attempts: list[DeliveryAttempt]
    payload: dict[str, Any]
