"""Teams, invitations and members: an invitation accepted becomes a key confined to its team."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from meterr.auth import Operation, Role, generate_key
from meterr.domain import (
    MemberRole,
    Notification,
    NotificationType,
    UsageTotals,
)
from meterr.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    InvitationExpired,
    InvitationUsed,
    NotFound,
)
from meterr.resolvers.changes import Changes
from meterr.resolvers.context import RequestContext, Services
from meterr.resolvers.links import team_members, team_month_spend
from meterr.resolvers.messages import notification_message
from meterr.resolvers.timerange import stored_instant
from meterr.store import Invitation, Member, NameTaken, Session, Team

__all__ = [
    "INVITATION_DAYS",
    "MAX_TEAMS_PAGE",
    "TeamsPage",
    "teams_around",
    "Joined",
    "NewInvitation",
    "TeamView",
    "accept_invitation",
    "change_team",
    "create_team",
    "delete_team",
    "get_team",
    "invite_member",
    "list_teams",
    "remove_member",
    "team_page",
    "update_team",
    "visible_team",
]

INVITATION_DAYS = 7
_MEMBER_ROLES = {"admin": Role.TEAM_ADMIN, "member": Role.MEMBER, "viewer": Role.VIEWER}
MAX_TEAMS_PAGE = 100


class TeamInput(BaseModel):
    """A team as clients create it; a change names any of its fields."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    name: Annotated[str, Field(min_length=1, max_length=100)]
    description: Annotated[str, Field(max_length=1000)] | None = None


class InvitationInput(BaseModel):
    """Whom to invite into a team, and the role the invitation gives."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    email: EmailStr
    role: MemberRole = MemberRole.MEMBER


@dataclass(frozen=True, slots=True)
class TeamView:
    """A team with its members and what it spent this calendar month (UTC)."""

    team: Team
    members: list[Member]
    month_spend: UsageTotals


@dataclass(frozen=True, slots=True)
class NewInvitation:
    """An invitation just made: `token` is its only appearance in clear."""

    invitation: Invitation
    token: str


@dataclass(frozen=True, slots=True)
class Joined:
    """An accepted invitation: the new member and its key, shown once."""

    team: Team
    member: Member
    key: str


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _views(ctx: RequestContext, teams: Sequence[Team], now: datetime) -> list[TeamView]:
    """The teams with their members and month spend: two reads, however many teams."""
    ids = [team.id for team in teams]
    members = await team_members(ctx, ids)
    spend = await team_month_spend(ctx, ids, now=now)
    return [TeamView(*view) for view in zip(teams, members, spend, strict=True)]


async def _team(ctx: RequestContext, team_id: str) -> Team:
    team = await ctx.store.teams.get(ctx.org_id, team_id)
    if team is None or (ctx.team_scope is not None and team.id != ctx.team_scope):
        raise NotFound(f"No team {team_id}.", {"id": team_id})
    return team


def _name_taken(name: str) -> Conflict:
    return Conflict(
        f"A team named '{name}' already exists in this organization.",
        {"fields": {"name": "already taken"}},
    )


async def create_team(ctx: RequestContext, data: TeamInput) -> TeamView:
    ctx.principal.require(Operation.MANAGE)
    now = stored_instant(ctx.now())
    team = Team(
        id=f"team_{secrets.token_hex(8)}",
        org_id=ctx.org_id,
        name=data.name,
        description=data.description,
        created_at=now,
        updated_at=now,
    )
    try:
        await ctx.store.teams.insert(team)
    except NameTaken:
        raise _name_taken(data.name) from None
    return TeamView(team, [], UsageTotals())


async def team_page(
    ctx: RequestContext, *, limit: int = 100, cursor: str | None = None
) -> tuple[list[Team], str | None]:
    """Teams in id order, with the cursor of the next page (None at the end); a team's
    key sees its own team only."""
    found = await teams_around(ctx, limit=limit, after=cursor)
    return found.teams, found.teams[-1].id if found.more else None


@dataclass(frozen=True, slots=True)
class TeamsPage:
    teams: list[Team]  # in id order
    more: bool  # past the page, in the direction paged (after it, or before it)


async def teams_around(
    ctx: RequestContext,
    *,
    limit: int,
    after: str | None = None,
    before: str | None = None,
    backward: bool = False,
) -> TeamsPage:
    """Up to `limit` teams in id order after the team `after`; `backward`, the last `limit`
    (before the team `before`). A team's key sees its own team only."""
    ctx.principal.require(Operation.READ)
    if not 1 <= limit <= MAX_TEAMS_PAGE:
        raise InvalidInput(
            f"limit must be between 1 and {MAX_TEAMS_PAGE}.",
            {"fields": {"limit": f"1 to {MAX_TEAMS_PAGE}"}},
        )
    if ctx.team_scope is not None:
        return TeamsPage([await _team(ctx, ctx.team_scope)], more=False)
    found = await ctx.store.teams.active(
        ctx.org_id, limit=limit + 1, after=after, before=before, backward=backward
    )
    if len(found) <= limit:
        return TeamsPage(found, more=False)
    return TeamsPage(found[1:] if backward else found[:limit], more=True)


