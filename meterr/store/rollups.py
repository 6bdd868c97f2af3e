"""Hourly rollups: usage summed per organization, hour and every dimension at once."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, IndexModel, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection

from meterr.domain import UsageEvent
from meterr.store.aggregates import TOTAL_FIELDS
from meterr.store.documents import Document, event_to_document, hour_of

__all__ = ["ROLLUP_DIMENSIONS", "RebuildReport", "RollupStore"]

ROLLUP_DIMENSIONS = ("provider", "model", "team_id", "user_id", "endpoint", "api_key_id")


def _rollup_id(org_id: str, hour: datetime, dims: Sequence[Any]) -> str:
    # A deterministic _id makes every increment an upsert by primary key: the
    # cheapest write the store has, and safe from duplicate rollup documents.
    raw = json.dumps([org_id, hour.isoformat(), *dims], separators=(",", ":"))
    return hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()


class RollupStore:
    """Keeps hourly totals in step with the events collection."""

    indexes = (IndexModel([("org_id", ASCENDING), ("hour", ASCENDING)]),)

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    @staticmethod
    def increments(events: Iterable[UsageEvent], sign: int = 1) -> list[UpdateOne]:
        """Events merged in memory into one $inc per rollup document."""
        merged: dict[str, tuple[Document, dict[str, int]]] = {}
        for event in events:
            doc = event_to_document(event)
            dims = [doc[name] for name in ROLLUP_DIMENSIONS]
            hour = hour_of(event.timestamp)
            rollup_id = _rollup_id(event.org_id, hour, dims)
            if rollup_id not in merged:
                identity = {
                    "org_id": event.org_id,
                    "hour": hour,
                    **dict(zip(ROLLUP_DIMENSIONS, dims, strict=True)),
                }
                merged[rollup_id] = (identity, dict.fromkeys(TOTAL_FIELDS, 0))
            sums = merged[rollup_id][1]
            for field in TOTAL_FIELDS:
                sums[field] += sign * (doc[field] or 0)
        return [
            UpdateOne(
                {"_id": rollup_id},
                {"$inc": sums, "$setOnInsert": identity},
                upsert=True,
            )
            for rollup_id, (identity, sums) in merged.items()
        ]

    async def apply(self, events: Sequence[UsageEvent], sign: int = 1) -> None:
        requests = self.increments(events, sign)
        if requests:
            await self.collection.bulk_write(requests, ordered=False)

    async def apply_changes(
        self, before: Sequence[UsageEvent], after: Sequence[UsageEvent]
    ) -> None:
        """Move totals from the old versions of events to their new versions."""
        requests = self.increments(before, -1) + self.increments(after, 1)
        if requests:
            await self.collection.bulk_write(requests, ordered=False)

    async def rebuild(self, org_id: str, events: AsyncCollection[Document]) -> RebuildReport:
        """Recompute an organization's rollups from its raw events, reporting any drift."""
        group: Document = {
            "_id": {"hour": "$hour", **{name: f"${name}" for name in ROLLUP_DIMENSIONS}}
        }
        group.update({field: {"$sum": f"${field}"} for field in TOTAL_FIELDS})
        expected: dict[str, Document] = {}
        async for row in await events.aggregate(
            [{"$match": {"org_id": org_id}}, {"$group": group}]
        ):
            ident = row["_id"]
            dims = [ident.get(name) for name in ROLLUP_DIMENSIONS]
            rollup_id = _rollup_id(org_id, ident["hour"], dims)
            expected[rollup_id] = {
                "_id": rollup_id,
                "org_id": org_id,
                "hour": ident["hour"],
                **dict(zip(ROLLUP_DIMENSIONS, dims, strict=True)),
                **{field: int(row[field] or 0) for field in TOTAL_FIELDS},
            }
        found = {doc["_id"]: doc async for doc in self.collection.find({"org_id": org_id})}
        differing = sum(
            1
            for rollup_id in expected.keys() | found.keys()
            if _totals(expected.get(rollup_id)) != _totals(found.get(rollup_id))
        )
        await self.collection.delete_many({"org_id": org_id})
        if expected:
            await self.collection.insert_many(list(expected.values()), ordered=False)
        return RebuildReport(org_id=org_id, rollups=len(expected), differing=differing)


def _totals(doc: Document | None) -> tuple[int, ...]:
    if doc is None:
        return tuple(0 for _ in TOTAL_FIELDS)
    return tuple(int(doc.get(field) or 0) for field in TOTAL_FIELDS)


@dataclass(frozen=True, slots=True)
class RebuildReport:
    org_id: str
    rollups: int
    differing: int

    @property
    def agreed(self) -> bool:
        return self.differing == 0
