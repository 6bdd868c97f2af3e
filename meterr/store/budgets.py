"""Budgets, and which of their alerts have fired in which period."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from meterr.domain import (
    Budget,
    BudgetAction,
    BudgetPeriod,
    BudgetScope,
    BudgetUnit,
    Notification,
    NotificationType,
)
from meterr.store.documents import Document
from meterr.store.notifications import NotificationStore
from meterr.store.sequences import SequenceStore
from meterr.store.unit_of_work import Session, UnitOfWork

__all__ = ["BudgetStore"]


def budget_to_document(budget: Budget) -> Document:
    return {
        "_id": budget.id,
        "org_id": budget.org_id,
        "name": budget.name,
        "scope": {"field": budget.scope.field, "value": budget.scope.value},
        "limit": budget.limit,
        "unit": budget.unit.value,
        "period": budget.period.value,
        "timezone": budget.timezone,
        "thresholds": list(budget.thresholds),
        "action": budget.action.value,
        "created_at": budget.created_at,
        "updated_at": budget.updated_at,
    }


def _budget(doc: Document) -> Budget:
    return Budget(
        id=doc["_id"],
        org_id=doc["org_id"],
        name=doc["name"],
        scope=BudgetScope(doc["scope"]["field"], doc["scope"]["value"]),
        limit=int(doc["limit"]),
        unit=BudgetUnit(doc["unit"]),
        period=BudgetPeriod(doc["period"]),
        timezone=doc["timezone"],
        thresholds=tuple(doc["thresholds"]),
        action=BudgetAction(doc["action"]),
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
    )


class BudgetStore:
    """Budget definitions (`budgets`) and one document per budget and period (`budget_periods`)
    listing the alerts already fired in it. An alert is marked fired in the same unit of
    work as its notification is stored, and marking is a conditional write that only one
    writer can win: each alert fires once per period, however many instances race.

    Every change to an organization's budgets is counted on its usage counter, in the same
    unit of work: the writers keeping the budgets' spend learn of it there."""

    indexes = (IndexModel([("org_id", ASCENDING), ("created_at", ASCENDING)]),)
    period_indexes = (IndexModel([("org_id", ASCENDING), ("budget_id", ASCENDING)]),)

    def __init__(
        self,
        collection: AsyncCollection[Document],
        periods: AsyncCollection[Document],
        notifications: NotificationStore,
        sequences: SequenceStore,
        unit_of_work: UnitOfWork,
    ) -> None:
        self.collection = collection
        self.periods = periods
        self._notifications = notifications
        self._sequences = sequences
        self._unit_of_work = unit_of_work

    async def insert(self, budget: Budget) -> None:
        async def work(session: Session) -> None:
            await self.collection.insert_one(budget_to_document(budget), session=session)
            await self._sequences.budgets_changed(budget.org_id, session)

        await self._unit_of_work.run(work)

    async def list(self, org_id: str) -> list[Budget]:
        cursor = self.collection.find({"org_id": org_id}).sort("created_at", ASCENDING)
        return [_budget(doc) async for doc in cursor]

    async def get(self, org_id: str, budget_id: str) -> Budget | None:
        doc = await self.collection.find_one({"_id": budget_id})
        return _budget(doc) if doc and doc["org_id"] == org_id else None

    async def replace(self, budget: Budget, *, reset_alerts: bool, recount: bool) -> Budget | None:
        """Store a new version of a budget; None when it no longer exists. With
        `reset_alerts`, its alerts may fire again in the current period; with `recount`, it
        counts other events than before and its kept spend starts again from its seed."""

        async def work(session: Session) -> Budget | None:
            # A replace, not a find-and-modify: the embedded store plans those as a scan
            # of every organization's budgets.
            replaced = await self.collection.replace_one(
                {"_id": budget.id, "org_id": budget.org_id},
                budget_to_document(budget),
                session=session,
            )
            if replaced.matched_count == 0:
                return None
            change: Document = {}
            if reset_alerts:
                change["$set"] = {"fired": []}
            if recount:
                change["$unset"] = {"counted": "", "seed": ""}
            if change:
                await self.periods.update_many(
                    {"org_id": budget.org_id, "budget_id": budget.id}, change, session=session
                )
            await self._sequences.budgets_changed(budget.org_id, session)
            return budget

        return await self._unit_of_work.run(work)

    async def delete(self, org_id: str, budget_id: str) -> bool:
        async def work(session: Session) -> bool:
            deleted = await self.collection.delete_one(
                {"org_id": org_id, "_id": budget_id}, session=session
            )
            await self.periods.delete_many(
                {"org_id": org_id, "budget_id": budget_id}, session=session
            )
            await self._sequences.budgets_changed(org_id, session)
            return deleted.deleted_count == 1

        return await self._unit_of_work.run(work)

    async def fired(self, org_id: str, budget_id: str, period_key: str) -> set[str]:
        doc = await self.periods.find_one({"_id": f"{budget_id}:{period_key}"})
        return set(doc.get("fired") or ()) if doc and doc["org_id"] == org_id else set()

    async def fire(
        self,
        org_id: str,
        budget_id: str,
        period_key: str,
        alert: str,
        notification: tuple[NotificationType, dict[str, Any]],
        at: datetime,
    ) -> Notification | None:
        """Mark `alert` fired for the period and store its notification, or do nothing and
        answer None when it had fired already."""
        period_id = f"{budget_id}:{period_key}"
        type_, data = notification

        async def work(session: Session) -> Notification:
            await self.periods.update_one(
                {"_id": period_id, "fired": {"$ne": alert}},
                {
                    "$addToSet": {"fired": alert},
                    "$setOnInsert": {
                        "org_id": org_id,
                        "budget_id": budget_id,
                        "period": period_key,
                        "created_at": at,
                    },
                },
                upsert=True,
                session=session,
            )
            return await self._notifications.append(org_id, type_, data, at=at, session=session)

        try:
            return await self._unit_of_work.run(work)
        except DuplicateKeyError:
            # The period's document exists and lists the alert: another writer fired it.
            return None
