"""Per-organization counters that number what is stored, in the order it is committed."""

from __future__ import annotations

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from meterr.store.documents import Document
from meterr.store.unit_of_work import Session

__all__ = ["SequenceStore"]


class SequenceStore:
    """Taking numbers in a transaction writes the counter, so two transactions taking from
    the same counter conflict and commit one after the other: the numbers a reader sees
    committed never leave a gap to be filled later, save by a transaction that aborted."""

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def take(self, org_id: str, kind: str, count: int, session: Session = None) -> int:
        """Reserve `count` consecutive numbers of the organization's `kind` counter; answer
        the first."""
        counter = await self.collection.find_one_and_update(
            {"_id": f"{kind}:{org_id}"},
            {"$inc": {"seq": count}, "$setOnInsert": {"org_id": org_id, "kind": kind}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        assert counter is not None
        return int(counter["seq"]) - count + 1

    async def current(self, org_id: str, kind: str) -> int:
        """The last number taken from the counter (0 before the first)."""
        counter = await self.collection.find_one({"_id": f"{kind}:{org_id}"})
        return int(counter["seq"]) if counter else 0
