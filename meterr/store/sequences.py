"""Per-organization counters that number what is stored, in the order it is committed."""

from __future__ import annotations

from dataclasses import dataclass

from pymongo.asynchronous.collection import AsyncCollection

from meterr.store.documents import Document
from meterr.store.unit_of_work import Session, upsert_and_read

__all__ = ["SequenceStore", "Taken"]

# The counter of usage events; its document also counts the changes to the organization's
# budgets, so that storing events and changing budgets conflict and commit one after the other.
USAGE = "usage"


@dataclass(frozen=True, slots=True)
class Taken:
    """Numbers reserved in a unit of work, and the version of the organization's budgets
    that unit of work is ordered after."""

    first: int
    budgets_version: int


class SequenceStore:
    """Taking numbers in a transaction writes the counter, so two transactions taking from
    the same counter conflict and commit one after the other: the numbers a reader sees
    committed never leave a gap to be filled later, save by a transaction that aborted."""

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def take(self, org_id: str, kind: str, count: int, session: Session = None) -> int:
        """Reserve `count` consecutive numbers of the organization's `kind` counter; answer
        the first."""
        return (await self.advance(org_id, kind, count, session)).first

    async def advance(self, org_id: str, kind: str, count: int, session: Session = None) -> Taken:
        """Reserve `count` numbers (none is fine): the counter is written either way, so the
        unit of work conflicts with any other writing it."""
        query = {"_id": f"{kind}:{org_id}"}
        update = {
            "$inc": {"seq": count, "writes": 1},
            "$setOnInsert": {"org_id": org_id, "kind": kind},
        }
        counter = await upsert_and_read(self.collection, query, update, session)
        return Taken(int(counter["seq"]) - count + 1, int(counter.get("budgets") or 0))

    async def current(self, org_id: str, kind: str) -> int:
        """The last number taken from the counter (0 before the first)."""
        counter = await self.collection.find_one({"_id": f"{kind}:{org_id}"})
        return int(counter.get("seq") or 0) if counter else 0

    async def budgets_changed(self, org_id: str, session: Session = None) -> None:
        """Count a change to the organization's budgets, in the unit of work making it."""
        await self.collection.update_one(
            {"_id": f"{USAGE}:{org_id}"},
            {"$inc": {"budgets": 1}, "$setOnInsert": {"org_id": org_id, "kind": USAGE}},
            upsert=True,
            session=session,
        )

    async def budgets_version(self, org_id: str) -> int:
        """How many changes the organization's budgets have seen."""
        counter = await self.collection.find_one({"_id": f"{USAGE}:{org_id}"})
        return int(counter.get("budgets") or 0) if counter else 0
