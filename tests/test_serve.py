"""`meterr serve` and `meterr keys create` as a newcomer runs them: real processes, real sockets."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.exact import inexact
from tests.support.processes import DEADLINE, clean_env, pid_alive, running_server


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
            assert inexact(costs.json()) == {"openai": {"total": 0.075, "tokens": 2000}}

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
            assert inexact(costs.json()) == {"openai": {"total": 0.075, "tokens": 2000}}
