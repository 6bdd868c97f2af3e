"""The SDK against a real uvicorn server, and against a server that fails on purpose."""

from __future__ import annotations

import asyncio
import sys
from decimal import Decimal
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import meterr
from meterr.app import create_app
from meterr.clock import SettableClock
from meterr.config import Settings
from meterr.sdk import AuthenticationError, InvalidRequestError, RateLimitedError, ServerError
from meterr.store import Store
from tests.conftest import KeyFactory, eventually
from tests.servers import serving
from tests.support.processes import free_port


async def test_the_documented_example_works_as_written(server: str, make_key: KeyFactory) -> None:
    key = await make_key()

    def documented() -> tuple[Any, list[meterr.sdk.CostGroup]]:
        client = meterr.Client(api_key=key, base_url=server)
        with client:
            tracked = client.track_usage(
                provider="cohere",
                model="command-r-plus",
                input_tokens=1100,
                output_tokens=550,
                endpoint="/v1/generate",
                metadata={"team_id": "team_123", "feature": "summaries"},
            )
            return tracked, client.costs(group_by="provider")

    tracked, groups = await asyncio.to_thread(documented)
    # command-r-plus: $2.50 per 1M input, $10 per 1M output
    assert tracked.cost == Decimal("0.00825")
    assert tracked.pricing_status == "priced"
    assert tracked.team_id == "team_123"
    assert tracked.metadata == {"team_id": "team_123", "feature": "summaries"}
    assert groups == [meterr.sdk.CostGroup(key="cohere", total=Decimal("0.00825"), tokens=1650)]


async def test_amounts_are_read_exactly_where_the_json_number_is_rounded(
    server: str, make_key: KeyFactory
) -> None:
    key = await make_key()

    def half_micro_dollar() -> tuple[Any, list[meterr.sdk.CostGroup], Any]:
        with meterr.Client(api_key=key, base_url=server) as client:
            # gpt-4o input at $2.50 per 1M: one token is $0.0000025, which JSON rounds away.
            tracked = client.track_usage("openai", "gpt-4o", input_tokens=1)
            return tracked, client.costs(group_by="provider"), client.usage()

    tracked, groups, usage = await asyncio.to_thread(half_micro_dollar)
    assert tracked.cost == Decimal("0.0000025")
    assert [group.total for group in groups] == [Decimal("0.0000025")]
    assert usage.cost == Decimal("0.0000025")
    assert "cost_exact" not in (tracked.model_extra or {}), "read into cost, not kept apart"