async def list_teams(
    ctx: RequestContext, *, limit: int = 100, cursor: str | None = None
) -> tuple[list[TeamView], str | None]:
    """A page of teams (see `team_page`), each with its members and month spend."""
    teams, next_cursor = await team_page(ctx, limit=limit, cursor=cursor)
    return await _views(ctx, teams, ctx.now()), next_cursor


async def visible_team(ctx: RequestContext, team_id: str) -> Team:
    ctx.principal.require(Operation.READ)
    return await _team(ctx, team_id)


async def get_team(ctx: RequestContext, team_id: str) -> TeamView:
    [view] = await _views(ctx, [await visible_team(ctx, team_id)], ctx.now())
    return view


async def update_team(ctx: RequestContext, team_id: str, changes: Changes[TeamInput]) -> TeamView:
    now = ctx.now()
    [view] = await _views(ctx, [await change_team(ctx, team_id, changes, now=now)], now)
    return view


async def change_team(
    ctx: RequestContext,
    team_id: str,
    changes: Changes[TeamInput],
    *,
    now: datetime | None = None,
) -> Team:
    """Rename a team or change its description; fields left out keep their value, and a
    description given as null is cleared."""
    ctx.principal.require(Operation.MANAGE)
    current = await _team(ctx, team_id)
    data = changes.over({"name": current.name, "description": current.description})
    try:
        updated = await ctx.store.teams.update(
            ctx.org_id,
            team_id,
            name=data.name,
            description=data.description,
            at=stored_instant(now or ctx.now()),
        )
    except NameTaken:
        raise _name_taken(data.name) from None
    if updated is None:
        raise NotFound(f"No team {team_id}.", {"id": team_id})
    return updated


async def delete_team(ctx: RequestContext, team_id: str) -> None:
    """Delete a team: its usage stays (costs by team still show it, marked deleted), its
    members' keys are revoked and its pending invitations lapse."""
    ctx.principal.require(Operation.MANAGE)
    await _team(ctx, team_id)
    store = ctx.store
    key_ids = await store.teams.member_key_ids(ctx.org_id, team_id)
    now = ctx.now()

    async def work(session: Session) -> bool:
        deleted = await store.teams.delete(ctx.org_id, team_id, now, session)
        if deleted:
            await store.organizations.revoke_keys(ctx.org_id, key_ids, now, session)
        return deleted

    if not await store.unit_of_work.run(work):
        raise NotFound(f"No team {team_id}.", {"id": team_id})
    ctx.services.forget_principals()


