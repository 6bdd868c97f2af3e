"""The webhook outbox in lanes, one per endpoint, so that a dispatcher chooses fairly between
organizations and endpoints, and takes a lane's next work with reads that cost what they
return however long the backlog grows.

A lane numbers its deliveries in the order they are written (`seq`, taken in the unit of work
that writes them) and keeps a cursor: the first number not yet attempted. A delivery waiting
for a retry carries `retry_at`. The lane document says when the lane next has work
(`due_at`: now for new deliveries, or its earliest retry), which lanes a dispatcher reads with
one indexed range; a dispatcher claims a lane with an update conditional on what it read, so
that one dispatcher at a time works it.

After `PAUSE_AFTER` failed attempts in a row a lane is paused: new deliveries wait, and one
delivery is tried per pause (which grows like a retry's wait) until the receiver answers again.
A receiver that is down costs one attempt per pause, not one per queued delivery."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.collection import AsyncCollection

from meterr.store.documents import Document
from meterr.store.unit_of_work import Session, upsert_and_read

__all__ = [
    "EPOCH",
    "IDLE",
    "PAUSE_AFTER",
    "Delivery",
    "DeliveryAttempt",
    "Lane",
    "LaneWork",
    "WebhookLanes",
    "delivery_from_document",
    "just_after",
]

# The due time of a lane with nothing to do.
IDLE = datetime(2200, 1, 1, tzinfo=UTC)
# The lower bound of every range read: a range open below also walks the index entries of the
# documents that lack the field.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
PAUSE_AFTER = 5
# How long a hole in a lane's numbers (a delivery numbered but not yet written, possible only
# where the store has no transactions) is waited for before the lane moves past it.
_HOLE_GRACE = timedelta(seconds=60)


def just_after(moment: datetime) -> datetime:
    """The exclusive upper bound that takes in everything stored up to `moment`: the store
    keeps milliseconds, and the embedded store drops the documents equal to an inclusive
    ($lte) bound when it scans an index."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000) + timedelta(milliseconds=1)


@dataclass(frozen=True, slots=True)
class Lane:
    endpoint_id: str
    org_id: str
    next_seq: int  # the number the next delivery written gets
    cursor: int  # the first number not yet attempted
    due_at: datetime
    retry_from: datetime  # no retry of the lane is due before this
    failures: int  # failed attempts in a row
    paused_until: datetime  # while paused: when the next delivery is tried
    claimed_until: datetime
    version: int  # moves with every change made outside a claim

    @property
    def paused(self) -> bool:
        return self.failures >= PAUSE_AFTER


@dataclass(frozen=True, slots=True)
class LaneWork:
    """A claimed lane's documents: the retries due now (earliest first) and the new
    deliveries from its cursor (in order, without holes), and the earliest retry after now."""

    retries: list[Delivery]
    fresh: list[Delivery]
    next_retry: datetime


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


@dataclass(frozen=True, slots=True)
class Delivery:
    """One notification owed to one endpoint: pending until delivered, or failed once its
    retries ran out (or its endpoint was deleted)."""

    id: str
    org_id: str
    endpoint_id: str
    notification_id: str
    type: str
    payload: dict[str, Any]
    status: str
    attempts: tuple[DeliveryAttempt, ...]
    attempt_count: int
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None
    seq: int | None = None  # its number in its endpoint's lane
    retry_at: datetime | None = None  # when it waits for a retry


def delivery_from_document(doc: Document) -> Delivery:
    return Delivery(
        id=doc["_id"],
        org_id=doc["org_id"],
        endpoint_id=doc["endpoint_id"],
        notification_id=doc["notification_id"],
        type=doc["type"],
        payload=doc["payload"],
        status=doc["status"],
        attempts=tuple(
            DeliveryAttempt(a["at"], a.get("status_code"), a.get("error"), a["duration_ms"])
            for a in doc.get("attempts") or ()
        ),
        attempt_count=int(doc.get("attempt_count") or 0),
        next_attempt_at=doc.get("next_attempt_at"),
        created_at=doc["created_at"],
        delivered_at=doc.get("delivered_at"),
        seq=doc.get("seq"),
        retry_at=doc.get("retry_at"),
    )


