"""Several instances of the service on one store behave as one."""

from __future__ import annotations

import asyncio

from meterr.clock import SettableClock
from meterr.config import Settings
from meterr.store import Store
from tests.conftest import KeyFactory, bearer
from tests.support.apps import instances
from tests.support.exact import inexact

EVENT = {"provider": "openai", "model": "gpt-4", "input_tokens": 1000, "output_tokens": 100}


async def test_a_replay_racing_on_two_instances_is_stored_once(
    settings: Settings, mongodb_url: str, store: Store, make_key: KeyFactory, clock: SettableClock
) -> None:
    key = await make_key()
    async with instances(settings, mongodb_url, store, 2, clock) as clients:
        for round_ in range(5):
            headers = {**bearer(key), "Idempotency-Key": f"race-{round_}"}
            responses = await asyncio.gather(
                *(clients[i % 2].post("/v1/track", headers=headers, json=EVENT) for i in range(8))
            )
            assert sorted(r.status_code for r in responses) == [200] * 7 + [201]
            assert len({r.json()["id"] for r in responses}) == 1
        usage = (await clients[0].get("/v1/usage", headers=bearer(key))).json()
    assert usage["requests"] == 5
    assert usage["input_tokens"] == 5000


async def test_batches_from_two_instances_all_count(
    settings: Settings, mongodb_url: str, store: Store, make_key: KeyFactory, clock: SettableClock
) -> None:
    key = await make_key()
    async with instances(settings, mongodb_url, store, 2, clock) as clients:
        batches = [
            {"events": [{**EVENT, "event_id": f"b{b}-{i}"} for i in range(50)]} for b in range(6)
        ]
        responses = await asyncio.gather(
            *(
                clients[b % 2].post("/v1/track", headers=bearer(key), json=batch)
                for b, batch in enumerate(batches)
            )
        )
        assert all(r.status_code == 201 for r in responses)
        costs = inexact((await clients[1].get("/v1/costs", headers=bearer(key))).json())
    assert costs == {"openai": {"total": round(300 * 0.036, 6), "tokens": 300 * 1100}}