async def invite_member(ctx: RequestContext, team_id: str, data: InvitationInput) -> NewInvitation:
    """Invite an email to a team; a pending invitation of that email is replaced."""
    ctx.principal.require(Operation.INVITE)
    team = await _team(ctx, team_id)
    if ctx.principal.role is Role.TEAM_ADMIN and data.role == "admin":
        raise Forbidden("A team admin may invite members and viewers only.", {"role": "admin"})
    now = stored_instant(ctx.now())
    token = f"mtrinv_{secrets.token_urlsafe(32)}"
    invitation = Invitation(
        id=f"inv_{secrets.token_hex(8)}",
        org_id=ctx.org_id,
        team_id=team.id,
        email=data.email.lower(),
        role=data.role,
        status="pending",
        created_at=now,
        expires_at=now + timedelta(days=INVITATION_DAYS),
    )
    await ctx.store.teams.invite(invitation, _hash_token(token))
    return NewInvitation(invitation, token)


async def accept_invitation(services: Services, token: str) -> Joined:
    """Use an invitation: the invitee becomes a member with a key confined to the team."""
    store = services.store
    invitation = await store.teams.invitation_by_token_across_tenants(_hash_token(token))
    if invitation is None or invitation.status in ("replaced", "revoked"):
        raise NotFound("No such invitation: it may have been replaced or revoked.", {})
    if invitation.status == "accepted":
        raise InvitationUsed("This invitation was already accepted.", {"id": invitation.id})
    now = stored_instant(services.clock.now())
    if invitation.expires_at <= now:
        raise InvitationExpired(
            "This invitation has expired; ask for a new one.",
            {"id": invitation.id, "expired_at": invitation.expires_at.isoformat()},
        )
    team = await store.teams.get(invitation.org_id, invitation.team_id)
    if team is None:
        raise NotFound("The team of this invitation no longer exists.", {})
    generated = generate_key()

    async def work(session: Session) -> tuple[Member, Notification] | None:
        member = Member(
            id=f"mem_{secrets.token_hex(8)}",
            org_id=invitation.org_id,
            team_id=team.id,
            email=invitation.email,
            role=invitation.role,
            key_id=store.organizations.new_key_id(),
            joined_at=now,
        )
        # The invitation is used first: of racing accepts, the losers write nothing, even
        # where the store has no transactions to roll them back.
        if not await store.teams.accept(invitation, member, now, session):
            return None
        await store.organizations.insert_key(
            invitation.org_id,
            key_hash=generated.key_hash,
            display_prefix=generated.display_prefix,
            role=_MEMBER_ROLES[invitation.role],
            team_id=team.id,
            name=invitation.email,
            confined=True,
            now=now,
            key_id=member.key_id,
            session=session,
        )
        joined = await store.notifications.append(
            invitation.org_id,
            NotificationType.MEMBER_JOINED,
            {
                "team_id": team.id,
                "team_name": team.name,
                "member_id": member.id,
                "email": member.email,
                "role": member.role,
            },
            at=now,
            session=session,
        )
        return member, joined

    outcome = await store.unit_of_work.run(work)
    if outcome is None:  # another request used it between the checks and the write
        raise InvitationUsed("This invitation was already accepted.", {"id": invitation.id})
    member, joined = outcome
    services.wake_dispatcher()
    await services.bus.publish(joined.org_id, joined.type, [notification_message(joined)])
    return Joined(team, member, generated.key)


async def remove_member(ctx: RequestContext, team_id: str, member_id: str) -> None:
    """Remove a member from a team and revoke the key its invitation gave it."""
    ctx.principal.require(Operation.INVITE)
    await _team(ctx, team_id)
    member = await ctx.store.teams.remove_member(ctx.org_id, team_id, member_id)
    if member is None:
        raise NotFound(f"No member {member_id} in team {team_id}.", {"id": member_id})
    await ctx.store.organizations.revoke_keys(ctx.org_id, [member.key_id], ctx.now())
    ctx.services.forget_principals()
