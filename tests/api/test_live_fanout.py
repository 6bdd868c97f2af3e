"""Live fan-out under load, over real sockets to a real uvicorn server (with the websocket
protocol `meterr serve` uses): many subscribers and concurrent batches, each subscriber
receiving every event once and in order; one that stops reading is closed as too slow while
the others carry on; each event is rendered once however many subscribe alike."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from meterr.app import create_app
from meterr.auth import Tier
from meterr.clock import SettableClock
from meterr.config import Settings
from meterr.resolvers import create_key
from meterr.store import Store
from tests.conftest import bearer
from tests.servers import serving
from tests.support.events import event
from tests.support.subscriptions import (
    LEGACY_WS,
    TRANSPORT_WS,
    USAGE_TRACKED,
    Subscriber,
    subscriber,
    track_event,
)

FEED_BOUND = 200
SELECTION = (
    "id eventId provider model inputTokens outputTokens cost { amount value currency } metadata"
)
LIVE = f"""
subscription Live($after: ID) {{ usageTracked(after: $after) {{ {SELECTION} }} }}
"""


@pytest.fixture(scope="module")
async def server(settings: Settings, store: Store, clock: SettableClock) -> AsyncIterator[str]:
    served = settings.model_copy(update={"live_feed_bound": FEED_BOUND})
    async with serving(create_app(served, store=store, clock=clock), served) as url:
        yield url.removeprefix("http://")


@pytest.fixture
async def http(server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"http://{server}", timeout=60) as client:
        yield client


async def new_organization(store: Store, clock: SettableClock) -> tuple[str, str]:
    """A new organization's id and an API key of it."""
    made = await create_key(
        store, org_name=f"org-{secrets.token_hex(4)}", tier=Tier.ENTERPRISE, now=clock.now()
    )
    return made.organization.id, made.key


async def stored_after(store: Store, org_id: str, event_id: str) -> list[str]:
    """The ids of the organization's events stored after `event_id`, in the order stored."""
    resumed = await store.events.by_id(org_id, event_id)
    assert resumed is not None
    until = await store.sequences.current(org_id, "usage") + 1
    stored = await store.events.after_seq(org_id, resumed.seq or 0, 100_000, until=until)
    return [event.id for event in stored]


async def metric(http: httpx.AsyncClient, name: str) -> float:
    lines = (await http.get("/metrics")).text.splitlines()
    [line] = [line for line in lines if line.startswith(f"{name} ")]
    return float(line.split()[1])


async def live_ids(client: Subscriber, count: int) -> list[str]:
    """The ids of the next `count` events the subscriber receives."""
    return [(await client.next_data())["usageTracked"]["id"] for _ in range(count)]


async def test_many_subscribers_receive_every_event_of_concurrent_batches_once_and_in_order(
    server: str, http: httpx.AsyncClient, store: Store, clock: SettableClock
) -> None:
    org_id, key = await new_organization(store, clock)
    first, second = await track_event(http, key), await track_event(http, key)
    async with contextlib.AsyncExitStack() as stack:
        protocols = [TRANSPORT_WS] * 24 + [LEGACY_WS] * 8
        clients = [await stack.enter_async_context(subscriber(server, key, p)) for p in protocols]
        for client in clients:  # each resumes after the first event: the second proves it live
            await client.subscribe(USAGE_TRACKED, {"after": first["id"]})
        for client in clients:
            assert (await client.next_data())["usageTracked"]["id"] == second["id"]

        async def post(worker: int) -> None:
            for round_ in range(3):
                batch = [event(input_tokens=worker * 1000 + round_ * 100 + i) for i in range(100)]
                response = await http.post("/v1/track", headers=bearer(key), json={"events": batch})
                assert response.status_code == 201, response.text
                for _ in range(5):
                    await track_event(http, key, input_tokens=worker)

        posting = [asyncio.create_task(post(worker)) for worker in range(4)]
        # Joining while the batches arrive: what was stored comes from the store, the rest live.
        late = [await stack.enter_async_context(subscriber(server, key)) for _ in range(4)]
        for client in late:
            await client.subscribe(USAGE_TRACKED, {"after": second["id"]})
        await asyncio.gather(*posting)
        expected = await stored_after(store, org_id, second["id"])
        assert len(expected) == 4 * (3 * 100 + 3 * 5)

        received = await asyncio.gather(*(live_ids(c, len(expected)) for c in clients + late))
        for ids in received:
            assert ids == expected
        final = await track_event(
            http, key
        )  # and nothing twice: the next message is the next event
        for client in clients + late:
            assert (await client.next_data())["usageTracked"]["id"] == final["id"]


