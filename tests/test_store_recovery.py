"""A store that dies: the embedded store killed under a running `meterr serve` is started
again by Meterr; meanwhile every request is answered at once with 503 store_unavailable and
Retry-After, nothing half-done is stored, the health checks say what is true, and webhook
delivery and open subscriptions carry on once it is back."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
from pathlib import Path

import httpx

from meterr.store import EmbeddedServer, EmbeddedState
from tests.conftest import eventually
from tests.support.processes import (
    DEADLINE,
    Server,
    connections_with_unread_bytes,
    pid_alive,
    running_server,
)
from tests.support.subscriptions import USAGE_TRACKED, subscriber
from tests.support.webhooks import Receiver, subscribe

EVENT = {"provider": "openai", "model": "gpt-4o", "input_tokens": 1000, "output_tokens": 100}
# SIGTERM stops Meterr well within this, whatever state its store is in.
STOPPED_WITHIN = 15.0


async def until(
    check: httpx.AsyncClient, path: str, status: int, saying: str = ""
) -> httpx.Response:
    async with asyncio.timeout(DEADLINE):
        while True:
            with contextlib.suppress(httpx.TransportError):
                response = await check.get(path)
                if response.status_code == status and saying in response.text:
                    return response
            await asyncio.sleep(0.05)


def kill_store(data_dir: Path) -> int:
    """SIGKILL the embedded store serving `data_dir`; answers its pid."""
    store_pid: int = json.loads((data_dir / "embedded-server.json").read_text())["pid"]
    os.kill(store_pid, signal.SIGKILL)
    return store_pid


async def tracked(http: httpx.AsyncClient, event_id: str) -> str:
    """Track one event; answers its id."""
    response = await http.post("/v1/track", json={**EVENT, "event_id": event_id})
    assert response.status_code == 201, response.text
    stored: str = response.json()["id"]
    return stored


def delivered_ids(receiver: Receiver) -> list[str]:
    return [body["data"]["id"] for body in receiver.bodies()]


async def until_delivered(receiver: Receiver, event_id: str, within: float = DEADLINE) -> None:
    async def delivered() -> bool:
        return event_id in delivered_ids(receiver)

    await eventually(delivered, within=within)


async def stopped_by_sigterm_within(server: Server, seconds: float) -> int:
    """Send SIGTERM; answers the exit code, failing if it takes more than `seconds`."""
    server.process.send_signal(signal.SIGTERM)
    async with asyncio.timeout(seconds):
        return await server.process.wait()


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["Retry-After"]) > 0


async def test_a_killed_embedded_store_is_restarted_and_meanwhile_requests_answer_503(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "meterr-data"
    async with running_server(data_dir, METERR_EMBEDDED_RESTART_DELAY="3") as server:
        key = server.printed_key
        assert key is not None, server.output
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=30) as http:
            assert (await http.post("/v1/track", json=EVENT)).status_code == 201
            store_pid = json.loads((data_dir / "embedded-server.json").read_text())["pid"]

            os.kill(store_pid, signal.SIGKILL)
            # Once Meterr has seen its store stop, and until it runs again:
            await until(http, "/readyz", 503, saying="being started again")
            assert (await http.get("/healthz")).status_code == 200

            usage = await http.get("/v1/usage")
            assert_unavailable(usage)
            assert usage.json()["error"]["code"] == "store_unavailable"
            tracked = await http.post("/v1/track", json={**EVENT, "event_id": "while-down"})
            assert_unavailable(tracked)
            graphql = await http.post("/graphql", json={"query": "{ usage { requests } }"})
            assert_unavailable(graphql)
            assert graphql.json()["errors"][0]["extensions"]["code"] == "store_unavailable"

            await until(http, "/readyz", 200)
            assert not pid_alive(store_pid)
            restarted = json.loads((data_dir / "embedded-server.json").read_text())["pid"]
            assert restarted != store_pid
            assert pid_alive(restarted)
            usage = await http.get("/v1/usage")
            assert usage.status_code == 200, usage.text
            assert usage.json()["requests"] == 1, (
                "the event acknowledged before the kill is kept; the refused one was not stored"
            )
            assert (await http.post("/v1/track", json=EVENT)).status_code == 201
            assert (await http.get("/v1/usage")).json()["requests"] == 2

        server.process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(DEADLINE):
            assert await server.process.wait() == 0
    assert not pid_alive(restarted)


async def test_requests_that_lose_the_store_midway_answer_503_through_both_doors(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "meterr-data"
    async with running_server(data_dir, METERR_EMBEDDED_RESTART_DELAY="3") as server:
        key = server.printed_key
        assert key is not None, server.output
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=30) as http:
            assert (await http.post("/v1/track", json=EVENT)).status_code == 201
            state = json.loads((data_dir / "embedded-server.json").read_text())
            os.kill(state["pid"], signal.SIGSTOP)
            try:
                # Both questions reach the store, which does not answer them...
                rest = asyncio.create_task(http.get("/v1/usage"))
                graphql = asyncio.create_task(
                    http.post("/graphql", json={"query": "{ usage { totals { requests } } }"})
                )

                async def both_at_the_store() -> bool:
                    return connections_with_unread_bytes(state["port"]) >= 2

                await eventually(both_at_the_store, within=DEADLINE)
            finally:
                # ...and it dies with them unanswered.
                os.kill(state["pid"], signal.SIGKILL)
            midway = "The store is unavailable; nothing was done. Retry shortly."
            answer = await rest
            assert_unavailable(answer)
            assert answer.json()["error"] == {
                "code": "store_unavailable",
                "message": midway,
                "details": {"retry_after": 5},
            }
            answer = await graphql
            assert_unavailable(answer)
            [error] = answer.json()["errors"]
            assert (error["message"], error["extensions"]["code"]) == (midway, "store_unavailable")

            await until(http, "/readyz", 200)
            assert (await http.get("/v1/usage")).json()["requests"] == 1


async def test_webhooks_and_open_subscriptions_carry_on_after_the_store_is_restarted(
    tmp_path: Path, receiver: Receiver
) -> None:
    data_dir = tmp_path / "meterr-data"
    # The store stays down for seconds, longer than the background work (webhook dispatch,
    # the sockets' key checks, each second) waits for it.
    env = {
        "METERR_EMBEDDED_RESTART_DELAY": "4",
        "METERR_STORE_TIMEOUT": "0.5",
        "METERR_KEY_CACHE_SECONDS": "1",
        "METERR_WEBHOOK_ALLOW_PRIVATE": "true",
        "METERR_WEBHOOK_RETRY_BASE": "0.1",
        "METERR_WEBHOOK_RETRY_MAX": "0.5",
    }
    async with running_server(data_dir, **env) as server:
        key = server.printed_key
        assert key is not None, server.output
        async with httpx.AsyncClient(
            base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=30
        ) as http:
            await subscribe(http, key, receiver.url, events=["usage.tracked"])
            async with subscriber(server.url.removeprefix("http://"), key) as live:
                first = await tracked(http, "before-1")
                await until_delivered(receiver, first)
                # The second delivery is under way, its answer held, when the store dies.
                receiver.hold.clear()
                second = await tracked(http, "before-2")
                # Resuming after the first and given the second, it surely follows the news.
                await live.subscribe(USAGE_TRACKED, {"after": first})
                assert (await live.next_data())["usageTracked"]["id"] == second
                await until_delivered(receiver, second)

                kill_store(data_dir)
                await until(http, "/readyz", 503, saying="being started again")
                receiver.hold.set()  # answered, it cannot be recorded
                await until(http, "/readyz", 200)

                after = await tracked(http, "after-restart")
                assert (await live.next_data())["usageTracked"]["id"] == after
                # Well before the claim on the endpoint's lane, made before the store died,
                # would run out (a minute).
                await until_delivered(receiver, after, within=30)
        assert delivered_ids(receiver).count(after) == 1
        assert await stopped_by_sigterm_within(server, STOPPED_WITHIN) == 0


def make_unstartable(data_dir: Path) -> None:
    """The store's storage gone for good: every start of it fails."""
    shutil.rmtree(data_dir / "db")
    (data_dir / "db").write_text("not a directory")


