"""The cost forecast in GraphQL, a thin call into resolvers/."""

from __future__ import annotations

from datetime import date

import strawberry
from strawberry.types import Info

from meterr import resolvers, wire
from meterr.schema.arguments import group_by_of, usage_filter_of
from meterr.schema.context import GraphQLContext
from meterr.schema.enums import CostDimension
from meterr.schema.inputs import UsageFilterInput
from meterr.schema.money import Money
from meterr.schema.scalars import TimeBound, TimeZone

__all__ = ["ForecastQueries"]

GqlInfo = Info[GraphQLContext, None]


@strawberry.type(description="A forecast day: the expected cost and its 80% and 95% intervals.")
class ForecastDay:
    date: date
    cost: Money
    low80: Money
    high80: Money
    low95: Money
    high95: Money


@strawberry.type(description="A past day's cost, as the forecast learned from it.")
class HistoryDay:
    date: date
    cost: Money


@strawberry.type(
    description="The current month in the forecast's zone: spent so far (today included) "
    "and its projected total, never below what is spent."
)
class MonthProjection:
    month_to_date: Money
    expected: Money
    low80: Money
    high80: Money
    low95: Money
    high95: Money


@strawberry.type
class SeriesForecast:
    key: str | None
    method: str
    history_days: int
    history: list[HistoryDay]
    forecast: list[ForecastDay]
    month_end: MonthProjection

    @classmethod
    def from_domain(cls, series: resolvers.SeriesForecast) -> SeriesForecast:
        month = series.month
        return cls(
            key=series.key,
            method=series.forecast.method,
            history_days=series.forecast.history_days,
            history=[HistoryDay(date=d, cost=Money.estimate(c)) for d, c in series.history],
            forecast=[
                ForecastDay(
                    date=f.day,
                    cost=Money.estimate(f.expected),
                    low80=Money.estimate(f.low80),
                    high80=Money.estimate(f.high80),
                    low95=Money.estimate(f.low95),
                    high95=Money.estimate(f.high95),
                )
                for f in series.forecast.days
            ],
            month_end=MonthProjection(
                month_to_date=Money.estimate(month.month_to_date),
                expected=Money.estimate(month.expected),
                low80=Money.estimate(month.low80),
                high80=Money.estimate(month.high80),
                low95=Money.estimate(month.low95),
                high95=Money.estimate(month.high95),
            ),
        )


@strawberry.type(description="The organization's forecast, and each group's when grouped.")
class CostForecast:
    horizon: int
    timezone: TimeZone = strawberry.field(description="The IANA zone whose days are forecast.")
    today: date = strawberry.field(description="The forecast's today, in its zone.")
    total: SeriesForecast
    groups: list[SeriesForecast]


@strawberry.type(
    description="How the forecast did on past days: percentage errors as fractions (0.085 is "
    "8.5%) over the days with spend, interval coverage over all of them; null where there was "
    "nothing to measure."
)
class ForecastBacktest:
    days: int
    mape: float | None
    bias: float | None
    coverage80: float | None
    coverage95: float | None


@strawberry.type
class ForecastQueries:
    @strawberry.field(
        description="Replay the last `days` complete days, each forecast one day ahead from "
        "the days before it (GET /v1/costs/forecast/backtest)."
    )
    async def forecast_backtest(self, info: GqlInfo, days: int = 30) -> ForecastBacktest | None:
        report = await resolvers.forecast_backtest(info.context.meterr, days=days)
        return ForecastBacktest(
            days=report.days,
            mape=wire.fraction(report.mape),
            bias=wire.fraction(report.bias),
            coverage80=wire.fraction(report.coverage80),
            coverage95=wire.fraction(report.coverage95),
        )

    @strawberry.field(
        description="Daily cost ahead with 80%/95% intervals (GET /v1/costs/forecast)."
    )
    async def cost_forecast(
        self,
        info: GqlInfo,
        horizon: int = 30,
        group_by: CostDimension | None = None,
        metadata_key: str | None = None,
        start_date: TimeBound | None = None,
        filter: UsageFilterInput | None = None,
        tz: TimeZone | None = None,
    ) -> CostForecast | None:
        forecast = await resolvers.cost_forecast(
            info.context.meterr,
            horizon=horizon,
            group_by=None if group_by is None else group_by_of(group_by, metadata_key),
            history_start=None
            if start_date is None
            else resolvers.parse_day(start_date, "startDate"),
            usage_filter=usage_filter_of(filter),
            zone=resolvers.parse_zone(tz),
        )
        return CostForecast(
            horizon=forecast.horizon,
            timezone=TimeZone(forecast.zone.key),
            today=forecast.today,
            total=SeriesForecast.from_domain(forecast.total),
            groups=[SeriesForecast.from_domain(group) for group in forecast.groups],
        )
