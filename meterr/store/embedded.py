"""The embedded store: a SecantusDB server run as a child process, never imported."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import enum
import json
import logging
import os
import shutil
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from meterr.data_dir import private_directory

__all__ = ["EmbeddedServer", "EmbeddedState", "embedded_url", "find_running_server"]

log = logging.getLogger(__name__)

_STATE_FILE = "embedded-server.json"
_POLL_SECONDS = 0.05
_START_ATTEMPTS = 3
_PR_SET_PDEATHSIG = 1
_EXECUTABLE = "secantusd-py"
# The store's files, its log included, readable by the account running Meterr alone.
_PRIVATE_FILES_UMASK = 0o077


def embedded_url(port: int) -> str:
    # retryWrites=false: SecantusDB scans its retry records on every retryable
    # write; ingestion is idempotent by event_id, so a resent write is harmless.
    # journal=true: without it SecantusDB acknowledges a write before it is in its journal,
    # and a store killed right after loses writes already acknowledged to clients.
    return f"mongodb://127.0.0.1:{port}/?directConnection=true&retryWrites=false&journal=true"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _executable() -> str:
    beside_python = Path(sys.executable).parent / _EXECUTABLE
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which(_EXECUTABLE)
    if found is None:
        raise RuntimeError(f"'{_EXECUTABLE}' not found: install the 'secantusdb' package")
    return found


def _stop_with_parent() -> None:
    """In the child, before exec: on Linux, have the kernel end it when its parent dies,
    so a Meterr killed outright (SIGKILL, OOM) leaves no store running behind it."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def _answers_ping(url: str, wait_seconds: float) -> bool:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        url, serverSelectionTimeoutMS=int(wait_seconds * 1000)
    )
    try:
        await client.admin.command("ping")
    except PyMongoError:
        return False
    finally:
        await client.close()
    return True


async def _accepts_connections(port: int | None) -> bool:
    if port is None:
        return False
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    await writer.wait_closed()
    return True


