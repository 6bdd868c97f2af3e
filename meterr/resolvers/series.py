"""Time series of usage: gap-free, one point per local hour, day, week or month of the
range's zone; overall, or per group with the largest groups kept and the rest summed."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from meterr.auth import Operation
from meterr.domain import (
    GroupBy,
    Interval,
    Ranking,
    TimeRange,
    UsageFilter,
    UsageTotals,
    local_midnight,
)
from meterr.errors import InvalidInput
from meterr.resolvers.context import RequestContext
from meterr.resolvers.costs import NO_VALUE, usage_rows

__all__ = [
    "DEFAULT_SERIES_GROUPS",
    "MAX_SERIES_GROUPS",
    "OTHER",
    "CostSeries",
    "cost_series",
    "usage_totals",
]

MAX_POINTS = 10_000
DEFAULT_SERIES_GROUPS = 10
MAX_SERIES_GROUPS = 100
OTHER = "(other)"  # the groups past the first ones, summed


@dataclass(frozen=True, slots=True)
class CostSeries:
    """Each point's totals per group; `keys` are the groups kept, largest first over the
    whole range, then OTHER when groups were folded into it."""

    interval: Interval
    keys: list[str]
    points: list[tuple[datetime, dict[str, UsageTotals]]]


def _starts(time_range: TimeRange, interval: Interval) -> list[datetime]:
    starts = _interval_starts(time_range, interval)
    if len(starts) > MAX_POINTS:
        raise InvalidInput(
            "The series would have more than 10,000 points: choose a longer interval.",
            {"fields": {"interval": "too many points for this range"}},
        )
    return starts


def _utc(moment: datetime | None) -> datetime:
    assert moment is not None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def usage_totals(
    ctx: RequestContext, time_range: TimeRange, usage_filter: UsageFilter, interval: Interval
) -> list[tuple[datetime, UsageTotals]]:
    """A gap-free time series: one point per interval start in the range's zone."""
    ctx.principal.require(Operation.READ)
    usage_filter = ctx.confine(usage_filter)
    starts = _starts(time_range, interval)
    rows = await usage_rows(
        ctx,
        time_range,
        usage_filter,
        None,
        bucketed=True,
        day_buckets=interval is not Interval.HOUR,
    )
    series: dict[datetime, UsageTotals] = dict.fromkeys(starts, UsageTotals())
    for row in rows:
        series[_interval_start(_utc(row.bucket), interval, time_range.zone)] += row.totals
    return sorted(series.items())


async def cost_series(
    ctx: RequestContext,
    time_range: TimeRange,
    usage_filter: UsageFilter,
    group_by: GroupBy,
    interval: Interval,
    *,
    first: int = DEFAULT_SERIES_GROUPS,
    order_by: Ranking = Ranking.COST,
) -> CostSeries:
    """Per interval, the totals of the `first` largest groups over the range (by `order_by`,
    then the other measures), the others summed as OTHER: a stacked chart in one question."""
    ctx.principal.require(Operation.READ)
    usage_filter = ctx.confine(usage_filter)
    if group_by.dimension.is_time:
        raise InvalidInput(
            "A series is already over time: group it by provider, model, team, user, "
            "endpoint, api_key or metadata.KEY.",
            {"fields": {"group_by": "not a time dimension"}},
        )
    if not 1 <= first <= MAX_SERIES_GROUPS:
        raise InvalidInput(
            f"first must be between 1 and {MAX_SERIES_GROUPS}.",
            {"fields": {"first": f"1 to {MAX_SERIES_GROUPS}"}},
        )
    starts = _starts(time_range, interval)
    rows = await usage_rows(
        ctx,
        time_range,
        usage_filter,
        group_by,
        bucketed=True,
        day_buckets=interval is not Interval.HOUR,
    )
    overall: dict[str, UsageTotals] = defaultdict(UsageTotals)
    for row in rows:
        overall[row.key if row.key is not None else NO_VALUE] += row.totals
    ranked = sorted(overall, key=lambda key: (*_measures(overall[key], order_by), key))
    kept = set(ranked[:first])
    keys = ranked[:first] + ([OTHER] if len(ranked) > first else [])
    points: dict[datetime, dict[str, UsageTotals]] = {
        start: dict.fromkeys(keys, UsageTotals()) for start in starts
    }
    for row in rows:
        key = row.key if row.key is not None else NO_VALUE
        point = points[_interval_start(_utc(row.bucket), interval, time_range.zone)]
        folded = key if key in kept else OTHER
        point[folded] += row.totals
    return CostSeries(interval, keys, sorted(points.items()))


def _measures(totals: UsageTotals, order_by: Ranking) -> tuple[int, ...]:
    """A group's sort key, largest first: the chosen measure, then the others."""
    measures = {
        Ranking.COST: totals.cost_nano,
        Ranking.TOKENS: totals.tokens,
        Ranking.REQUESTS: totals.requests,
    }
    chosen = measures.pop(order_by)
    return (-chosen, *(-value for value in measures.values()))


def _interval_start(moment: datetime, interval: Interval, zone: ZoneInfo) -> datetime:
    local = moment.astimezone(zone)
    if interval is Interval.HOUR:
        # Local hours: in a zone such as Asia/Kolkata they start at half past the UTC hour.
        return local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    day = local.date()
    if interval is Interval.WEEK:
        day -= timedelta(days=day.weekday())
    elif interval is Interval.MONTH:
        day = day.replace(day=1)
    return local_midnight(day, zone)


def _next_local_hour(start: datetime, zone: ZoneInfo) -> datetime:
    """The start of the local hour after the one starting at `start`: local hours may last
    30 to 90 minutes across a half-hour clock change, and every offset is whole quarters."""
    probe, following = start, start
    while following <= start:
        probe += timedelta(minutes=15)
        following = _interval_start(probe, Interval.HOUR, zone)
    return following


def _interval_starts(time_range: TimeRange, interval: Interval) -> list[datetime]:
    starts: list[datetime] = []
    current = _interval_start(time_range.start, interval, time_range.zone)
    while current < time_range.end and len(starts) <= 10_000:
        starts.append(current)
        if interval is Interval.HOUR:
            current = _next_local_hour(current, time_range.zone)
        else:
            local = current.astimezone(time_range.zone).date()
            if interval is Interval.DAY:
                local += timedelta(days=1)
            elif interval is Interval.WEEK:
                local += timedelta(days=7)
            else:
                local = (local.replace(day=28) + timedelta(days=4)).replace(day=1)
            current = local_midnight(local, time_range.zone)
    return starts
