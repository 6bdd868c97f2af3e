"""Who is calling: the organization, the key and what its role allows."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from meterr.errors import Forbidden

__all__ = ["Operation", "Principal", "Role", "Tier"]


class Tier(enum.StrEnum):
    FREE = "free"
    PRO = "pro"
    ENTERPRISE = "enterprise"

    @property
    def hourly_request_limit(self) -> int | None:
        """Requests per hour; None means unlimited."""
        return {Tier.FREE: 100, Tier.PRO: 1000, Tier.ENTERPRISE: None}[self]


class Role(enum.StrEnum):
    ADMIN = "admin"
    WRITE = "write"
    READ = "read"


class Operation(enum.StrEnum):
    INGEST = "ingest"
    READ = "read"
    MANAGE = "manage"


_ALLOWED: dict[Role, frozenset[Operation]] = {
    Role.ADMIN: frozenset(Operation),
    Role.WRITE: frozenset({Operation.INGEST}),
    Role.READ: frozenset({Operation.READ}),
}


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller of one request."""

    org_id: str
    org_name: str
    tier: Tier
    key_id: str
    role: Role
    team_id: str | None = None

    def require(self, operation: Operation, *alternatives: Operation) -> None:
        """Refuse unless the key's role allows `operation` (or one of `alternatives`)."""
        allowed = _ALLOWED[self.role]
        if operation not in allowed and not allowed.intersection(alternatives):
            raise Forbidden(
                f"A key with role '{self.role}' may not {operation.value}.",
                {"role": self.role.value, "operation": operation.value},
            )
