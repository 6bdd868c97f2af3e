"""Request counters per organization and hour, shared by every instance of the service."""

from __future__ import annotations

from datetime import datetime

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.collection import AsyncCollection

from meterr.store.documents import Document
from meterr.store.unit_of_work import Session, UnitOfWork, upsert_and_read

__all__ = ["RateCounterStore"]


class RateCounterStore:
    """Fixed hourly windows: one counter document per organization and window.

    The service's clock names the window; the store removes a counter two hours after it
    last counted, by its own clock, so that housekeeping never depends on the two agreeing."""

    indexes = (IndexModel([("touched_at", ASCENDING)], expireAfterSeconds=2 * 3600),)

    def __init__(self, collection: AsyncCollection[Document], unit_of_work: UnitOfWork) -> None:
        self.collection = collection
        self._unit_of_work = unit_of_work

    async def increment(self, org_id: str, window_start: datetime, amount: int = 1) -> int:
        """Count `amount` requests in the window and return the window's new count."""
        query = {"_id": f"{org_id}:{int(window_start.timestamp())}"}
        update = {
            "$inc": {"count": amount},
            "$currentDate": {"touched_at": True},
            "$setOnInsert": {"org_id": org_id},
        }

        async def work(session: Session) -> Document:
            return await upsert_and_read(self.collection, query, update, session)

        return int((await self._unit_of_work.run(work))["count"])
