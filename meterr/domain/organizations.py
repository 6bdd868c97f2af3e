"""Organizations' members and connections."""

from __future__ import annotations

import enum

__all__ = ["ConnectionMode", "InvitationStatus", "MemberRole"]


class MemberRole(enum.StrEnum):
    """A member's role in a team: admin (ingest, read, invite), member (ingest, read) or
    viewer (read)."""

    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"


class InvitationStatus(enum.StrEnum):
    """An invitation waits until accepted; a newer one to the same address replaces it, and
    deleting its team revokes it."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REPLACED = "replaced"
    REVOKED = "revoked"


class ConnectionMode(enum.StrEnum):
    """What a provider connection does: import the provider's usage, or reconcile it with
    what was tracked."""

    IMPORT = "import"
    RECONCILE = "reconcile"
