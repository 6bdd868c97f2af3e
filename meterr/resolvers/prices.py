"""Prices: the catalogue with an organization's overrides, and repricing stored events."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from meterr.auth import Operation
from meterr.domain import UsageEvent
from meterr.errors import InvalidInput
from meterr.pricing import ModelPrice, Rates, normalize_provider
from meterr.resolvers.alerts import watch_budgets
from meterr.resolvers.context import RequestContext
from meterr.resolvers.costs import parse_usage_filter
from meterr.resolvers.inputs import PriceOverrideInput, RepriceInput
from meterr.resolvers.timerange import parse_time_range
from meterr.resolvers.tracking import organization_overrides, price_book, priced

__all__ = ["RepriceLine", "RepriceReport", "list_prices", "reprice", "set_price_override"]


async def list_prices(
    ctx: RequestContext, *, provider: str | None = None, at: datetime | None = None
) -> list[ModelPrice]:
    """Every model's price in force at `at` (default now), overrides first in line."""
    ctx.principal.require(Operation.READ)
    at = at or ctx.now()
    book = await price_book(ctx.services, ctx.org_id)
    catalogue = ctx.services.catalogue
    wanted = normalize_provider(provider) if provider else None
    providers = [wanted] if wanted else catalogue.providers()
    prices: dict[tuple[str, str], ModelPrice] = {}
    for table in providers:
        for model in catalogue.models(table):
            price = book.lookup(table, model, at)
            if price is not None:
                prices[(price.provider, price.model)] = price
    for override in await organization_overrides(ctx.services, ctx.org_id):
        if wanted and override.provider != wanted:
            continue
        price = book.lookup(override.provider, override.model, at)
        if price is not None:
            prices[(price.provider, price.model)] = price
    return [prices[key] for key in sorted(prices)]


async def set_price_override(ctx: RequestContext, body: PriceOverrideInput) -> ModelPrice:
    """Store a negotiated price; it wins over the catalogue for this organization."""
    ctx.principal.require(Operation.MANAGE)
    book = await price_book(ctx.services, ctx.org_id)
    provider, model = book.price_key(body.provider, body.model)
    now = ctx.now()
    price = ModelPrice(
        provider=provider,
        model=model,
        effective_from=body.effective_from or datetime(1970, 1, 1, tzinfo=UTC),
        rates=Rates(
            input=body.input,
            output=body.output,
            cached_input=body.cached_input,
            cache_write=body.cache_write,
            reasoning=body.reasoning,
        ),
        long_context=None,
        source=body.note or "organization override",
        source_date=now.date(),
        origin="override",
    )
    stored = await ctx.store.price_overrides.upsert(ctx.org_id, price, body.note, at=now)
    ctx.services.overrides.pop(ctx.org_id, None)
    if body.reprice_unpriced:
        # An event stored unpriced is priced as soon as a price for it appears.
        await reprice(
            ctx,
            RepriceInput(
                provider=body.provider, model=body.model, unpriced_only=True, dry_run=False
            ),
        )
    return stored


@dataclass(frozen=True, slots=True)
class RepriceLine:
    provider: str
    model: str
    events: int
    changed: int
    old_cost_nano: int
    new_cost_nano: int
    unpriced_before: int
    unpriced_after: int


@dataclass(frozen=True, slots=True)
class RepriceReport:
    lines: list[RepriceLine]
    applied: bool

    @property
    def changed(self) -> int:
        return sum(line.changed for line in self.lines)


def _cost(event: UsageEvent) -> int:
    return event.cost.total_nano if event.cost is not None else 0


async def reprice(ctx: RequestContext, body: RepriceInput) -> RepriceReport:
    """Price stored events again with the prices in force now; a dry run changes nothing."""
    ctx.principal.require(Operation.MANAGE)
    time_range = (
        parse_time_range(body.start_date, body.end_date, None, now=ctx.now())
        if body.start_date or body.end_date
        else None
    )
    if time_range is None and not body.unpriced_only and body.model is None:
        raise InvalidInput(
            "Repricing every event needs a range or a model: give start_date/end_date or model.",
            {"fields": {"start_date": "required unless model or unpriced_only is given"}},
        )
    usage_filter = parse_usage_filter(provider=body.provider)
    book = await price_book(ctx.services, ctx.org_id)
    candidates = await ctx.store.events.for_repricing(
        ctx.org_id,
        start=time_range.start if time_range else None,
        end=time_range.end if time_range else None,
        usage_filter=usage_filter,
        unpriced_only=body.unpriced_only,
    )
    if body.model is not None:
        model = body.model
        candidates = [
            e
            for e in candidates
            if e.model.lower() == model.lower()
            or book.price_key(e.provider, e.model) == book.price_key(e.provider, model)
        ]
    old: list[UsageEvent] = []
    new: list[UsageEvent] = []
    stats: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * 6)
    for event in candidates:
        again = priced(event, book)
        line = stats[(event.provider, event.model)]
        line[0] += 1
        line[2] += _cost(event)
        line[3] += _cost(again)
        line[4] += event.cost is None
        line[5] += again.cost is None
        if again.cost != event.cost or again.price != event.price:
            line[1] += 1
            old.append(event)
            new.append(again)
    if not body.dry_run and new:
        await ctx.store.writer.replace(ctx.org_id, old, new)
        await watch_budgets(ctx, new)  # their spend moved: alerts may be due
    return RepriceReport(
        lines=[RepriceLine(p, m, *values) for (p, m), values in sorted(stats.items())],
        applied=not body.dry_run,
    )
