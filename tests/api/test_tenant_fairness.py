"""One organization's burst cannot take the instance: its requests in progress are bounded
(the rest wait their turn briefly, then 429), through both doors, while another
organization's requests go straight through; and the distinct live cost feeds it may run
at once are bounded too (joining a running one is free)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
from starlette.responses import JSONResponse, Response

from meterr.app import create_app
from meterr.clock import Clock
from meterr.config import Settings
from meterr.rest_compat.contract import Call, Operation, routes_of
from meterr.store import Store
from tests.conftest import KeyFactory, api_only, bearer
from tests.servers import serving
from tests.support.subscriptions import subscriber


class Busy:
    """A /v1 route that takes a while, counting the calls of each organization at once."""

    def __init__(self) -> None:
        self.now: dict[str, int] = {}
        self.most: dict[str, int] = {}
        self.finished: list[str] = []

    async def __call__(self, call: Call) -> Response:
        org = call.ctx.org_id
        self.now[org] = self.now.get(org, 0) + 1
        self.most[org] = max(self.most.get(org, 0), self.now[org])
        await asyncio.sleep(0.3)
        self.now[org] -= 1
        self.finished.append(org)
        return JSONResponse({"org": org})


@contextlib.asynccontextmanager
async def meterr_with_busy_route(
    settings: Settings, store: Store, clock: Clock, **limits: float | int
) -> AsyncIterator[tuple[str, Busy]]:
    served = api_only(settings).model_copy(update=limits)
    app = create_app(served, store=store, clock=clock)
    busy = Busy()
    [route] = routes_of(
        [Operation(method="GET", path="/v1/busy", summary="", tag="", handler=busy, answers={})]
    )
    app.router.routes.insert(0, route)
    async with serving(app, served) as url:
        yield url, busy


async def test_a_burst_waits_its_turn_and_another_organization_goes_first(
    settings: Settings, store: Store, clock: Clock, make_key: KeyFactory
) -> None:
    noisy, quiet = await make_key(), await make_key()
    async with (
        meterr_with_busy_route(settings, store, clock, organization_concurrency=2) as (url, busy),
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        burst = [asyncio.create_task(http.get("/v1/busy", headers=bearer(noisy))) for _ in range(8)]
        await asyncio.sleep(0.05)
        other = await http.get("/v1/busy", headers=bearer(quiet))
        answers = await asyncio.gather(*burst)
    assert other.status_code == 200
    assert [answer.status_code for answer in answers] == [200] * 8
    noisy_org = answers[0].json()["org"]
    assert busy.most[noisy_org] == 2
    # The quiet organization's call was not queued behind the burst's eight.
    assert busy.finished.index(other.json()["org"]) < 4


async def test_past_the_wait_a_request_is_refused_with_429_through_both_doors(
    settings: Settings, store: Store, clock: Clock, make_key: KeyFactory
) -> None:
    key = await make_key()
    async with (
        meterr_with_busy_route(
            settings, store, clock, organization_concurrency=1, organization_queue_seconds=0.1
        ) as (url, _),
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        holding = asyncio.create_task(http.get("/v1/busy", headers=bearer(key)))
        await asyncio.sleep(0.05)
        refused = await http.get("/v1/usage", headers=bearer(key))
        graphql = await http.post(
            "/graphql", headers=bearer(key), json={"query": "{ usage { requests } }"}
        )
        assert (await holding).status_code == 200
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    assert refused.json()["error"]["details"]["reason"] == "concurrency"
    assert graphql.status_code == 429
    assert graphql.json()["errors"][0]["extensions"]["code"] == "rate_limited"


async def test_distinct_cost_feeds_are_bounded_and_joining_one_is_free(
    settings: Settings, store: Store, clock: Clock, make_key: KeyFactory
) -> None:
    key = await make_key()
    served = api_only(settings).model_copy(update={"cost_feeds_per_organization": 2})
    async with serving(create_app(served, store=store, clock=clock), served) as url:
        host = url.removeprefix("http://")
        feeds = [
            "subscription { costFeed(groupBy: TEAM) { key total { value } } }",
            "subscription { costFeed(groupBy: MODEL) { key total { value } } }",
            "subscription { costFeed(groupBy: PROVIDER) { key total { value } } }",
        ]
        async with subscriber(host, key) as client:
            await client.subscribe(feeds[0], op_id="1")
            await client.next_data()
            await client.subscribe(feeds[1], op_id="2")
            await client.next_data()
            await client.subscribe(feeds[2], op_id="3")
            refused = await client.receive()
            assert refused["id"] == "3"
            [error] = refused["payload"]["errors"]
            assert error["extensions"]["code"] == "rate_limited"
            assert error["extensions"]["details"]["reason"] == "cost_feeds"
            assert (await client.receive()) == {"id": "3", "type": "complete"}
            # The same question as a running feed joins it.
            await client.subscribe(feeds[0], op_id="4")
            assert (await client.next_data())["costFeed"] == []
