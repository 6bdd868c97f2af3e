"""Request counters per organization and hour, shared by every instance of the service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from meterr.store.documents import Document

__all__ = ["RateCounterStore"]


class RateCounterStore:
    """Fixed hourly windows: one counter document per organization and window."""

    indexes = (IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0),)

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def increment(self, org_id: str, window_start: datetime, amount: int = 1) -> int:
        """Count `amount` requests in the window and return the window's new count."""
        doc = await self.collection.find_one_and_update(
            {"_id": f"{org_id}:{int(window_start.timestamp())}"},
            {
                "$inc": {"count": amount},
                "$setOnInsert": {
                    "org_id": org_id,
                    "expires_at": window_start.astimezone(UTC) + timedelta(hours=2),
                },
            },
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        assert doc is not None
        return int(doc["count"])
