"""Pending rollup increments: stored with their events, counted by every read, folded into
the cells exactly once however many instances fold at the same time.

No test here runs the service, so that no background compactor folds behind their back."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from meterr.domain import UsageEvent, UsageFilter, UsageTotals
from meterr.resolvers import rebuild_rollups
from meterr.store import Store
from tests.support.events import usage_event


async def test_an_event_and_its_rollup_increments_are_stored_together_or_not_at_all(
    store: Store,
) -> None:
    def event(i: int) -> UsageEvent:
        return usage_event("org_atomic", f"atomic-{i}", datetime(2025, 5, 1, 12, i, tzinfo=UTC))

    await store.writer.write([event(1)])
    # No two pending documents may name the same cell now: the next event's increments,
    # which touch the same cells, fail to be stored.
    await store.rollups.pending.create_index("cells._id", unique=True, name="one_per_cell")
    try:
        with pytest.raises(PyMongoError):
            await store.writer.write([event(2)])
    finally:
        await store.rollups.pending.drop_index("one_per_cell")
    stored = await store.events.collection.distinct("event_id", {"org_id": "org_atomic"})
    assert stored == ["atomic-1"], "the failed unit of work left its event behind"
    await store.rollups.compact_all_across_tenants()
    day = await store.rollups.collection.find_one(
        {"org_id": "org_atomic", "family": "base", "grain": "day"}
    )
    assert day is not None
    assert day["requests"] == 1, "the failed unit of work left a rollup increment behind"


async def month_totals(store: Store, org_id: str) -> UsageTotals:
    """Totals of March 2025 from the rollups, day cells in the middle and hour cells at the
    edges: three reads that a compaction could fall between."""
    rows = await store.rollups.totals(
        org_id,
        family="team",
        start=datetime(2025, 3, 1, 5, tzinfo=UTC),
        end=datetime(2025, 3, 30, 7, tzinfo=UTC),
        usage_filter=UsageFilter(),
        group_field=None,
        bucketed=False,
        coarsest="day",
    )
    return sum((row.totals for row in rows), UsageTotals())


def march_events(org_id: str, count: int, prefix: str) -> list[UsageEvent]:
    start = datetime(2025, 3, 1, 6, tzinfo=UTC)
    return [
        usage_event(org_id, f"{prefix}-{i}", start + timedelta(hours=17 * i), team_id=f"t{i % 3}")
        for i in range(count)
    ]


async def test_pending_increments_count_in_reads_until_folded_into_the_cells(
    store: Store,
) -> None:
    await store.writer.write(march_events("org_fold", 40, "fold"))
    families = await store.rollups.pending.distinct("family", {"org_id": "org_fold"})
    assert sorted(families) == ["base", "source", "team", "user"], "one document per family"
    assert await store.rollups.collection.count_documents({"org_id": "org_fold"}) == 0
    before = await month_totals(store, "org_fold")
    assert (before.requests, before.input_tokens) == (40, 400)

    assert await store.rollups.compact_across_tenants() >= 1
    assert await store.rollups.pending.count_documents({"org_id": "org_fold"}) == 0
    assert await store.rollups.collection.count_documents({"org_id": "org_fold"}) > 0
    assert await month_totals(store, "org_fold") == before
    [report] = await rebuild_rollups(store, "org_fold")
    assert report.agreed


async def test_reads_stay_exact_while_several_instances_fold_at_once(
    mongodb_url: str, store: Store
) -> None:
    clients: list[AsyncMongoClient[dict[str, Any]]] = [
        AsyncMongoClient(mongodb_url, tz_aware=True) for _ in range(3)
    ]
    stores = [Store(c, c[store.db.name]) for c in clients]
    try:
        for round_ in range(5):
            for i, instance in enumerate(stores):
                await instance.writer.write(march_events("org_race", 10, f"r{round_}-{i}"))
            expected = 30 * (round_ + 1)
            pending = await store.rollups.pending.count_documents({"org_id": "org_race"})
            reads = [month_totals(s, "org_race") for s in stores for _ in range(5)]
            folds = [s.rollups.compact_across_tenants() for s in stores]
            results = await asyncio.gather(*folds, *reads)
            folded = [int(count) for count in results[: len(folds)] if isinstance(count, int)]
            assert sum(folded) == pending, "each pending document folded once"
            for totals in results[len(folds) :]:
                assert isinstance(totals, UsageTotals)
                assert totals.requests == expected
    finally:
        for c in clients:
            await c.close()
    assert await store.rollups.pending.count_documents({"org_id": "org_race"}) == 0
    [report] = await rebuild_rollups(store, "org_race")
    assert report.agreed


async def test_a_failed_fold_keeps_the_pending_increments_for_the_next(store: Store) -> None:
    first, second = march_events("org_refold", 2, "refold")
    await store.writer.write([first])
    await store.rollups.compact_all_across_tenants()
    await store.writer.write([second])
    cell = {"org_id": "org_refold", "family": "base", "grain": "day"}
    await store.rollups.collection.update_one(cell, {"$set": {"requests": "not a number"}})
    pending = await store.rollups.pending.count_documents({"org_id": "org_refold"})
    with pytest.raises(PyMongoError):
        await store.rollups.compact_all_across_tenants()
    assert await store.rollups.pending.count_documents({"org_id": "org_refold"}) == pending

    await store.rollups.collection.update_one(cell, {"$set": {"requests": 1}})
    await store.rollups.compact_all_across_tenants()
    assert await store.rollups.pending.count_documents({"org_id": "org_refold"}) == 0
    day = await store.rollups.collection.find_one(cell)
    assert day is not None
    assert day["requests"] == 2
