"""Reservations: amounts a gateway holds against budgets before a call, until it reports
the call's usage or the hold expires."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.collection import AsyncCollection

from meterr.store.documents import Document
from meterr.store.unit_of_work import Session, UnitOfWork

__all__ = ["Hold", "ReservationStore"]


@dataclass(frozen=True, slots=True)
class Hold:
    """`amount` held on one budget period (`budget_id:period`); a hold with a `ceiling` is
    granted only while the period's holds stay at or below it."""

    period_id: str
    budget_id: str
    period: str
    amount: int
    ceiling: int | None


class _Refused(Exception):
    def __init__(self, hold: Hold) -> None:
        self.hold = hold


class ReservationStore:
    """Holds live on the budget period documents (`reserved`), which every hold of the
    period updates with a conditional `$inc`: racing reservations are granted one after the
    other and never past the ceiling. A reservation's holds are granted in one transaction,
    all or none, and released in one with the change of its status, exactly once."""

    indexes = (
        IndexModel([("org_id", ASCENDING), ("status", ASCENDING), ("expires_at", ASCENDING)]),
    )

    def __init__(
        self,
        collection: AsyncCollection[Document],
        periods: AsyncCollection[Document],
        unit_of_work: UnitOfWork,
    ) -> None:
        self.collection = collection
        self._periods = periods
        self._unit_of_work = unit_of_work

    async def hold(
        self,
        org_id: str,
        reservation_id: str,
        holds: list[Hold],
        *,
        created_at: datetime,
        expires_at: datetime,
    ) -> Hold | None:
        """Grant every hold and record the reservation, or nothing; answer the hold that
        was refused, or None."""
        for hold in holds:  # created first, so that the grants below never insert
            await self._periods.update_one(
                {"_id": hold.period_id},
                {
                    "$setOnInsert": {
                        "org_id": org_id,
                        "budget_id": hold.budget_id,
                        "period": hold.period,
                        "fired": [],
                        "created_at": created_at,
                    },
                    # A period's document made by its counts or alerts holds nothing yet.
                    "$max": {"reserved": 0},
                },
                upsert=True,
            )

        async def work(session: Session) -> None:
            for hold in holds:
                condition: Document = {"_id": hold.period_id, "org_id": org_id}
                if hold.ceiling is not None:
                    condition["reserved"] = {"$lte": hold.ceiling - hold.amount}
                granted = await self._periods.update_one(
                    condition, {"$inc": {"reserved": hold.amount}}, session=session
                )
                if granted.matched_count == 0:
                    raise _Refused(hold)
            await self.collection.insert_one(
                {
                    "_id": reservation_id,
                    "org_id": org_id,
                    "status": "held",
                    "holds": [{"period_id": h.period_id, "amount": h.amount} for h in holds],
                    "created_at": created_at,
                    "expires_at": expires_at,
                },
                session=session,
            )

        try:
            await self._unit_of_work.run(work)
        except _Refused as refused:
            return refused.hold
        return None

    async def exists(self, org_id: str, reservation_ids: list[str]) -> set[str]:
        found = self.collection.find({"_id": {"$in": reservation_ids}, "org_id": org_id})
        return {doc["_id"] async for doc in found}

    async def release(self, org_id: str, reservation_id: str, status: str) -> bool:
        """End a held reservation (settled, expired) and give its holds back; False when it
        was not held (any more)."""

        async def work(session: Session) -> bool:
            # An update, then a read of what it changed: the embedded store plans a
            # find-and-modify as a scan of every organization's reservations.
            changed = await self.collection.update_one(
                {"_id": reservation_id, "org_id": org_id, "status": "held"},
                {"$set": {"status": status}},
                session=session,
            )
            if changed.modified_count == 0:
                return False
            ended = await self.collection.find_one({"_id": reservation_id}, session=session)
            assert ended is not None
            for hold in ended["holds"]:
                await self._periods.update_one(
                    {"_id": hold["period_id"]},
                    {"$inc": {"reserved": -int(hold["amount"])}},
                    session=session,
                )
            return True

        return await self._unit_of_work.run(work)

    async def expired(self, org_id: str, now: datetime, limit: int = 1000) -> list[str]:
        cursor = self.collection.find(
            {"org_id": org_id, "status": "held", "expires_at": {"$lte": now}}, {"_id": 1}
        ).limit(limit)
        return [doc["_id"] async for doc in cursor]
