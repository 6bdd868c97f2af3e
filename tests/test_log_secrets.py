"""What `meterr serve` writes to its log keeps the secrets URLs carry: the invitation token in
the accept path, and a webhook URL's secret that the HTTP client would name when it calls it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from meterr.logs import SecretRedaction
from tests.conftest import bearer, eventually
from tests.support.events import event
from tests.support.processes import DEADLINE, KEY_RE, free_port
from tests.support.teams import create_team, invite
from tests.support.webhooks import Receiver


class Served:
    """A `meterr serve` process with its stdout and its log (stderr) read as they come."""

    def __init__(self, process: asyncio.subprocess.Process, port: int) -> None:
        self.process = process
        self.url = f"http://127.0.0.1:{port}"
        self.stdout: list[str] = []
        self.log: list[str] = []
        assert process.stdout is not None
        assert process.stderr is not None
        self._readers = [
            asyncio.create_task(self._read(process.stdout, self.stdout)),
            asyncio.create_task(self._read(process.stderr, self.log)),
        ]

    @staticmethod
    async def _read(stream: asyncio.StreamReader, into: list[str]) -> None:
        while line := await stream.readline():
            into.append(line.decode())

    async def stop(self) -> str:
        """Stops the server; answers everything it logged."""
        if self.process.returncode is None:
            self.process.terminate()
        async with asyncio.timeout(DEADLINE):
            await self.process.wait()
            await asyncio.gather(*self._readers)
        return "".join(self.log)


@contextlib.asynccontextmanager
async def meterr_serve(mongodb_url: str, data_dir: Path) -> AsyncIterator[tuple[Served, str]]:
    """`meterr serve` on a database of its own, delivering webhooks to loopback receivers;
    yields the server and the admin key it printed."""
    database = f"meterr_test_logs_{secrets.token_hex(4)}"
    port = free_port()
    env = {
        **os.environ,
        "MONGODB_URL": mongodb_url,
        "METERR_DATABASE": database,
        "WEBHOOK_ALLOW_PRIVATE": "true",
        "METERR_WEBHOOK_RETRY_BASE": "0.05",
    }
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "meterr", "serve", "--port", str(port)),
        *("--data-dir", str(data_dir)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    served = Served(process, port)
    try:
        async with httpx.AsyncClient(base_url=served.url) as http:

            async def ready() -> bool:
                with contextlib.suppress(httpx.TransportError):
                    return (await http.get("/readyz")).status_code == 200
                return False

            await eventually(ready, within=DEADLINE)
        found = KEY_RE.search("".join(served.stdout))
        assert found is not None, served.stdout
        yield served, found.group(0)
    finally:
        await served.stop()
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongodb_url)
        await client.drop_database(database)
        await client.close()


async def test_the_log_of_a_real_server_holds_no_invitation_token_nor_webhook_secret(
    mongodb_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    hook_secret = f"hooksecret{secrets.token_hex(8)}"
    hook_url = f"http://127.0.0.1:{receiver.port}/hook?token={hook_secret}"
    unknown_token = f"mtrinv_{secrets.token_hex(12)}"
    async with meterr_serve(mongodb_url, tmp_path / "data") as (served, key):
        async with httpx.AsyncClient(base_url=served.url) as http:
            team = await create_team(http, key)
            token = (await invite(http, key, team["id"], "ana@example.com"))["token"]
            accepted = await http.post(f"/v1/invitations/{token}/accept")
            refused = await http.post(f"/v1/invitations/{unknown_token}/accept")
            made = await http.post(
                "/v1/webhooks",
                headers=bearer(key),
                json={"url": hook_url, "events": ["usage.tracked"]},
            )
            assert made.status_code == 201, made.text
            tracked = await http.post("/v1/track", headers=bearer(key), json=event())
            assert tracked.status_code == 201, tracked.text

            async def delivered() -> bool:
                return bool(receiver.received)

            await eventually(delivered)
        log = await served.stop()
    assert (accepted.status_code, refused.status_code) == (201, 404)
    entries = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    accepts = [
        entry["message"]
        for entry in entries
        if entry["logger"] == "uvicorn.access" and "/accept" in entry["message"]
    ]
    assert len(accepts) == 2, log
    assert all("/v1/invitations/***/accept" in message for message in accepts), accepts
    assert token not in log
    assert unknown_token not in log
    assert hook_secret not in log


def test_the_redaction_keeps_the_access_log_arguments_in_their_shape() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "POST", "/v1/invitations/mtrinv_s3cret/accept?x=1", "1.1", 201),
        None,
    )
    assert SecretRedaction().filter(record)
    assert record.getMessage() == (
        '127.0.0.1:5000 - "POST /v1/invitations/***/accept?x=1 HTTP/1.1" 201'
    )
    assert isinstance(record.args, tuple)
    assert len(record.args) == 5


@pytest.mark.parametrize("path", ["/v1/teams/team_1/invite", "/v1/costs?team_id=invitations"])
def test_paths_without_a_token_are_left_as_they_are(path: str) -> None:
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, "%s", (path,), None)
    SecretRedaction().filter(record)
    assert record.getMessage() == path
