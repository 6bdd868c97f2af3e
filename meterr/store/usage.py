"""Usage totals asked in domain terms (a time range, a filter, a grouping), answered from the
rollups when they answer exactly and from the raw events otherwise, saying which and why."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pymongo.asynchronous.collection import AsyncCollection

from meterr.domain import Dimension, GroupBy, TimeRange, UsageFilter
from meterr.store.aggregates import TimeBucket, TotalsRow, sum_usage
from meterr.store.documents import Document
from meterr.store.metadata_keys import (
    MAX_METADATA_KEYS,
    MAX_METADATA_VALUE_CHARS,
    MAX_METADATA_VALUES,
    KeyState,
    MetadataKeyStore,
)
from meterr.store.rollup_cells import family_for
from meterr.store.rollups import RollupStore

__all__ = ["UsageAnswer", "UsageReader"]

_FIELDS = {
    Dimension.PROVIDER: "provider",
    Dimension.MODEL: "model",
    Dimension.TEAM: "team_id",
    Dimension.USER: "user_id",
    Dimension.ENDPOINT: "endpoint",
    Dimension.API_KEY: "api_key_id",
}
# Every zone's offset is a multiple of 15 minutes.
_RAW_BIN_MINUTES = 15
_DAY_MINUTES = 24 * 60
_HOUR = timedelta(hours=1)
# Raw hours read at once, for the hours in which a local day starts off the hour.
_PARALLEL_HOURS = 8

PARTIAL_HOURS = ("partial_hours", "the range holds no whole UTC hour, and no cell is smaller")
ZONE_OFFSET = (
    "zone_offset",
    "the time zone's offset is not a whole number of hours, so its buckets are not whole UTC hours",
)


@dataclass(frozen=True, slots=True)
class UsageAnswer:
    """Totals rows, and why the raw events answered them (a reason code and its
    explanation), or None when the rollups did."""

    rows: list[TotalsRow]
    reason: tuple[str, str] | None


def _field_of(group_by: GroupBy) -> str:
    if group_by.dimension is Dimension.METADATA:
        return f"metadata.{group_by.metadata_key}"
    return _FIELDS[group_by.dimension]


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _coarsest_cells(time_range: TimeRange, *, bucketed: bool, day_buckets: bool) -> str:
    """The coarsest cells that serve the question: totals take any, time buckets no coarser
    than their own."""
    if not bucketed:
        return "month"
    if day_buckets and time_range.zone_offsets_divide(timedelta(days=1)):
        return "day"
    return "hour"


class UsageReader:
    def __init__(
        self,
        events: AsyncCollection[Document],
        rollups: RollupStore,
        metadata_keys: MetadataKeyStore,
    ) -> None:
        self._events = events
        self._rollups = rollups
        self._metadata_keys = metadata_keys

    async def totals(
        self,
        org_id: str,
        time_range: TimeRange,
        usage_filter: UsageFilter,
        group_by: GroupBy | None,
        *,
        bucketed: bool,
        day_buckets: bool = False,
    ) -> UsageAnswer:
        """Totals of the range by the value of `group_by` (not a time dimension; None for
        one group), in time buckets when `bucketed`: rollup cells of an hour or (with
        `day_buckets`, where the zone's days are UTC days) coarser, or raw events' quarter
        hours. With `day_buckets` in a zone whose days start off the hour, the hours in which
        a day starts are read from the raw events in quarter hours, the others from cells."""
        field = None if group_by is None else _field_of(group_by)
        needed = set(usage_filter.restrictions())
        if field is not None:
            needed.add(field)
        family, reason = await self._family(org_id, needed)
        inner = time_range
        if family is not None and not time_range.is_hour_aligned():
            # The whole hours from the rollups, the partial ones at either end from raw events.
            whole = time_range.whole_hours()
            if whole is None:
                family, reason = None, PARTIAL_HOURS
            else:
                inner = whole
        split_hours: list[datetime] = []
        if family is not None and bucketed and not time_range.zone_offsets_divide(_HOUR):
            if day_buckets:
                split_hours = inner.hours_holding_a_local_midnight()
            else:
                family, reason = None, ZONE_OFFSET
        if family is None:
            rows = await self._raw(org_id, time_range, usage_filter, field, bucketed=bucketed)
            return UsageAnswer(rows, reason)
        rows = await self._rollups.totals(
            org_id,
            family=family,
            start=inner.start,
            end=inner.end,
            usage_filter=usage_filter,
            group_field=field,
            bucketed=bucketed,
            coarsest=_coarsest_cells(inner, bucketed=bucketed, day_buckets=day_buckets),
        )
        raw_ranges = [
            TimeRange(start, end, time_range.zone)
            for start, end in ((time_range.start, inner.start), (inner.end, time_range.end))
            if start < end
        ]
        if split_hours:
            split = set(split_hours)
            rows = [row for row in rows if _utc(row.bucket) not in split]
            raw_ranges += [TimeRange(hour, hour + _HOUR, time_range.zone) for hour in split_hours]
        for first in range(0, len(raw_ranges), _PARALLEL_HOURS):
            parts = await asyncio.gather(
                *(
                    self._raw(org_id, part, usage_filter, field, bucketed=bucketed)
                    for part in raw_ranges[first : first + _PARALLEL_HOURS]
                )
            )
            rows += [row for part in parts for row in part]
        return UsageAnswer(rows, None)

    async def tracked_by_day_and_model(
        self, org_id: str, time_range: TimeRange, provider: str, *, imported_by: str | None
    ) -> list[TotalsRow]:
        """A provider's totals per UTC day and model as stored: the events clients tracked,
        or (`imported_by`) those a connection imported from the provider's own report."""
        where: Document = (
            {"metadata.source": {"$ne": "import"}}
            if imported_by is None
            else {"metadata.connection_id": imported_by}
        )
        return await sum_usage(
            self._events,
            org_id,
            time_field="ts",
            start=time_range.start,
            end=time_range.end,
            usage_filter=UsageFilter(providers=(provider,)),
            group_field="model",
            bucket=TimeBucket("ts", bin_minutes=_DAY_MINUTES),
            where=where,
        )

    async def _raw(
        self,
        org_id: str,
        time_range: TimeRange,
        usage_filter: UsageFilter,
        field: str | None,
        *,
        bucketed: bool,
    ) -> list[TotalsRow]:
        return await sum_usage(
            self._events,
            org_id,
            time_field="ts",
            start=time_range.start,
            end=time_range.end,
            usage_filter=usage_filter,
            group_field=field,
            bucket=TimeBucket("ts", bin_minutes=_RAW_BIN_MINUTES) if bucketed else None,
        )

    async def _family(
        self, org_id: str, fields: set[str]
    ) -> tuple[str | None, tuple[str, str] | None]:
        """The rollup family that holds `fields`, or why none does."""
        keys = [f.removeprefix("metadata.") for f in fields if f.startswith("metadata.")]
        if not keys:
            family = family_for(fields)
            if family is not None:
                return family, None
            return None, ("dimensions", f"no rollup holds {', '.join(sorted(fields))} together")
        learned = await self._metadata_keys.of(org_id)
        family = family_for(fields, learned.rolled)
        if family is not None:
            return family, None
        [key] = keys
        state = learned.states.get(key)
        if not learned.complete:
            return None, (
                "metadata_incomplete",
                "this organization's metadata rollups do not hold its earliest events yet "
                "(`meterr rollups rebuild` fills them)",
            )
        if state is KeyState.TOO_MANY_VALUES:
            return None, (
                "metadata_values",
                f"metadata key '{key}' has more than {MAX_METADATA_VALUES} values, "
                "so it is not rolled up",
            )
        if state is KeyState.UNSUITABLE:
            return None, (
                "metadata_unsuitable",
                f"metadata key '{key}' has values other than strings of at most "
                f"{MAX_METADATA_VALUE_CHARS} characters, numbers and booleans, "
                "so it is not rolled up",
            )
        if state is None:
            return None, (
                "metadata_keys",
                f"this organization's rollups hold {MAX_METADATA_KEYS} metadata keys already, "
                f"and '{key}' is not one of them",
            )
        others = ", ".join(sorted(f for f in fields if not f.startswith("metadata.")))
        return None, (
            "metadata_filter",
            f"metadata rollups keep team, provider and model only, not {others}",
        )
