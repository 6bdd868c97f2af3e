"""Budgets' spend is kept as events are stored: it equals the raw events to the nano-dollar
after concurrent ingestion on two instances, repricing, a team's deletion and a rollup
rebuild, follows budget changes made on another instance, and tracking never sums usage."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient, monitoring

from meterr.app import create_app
from meterr.clock import SettableClock
from meterr.config import Settings
from meterr.resolvers.maintenance import rebuild_rollups
from meterr.store import Store
from tests.conftest import KeyFactory, api_only, bearer
from tests.support.apps import instances
from tests.support.budgets import create

_UNPRICED = "house-model-9"


def _event(index: int, team_id: str) -> dict[str, Any]:
    models = ["gpt-4o", "gpt-4o-mini", _UNPRICED]
    return {
        "provider": "openai",
        "model": models[index % 3],
        "input_tokens": 1000 + index,
        "output_tokens": 10 * index,
        "team_id": team_id if index % 2 else "team_other",
        "user_id": f"user_{index % 4}",
    }


async def _raw_spend(store: Store, budget_id: str, now: datetime) -> tuple[int, int]:
    """What the budget's period holds by the raw events: cost in nano-USD, and tokens."""
    doc = await store.budgets.collection.find_one({"_id": budget_id})
    assert doc is not None
    budget = await store.budgets.get(doc["org_id"], budget_id)
    assert budget is not None
    start, end = budget.period_at(now)
    match: dict[str, Any] = {"org_id": budget.org_id, "ts": {"$gte": start}}
    if end is not None:
        match["ts"]["$lt"] = end
    if budget.scope.field is not None:
        match[budget.scope.field] = budget.scope.value
    cost, tokens = 0, 0
    async for row in store.events.collection.find(match):
        cost += int(row.get("cost_nano") or 0)
        tokens += int(row["input_tokens"]) + int(row["output_tokens"])
    return cost, tokens


async def _kept(store: Store, budget_id: str, now: datetime) -> tuple[int, int]:
    """The budget's kept spend: its period's seed plus what was counted since."""
    doc = await store.budgets.collection.find_one({"_id": budget_id})
    assert doc is not None
    budget = await store.budgets.get(doc["org_id"], budget_id)
    assert budget is not None
    key = (budget_id, budget.period_key(budget.period_at(now)[0]))
    spend = (await store.budget_spend.read(budget.org_id, [key]))[key]
    assert spend.cost is not None
    assert spend.tokens is not None
    return spend.cost, spend.tokens


async def _costs_total(client: httpx.AsyncClient, key: str, params: dict[str, str]) -> float:
    response = await client.get(
        "/v1/costs", headers=bearer(key), params={"group_by": "provider", **params}
    )
    assert response.status_code == 200, response.text
    return round(sum(group["total"] for group in response.json().values()), 6)


