"""The one error model, rendered by both the REST layer and the GraphQL schema.

MeterrError                 internal_error        500
├── InvalidInput            invalid_input         400
│   ├── PayloadTooLarge     payload_too_large     413
│   └── UnsupportedMediaType unsupported_media_type 415
├── Unauthenticated         unauthenticated       401
├── Forbidden               forbidden             403
├── NotFound                not_found             404
├── MethodNotAllowed        method_not_allowed    405
├── Conflict                conflict              409
│   ├── IdempotencyConflict idempotency_conflict  409
│   └── InvitationUsed      invitation_used       409
├── InvitationExpired       invitation_expired    410
├── RateLimited             rate_limited          429
├── ProviderUnavailable     provider_error        502 (a provider's API refused or failed)
├── FeedInterrupted         feed_interrupted      503 (live feeds: resume with `after`)
│   └── SubscriberTooSlow   subscriber_too_slow   503
└── StoreUnavailable        store_unavailable     503
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

__all__ = [
    "Conflict",
    "FeedInterrupted",
    "Forbidden",
    "IdempotencyConflict",
    "InvitationExpired",
    "InvitationUsed",
    "InvalidInput",
    "MeterrError",
    "MethodNotAllowed",
    "NotFound",
    "PayloadTooLarge",
    "ProviderUnavailable",
    "RateLimited",
    "StoreUnavailable",
    "SubscriberTooSlow",
    "Unauthenticated",
    "UnsupportedMediaType",
]


class MeterrError(Exception):
    """An error a client may see: a stable code, a message and structured details."""

    code: ClassVar[str] = "internal_error"
    status: ClassVar[int] = 500

    def __init__(self, message: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details or {})


class InvalidInput(MeterrError):
    code = "invalid_input"
    status = 400


class PayloadTooLarge(InvalidInput):
    code = "payload_too_large"
    status = 413


class UnsupportedMediaType(InvalidInput):
    """A body in a format the route does not read (details.accepted says which it does)."""

    code = "unsupported_media_type"
    status = 415


class Unauthenticated(MeterrError):
    code = "unauthenticated"
    status = 401


class Forbidden(MeterrError):
    code = "forbidden"
    status = 403


class NotFound(MeterrError):
    code = "not_found"
    status = 404


class MethodNotAllowed(MeterrError):
    code = "method_not_allowed"
    status = 405


class Conflict(MeterrError):
    code = "conflict"
    status = 409


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"


class RateLimited(MeterrError):
    code = "rate_limited"
    status = 429

    def __init__(
        self, message: str, *, retry_after: int, details: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(message, details)
        self.retry_after = retry_after


class StoreUnavailable(MeterrError):
    """The store cannot be reached: nothing was done, and the same request may be sent
    again after `retry_after` seconds."""

    code = "store_unavailable"
    status = 503

    def __init__(
        self,
        message: str = "The store is unavailable; nothing was done. Retry shortly.",
        details: Mapping[str, Any] | None = None,
        *,
        retry_after: int = 5,
    ) -> None:
        super().__init__(message, {"retry_after": retry_after, **(details or {})})
        self.retry_after = retry_after


class FeedInterrupted(MeterrError):
    """A live feed ended before the client asked; `details.resume_after` says where to
    pick it up."""

    code = "feed_interrupted"
    status = 503


class SubscriberTooSlow(FeedInterrupted):
    code = "subscriber_too_slow"


class InvitationUsed(Conflict):
    code = "invitation_used"


class InvitationExpired(MeterrError):
    code = "invitation_expired"
    status = 410


class ProviderUnavailable(MeterrError):
    code = "provider_error"
    status = 502
