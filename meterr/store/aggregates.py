"""One $group pipeline that sums usage over raw events or hourly rollups alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from meterr.domain import UsageFilter, UsageTotals
from meterr.store.documents import Document
from meterr.store.events import restrictions_query

__all__ = ["TOTAL_FIELDS", "TimeBucket", "TotalsRow", "group_totals", "sum_usage"]

TOTAL_FIELDS = (
    "requests",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost_nano",
    "unpriced_requests",
)


@dataclass(frozen=True, slots=True)
class TimeBucket:
    """How finely to split totals in time: a stored hour field, or bins of raw timestamps."""

    field: str
    bin_minutes: int | None = None

    def expression(self) -> Any:
        if self.bin_minutes is None:
            return f"${self.field}"
        return {
            "$dateTrunc": {"date": f"${self.field}", "unit": "minute", "binSize": self.bin_minutes}
        }


@dataclass(frozen=True, slots=True)
class TotalsRow:
    key: str | None
    bucket: datetime | None
    totals: UsageTotals


async def sum_usage(
    collection: AsyncCollection[Document],
    org_id: str,
    *,
    time_field: str,
    start: datetime,
    end: datetime,
    usage_filter: UsageFilter,
    group_field: str | None,
    bucket: TimeBucket | None,
    within: Document | None = None,
    where: Document | None = None,
) -> list[TotalsRow]:
    """Totals of the documents of [start, end) that pass the filter and `where`.

    The first stage names only what the collection's index holds (the organization, the
    equalities of `within`, then the time range), and the filter and `where` follow in a
    stage of their own: the embedded store plans a stage that names any other field as a
    scan of the whole collection, every organization's documents included."""
    indexed: Document = {"org_id": org_id, **(within or {})}
    indexed[time_field] = {"$gte": start, "$lt": end}
    stages: list[Document] = [{"$match": indexed}]
    rest = {**restrictions_query(usage_filter), **(where or {})}
    if rest:
        stages.append({"$match": rest})
    return await group_totals(collection, stages, group_field, bucket)


async def group_totals(
    collection: AsyncCollection[Document],
    stages: list[Document],
    group_field: str | None,
    bucket: TimeBucket | None,
) -> list[TotalsRow]:
    """Totals of what `stages` yield, by the value of `group_field` and time bucket."""
    group_id: dict[str, Any] = {}
    if group_field is not None:
        group_id["k"] = f"${group_field}"
    if bucket is not None:
        group_id["b"] = bucket.expression()
    group: dict[str, Any] = {"_id": group_id or None}
    group.update({field: {"$sum": f"${field}"} for field in TOTAL_FIELDS})
    cursor = await collection.aggregate([*stages, {"$group": group}])
    rows = []
    async for doc in cursor:
        ident = doc["_id"] or {}
        key = ident.get("k")
        rows.append(
            TotalsRow(
                key=None if key is None else str(key),
                bucket=ident.get("b"),
                totals=UsageTotals(**{field: int(doc[field] or 0) for field in TOTAL_FIELDS}),
            )
        )
    return rows