async def test_kept_spend_equals_the_raw_events_after_concurrent_ingestion_repricing_and_deletion(
    settings: Settings,
    mongodb_url: str,
    store: Store,
    make_key: KeyFactory,
    clock: SettableClock,
) -> None:
    key = await make_key()
    async with instances(api_only(settings), mongodb_url, store, 2, clock) as clients:
        team = await clients[0].post("/v1/teams", headers=bearer(key), json={"name": "Kept"})
        assert team.status_code == 201, team.text
        team_id = team.json()["id"]
        # Events before any budget: the budgets created after must count them too.
        for index in range(6):
            tracked = await clients[index % 2].post(
                "/v1/track", headers=bearer(key), json=_event(index, team_id)
            )
            assert tracked.status_code == 201, tracked.text
        budgets = [
            await create(clients[0], key, {"name": "Org", "limit": 1000}),
            await create(clients[1], key, {"name": "Team", "team_id": team_id, "limit": 1000}),
            await create(
                clients[0],
                key,
                {"name": "User", "user_id": "user_1", "limit": 10**9, "unit": "tokens"},
            ),
            await create(
                clients[1],
                key,
                {"name": "Model", "model": _UNPRICED, "limit": 1000, "period": "week"},
            ),
            await create(
                clients[0],
                key,
                {"name": "Day", "limit": 1000, "period": "day", "timezone": "Asia/Kolkata"},
            ),
        ]
        singles = [
            clients[index % 2].post("/v1/track", headers=bearer(key), json=_event(index, team_id))
            for index in range(6, 46)
        ]
        batches = [
            clients[batch % 2].post(
                "/v1/track",
                headers=bearer(key),
                json={"events": [_event(100 * batch + i, team_id) for i in range(25)]},
            )
            for batch in range(1, 7)
        ]
        answers = await asyncio.gather(*singles, *batches)
        assert all(answer.status_code == 201 for answer in answers)
        now = clock.now()
        for budget in budgets:
            assert await _kept(store, budget["id"], now) == await _raw_spend(
                store, budget["id"], now
            ), budget["name"]

        override = {"provider": "openai", "model": _UNPRICED, "input": "2.5", "output": "10"}
        priced = await clients[1].post("/v1/prices/overrides", headers=bearer(key), json=override)
        assert priced.status_code == 201, priced.text
        deleted = await clients[0].delete(f"/v1/teams/{team_id}", headers=bearer(key))
        assert deleted.status_code == 204, deleted.text
        now = clock.now()
        model_spend = await _kept(store, budgets[3]["id"], now)
        assert model_spend[0] > 0, "repricing moved the model budget's spend"
        for budget in budgets:
            assert await _kept(store, budget["id"], now) == await _raw_spend(
                store, budget["id"], now
            ), budget["name"]

        # The REST answers agree with /v1/costs over the same scope and period.
        listed = (await clients[1].get("/v1/budgets", headers=bearer(key))).json()["budgets"]
        by_name = {budget["name"]: budget for budget in listed}
        month = {"start_date": now.date().replace(day=1).isoformat()}
        assert by_name["Org"]["current"] == await _costs_total(clients[0], key, month)
        assert by_name["Team"]["current"] == await _costs_total(
            clients[0], key, {**month, "team_id": team_id}
        )

        # Rebuilt rollups leave every period to be seeded from them again, to the same spend.
        org_id = (await store.budgets.collection.find_one({"_id": budgets[0]["id"]}) or {})[
            "org_id"
        ]
        await rebuild_rollups(store, org_id)
        again = (await clients[0].get("/v1/budgets", headers=bearer(key))).json()["budgets"]
        assert [b["current"] for b in again] == [b["current"] for b in listed]


async def test_a_budget_made_or_changed_on_another_instance_counts_from_the_next_event(
    settings: Settings,
    mongodb_url: str,
    store: Store,
    make_key: KeyFactory,
    clock: SettableClock,
) -> None:
    key = await make_key()
    one = {"provider": "openai", "model": "gpt-4o", "input_tokens": 1000, "output_tokens": 0}
    async with instances(api_only(settings), mongodb_url, store, 2, clock) as (first, second):
        # The first instance has loaded the organization's budgets (none) by tracking.
        await first.post("/v1/track", headers=bearer(key), json={**one, "team_id": "a"})
        budget = await create(
            second, key, {"name": "A", "team_id": "a", "limit": 10**6, "unit": "tokens"}
        )
        assert budget["current"] == 1000
        await first.post("/v1/track", headers=bearer(key), json={**one, "team_id": "a"})
        fetched = await second.get(f"/v1/budgets/{budget['id']}", headers=bearer(key))
        assert fetched.json()["current"] == 2000

        patched = await second.patch(
            f"/v1/budgets/{budget['id']}", headers=bearer(key), json={"team_id": "b"}
        )
        assert patched.json()["current"] == 0
        await first.post("/v1/track", headers=bearer(key), json={**one, "team_id": "a"})
        await first.post("/v1/track", headers=bearer(key), json={**one, "team_id": "b"})
        fetched = await second.get(f"/v1/budgets/{budget['id']}", headers=bearer(key))
        assert fetched.json()["current"] == 1000

        deleted = await second.delete(f"/v1/budgets/{budget['id']}", headers=bearer(key))
        assert deleted.status_code == 204
        await first.post("/v1/track", headers=bearer(key), json={**one, "team_id": "b"})
        left = await store.budget_spend.periods.count_documents({"budget_id": budget["id"]})
        assert left == 0, "a deleted budget is no longer counted"