async def test_the_async_client_reads_its_key_and_url_from_the_environment(
    server: str, make_key: KeyFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = await make_key()
    monkeypatch.setenv("METERR_API_KEY", key)
    monkeypatch.setenv("METERR_BASE_URL", server)
    async with meterr.AsyncClient() as client:
        first = await client.track_usage("openai", "gpt-4o", 1000, 100, event_id="call-1")
        again = await client.track_usage("openai", "gpt-4o", 1000, 100, event_id="call-1")
        usage = await client.usage()
    assert (first.replayed, again.replayed) == (False, True)
    assert usage.requests == 1, "a resent event counts once"


async def test_api_errors_raise_typed_exceptions_with_the_apis_details(
    server: str, make_key: KeyFactory
) -> None:
    key = await make_key()
    async with meterr.AsyncClient(api_key=key, base_url=server) as client:
        with pytest.raises(InvalidRequestError) as invalid:
            await client.track_usage("openai", "gpt-4o", -5)
    assert invalid.value.code == "invalid_input"
    assert "input_tokens" in invalid.value.details["fields"]
    async with meterr.AsyncClient(api_key="mtr_wrong_key", base_url=server) as client:
        with pytest.raises(AuthenticationError) as refused:
            await client.costs()
    assert refused.value.status == 401


class Flaky:
    """Answers 503, then 429 with Retry-After, then stores: a server failing on purpose."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.answers = [503, 429]

    async def track(self, request: Request) -> Response:
        body = await request.json()
        self.bodies.append(body)
        if self.answers:
            status = self.answers.pop(0)
            headers = {"Retry-After": "0"} if status == 429 else {}
            return JSONResponse(
                {"error": {"code": "busy", "message": "try again", "details": {}}},
                status_code=status,
                headers=headers,
            )
        stored = {
            **body,
            "id": "evt_1",
            "timestamp": "2026-01-05T10:00:00Z",
            "cost": 0.01,
            "pricing_status": "priced",
            "replayed": False,
        }
        return JSONResponse(stored, status_code=201)


async def test_retries_keep_the_same_event_id_so_a_retry_never_counts_twice() -> None:
    flaky = Flaky()
    app = Starlette(routes=[Route("/v1/track", flaky.track, methods=["POST"])])
    async with serving(app) as url, meterr.AsyncClient("mtr_x_y", url, backoff=0.01) as client:
        tracked = await client.track_usage("openai", "gpt-4o", 10)
    assert len(flaky.bodies) == 3
    assert len({body["event_id"] for body in flaky.bodies}) == 1
    assert tracked.event_id == flaky.bodies[0]["event_id"]


async def test_giving_up_raises_the_last_error_or_a_connection_error() -> None:
    flaky = Flaky()
    flaky.answers = [429] * 10
    app = Starlette(routes=[Route("/v1/track", flaky.track, methods=["POST"])])
    async with serving(app) as url:
        client = meterr.AsyncClient("mtr_x_y", url, max_retries=2, backoff=0.01)
        with pytest.raises(RateLimitedError) as limited:
            await client.track_usage("openai", "gpt-4o", 10)
        await client.aclose()
    assert (len(flaky.bodies), limited.value.retry_after) == (3, 0)
    closed = f"http://127.0.0.1:{free_port()}"
    async with meterr.AsyncClient("mtr_x_y", closed, max_retries=1, backoff=0.01) as client:
        with pytest.raises(meterr.MeterrConnectionError):
            await client.costs()


class Failing:
    """Answers each request with the next queued status (an error envelope), then 200."""

    def __init__(self, *answers: int) -> None:
        self.answers = list(answers)
        self.requests: list[str] = []

    async def answer(self, request: Request) -> Response:
        self.requests.append(request.url.path)
        if self.answers:
            status = self.answers.pop(0)
            body = {"error": {"code": "unavailable", "message": "try again", "details": {}}}
            return JSONResponse(body, status_code=status, headers={"Retry-After": "0"})
        if request.url.path.endswith("/check"):
            return JSONResponse({"allowed": True, "blocking": [], "budgets": []})
        return JSONResponse({"allowed": True, "reservation_id": "rsv_1", "expires_at": None})


async def test_a_call_that_must_not_run_twice_is_retried_only_when_nothing_was_done() -> None:
    failing = Failing(503, 429)
    routes = [
        Route("/v1/budgets/reserve", failing.answer, methods=["POST"]),
        Route("/v1/budgets/check", failing.answer, methods=["GET"]),
    ]
    async with (
        serving(Starlette(routes=routes)) as url,
        meterr.AsyncClient("mtr_x_y", url, backoff=0.01) as client,
    ):
        with pytest.raises(ServerError):
            await client.reserve(team_id="team_1", estimated_cost=Decimal("0.25"))
        assert failing.requests == ["/v1/budgets/reserve"], "a 503 may have reserved already"
        granted = await client.reserve(team_id="team_1", estimated_cost=Decimal("0.25"))
        assert granted.reservation_id == "rsv_1", "a 429 was refused before anything was done"
        assert len(failing.requests) == 3
        failing.answers = [503, 503]
        await client.check_budget(team_id="team_1")
        assert len(failing.requests) == 6, "a read is retried after any failure"
    closed = f"http://127.0.0.1:{free_port()}"
    async with meterr.AsyncClient("mtr_x_y", closed, max_retries=1, backoff=0.01) as client:
        with pytest.raises(meterr.MeterrConnectionError, match="unreachable"):
            await client.reserve(team_id="team_1", estimated_cost=1)


class Restartable:
    """The service behind uvicorn on a fixed port, which a test stops and starts again."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        server = uvicorn.Server(config)
        self._server, self._task = server, asyncio.create_task(server.serve())

        async def started() -> bool:
            return server.started

        await eventually(started)

    async def stop(self) -> None:
        assert self._server is not None
        assert self._task is not None
        self._server.should_exit = True
        await self._task


async def test_background_tracking_survives_meterr_going_down_and_coming_back(
    settings: Settings, store: Store, make_key: KeyFactory, clock: SettableClock
) -> None:
    key = await make_key()
    service = Restartable(create_app(settings, store=store, clock=clock))
    await service.start()
    client = meterr.Client(api_key=key, base_url=service.url, max_retries=0)
    try:
        await service.stop()
        for i in range(25):
            returned = client.track_usage("openai", "gpt-4o", 100 + i, background=True)
            assert returned is None, "queued, not sent: the call does not wait for Meterr"
        assert client.batcher.pending == 25
        await service.start()
        assert await asyncio.to_thread(client.batcher.flush, 20.0)
        assert client.batcher.dropped == 0
    finally:
        await asyncio.to_thread(client.close)
        await service.stop()
    async with meterr.AsyncClient(api_key=key, base_url=service.url) as reader:
        await service.start()
        usage = await reader.usage()
        await service.stop()
    assert usage.requests == 25, "every event once, none lost, none twice"


async def test_async_background_tracking_waits_for_nothing_and_is_flushed_on_close(
    settings: Settings, store: Store, make_key: KeyFactory, clock: SettableClock
) -> None:
    key = await make_key()
    service = Restartable(create_app(settings, store=store, clock=clock))
    await service.start()
    await service.stop()
    client = meterr.AsyncClient(api_key=key, base_url=service.url, max_retries=0)
    for i in range(10):
        await client.track_usage("anthropic", "claude-3-haiku", 10 + i, background=True)
    assert client.batcher.pending == 10, "queued while Meterr is down"
    await service.start()
    try:
        await client.aclose()
        assert (client.batcher.pending, client.batcher.dropped) == (0, 0)
        async with meterr.AsyncClient(api_key=key, base_url=service.url) as reader:
            usage = await reader.usage()
    finally:
        await service.stop()
    assert (usage.requests, usage.input_tokens) == (10, sum(range(10, 20)))


async def test_a_program_that_never_closes_its_client_still_sends_at_exit(
    server: str, make_key: KeyFactory
) -> None:
    key = await make_key()
    program = (
        "import meterr\n"
        f"client = meterr.Client(api_key={key!r}, base_url={server!r})\n"
        "for i in range(7):\n"
        "    client.track_usage('openai', 'gpt-4o', 10 + i, background=True)\n"
    )
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", program)
    async with asyncio.timeout(30):
        assert await process.wait() == 0
    async with meterr.AsyncClient(api_key=key, base_url=server) as reader:
        usage = await reader.usage()
    assert (usage.requests, usage.input_tokens) == (7, sum(range(10, 17)))


def test_a_full_buffer_drops_the_oldest_and_says_how_many() -> None:
    sent: list[list[dict[str, Any]]] = []

    def unreachable(batch: list[dict[str, Any]]) -> None:
        sent.append(batch)
        raise meterr.MeterrConnectionError("down")

    batcher = meterr.sdk.EventBatcher(unreachable, batch_size=3, interval=0.01, buffer=5)
    for i in range(12):
        batcher.add({"event_id": str(i)})
    assert batcher.dropped >= 7
    assert batcher.pending <= 5
    batcher.close(timeout=0.2)
