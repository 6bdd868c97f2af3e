"""The Python SDK: talks to a Meterr server over HTTP only, never to its internals."""

from __future__ import annotations

from meterr.sdk.batching import EventBatcher
from meterr.sdk.client import AsyncClient, Client, CostGroup, TrackedEvent
from meterr.sdk.errors import (
    AuthenticationError,
    ConflictError,
    InvalidRequestError,
    MeterrAPIError,
    MeterrConnectionError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
)
from meterr.sdk.instrument import instrument

__all__ = [
    "AsyncClient",
    "AuthenticationError",
    "Client",
    "ConflictError",
    "CostGroup",
    "EventBatcher",
    "InvalidRequestError",
    "MeterrAPIError",
    "MeterrConnectionError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitedError",
    "ServerError",
    "TrackedEvent",
    "instrument",
]
