"""GraphQL types: thin declarations converted from domain objects."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from meterr import domain
from meterr.resolvers import CostGroup as CostGroupResult
from meterr.resolvers import ModelPrice, TrackedEvent, nano_to_usd
from meterr.resolvers import PriceImport as PriceImportResult
from meterr.resolvers import RepriceReport as RepriceReportResult
from meterr.schema.context import GraphQLContext
from meterr.schema.enums import PriceOrigin, PricingStatus
from meterr.schema.money import Money
from meterr.schema.node import Node

if TYPE_CHECKING:
    from meterr.schema.teams import Team

GqlInfo = Info[GraphQLContext, None]

__all__ = [
    "PriceImportReport",
    "CostBreakdown",
    "CostGroup",
    "MetadataKey",
    "Price",
    "RepriceLine",
    "RepriceReport",
    "TrackedUsage",
    "UsageEvent",
    "UsagePoint",
    "UsageSummary",
    "UsageTotals",
]


@strawberry.type(description="Cost, split by kind of token.")
class CostBreakdown:
    input: Money
    output: Money
    cache_read: Money
    cache_write: Money
    reasoning: Money
    total: Money

    @classmethod
    def from_domain(cls, cost: domain.CostBreakdown) -> CostBreakdown:
        return cls(
            input=Money.usd(cost.input),
            output=Money.usd(cost.output),
            cache_read=Money.usd(cost.cache_read),
            cache_write=Money.usd(cost.cache_write),
            reasoning=Money.usd(cost.reasoning),
            total=Money.usd(cost.total),
        )


@strawberry.type(description="The price an event was costed with, USD per 1M tokens.")
class PriceUsed:
    provider: str
    model: str
    effective_from: datetime
    origin: PriceOrigin
    source: str
    input: Decimal
    output: Decimal
    cached_input: Decimal
    cache_write: Decimal
    reasoning: Decimal
    long_context: bool


@strawberry.type(description="One stored usage event.")
class UsageEvent(Node):
    id: strawberry.ID
    event_id: str
    timestamp: datetime
    provider: str
    model: str
    endpoint: str | None
    team_id: str | None
    user_id: str | None
    api_key_id: str
    metadata: JSON
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    cost: Money | None
    cost_breakdown: CostBreakdown | None
    pricing_status: PricingStatus
    price: PriceUsed | None

    @strawberry.field(description="The team of the event, when a team with its teamId exists.")
    async def team(
        self, info: GqlInfo
    ) -> Annotated[Team, strawberry.lazy("meterr.schema.teams")] | None:
        from meterr.schema.teams import linked_team  # here: teams.py imports this module

        return await linked_team(info, self.team_id)

    @classmethod
    def from_domain(cls, event: domain.UsageEvent) -> UsageEvent:
        cost = event.cost
        price = event.price
        return cls(
            id=strawberry.ID(event.id),
            event_id=event.event_id,
            timestamp=event.timestamp,
            provider=event.provider,
            model=event.model,
            endpoint=event.endpoint,
            team_id=event.team_id,
            user_id=event.user_id,
            api_key_id=event.api_key_id,
            metadata=JSON(event.metadata),
            input_tokens=event.tokens.input_tokens,
            output_tokens=event.tokens.output_tokens,
            cached_input_tokens=event.tokens.cached_input_tokens,
            cache_write_tokens=event.tokens.cache_write_tokens,
            reasoning_tokens=event.tokens.reasoning_tokens,
            cost=None if cost is None else Money.usd(cost.total),
            cost_breakdown=None if cost is None else CostBreakdown.from_domain(cost),
            pricing_status=event.pricing_status,
            price=None
            if price is None
            else PriceUsed(
                provider=price.provider,
                model=price.model,
                effective_from=price.effective_from,
                origin=PriceOrigin(price.origin),
                source=price.source,
                input=price.input,
                output=price.output,
                cached_input=price.cached_input,
                cache_write=price.cache_write,
                reasoning=price.reasoning,
                long_context=price.long_context,
            ),
        )


@strawberry.type(
    description="A tracked event, whether the request only replayed it, and the blocking "
    "budgets the request's events are over (usage is recorded all the same)."
)
class TrackedUsage:
    event: UsageEvent
    replayed: bool
    over_budget: bool
    over_budget_ids: list[strawberry.ID]

    @classmethod
    def from_domain(cls, tracked: TrackedEvent, over_budget: list[str]) -> TrackedUsage:
        return cls(
            event=UsageEvent.from_domain(tracked.event),
            replayed=tracked.replayed,
            over_budget=bool(over_budget),
            over_budget_ids=[strawberry.ID(budget_id) for budget_id in over_budget],
        )


@strawberry.type(description="Summed usage and its cost.")
class UsageTotals:
    requests: int
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    tokens: int
    total: Money
    unpriced_requests: int

    @classmethod
    def from_domain(cls, totals: domain.UsageTotals) -> UsageTotals:
        return cls(
            requests=totals.requests,
            input_tokens=totals.input_tokens,
            output_tokens=totals.output_tokens,
            cached_input_tokens=totals.cached_input_tokens,
            cache_write_tokens=totals.cache_write_tokens,
            reasoning_tokens=totals.reasoning_tokens,
            tokens=totals.tokens,
            total=Money.usd(totals.cost),
            unpriced_requests=totals.unpriced_requests,
        )


@strawberry.type(description="Cost and usage of one group.")
class CostGroup(UsageTotals):
    key: str
    name: str | None = strawberry.field(
        default=None, description="The team's name, for groups of teams Meterr knows."
    )
    deleted: bool = strawberry.field(
        default=False, description="Whether that team was deleted (its usage stays)."
    )

    @classmethod
    def from_group(cls, group: CostGroupResult) -> CostGroup:
        totals = UsageTotals.from_domain(group.totals)
        return cls(key=group.key, name=group.name, deleted=group.deleted, **vars(totals))


@strawberry.type(
    description="A metadata key seen in the organization's events. `rolledUp`: grouping by it "
    "reads rollups; otherwise the raw events answer, `state` says why (too_many_values, "
    "unsuitable), as does `complete` false for an organization older than its metadata rollups."
)
class MetadataKey:
    key: str
    state: str
    rolled_up: bool
    values: int = strawberry.field(description="Values seen while rolled up.")


@strawberry.type(description="A period's totals with a per-provider breakdown.")
class UsageSummary:
    start: datetime
    end: datetime
    totals: UsageTotals
    providers: list[CostGroup]


@strawberry.type(description="One point of a usage time series.")
class UsagePoint(UsageTotals):
    start: datetime


@strawberry.type(description="A model's price, USD per 1M tokens.")
class Price:
    provider: str
    model: str
    effective_from: datetime
    origin: PriceOrigin
    source: str
    input: Decimal
    output: Decimal
    cached_input: Decimal
    cache_write: Decimal
    reasoning: Decimal
    long_context_above_input_tokens: int | None

    @classmethod
    def from_domain(cls, price: ModelPrice) -> Price:
        rates = price.rates
        return cls(
            provider=price.provider,
            model=price.model,
            effective_from=price.effective_from,
            origin=PriceOrigin(price.origin),
            source=price.source,
            input=rates.input,
            output=rates.output,
            cached_input=rates.effective_cached_input,
            cache_write=rates.effective_cache_write,
            reasoning=rates.effective_reasoning,
            long_context_above_input_tokens=None
            if price.long_context is None
            else price.long_context.above_input_tokens,
        )


@strawberry.type
class RepriceLine:
    provider: str
    model: str
    events: int
    changed: int
    old_cost: Money
    new_cost: Money


@strawberry.type(description="What repricing changed (or would change, in a dry run).")
class RepriceReport:
    applied: bool
    changed: int
    models: list[RepriceLine]

    @classmethod
    def from_domain(cls, report: RepriceReportResult) -> RepriceReport:
        return cls(
            applied=report.applied,
            changed=report.changed,
            models=[
                RepriceLine(
                    provider=line.provider,
                    model=line.model,
                    events=line.events,
                    changed=line.changed,
                    old_cost=Money.usd(nano_to_usd(line.old_cost_nano)),
                    new_cost=Money.usd(nano_to_usd(line.new_cost_nano)),
                )
                for line in report.lines
            ],
        )


@strawberry.type
class PriceRef:
    provider: str
    model: str


@strawberry.type
class SkippedPrice:
    entry: str
    reason: str


@strawberry.type(description="What a LiteLLM price file import did (or would do, in a dry run).")
class PriceImportReport:
    dry_run: bool
    imported: list[PriceRef]
    skipped: list[SkippedPrice]
    repriced: int = strawberry.field(description="Events stored unpriced, priced by the import.")

    @classmethod
    def from_domain(cls, report: PriceImportResult, *, dry_run: bool) -> PriceImportReport:
        return cls(
            dry_run=dry_run,
            imported=[PriceRef(provider=p, model=m) for p, m in report.imported],
            skipped=[SkippedPrice(entry=e, reason=r) for e, r in sorted(report.skipped.items())],
            repriced=report.repriced,
        )
