"""Reconciliation: what clients tracked beside what the provider reports, per day and model,
with the days whose difference passes a tolerance flagged."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from meterr.auth import Operation
from meterr.domain import ConnectionMode, UsageTotals
from meterr.errors import InvalidInput
from meterr.pricing import PriceBook, TokenUsage, compute_cost
from meterr.resolvers.context import RequestContext
from meterr.resolvers.providers import get_connection
from meterr.resolvers.timerange import TimeRange
from meterr.resolvers.tracking import price_book
from meterr.store import Connection, KeptUsage

__all__ = ["Reconciliation", "ReconciliationLine", "reconcile"]


@dataclass(frozen=True, slots=True)
class ReconciliationLine:
    day: date
    model: str
    tracked: UsageTotals
    reported: UsageTotals
    flagged: bool


@dataclass(frozen=True, slots=True)
class Reconciliation:
    connection: Connection
    time_range: TimeRange
    tolerance_percent: Decimal
    lines: list[ReconciliationLine]

    @property
    def flagged_days(self) -> int:
        """How many days have a model whose difference passes the tolerance."""
        return len({line.day for line in self.lines if line.flagged})


def _differs(tracked: UsageTotals, reported: UsageTotals, tolerance: Decimal) -> bool:
    """Whether tokens or cost differ by more than `tolerance` percent of the larger."""
    for a, b in ((tracked.tokens, reported.tokens), (tracked.cost_nano, reported.cost_nano)):
        larger = max(a, b)
        if larger and Decimal(abs(a - b)) * 100 > tolerance * larger:
            return True
    return False


async def reconcile(
    ctx: RequestContext, connection_id: str, time_range: TimeRange, tolerance_percent: Decimal
) -> Reconciliation:
    """Per UTC day and model (snapshots folded into their model): the provider's usage as
    tracked by clients (imported events left out) and as the provider reports it (imported
    events in import mode, the rows kept aside in reconcile mode)."""
    ctx.principal.require(Operation.READ)
    if not tolerance_percent.is_finite() or not 0 <= tolerance_percent <= 100:
        raise InvalidInput(
            "tolerance must be a percentage from 0 to 100.",
            {"fields": {"tolerance": "0 to 100"}},
        )
    connection = await get_connection(ctx, connection_id)
    book = await price_book(ctx.services, ctx.org_id)

    def model_of(raw: str) -> str:
        return book.price_key(connection.provider, raw)[1]

    tracked: dict[tuple[date, str], UsageTotals] = defaultdict(UsageTotals)
    reported: dict[tuple[date, str], UsageTotals] = defaultdict(UsageTotals)

    async def events_by_day(imported_by: str | None) -> list[tuple[date, str, UsageTotals]]:
        rows = await ctx.store.usage.tracked_by_day_and_model(
            ctx.org_id, time_range, connection.provider, imported_by=imported_by
        )
        return [(_day(row.bucket), model_of(row.key or ""), row.totals) for row in rows]

    for day, model, totals in await events_by_day(None):
        tracked[(day, model)] += totals
    if connection.mode == ConnectionMode.IMPORT:
        for day, model, totals in await events_by_day(connection.id):
            reported[(day, model)] += totals
    else:
        for row in await ctx.store.connections.kept_aside(
            ctx.org_id, connection.id, start=time_range.start, end=time_range.end
        ):
            reported[(row.start.date(), model_of(row.model))] += _priced(
                book, connection.provider, row
            )
    keys = sorted(tracked.keys() | reported.keys())
    lines = [
        ReconciliationLine(
            day=day,
            model=model,
            tracked=tracked[(day, model)],
            reported=reported[(day, model)],
            flagged=_differs(tracked[(day, model)], reported[(day, model)], tolerance_percent),
        )
        for day, model in keys
    ]
    return Reconciliation(connection, time_range, tolerance_percent, lines)


def _day(bucket: datetime | None) -> date:
    assert bucket is not None
    return bucket.date()


def _priced(book: PriceBook, provider: str, row: KeptUsage) -> UsageTotals:
    """A kept-aside row's totals, priced with the prices of its day."""
    tokens = TokenUsage(
        input_tokens=row.input_tokens,
        output_tokens=row.output_tokens,
        cached_input_tokens=row.cached_input_tokens,
        cache_write_tokens=row.cache_write_tokens,
    )
    price = book.lookup(provider, row.model, row.start)
    prompt = 10**12 if row.long_context else 0  # the tier the provider reported
    cost = compute_cost(tokens, price, prompt_tokens=prompt) if price else None
    return UsageTotals(
        requests=row.requests,
        input_tokens=tokens.input_tokens,
        output_tokens=tokens.output_tokens,
        cached_input_tokens=tokens.cached_input_tokens,
        cache_write_tokens=tokens.cache_write_tokens,
        cost_nano=cost.total_nano if cost else 0,
        unpriced_requests=0 if cost else row.requests,
    )
