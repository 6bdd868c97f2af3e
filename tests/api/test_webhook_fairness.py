"""Webhook deliveries are scheduled fairly: one organization's backlog does not hold back
another's alert, nor one endpoint's backlog another endpoint of the same organization; a
receiver that keeps failing is paused instead of being sent every queued delivery, and
instances sharing a store deliver each notification once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import Response

from meterr.clock import SettableClock
from meterr.config import Settings
from meterr.store import Store
from meterr.store.webhook_lanes import PAUSE_AFTER
from tests.conftest import KeyFactory, bearer, eventually
from tests.support.apps import meterr
from tests.support.events import event
from tests.support.webhooks import Receiver, deliveries, exceed, subscribe, webhook_settings


class SlowReceiver(Receiver):
    """A receiver that takes `delay` seconds over each delivery."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    async def _hook(self, request: Request) -> Response:
        await asyncio.sleep(self.delay)
        return await super()._hook(request)


@pytest.fixture
async def receivers() -> AsyncIterator[list[Receiver]]:
    started: list[Receiver] = []
    yield started
    for receiver in started:
        if receiver.running:
            await receiver.stop()


async def running(receivers: list[Receiver], receiver: Receiver) -> Receiver:
    await receiver.start()
    receivers.append(receiver)
    return receiver


def batch(prefix: str, count: int) -> dict[str, Any]:
    return {"events": [event(event_id=f"{prefix}-{i}", input_tokens=1) for i in range(count)]}


async def track(http: Any, key: str, body: dict[str, Any]) -> None:
    response = await http.post("/v1/track", headers=bearer(key), json=body)
    assert response.status_code in (200, 201), response.text


async def test_one_organizations_backlog_does_not_hold_back_anothers_alert(
    settings: Settings,
    store: Store,
    make_key: KeyFactory,
    receivers: list[Receiver],
    clock: SettableClock,
) -> None:
    noisy_key, quiet_key = await make_key(), await make_key()
    noisy = await running(receivers, SlowReceiver(delay=0.01))
    quiet = await running(receivers, Receiver())
    fast = webhook_settings(settings, webhook_concurrency=2)
    async with meterr(fast, store, clock) as http:
        noisy_hook = await subscribe(http, noisy_key, noisy.url, events=["usage.tracked"])
        await subscribe(http, quiet_key, quiet.url, events=["usage.exceeded"])
        for part in range(2):
            await track(http, noisy_key, batch(f"noisy-{part}", 1000))

        async def backlog_worked() -> bool:
            return len(noisy.received) >= 20

        await eventually(backlog_worked)
        before = len(noisy.received)
        await exceed(http, quiet_key)

        async def alerted() -> bool:
            return bool(quiet.received)

        await eventually(alerted)
        meanwhile = len(noisy.received) - before
        deleted = await http.delete(f"/v1/webhooks/{noisy_hook['id']}", headers=bearer(noisy_key))
        assert deleted.status_code == 204
    assert quiet.bodies()[0]["event"] == "usage.exceeded"
    # In order of time, the alert would have waited for the 2,000 deliveries queued before it.
    assert meanwhile < 100, f"{meanwhile} of the other organization's deliveries went first"


async def test_one_endpoints_backlog_does_not_hold_back_another_endpoint_of_the_same_organization(
    settings: Settings,
    store: Store,
    make_key: KeyFactory,
    receivers: list[Receiver],
    clock: SettableClock,
) -> None:
    key = await make_key()
    busy = await running(receivers, SlowReceiver(delay=0.01))
    alerts = await running(receivers, Receiver())
    # Two lanes at once, of which one organization holds one: its endpoints take turns.
    fast = webhook_settings(settings, webhook_concurrency=2)
    async with meterr(fast, store, clock) as http:
        busy_hook = await subscribe(http, key, busy.url, events=["usage.tracked"])
        await subscribe(http, key, alerts.url, events=["usage.exceeded"])
        for part in range(2):
            await track(http, key, batch(f"busy-{part}", 1000))

        async def backlog_worked() -> bool:
            return len(busy.received) >= 20

        await eventually(backlog_worked)
        before = len(busy.received)
        await exceed(http, key)

        async def alerted() -> bool:
            return bool(alerts.received)

        await eventually(alerted)
        meanwhile = len(busy.received) - before
        deleted = await http.delete(f"/v1/webhooks/{busy_hook['id']}", headers=bearer(key))
        assert deleted.status_code == 204
    assert [body["event"] for body in alerts.bodies()] == ["usage.exceeded"]
    # In order of time, the alert would have waited for the 2,000 deliveries queued before it.
    assert meanwhile < 100, f"{meanwhile} of the other endpoint's deliveries went first"


