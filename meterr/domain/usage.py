"""Usage: the events clients report, how they are filtered and grouped, and their totals."""

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
    "CostBreakdown",
    "Dimension",
    "GroupBy",
    "PriceOrigin",
    "PriceUsed",
    "PricingStatus",
    "Ranking",
    "TimeRange",
    "UsageEvent",
    "UsageFilter",
    "UsageTotals",
    "local_midnight",
]

# The metadata keys a cost question may group by.
GROUPABLE_METADATA_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The instant (in UTC) the local `day` starts in `zone`; where a clock change skips
    midnight, the first instant of the day."""
    return datetime.combine(day, time(), zone).astimezone(UTC)


class PricingStatus(enum.StrEnum):
    PRICED = "priced"
    UNPRICED = "unpriced"


class PriceOrigin(enum.StrEnum):
    """Where a price came from: the catalogue, or the organization's own override."""

    CATALOGUE = "catalogue"
    OVERRIDE = "override"


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


class Ranking(enum.StrEnum):
    """What ranks groups, largest first: cost, tokens or requests (ties by the others)."""

    COST = "cost"
    TOKENS = "tokens"
    REQUESTS = "requests"


class Interval(enum.StrEnum):
    """The step of a usage time series, in the zone of its range."""

    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


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


@dataclass(frozen=True, slots=True)
class TimeRange:
    """[start, end) in UTC, with the zone its calendar boundaries are drawn in."""

    start: datetime
    end: datetime
    zone: ZoneInfo

    def is_hour_aligned(self) -> bool:
        """Whether hourly rollups can answer this range exactly."""
        return all(
            moment.minute == 0 and moment.second == 0 and moment.microsecond == 0
            for moment in (self.start, self.end)
        )

    def whole_hours(self) -> TimeRange | None:
        """The whole UTC hours inside the range, or None if it holds none."""
        start = self.start.replace(minute=0, second=0, microsecond=0)
        if start < self.start:
            start += timedelta(hours=1)
        end = self.end.replace(minute=0, second=0, microsecond=0)
        return TimeRange(start, end, self.zone) if start < end else None

    def hours_holding_a_local_midnight(self) -> list[datetime]:
        """The whole UTC hours inside the range in which a local day begins after the hour's
        start (in a zone such as Asia/Kolkata): each holds the end of one local day and the
        start of the next."""
        hours: list[datetime] = []
        day = self.start.astimezone(self.zone).date()
        last = self.end.astimezone(self.zone).date()
        while day <= last:
            midnight = local_midnight(day, self.zone)
            hour = midnight.replace(minute=0, second=0, microsecond=0)
            if hour != midnight and self.start <= hour and hour + timedelta(hours=1) <= self.end:
                hours.append(hour)
            day += timedelta(days=1)
        return hours

    def zone_offsets_divide(self, period: timedelta) -> bool:
        """Whether the zone's offset stays a multiple of `period` over the range: with an
        hour, local hours are UTC hours; with a day, local days are UTC days."""
        probe = self.start
        while True:
            offset = probe.astimezone(self.zone).utcoffset() or timedelta()
            if offset % period:
                return False
            if probe >= self.end:
                return True
            probe = min(probe + timedelta(days=1), self.end)
