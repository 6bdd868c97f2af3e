"""Crashes during ingestion lose and double nothing: `meterr serve` and its embedded store
are killed outright (SIGKILL) while concurrent clients track events, retrying what was not
acknowledged; every event ends up stored exactly once, totals equal the raw events, the
rollups agree with them, a budget's spend equals its costs and each threshold alerts once."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from pymongo import AsyncMongoClient

from meterr.resolvers import rebuild_rollups
from meterr.store import Store, embedded_url
from tests.conftest import eventually
from tests.support.processes import DEADLINE, KEY_RE, clean_env, free_port

CLIENTS = 12
EVENTS_PER_CLIENT = 30
# gpt-4o: 1000 input tokens at $2.50 and 100 output at $10 per million: $0.0035 an event.
EVENT = {"provider": "openai", "model": "gpt-4o", "input_tokens": 1000, "output_tokens": 100}


class Meterr:
    """`meterr serve` on one port and data directory, started again after each crash."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: asyncio.subprocess.Process | None = None
        self.key: str | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "meterr", "serve", "--port", str(self.port),
            "--data-dir", str(self.data_dir),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
            env={**clean_env(), "METERR_EMBEDDED_RESTART_DELAY": "0.2"},
        )  # fmt: skip
        assert self.process.stdout is not None
        async with asyncio.timeout(DEADLINE):
            while b"listening" not in (line := await self.process.stdout.readline()):
                assert line, "meterr serve exited at start"
                if found := KEY_RE.search(line.decode()):
                    self.key = found.group(0)
            async with httpx.AsyncClient(base_url=self.url) as http:
                while True:
                    with contextlib.suppress(httpx.TransportError):
                        if (await http.get("/readyz")).status_code == 200:
                            return
                    await asyncio.sleep(0.05)

    async def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        await self.process.wait()

    def kill_store(self) -> None:
        state = json.loads((self.data_dir / "embedded-server.json").read_text())
        os.kill(state["pid"], signal.SIGKILL)

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            async with asyncio.timeout(DEADLINE):
                await self.process.wait()


@contextlib.asynccontextmanager
async def store_of(data_dir: Path) -> AsyncIterator[Store]:
    """The stopped service's data, read with a store of our own."""
    from meterr.store import EmbeddedServer

    embedded = EmbeddedServer(data_dir)
    await embedded.start()
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        embedded_url(int(embedded.url.split(":")[2].split("/")[0])), tz_aware=True
    )
    try:
        yield Store(client, client["meterr"])
    finally:
        await client.close()
        await embedded.stop()


async def track_until_acknowledged(
    http: httpx.AsyncClient, client: int, acknowledged: list[int]
) -> None:
    """Each event once, sent again (same event_id) until the service acknowledges it."""
    for i in range(EVENTS_PER_CLIENT):
        body = {**EVENT, "event_id": f"client{client}-{i}", "team_id": f"team_{client % 3}"}
        while True:
            try:
                response = await http.post("/v1/track", json=body)
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code in (200, 201):
                acknowledged[0] += 1
                break
            assert response is None or response.status_code >= 500, response.text
            await asyncio.sleep(0.05)


async def test_killing_the_server_and_its_store_loses_and_doubles_nothing(tmp_path: Path) -> None:
    meterr = Meterr(tmp_path / "data")
    await meterr.start()
    assert meterr.key is not None
    headers = {"Authorization": f"Bearer {meterr.key}"}
    try:
        async with httpx.AsyncClient(base_url=meterr.url, headers=headers, timeout=10) as http:
            budget = await http.post(
                "/v1/budgets", json={"name": "crash", "limit": 1, "thresholds": [25, 50, 100]}
            )
            assert budget.status_code == 201, budget.text

            acknowledged = [0]
            total = CLIENTS * EVENTS_PER_CLIENT

            async def once(share: float) -> None:
                async def reached() -> bool:
                    return acknowledged[0] >= total * share

                await eventually(reached, within=DEADLINE * 2)

            async def chaos() -> None:
                # Each crash lands while clients are midway through their events.
                await once(0.2)
                await meterr.kill()
                await meterr.start()
                await once(0.45)
                meterr.kill_store()
                await once(0.7)
                await meterr.kill()
                await meterr.start()

            async with asyncio.timeout(DEADLINE * 3):
                await asyncio.gather(
                    chaos(),
                    *(track_until_acknowledged(http, c, acknowledged) for c in range(CLIENTS)),
                )
            assert acknowledged[0] == total
            usage = (await http.get("/v1/usage")).json()
            spent = (await http.get(f"/v1/budgets/{budget.json()['id']}")).json()
            alerts = (
                await http.get("/v1/events", params={"type": "budget.threshold_reached"})
            ).json()["events"]
    finally:
        await meterr.stop()

    assert usage["requests"] == total
    assert usage["input_tokens"] == total * 1000
    assert spent["current"] == usage["cost"]
    assert sorted(alert["data"]["threshold"] for alert in alerts) == [25, 50, 100]
    async with store_of(tmp_path / "data") as store:
        stored = store.events.collection
        assert await stored.count_documents({}) == total
        per_event = await (
            await stored.aggregate([{"$group": {"_id": "$event_id", "n": {"$sum": 1}}}])
        ).to_list()
        assert len(per_event) == total
        assert {row["n"] for row in per_event} == {1}
        reports = await rebuild_rollups(store)
        assert reports
        assert all(report.agreed for report in reports)
