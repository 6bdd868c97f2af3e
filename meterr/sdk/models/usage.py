"""Usage, costs, forecasts and prices as the SDK returns them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import Field

from meterr.sdk.models.base import ApiObject

__all__ = [
    "Backtest",
    "CostBreakdown",
    "CostForecast",
    "CostGroup",
    "DayForecast",
    "EventPage",
    "ForecastSeries",
    "HistoryDay",
    "MonthProjection",
    "Price",
    "PriceImport",
    "PriceRef",
    "RepriceLine",
    "RepriceReport",
    "TrackedBatch",
    "TrackedEvent",
    "UsageEvent",
    "UsagePoint",
    "UsageSummary",
    "UsageTotals",
]


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
