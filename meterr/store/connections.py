"""Provider connections: an organization's credentials for a provider's own APIs, sealed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from meterr.store.documents import Document, NameTaken
from meterr.store.webhooks import just_after

__all__ = ["Connection", "ConnectionStore", "KeptUsage"]

# Claims lost to other instances in a row before this one waits for its next round.
_CLAIM_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Connection:
    """`sealed_credential` opens only with the service's secret key and this connection's
    identity; `credential_hint` is the credential's last four characters."""

    id: str
    org_id: str
    provider: str
    name: str
    mode: str  # import: counts like tracked usage; reconcile: kept aside and compared
    options: dict[str, Any]
    sealed_credential: dict[str, Any]
    credential_hint: str
    created_at: datetime
    last_sync_at: datetime | None = None
    last_sync_status: str | None = None
    last_sync_error: str | None = None


@dataclass(frozen=True, slots=True)
class KeptUsage:
    """A provider's usage row kept aside (reconcile mode), in Meterr's token convention."""

    start: datetime
    model: str
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    cache_write_tokens: int
    requests: int
    long_context: bool


def _connection(doc: Document) -> Connection:
    return Connection(
        id=doc["_id"],
        org_id=doc["org_id"],
        provider=doc["provider"],
        name=doc["name"],
        mode=doc["mode"],
        options=doc.get("options") or {},
        sealed_credential=doc["sealed_credential"],
        credential_hint=doc["credential_hint"],
        created_at=doc["created_at"],
        last_sync_at=doc.get("last_sync_at"),
        last_sync_status=doc.get("last_sync_status"),
        last_sync_error=doc.get("last_sync_error"),
    )


class ConnectionStore:
    """Reads name only the fields of one index (or the unique _id) in their filter and check
    the rest here: the embedded store scans the whole collection for any other filter."""

    indexes = (
        IndexModel(
            [("org_id", ASCENDING), ("provider", ASCENDING), ("name", ASCENDING)], unique=True
        ),
        IndexModel([("next_sync_at", ASCENDING)]),
    )

    imported_indexes = (
        IndexModel([("org_id", ASCENDING), ("connection_id", ASCENDING), ("start", ASCENDING)]),
    )

    def __init__(
        self, collection: AsyncCollection[Document], imported: AsyncCollection[Document]
    ) -> None:
        self.collection = collection
        self.imported = imported

    async def insert(self, connection: Connection, *, first_sync_at: datetime) -> None:
        """Raises NameTaken when the organization has a connection of that name to the
        provider."""
        try:
            await self._insert(connection, first_sync_at)
        except DuplicateKeyError:
            raise NameTaken(connection.name) from None

    async def _insert(self, connection: Connection, first_sync_at: datetime) -> None:
        await self.collection.insert_one(
            {
                "_id": connection.id,
                "org_id": connection.org_id,
                "provider": connection.provider,
                "name": connection.name,
                "mode": connection.mode,
                "options": connection.options,
                "sealed_credential": connection.sealed_credential,
                "credential_hint": connection.credential_hint,
                "created_at": connection.created_at,
                "next_sync_at": first_sync_at,
            }
        )

    async def of_organization(self, org_id: str) -> list[Connection]:
        cursor = self.collection.find({"org_id": org_id}).sort("created_at", ASCENDING)
        return [_connection(doc) async for doc in cursor]

    async def get(self, org_id: str, connection_id: str) -> Connection | None:
        doc = await self.collection.find_one({"_id": connection_id})
        return _connection(doc) if doc is not None and doc["org_id"] == org_id else None

    async def claim_due_across_tenants(self, now: datetime, until: datetime) -> Connection | None:
        """Take the connection most overdue for its scheduled sync, of any organization,
        until `until`: another instance finds it due again only then."""
        for _ in range(_CLAIM_ATTEMPTS):
            doc = await self.collection.find_one(
                {"next_sync_at": {"$lt": just_after(now)}}, sort=[("next_sync_at", ASCENDING)]
            )
            if doc is None:
                return None
            claimed = await self.collection.update_one(
                {"_id": doc["_id"], "next_sync_at": doc["next_sync_at"]},
                {"$set": {"next_sync_at": until}},
            )
            if claimed.modified_count == 1:  # else another instance took it first
                return _connection(doc)
        return None

    async def record_sync(
        self, org_id: str, connection_id: str, at: datetime, *, error: str | None
    ) -> None:
        await self.collection.update_one(
            {"org_id": org_id, "_id": connection_id},
            {
                "$set": {
                    "last_sync_at": at,
                    "last_sync_status": "failed" if error else "ok",
                    "last_sync_error": error,
                }
            },
        )

    async def keep_aside(self, org_id: str, connection_id: str, rows: Sequence[Document]) -> int:
        """Store imported usage rows apart from tracked usage (reconcile mode), each
        replacing the same bucket's earlier copy; answers how many were new."""
        new = 0
        for row in rows:
            result = await self.imported.replace_one(
                {"_id": row["_id"], "org_id": org_id},
                {**row, "org_id": org_id, "connection_id": connection_id},
                upsert=True,
            )
            new += result.upserted_id is not None
        return new

    async def kept_aside(
        self, org_id: str, connection_id: str, *, start: datetime, end: datetime
    ) -> list[KeptUsage]:
        cursor = self.imported.find(
            {
                "org_id": org_id,
                "connection_id": connection_id,
                "start": {"$gte": start, "$lt": end},
            }
        )
        return [
            KeptUsage(
                start=doc["start"],
                model=doc["model"],
                input_tokens=int(doc["input_tokens"]),
                output_tokens=int(doc["output_tokens"]),
                cached_input_tokens=int(doc["cached_input_tokens"]),
                cache_write_tokens=int(doc["cache_write_tokens"]),
                requests=int(doc.get("requests") or 0),
                long_context=bool(doc.get("long_context")),
            )
            async for doc in cursor
        ]

    async def delete(self, org_id: str, connection_id: str) -> bool:
        """Remove the connection and, with it, the only copy of its credential."""
        deleted = await self.collection.delete_one({"org_id": org_id, "_id": connection_id})
        return deleted.deleted_count == 1
