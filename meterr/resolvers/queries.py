"""The typed questions of read operations: one model per kind of query, its defaults and
bounds declared once, validated from a REST query string and from GraphQL arguments alike."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from meterr.domain import GroupBy, Interval, Ranking, TimeRange, UsageFilter
from meterr.resolvers.costs import parse_group_by, parse_usage_filter
from meterr.resolvers.forecasts import MAX_BACKTEST_DAYS, MAX_HORIZON
from meterr.resolvers.history import MAX_PAGE
from meterr.resolvers.inputs import MAX_ESTIMATED_COST, MAX_TOKENS, CallScopeInput
from meterr.resolvers.notifications import MAX_NOTIFICATIONS_PAGE
from meterr.resolvers.series import DEFAULT_SERIES_GROUPS, MAX_SERIES_GROUPS
from meterr.resolvers.timerange import parse_day, parse_time_range, parse_zone
from meterr.resolvers.webhooks import MAX_DELIVERIES_PAGE

__all__ = [
    "DEFAULT_INTERVAL",
    "DEFAULT_TOLERANCE",
    "BacktestQuery",
    "BudgetCheckQuery",
    "CostQuery",
    "DeliveriesQuery",
    "FilteredQuery",
    "ForecastQuery",
    "HistoryQuery",
    "NoQuery",
    "NotificationsQuery",
    "PageQuery",
    "PriceImportQuery",
    "PricesQuery",
    "ReconcileQuery",
    "SeriesQuery",
    "UsageQuery",
]

DEFAULT_INTERVAL = Interval.DAY
DEFAULT_TOLERANCE = Decimal(5)  # percent by which tracked and reported usage may differ

Bound = Annotated[
    str,
    Field(
        max_length=64,
        description="YYYY-MM-DD (a whole local day; the end day is included) or an RFC 3339 "
        "instant",
    ),
]
ValueList = Annotated[
    str, Field(max_length=4096, description="One value, or a comma-separated list")
]
Zone = Annotated[
    str, Field(max_length=64, description="IANA time zone of day boundaries (default UTC)")
]
Cursor = Annotated[str, Field(max_length=512, description="From the previous page's answer")]
Identifier = Annotated[str, Field(min_length=1, max_length=256)]


class NoQuery(BaseModel):
    """An operation that takes no query parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class RangeQuery(NoQuery):
    start_date: Bound | None = Field(None, description="Default: the first day of this month")
    end_date: Bound | None = Field(None, description="Default: today")
    tz: Zone | None = None

    def time_range(self, *, now: datetime) -> TimeRange:
        return parse_time_range(self.start_date, self.end_date, self.tz, now=now)


class FilterFields(NoQuery):
    """Which events count: each a value or a comma-separated list of them."""

    provider: ValueList | None = None
    model: ValueList | None = None
    team_id: ValueList | None = None
    user_id: ValueList | None = None

    def usage_filter(self) -> UsageFilter:
        return parse_usage_filter(
            provider=self.provider, model=self.model, team_id=self.team_id, user_id=self.user_id
        )


class FilteredQuery(RangeQuery, FilterFields):
    """A range of time and which events in it count."""


class CostQuery(FilteredQuery):
    group_by: (
        Annotated[
            str,
            Field(
                max_length=80,
                description="provider, model, team, user, endpoint, api_key, day, week, "
                "month or metadata.KEY (default provider)",
            ),
        ]
        | None
    ) = None

    def grouping(self) -> GroupBy:
        return parse_group_by(self.group_by)


class UsageQuery(FilteredQuery):
    pass


class HistoryQuery(FilteredQuery):
    interval: Interval = Field(DEFAULT_INTERVAL, description="The series' step")
    limit: int = Field(100, ge=1, le=MAX_PAGE, description="Events per page")
    cursor: Cursor | None = None


class SeriesQuery(FilteredQuery):
    group_by: Annotated[
        str,
        Field(
            max_length=80,
            description="provider, model, team, user, endpoint, api_key or metadata.KEY",
        ),
    ] = "provider"
    interval: Interval = Field(DEFAULT_INTERVAL, description="The series' step")
    first: int = Field(
        DEFAULT_SERIES_GROUPS,
        ge=1,
        le=MAX_SERIES_GROUPS,
        description="The largest groups kept; the others are summed as (other)",
    )
    order_by: Ranking = Field(
        Ranking.COST, description="What makes a group large: cost, tokens or requests"
    )

    def grouping(self) -> GroupBy:
        return parse_group_by(self.group_by)


class ForecastQuery(FilterFields):
    start_date: (
        Annotated[
            str,
            Field(
                max_length=64,
                description="YYYY-MM-DD: the first day of history to learn from (default: as "
                "far back as it helps)",
            ),
        ]
        | None
    ) = None
    tz: Zone | None = None
    horizon: int = Field(30, ge=1, le=MAX_HORIZON, description="Days ahead")
    group_by: Annotated[str, Field(max_length=80, description="Forecast each group too")] | None = (
        None
    )

    def grouping(self) -> GroupBy | None:
        return parse_group_by(self.group_by) if self.group_by else None

    def history_start(self) -> date | None:
        return parse_day(self.start_date, "start_date") if self.start_date else None

    def zone(self) -> ZoneInfo:
        return parse_zone(self.tz)


class BacktestQuery(NoQuery):
    days: int = Field(30, ge=1, le=MAX_BACKTEST_DAYS, description="Days of history to replay")


class PageQuery(NoQuery):
    limit: int = Field(100, ge=1, le=MAX_PAGE)
    cursor: Cursor | None = None


class NotificationsQuery(NoQuery):
    limit: int = Field(100, ge=1, le=MAX_NOTIFICATIONS_PAGE)
    cursor: Cursor | None = None
    type: (
        Annotated[str, Field(max_length=512, description="Comma-separated notification types")]
        | None
    ) = None

    def types(self) -> list[str]:
        return [t.strip() for t in (self.type or "").split(",") if t.strip()]


class DeliveriesQuery(NoQuery):
    limit: int = Field(50, ge=1, le=MAX_DELIVERIES_PAGE)
    before: Identifier | None = Field(None, description="A delivery id: the page after it")


class BudgetCheckQuery(CallScopeInput):
    """A call about to be made, as a query string: integers may arrive as text."""

    estimated_cost: (
        Annotated[
            Decimal,
            Field(
                ge=0,
                le=MAX_ESTIMATED_COST,
                decimal_places=9,
                allow_inf_nan=False,
                description="USD the call may cost",
            ),
        ]
        | None
    ) = None
    estimated_tokens: (
        Annotated[int, Field(ge=0, le=MAX_TOKENS, description="Tokens the call may use")] | None
    ) = None


class PricesQuery(NoQuery):
    provider: Annotated[str, Field(max_length=64)] | None = None


class PriceImportQuery(NoQuery):
    dry_run: bool = Field(False, description="Say what would be imported, import nothing")


class ReconcileQuery(RangeQuery):
    tolerance: Decimal = Field(
        DEFAULT_TOLERANCE,
        ge=0,
        le=100,
        decimal_places=6,
        allow_inf_nan=False,
        description="Percent by which a day's tracked and reported cost may differ",
    )
