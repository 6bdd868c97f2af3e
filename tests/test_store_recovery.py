"""A store that dies: the embedded store killed under a running `meterr serve` is started
again by Meterr; meanwhile every request is answered at once with 503 store_unavailable and
Retry-After, nothing half-done is stored, and the health checks say what is true."""

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
from tests.support.processes import DEADLINE, pid_alive, running_server

EVENT = {"provider": "openai", "model": "gpt-4o", "input_tokens": 1000, "output_tokens": 100}


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


async def test_a_store_that_cannot_be_started_again_is_reported_failed(tmp_path: Path) -> None:
    embedded = EmbeddedServer(tmp_path, restart_delay=1.0, restart_attempts=2)
    await embedded.start()
    try:
        state = json.loads((tmp_path / "embedded-server.json").read_text())
        os.kill(state["pid"], signal.SIGKILL)
        # Its storage is gone for good: every restart fails.
        shutil.rmtree(tmp_path / "db")
        (tmp_path / "db").write_text("not a directory")
        async with asyncio.timeout(DEADLINE):
            while embedded.state is not EmbeddedState.FAILED:
                assert embedded.state in (EmbeddedState.RUNNING, EmbeddedState.RESTARTING)
                await asyncio.sleep(0.05)
    finally:
        await embedded.stop()
    assert embedded.state is EmbeddedState.STOPPED
