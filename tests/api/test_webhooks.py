"""Webhooks: signed deliveries to a real local receiver, retried through outages and restarts."""

from __future__ import annotations

import json

import pytest
import time_machine
from standardwebhooks.webhooks import Webhook

from meterr.auth import Role
from meterr.clock import SettableClock
from meterr.config import Settings
from meterr.store import Store
from tests.conftest import KeyFactory, bearer, eventually
from tests.support.apps import meterr
from tests.support.events import event
from tests.support.webhooks import Receiver, deliveries, exceed, subscribe, webhook_settings


async def test_deliveries_are_signed_in_the_standard_webhooks_format(
    settings: Settings, store: Store, make_key: KeyFactory, receiver: Receiver, clock: SettableClock
) -> None:
    key = await make_key()
    async with meterr(webhook_settings(settings), store, clock) as http:
        hook = await subscribe(http, key, receiver.url, description="on-call")
        assert hook["secret"].startswith("whsec_")
        stored = await store.webhooks.endpoints.find_one({"_id": hook["id"]})
        assert hook["secret"] not in json.dumps(stored, default=str), "sealed at rest"
        listed = (await http.get("/v1/webhooks", headers=bearer(key))).json()["webhooks"]
        assert [h["id"] for h in listed] == [hook["id"]]
        assert "secret" not in listed[0]
        await exceed(http, key)

        async def four() -> bool:
            return len(receiver.received) == 4

        await eventually(four)
    verifier = Webhook(hook["secret"])
    # The receiver checks the signed time against its own clock: it reads Meterr's time.
    with time_machine.travel(clock.now(), tick=False):
        for headers, body in receiver.received:
            verifier.verify(body, headers)  # raises when the signature does not match
        assert headers["webhook-id"] == json.loads(body)["id"]
    events = sorted(body["event"] for body in receiver.bodies())
    assert events == [
        "budget.threshold_reached",
        "budget.threshold_reached",
        "usage.exceeded",
        "usage.tracked",
    ], "an endpoint without `events` gets every type"
    tracked = next(b for b in receiver.bodies() if b["event"] == "usage.tracked")
    assert tracked["data"]["input_tokens"] == 150
    assert tracked["id"] == tracked["data"]["id"]
    exceeded = next(b for b in receiver.bodies() if b["event"] == "usage.exceeded")
    assert set(exceeded) == {"id", "event", "created", "data"}
    assert exceeded["data"]["team_id"] == "team_123"
    assert (exceeded["data"]["limit"], exceeded["data"]["current"]) == (100, 150)
    forged = Webhook("whsec_" + "A" * 44)
    with time_machine.travel(clock.now(), tick=False), pytest.raises(Exception, match="signature"):
        forged.verify(receiver.received[0][1], receiver.received[0][0])


async def test_a_failing_receiver_is_retried_with_every_attempt_logged(
    settings: Settings, store: Store, make_key: KeyFactory, receiver: Receiver, clock: SettableClock
) -> None:
    key = await make_key()
    receiver.answers.extend([500, 503])
    async with meterr(webhook_settings(settings), store, clock) as http:
        hook = await subscribe(http, key, receiver.url, events=["usage.exceeded"])
        await exceed(http, key)

        async def delivered() -> bool:
            found = await deliveries(http, key, hook["id"])
            return bool(found) and found[0]["status"] == "delivered"

        await eventually(delivered)
        [delivery] = await deliveries(http, key, hook["id"])
    assert delivery["event"] == "usage.exceeded", "only the types the endpoint asked for"
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 503, 204]
    assert delivery["attempts"][0]["error"] == "answered 500"
    assert delivery["attempt_count"] == 3
    assert len(receiver.received) == 3


