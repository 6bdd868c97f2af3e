"""The events collection: raw usage events, the truth every total is derived from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

from meterr.domain import UsageEvent, UsageFilter
from meterr.store.documents import Document, event_from_document, event_to_document
from meterr.store.unit_of_work import Session
from meterr.store.windows import backwards, forwards

__all__ = [
    "DUPLICATE_KEY",
    "EventPage",
    "EventStore",
    "InsertOutcome",
    "filter_query",
    "restrictions_query",
]

DUPLICATE_KEY = 11000


@dataclass(frozen=True, slots=True)
class InsertOutcome:
    """What an insert did: the events it stored, and the event_ids already present."""

    inserted: list[UsageEvent]
    duplicate_event_ids: set[str]


@dataclass(frozen=True, slots=True)
class EventPage:
    events: list[UsageEvent]
    next_after: tuple[datetime, str] | None


def filter_query(org_id: str, usage_filter: UsageFilter) -> Document:
    return {"org_id": org_id, **restrictions_query(usage_filter)}


def restrictions_query(usage_filter: UsageFilter) -> Document:
    """The filter's conditions on the dimensions it restricts."""
    return {
        field: values[0] if len(values) == 1 else {"$in": list(values)}
        for field, values in usage_filter.restrictions().items()
    }


_FIRST_WINDOW = timedelta(minutes=1)
_LONGEST_WINDOW = timedelta(days=3660)


