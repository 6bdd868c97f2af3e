"""Teams, invitations and members in GraphQL, each field a thin call into resolvers/."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.experimental.pydantic import input as derived_input
from strawberry.types import Info

from meterr import resolvers
from meterr.schema.connections import Connection, PageArgs, connection
from meterr.schema.context import GraphQLContext
from meterr.schema.enums import InvitationStatus, MemberRole
from meterr.schema.inputs import changes_given, changes_of, validated
from meterr.schema.node import Node
from meterr.schema.scalars import TimeBound, TimeZone
from meterr.schema.types import UsageTotals

if TYPE_CHECKING:
    from meterr.schema.budgets import Budget

__all__ = ["Team", "TeamMutations", "TeamQueries", "linked_team"]

GqlInfo = Info[GraphQLContext, None]


@strawberry.type
class TeamMember:
    id: strawberry.ID
    email: str
    role: MemberRole
    joined_at: datetime

    @classmethod
    def from_domain(cls, member: resolvers.Member) -> TeamMember:
        return cls(
            id=strawberry.ID(member.id),
            email=member.email,
            role=MemberRole(member.role),
            joined_at=member.joined_at,
        )


@strawberry.type(description="A team, its members and what it spent this calendar month (UTC).")
class Team(Node):
    """Members and spend are read only when selected, for every team of the operation at
    once (the context's loaders), unless the team came with them (`known`)."""

    id: strawberry.ID
    name: str
    description: str | None
    created_at: datetime
    updated_at: datetime
    known: strawberry.Private[resolvers.TeamView | None] = None

    @strawberry.field
    async def members(self, info: GqlInfo) -> list[TeamMember]:
        if self.known is not None:
            members = self.known.members
        else:
            members = await info.context.loaders.team_members.load(str(self.id))
        return [TeamMember.from_domain(member) for member in members]

    @strawberry.field
    async def spend_this_month(self, info: GqlInfo) -> UsageTotals:
        if self.known is not None:
            spend = self.known.month_spend
        else:
            spend = await info.context.loaders.team_spend.load(str(self.id))
        return UsageTotals.from_domain(spend)

    @strawberry.field(
        description="What the team spent over [startDate, endDate] (default: this month so far)."
    )
    async def spend(
        self,
        info: GqlInfo,
        start_date: TimeBound | None = None,
        end_date: TimeBound | None = None,
        tz: TimeZone | None = None,
    ) -> UsageTotals:
        ctx = info.context.meterr
        time_range = resolvers.parse_time_range(start_date, end_date, tz, now=ctx.now())
        spent = await info.context.loaders.team_spend_over.load((str(self.id), time_range))
        return UsageTotals.from_domain(spent)

    @strawberry.field(description="The budgets scoped to this team, with their spend.")
    async def budgets(
        self, info: GqlInfo
    ) -> list[Annotated[Budget, strawberry.lazy("meterr.schema.budgets")]]:
        from meterr.schema.budgets import Budget  # here: the two modules link each other

        statuses = await info.context.loaders.team_budgets.load(str(self.id))
        return [Budget.from_domain(status) for status in statuses]

    @classmethod
    def from_domain(cls, team: resolvers.Team, known: resolvers.TeamView | None = None) -> Team:
        return cls(
            id=strawberry.ID(team.id),
            name=team.name,
            description=team.description,
            created_at=team.created_at,
            updated_at=team.updated_at,
            known=known,
        )

    @classmethod
    def from_view(cls, view: resolvers.TeamView) -> Team:
        return cls.from_domain(view.team, known=view)


async def linked_team(info: GqlInfo, team_id: str | None) -> Team | None:
    """The team a budget or an event names, if a team with that id exists and the key may
    see it: read once for all the objects of the operation."""
    if team_id is None:
        return None
    team = await info.context.loaders.teams.load(team_id)
    return None if team is None else Team.from_domain(team)


@strawberry.type(description="An invitation and its single-use token (shown only here).")
class Invitation:
    id: strawberry.ID
    team_id: strawberry.ID
    email: str
    role: MemberRole
    status: InvitationStatus
    expires_at: datetime
    token: str


@strawberry.type(description="An accepted invitation: the member and its key (shown only here).")
class JoinedTeam:
    team_id: strawberry.ID
    team_name: str
    member: TeamMember
    api_key: str


@derived_input(
    model=resolvers.TeamInput,
    all_fields=True,
    name="TeamInput",
    description="A new team, as POST /v1/teams.",
)
class TeamInput:
    pass


@derived_input(
    model=changes_of(resolvers.TeamInput),
    all_fields=True,
    name="TeamChanges",
    description="Changes to a team, as PATCH /v1/teams/{id}: only the fields given change, "
    "and a description given as null is cleared.",
)
class TeamChanges:
    pass


@derived_input(
    model=resolvers.InvitationInput,
    all_fields=True,
    name="InvitationInput",
    description="Whom to invite and the role the invitation gives, as POST /v1/teams/{id}/invite.",
)
class InvitationInput:
    pass


@strawberry.type
class TeamQueries:
    @strawberry.field(
        description="The organization's teams in id order (a team's key: its own); 100 unless "
        "`first` or `last` says otherwise."
    )
    async def teams(
        self,
        info: GqlInfo,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Team] | None:
        page = PageArgs(first, after, last, before)
        size = page.size(100, resolvers.MAX_TEAMS_PAGE)
        found = await resolvers.teams_around(
            info.context.meterr, limit=size, after=after, before=before, backward=page.backward
        )
        return connection(
            found.teams,
            Team.from_domain,
            lambda team: team.id,
            has_next=found.more and not page.backward,
            has_previous=found.more if page.backward else after is not None,
        )

    @strawberry.field
    async def team(self, info: GqlInfo, id: strawberry.ID) -> Team | None:
        return Team.from_domain(await resolvers.visible_team(info.context.meterr, str(id)))


@strawberry.type
class TeamMutations:
    @strawberry.mutation
    async def create_team(self, info: GqlInfo, input: TeamInput) -> Team:
        ctx = info.context.meterr
        data = validated(ctx, resolvers.TeamInput, input, needs=resolvers.KeyOperation.MANAGE)
        return Team.from_view(await resolvers.create_team(ctx, data))

    @strawberry.mutation
    async def update_team(self, info: GqlInfo, id: strawberry.ID, changes: TeamChanges) -> Team:
        ctx = info.context.meterr
        given = changes_given(
            ctx, resolvers.TeamInput, changes, needs=resolvers.KeyOperation.MANAGE
        )
        return Team.from_domain(await resolvers.change_team(ctx, str(id), given))

    @strawberry.mutation(description="Delete a team; answers its id. Its usage stays.")
    async def delete_team(self, info: GqlInfo, id: strawberry.ID) -> strawberry.ID:
        await resolvers.delete_team(info.context.meterr, str(id))
        return id

    @strawberry.mutation
    async def invite_member(
        self, info: GqlInfo, team_id: strawberry.ID, input: InvitationInput
    ) -> Invitation:
        ctx = info.context.meterr
        data = validated(ctx, resolvers.InvitationInput, input, needs=resolvers.KeyOperation.INVITE)
        new = await resolvers.invite_member(ctx, str(team_id), data)
        invitation = new.invitation
        return Invitation(
            id=strawberry.ID(invitation.id),
            team_id=strawberry.ID(invitation.team_id),
            email=invitation.email,
            role=MemberRole(invitation.role),
            status=InvitationStatus(invitation.status),
            expires_at=invitation.expires_at,
            token=new.token,
        )

    @strawberry.mutation(
        description="Accept an invitation; needs no API key (the token is the credential)."
    )
    async def accept_invitation(self, info: GqlInfo, token: str) -> JoinedTeam:
        joined = await resolvers.accept_invitation(info.context.services, token)
        return JoinedTeam(
            team_id=strawberry.ID(joined.team.id),
            team_name=joined.team.name,
            member=TeamMember.from_domain(joined.member),
            api_key=joined.key,
        )

    @strawberry.mutation(description="Remove a member and revoke its key; answers its id.")
    async def remove_member(
        self, info: GqlInfo, team_id: strawberry.ID, member_id: strawberry.ID
    ) -> strawberry.ID:
        await resolvers.remove_member(info.context.meterr, str(team_id), str(member_id))
        return member_id