_WRITES = {"insert", "update", "delete", "findAndModify"}


class _Reads(monitoring.CommandListener):
    """The reads sent (command, collection), and the writes apart."""

    def __init__(self) -> None:
        self.commands: list[tuple[str, str]] = []
        self.writes: list[tuple[str, str]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        name = event.command_name
        if name in {"find", "aggregate", "count"}:
            self.commands.append((name, str(event.command.get(name))))
        elif name in _WRITES:
            self.writes.append((name, str(event.command.get(name))))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@pytest.fixture
async def recorded(
    settings: Settings, mongodb_url: str, store: Store, clock: SettableClock
) -> AsyncIterator[tuple[httpx.AsyncClient, _Reads]]:
    reads = _Reads()
    mongo: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        mongodb_url, tz_aware=True, event_listeners=[reads]
    )
    app = create_app(api_only(settings), store=Store(mongo, mongo[store.db.name]), clock=clock)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://m.test") as http:
                yield http, reads
    finally:
        await mongo.close()


async def test_tracking_under_many_budgets_reads_their_kept_spend_in_one_query(
    recorded: tuple[httpx.AsyncClient, _Reads], make_key: KeyFactory
) -> None:
    client, reads = recorded
    key = await make_key()
    scopes: list[dict[str, Any]] = [
        {},
        {"team_id": "team_1"},
        {"user_id": "user_1"},
        {"model": "gpt-4o"},
        {"provider": "openai"},
    ]
    for index in range(20):
        scope = scopes[index % len(scopes)]
        period = ("month", "week", "day", "total")[index % 4]
        await create(client, key, {"name": f"B{index}", "limit": 10**6, "period": period, **scope})
    call = {
        "provider": "openai",
        "model": "gpt-4o",
        "input_tokens": 100,
        "output_tokens": 10,
        "team_id": "team_1",
        "user_id": "user_1",
    }
    first = await client.post("/v1/track", headers=bearer(key), json=call)
    assert first.status_code == 201, first.text
    reads.commands.clear()
    second = await client.post("/v1/track", headers=bearer(key), json=call)
    assert second.status_code == 201, second.text
    assert [c for c in reads.commands if c[0] == "aggregate"] == [], reads.commands
    assert reads.commands.count(("find", "budget_periods")) == 1, reads.commands
    listed = (await client.get("/v1/budgets", headers=bearer(key))).json()["budgets"]
    cost = second.json()["cost"]
    assert {budget["current"] for budget in listed} == {round(2 * cost, 6)}


async def test_looking_at_budgets_writes_nothing_and_forecasts_only_when_asked(
    client: httpx.AsyncClient,
    recorded: tuple[httpx.AsyncClient, _Reads],
    make_key: KeyFactory,
) -> None:
    looking, reads = recorded
    key = await make_key()
    call = {"provider": "openai", "model": "gpt-4o", "input_tokens": 100, "team_id": "t"}
    await client.post("/v1/track", headers=bearer(key), json=call)
    for index, scope in enumerate([{}, {"team_id": "t"}, {"model": "gpt-4o"}]):
        await create(client, key, {"name": f"B{index}", "limit": 1, **scope})
    reads.commands.clear()

    listed = await looking.post(
        "/graphql",
        headers=bearer(key),
        json={"query": "{ budgets { nodes { id current { amount } percent } } }"},
    )
    assert len(listed.json()["data"]["budgets"]["nodes"]) == 3
    assert [c for c in reads.commands if c[0] == "aggregate"] == [], "no forecast asked"
    forecast = await looking.post(
        "/graphql",
        headers=bearer(key),
        json={"query": "{ budgets { nodes { id projected { amount } exceedsOn } } }"},
    )
    assert all(b["projected"] is not None for b in forecast.json()["data"]["budgets"]["nodes"])
    assert [c for c in reads.commands if c[0] == "aggregate"], "forecasts read the history"

    reads.writes.clear()
    for path in ("/v1/budgets", "/v1/budgets/check"):
        response = await looking.get(path, headers=bearer(key))
        assert response.status_code == 200, response.text
    assert reads.writes == []
