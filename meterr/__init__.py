"""Meterr: self-hosted AI cost tracking. `meterr.Client` is its Python SDK."""

from __future__ import annotations

from meterr.sdk import (
    AsyncClient,
    Client,
    MeterrAPIError,
    MeterrConnectionError,
    instrument,
)

__all__ = [
    "AsyncClient",
    "Client",
    "MeterrAPIError",
    "MeterrConnectionError",
    "__version__",
    "instrument",
]

__version__ = "0.1.0"
