"""Answers about usage, costs, forecasts and prices."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import Field, RootModel

from meterr.rest_compat.answers.base import Answer, ExactUsd, Usd

__all__ = [
    "CostSeriesAnswer",
    "BacktestAnswer",
    "CostsAnswer",
    "EventAnswer",
    "ForecastAnswer",
    "HistoryAnswer",
    "MetadataKeysAnswer",
    "OtlpAnswer",
    "PriceAnswer",
    "PriceImportAnswer",
    "PricesAnswer",
    "RepriceAnswer",
    "TrackBatchAnswer",
    "TrackedAnswer",
    "UsageAnswer",
]


class Totals(Answer):
    requests: int
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    tokens: int
    cost: Usd
    cost_exact: ExactUsd
    unpriced_requests: int = Field(description="Requests with no known price (cost 0 in sums)")


class CostBreakdown(Answer):
    input: Usd
    output: Usd
    cache_read: Usd
    cache_write: Usd
    reasoning: Usd


class PriceApplied(Answer):
    """The catalogue entry that priced the event: rates are decimal strings, USD per 1M."""

    provider: str
    model: str
    effective_from: datetime
    origin: str
    source: str
    long_context: bool
    unit: Literal["USD per 1M tokens"]
    input: str
    output: str
    cached_input: str
    cache_write: str
    reasoning: str


class EventAnswer(Answer):
    """A stored usage event with its exact cost (null when no price was known)."""

    id: str
    event_id: str
    timestamp: datetime
    provider: str
    model: str
    endpoint: str | None
    team_id: str | None
    user_id: str | None
    api_key_id: str | None
    metadata: dict[str, Any]
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    cost: Usd | None
    cost_exact: ExactUsd | None
    currency: Literal["USD"]
    cost_breakdown: CostBreakdown | None
    pricing_status: Literal["priced", "unpriced"]
    price: PriceApplied | None


class TrackedEvent(EventAnswer):
    replayed: bool = Field(description="The event_id was stored before: nothing new was stored")


class BudgetFlags(Answer):
    over_budget: bool = Field(description="A budget covering the event is spent")
    over_budget_ids: list[str]


class TrackedAnswer(TrackedEvent, BudgetFlags):
    """The stored event."""


class TrackBatchAnswer(BudgetFlags):
    """The stored events, in the order sent."""

    events: list[TrackedEvent]
    count: int
    replayed: int


class UsageAnswer(Totals):
    """Totals over the range, and per provider."""

    start: datetime
    end: datetime
    providers: dict[str, Totals]


class SeriesPoint(Totals):
    start: datetime


class HistoryAnswer(Answer):
    """A gap-free series over the range and a page of its events, newest first."""

    start: datetime
    end: datetime
    interval: Literal["hour", "day", "week", "month"]
    series: list[SeriesPoint]
    events: list[EventAnswer]
    next_cursor: str | None


class CostGroup(Answer):
    total: Usd
    total_exact: ExactUsd
    tokens: int
    name: str | None = Field(None, description="A team's name (team groups of known teams)")
    deleted: bool | None = Field(None, description="Whether the team was deleted")


class CostsAnswer(RootModel[dict[str, CostGroup]]):
    """Each group's cost and tokens, by the group's key: `{"openai": {"total", "tokens"}}`."""


class SeriesGroup(Answer):
    total: Usd
    total_exact: ExactUsd
    tokens: int
    requests: int


class SeriesPointAnswer(Answer):
    start: datetime
    groups: dict[str, SeriesGroup] = Field(description="Each of `keys`, in their order")


class CostSeriesAnswer(Answer):
    """Costs per interval and group: the largest groups over the range, the rest summed
    as "(other)"."""

    start: datetime
    end: datetime
    interval: Literal["hour", "day", "week", "month"]
    group_by: str
    keys: list[str] = Field(description="The groups kept, largest first, then (other)")
    points: list[SeriesPointAnswer]


class MetadataKey(Answer):
    key: str
    state: str
    rolled_up: bool
    values: int


class MetadataKeysAnswer(Answer):
    """The metadata keys seen, and whether each is rolled up."""

    keys: list[MetadataKey]
    complete: bool
    limits: dict[str, int]


class Band(Answer):
    low80: float
    high80: float
    low95: float
    high95: float


class DayCost(Answer):
    date: date
    cost: float


class DayForecast(Band):
    date: date
    cost: float


class MonthEnd(Band):
    expected: float


class Series(Answer):
    method: str
    history_days: int
    history: list[DayCost]
    forecast: list[DayForecast]
    month_to_date: float
    month_end: MonthEnd


class ForecastAnswer(Series):
    """USD per day ahead with 80% and 95% prediction intervals, and the month's total."""

    horizon: int
    today: date
    timezone: str
    history_start: date
    currency: Literal["USD"]
    group_by: str | None = None
    groups: dict[str, Series] | None = None


class BacktestAnswer(Answer):
    """The forecast's accuracy over past days; fractions, null with nothing to measure."""

    days: int
    mape: float | None
    bias: float | None
    coverage80: float | None
    coverage95: float | None


class LongContextRates(Answer):
    above_input_tokens: int
    input: str
    output: str
    cached_input: str
    cache_write: str
    reasoning: str


class PriceAnswer(Answer):
    """A model's price: decimal strings, USD per million tokens."""

    provider: str
    model: str
    effective_from: datetime
    origin: str
    source: str
    source_date: date
    unit: Literal["USD per 1M tokens"]
    input: str
    output: str
    cached_input: str
    cache_write: str
    reasoning: str
    long_context: LongContextRates | None


class PricesAnswer(Answer):
    """The prices in force now."""

    prices: list[PriceAnswer]


class RepriceLine(Answer):
    provider: str
    model: str
    events: int
    changed: int
    old_cost: Usd
    new_cost: Usd
    difference: Usd
    unpriced_before: int
    unpriced_after: int


class RepriceAnswer(Answer):
    """What repricing changed (or would change, in a dry run), per model."""

    applied: bool
    changed: int
    models: list[RepriceLine]


class ModelName(Answer):
    provider: str
    model: str


class PriceImportAnswer(Answer):
    """The models imported as overrides, and the entries left out."""

    dry_run: bool
    imported: list[ModelName]
    skipped: dict[str, str] = Field(description="Each entry left out, and why")
    repriced: int


class OtlpOutcome(Answer):
    stored: int
    replayed: int
    ignored: int = Field(description="Spans that are not generative AI calls")


class OtlpAnswer(Answer):
    """OTLP/HTTP's answer (protobuf to protobuf requests), and what Meterr stored."""

    partialSuccess: dict[str, Any]
    meterr: OtlpOutcome
