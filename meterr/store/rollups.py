"""Rollups: usage pre-summed per organization, period and family of dimensions.

Each document is one cell: the totals of one combination of a family's dimension values
in one hour or one day. A cost question picks the smallest family that holds the fields
it groups and filters by, and reads whole days from day cells and the edges of its range
from hour cells, so a month grouped by provider reads a few hundred documents at most.
High-cardinality families keep hour cells only: their day cells would cost a write per
user per event group and serve few questions.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, IndexModel, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

from meterr.domain import UsageEvent, UsageFilter
from meterr.store.aggregates import TOTAL_FIELDS, TimeBucket, TotalsRow, sum_usage
from meterr.store.documents import Document, event_to_document, hour_of
from meterr.store.unit_of_work import Session

__all__ = ["FAMILIES", "RebuildReport", "RollupStore", "family_for"]

FAMILIES: dict[str, tuple[str, ...]] = {
    "base": ("provider", "model"),
    "team": ("team_id", "provider", "model"),
    "source": ("endpoint", "api_key_id", "provider", "model"),
    "user": ("user_id", "team_id", "provider", "model"),
}
_GRAINS: dict[str, tuple[str, ...]] = {
    "base": ("hour", "day"),
    "team": ("hour", "day"),
    "source": ("hour",),
    "user": ("hour",),
}
_DUPLICATE_KEY = 11000


def family_for(fields: Iterable[str]) -> str | None:
    """The smallest family holding every field, or None when only raw events can answer."""
    wanted = set(fields)
    for name, dims in FAMILIES.items():  # ordered from fewest to most cells
        if wanted <= set(dims):
            return name
    return None


def _period_start(moment: datetime, grain: str) -> datetime:
    hour = hour_of(moment)
    return hour.replace(hour=0) if grain == "day" else hour


def _cell_id(org_id: str, family: str, grain: str, start: datetime, dims: Sequence[Any]) -> str:
    # A deterministic _id makes every change an upsert by primary key: the cheapest
    # write the store has, and never two documents for one cell.
    raw = json.dumps([org_id, family, grain, start.isoformat(), *dims], separators=(",", ":"))
    return hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()


@dataclass(frozen=True, slots=True)
class RebuildReport:
    org_id: str
    rollups: int
    differing: int

    @property
    def agreed(self) -> bool:
        return self.differing == 0


class RollupStore:
    """Keeps the rollups in step with the events collection."""

    indexes = (
        IndexModel(
            [
                ("org_id", ASCENDING),
                ("family", ASCENDING),
                ("grain", ASCENDING),
                ("start", ASCENDING),
            ]
        ),
    )

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    @staticmethod
    def _cells(
        events: Iterable[UsageEvent], sign: int
    ) -> dict[str, tuple[Document, dict[str, int]]]:
        """Events merged in memory: cell id -> (identity, sums)."""
        merged: dict[tuple[Any, ...], list[int]] = {}
        for event in events:
            doc = event_to_document(event)
            values = [sign * (doc[field] or 0) for field in TOTAL_FIELDS]
            starts = {grain: _period_start(event.timestamp, grain) for grain in ("hour", "day")}
            for family, fields in FAMILIES.items():
                dims = tuple(doc[field] for field in fields)
                for grain in _GRAINS[family]:
                    key = (event.org_id, family, grain, starts[grain], dims)
                    sums = merged.get(key)
                    if sums is None:
                        merged[key] = list(values)
                    else:
                        for index, value in enumerate(values):
                            sums[index] += value
        cells: dict[str, tuple[Document, dict[str, int]]] = {}
        for (org_id, family, grain, start, dims), sums in merged.items():
            identity = {
                "org_id": org_id,
                "family": family,
                "grain": grain,
                "start": start,
                **dict(zip(FAMILIES[family], dims, strict=True)),
            }
            cell_id = _cell_id(org_id, family, grain, start, dims)
            cells[cell_id] = (identity, dict(zip(TOTAL_FIELDS, sums, strict=True)))
        return cells

    def increments(self, events: Iterable[UsageEvent], sign: int = 1) -> list[UpdateOne]:
        return [
            UpdateOne({"_id": cell_id}, {"$inc": sums, "$setOnInsert": identity}, upsert=True)
            for cell_id, (identity, sums) in self._cells(events, sign).items()
        ]

    async def _write(self, requests: list[UpdateOne], session: Session = None) -> None:
        if not requests:
            return
        try:
            await self.collection.bulk_write(requests, ordered=False, session=session)
        except BulkWriteError as exc:
            if session is not None:
                raise  # the transaction is aborted; the driver retries it whole
            # Two writers creating the same cell at once: one upsert loses the race on
            # _id. The cell exists now, so the same update simply applies.
            errors = exc.details.get("writeErrors", [])
            if any(error.get("code") != _DUPLICATE_KEY for error in errors):
                raise
            await self.collection.bulk_write(
                [requests[int(error["index"])] for error in errors], ordered=False
            )

    async def apply(
        self, events: Sequence[UsageEvent], sign: int = 1, session: Session = None
    ) -> None:
        await self._write(self.increments(events, sign), session)

    async def apply_changes(
        self, before: Sequence[UsageEvent], after: Sequence[UsageEvent], session: Session = None
    ) -> None:
        """Move totals from the old versions of events to their new versions."""
        await self._write(self.increments(before, -1) + self.increments(after, 1), session)

    async def totals(
        self,
        org_id: str,
        *,
        family: str,
        start: datetime,
        end: datetime,
        usage_filter: UsageFilter,
        group_field: str | None,
        bucketed: bool,
        whole_days: bool,
    ) -> list[TotalsRow]:
        """Totals over [start, end), both on whole UTC hours. Whole UTC days inside the range
        come from day cells where the family keeps them and `whole_days` allows; buckets
        are the cells' periods."""
        first_day = _period_start(start, "day")
        if first_day < start:
            first_day += timedelta(days=1)
        last_day = _period_start(end, "day")
        if whole_days and "day" in _GRAINS[family] and first_day < last_day:
            spans = [
                ("day", first_day, last_day),
                ("hour", start, first_day),
                ("hour", last_day, end),
            ]
        else:
            spans = [("hour", start, end)]
        rows: list[TotalsRow] = []
        for grain, span_start, span_end in spans:
            if span_start >= span_end:
                continue
            rows += await sum_usage(
                self.collection,
                org_id,
                time_field="start",
                start=span_start,
                end=span_end,
                usage_filter=usage_filter,
                group_field=group_field,
                bucket=TimeBucket("start") if bucketed else None,
                scope={"family": family, "grain": grain},
            )
        return rows

    async def rebuild(self, org_id: str, events: AsyncCollection[Document]) -> RebuildReport:
        """Recompute an organization's rollups from its raw events, reporting any drift."""
        dims = sorted({field for fields in FAMILIES.values() for field in fields})
        group: Document = {"_id": {"hour": "$hour", **{name: f"${name}" for name in dims}}}
        group.update({field: {"$sum": f"${field}"} for field in TOTAL_FIELDS})
        expected: dict[str, Document] = {}
        pipeline = [{"$match": {"org_id": org_id}}, {"$group": group}]
        async for row in await events.aggregate(pipeline):
            ident = row["_id"]
            hour = ident["hour"]
            for family, fields in FAMILIES.items():
                values = [ident.get(field) for field in fields]
                for grain in _GRAINS[family]:
                    start = _period_start(hour, grain)
                    cell_id = _cell_id(org_id, family, grain, start, values)
                    cell = expected.setdefault(
                        cell_id,
                        {
                            "_id": cell_id,
                            "org_id": org_id,
                            "family": family,
                            "grain": grain,
                            "start": start,
                            **dict(zip(fields, values, strict=True)),
                            **dict.fromkeys(TOTAL_FIELDS, 0),
                        },
                    )
                    for field in TOTAL_FIELDS:
                        cell[field] += int(row[field] or 0)
        found = {doc["_id"]: doc async for doc in self.collection.find({"org_id": org_id})}
        differing = sum(
            1
            for cell_id in expected.keys() | found.keys()
            if _totals(expected.get(cell_id)) != _totals(found.get(cell_id))
        )
        await self.collection.delete_many({"org_id": org_id})
        if expected:
            await self.collection.insert_many(list(expected.values()), ordered=False)
        return RebuildReport(org_id=org_id, rollups=len(expected), differing=differing)


def _totals(doc: Document | None) -> tuple[int, ...]:
    if doc is None:
        return tuple(0 for _ in TOTAL_FIELDS)
    return tuple(int(doc.get(field) or 0) for field in TOTAL_FIELDS)
