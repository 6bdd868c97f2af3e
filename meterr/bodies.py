"""Request bodies read with a limit: both doors, /v1 and /graphql, refuse an oversized body
before holding it whole, whether its size is declared (Content-Length) or not (chunked), and
parse it as strict JSON (meterr.strict_json)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import Message

from meterr.errors import PayloadTooLarge
from meterr.strict_json import parse_json, unstorable_text

__all__ = ["parse_json", "read_body", "unstorable_text", "with_body"]


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The request body, refusing one over max_bytes before reading it whole."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(
            f"The body is {declared} bytes; at most {max_bytes} are accepted.",
            {"limit_bytes": max_bytes},
        )
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > max_bytes:
            raise PayloadTooLarge(
                f"The body exceeds {max_bytes} bytes.", {"limit_bytes": max_bytes}
            )
    return bytes(body)


def with_body(request: Request, body: bytes) -> Request:
    """The same request with its body already read, for code that reads it again."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(request.scope, receive=receive)
