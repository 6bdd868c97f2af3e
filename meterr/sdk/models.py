"""What the SDK returns: the API's JSON answers as typed, immutable objects.

Amounts are `Decimal`, read from the JSON text itself so that no binary float ever stands in
between. Fields a newer server adds are kept (reachable as attributes and in `model_extra`)
rather than refused, so that an older SDK keeps working against a newer Meterr.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Backtest",
    "Budget",
    "BudgetCheck",
    "BudgetForecast",
    "Connection",
    "CostForecast",
    "CostGroup",
    "DayForecast",
    "Delivery",
    "DeliveryAttempt",
    "EventPage",
    "ForecastSeries",
    "Invitation",
    "Membership",
    "MonthProjection",
    "Price",
    "PriceImport",
    "PriceRef",
    "Provider",
    "RepriceLine",
    "RepriceReport",
    "Reservation",
    "SyncReport",
    "Team",
    "TeamMember",
    "TrackedBatch",
    "TrackedEvent",
    "UsageEvent",
    "UsagePoint",
    "UsageSummary",
    "UsageTotals",
    "Webhook",
]


class ApiObject(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class CostBreakdown(ApiObject):
    input: Decimal
    output: Decimal
    cache_read: Decimal
    cache_write: Decimal
    reasoning: Decimal


class UsageEvent(ApiObject):
    """A stored usage event; `cost` is None while it is unpriced."""

    id: str
    event_id: str
    timestamp: datetime
    provider: str
    model: str
    endpoint: str | None = None
    team_id: str | None = None
    user_id: str | None = None
    api_key_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cost: Decimal | None
    cost_breakdown: CostBreakdown | None = None
    pricing_status: str


class TrackedEvent(UsageEvent):
    """The answer to a track call: the stored event, and whether it had been stored before
    (a replay of the same event_id or Idempotency-Key, counted once)."""

    replayed: bool = False
    over_budget: bool = False
    over_budget_ids: list[str] = Field(default_factory=list)


class TrackedBatch(ApiObject):
    """The answer to a batch: each event in order, how many were replays, and the budgets
    the batch's spend put over their limit."""

    events: list[TrackedEvent]
    count: int
    replayed: int
    over_budget: bool = False
    over_budget_ids: list[str] = Field(default_factory=list)


class UsageTotals(ApiObject):
    requests: int
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    tokens: int
    cost: Decimal
    unpriced_requests: int


class UsageSummary(UsageTotals):
    start: datetime
    end: datetime
    providers: dict[str, UsageTotals]


class UsagePoint(UsageTotals):
    start: datetime


class EventPage(ApiObject):
    """One page of usage history: the series over the range, and events newest first."""

    start: datetime
    end: datetime
    interval: str
    series: list[UsagePoint]
    events: list[UsageEvent]
    next_cursor: str | None


class CostGroup(ApiObject):
    """One group of a costs answer (`key` is the provider, model, team, user or day);
    `name` and `deleted` are set for teams."""

    key: str
    total: Decimal
    tokens: int
    name: str | None = None
    deleted: bool | None = None


class DayForecast(ApiObject):
    date: date
    cost: Decimal
    low80: Decimal
    high80: Decimal
    low95: Decimal
    high95: Decimal


class MonthProjection(ApiObject):
    expected: Decimal
    low80: Decimal
    high80: Decimal
    low95: Decimal
    high95: Decimal


class HistoryDay(ApiObject):
    date: date
    cost: Decimal


class ForecastSeries(ApiObject):
    method: str
    history_days: int
    history: list[HistoryDay]
    forecast: list[DayForecast]
    month_to_date: Decimal
    month_end: MonthProjection


class CostForecast(ForecastSeries):
    """The organization's forecast, and each group's in `groups` when grouped."""

    horizon: int
    today: date
    timezone: str = "UTC"
    history_start: date
    currency: str
    group_by: str | None = None
    groups: dict[str, ForecastSeries] = Field(default_factory=dict)


class Backtest(ApiObject):
    """How past forecasts did; fractions (0.085 is 8.5%), None where nothing was measured."""

    days: int
    mape: float | None
    bias: float | None
    coverage80: float | None
    coverage95: float | None


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


class Price(ApiObject):
    """USD per 1M tokens, in force from `effective_from`; origin is the catalogue or the
    organization's own."""

    provider: str
    model: str
    effective_from: datetime
    origin: str
    source: str | None
    source_date: date | None = None
    input: Decimal
    output: Decimal
    cached_input: Decimal
    cache_write: Decimal
    reasoning: Decimal


class Provider(ApiObject):
    name: str
    connectable: bool
    connected: bool
    connections: list[Connection]
    models: list[Price]


class RepriceLine(ApiObject):
    provider: str
    model: str
    events: int
    changed: int
    old_cost: Decimal
    new_cost: Decimal
    difference: Decimal
    unpriced_before: int
    unpriced_after: int


class RepriceReport(ApiObject):
    applied: bool
    changed: int
    models: list[RepriceLine]


class PriceRef(ApiObject):
    provider: str
    model: str


class PriceImport(ApiObject):
    """What a price file import did: the models it priced and, by entry, what it skipped
    and why; `repriced` counts the unpriced events it priced."""

    dry_run: bool
    imported: list[PriceRef]
    skipped: dict[str, str]
    repriced: int


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
