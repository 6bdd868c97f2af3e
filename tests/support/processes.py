"""Meterr as real processes on real sockets: free ports, `meterr serve` in a child process,
and the process ids left behind."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

__all__ = [
    "DEADLINE",
    "KEY_RE",
    "Server",
    "clean_env",
    "connections_with_unread_bytes",
    "free_port",
    "local_port",
    "pid_alive",
    "running_server",
]

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


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def local_port(response: httpx.Response) -> int:
    """The client-side port of the connection that carried `response`."""
    port: int = response.extensions["network_stream"].get_extra_info("client_addr")[1]
    return port


def connections_with_unread_bytes(port: int) -> int:
    """How many loopback TCP connections to `port` hold bytes their process has not read
    (Linux): with the process stopped (SIGSTOP), the requests sent to it since."""
    found = 0
    for row in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        _, local, _, state, queues, *_ = row.split()
        if state == "01" and int(local.split(":")[1], 16) == port:  # 01: established
            found += int(queues.split(":")[1], 16) > 0
    return found
