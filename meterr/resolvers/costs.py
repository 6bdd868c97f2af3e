"""Cost and usage questions: totals grouped by any dimension, over rollups or raw events."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from meterr.auth import Operation
from meterr.domain import (
    GROUPABLE_METADATA_KEY,
    Dimension,
    GroupBy,
    UsageFilter,
    UsageTotals,
)
from meterr.errors import InvalidInput
from meterr.pricing import normalize_provider
from meterr.resolvers.context import RequestContext
from meterr.resolvers.timerange import TimeRange
from meterr.store import TotalsRow

__all__ = [
    "usage_rows",
    "NO_VALUE",
    "CostGroup",
    "UsageSummary",
    "cost_groups",
    "daily_totals",
    "parse_group_by",
    "parse_usage_filter",
    "summed_usage",
    "usage_filter",
    "usage_in",
]

NO_VALUE = "(none)"


@dataclass(frozen=True, slots=True)
class CostGroup:
    """One group's totals; a group of teams Meterr knows carries the team's name, and
    whether the team was deleted (its usage stays)."""

    key: str
    totals: UsageTotals
    name: str | None = None
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class UsageSummary:
    totals: UsageTotals
    by_provider: list[CostGroup]


def parse_group_by(value: str | None) -> GroupBy:
    """`provider`, `model`, `team`, `user`, `endpoint`, `api_key`, `day`, `week`, `month`
    or `metadata.KEY`."""
    value = (value or "provider").strip()
    if value.startswith("metadata."):
        key = value.removeprefix("metadata.")
        if not GROUPABLE_METADATA_KEY.fullmatch(key):
            raise InvalidInput(
                f"group_by '{value}' names an invalid metadata key.",
                {"fields": {"group_by": "metadata key must match [A-Za-z0-9_-]{1,64}"}},
            )
        return GroupBy(Dimension.METADATA, key)
    aliases = {"team_id": "team", "user_id": "user", "api_key_id": "api_key"}
    try:
        dimension = Dimension(aliases.get(value, value))
    except ValueError:
        allowed = ", ".join(d.value for d in Dimension if d is not Dimension.METADATA)
        raise InvalidInput(
            f"group_by '{value}' is not one of {allowed} or metadata.KEY.",
            {"fields": {"group_by": f"expected one of {allowed}, metadata.KEY"}},
        ) from None
    if dimension is Dimension.METADATA:
        raise InvalidInput(
            "group_by metadata needs a key: metadata.KEY.", {"fields": {"group_by": "missing key"}}
        )
    return GroupBy(dimension)


def usage_filter(
    *,
    providers: Sequence[str] = (),
    models: Sequence[str] = (),
    team_ids: Sequence[str] = (),
    user_ids: Sequence[str] = (),
) -> UsageFilter:
    """A filter from lists of values; provider aliases count as their provider."""

    def clean(values: Sequence[str]) -> tuple[str, ...]:
        return tuple(v.strip() for v in values if v.strip())

    return UsageFilter(
        providers=tuple(normalize_provider(p) for p in clean(providers)),
        models=clean(models),
        team_ids=clean(team_ids),
        user_ids=clean(user_ids),
    )


def parse_usage_filter(
    *,
    provider: str | None = None,
    model: str | None = None,
    team_id: str | None = None,
    user_id: str | None = None,
) -> UsageFilter:
    """Each filter takes one value or a comma-separated list."""
    return usage_filter(
        providers=(provider or "").split(","),
        models=(model or "").split(","),
        team_ids=(team_id or "").split(","),
        user_ids=(user_id or "").split(","),
    )


def _time_key(moment: datetime, dimension: Dimension, zone: ZoneInfo) -> str:
    local: date = moment.astimezone(zone).date()
    if dimension is Dimension.DAY:
        return local.isoformat()
    if dimension is Dimension.WEEK:
        return (local - timedelta(days=local.weekday())).isoformat()
    return f"{local.year:04d}-{local.month:02d}"


async def usage_rows(
    ctx: RequestContext,
    time_range: TimeRange,
    usage_filter: UsageFilter,
    group_by: GroupBy | None,
    *,
    bucketed: bool,
    day_buckets: bool = False,
) -> list[TotalsRow]:
    """Totals from the store, which answers from the rollups when they answer exactly and
    from the raw events otherwise; the request learns which, and why (`ctx.answers`).

    `day_buckets` says whether buckets as coarse as a UTC day serve the caller."""
    answer = await ctx.store.usage.totals(
        ctx.org_id, time_range, usage_filter, group_by, bucketed=bucketed, day_buckets=day_buckets
    )
    metrics = ctx.services.metrics.usage_answers
    if answer.reason is None:
        ctx.answers.rollups += 1
        metrics.labels("rollups", "").inc()
    else:
        code, explanation = answer.reason
        ctx.answers.events[code] = explanation
        metrics.labels("events", code).inc()
    return answer.rows


async def cost_groups(
    ctx: RequestContext, time_range: TimeRange, group_by: GroupBy, usage_filter: UsageFilter
) -> list[CostGroup]:
    """Totals per group, largest cost first (time groups in calendar order)."""
    ctx.principal.require(Operation.READ)
    usage_filter = ctx.confine(usage_filter)
    if group_by.dimension.is_time:
        rows = await usage_rows(
            ctx, time_range, usage_filter, None, bucketed=True, day_buckets=True
        )
        merged: dict[str, UsageTotals] = defaultdict(UsageTotals)
        for row in rows:
            assert row.bucket is not None
            bucket = row.bucket.replace(tzinfo=UTC) if row.bucket.tzinfo is None else row.bucket
            merged[_time_key(bucket, group_by.dimension, time_range.zone)] += row.totals
        return [CostGroup(key, merged[key]) for key in sorted(merged)]
    rows = await usage_rows(ctx, time_range, usage_filter, group_by, bucketed=False)
    groups: dict[str, UsageTotals] = defaultdict(UsageTotals)
    for row in rows:
        groups[row.key if row.key is not None else NO_VALUE] += row.totals
    teams = {}
    if group_by.dimension is Dimension.TEAM and groups:
        teams = await ctx.store.teams.named(ctx.org_id, list(groups))
    return sorted(
        (
            CostGroup(
                key,
                totals,
                name=teams[key].name if key in teams else None,
                deleted=key in teams and teams[key].deleted_at is not None,
            )
            for key, totals in groups.items()
        ),
        key=lambda group: (-group.totals.cost_nano, -group.totals.tokens, group.key),
    )


async def daily_totals(
    ctx: RequestContext,
    time_range: TimeRange,
    usage_filter: UsageFilter,
    group_by: GroupBy | None,
) -> dict[str | None, dict[date, UsageTotals]]:
    """Totals per local day of the range's zone, per group of `group_by` (one None key
    without one); for the service's own use (forecasts), with no role checked."""
    rows = await usage_rows(
        ctx, time_range, usage_filter, group_by, bucketed=True, day_buckets=True
    )
    by_key: dict[str | None, dict[date, UsageTotals]] = defaultdict(
        lambda: defaultdict(UsageTotals)
    )
    for row in rows:
        assert row.bucket is not None
        moment = row.bucket if row.bucket.tzinfo else row.bucket.replace(tzinfo=UTC)
        key = None if group_by is None else (row.key if row.key is not None else NO_VALUE)
        by_key[key][moment.astimezone(time_range.zone).date()] += row.totals
    return {key: dict(days) for key, days in by_key.items()}


async def usage_in(
    ctx: RequestContext, time_range: TimeRange, usage_filter: UsageFilter
) -> UsageTotals:
    """The range's totals, for the service's own use (budgets): no role is checked."""
    rows = await usage_rows(ctx, time_range, usage_filter, None, bucketed=False)
    return sum((row.totals for row in rows), UsageTotals())


async def summed_usage(
    ctx: RequestContext, time_range: TimeRange, usage_filter: UsageFilter
) -> UsageSummary:
    """The period's totals with a per-provider breakdown."""
    by_provider = await cost_groups(ctx, time_range, GroupBy(Dimension.PROVIDER), usage_filter)
    total = sum((group.totals for group in by_provider), UsageTotals())
    return UsageSummary(total, by_provider)