async def test_nothing_is_lost_while_the_receiver_and_meterr_are_down(
    settings: Settings, store: Store, make_key: KeyFactory, receiver: Receiver, clock: SettableClock
) -> None:
    key = await make_key()
    await receiver.stop()
    fast = webhook_settings(settings)
    async with meterr(fast, store, clock) as http:
        hook = await subscribe(http, key, receiver.url)
        await exceed(http, key)

        async def tried() -> bool:
            # Four deliveries, five failed attempts: the endpoint is paused.
            found = await deliveries(http, key, hook["id"])
            return len(found) == 4 and sum(d["attempt_count"] for d in found) >= 5

        await eventually(tried)
    # Meterr has stopped with four deliveries pending; the receiver comes back, then Meterr.
    await receiver.start()
    async with meterr(fast, store, clock) as http:

        async def all_delivered() -> bool:
            found = await deliveries(http, key, hook["id"])
            return [d["status"] for d in found] == ["delivered"] * 4

        await eventually(all_delivered)
        found = await deliveries(http, key, hook["id"])
    failed = [attempt for d in found for attempt in d["attempts"][:-1]]
    assert len(failed) >= 5
    assert all(a["status_code"] is None and "ConnectError" in a["error"] for a in failed)
    assert all(d["attempts"][-1]["status_code"] == 204 for d in found)
    assert len({body["id"] for body in receiver.bodies()}) == 4


async def test_an_instance_stopping_mid_delivery_leaves_the_endpoint_to_the_next_at_once(
    settings: Settings, store: Store, make_key: KeyFactory, receiver: Receiver, clock: SettableClock
) -> None:
    key = await make_key()
    receiver.hold.clear()
    fast = webhook_settings(settings)
    async with meterr(fast, store, clock) as http:
        hook = await subscribe(http, key, receiver.url, events=["usage.exceeded"])
        await exceed(http, key)

        async def sent() -> bool:
            return len(receiver.received) == 1

        await eventually(sent)
    # Meterr stopped while the receiver held the request; the next instance does not wait
    # for the stopped one's claim on the endpoint to run out (a minute) to try again.
    receiver.hold.set()
    async with meterr(fast, store, clock) as http:

        async def delivered() -> bool:
            found = await deliveries(http, key, hook["id"])
            return [d["status"] for d in found] == ["delivered"]

        await eventually(delivered)
    ids = {headers["webhook-id"] for headers, _ in receiver.received}
    assert len(receiver.received) == 2
    assert len(ids) == 1, "the same notification, sent again"


async def test_a_delivery_past_its_retry_window_fails_and_can_be_resent(
    settings: Settings, store: Store, make_key: KeyFactory, receiver: Receiver, clock: SettableClock
) -> None:
    key = await make_key()
    receiver.answers.extend([500] * 1000)
    async with meterr(webhook_settings(settings, webhook_retry_window=0.3), store, clock) as http:
        hook = await subscribe(http, key, receiver.url, events=["usage.exceeded"])
        await exceed(http, key)

        async def failed() -> bool:
            found = await deliveries(http, key, hook["id"])
            return bool(found) and found[0]["status"] == "failed"

        await eventually(failed)
        [delivery] = await deliveries(http, key, hook["id"])
        receiver.answers.clear()
        resent = await http.post(
            f"/v1/webhooks/{hook['id']}/deliveries/{delivery['id']}/resend", headers=bearer(key)
        )
        assert resent.status_code == 202
        assert resent.json()["status"] == "pending"

        async def delivered() -> bool:
            return (await deliveries(http, key, hook["id"]))[0]["status"] == "delivered"

        await eventually(delivered)


async def test_webhooks_refuse_private_addresses_unless_allowed_and_other_schemes(
    settings: Settings, store: Store, make_key: KeyFactory, receiver: Receiver, clock: SettableClock
) -> None:
    key = await make_key()
    strict = webhook_settings(settings, webhook_allow_private=False)
    async with meterr(strict, store, clock) as http:
        for url in (
            receiver.url,
            "http://10.0.0.8/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]:8080/hook",
            "ftp://example.com/hook",
            "http://no-such-host.invalid/hook",
        ):
            response = await http.post("/v1/webhooks", headers=bearer(key), json={"url": url})
            assert response.status_code == 400, url
            assert "url" in response.json()["error"]["details"]["fields"]
        bad_type = await http.post(
            "/v1/webhooks", headers=bearer(key), json={"url": receiver.url, "events": ["x.y"]}
        )
        assert bad_type.status_code == 400
        assert (await http.get("/v1/webhooks", headers=bearer(key))).json()["webhooks"] == []


