"""The REST door: the documented /v1 routes over the shared resolvers."""

from __future__ import annotations

from meterr.rest_compat.errors import (
    UnexpectedErrors,
    http_exception_handler,
    meterr_error_handler,
    store_unreachable_handler,
    unexpected_error_handler,
)
from meterr.rest_compat.routes import v1_routes

__all__ = [
    "UnexpectedErrors",
    "http_exception_handler",
    "meterr_error_handler",
    "store_unreachable_handler",
    "unexpected_error_handler",
    "v1_routes",
]
