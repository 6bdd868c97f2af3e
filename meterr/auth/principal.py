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
    """Organization keys are admin, write (ingest only) or read. Keys of team members are
    confined to their team: team_admin (ingest, read, invite), member (ingest, read) or
    viewer (read)."""

    ADMIN = "admin"
    WRITE = "write"
    READ = "read"
    TEAM_ADMIN = "team_admin"
    MEMBER = "member"
    VIEWER = "viewer"


class Operation(enum.StrEnum):
    INGEST = "ingest"
    READ = "read"
    INVITE = "invite"
    MANAGE = "manage"


_ALLOWED: dict[Role, frozenset[Operation]] = {
    Role.ADMIN: frozenset(Operation),
    Role.WRITE: frozenset({Operation.INGEST}),
    Role.READ: frozenset({Operation.READ}),
    Role.TEAM_ADMIN: frozenset({Operation.INGEST, Operation.READ, Operation.INVITE}),
    Role.MEMBER: frozenset({Operation.INGEST, Operation.READ}),
    Role.VIEWER: frozenset({Operation.READ}),
}


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller of one request."""

    org_id: str
    org_name: str
    tier: Tier
    key_id: str
    role: Role
    # The key's team: the default team of the events it reports, and, for a confined key
    # (a team member's), the only team whose usage it may report or see.
    team_id: str | None = None
    confined: bool = False

    @property
    def allowed(self) -> frozenset[Operation]:
        """What the key's role lets it do."""
        return _ALLOWED[self.role]

    def require(self, operation: Operation, *alternatives: Operation) -> None:
        """Refuse unless the key's role allows `operation` (or one of `alternatives`)."""
        allowed = _ALLOWED[self.role]
        if operation not in allowed and not allowed.intersection(alternatives):
            raise Forbidden(
                f"A key with role '{self.role}' may not {operation.value}.",
                {"role": self.role.value, "operation": operation.value},
            )