async def test_webhooks_are_deleted_belong_to_their_organization_and_need_admin(
    settings: Settings, store: Store, make_key: KeyFactory, receiver: Receiver, clock: SettableClock
) -> None:
    org = "webhook-owners"
    key = await make_key(org=org)
    reader = await make_key(org=org, role=Role.READ)
    stranger = await make_key()
    async with meterr(webhook_settings(settings), store, clock) as http:
        hook = await subscribe(http, key, receiver.url)
        path = f"/v1/webhooks/{hook['id']}"
        assert (await http.delete(path, headers=bearer(stranger))).status_code == 404
        assert (await http.get(f"{path}/deliveries", headers=bearer(stranger))).status_code == 404
        assert (await http.get("/v1/webhooks", headers=bearer(reader))).status_code == 403
        assert (await http.delete(path, headers=bearer(key))).status_code == 204
        assert (await http.delete(path, headers=bearer(key))).status_code == 404
        await exceed(http, key)
    assert receiver.received == []


async def test_the_address_check_applies_again_at_delivery_time(
    settings: Settings, store: Store, make_key: KeyFactory, receiver: Receiver, clock: SettableClock
) -> None:
    key = await make_key()
    async with meterr(webhook_settings(settings), store, clock) as http:
        hook = await subscribe(http, key, receiver.url, events=["usage.exceeded"])
    strict = webhook_settings(settings, webhook_allow_private=False)
    async with meterr(strict, store, clock) as http:
        await exceed(http, key)

        async def refused() -> bool:
            found = await deliveries(http, key, hook["id"])
            return bool(found) and found[0]["attempt_count"] >= 1

        await eventually(refused)
        [delivery] = await deliveries(http, key, hook["id"])
    assert delivery["attempts"][0]["error"].startswith("refused: ")
    assert "127.0.0.1" in delivery["attempts"][0]["error"]
    assert receiver.received == []


async def test_usage_tracked_deliveries_are_owed_once_per_stored_event(
    settings: Settings, store: Store, make_key: KeyFactory, receiver: Receiver, clock: SettableClock
) -> None:
    key = await make_key()
    async with meterr(webhook_settings(settings), store, clock) as http:
        hook = await subscribe(http, key, receiver.url, events=["usage.tracked"])
        batch = {"events": [event(event_id=f"call-{i}", input_tokens=i + 1) for i in range(3)]}
        for _ in range(2):  # the second time a replay: nothing new is stored, nothing owed
            response = await http.post("/v1/track", headers=bearer(key), json=batch)
            assert response.status_code in (200, 201)

        async def delivered() -> bool:
            found = await deliveries(http, key, hook["id"])
            return [d["status"] for d in found] == ["delivered"] * 3

        await eventually(delivered)
    assert sorted(b["data"]["event_id"] for b in receiver.bodies()) == [
        "call-0",
        "call-1",
        "call-2",
    ]


async def test_the_delivery_log_pages_through_deliveries_made_at_one_instant(
    settings: Settings, store: Store, make_key: KeyFactory, receiver: Receiver, clock: SettableClock
) -> None:
    key = await make_key()
    # No dispatcher: the deliveries stay owed, all made by one batch at one instant.
    async with meterr(webhook_settings(settings, webhook_dispatch=False), store, clock) as http:
        hook = await subscribe(http, key, receiver.url, events=["usage.tracked"])
        batch = {"events": [event(event_id=f"tie-{i}", input_tokens=i + 1) for i in range(7)]}
        assert (await http.post("/v1/track", headers=bearer(key), json=batch)).is_success
        everything = await deliveries(http, key, hook["id"])
        paged, before = [], None
        for _ in range(5):
            params = {"limit": 3, **({"before": before} if before else {})}
            page = await http.get(
                f"/v1/webhooks/{hook['id']}/deliveries", headers=bearer(key), params=params
            )
            assert page.status_code == 200, page.text
            paged += [d["id"] for d in page.json()["deliveries"]]
            before = page.json()["next_before"]
            if before is None:
                break
    assert len({d["created_at"] for d in everything}) == 1
    assert paged == [d["id"] for d in everything]
    assert len(paged) == 7