def _lane(doc: Document) -> Lane:
    return Lane(
        endpoint_id=doc["_id"],
        org_id=doc["org_id"],
        next_seq=int(doc.get("next_seq") or 0),
        cursor=int(doc.get("cursor") or 0),
        due_at=doc.get("due_at") or IDLE,
        retry_from=doc.get("retry_from") or IDLE,
        failures=int(doc.get("failures") or 0),
        paused_until=doc.get("paused_until") or EPOCH,
        claimed_until=doc.get("claimed_until") or EPOCH,
        version=int(doc.get("version") or 0),
    )


def _new_lane(org_id: str) -> Document:
    return {"org_id": org_id, "cursor": 0, "failures": 0, "claimed_until": EPOCH}


class WebhookLanes:
    indexes = (IndexModel([("due_at", ASCENDING)]),)
    delivery_indexes = (
        IndexModel([("endpoint_id", ASCENDING), ("seq", ASCENDING)]),
        IndexModel([("endpoint_id", ASCENDING), ("retry_at", ASCENDING)]),
    )

    def __init__(
        self, collection: AsyncCollection[Document], deliveries: AsyncCollection[Document]
    ) -> None:
        self.collection = collection
        self.deliveries = deliveries

    async def number(
        self, org_id: str, endpoint_id: str, count: int, at: datetime, session: Session = None
    ) -> int:
        """Take `count` numbers of the endpoint's lane (made if new) for deliveries written
        in this unit of work, and answer the first; the lane is due at `at` unless paused."""
        doc = await upsert_and_read(
            self.collection,
            {"_id": endpoint_id},
            {
                "$inc": {"next_seq": count, "version": 1},
                "$setOnInsert": {**_new_lane(org_id), "retry_from": IDLE, "due_at": IDLE},
            },
            session,
        )
        if not _lane(doc).paused:
            await self.collection.update_one(
                {"_id": endpoint_id}, {"$min": {"due_at": at}}, session=session
            )
        return int(doc["next_seq"]) - count

    async def hold(self, endpoint_ids: Sequence[str], session: Session) -> None:
        """Write the lanes in this unit of work ahead of numbering deliveries in them, so
        that it holds them from now on: a dispatcher working one waits for the commit
        rather than making it start again."""
        if endpoint_ids:
            await self.collection.update_many(
                {"_id": {"$in": list(endpoint_ids)}}, {"$inc": {"version": 1}}, session=session
            )

    async def wake(self, org_id: str, endpoint_id: str, now: datetime) -> None:
        """A delivery of the lane is to be tried now, paused or not (it was resent)."""
        await self.collection.update_one(
            {"_id": endpoint_id},
            {
                "$setOnInsert": {**_new_lane(org_id), "next_seq": 0},
                "$min": {"due_at": now, "retry_from": now},
                "$set": {"paused_until": now},
                "$inc": {"version": 1},
            },
            upsert=True,
        )

    async def forget(self, endpoint_id: str) -> None:
        await self.collection.delete_one({"_id": endpoint_id})

    async def is_empty(self) -> bool:
        return await self.collection.find_one({}) is None

    async def due(self, now: datetime) -> list[Lane]:
        """The lanes with work due by `now` that no dispatcher holds."""
        found = self.collection.find({"due_at": {"$gte": EPOCH, "$lt": just_after(now)}})
        lanes = [_lane(doc) async for doc in found]
        return [lane for lane in lanes if lane.claimed_until <= now]

    async def claim(self, lane: Lane, until: datetime) -> Lane | None:
        """Hold the lane until `until`, unless another dispatcher took it since it was read;
        answer it as it stands now."""
        claimed = await self.collection.update_one(
            {"_id": lane.endpoint_id, "claimed_until": lane.claimed_until},
            {"$set": {"claimed_until": until}},
        )
        if claimed.modified_count != 1:
            return None
        doc = await self.collection.find_one({"_id": lane.endpoint_id})
        return _lane(doc) if doc is not None else None

    async def unclaim(self, endpoint_id: str, claimed_until: datetime, now: datetime) -> None:
        """Let go of a claim still held (the claim is the one ending at `claimed_until`),
        the lane due at once."""
        await self.collection.update_one(
            {"_id": endpoint_id, "claimed_until": claimed_until},
            {"$set": {"claimed_until": EPOCH}, "$min": {"due_at": now}},
        )

    async def work(self, lane: Lane, now: datetime, *, fresh: int) -> LaneWork:
        """What the claimed lane has to do at `now`: its due retries, and up to `fresh` new
        deliveries from its cursor."""
        retries: list[Delivery] = []
        next_retry = lane.retry_from
        if lane.retry_from < just_after(now):
            waiting = self.deliveries.find(
                {"endpoint_id": lane.endpoint_id, "retry_at": {"$gte": EPOCH, "$lt": IDLE}}
            )
            docs = [doc async for doc in waiting if doc["status"] == "pending"]
            due = sorted((d for d in docs if d["retry_at"] <= now), key=_retry_order)
            retries = [delivery_from_document(doc) for doc in due]
            next_retry = min((d["retry_at"] for d in docs if d["retry_at"] > now), default=IDLE)
        news: list[Delivery] = []
        if fresh and lane.cursor < lane.next_seq:
            upper = min(lane.cursor + fresh, lane.next_seq)
            window = self.deliveries.find(
                {"endpoint_id": lane.endpoint_id, "seq": {"$gte": lane.cursor, "$lt": upper}}
            )
            ordered = sorted([doc async for doc in window], key=lambda d: int(d["seq"]))
            news = [delivery_from_document(d) for d in _without_holes(ordered, lane.cursor, now)]
        return LaneWork(retries, news, next_retry)

    async def release(
        self,
        lane: Lane,
        now: datetime,
        *,
        cursor: int,
        failures: int,
        paused_until: datetime,
        retry_from: datetime,
        again: bool = False,
    ) -> None:
        """Let the lane go with what its visit changed; it is due again when it next has
        work (at once when `again`)."""
        fresh_left = cursor < lane.next_seq
        if again:
            due = now
        elif failures >= PAUSE_AFTER:
            has_work = fresh_left or retry_from < IDLE
            due = max(paused_until, now) if has_work else IDLE
        else:
            due = min(retry_from, now if fresh_left else IDLE)
        kept: Document = {
            "cursor": cursor,
            "failures": failures,
            "paused_until": paused_until,
            "claimed_until": EPOCH,
        }
        released = await self.collection.update_one(
            {"_id": lane.endpoint_id, "version": lane.version},
            {"$set": {**kept, "due_at": due, "retry_from": retry_from}},
        )
        if released.matched_count == 0:
            # Deliveries were written or resent meanwhile: keep whichever time is sooner.
            await self.collection.update_one(
                {"_id": lane.endpoint_id},
                {"$set": kept, "$min": {"due_at": due, "retry_from": retry_from}},
            )

    async def give_up(self, delivery_ids: Sequence[str], now: datetime, error: str) -> None:
        """Fail the deliveries without a try, saying why in their log of attempts."""
        if delivery_ids:
            await self.deliveries.update_many(
                {"_id": {"$in": list(delivery_ids)}}, _given_up(now, error)
            )


def _given_up(now: datetime, error: str) -> Document:
    attempt = {"at": now, "status_code": None, "error": error, "duration_ms": 0}
    return {
        "$set": {"status": "failed", "next_attempt_at": None},
        "$unset": {"retry_at": ""},
        "$push": {"attempts": {"$each": [attempt], "$slice": -50}},
    }


def _retry_order(doc: Document) -> tuple[datetime, int]:
    return doc["retry_at"], int(doc.get("seq") or 0)


def _without_holes(docs: list[Document], cursor: int, now: datetime) -> list[Document]:
    """The documents numbered from `cursor` on, up to the first missing number; past it too
    when what follows was written long enough ago that the missing one will not come."""
    kept: list[Document] = []
    expected = cursor
    for doc in docs:
        seq = int(doc["seq"])
        if seq != expected and now - doc["created_at"] < _HOLE_GRACE:
            break
        kept.append(doc)
        expected = seq + 1
    return kept