async def test_live_results_are_those_a_query_of_the_same_events_answers(
    server: str, http: httpx.AsyncClient, store: Store, clock: SettableClock
) -> None:
    _, key = await new_organization(store, clock)
    first, second = await track_event(http, key), await track_event(http, key)
    async with subscriber(server, key) as live:
        await live.subscribe(LIVE, {"after": first["id"]})
        assert (await live.next_data())["usageTracked"]["id"] == second["id"]
        tracked = [
            await track_event(
                http, key, input_tokens=123, metadata={"feature": "é ☃", "n": [1, 2.5]}
            ),
            await track_event(http, key, provider="nobody", model="unknown-model", input_tokens=7),
        ]
        pushed = [(await live.next_data())["usageTracked"] for _ in tracked]
    query = f"{{ events(first: 2) {{ nodes {{ {SELECTION} }} }} }}"
    answer = (await http.post("/graphql", headers=bearer(key), json={"query": query})).json()
    assert [node["id"] for node in pushed] == [item["id"] for item in tracked]
    assert pushed == list(reversed(answer["data"]["events"]["nodes"]))  # the query: newest first


async def test_each_event_is_rendered_once_for_all_the_subscribers_asking_alike(
    server: str, http: httpx.AsyncClient, store: Store, clock: SettableClock
) -> None:
    _, key = await new_organization(store, clock)
    first, second = await track_event(http, key), await track_event(http, key)
    other = "subscription($after: ID) { usageTracked(after: $after) { id model } }"
    async with contextlib.AsyncExitStack() as stack:
        alike = [await stack.enter_async_context(subscriber(server, key)) for _ in range(6)]
        different = await stack.enter_async_context(subscriber(server, key, LEGACY_WS))
        for client in alike:
            await client.subscribe(LIVE, {"after": first["id"]})
        await different.subscribe(other, {"after": first["id"]})
        for client in [*alike, different]:
            assert (await client.next_data())["usageTracked"]["id"] == second["id"]
        before = await metric(http, "meterr_live_payloads_rendered_total")
        batch = {"events": [event(input_tokens=i + 1) for i in range(10)]}
        stored = (await http.post("/v1/track", headers=bearer(key), json=batch)).json()["events"]
        for client in [*alike, different]:
            assert await live_ids(client, 10) == [item["id"] for item in stored]
    rendered = await metric(http, "meterr_live_payloads_rendered_total") - before
    assert rendered == 2 * 10, "once per event for each distinct subscription"


@contextlib.asynccontextmanager
async def stalled_subscriber(server: str, key: str) -> AsyncIterator[Subscriber]:
    """A graphql-transport-ws client whose socket takes little before the server must wait:
    a small receive buffer, and a client that stops reading once it holds one message."""
    host, port = server.split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    sock.setblocking(False)
    async with connect(
        f"ws://{server}/graphql",
        sock=sock,
        subprotocols=[Subprotocol(TRANSPORT_WS)],
        compression=None,
        max_queue=1,
    ) as socket_:
        client = Subscriber(socket_, TRANSPORT_WS)
        ack = await client.init({"Authorization": f"Bearer {key}"})
        assert ack["type"] == "connection_ack", ack
        yield client


async def test_a_subscriber_that_stops_reading_is_closed_as_too_slow_and_the_others_go_on(
    server: str, http: httpx.AsyncClient, store: Store, clock: SettableClock
) -> None:
    org_id, key = await new_organization(store, clock)
    first, second = await track_event(http, key), await track_event(http, key)
    async with subscriber(server, key) as reader, stalled_subscriber(server, key) as stalled:
        for client in (reader, stalled):  # results of about 2 kB: the socket fills quicker
            await client.subscribe(LIVE, {"after": first["id"]})
            assert (await client.next_data())["usageTracked"]["id"] == second["id"]
        subscriptions = await metric(http, "meterr_live_subscriptions")

        async def stalled_one_closed() -> bool:
            return await metric(http, "meterr_live_subscriptions") < subscriptions

        posted = 0
        reading: asyncio.Task[Any] = asyncio.create_task(asyncio.sleep(0))
        ids: list[str] = []
        while not await stalled_one_closed():  # batches until the server gives up on it
            assert posted < 50, "the stalled subscriber was never found too slow"
            batch = [event(metadata={"blob": secrets.token_hex(1000)}) for _ in range(FEED_BOUND)]
            response = await http.post("/v1/track", headers=bearer(key), json={"events": batch})
            assert response.status_code == 201, response.text
            posted += 1
            await reading
            reading = asyncio.create_task(live_ids(reader, FEED_BOUND))
            ids += await reading
        expected = await stored_after(store, org_id, second["id"])
        assert ids == expected[: len(ids)]
        ids += await live_ids(reader, len(expected) - len(ids))
        assert ids == expected, "the reader received every event, once and in order"

        received: list[str] = []
        message = await stalled.receive()
        while message["type"] == "next" and not message["payload"].get("errors"):
            received.append(message["payload"]["data"]["usageTracked"]["id"])
            message = await stalled.receive()
        [error] = message["payload"]["errors"]
        assert error["extensions"]["code"] == "subscriber_too_slow"
        assert received == expected[: len(received)], "what it got came in order, once"
        assert error["extensions"]["details"]["resume_after"] == (received or [second["id"]])[-1]
        assert (await stalled.receive()) == {"id": "1", "type": "complete"}
