"""Domain objects shared by resolvers, store and the two API doors: small and frozen."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from meterr.pricing import CostBreakdown, TokenUsage, nano_to_usd

__all__ = [
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
    "Dimension",
    "MemberRole",
    "Notification",
    "NotificationType",
    "GroupBy",
    "PriceUsed",
    "PricingStatus",
    "UsageEvent",
    "UsageFilter",
    "UsageTotals",
    "local_midnight",
]

# The metadata keys a cost question may group by.
GROUPABLE_METADATA_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")

# The start of "all time", for budgets whose period is total.
_ALL_TIME = datetime(1970, 1, 1, tzinfo=UTC)


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The instant (in UTC) the local `day` starts in `zone`; where a clock change skips
    midnight, the first instant of the day."""
    return datetime.combine(day, time(), zone).astimezone(UTC)


class PricingStatus(enum.StrEnum):
    PRICED = "priced"
    UNPRICED = "unpriced"


@dataclass(frozen=True, slots=True)
class PriceUsed:
    """The price version an event was costed with, after any long-context tier applied."""

    provider: str
    model: str
    effective_from: datetime
    origin: str
    source: str
    input: Decimal
    output: Decimal
    cached_input: Decimal
    cache_write: Decimal
    reasoning: Decimal
    long_context: bool = False


@dataclass(frozen=True, slots=True)
class UsageEvent:
    """One stored usage event: what was called, by whom, and what it cost."""

    id: str
    org_id: str
    event_id: str
    fingerprint: str
    timestamp: datetime
    received_at: datetime
    provider: str
    model: str
    endpoint: str | None
    team_id: str | None
    user_id: str | None
    api_key_id: str
    metadata: dict[str, Any]
    tokens: TokenUsage
    cost: CostBreakdown | None
    price: PriceUsed | None
    # The organization's running number for stored events, in the order they were committed.
    seq: int | None = None
    # The calls the event stands for: one, or the provider's count for an imported day.
    requests: int = 1

    @property
    def pricing_status(self) -> PricingStatus:
        return PricingStatus.UNPRICED if self.cost is None else PricingStatus.PRICED


class Dimension(enum.StrEnum):
    PROVIDER = "provider"
    MODEL = "model"
    TEAM = "team"
    USER = "user"
    ENDPOINT = "endpoint"
    API_KEY = "api_key"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    METADATA = "metadata"

    @property
    def is_time(self) -> bool:
        return self in (Dimension.DAY, Dimension.WEEK, Dimension.MONTH)


@dataclass(frozen=True, slots=True)
class GroupBy:
    """A grouping dimension; metadata groupings name the metadata key."""

    dimension: Dimension
    metadata_key: str | None = None

    @property
    def label(self) -> str:
        if self.dimension is Dimension.METADATA:
            return f"metadata.{self.metadata_key}"
        return self.dimension.value


@dataclass(frozen=True, slots=True)
class UsageFilter:
    """Restrictions shared by every usage and cost query."""

    providers: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    team_ids: tuple[str, ...] = ()
    user_ids: tuple[str, ...] = ()
    api_key_ids: tuple[str, ...] = ()

    def restrictions(self) -> dict[str, tuple[str, ...]]:
        """Stored field name -> allowed values, for each filter that is set."""
        by_field = {
            "provider": self.providers,
            "model": self.models,
            "team_id": self.team_ids,
            "user_id": self.user_ids,
            "api_key_id": self.api_key_ids,
        }
        return {field: values for field, values in by_field.items() if values}


@dataclass(frozen=True, slots=True)
class UsageTotals:
    """Summed usage of a set of events; cost in nano-USD so that sums stay exact."""

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cost_nano: int = 0
    unpriced_requests: int = 0

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def cost(self) -> Decimal:
        return nano_to_usd(self.cost_nano)

    def __add__(self, other: UsageTotals) -> UsageTotals:
        return UsageTotals(
            requests=self.requests + other.requests,
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cached_input_tokens=self.cached_input_tokens + other.cached_input_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
            cost_nano=self.cost_nano + other.cost_nano,
            unpriced_requests=self.unpriced_requests + other.unpriced_requests,
        )


