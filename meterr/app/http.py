"""The HTTP server Meterr runs in: uvicorn, with deadlines on what clients send and a bound
on open connections, so that slow or idle clients cannot hold the server's sockets."""

from __future__ import annotations

import asyncio
import resource
from typing import Any, ClassVar

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from meterr.app.socket_writes import GatheredWritesWebSockets
from meterr.config import Settings

__all__ = ["DeadlineHttpProtocol", "raise_open_files_limit", "server_config"]

_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: application/json\r\n"
    b"connection: close\r\n"
    b"content-length: %d\r\n\r\n%s"
)
_TIMEOUT_BODY = (
    b'{"error":{"code":"request_timeout","message":"The request was not received in time.",'
    b'"details":{}}}'
)
# File descriptors kept for what is not a client connection: the store's pool, the log,
# webhook and provider calls.
_RESERVED_FILES = 256


class DeadlineHttpProtocol(HttpToolsProtocol):
    """Uvicorn's HTTP/1.1 protocol with two deadlines uvicorn does not have: a request's
    head (request line and headers) must arrive within `head_timeout` seconds of its first
    byte, or of the connection for its first request, and its body within `body_timeout`
    seconds of its head. A client that misses one is answered 408 (if nothing was answered
    yet) and its connection closed. Websocket upgrades leave both deadlines behind."""

    head_timeout: ClassVar[float] = 10.0
    body_timeout: ClassVar[float] = 60.0
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.head_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:
            self._arm(self.head_timeout)

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._disarm()
        if not self.parser.should_upgrade():
            self._arm(self.body_timeout)

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def handle_websocket_upgrade(self) -> None:
        self._disarm()
        super().handle_websocket_upgrade()

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self.cycle is None or not self.cycle.response_started:
            self.transport.write(_TIMEOUT_RESPONSE % (len(_TIMEOUT_BODY), _TIMEOUT_BODY))
        self.transport.close()


def raise_open_files_limit() -> int:
    """Raise this process's open-file limit to the most it may have; answer the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    return soft


def server_config(app: Any, settings: Settings, **options: Any) -> uvicorn.Config:
    """How Meterr is served: client deadlines, open connections bounded below the file
    limit (a client past it is answered 503 and closed rather than failing the store's
    sockets), bounded graceful shutdown, and websockets that gather their writes."""
    protocol = type(
        "DeadlineHttpProtocol",
        (DeadlineHttpProtocol,),
        {
            "head_timeout": settings.request_head_timeout,
            "body_timeout": settings.request_body_timeout,
        },
    )
    files = raise_open_files_limit()
    connections = settings.max_connections or max(64, files - _RESERVED_FILES)
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        http=protocol,
        ws=GatheredWritesWebSockets,
        limit_concurrency=connections,
        timeout_graceful_shutdown=round(settings.shutdown_timeout),
        **options,
    )
