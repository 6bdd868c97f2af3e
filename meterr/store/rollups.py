"""Rollups: usage pre-summed per organization, period and family of dimensions.

Each document is one cell: the totals of one combination of a family's dimension values
in one hour or one day. A cost question picks the smallest family that holds the fields
it groups and filters by, and reads whole days from day cells and the edges of its range
from hour cells, so a month grouped by provider reads a few hundred documents at most.
High-cardinality families keep hour cells only: their day cells would cost a write per
user per event group and serve few questions.

Ingestion does not update cells directly. Each unit of work that stores events also stores
their increments, merged per cell, as one pending document per organization; a compactor
folds the pending documents into the cells every few seconds, in one transaction that also
deletes them. An increment thus exists exactly once at every moment, pending or applied, and
every read adds the pending increments to the cells, checking a generation number to be
sure no compaction committed while it read. The store upserts a cell several times slower
than it inserts a document, and a second's worth of events touches each cell once, not
once per request.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from pymongo import ASCENDING, IndexModel, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, PyMongoError

from meterr.domain import UsageEvent, UsageFilter, UsageTotals
from meterr.store.aggregates import TOTAL_FIELDS, TimeBucket, TotalsRow, group_totals, sum_usage
from meterr.store.documents import Document
from meterr.store.events import filter_query
from meterr.store.metadata_keys import MetadataKeys
from meterr.store.rollup_cells import (
    GRAIN_ORDER,
    LEADING,
    Cells,
    MetadataOf,
    add_sums,
    event_cells,
    grains_of,
    leading_values,
    spans,
)
from meterr.store.rollup_rebuild import expected_cells
from meterr.store.unit_of_work import Session, UnitOfWork

__all__ = ["RebuildReport", "RollupStore"]

_DUPLICATE_KEY = 11000
_GENERATION = "generation"
# The families and grains cells are made to; raised whenever they change, so that cells
# made to an earlier layout are rebuilt before anything reads them.
LAYOUT = 2
_LAYOUT = "layout"
_READ_ATTEMPTS = 50


@dataclass(frozen=True, slots=True)
class RebuildReport:
    org_id: str
    rollups: int
    differing: int

    @property
    def agreed(self) -> bool:
        return self.differing == 0


class _AlreadyCompacted(Exception):
    """Another compactor applied some of the pending documents first."""


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
        *(
            IndexModel(
                [
                    ("org_id", ASCENDING),
                    ("family", ASCENDING),
                    ("grain", ASCENDING),
                    (field, ASCENDING),
                    ("start", ASCENDING),
                ]
            )
            for field in sorted(set(LEADING.values()))
        ),
    )
    pending_indexes = (IndexModel([("org_id", ASCENDING), ("family", ASCENDING)]),)

    def __init__(
        self,
        collection: AsyncCollection[Document],
        pending: AsyncCollection[Document],
        state: AsyncCollection[Document],
        unit_of_work: UnitOfWork,
    ) -> None:
        self.collection = collection
        self.pending = pending
        self._state = state
        self._unit_of_work = unit_of_work

    async def _record(self, cells: Cells, session: Session) -> None:
        """Store increments as pending documents, one per organization and family, so that
        a read unwinds only the family it asks."""
        grouped: dict[tuple[str, str], list[Document]] = {}
        for cell_id, (identity, sums) in cells.items():
            if any(sums.values()):
                key = (identity["org_id"], identity["family"])
                grouped.setdefault(key, []).append({"_id": cell_id, **identity, **sums})
        if grouped:
            await self.pending.insert_many(
                [
                    {"org_id": org_id, "family": family, "cells": entries}
                    for (org_id, family), entries in grouped.items()
                ],
                session=session,
            )

    async def apply(
        self,
        events: Sequence[UsageEvent],
        sign: int = 1,
        session: Session = None,
        metadata: MetadataOf | None = None,
    ) -> None:
        """Record the events' increments (negative with sign=-1) in the caller's unit of
        work; `metadata` names the metadata cells each event moves."""
        await self._record(event_cells(events, sign, metadata=metadata), session)

    async def apply_changes(
        self,
        before: Sequence[UsageEvent],
        after: Sequence[UsageEvent],
        session: Session = None,
        metadata: MetadataOf | None = None,
    ) -> None:
        """Move totals from the old versions of events to their new versions."""
        taken = event_cells(before, -1, metadata=metadata)
        await self._record(event_cells(after, 1, into=taken, metadata=metadata), session)

    async def compact_across_tenants(self, limit: int = 500) -> int:
        """Fold up to `limit` pending documents, of every organization, into the cells.

        Returns how many were folded. Several instances may compact at once: the pending
        documents are deleted in the same transaction as the cells change, so a document
        another compactor claimed first aborts this one's transaction, and nothing is
        applied twice. Without transactions (standalone mongod), each document is claimed
        by deleting it before its increments are applied: nothing is applied twice either,
        but a crash between the two loses them until `rollups rebuild`.
        """
        docs = await self.pending.find({}).sort("_id", ASCENDING).limit(limit).to_list()
        if not docs:
            return 0
        ids = [doc["_id"] for doc in docs]

        async def fold(session: Session) -> int:
            claimed = docs
            if session is not None:
                deleted = await self.pending.delete_many({"_id": {"$in": ids}}, session=session)
                if deleted.deleted_count != len(ids):
                    raise _AlreadyCompacted
            else:
                claimed = [
                    doc
                    for doc in docs
                    if (await self.pending.delete_one({"_id": doc["_id"]})).deleted_count
                ]
            await self._write(_pending_increments(claimed), session)
            await self._state.update_one(
                {"_id": _GENERATION}, {"$inc": {"value": 1}}, upsert=True, session=session
            )
            return len(claimed)

        try:
            return await self._unit_of_work.run(fold)
        except _AlreadyCompacted:
            return 0

    async def compact_all_across_tenants(self) -> None:
        """Fold every pending document, however many there are."""
        while await self.compact_across_tenants():
            pass

    async def layout_is_current(self) -> bool:
        """Whether the cells were made to this layout; a store with no cells yet takes it."""
        doc = await self._state.find_one({"_id": _LAYOUT})
        if doc is not None:
            return int(doc["value"]) == LAYOUT
        if await self.collection.find_one({}, {"_id": 1}) is not None:
            return False
        await self.record_layout()
        return True

    async def record_layout(self) -> None:
        """The cells are now made to this layout."""
        await self._state.update_one({"_id": _LAYOUT}, {"$set": {"value": LAYOUT}}, upsert=True)

    async def _generation(self) -> int:
        doc = await self._state.find_one({"_id": _GENERATION})
        return int(doc["value"]) if doc else 0

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
        coarsest: str,
    ) -> list[TotalsRow]:
        """Totals over [start, end), both on whole UTC hours, read from the coarsest cells
        that fit (whole months, then days, then hours, as the family keeps them), none
        coarser than `coarsest`; buckets are the cells' periods."""
        allowed = GRAIN_ORDER[: GRAIN_ORDER.index(coarsest) + 1]
        periods = spans(start, end, [g for g in grains_of(family) if g in allowed])
        if not periods:
            return []
        for _ in range(_READ_ATTEMPTS):
            generation = await self._generation()
            rows = await self._family_totals(
                org_id, family, periods, usage_filter, group_field, bucketed=bucketed
            )
            if family.startswith("metadata."):
                # Only events carrying the key have its cells: the others are the rest of the
                # team family's totals, read in the same pass.
                everything = await self._family_totals(
                    org_id, "team", periods, usage_filter, None, bucketed=bucketed
                )
                rows += _without_value(everything, rows)
            if await self._generation() == generation:
                return rows
        raise PyMongoError("The rollups kept changing while they were read; try again.")

    async def _family_totals(
        self,
        org_id: str,
        family: str,
        periods: Sequence[tuple[str, datetime, datetime]],
        usage_filter: UsageFilter,
        group_field: str | None,
        *,
        bucketed: bool,
    ) -> list[TotalsRow]:
        rows: list[TotalsRow] = []
        for leading in leading_values(family, usage_filter):
            for grain, span_start, span_end in periods:
                rows += await sum_usage(
                    self.collection,
                    org_id,
                    time_field="start",
                    start=span_start,
                    end=span_end,
                    usage_filter=usage_filter,
                    group_field=group_field,
                    bucket=TimeBucket("start") if bucketed else None,
                    within={"family": family, "grain": grain, **leading},
                )
        rows += await self._pending_totals(
            org_id, family, periods, usage_filter, group_field, bucketed=bucketed
        )
        return rows

    async def _pending_totals(
        self,
        org_id: str,
        family: str,
        periods: Sequence[tuple[str, datetime, datetime]],
        usage_filter: UsageFilter,
        group_field: str | None,
        *,
        bucketed: bool,
    ) -> list[TotalsRow]:
        """What the pending documents add to the cells a read covers."""
        match = filter_query(org_id, usage_filter)
        match["$or"] = [
            {"grain": grain, "start": {"$gte": start, "$lt": end}} for grain, start, end in periods
        ]
        stages: list[Document] = [
            {"$match": {"org_id": org_id, "family": family}},
            {"$unwind": "$cells"},
            {"$replaceRoot": {"newRoot": "$cells"}},
            {"$match": match},
        ]
        bucket = TimeBucket("start") if bucketed else None
        return await group_totals(self.pending, stages, group_field, bucket)

    async def rebuild(
        self,
        org_id: str,
        events: AsyncCollection[Document],
        metadata: MetadataKeys | None = None,
    ) -> RebuildReport:
        """Recompute an organization's rollups from its raw events, with the cells of the
        metadata keys `metadata` rolls up, reporting any drift. Run it while the
        organization ingests nothing: events stored during the rebuild may be counted twice
        until the next one."""
        await self.compact_all_across_tenants()
        expected = await expected_cells(org_id, events, metadata)
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


