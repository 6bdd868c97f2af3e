"""Webhook endpoints and their deliveries: the outbox a dispatcher works through."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.collection import AsyncCollection

from meterr.domain import Notification, UsageEvent
from meterr.store.documents import Document
from meterr.store.unit_of_work import AfterInsert, Session
from meterr.store.webhook_lanes import (
    EPOCH,
    IDLE,
    Delivery,
    DeliveryAttempt,
    WebhookLanes,
    delivery_from_document,
    just_after,
)
from meterr.store.windows import backwards

__all__ = ["Delivery", "DeliveryAttempt", "WebhookEndpoint", "WebhookStore", "just_after"]

_KEPT_ATTEMPTS = 50
# How far back the delivery log reaches.
_OLDEST_DELIVERY = timedelta(days=3660)


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    id: str
    org_id: str
    url: str
    events: tuple[str, ...]  # empty: every type
    description: str | None
    sealed_secret: dict[str, Any]  # the signing secret, sealed; opens with the service key
    created_at: datetime


def _endpoint(doc: Document) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=doc["_id"],
        org_id=doc["org_id"],
        url=doc["url"],
        events=tuple(doc.get("events") or ()),
        description=doc.get("description"),
        sealed_secret=doc["sealed_secret"],
        created_at=doc["created_at"],
    )


class WebhookStore:
    """Deliveries are written in the unit of work that stores their notification, so a
    notification and what it owes each endpoint exist together or not at all; they wait in
    their endpoint's lane (store/webhook_lanes.py) for a dispatcher.

    Reads name only the fields of one index (or the unique _id) in their filter and check the
    rest here; and none is a findAndModify, which the embedded store runs as a scan of the
    whole collection whatever its filter."""

    endpoint_indexes = (IndexModel([("org_id", ASCENDING), ("created_at", ASCENDING)]),)
    delivery_indexes = (
        IndexModel([("status", ASCENDING), ("next_attempt_at", ASCENDING)]),
        IndexModel([("org_id", ASCENDING), ("endpoint_id", ASCENDING), ("created_at", ASCENDING)]),
        *WebhookLanes.delivery_indexes,
    )

    def __init__(
        self,
        endpoints: AsyncCollection[Document],
        deliveries: AsyncCollection[Document],
        lanes: AsyncCollection[Document],
    ) -> None:
        self.endpoints = endpoints
        self.deliveries = deliveries
        self.lanes = WebhookLanes(lanes, deliveries)

    async def create_endpoint(self, endpoint: WebhookEndpoint) -> None:
        await self.endpoints.insert_one(
            {
                "_id": endpoint.id,
                "org_id": endpoint.org_id,
                "url": endpoint.url,
                "events": list(endpoint.events),
                "description": endpoint.description,
                "sealed_secret": endpoint.sealed_secret,
                "created_at": endpoint.created_at,
            }
        )

    async def list_endpoints(self, org_id: str) -> list[WebhookEndpoint]:
        cursor = self.endpoints.find({"org_id": org_id}).sort("created_at", ASCENDING)
        return [_endpoint(doc) async for doc in cursor]

    async def get_endpoint(self, org_id: str, endpoint_id: str) -> WebhookEndpoint | None:
        doc = await self.endpoints.find_one({"_id": endpoint_id})
        return _endpoint(doc) if doc is not None and doc["org_id"] == org_id else None

    async def delete_endpoint(self, org_id: str, endpoint_id: str) -> bool:
        deleted = await self.endpoints.delete_one({"org_id": org_id, "_id": endpoint_id})
        if deleted.deleted_count:
            await self.deliveries.update_many(
                {"org_id": org_id, "endpoint_id": endpoint_id, "status": "pending"},
                {
                    "$set": {"status": "cancelled", "next_attempt_at": None},
                    "$unset": {"retry_at": ""},
                },
            )
            await self.lanes.forget(endpoint_id)
        return deleted.deleted_count == 1

    async def enqueue(
        self, notification: Notification, payload: dict[str, Any], session: Session = None
    ) -> None:
        """A pending delivery of the notification to each endpoint that wants its type."""
        endpoint_ids = await self.subscribed(notification.org_id, notification.type, session)
        await self.enqueue_messages(
            notification.org_id,
            endpoint_ids,
            notification.type,
            [(notification.id, notification.created_at, payload)],
            session,
        )

    async def subscribed(self, org_id: str, type_: str, session: Session = None) -> list[str]:
        """The endpoints that want this type: by name, or by asking for every type."""
        found = self.endpoints.find({"org_id": org_id}, {"events": 1}, session=session)
        endpoints = [doc async for doc in found]
        return [doc["_id"] for doc in endpoints if not doc.get("events") or type_ in doc["events"]]

    def announce(
        self,
        org_id: str,
        endpoint_ids: Sequence[str],
        type_: str,
        message: Callable[[UsageEvent], tuple[str, datetime, dict[str, Any]]],
    ) -> AfterInsert:
        """The deliveries of a message per inserted event to each endpoint, written in the
        unit of work that stores the events. It holds the endpoints' lanes from its start:
        their dispatchers, which write a lane on every visit, wait for its commit instead of
        making the whole unit of work start over."""

        async def enqueue(inserted: list[UsageEvent], session: Session) -> None:
            messages = [message(event) for event in inserted]
            await self.enqueue_messages(org_id, endpoint_ids, type_, messages, session)

        async def hold(session: Session) -> None:
            await self.lanes.hold(endpoint_ids, session)

        return AfterInsert(enqueue, first=hold)

    async def enqueue_messages(
        self,
        org_id: str,
        endpoint_ids: Sequence[str],
        type_: str,
        messages: Sequence[tuple[str, datetime, dict[str, Any]]],
        session: Session = None,
    ) -> None:
        """Pending deliveries of (message id, time, payload) to each endpoint, numbered in
        its lane in the order given."""
        if not messages:
            return
        docs: list[Document] = []
        for endpoint_id in endpoint_ids:
            first = await self.lanes.number(
                org_id, endpoint_id, len(messages), min(at for _, at, _ in messages), session
            )
            docs += [
                {
                    "_id": f"dlv_{message_id}_{endpoint_id}",
                    "org_id": org_id,
                    "endpoint_id": endpoint_id,
                    "seq": first + offset,
                    "notification_id": message_id,
                    "type": type_,
                    "payload": payload,
                    "status": "pending",
                    "attempts": [],
                    "attempt_count": 0,
                    "next_attempt_at": at,
                    "created_at": at,
                }
                for offset, (message_id, at, payload) in enumerate(messages)
            ]
        if docs:
            await self.deliveries.insert_many(docs, session=session)

    async def adopt_unnumbered(self) -> int:
        """Put the pending deliveries written before lanes existed into their endpoints'
        lanes, as retries due when they were: a store's first start with lanes reads its
        pending deliveries once."""
        if not await self.lanes.is_empty():
            return 0
        found = self.deliveries.find(
            {"status": "pending", "next_attempt_at": {"$gte": EPOCH, "$lt": IDLE}}
        )
        adopted = 0
        async for doc in found:
            if doc.get("seq") is None and doc.get("retry_at") is None:
                due = doc["next_attempt_at"]
                await self.deliveries.update_one({"_id": doc["_id"]}, {"$set": {"retry_at": due}})
                await self.lanes.wake(doc["org_id"], doc["endpoint_id"], due)
                adopted += 1
        return adopted

    async def record_attempt(
        self,
        delivery: Delivery,
        attempt: DeliveryAttempt,
        *,
        status: str,
        next_attempt_at: datetime | None,
    ) -> None:
        changes: Document = {"status": status, "next_attempt_at": next_attempt_at}
        if status == "delivered":
            changes["delivered_at"] = attempt.at
        waiting: Document = {"$unset": {"retry_at": ""}}
        if status == "pending" and next_attempt_at is not None:
            changes["retry_at"] = next_attempt_at
            waiting = {}
        await self.deliveries.update_one(
            {"_id": delivery.id},
            {
                "$set": changes,
                **waiting,
                "$inc": {"attempt_count": 1},
                "$push": {
                    "attempts": {
                        "$each": [
                            {
                                "at": attempt.at,
                                "status_code": attempt.status_code,
                                "error": attempt.error,
                                "duration_ms": attempt.duration_ms,
                            }
                        ],
                        "$slice": -_KEPT_ATTEMPTS,
                    }
                },
            },
        )

    async def list_deliveries(
        self,
        org_id: str,
        endpoint_id: str,
        *,
        limit: int,
        until: datetime,
        after: Delivery | None = None,
    ) -> list[Delivery]:
        """The newest `limit` deliveries made before `until` (and after the delivery
        `after`, the last of the previous page, in this order), newest first. Read in
        widening windows of time: a long log costs what a page shows."""
        rest: Document = {}
        upper = until
        if after is not None:
            # Deliveries of one batch share their instant: order them by id within it.
            upper = after.created_at + timedelta(milliseconds=1)
            rest["$or"] = [{"created_at": {"$lt": after.created_at}}, {"_id": {"$lt": after.id}}]

        async def read(lower: datetime, upper: datetime, more: int) -> list[Delivery]:
            indexed = {
                "org_id": org_id,
                "endpoint_id": endpoint_id,
                "created_at": {"$gte": lower, "$lt": upper},
            }
            stages: list[Document] = [{"$match": indexed}]
            if rest:
                stages.append({"$match": rest})
            stages += [{"$sort": {"created_at": -1, "_id": -1}}, {"$limit": more}]
            found = await self.deliveries.aggregate(stages)
            return [delivery_from_document(doc) async for doc in found]

        return await backwards(
            read,
            upper=upper,
            floor=upper - _OLDEST_DELIVERY,
            first=timedelta(hours=1),
            widest=_OLDEST_DELIVERY,
            want=limit,
        )

    async def get_delivery(self, org_id: str, delivery_id: str) -> Delivery | None:
        doc = await self.deliveries.find_one({"_id": delivery_id})
        return delivery_from_document(doc) if doc is not None and doc["org_id"] == org_id else None

    async def resend(self, org_id: str, delivery_id: str, now: datetime) -> Delivery | None:
        """Queue a delivery again, whatever became of it, for its endpoint now."""
        delivery = await self.get_delivery(org_id, delivery_id)
        if delivery is None:
            return None
        await self.deliveries.update_one(
            {"_id": delivery_id},
            {"$set": {"status": "pending", "next_attempt_at": now, "retry_at": now}},
        )
        await self.lanes.wake(org_id, delivery.endpoint_id, now)
        return replace(delivery, status="pending", next_attempt_at=now)

    async def endpoint_for(self, delivery: Delivery) -> WebhookEndpoint | None:
        return await self.get_endpoint(delivery.org_id, delivery.endpoint_id)
