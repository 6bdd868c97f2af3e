"""Notifications (the `events` collection): what feeds and webhooks deliver, in order."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.collection import AsyncCollection

from meterr.domain import Notification, NotificationType
from meterr.store.documents import Document
from meterr.store.sequences import SequenceStore
from meterr.store.unit_of_work import Session
from meterr.store.webhooks import WebhookStore
from meterr.wire import instant

__all__ = ["NotificationStore", "delivery_payload"]


def delivery_payload(notification: Notification) -> dict[str, Any]:
    """What a webhook receives: `{"id", "event", "created", "data"}`."""
    return {
        "id": notification.id,
        "event": notification.type,
        "created": instant(notification.created_at),
        "data": notification.data,
    }


def _notification(doc: Document) -> Notification:
    return Notification(
        id=doc["_id"],
        org_id=doc["org_id"],
        type=NotificationType(doc["type"]),
        data=doc["data"],
        created_at=doc["created_at"],
        seq=int(doc["seq"]),
    )


class NotificationStore:
    """Each organization's notifications carry a sequence number taken from a counter in
    the same unit of work as the insert, so that in a transaction their order is the order
    in which they were committed: a reader resuming after number n misses nothing."""

    indexes = (
        IndexModel([("org_id", ASCENDING), ("seq", ASCENDING)], unique=True),
        IndexModel([("org_id", ASCENDING), ("type", ASCENDING), ("seq", ASCENDING)]),
    )

    def __init__(
        self,
        collection: AsyncCollection[Document],
        sequences: SequenceStore,
        webhooks: WebhookStore,
    ) -> None:
        self.collection = collection
        self._sequences = sequences
        self._webhooks = webhooks

    async def append(
        self,
        org_id: str,
        type_: NotificationType,
        data: dict[str, Any],
        *,
        at: datetime,
        session: Session = None,
    ) -> Notification:
        seq = await self._sequences.take(org_id, "notifications", 1, session)
        doc = {
            "_id": f"ntf_{secrets.token_hex(12)}",
            "org_id": org_id,
            "type": type_,
            "data": data,
            "created_at": at,
            "seq": seq,
        }
        await self.collection.insert_one(doc, session=session)
        notification = _notification(doc)
        # The outbox: what each webhook endpoint is owed, stored with the notification.
        await self._webhooks.enqueue(notification, delivery_payload(notification), session)
        return notification

    async def seq_of(self, org_id: str, notification_id: str) -> int | None:
        notification = await self.get(org_id, notification_id)
        return notification.seq if notification is not None else None

    async def get(self, org_id: str, notification_id: str) -> Notification | None:
        doc = await self.collection.find_one({"_id": notification_id})
        return _notification(doc) if doc is not None and doc["org_id"] == org_id else None

    async def page(
        self,
        org_id: str,
        *,
        types: Sequence[str] = (),
        before_seq: int | None = None,
        after_seq: int | None = None,
        limit: int,
        newest_first: bool = True,
        team_id: str | None = None,
    ) -> list[Notification]:
        """Up to `limit` notifications with seq in (after_seq, before_seq), of one team's
        budgets when `team_id` is given."""
        # The first stage names an index's fields only (organization, one type, the seq
        # range); the embedded store would scan the whole collection for anything more.
        indexed: Document = {"org_id": org_id}
        rest: Document = {}
        if len(types) == 1:
            indexed["type"] = types[0]
        elif types:
            rest["type"] = {"$in": list(types)}
        bounds: Document = {}
        if before_seq is not None:
            bounds["$lt"] = before_seq
        if after_seq is not None:
            bounds["$gt"] = after_seq
        if bounds:
            indexed["seq"] = bounds
        if team_id is not None:
            rest["data.team_id"] = team_id
        pipeline: list[Document] = [
            {"$match": indexed},
            *([{"$match": rest}] if rest else []),
            {"$sort": {"seq": DESCENDING if newest_first else ASCENDING}},
            {"$limit": limit},
        ]
        return [_notification(doc) async for doc in await self.collection.aggregate(pipeline)]
