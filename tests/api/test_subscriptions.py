"""GraphQL subscriptions over real websockets against a real uvicorn server, both protocols."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from meterr.app import create_app
from meterr.clock import SettableClock
from meterr.config import Settings
from meterr.store import Store
from tests.conftest import KeyFactory, bearer, eventually
from tests.servers import serving
from tests.support.budgets import DOCUMENTED
from tests.support.events import event
from tests.support.subscriptions import (
    LEGACY_WS,
    TRANSPORT_WS,
    USAGE_TRACKED,
    Subscriber,
    subscriber,
    track_event,
)

FEED_BOUND = 50


@pytest.fixture(scope="module")
async def server(settings: Settings, store: Store, clock: SettableClock) -> AsyncIterator[str]:
    """The app behind uvicorn on a free loopback port; answers host:port."""
    served = settings.model_copy(update={"live_feed_bound": FEED_BOUND})
    async with serving(create_app(served, store=store, clock=clock), served) as url:
        yield url.removeprefix("http://")


@pytest.fixture
async def http(server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"http://{server}") as client:
        yield client


async def go_live(
    client: Subscriber, http: httpx.AsyncClient, key: str, variables: dict[str, Any] | None = None
) -> None:
    """Subscribe to usageTracked so that it is surely following live messages on return:
    it resumes after one event and delivers the next, stored before, which it can only do
    once it listens."""
    first, second = await track_event(http, key), await track_event(http, key)
    await client.subscribe(USAGE_TRACKED, {**(variables or {}), "after": first["id"]})
    assert (await client.next_data())["usageTracked"]["id"] == second["id"]


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_usage_tracked_delivers_each_stored_event_over_both_protocols(
    server: str, http: httpx.AsyncClient, make_key: KeyFactory, protocol: str
) -> None:
    key = await make_key()
    async with subscriber(server, key, protocol) as client:
        await go_live(client, http, key)
        stored = await track_event(http, key, input_tokens=1234)
        data = await client.next_data()
    assert data["usageTracked"]["id"] == stored["id"]
    assert data["usageTracked"]["inputTokens"] == 1234
    assert data["usageTracked"]["cost"] == {
        "amount": stored["cost_exact"],
        "value": stored["cost"],
    }


async def test_the_api_key_may_come_as_api_key_in_the_init_payload(
    server: str, http: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    async with subscriber(server, None, LEGACY_WS) as client:
        ack = await client.init({"api_key": key})
        assert ack["type"] == "connection_ack"


async def test_a_bad_init_closes_with_4403_and_a_subscribe_before_init_with_4401(
    server: str,
) -> None:
    async with subscriber(server, None) as client:
        await client.send({"type": "connection_init", "payload": {"api_key": "mtr_nope_nope"}})
        with pytest.raises(ConnectionClosed) as refused:
            await client.receive()
        assert refused.value.rcvd is not None
        assert refused.value.rcvd.code == 4403
    async with subscriber(server, None) as client:
        await client.subscribe(USAGE_TRACKED)
        with pytest.raises(ConnectionClosed) as early:
            await client.receive()
        assert early.value.rcvd is not None
        assert early.value.rcvd.code == 4401
    async with subscriber(server, None, LEGACY_WS) as client:
        error = await client.init({})
        assert error["type"] == "connection_error"
        assert error["payload"]["code"] == "unauthenticated"


async def test_a_subscriber_sees_only_its_own_organizations_events(
    server: str, http: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    mine, theirs = await make_key(), await make_key()
    async with subscriber(server, mine) as client:
        await go_live(client, http, mine)
        await track_event(http, theirs, input_tokens=999)
        own = await track_event(http, mine, input_tokens=111)
        data = await client.next_data()
    assert data["usageTracked"]["id"] == own["id"]


async def test_resuming_after_an_event_replays_what_was_missed_then_goes_live(
    server: str, http: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    seen = [await track_event(http, key, input_tokens=100 + i) for i in range(3)]
    async with subscriber(server, key) as client:
        await client.subscribe(USAGE_TRACKED, {"after": seen[0]["id"]})
        replayed = [(await client.next_data())["usageTracked"]["id"] for _ in range(2)]
        assert replayed == [seen[1]["id"], seen[2]["id"]]
        live = await track_event(http, key, input_tokens=500)
        assert (await client.next_data())["usageTracked"]["id"] == live["id"]
        with pytest.raises(TimeoutError):  # nothing twice
            async with asyncio.timeout(0.5):
                await client.socket.recv()


async def test_a_filter_keeps_only_matching_events(
    server: str, http: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    async with subscriber(server, key) as client:
        await go_live(client, http, key, {"filter": {"teamIds": ["team_123"]}})
        await track_event(http, key, team_id="team_a")
        wanted = await track_event(http, key, team_id="team_123", input_tokens=77)
        data = await client.next_data()
    assert data["usageTracked"]["id"] == wanted["id"]
    assert data["usageTracked"]["inputTokens"] == 77


async def test_the_cost_feed_pushes_the_new_totals_when_they_change(
    server: str, http: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    await track_event(http, key, input_tokens=1000)
    query = "subscription { costFeed(groupBy: TEAM) { key tokens total { value } } }"
    async with subscriber(server, key) as client:
        await client.subscribe(query)
        first = (await client.next_data())["costFeed"]
        assert first == [{"key": "team_123", "tokens": 1000, "total": {"value": 0.0025}}]
        await track_event(http, key, input_tokens=3000)
        await track_event(http, key, team_id="team_9", input_tokens=10)
        totals: dict[str, int] = {}
        while totals != {"team_123": 4000, "team_9": 10}:
            update = (await client.next_data())["costFeed"]
            totals = {group["key"]: group["tokens"] for group in update}


async def metric(http: httpx.AsyncClient, name: str) -> float:
    metrics = (await http.get("/metrics")).text
    [line] = [x for x in metrics.splitlines() if x.startswith(f"{name} ")]
    return float(line.split()[1])


async def cost_feed_queries(http: httpx.AsyncClient) -> float:
    return await metric(http, "meterr_cost_feed_queries_total")


async def test_subscribers_to_the_same_cost_feed_share_one_computation(
    server: str, http: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key, other_org = await make_key(), await make_key()
    await track_event(http, key, input_tokens=1000)
    query = "subscription { costFeed(groupBy: PROVIDER) { key tokens } }"
    before = await cost_feed_queries(http)
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(subscriber(server, key)) for _ in range(5)]
        for client in clients:
            await client.subscribe(query)
            assert (await client.next_data())["costFeed"] == [{"key": "openai", "tokens": 1000}]
        assert await cost_feed_queries(http) == before + 1, "one query for five subscribers"
        elsewhere = await stack.enter_async_context(subscriber(server, other_org))
        await elsewhere.subscribe(query)
        assert (await elsewhere.next_data())["costFeed"] == []
        assert await cost_feed_queries(http) == before + 2, "another organization, its own"

        await track_event(http, key, input_tokens=500)
        for client in clients:
            update = (await client.next_data())["costFeed"]
            assert update == [{"key": "openai", "tokens": 1500}]
        assert await cost_feed_queries(http) == before + 3, "one more for the change, shared"
        assert await metric(http, "meterr_cost_feeds_running") == 2

    async def stopped() -> bool:
        return await metric(http, "meterr_cost_feeds_running") == 0

    await eventually(stopped)  # the last subscriber gone, its feed stops


async def test_budget_events_arrive_as_thresholds_are_crossed(
    server: str, http: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    body = {**DOCUMENTED, "limit": 100, "thresholds": [5, 10, 50, 80, 100]}
    budget_id = (await http.post("/v1/budgets", headers=bearer(key), json=body)).json()["id"]
    await track_event(http, key, input_tokens=12)  # fires 5 and 10 before anyone listens
    fired = (await http.get("/v1/events", headers=bearer(key))).json()["events"]
    five, ten = sorted(fired, key=lambda n: n["data"]["threshold"])
    budget_query = """
    subscription Budget($id: ID, $after: ID) {
      budgetEvents(budgetId: $id, after: $after) { id event data }
    }
    """
    exceeded_query = """
    subscription Exceeded($after: ID) {
      usageExceeded(teamId: "team_123", after: $after) { event data }
    }
    """
    async with subscriber(server, key) as budget_feed, subscriber(server, key) as exceeded_feed:
        await budget_feed.subscribe(budget_query, {"id": budget_id, "after": five["id"]})
        assert (await budget_feed.next_data())["budgetEvents"]["id"] == ten["id"]
        await exceeded_feed.subscribe(exceeded_query, {"after": five["id"]})
        await track_event(http, key, input_tokens=48)
        first = (await budget_feed.next_data())["budgetEvents"]
        assert (first["event"], first["data"]["threshold"]) == ("THRESHOLD_REACHED", 50)
        await track_event(http, key, input_tokens=60)
        events = [(await budget_feed.next_data())["budgetEvents"] for _ in range(3)]
        assert [e["data"].get("threshold") for e in events] == [80, 100, None]
        exceeded = (await exceeded_feed.next_data())["usageExceeded"]
    assert exceeded["event"] == "USAGE_EXCEEDED"
    assert (exceeded["data"]["limit"], exceeded["data"]["current"]) == (100, 120)
    assert exceeded["data"]["team_id"] == "team_123"


async def test_a_subscriber_that_falls_behind_is_closed_with_a_clear_reason(
    server: str, http: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    async with subscriber(server, key) as client:
        await go_live(client, http, key)
        batch = {"events": [event(input_tokens=i + 1) for i in range(FEED_BOUND + 1)]}
        response = await http.post("/v1/track", headers=bearer(key), json=batch)
        assert response.status_code == 201
        message = await client.receive()
        while message["type"] == "next" and not message["payload"].get("errors"):
            message = await client.receive()  # what was delivered before it fell behind
    errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
    assert errors[0]["extensions"]["code"] == "subscriber_too_slow"
    assert "behind" in errors[0]["message"]


async def test_a_member_joining_is_announced_to_notification_subscribers(
    server: str, http: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    team = (await http.post("/v1/teams", headers=bearer(key), json={"name": "Live"})).json()

    async def invite(email: str) -> str:
        response = await http.post(
            f"/v1/teams/{team['id']}/invite", headers=bearer(key), json={"email": email}
        )
        token: str = response.json()["token"]
        return token

    await http.post(f"/v1/invitations/{await invite('first@x.io')}/accept")
    [first] = (
        await http.get("/v1/events", headers=bearer(key), params={"type": "team.member_joined"})
    ).json()["events"]
    query = """
    subscription Joined($after: ID) {
      notifications(types: [MEMBER_JOINED], after: $after) { event data }
    }
    """
    async with subscriber(server, key) as client:
        await client.subscribe(query, {"after": first["id"]})
        await http.post(f"/v1/invitations/{await invite('second@x.io')}/accept")
        joined = (await client.next_data())["notifications"]
    assert joined["event"] == "MEMBER_JOINED"
    assert (joined["data"]["email"], joined["data"]["team_id"]) == ("second@x.io", team["id"])