async def find_running_server(data_dir: Path, *, wait_seconds: float = 30.0) -> str | None:
    """The URL of an embedded server already serving data_dir for a live Meterr process
    (`meterr serve`, while a CLI command runs beside it), if any.

    A server whose Meterr died is on its way out (it is told to stop when its parent dies):
    its end is waited for, up to `wait_seconds`, so that the server started next does not
    find the data still held."""
    state_path = data_dir / _STATE_FILE
    try:
        state = json.loads(state_path.read_text())
        pid, port, owner = int(state["pid"]), int(state["port"]), int(state["owner"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not _pid_alive(owner):
        for _ in range(int(wait_seconds / _POLL_SECONDS)):  # a pid has nothing to wait on
            if not _pid_alive(pid):
                break
            await asyncio.sleep(_POLL_SECONDS)
        return None
    url = embedded_url(port)
    if (
        _pid_alive(pid)
        and await _accepts_connections(port)
        and await _answers_ping(url, wait_seconds=2.0)
    ):
        return url
    return None


class EmbeddedState(enum.StrEnum):
    STOPPED = "stopped"
    RUNNING = "running"
    RESTARTING = "restarting"  # it stopped on its own; it is being started again
    FAILED = "failed"  # it stopped on its own and could not be started again


@dataclass
class EmbeddedServer:
    """Starts SecantusDB on a free loopback port with its data under data_dir, and keeps it
    running: a server that stops on its own (killed, crashed) is started again on the same
    port, where the driver finds it, after `restart_delay` seconds, doubling at each failed
    try; after `restart_attempts` tries it is FAILED, for health checks to report."""

    data_dir: Path
    start_timeout: float = 30.0
    restart_delay: float = 0.5
    restart_attempts: int = 8
    state: EmbeddedState = EmbeddedState.STOPPED
    _process: asyncio.subprocess.Process | None = None
    _port: int | None = None
    _supervisor: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        if self._port is None:
            raise RuntimeError("the embedded server is not running")
        return embedded_url(self._port)

    async def start(self) -> str:
        private_directory(self.data_dir)
        for attempt in range(_START_ATTEMPTS):
            # The port is free when chosen; another process may bind it before the server
            # does, and then the next free one is tried.
            self._port = _free_port()
            try:
                await self._launch()
                break
            except RuntimeError as exc:
                if attempt == _START_ATTEMPTS - 1:
                    raise
                log.warning("The embedded store did not start (%s); trying another port.", exc)
        self._supervisor = asyncio.create_task(self._supervise())
        return self.url

    async def _launch(self) -> None:
        """Start the server on self._port and wait until it answers."""
        assert self._port is not None
        log_flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
        log_file = os.fdopen(os.open(self.data_dir / "secantusd.log", log_flags, 0o600), "ab")
        try:
            self._process = await asyncio.create_subprocess_exec(
                _executable(),
                "--host",
                "127.0.0.1",
                "--port",
                str(self._port),
                "--storage-path",
                str(self.data_dir / "db"),
                "--log-level",
                "WARNING",
                # A committed transaction is acknowledged only once it is in the journal on
                # disk: without it, a store killed right after a commit loses the events of
                # requests already answered 201 (each commit costs a fraction of a
                # millisecond more; group commit shares it between requests).
                "--sync-on-commit",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
                start_new_session=True,
                umask=_PRIVATE_FILES_UMASK,
                preexec_fn=_stop_with_parent,  # one syscall: safe before exec
            )
        finally:
            log_file.close()
        try:
            await self._wait_until_ready()
        except BaseException:
            await self._end_process()
            raise
        state_flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        with os.fdopen(os.open(self.data_dir / _STATE_FILE, state_flags, 0o600), "w") as state:
            state.write(
                json.dumps({"pid": self._process.pid, "port": self._port, "owner": os.getpid()})
            )
        self.state = EmbeddedState.RUNNING

    async def _supervise(self) -> None:
        while (process := self._process) is not None:
            await process.wait()
            if self._process is not process:  # stopped on purpose
                return
            self.state = EmbeddedState.RESTARTING
            log.error(
                "The embedded store stopped (exit code %s); starting it again.",
                process.returncode,
            )
            if not await self._restart():
                self.state = EmbeddedState.FAILED
                log.critical(
                    "The embedded store could not be started again after %d tries; see %s.",
                    self.restart_attempts,
                    self.data_dir / "secantusd.log",
                )
                return
            log.warning("The embedded store is running again.")

    async def _restart(self) -> bool:
        delay = self.restart_delay
        for _ in range(self.restart_attempts):
            await asyncio.sleep(delay)
            try:
                await self._launch()
            except (RuntimeError, OSError) as exc:
                log.error("Starting the embedded store again failed: %s", exc)
                delay = min(delay * 2, 30.0)
            else:
                return True
        return False

    async def _wait_until_ready(self) -> None:
        assert self._process is not None
        deadline = asyncio.get_running_loop().time() + self.start_timeout
        while asyncio.get_running_loop().time() < deadline:
            if self._process.returncode is not None:
                raise RuntimeError(
                    f"the embedded store exited with code {self._process.returncode}; "
                    f"see {self.data_dir / 'secantusd.log'}"
                )
            # Wait for the port before speaking MongoDB to it: a driver connection
            # abandoned mid-handshake would leave a socket behind.
            if await _accepts_connections(self._port) and await _answers_ping(
                self.url, wait_seconds=5.0
            ):
                return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"the embedded store did not start within {self.start_timeout}s")

    async def stop(self) -> None:
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is not None:
            supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await supervisor
        with contextlib.suppress(FileNotFoundError):
            (self.data_dir / _STATE_FILE).unlink()
        await self._end_process()
        self.state = EmbeddedState.STOPPED

    async def _end_process(self) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout=15)
        except TimeoutError:
            process.kill()
            await process.wait()
