"""Answers about teams, invitations and provider connections."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from meterr.rest_compat.answers.base import Answer, ExactUsd, Usd
from meterr.rest_compat.answers.usage import PriceAnswer

__all__ = [
    "ConnectionAnswer",
    "InvitationAnswer",
    "JoinedAnswer",
    "MemberAnswer",
    "ProviderAnswer",
    "ProvidersAnswer",
    "ReconciliationAnswer",
    "SyncAnswer",
    "TeamAnswer",
    "TeamsAnswer",
]


class MemberAnswer(Answer):
    id: str
    email: str
    role: Literal["admin", "member", "viewer"]
    joined_at: datetime


class MonthSpend(Answer):
    total: Usd
    total_exact: ExactUsd
    tokens: int
    requests: int


class TeamAnswer(Answer):
    """A team with its members and its spend this calendar month (UTC)."""

    id: str
    name: str
    description: str | None
    created_at: datetime
    updated_at: datetime
    members: list[MemberAnswer]
    spend_this_month: MonthSpend


class TeamsAnswer(Answer):
    """A page of teams."""

    teams: list[TeamAnswer]
    next_cursor: str | None


class InvitationAnswer(Answer):
    """The invitation and its single-use token (shown only here)."""

    id: str
    team_id: str
    email: str
    role: Literal["admin", "member", "viewer"]
    status: str
    created_at: datetime
    expires_at: datetime
    token: str


class TeamName(Answer):
    id: str
    name: str


class JoinedAnswer(Answer):
    """The new member, its team and its API key (shown only here)."""

    team: TeamName
    member: MemberAnswer
    api_key: str


class ConnectionAnswer(Answer):
    """A provider connection; of its credential, only the last four characters."""

    id: str
    provider: str
    name: str
    mode: Literal["import", "reconcile"]
    options: dict[str, Any]
    api_key: str
    created_at: datetime
    last_sync_at: datetime | None
    last_sync_status: str | None
    last_sync_error: str | None


class ProviderAnswer(Answer):
    name: str
    connectable: bool
    connected: bool
    connections: list[ConnectionAnswer]
    models: list[PriceAnswer]


class ProvidersAnswer(Answer):
    """Each provider, its connections and its models' prices."""

    providers: list[ProviderAnswer]


class SyncAnswer(Answer):
    """What a sync read from the provider and stored."""

    connection: ConnectionAnswer
    start: datetime
    end: datetime
    rows: int
    imported: int
    already_imported: int
    open_buckets: int


class Side(Answer):
    tokens: int
    cost: Usd
    requests: int


class Difference(Answer):
    tokens: int
    cost: Usd


class ReconciliationDay(Answer):
    date: date
    model: str
    tracked: Side
    reported: Side
    difference: Difference
    flagged: bool


class ReconciliationAnswer(Answer):
    """Per day and model: tracked by clients, reported by the provider, the difference."""

    connection: ConnectionAnswer
    start: datetime
    end: datetime
    tolerance_percent: float
    flagged_days: int
    days: list[ReconciliationDay]
