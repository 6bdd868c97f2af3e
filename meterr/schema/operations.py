"""Query and Mutation: each field a thin call into resolvers/."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from meterr import resolvers
from meterr.resolvers.inputs import PriceOverrideInput as PriceOverrideBody
from meterr.resolvers.inputs import RepriceInput
from meterr.schema.arguments import group_by_of, usage_filter_of
from meterr.schema.budgets import BudgetMutations, BudgetQueries
from meterr.schema.connections import Connection, PageArgs, connection
from meterr.schema.context import GraphQLContext
from meterr.schema.enums import CostDimension, Interval
from meterr.schema.forecasts import ForecastQueries
from meterr.schema.inputs import (
    PriceOverrideInput,
    RepriceEventsInput,
    TrackUsageInput,
    UsageFilterInput,
    as_body,
)
from meterr.schema.nodes import NodeQueries
from meterr.schema.providers import ProviderMutations, ProviderQueries
from meterr.schema.scalars import TimeBound, TimeZone
from meterr.schema.series import SeriesQueries
from meterr.schema.teams import TeamMutations, TeamQueries
from meterr.schema.types import (
    CostGroup,
    MetadataKey,
    Price,
    PriceImportReport,
    RepriceReport,
    TrackedUsage,
    UsageEvent,
    UsagePoint,
    UsageSummary,
    UsageTotals,
)
from meterr.schema.viewer import ViewerQueries
from meterr.schema.webhooks import WebhookMutations, WebhookQueries

__all__ = ["Mutation", "Query"]

GqlInfo = Info[GraphQLContext, None]


@strawberry.type
class Query(
    BudgetQueries,
    TeamQueries,
    ProviderQueries,
    ForecastQueries,
    WebhookQueries,
    ViewerQueries,
    SeriesQueries,
    NodeQueries,
):
    @strawberry.field(description="Costs grouped by a dimension over [startDate, endDate].")
    async def costs(
        self,
        info: GqlInfo,
        start_date: TimeBound | None = None,
        end_date: TimeBound | None = None,
        group_by: CostDimension = CostDimension.PROVIDER,
        metadata_key: str | None = None,
        filter: UsageFilterInput | None = None,
        tz: TimeZone | None = None,
    ) -> list[CostGroup] | None:
        ctx = info.context.meterr
        time_range = resolvers.parse_time_range(start_date, end_date, tz, now=ctx.now())
        groups = await resolvers.cost_groups(
            ctx,
            time_range,
            group_by_of(group_by, metadata_key),
            usage_filter_of(filter),
        )
        return [CostGroup.from_group(group) for group in groups]

    @strawberry.field(
        description="The metadata keys learned from the organization's events, in the order "
        "they were learned, and whether grouping by each reads rollups."
    )
    async def metadata_keys(self, info: GqlInfo) -> list[MetadataKey] | None:
        learned = await resolvers.learned_metadata_keys(info.context.meterr)
        return [
            MetadataKey(
                key=key.key,
                state=key.state.value,
                rolled_up=key.rolled_up,
                values=key.values,
            )
            for key in learned.keys
        ]

    @strawberry.field(description="Usage totals with a per-provider breakdown.")
    async def usage(
        self,
        info: GqlInfo,
        start_date: TimeBound | None = None,
        end_date: TimeBound | None = None,
        filter: UsageFilterInput | None = None,
        tz: TimeZone | None = None,
    ) -> UsageSummary | None:
        ctx = info.context.meterr
        time_range = resolvers.parse_time_range(start_date, end_date, tz, now=ctx.now())
        summary = await resolvers.summed_usage(ctx, time_range, usage_filter_of(filter))
        return UsageSummary(
            start=time_range.start,
            end=time_range.end,
            totals=UsageTotals.from_domain(summary.totals),
            providers=[CostGroup.from_group(group) for group in summary.by_provider],
        )

    @strawberry.field(description="A gap-free time series (hour, day, week or month).")
    async def usage_history(
        self,
        info: GqlInfo,
        start_date: TimeBound | None = None,
        end_date: TimeBound | None = None,
        interval: Interval = resolvers.DEFAULT_INTERVAL,
        filter: UsageFilterInput | None = None,
        tz: TimeZone | None = None,
    ) -> list[UsagePoint] | None:
        ctx = info.context.meterr
        time_range = resolvers.parse_time_range(start_date, end_date, tz, now=ctx.now())
        series = await resolvers.usage_totals(ctx, time_range, usage_filter_of(filter), interval)
        return [
            UsagePoint(start=start, **vars(UsageTotals.from_domain(totals)))
            for start, totals in series
        ]

    @strawberry.field(description="Raw events, newest first; 100 unless `first` says otherwise.")
    async def events(
        self,
        info: GqlInfo,
        start_date: TimeBound | None = None,
        end_date: TimeBound | None = None,
        filter: UsageFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
        tz: TimeZone | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[UsageEvent] | None:
        page = PageArgs(first, after, last, before)
        page.forward_only("Events")
        size = page.size(100, resolvers.MAX_PAGE)
        ctx = info.context.meterr
        time_range = resolvers.parse_time_range(start_date, end_date, tz, now=ctx.now())
        found = await resolvers.list_events(
            ctx, time_range, usage_filter_of(filter), limit=size, cursor=after
        )
        return connection(
            found.events,
            UsageEvent.from_domain,
            resolvers.event_cursor,
            has_next=found.next_cursor is not None,
            has_previous=after is not None,
        )

    @strawberry.field(description="One stored event by its id (GET /v1/usage/{event_id}).")
    async def event(self, info: GqlInfo, id: strawberry.ID) -> UsageEvent | None:
        return UsageEvent.from_domain(await resolvers.get_event(info.context.meterr, str(id)))

    @strawberry.field(description="Prices in force now, with this organization's overrides.")
    async def prices(self, info: GqlInfo, provider: str | None = None) -> list[Price] | None:
        found = await resolvers.list_prices(info.context.meterr, provider=provider)
        return [Price.from_domain(price) for price in found]


@strawberry.type
class Mutation(BudgetMutations, TeamMutations, ProviderMutations, WebhookMutations):
    @strawberry.mutation(description="Record one usage event (same rules as POST /v1/track).")
    async def track_usage(
        self, info: GqlInfo, input: TrackUsageInput, idempotency_key: str | None = None
    ) -> TrackedUsage:
        tracked = await resolvers.track_events(
            info.context.meterr, [as_body(input)], batch=False, idempotency_key=idempotency_key
        )
        return TrackedUsage.from_domain(tracked.events[0], tracked.over_budget)

    @strawberry.mutation(description="Record up to 1,000 events, all or nothing.")
    async def track_usage_batch(
        self, info: GqlInfo, events: list[TrackUsageInput]
    ) -> list[TrackedUsage]:
        tracked = await resolvers.track_events(
            info.context.meterr, [as_body(event) for event in events], batch=True
        )
        return [TrackedUsage.from_domain(item, tracked.over_budget) for item in tracked.events]

    @strawberry.mutation(description="Set a negotiated price that wins over the catalogue.")
    async def set_price_override(self, info: GqlInfo, input: PriceOverrideInput) -> Price:
        body = resolvers.validate_model(PriceOverrideBody, as_body(input))
        return Price.from_domain(await resolvers.set_price_override(info.context.meterr, body))

    @strawberry.mutation(
        description="Import a LiteLLM model_prices file (its JSON object) as the "
        "organization's prices; events stored unpriced are priced with them."
    )
    async def import_prices(
        self, info: GqlInfo, file: JSON, dry_run: bool = False
    ) -> PriceImportReport:
        report = await resolvers.import_litellm_prices(info.context.meterr, file, dry_run=dry_run)
        return PriceImportReport.from_domain(report, dry_run=dry_run)

    @strawberry.mutation(description="Reprice stored events with the prices in force now.")
    async def reprice_events(self, info: GqlInfo, input: RepriceEventsInput) -> RepriceReport:
        body = resolvers.validate_model(RepriceInput, as_body(input))
        return RepriceReport.from_domain(await resolvers.reprice(info.context.meterr, body))