async def test_a_failing_endpoint_is_paused_and_a_resend_tries_it_at_once(
    settings: Settings,
    store: Store,
    make_key: KeyFactory,
    receivers: list[Receiver],
    clock: SettableClock,
) -> None:
    key = await make_key()
    receiver = await running(receivers, Receiver())
    receiver.answers.extend([500] * PAUSE_AFTER)
    slow_retries = webhook_settings(settings, webhook_retry_base=60.0, webhook_retry_max=120.0)
    async with meterr(slow_retries, store, clock) as http:
        hook = await subscribe(http, key, receiver.url, events=["usage.tracked"])
        await track(http, key, batch("paused", 30))

        async def paused() -> bool:
            found = await deliveries(http, key, hook["id"])
            return sum(d["attempt_count"] for d in found) == PAUSE_AFTER

        await eventually(paused)
        # The dispatcher looks for due work every second at the latest.
        await asyncio.sleep(1.5)
        assert len(receiver.received) == PAUSE_AFTER, "a paused endpoint is not sent the rest"
        found = await deliveries(http, key, hook["id"])
        tried = [d for d in found if d["attempt_count"]]
        assert [d["attempts"][0]["status_code"] for d in tried] == [500] * PAUSE_AFTER
        assert all(d["status"] == "pending" and d["next_attempt_at"] for d in tried)

        resent = await http.post(
            f"/v1/webhooks/{hook['id']}/deliveries/{tried[0]['id']}/resend", headers=bearer(key)
        )
        assert resent.status_code == 202

        async def resumed() -> bool:
            found = await deliveries(http, key, hook["id"])
            return sum(d["status"] == "delivered" for d in found) == 30 - PAUSE_AFTER + 1

        await eventually(resumed)
        found = await deliveries(http, key, hook["id"])
    waiting = [d for d in found if d["status"] == "pending"]
    assert len(waiting) == PAUSE_AFTER - 1, "the other failed ones wait for their own retry"
    assert len(receiver.received) == 30 + 1


async def test_a_paused_endpoints_deliveries_past_the_retry_window_fail_without_a_try(
    settings: Settings,
    store: Store,
    make_key: KeyFactory,
    receivers: list[Receiver],
    clock: SettableClock,
) -> None:
    key = await make_key()
    receiver = await running(receivers, Receiver())
    receiver.answers.extend([500] * 1000)
    short = webhook_settings(settings, webhook_retry_window=0.5)
    async with meterr(short, store, clock) as http:
        hook = await subscribe(http, key, receiver.url, events=["usage.tracked"])
        await track(http, key, batch("expired", 40))

        async def all_failed() -> bool:
            found = await deliveries(http, key, hook["id"])
            return len(found) == 40 and all(d["status"] == "failed" for d in found)

        await eventually(all_failed)
        found = await deliveries(http, key, hook["id"])
    untried = [d for d in found if d["attempt_count"] == 0]
    assert len(untried) >= 40 - 2 * PAUSE_AFTER
    assert all(d["attempts"][0]["error"].startswith("not sent:") for d in untried)
    assert len(receiver.received) < 40


async def test_instances_sharing_a_store_deliver_each_notification_once(
    settings: Settings,
    store: Store,
    make_key: KeyFactory,
    receivers: list[Receiver],
    clock: SettableClock,
) -> None:
    keys = [await make_key() for _ in range(3)]
    receiver = await running(receivers, SlowReceiver(delay=0.002))
    shared = webhook_settings(settings, webhook_concurrency=4)
    async with AsyncExitStack() as stack:
        first = await stack.enter_async_context(meterr(shared, store, clock))
        await stack.enter_async_context(meterr(shared, store, clock))
        hooks = [
            await subscribe(first, key, receiver.url, events=["usage.tracked"]) for key in keys
        ]
        for n, key in enumerate(keys):
            await track(first, key, batch(f"shared-{n}", 100))

        async def delivered() -> bool:
            for key, hook in zip(keys, hooks, strict=True):
                response = await first.get(
                    f"/v1/webhooks/{hook['id']}/deliveries",
                    params={"limit": 100},
                    headers=bearer(key),
                )
                found = response.json()["deliveries"]
                if [d["status"] for d in found] != ["delivered"] * 100:
                    return False
            return True

        await eventually(delivered, within=30)
    ids = [body["id"] for body in receiver.bodies()]
    assert len(ids) == 300
    assert len(set(ids)) == 300
