"""`costSeries`: costs per interval and per group in one question, for a stacked chart."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from meterr import resolvers
from meterr.schema.arguments import group_by_of, usage_filter_of
from meterr.schema.context import GraphQLContext
from meterr.schema.enums import CostDimension, Interval, Ranking
from meterr.schema.inputs import UsageFilterInput
from meterr.schema.scalars import TimeBound, TimeZone
from meterr.schema.types import CostGroup

__all__ = ["SeriesQueries"]

GqlInfo = Info[GraphQLContext, None]


@strawberry.type(description="One interval of a cost series: each kept group's totals.")
class CostSeriesPoint:
    start: datetime
    groups: list[CostGroup]


@strawberry.type(
    description="Costs per interval and group: `keys` are the groups kept, largest first over "
    'the range, then "(other)" when the smaller ones were summed.'
)
class CostSeries:
    interval: Interval
    keys: list[str]
    points: list[CostSeriesPoint]

    @classmethod
    def from_domain(cls, series: resolvers.CostSeries) -> CostSeries:
        return cls(
            interval=series.interval,
            keys=series.keys,
            points=[
                CostSeriesPoint(
                    start=start,
                    groups=[
                        CostGroup.from_group(resolvers.CostGroup(key, totals[key]))
                        for key in series.keys
                    ],
                )
                for start, totals in series.points
            ],
        )


@strawberry.type
class SeriesQueries:
    @strawberry.field(
        description="Costs per hour, day, week or month and per group (provider, model, team, "
        "user...) over [startDate, endDate]: the `first` largest groups by `orderBy`, the rest "
        "summed."
    )
    async def cost_series(
        self,
        info: GqlInfo,
        group_by: CostDimension = CostDimension.PROVIDER,
        metadata_key: str | None = None,
        start_date: TimeBound | None = None,
        end_date: TimeBound | None = None,
        interval: Interval = resolvers.DEFAULT_INTERVAL,
        filter: UsageFilterInput | None = None,
        tz: TimeZone | None = None,
        first: int = resolvers.DEFAULT_SERIES_GROUPS,
        order_by: Ranking = Ranking.COST,
    ) -> CostSeries | None:
        ctx = info.context.meterr
        series = await resolvers.cost_series(
            ctx,
            resolvers.parse_time_range(start_date, end_date, tz, now=ctx.now()),
            usage_filter_of(filter),
            group_by_of(group_by, metadata_key),
            interval,
            first=first,
            order_by=order_by,
        )
        return CostSeries.from_domain(series)
