"""Query parameters of /v1 requests, parsed with errors that name them."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from starlette.requests import Request

from meterr.errors import InvalidInput

__all__ = ["bool_param", "decimal_param", "int_param", "optional_int_param", "query_param"]

_MAX_NUMBER_CHARS = 40


def query_param(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    return value if value not in (None, "") else None


def int_param(request: Request, name: str, default: int) -> int:
    raw = query_param(request, name)
    if raw is None:
        return default
    try:
        if len(raw) > _MAX_NUMBER_CHARS:
            raise ValueError(raw)
        return int(raw)
    except ValueError:
        raise InvalidInput(
            f"{name} must be an integer.", {"fields": {name: "not an integer"}}
        ) from None


def optional_int_param(request: Request, name: str) -> int | None:
    return None if query_param(request, name) is None else int_param(request, name, 0)


def decimal_param(request: Request, name: str) -> Decimal | None:
    raw = query_param(request, name)
    if raw is None:
        return None
    try:
        # A number of a few dozen characters at most: Decimal reads any length, and
        # arithmetic on a thousand-digit exponent is slow.
        if len(raw) > _MAX_NUMBER_CHARS:
            raise InvalidOperation(raw)
        value = Decimal(raw)
    except InvalidOperation:
        raise InvalidInput(
            f"{name} must be a number.", {"fields": {name: "not a number"}}
        ) from None
    if not value.is_finite():
        raise InvalidInput(f"{name} must be a number.", {"fields": {name: "not a number"}})
    return value


def bool_param(request: Request, name: str) -> bool:
    """`true`/`1` or `false`/`0`; absent is false."""
    raw = query_param(request, name)
    if raw is None or raw.lower() in ("false", "0"):
        return False
    if raw.lower() in ("true", "1"):
        return True
    raise InvalidInput(f"{name} must be true or false.", {"fields": {name: "not a boolean"}})
