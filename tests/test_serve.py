"""`meterr serve` and `meterr keys create` as a newcomer runs them: real processes, real sockets."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

KEY_RE = re.compile(r"mtr_[A-Za-z0-9]{8}_[A-Za-z0-9_-]+")
DEADLINE = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def clean_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("MONGODB_URL", None)  # these tests are about the embedded store
    return env


class Server:
    def __init__(
        self, process: asyncio.subprocess.Process, port: int, errors: Path | None = None
    ) -> None:
        self.process = process
        self.errors = errors
        self.url = f"http://127.0.0.1:{port}"
        self.output: list[str] = []

    async def read_until(self, marker: str) -> None:
        assert self.process.stdout is not None
        async with asyncio.timeout(DEADLINE):
            while True:
                line = (await self.process.stdout.readline()).decode()
                if not line:
                    said = self.errors.read_text()[-3000:] if self.errors else ""
                    raise AssertionError(f"server exited before '{marker}': {self.output}\n{said}")
                self.output.append(line)
                if marker in line:
                    return

    @property
    def printed_key(self) -> str | None:
        found = KEY_RE.search("".join(self.output))
        return found.group(0) if found else None


@contextlib.asynccontextmanager
async def running_server(data_dir: Path, **env: str) -> AsyncIterator[Server]:
    port = free_port()
    errors = data_dir.parent / f"serve-{port}.log"  # what it says on stderr, for failures
    with errors.open("ab") as said:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "meterr", "serve", "--port", str(port),
            "--data-dir", str(data_dir),
            stdout=asyncio.subprocess.PIPE, stderr=said, env={**clean_env(), **env},
        )  # fmt: skip
    server = Server(process, port, errors)
    try:
        await server.read_until("listening")
        async with httpx.AsyncClient(base_url=server.url) as http, asyncio.timeout(DEADLINE):
            while True:
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/readyz")).status_code == 200:
                        break
                await asyncio.sleep(0.05)
        yield server
    finally:
        if process.returncode is None:
            process.terminate()
            async with asyncio.timeout(DEADLINE):
                await process.wait()


async def cli(*args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "meterr",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=clean_env(),
    )
    async with asyncio.timeout(DEADLINE):
        out, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.usefixtures("mongodb_url")
async def test_newcomer_serves_tracks_creates_keys_and_restarts(tmp_path: Path) -> None:
    data_dir = tmp_path / "meterr-data"
    event = {
        "provider": "openai",
        "model": "gpt-4",
        "input_tokens": 1500,
        "output_tokens": 500,
        "endpoint": "/v1/chat/completions",
        "metadata": {"user_id": "user_123", "session": "chat_456"},
    }
    async with running_server(data_dir) as server:
        admin_key = server.printed_key
        assert admin_key is not None, server.output
        state = json.loads((data_dir / "embedded-server.json").read_text())
        async with httpx.AsyncClient(
            base_url=server.url, headers={"Authorization": f"Bearer {admin_key}"}
        ) as http:
            racing = await asyncio.gather(
                *(
                    http.post("/v1/track", json=event, headers={"Idempotency-Key": "call-1"})
                    for _ in range(16)
                )
            )
            assert sorted(r.status_code for r in racing) == [200] * 15 + [201]
            costs = await http.get("/v1/costs", params={"group_by": "provider"})
            assert costs.json() == {"openai": {"total": 0.075, "tokens": 2000}}

        code, out = await cli(
            "keys", "create", "--org", "acme", "--tier", "pro", "--role", "read", "--json",
            "--data-dir", str(data_dir),
        )  # fmt: skip
        assert code == 0, out
        created = json.loads(out)
        assert created["tier"] == "pro"
        assert created["role"] == "read"
        assert created["org_id"].startswith("org_")
        async with httpx.AsyncClient(base_url=server.url) as http:
            response = await http.get(
                "/v1/costs", headers={"Authorization": f"Bearer {created['key']}"}
            )
            assert response.status_code == 200
            assert response.json() == {}
            assert response.headers["X-RateLimit-Limit"] == "1000"

        server.process.terminate()
        async with asyncio.timeout(DEADLINE):
            assert await server.process.wait() == 0
    assert not pid_alive(state["pid"]), "the embedded store outlived the server"
    assert not (data_dir / "embedded-server.json").exists()

    async with running_server(data_dir) as again:
        assert again.printed_key is None, "a second start must not mint another bootstrap key"
        async with httpx.AsyncClient(
            base_url=again.url, headers={"Authorization": f"Bearer {admin_key}"}
        ) as http:
            costs = await http.get("/v1/costs")
            assert costs.json() == {"openai": {"total": 0.075, "tokens": 2000}}