async def test_a_store_that_cannot_be_started_again_fails_healthz_and_sigterm_stops_meterr(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "meterr-data"
    env = {"METERR_EMBEDDED_RESTART_DELAY": "0.2", "METERR_EMBEDDED_RESTART_ATTEMPTS": "2"}
    async with running_server(data_dir, **env) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            assert (await http.get("/healthz")).status_code == 200
            store_pid = kill_store(data_dir)
            make_unstartable(data_dir)

            failing = await until(http, "/healthz", 503)
            assert failing.json() == {
                "status": "failing",
                "store": "the embedded store stopped and could not be started again",
            }
            ready = await http.get("/readyz")
            assert ready.status_code == 503
            assert "could not be started again" in ready.json()["store"]

        assert await stopped_by_sigterm_within(server, STOPPED_WITHIN) == 0
    assert not pid_alive(store_pid)


async def test_sigterm_stops_meterr_while_its_store_is_down(tmp_path: Path) -> None:
    data_dir = tmp_path / "meterr-data"
    # The store is started again only long after the stop is asked for.
    async with running_server(data_dir, METERR_EMBEDDED_RESTART_DELAY="600") as server:
        key = server.printed_key
        assert key is not None, server.output
        headers = {"Authorization": f"Bearer {key}"}
        async with (
            httpx.AsyncClient(base_url=server.url, headers=headers, timeout=30) as http,
            subscriber(server.url.removeprefix("http://"), key) as live,
        ):
            await live.subscribe(USAGE_TRACKED)
            kill_store(data_dir)
            await until(http, "/readyz", 503, saying="being started again")
            # A request under way and a subscription open when the stop comes.
            waiting = asyncio.create_task(http.get("/v1/usage"))
            assert await stopped_by_sigterm_within(server, STOPPED_WITHIN) == 0
            with contextlib.suppress(httpx.TransportError):
                assert (await waiting).status_code == 503


async def test_a_store_that_cannot_be_started_again_is_reported_failed(tmp_path: Path) -> None:
    embedded = EmbeddedServer(tmp_path, restart_delay=1.0, restart_attempts=2)
    await embedded.start()
    try:
        state = json.loads((tmp_path / "embedded-server.json").read_text())
        os.kill(state["pid"], signal.SIGKILL)
        make_unstartable(tmp_path)
        async with asyncio.timeout(DEADLINE):
            while embedded.state is not EmbeddedState.FAILED:
                assert embedded.state in (EmbeddedState.RUNNING, EmbeddedState.RESTARTING)
                await asyncio.sleep(0.05)
    finally:
        await embedded.stop()
    assert embedded.state is EmbeddedState.STOPPED