# The event fields a budget may be scoped by.
SCOPE_FIELDS = ("team_id", "user_id", "provider", "model", "api_key_id")


class MemberRole(enum.StrEnum):
    """A member's role in a team: admin (ingest, read, invite), member (ingest, read) or
    viewer (read)."""

    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"


class ConnectionMode(enum.StrEnum):
    """What a provider connection does: import the provider's usage, or reconcile it with
    what was tracked."""

    IMPORT = "import"
    RECONCILE = "reconcile"


class BudgetUnit(enum.StrEnum):
    USD = "usd"
    TOKENS = "tokens"


class BudgetPeriod(enum.StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    TOTAL = "total"


class BudgetAction(enum.StrEnum):
    ALERT = "alert"
    BLOCK = "block"


@dataclass(frozen=True, slots=True)
class BudgetScope:
    """The events a budget counts: those whose `field` equals `value`, or all of them."""

    field: str | None = None
    value: str | None = None

    def covers(self, subject: object) -> bool:
        """Whether an event (or a call about to be made) with these fields counts."""
        return self.field is None or getattr(subject, self.field, None) == self.value

    def usage_filter(self) -> UsageFilter:
        if self.field is None or self.value is None:
            return UsageFilter()
        plural = {"team_id": "team_ids", "user_id": "user_ids", "api_key_id": "api_key_ids"}
        name = plural.get(self.field, f"{self.field}s")
        return UsageFilter(**{name: (self.value,)})


@dataclass(frozen=True, slots=True)
class Budget:
    """A spending limit over a calendar period. `limit` is in the budget's unit: nano-USD
    for usd budgets, tokens for token budgets."""

    id: str
    org_id: str
    name: str
    scope: BudgetScope
    limit: int
    unit: BudgetUnit
    period: BudgetPeriod
    timezone: str
    thresholds: tuple[int, ...]
    action: BudgetAction
    created_at: datetime
    updated_at: datetime

    def period_at(self, moment: datetime) -> tuple[datetime, datetime | None]:
        """The period holding `moment`, on calendar boundaries in the budget's zone: [start,
        end) in UTC, with no end for a total budget."""
        if self.period is BudgetPeriod.TOTAL:
            return _ALL_TIME, None
        zone = ZoneInfo(self.timezone)
        day = moment.astimezone(zone).date()
        if self.period is BudgetPeriod.DAY:
            start, following = day, day + timedelta(days=1)
        elif self.period is BudgetPeriod.WEEK:
            start = day - timedelta(days=day.weekday())
            following = start + timedelta(days=7)
        else:
            start = day.replace(day=1)
            following = (start + timedelta(days=32)).replace(day=1)
        return local_midnight(start, zone), local_midnight(following, zone)

    def period_key(self, start: datetime) -> str:
        """Names the period starting at `start` among the budget's periods."""
        return "total" if self.period is BudgetPeriod.TOTAL else start.isoformat()


@dataclass(frozen=True, slots=True)
class BudgetForecast:
    """Where the budget's spend is heading: its projected total at the end of the period
    (None for a total budget), and the day the limit is forecast to be reached, if it is
    within the period (or the coming year, for a total budget)."""

    projected: int | None
    exceeds_on: date | None


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    """A budget's spend over its current period, in its unit."""

    budget: Budget
    period_start: datetime
    period_end: datetime | None
    current: int
    # Held by reservations not yet settled: counted against the limit when granting more.
    reserved: int = 0
    forecast: BudgetForecast | None = None

    @property
    def percent(self) -> Decimal:
        """Spent share of the limit (always above zero), to the hundredth of a percent."""
        return (Decimal(self.current) * 100 / self.budget.limit).quantize(Decimal("0.01"))

    @property
    def exceeded(self) -> bool:
        return self.current >= self.budget.limit

    @property
    def remaining(self) -> int:
        """What may still be spent or reserved."""
        return max(0, self.budget.limit - self.current - self.reserved)

    @property
    def period_key(self) -> str:
        """Names the period among the budget's periods."""
        return self.budget.period_key(self.period_start)


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
