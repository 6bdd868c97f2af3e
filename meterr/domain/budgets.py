"""Budgets: a limit on spend or tokens over a period, scoped to part of an organization."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from meterr.domain.usage import UsageFilter, local_midnight

__all__ = [
    "SCOPE_FIELDS",
    "Budget",
    "BudgetAction",
    "BudgetForecast",
    "BudgetPeriod",
    "BudgetScope",
    "BudgetStatus",
    "BudgetUnit",
]

# The start of "all time", for budgets whose period is total.
_ALL_TIME = datetime(1970, 1, 1, tzinfo=UTC)

# The event fields a budget may be scoped by.
SCOPE_FIELDS = ("team_id", "user_id", "provider", "model", "api_key_id")


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
