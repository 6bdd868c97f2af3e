"""Rollups stay equal to the raw events they summarize, under concurrency, repricing and repair."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from meterr.domain import UsageEvent
from meterr.resolvers import rebuild_rollups
from meterr.store import Store
from tests.conftest import KeyFactory, bearer, eventually
from tests.support.events import usage_event
from tests.support.exact import inexact
from tests.support.orgs import org_id_of_key

MARCH = {"start_date": "2025-03-01", "end_date": "2025-03-31"}


def events_in_march(count: int) -> list[dict[str, object]]:
    start = datetime(2025, 3, 1, tzinfo=UTC)
    return [
        {
            "provider": ["openai", "anthropic"][i % 2],
            "model": ["gpt-4o", "claude-3-opus"][i % 2],
            "input_tokens": 1000 + i,
            "output_tokens": 10 * i,
            "team_id": f"team-{i % 3}",
            "user_id": f"user-{i % 5}",
            "endpoint": "/chat",
            "metadata": {"feature": f"f{i % 2}"},
            "timestamp": (start + timedelta(hours=7 * i, minutes=i)).isoformat(),
        }
        for i in range(count)
    ]


async def test_aligned_ranges_are_answered_from_rollups_and_others_from_raw_events(
    client: httpx.AsyncClient, make_key: KeyFactory, store: Store
) -> None:
    key = await make_key()
    response = await client.post(
        "/v1/track", headers=bearer(key), json={"events": events_in_march(40)}
    )
    assert response.status_code == 201
    before = (await client.get("/v1/costs", headers=bearer(key), params=MARCH)).json()
    assert set(before) == {"openai", "anthropic"}

    # With the raw events gone, only rollups can still answer.
    await store.events.collection.delete_many({"org_id": await org_id_of_key(store, key)})
    for group_by in ("provider", "team", "user", "endpoint", "day"):
        params = {**MARCH, "group_by": group_by}
        answer = (await client.get("/v1/costs", headers=bearer(key), params=params)).json()
        assert sum(g["tokens"] for g in answer.values()) == sum(
            g["tokens"] for g in before.values()
        )
    assert (await client.get("/v1/costs", headers=bearer(key), params=MARCH)).json() == before
    # The metadata keys its events carry are rolled up too.
    by_feature = await client.get(
        "/v1/costs", headers=bearer(key), params={**MARCH, "group_by": "metadata.feature"}
    )
    assert by_feature.headers["X-Meterr-Source"] == "rollups"
    assert set(by_feature.json()) == {"f0", "f1"}
    assert sum(g["tokens"] for g in by_feature.json().values()) == sum(
        g["tokens"] for g in before.values()
    )
    # No rollup holds a user and an endpoint together: the raw events answer, and say so.
    raw_only = {**MARCH, "group_by": "endpoint", "user_id": "user-1"}
    response = await client.get("/v1/costs", headers=bearer(key), params=raw_only)
    assert response.json() == {}
    assert response.headers["X-Meterr-Source"] == "events"
    assert "endpoint, user_id" in response.headers["X-Meterr-Source-Reason"]


async def test_rebuild_agrees_after_ingestion_and_repairs_drift(
    client: httpx.AsyncClient, make_key: KeyFactory, store: Store
) -> None:
    key = await make_key()
    await client.post("/v1/track", headers=bearer(key), json={"events": events_in_march(30)})
    org_id = await org_id_of_key(store, key)
    [report] = await rebuild_rollups(store, org_id)
    assert report.agreed
    assert report.rollups > 0
    truth = (await client.get("/v1/costs", headers=bearer(key), params=MARCH)).json()

    await store.rollups.collection.update_many(
        {"org_id": org_id, "family": "base"}, {"$inc": {"cost_nano": 1_000_000_000}}
    )
    drifted = (await client.get("/v1/costs", headers=bearer(key), params=MARCH)).json()
    assert drifted != truth
    [report] = await rebuild_rollups(store, org_id)
    assert not report.agreed
    assert report.differing > 0
    assert (await client.get("/v1/costs", headers=bearer(key), params=MARCH)).json() == truth


async def test_concurrent_writers_on_one_store_count_every_event_once(
    mongodb_url: str, store: Store
) -> None:
    clients: list[AsyncMongoClient[dict[str, Any]]] = [
        AsyncMongoClient(mongodb_url, tz_aware=True) for _ in range(3)
    ]
    stores = [Store(c, c[store.db.name]) for c in clients]
    hour = datetime(2025, 4, 1, 10, tzinfo=UTC)

    def event(writer: int, i: int) -> UsageEvent:
        return usage_event(
            "org_concurrent", f"w{writer}-{i}", hour + timedelta(seconds=i), team_id="team"
        )

    try:
        await asyncio.gather(
            *(s.writer.write([event(w, i)]) for i in range(30) for w, s in enumerate(stores))
        )
    finally:
        for c in clients:
            await c.close()
    [report] = await rebuild_rollups(store, "org_concurrent")
    assert report.agreed
    day = await store.rollups.collection.find_one(
        {"org_id": "org_concurrent", "family": "base", "grain": "day"}
    )
    assert day is not None
    assert day["requests"] == 90
    assert day["input_tokens"] == 900


async def test_repricing_moves_rollups_with_the_events(
    client: httpx.AsyncClient, make_key: KeyFactory, store: Store
) -> None:
    key = await make_key()
    body = {**events_in_march(1)[0], "model": "house-model", "provider": "openai"}
    await client.post("/v1/track", headers=bearer(key), json=body)
    unpriced = inexact((await client.get("/v1/costs", headers=bearer(key), params=MARCH)).json())
    assert unpriced == {"openai": {"total": 0.0, "tokens": 1000}}

    dry = await client.post(
        "/v1/prices/reprice",
        headers=bearer(key),
        json={"start_date": "2025-03-01", "end_date": "2025-03-31", "dry_run": True},
    )
    assert dry.json()["changed"] == 0
    override = await client.post(
        "/v1/prices/overrides",
        headers=bearer(key),
        json={
            "provider": "openai",
            "model": "house-model",
            "input": "1",
            "output": "2",
            "reprice_unpriced": False,
        },
    )
    assert override.status_code == 201
    preview = await client.post(
        "/v1/prices/reprice",
        headers=bearer(key),
        json={"start_date": "2025-03-01", "end_date": "2025-03-31", "dry_run": True},
    )
    assert preview.json()["changed"] == 1
    assert preview.json()["models"][0]["new_cost"] == 0.001
    unchanged = inexact((await client.get("/v1/costs", headers=bearer(key), params=MARCH)).json())
    assert unchanged == unpriced

    applied = await client.post(
        "/v1/prices/reprice",
        headers=bearer(key),
        json={"start_date": "2025-03-01", "end_date": "2025-03-31", "dry_run": False},
    )
    assert applied.json()["applied"] is True
    after = (await client.get("/v1/costs", headers=bearer(key), params=MARCH)).json()
    assert after == {"openai": {"total": 0.001, "total_exact": "0.001", "tokens": 1000}}
    [report] = await rebuild_rollups(store, await org_id_of_key(store, key))
    assert report.agreed


async def test_the_service_folds_pending_increments_on_its_own(
    client: httpx.AsyncClient, make_key: KeyFactory, store: Store
) -> None:
    key = await make_key()
    response = await client.post(
        "/v1/track", headers=bearer(key), json={"events": events_in_march(5)}
    )
    assert response.status_code == 201
    org_id = await org_id_of_key(store, key)

    async def folded() -> bool:
        return not await store.rollups.pending.count_documents({"org_id": org_id})

    await eventually(folded)
    assert await store.rollups.collection.count_documents({"org_id": org_id}) > 0
