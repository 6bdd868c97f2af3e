"""Structured logs: one JSON object per line, each carrying the request id of the request
it belongs to (taken from X-Request-Id when the caller sends one, made up otherwise), with
the credentials that URLs carry left out."""

from __future__ import annotations

import json
import logging
import re
import secrets
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "JsonFormatter",
    "RepeatedWarnings",
    "RequestIdMiddleware",
    "SecretRedaction",
    "configure_logging",
    "current_request_id",
]

_request_id: ContextVar[str | None] = ContextVar("meterr_request_id", default=None)
# An invitation's token is the invitee's only credential, and it travels in the path of
# POST /v1/invitations/{token}/accept, which the access log and error logs write out.
_CREDENTIAL_IN_PATH = re.compile(r"(/invitations/)[^/?#\s\"]+")
# Their INFO lines name every URL called, and a webhook's URL may hold its receiver's secret.
_QUIETED_CLIENT_LOGGERS = ("httpx", "httpcore")
# A caller's request id is taken as it is only when it is a token of visible ASCII: it goes
# back out in a header and into every log line and error answer of the request.
_CALLERS_REQUEST_ID = re.compile(rb"[!-~]{1,64}")


def current_request_id() -> str | None:
    return _request_id.get()


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or _request_id.get()
        if request_id is not None:
            entry["request_id"] = request_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def _redacted(value: object) -> object:
    return _CREDENTIAL_IN_PATH.sub(r"\1***", value) if isinstance(value, str) else value


class SecretRedaction(logging.Filter):
    """Writes *** for the credentials URLs carry (invitation tokens) in a record's message and
    arguments, leaving the arguments' shape as the logger's own formatters expect it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = _redacted(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redacted(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {name: _redacted(arg) for name, arg in record.args.items()}
        return True


class RepeatedWarnings(logging.Filter):
    """Lets through at most `burst` records of one kind (logger, message template, exception
    type) from WARNING up per `window` seconds, and says on the next one let through how
    many were held back: a failure that repeats on every request (a full file table, a lost
    store) cannot fill the disk with copies of itself."""

    def __init__(self, burst: int = 10, window: float = 60.0, kinds: int = 1000) -> None:
        super().__init__()
        self._burst = burst
        self._window = window
        self._kinds = kinds
        # kind -> [window start, records let through in it, records held back]
        self._seen: dict[tuple[str, str, str], list[float]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        error = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else ""
        kind = (record.name, str(record.msg), error)
        seen = self._seen.get(kind)
        if seen is None or record.created - seen[0] >= self._window:
            held = int(seen[2]) if seen is not None else 0
            if len(self._seen) >= self._kinds:
                self._seen.clear()
            self._seen[kind] = [record.created, 1, 0]
            if held:
                record.msg = f"{record.msg} ({held} more like it held back)"
            return True
        if seen[1] < self._burst:
            seen[1] += 1
            return True
        seen[2] += 1
        return False


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on stderr for Meterr's and uvicorn's loggers alike, secrets redacted,
    repeated warnings and errors held back; the HTTP client's own request lines only from
    WARNING up."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(SecretRedaction())
    handler.addFilter(RepeatedWarnings())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    for name in _QUIETED_CLIENT_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


class RequestIdMiddleware:
    """Gives each HTTP request an id (the caller's X-Request-Id or a new one), sets it for
    the logs written while it runs, and returns it as X-Request-Id."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"x-request-id", b"")[:64]
        valid = _CALLERS_REQUEST_ID.fullmatch(given)
        request_id = given.decode() if valid else secrets.token_hex(8)
        # In the scope too: a 500 is answered outside this middleware, after it returned.
        scope["meterr.request_id"] = request_id
        token = _request_id.set(request_id)

        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"x-request-id"]
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            _request_id.reset(token)
