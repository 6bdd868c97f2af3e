"""Websocket connections that write all that one iteration of the event loop sends them in
one system call.

Uvicorn writes each websocket message to its socket at once, one `send` system call per
message; fanning events out to many subscribers, those calls took more than half of the time
spent sending (docs/benchmarks.md). Here a connection's writes are gathered until the end of
the loop's iteration, so that a burst of messages to one subscriber costs one call.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

__all__ = ["GatheredWritesWebSockets"]


class _GatheredWrites:
    """A transport whose writes wait for the end of the loop's iteration and go out together;
    everything else is the wrapped transport's. The flow control stays the transport's: what
    waits here is at most what one iteration sent."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(data)

    def _flush(self) -> None:
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class GatheredWritesWebSockets(WebSocketsSansIOProtocol):
    """Uvicorn's websocket protocol (websockets' sans-I/O implementation), its writes
    gathered per iteration of the event loop."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        super().connection_made(_GatheredWrites(transport, self.loop))  # type: ignore[arg-type]
