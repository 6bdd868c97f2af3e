"""Which browser pages on other origins may call the HTTP API (CORS): what they may send and
which response headers their scripts may read."""

from __future__ import annotations

from collections.abc import Collection

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

__all__ = ["cross_origin_access"]

_METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")
_REQUEST_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id")
# Scripts on another origin see only the safelisted response headers unless told otherwise;
# these are the ones a client acts on (back off, retry, report, see where a figure came from).
_RESPONSE_HEADERS = (
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "Retry-After",
    "X-Request-Id",
    "X-Meterr-Source",
    "X-Meterr-Source-Reason",
)


def cross_origin_access(origins: Collection[str]) -> list[Middleware]:
    """CORS for `origins` ('*' for any); none without origins, so that browsers keep
    refusing cross-origin calls as they do by default. Keys travel in the Authorization
    header, never in cookies, so credentials mode is not allowed."""
    if not origins:
        return []
    return [
        Middleware(
            CORSMiddleware,
            allow_origins=list(origins),
            allow_methods=_METHODS,
            allow_headers=_REQUEST_HEADERS,
            expose_headers=_RESPONSE_HEADERS,
        )
    ]
