"""Organizations and their API keys."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from meterr.auth import Principal, Role, Tier
from meterr.store.documents import Document
from meterr.store.unit_of_work import Session

__all__ = ["ApiKeyRecord", "Organization", "OrganizationStore"]


@dataclass(frozen=True, slots=True)
class Organization:
    id: str
    name: str
    tier: Tier
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    id: str
    org_id: str
    display_prefix: str
    role: Role
    team_id: str | None
    name: str | None
    created_at: datetime
    revoked_at: datetime | None


def _organization(doc: Document) -> Organization:
    return Organization(doc["_id"], doc["name"], Tier(doc["tier"]), doc["created_at"])


def _key(doc: Document) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=doc["_id"],
        org_id=doc["org_id"],
        display_prefix=doc["display_prefix"],
        role=Role(doc["role"]),
        team_id=doc.get("team_id"),
        name=doc.get("name"),
        created_at=doc["created_at"],
        revoked_at=doc.get("revoked_at"),
    )


class OrganizationStore:
    """Tenants and the hashed keys that authenticate them."""

    org_indexes = (IndexModel([("name", ASCENDING)], unique=True),)
    key_indexes = (
        IndexModel([("key_hash", ASCENDING)], unique=True),
        IndexModel([("org_id", ASCENDING), ("created_at", ASCENDING)]),
    )

    def __init__(
        self, organizations: AsyncCollection[Document], api_keys: AsyncCollection[Document]
    ) -> None:
        self.organizations = organizations
        self.api_keys = api_keys

    async def ensure_organization(
        self, name: str, tier: Tier | None, *, now: datetime
    ) -> tuple[Organization, bool]:
        """The organization named `name`, created with `tier` if it does not exist yet."""
        created = False
        try:
            result = await self.organizations.update_one(
                {"name": name},
                {
                    "$setOnInsert": {
                        "_id": f"org_{secrets.token_hex(8)}",
                        "tier": (tier or Tier.FREE).value,
                        "created_at": now,
                    }
                },
                upsert=True,
            )
            created = result.upserted_id is not None
        except DuplicateKeyError:
            pass  # created by a concurrent caller
        doc = await self.organizations.find_one({"name": name})
        assert doc is not None
        if tier is not None and doc["tier"] != tier.value:
            doc = await self.organizations.find_one_and_update(
                {"_id": doc["_id"]},
                {"$set": {"tier": tier.value}},
                return_document=ReturnDocument.AFTER,
            )
            assert doc is not None
        return _organization(doc), created

    async def organization_named(self, name: str) -> Organization | None:
        doc = await self.organizations.find_one({"name": name})
        return _organization(doc) if doc is not None else None

    async def count_organizations_for_admin(self) -> int:
        return await self.organizations.count_documents({})

    async def all_organization_ids_for_admin(self) -> list[str]:
        return [str(org_id) for org_id in await self.organizations.distinct("_id")]

    async def organization(self, org_id: str) -> Organization | None:
        doc = await self.organizations.find_one({"_id": org_id})
        return _organization(doc) if doc is not None else None

    async def insert_key(
        self,
        org_id: str,
        *,
        key_hash: str,
        display_prefix: str,
        role: Role,
        team_id: str | None,
        name: str | None,
        confined: bool = False,
        now: datetime,
        key_id: str | None = None,
        session: Session = None,
    ) -> ApiKeyRecord:
        """Store a key record; `key_id` from `new_key_id` when something must name the key
        before it is stored."""
        doc: Document = {
            "_id": key_id or self.new_key_id(),
            "org_id": org_id,
            "key_hash": key_hash,
            "display_prefix": display_prefix,
            "role": role.value,
            "team_id": team_id,
            "confined": confined,
            "name": name,
            "created_at": now,
            "revoked_at": None,
        }
        await self.api_keys.insert_one(doc, session=session)
        return _key(doc)

    @staticmethod
    def new_key_id() -> str:
        return f"key_{secrets.token_hex(8)}"

    async def list_keys(self, org_id: str) -> list[ApiKeyRecord]:
        cursor = self.api_keys.find({"org_id": org_id}).sort("created_at", ASCENDING)
        return [_key(doc) async for doc in cursor]

    async def revoke_key(self, org_id: str, key_id: str, now: datetime) -> ApiKeyRecord | None:
        # A read and an update by _id: the embedded store runs a findAndModify as a scan of
        # the whole collection.
        doc = await self.api_keys.find_one({"_id": key_id})
        if doc is None or doc["org_id"] != org_id:
            return None
        await self.api_keys.update_one(
            {"_id": key_id, "org_id": org_id}, {"$set": {"revoked_at": now}}
        )
        return _key({**doc, "revoked_at": now})

    async def revoke_keys(
        self, org_id: str, key_ids: list[str], now: datetime, session: Session = None
    ) -> None:
        await self.api_keys.update_many(
            {"org_id": org_id, "_id": {"$in": key_ids}, "revoked_at": None},
            {"$set": {"revoked_at": now}},
            session=session,
        )

    async def principal_for_key_hash_across_tenants(self, key_hash: str) -> Principal | None:
        """Authentication is the one read that starts without an organization."""
        # The filter names the unique index's field alone: the embedded store scans the whole
        # collection for a filter that names any other.
        key = await self.api_keys.find_one({"key_hash": key_hash})
        if key is None or key.get("revoked_at") is not None:
            return None
        org = await self.organizations.find_one({"_id": key["org_id"]})
        if org is None:
            return None
        return Principal(
            org_id=org["_id"],
            org_name=org["name"],
            tier=Tier(org["tier"]),
            key_id=key["_id"],
            role=Role(key["role"]),
            team_id=key.get("team_id"),
            confined=bool(key.get("confined")),
        )
