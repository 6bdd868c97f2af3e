"""Teams, their members and the invitations that make members."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from meterr.store.documents import Document, NameTaken
from meterr.store.unit_of_work import Session

__all__ = ["Invitation", "Member", "Team", "TeamStore"]


@dataclass(frozen=True, slots=True)
class Team:
    id: str
    org_id: str
    name: str
    description: str | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Member:
    id: str
    org_id: str
    team_id: str
    email: str
    role: str
    key_id: str
    joined_at: datetime


@dataclass(frozen=True, slots=True)
class Invitation:
    id: str
    org_id: str
    team_id: str
    email: str
    role: str
    status: str  # pending, accepted, replaced, revoked
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None = None


def _team(doc: Document) -> Team:
    return Team(
        id=doc["_id"],
        org_id=doc["org_id"],
        name=doc["name"],
        description=doc.get("description"),
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
        deleted_at=doc.get("deleted_at"),
    )


def _member(doc: Document) -> Member:
    return Member(
        id=doc["_id"],
        org_id=doc["org_id"],
        team_id=doc["team_id"],
        email=doc["email"],
        role=doc["role"],
        key_id=doc["key_id"],
        joined_at=doc["joined_at"],
    )


def _invitation(doc: Document) -> Invitation:
    return Invitation(
        id=doc["_id"],
        org_id=doc["org_id"],
        team_id=doc["team_id"],
        email=doc["email"],
        role=doc["role"],
        status=doc["status"],
        created_at=doc["created_at"],
        expires_at=doc["expires_at"],
        accepted_at=doc.get("accepted_at"),
    )


def _name_key(name: str) -> str:
    return name.casefold()


class TeamStore:
    """Active team names are unique in an organization (a unique index on the folded name);
    a deleted team keeps its document, its name freed, so that usage still finds it.

    Reads name only the fields of one index (or the unique _id) in their filter and check the
    rest here: the embedded store scans the whole collection for any other filter."""

    team_indexes = (
        IndexModel([("org_id", ASCENDING), ("name_key", ASCENDING)], unique=True),
        IndexModel([("org_id", ASCENDING), ("created_at", ASCENDING)]),
        # The active teams of an organization in id order: a page is one indexed range.
        IndexModel([("org_id", ASCENDING), ("deleted_at", ASCENDING), ("_id", ASCENDING)]),
    )
    member_indexes = (IndexModel([("org_id", ASCENDING), ("team_id", ASCENDING)]),)
    invitation_indexes = (
        IndexModel([("token_hash", ASCENDING)], unique=True),
        IndexModel([("org_id", ASCENDING), ("team_id", ASCENDING), ("email", ASCENDING)]),
    )

    def __init__(
        self,
        teams: AsyncCollection[Document],
        members: AsyncCollection[Document],
        invitations: AsyncCollection[Document],
    ) -> None:
        self.teams = teams
        self.members = members
        self.invitations = invitations

    async def insert(self, team: Team) -> None:
        """Raises NameTaken when an active team of the organization has the name."""
        try:
            await self._insert(team)
        except DuplicateKeyError:
            raise NameTaken(team.name) from None

    async def _insert(self, team: Team) -> None:
        await self.teams.insert_one(
            {
                "_id": team.id,
                "org_id": team.org_id,
                "name": team.name,
                "name_key": _name_key(team.name),
                "description": team.description,
                "created_at": team.created_at,
                "updated_at": team.updated_at,
                "deleted_at": None,
            }
        )

    async def active(
        self,
        org_id: str,
        *,
        limit: int,
        after: str | None = None,
        before: str | None = None,
        backward: bool = False,
    ) -> list[Team]:
        """Up to `limit` teams in id order after `after`; `backward`, the last `limit`
        (before `before`), still in id order."""
        query: Document = {"org_id": org_id, "deleted_at": None}
        if backward:
            if before is not None:
                query["_id"] = {"$lt": before}
            cursor = self.teams.find(query).sort("_id", DESCENDING).limit(limit)
            return [_team(doc) async for doc in cursor][::-1]
        if after is not None:
            query["_id"] = {"$gt": after}
        cursor = self.teams.find(query).sort("_id", ASCENDING).limit(limit)
        return [_team(doc) async for doc in cursor]

    async def _by_id(self, org_id: str, team_id: str) -> Document | None:
        doc = await self.teams.find_one({"_id": team_id})
        return doc if doc is not None and doc["org_id"] == org_id else None

    async def get(self, org_id: str, team_id: str, *, deleted: bool = False) -> Team | None:
        doc = await self._by_id(org_id, team_id)
        if doc is None or (doc.get("deleted_at") is not None and not deleted):
            return None
        return _team(doc)

    async def named(self, org_id: str, team_ids: list[str]) -> dict[str, Team]:
        """The teams (deleted ones too) with these ids."""
        found = self.teams.find({"_id": {"$in": team_ids}})
        return {doc["_id"]: _team(doc) async for doc in found if doc["org_id"] == org_id}

    async def update(
        self, org_id: str, team_id: str, *, name: str, description: str | None, at: datetime
    ) -> Team | None:
        """Raises NameTaken when another active team has the name."""
        try:
            doc = await self._update(org_id, team_id, name=name, description=description, at=at)
        except DuplicateKeyError:
            raise NameTaken(name) from None
        return _team(doc) if doc else None

    async def _update(
        self, org_id: str, team_id: str, *, name: str, description: str | None, at: datetime
    ) -> Document | None:
        # An update then a read by _id: the embedded store runs a findAndModify as a scan of
        # the whole collection, whatever its filter.
        changed = await self.teams.update_one(
            {"_id": team_id, "org_id": org_id, "deleted_at": None},
            {
                "$set": {
                    "name": name,
                    "name_key": _name_key(name),
                    "description": description,
                    "updated_at": at,
                }
            },
        )
        return await self._by_id(org_id, team_id) if changed.matched_count else None

    async def delete(self, org_id: str, team_id: str, at: datetime, session: Session) -> bool:
        """Mark the team deleted and free its name; pending invitations lapse."""
        marked = await self.teams.update_one(
            {"_id": team_id, "org_id": org_id, "deleted_at": None},
            {"$set": {"deleted_at": at, "name_key": f"deleted:{team_id}"}},
            session=session,
        )
        if marked.matched_count != 1:
            return False
        await self.invitations.update_many(
            {"org_id": org_id, "team_id": team_id, "status": "pending"},
            {"$set": {"status": "revoked"}},
            session=session,
        )
        return True

    async def members_of(self, org_id: str, team_id: str) -> list[Member]:
        return (await self.members_of_teams(org_id, [team_id]))[team_id]

    async def members_of_teams(
        self, org_id: str, team_ids: Sequence[str]
    ) -> dict[str, list[Member]]:
        """Each team's members in the order they joined, in one read for all the teams."""
        found: dict[str, list[Member]] = {team_id: [] for team_id in team_ids}
        cursor = self.members.find({"org_id": org_id, "team_id": {"$in": list(found)}})
        async for doc in cursor:
            found[doc["team_id"]].append(_member(doc))
        for members in found.values():
            members.sort(key=lambda member: (member.joined_at, member.id))
        return found

    async def member_key_ids(self, org_id: str, team_id: str) -> list[str]:
        return [member.key_id for member in await self.members_of(org_id, team_id)]

    async def invite(self, invitation: Invitation, token_hash: str) -> None:
        """Record the invitation; a pending one for the same email and team is replaced."""
        await self.invitations.update_many(
            {
                "org_id": invitation.org_id,
                "team_id": invitation.team_id,
                "email": invitation.email,
                "status": "pending",
            },
            {"$set": {"status": "replaced"}},
        )
        await self.invitations.insert_one(
            {
                "_id": invitation.id,
                "org_id": invitation.org_id,
                "team_id": invitation.team_id,
                "email": invitation.email,
                "role": invitation.role,
                "status": invitation.status,
                "token_hash": token_hash,
                "created_at": invitation.created_at,
                "expires_at": invitation.expires_at,
            }
        )

    async def invitation_by_token_across_tenants(self, token_hash: str) -> Invitation | None:
        """The invitee has no key yet: the token alone finds the invitation and its
        organization."""
        doc = await self.invitations.find_one({"token_hash": token_hash})
        return _invitation(doc) if doc else None

    async def accept(
        self, invitation: Invitation, member: Member, at: datetime, session: Session
    ) -> bool:
        """Use the invitation (once, while pending and unexpired) and add the member."""
        used = await self.invitations.update_one(
            {
                "_id": invitation.id,
                "org_id": invitation.org_id,
                "status": "pending",
                "expires_at": {"$gt": at},
            },
            {"$set": {"status": "accepted", "accepted_at": at}},
            session=session,
        )
        if used.modified_count != 1:
            return False
        await self.members.insert_one(
            {
                "_id": member.id,
                "org_id": member.org_id,
                "team_id": member.team_id,
                "email": member.email,
                "role": member.role,
                "key_id": member.key_id,
                "joined_at": member.joined_at,
            },
            session=session,
        )
        return True

    async def remove_member(self, org_id: str, team_id: str, member_id: str) -> Member | None:
        doc = await self.members.find_one({"_id": member_id})
        if doc is None or (doc["org_id"], doc["team_id"]) != (org_id, team_id):
            return None
        removed = await self.members.delete_one(
            {"_id": member_id, "org_id": org_id, "team_id": team_id}
        )
        return _member(doc) if removed.deleted_count == 1 else None
