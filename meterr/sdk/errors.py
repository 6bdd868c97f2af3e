"""What the SDK raises: the API's own error code, message and details, by HTTP status."""

from __future__ import annotations

from typing import Any

__all__ = [
    "AuthenticationError",
    "ConflictError",
    "InvalidRequestError",
    "MeterrAPIError",
    "MeterrConnectionError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitedError",
    "ServerError",
]


class MeterrConnectionError(Exception):
    """Meterr could not be reached (after the retries)."""


class MeterrAPIError(Exception):
    """An error answer: `code`, `message` and `details` as the API sent them."""

    def __init__(
        self, status: int, code: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}


class InvalidRequestError(MeterrAPIError):
    """400: `details["fields"]` names each offending field."""


class AuthenticationError(MeterrAPIError):
    """401: a missing, malformed, unknown or revoked key."""


class PermissionDeniedError(MeterrAPIError):
    """403: the key's role does not allow this."""


class NotFoundError(MeterrAPIError):
    """404."""


class ConflictError(MeterrAPIError):
    """409, such as `idempotency_conflict`."""


class RateLimitedError(MeterrAPIError):
    """429 after the retries: `retry_after` seconds until the hour's budget resets."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(status, code, message, details)
        self.retry_after = retry_after


class ServerError(MeterrAPIError):
    """5xx after the retries."""


_BY_STATUS: dict[int, type[MeterrAPIError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
}


def error_from(status: int, body: Any, retry_after: float | None = None) -> MeterrAPIError:
    """The exception for an error answer, from its `{"error": {...}}` envelope."""
    envelope = body.get("error") if isinstance(body, dict) else None
    code = str(envelope.get("code", "error")) if isinstance(envelope, dict) else "error"
    message = str(envelope.get("message", "")) if isinstance(envelope, dict) else str(body)[:200]
    details = envelope.get("details") if isinstance(envelope, dict) else None
    if status == 429:
        return RateLimitedError(status, code, message, details, retry_after)
    if status >= 500:
        return ServerError(status, code, message, details)
    return _BY_STATUS.get(status, MeterrAPIError)(status, code, message, details)