def _without_value(everything: list[TotalsRow], valued: list[TotalsRow]) -> list[TotalsRow]:
    """Per bucket, the totals of the events without a value: all less those with one."""
    rest: dict[datetime | None, list[int]] = {}
    for row, sign in [*((row, 1) for row in everything), *((row, -1) for row in valued)]:
        sums = rest.setdefault(row.bucket, [0] * len(TOTAL_FIELDS))
        for index, field in enumerate(TOTAL_FIELDS):
            sums[index] += sign * getattr(row.totals, field)
    return [
        TotalsRow(None, bucket, UsageTotals(**dict(zip(TOTAL_FIELDS, sums, strict=True))))
        for bucket, sums in rest.items()
        if any(sums)
    ]


def _pending_increments(docs: Iterable[Document]) -> list[UpdateOne]:
    """The cells of pending documents, merged: one upsert per cell."""
    merged: Cells = {}
    for doc in docs:
        for entry in doc["cells"]:
            sums = {field: int(entry.get(field) or 0) for field in TOTAL_FIELDS}
            if entry["_id"] in merged:
                add_sums(merged[entry["_id"]][1], sums)
            else:
                identity = {k: v for k, v in entry.items() if k != "_id" and k not in sums}
                merged[entry["_id"]] = (identity, sums)
    return [
        UpdateOne({"_id": cell_id}, {"$inc": sums, "$setOnInsert": identity}, upsert=True)
        for cell_id, (identity, sums) in merged.items()
        if any(sums.values())
    ]


def _totals(doc: Document | None) -> tuple[int, ...]:
    if doc is None:
        return tuple(0 for _ in TOTAL_FIELDS)
    return tuple(int(doc.get(field) or 0) for field in TOTAL_FIELDS)
