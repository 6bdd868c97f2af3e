"""The websockets open on this instance, by the API key that opened them: a key that stops
working (revoked, its member removed, its team deleted) closes its sockets within seconds."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator

__all__ = ["CloseSocket", "OpenSockets"]

CloseSocket = Callable[[], Awaitable[None]]


class OpenSockets:
    """Which key each open socket runs under, and how to close it. `check` is woken at once
    when this instance revoked keys, and runs every few seconds for revocations made
    elsewhere (another instance, the CLI)."""

    def __init__(self) -> None:
        self._sockets: dict[int, tuple[str, CloseSocket]] = {}
        self._count = 0
        self._changed = asyncio.Event()

    @contextlib.contextmanager
    def watching(self, key: str, close: CloseSocket) -> Iterator[None]:
        """While inside, the socket is closed with `close` if `key` stops working."""
        self._count += 1
        ident = self._count
        self._sockets[ident] = (key, close)
        try:
            yield
        finally:
            self._sockets.pop(ident, None)

    def keys_changed(self) -> None:
        self._changed.set()

    def by_key(self) -> dict[str, list[CloseSocket]]:
        grouped: dict[str, list[CloseSocket]] = {}
        for key, close in self._sockets.values():
            grouped.setdefault(key, []).append(close)
        return grouped

    async def next_round(self, stop: asyncio.Event, interval: float) -> None:
        """Wait for keys to change here, `interval` seconds, or `stop`."""
        waits = [asyncio.create_task(event.wait()) for event in (self._changed, stop)]
        try:
            await asyncio.wait(waits, timeout=interval, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
        self._changed.clear()
