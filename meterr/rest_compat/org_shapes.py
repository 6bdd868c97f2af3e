"""The JSON shapes of teams, invitations and provider connections."""

from __future__ import annotations

from typing import Any

from meterr.domain import UsageTotals
from meterr.resolvers import (
    Connection,
    Joined,
    NewInvitation,
    ProviderInfo,
    Reconciliation,
    TeamView,
)
from meterr.rest_compat.shapes import price_json
from meterr.wire import exact_usd, instant, usd

__all__ = [
    "connection_json",
    "invitation_json",
    "joined_json",
    "provider_json",
    "reconciliation_json",
    "team_json",
]


def team_json(view: TeamView) -> dict[str, Any]:
    """A team with its members and its spend this calendar month (UTC)."""
    team = view.team
    return {
        "id": team.id,
        "name": team.name,
        "description": team.description,
        "created_at": instant(team.created_at),
        "updated_at": instant(team.updated_at),
        "members": [
            {
                "id": member.id,
                "email": member.email,
                "role": member.role,
                "joined_at": instant(member.joined_at),
            }
            for member in view.members
        ],
        "spend_this_month": {
            "total": usd(view.month_spend.cost),
            "total_exact": exact_usd(view.month_spend.cost),
            "tokens": view.month_spend.tokens,
            "requests": view.month_spend.requests,
        },
    }


def invitation_json(new: NewInvitation) -> dict[str, Any]:
    """An invitation just made, its single-use token included (shown only here)."""
    invitation = new.invitation
    return {
        "id": invitation.id,
        "team_id": invitation.team_id,
        "email": invitation.email,
        "role": invitation.role,
        "status": invitation.status,
        "created_at": instant(invitation.created_at),
        "expires_at": instant(invitation.expires_at),
        "token": new.token,
    }


def joined_json(joined: Joined) -> dict[str, Any]:
    """The new member, its team and its API key (shown only here)."""
    member = joined.member
    return {
        "team": {"id": joined.team.id, "name": joined.team.name},
        "member": {
            "id": member.id,
            "email": member.email,
            "role": member.role,
            "joined_at": instant(member.joined_at),
        },
        "api_key": joined.key,
    }


def connection_json(connection: Connection) -> dict[str, Any]:
    """A provider connection; of its credential, only the last four characters."""
    return {
        "id": connection.id,
        "provider": connection.provider,
        "name": connection.name,
        "mode": connection.mode,
        "options": connection.options,
        "api_key": f"...{connection.credential_hint}",
        "created_at": instant(connection.created_at),
        "last_sync_at": None
        if connection.last_sync_at is None
        else instant(connection.last_sync_at),
        "last_sync_status": connection.last_sync_status,
        "last_sync_error": connection.last_sync_error,
    }


def provider_json(info: ProviderInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "connectable": info.connectable,
        "connected": bool(info.connections),
        "connections": [connection_json(c) for c in info.connections],
        "models": [price_json(price) for price in info.models],
    }


def _side(totals: UsageTotals) -> dict[str, Any]:
    return {"tokens": totals.tokens, "cost": usd(totals.cost), "requests": totals.requests}


def reconciliation_json(report: Reconciliation) -> dict[str, Any]:
    """Per day and model: tracked by clients, reported by the provider, the difference."""
    return {
        "connection": connection_json(report.connection),
        "start": instant(report.time_range.start),
        "end": instant(report.time_range.end),
        "tolerance_percent": float(report.tolerance_percent),
        "flagged_days": report.flagged_days,
        "days": [
            {
                "date": line.day.isoformat(),
                "model": line.model,
                "tracked": _side(line.tracked),
                "reported": _side(line.reported),
                "difference": {
                    "tokens": line.tracked.tokens - line.reported.tokens,
                    "cost": usd(line.tracked.cost - line.reported.cost),
                },
                "flagged": line.flagged,
            }
            for line in report.lines
        ],
    }