class EventStore:
    """Reads and writes usage events; every call is scoped to one organization."""

    indexes = (
        IndexModel([("org_id", ASCENDING), ("event_id", ASCENDING)], unique=True),
        # Ascending, though pages are read newest first: SecantusDB 0.7 drops documents equal
        # to an inclusive lower bound ($gte) when it scans a descending key.
        IndexModel([("org_id", ASCENDING), ("ts", ASCENDING), ("_id", ASCENDING)]),
        IndexModel([("org_id", ASCENDING), ("unpriced_requests", ASCENDING), ("ts", ASCENDING)]),
        IndexModel([("org_id", ASCENDING), ("seq", ASCENDING)]),
    )

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def _select(
        self,
        indexed: Document,
        rest: Document,
        *,
        sort: Document | None = None,
        limit: int | None = None,
    ) -> list[UsageEvent]:
        """The events matching `indexed`, which names fields of one index only, and `rest`
        in a stage of its own: the embedded store scans the whole collection, every
        organization's events included, for a filter naming a field outside its index."""
        stages: list[Document] = [{"$match": indexed}]
        if rest:
            stages.append({"$match": rest})
        if sort:
            stages.append({"$sort": sort})
        if limit is not None:
            stages.append({"$limit": limit})
        cursor = await self.collection.aggregate(stages)
        return [event_from_document(doc) async for doc in cursor]

    async def insert_all(self, events: Sequence[UsageEvent], session: Session = None) -> set[int]:
        """Insert every event whose (org_id, event_id) is new; return the indexes of the
        others. Outside a transaction the unique index settles races between writers; inside
        one, a duplicate aborts the transaction and the error propagates."""
        if not events:
            return set()
        failed: set[int] = set()
        try:
            await self.collection.insert_many(
                [event_to_document(event) for event in events], ordered=False, session=session
            )
        except BulkWriteError as exc:
            if session is not None:
                raise
            for error in exc.details.get("writeErrors", []):
                if error.get("code") != DUPLICATE_KEY:
                    raise
                failed.add(int(error["index"]))
        return failed

    async def after_seq(self, org_id: str, seq: int, limit: int, *, until: int) -> list[UsageEvent]:
        """Up to `limit` events numbered after `seq` and before `until`, in order, read in
        widening windows of numbers (they are dense)."""

        async def read(lower: int, upper: int, more: int) -> list[UsageEvent]:
            indexed = {"org_id": org_id, "seq": {"$gte": lower, "$lt": upper}}
            return await self._select(indexed, {}, sort={"seq": ASCENDING}, limit=more)

        return await forwards(
            read, lower=seq + 1, ceiling=until, first=max(limit, 1), widest=until, want=limit
        )

    async def before_seq(
        self, org_id: str, seq: int, limit: int, *, team_id: str | None = None
    ) -> list[UsageEvent]:
        """Up to `limit` events numbered before `seq`, newest first; of one team when
        `team_id` is given."""
        rest = {"team_id": team_id} if team_id is not None else {}

        async def read(lower: int, upper: int, more: int) -> list[UsageEvent]:
            indexed = {"org_id": org_id, "seq": {"$gte": lower, "$lt": upper}}
            return await self._select(indexed, rest, sort={"seq": DESCENDING}, limit=more)

        return await backwards(
            read, upper=seq, floor=1, first=max(limit, 1), widest=max(seq, 1), want=limit
        )

    async def stored_keys_across_tenants(
        self, events: Sequence[UsageEvent]
    ) -> set[tuple[str, str]]:
        """Which (org_id, event_id) pairs of these events are stored already."""
        by_org: dict[str, list[str]] = {}
        for event in events:
            by_org.setdefault(event.org_id, []).append(event.event_id)
        stored: set[tuple[str, str]] = set()
        for org_id, ids in by_org.items():
            # One query per organization: each is a plain range on the unique index,
            # where an $or of them makes SecantusDB scan the collection.
            query = {"org_id": org_id, "event_id": {"$in": ids}}
            cursor = self.collection.find(query, {"event_id": 1})
            stored.update([(org_id, doc["event_id"]) async for doc in cursor])
        return stored

    async def by_event_ids(self, org_id: str, event_ids: Sequence[str]) -> list[UsageEvent]:
        cursor = self.collection.find({"org_id": org_id, "event_id": {"$in": list(event_ids)}})
        return [event_from_document(doc) async for doc in cursor]

    async def by_id(self, org_id: str, event_id: str) -> UsageEvent | None:
        # By id alone, the organization checked after: a lookup of the primary key.
        doc = await self.collection.find_one({"_id": event_id})
        if doc is None or doc["org_id"] != org_id:
            return None
        return event_from_document(doc)

    async def delete_ids(self, org_id: str, ids: Sequence[str], session: Session = None) -> None:
        await self.collection.delete_many(
            {"org_id": org_id, "_id": {"$in": list(ids)}}, session=session
        )

    async def page(
        self,
        org_id: str,
        *,
        start: datetime,
        end: datetime,
        usage_filter: UsageFilter,
        limit: int,
        after: tuple[datetime, str] | None,
    ) -> EventPage:
        """Newest first; `after` is the (timestamp, id) of the last event of the previous page.

        The range is read backwards in widening windows, a minute first: a page costs what
        it shows, not what the range holds."""
        rest = restrictions_query(usage_filter)
        upper = end
        if after is not None:
            ts, event_id = after
            # Up to and including the last event shown, written as an exclusive bound a
            # millisecond (the stored precision) later: SecantusDB 0.7 drops the documents
            # equal to an inclusive upper bound ($lte) when it scans an index.
            upper = min(end, ts + timedelta(milliseconds=1))
            rest["$or"] = [{"ts": {"$lt": ts}}, {"_id": {"$lt": event_id}}]

        async def read(lower: datetime, upper: datetime, more: int) -> list[UsageEvent]:
            indexed = {"org_id": org_id, "ts": {"$gte": lower, "$lt": upper}}
            sort = {"ts": DESCENDING, "_id": DESCENDING}
            return await self._select(indexed, rest, sort=sort, limit=more)

        found = await backwards(
            read, upper=upper, floor=start, first=_FIRST_WINDOW, widest=_LONGEST_WINDOW,
            want=limit + 1,
        )  # fmt: skip
        events = found[:limit]
        more = len(found) > limit
        return EventPage(events, (events[-1].timestamp, events[-1].id) if more else None)

    async def for_repricing(
        self,
        org_id: str,
        *,
        start: datetime | None,
        end: datetime | None,
        usage_filter: UsageFilter,
        unpriced_only: bool,
    ) -> list[UsageEvent]:
        window: dict[str, Any] = {}
        if start is not None:
            window["$gte"] = start
        if end is not None:
            window["$lt"] = end
        indexed: Document = {"org_id": org_id}
        rest = restrictions_query(usage_filter)
        if unpriced_only:
            # The (org_id, unpriced_requests, ts) index takes one range: the unpriced ones.
            indexed["unpriced_requests"] = {"$gt": 0}
            if window:
                rest["ts"] = window
        elif window:
            indexed["ts"] = window
        return await self._select(indexed, rest)

    async def replace_costs(
        self, org_id: str, events: Sequence[UsageEvent], session: Session = None
    ) -> None:
        """Write the new cost and price of already stored events."""
        requests = []
        for event in events:
            doc = event_to_document(event)
            fields = ("cost_nano", "cost_breakdown_nano", "unpriced_requests", "price")
            requests.append(
                UpdateOne(
                    {"_id": event.id, "org_id": org_id}, {"$set": {f: doc[f] for f in fields}}
                )
            )
        if requests:
            await self.collection.bulk_write(requests, ordered=False, session=session)
