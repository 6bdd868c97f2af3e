"""Group writes: the events of concurrent requests go to the store together."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

from pymongo.errors import BulkWriteError, ConnectionFailure, DuplicateKeyError

from meterr.domain import UsageEvent
from meterr.store.budget_spend import BudgetSpendStore, StaleBudgets
from meterr.store.events import DUPLICATE_KEY, EventStore, InsertOutcome
from meterr.store.metadata_keys import MetadataKeysMoved, MetadataKeyStore, rolled_values
from meterr.store.rollups import RollupStore
from meterr.store.sequences import USAGE, SequenceStore
from meterr.store.unit_of_work import AfterInsert, Session, UnitOfWork

__all__ = ["AfterInsert", "EventWriter"]

_ATTEMPTS = 5
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Request:
    events: Sequence[UsageEvent]
    after_insert: AfterInsert | None
    answer: asyncio.Future[InsertOutcome]
    new_ids: bool


class EventWriter:
    """Writes events with their rollup increments and their budgets' spend, several
    requests per round trip.

    While one flush is at the store, new requests queue up; the next flush writes all of
    them in one transaction: one insert_many, one bulk of rollup increments merged in
    memory and one of budget period counts, so that neither ever disagrees with the events,
    even after a crash. Under load that turns many small writes into a few large ones;
    alone, a request is written at once. Event ids already stored are reported per request
    as duplicates, and only the events actually inserted are counted.
    """

    def __init__(
        self,
        events: EventStore,
        rollups: RollupStore,
        spend: BudgetSpendStore,
        sequences: SequenceStore,
        metadata_keys: MetadataKeyStore,
        unit_of_work: UnitOfWork,
        max_events: int = 5000,
    ) -> None:
        self._events = events
        self._rollups = rollups
        self._metadata_keys = metadata_keys
        self._spend = spend
        self._sequences = sequences
        self._unit_of_work = unit_of_work
        self._max_events = max_events
        self._pending: list[_Request] = []
        self._drainer: asyncio.Task[None] | None = None

    async def write(
        self,
        events: Sequence[UsageEvent],
        after_insert: AfterInsert | None = None,
        *,
        new_ids: bool = False,
    ) -> InsertOutcome:
        """Store the events not stored yet. `new_ids`: their event_ids were just made up,
        so none can be stored already and the look-up before writing skips them (the unique
        index still has the last word)."""
        if not events:
            return InsertOutcome([], set())
        future: asyncio.Future[InsertOutcome] = asyncio.get_running_loop().create_future()
        self._pending.append(_Request(events, after_insert, future, new_ids))
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain())
        return await future

    async def close(self) -> None:
        """Finish what was queued."""
        if self._drainer is not None:
            await self._drainer

    def _take(self) -> list[_Request]:
        taken, size = 0, 0
        while taken < len(self._pending):
            size += len(self._pending[taken].events)
            taken += 1
            if size >= self._max_events:
                break
        group, self._pending = self._pending[:taken], self._pending[taken:]
        return group

    async def _drain(self) -> None:
        while self._pending:
            group = self._take()
            try:
                outcomes = await self._flush(group)
            except ConnectionFailure as exc:
                _answer(group, exc)
                continue
            except Exception as exc:
                if len(group) == 1:
                    _answer(group, exc)
                    continue
                # One request's events could not be stored (a value the store refuses that
                # slipped past validation): the shared unit was rolled back whole, so each
                # request is written again alone and only the offender fails.
                for request in group:
                    await self._flush_alone(request)
                continue
            except BaseException as exc:
                _answer(group, exc)
                raise
            for request, outcome in zip(group, outcomes, strict=True):
                if not request.answer.done():
                    request.answer.set_result(outcome)

    async def _flush_alone(self, request: _Request) -> None:
        try:
            [outcome] = await self._flush([request])
        except Exception as exc:
            _answer([request], exc)
        else:
            if not request.answer.done():
                request.answer.set_result(outcome)

    async def _flush(self, requests: list[_Request]) -> list[InsertOutcome]:
        flat = [event for request in requests for event in request.events]
        failed: set[int] = set()
        for attempt in range(_ATTEMPTS):
            # Looked up outside the transaction: SecantusDB reads inside one without indexes.
            # After a lost race, every event is looked up.
            known = [e for r in requests if attempt or not r.new_ids for e in r.events]
            stored = await self._events.stored_keys_across_tenants(known) if known else set()

            async def work(session: Session, stored: set[tuple[str, str]] = stored) -> set[int]:
                return await self._write(flat, stored, session, requests)

            try:
                failed = await self._with_budgets(work)
                break
            except (BulkWriteError, DuplicateKeyError) as exc:
                # Another instance stored one of these event_ids since we looked: the
                # transaction was rolled back whole, so look again.
                if not _is_duplicate(exc) or attempt == _ATTEMPTS - 1:
                    raise
        outcomes, offset = [], 0
        for request in requests:
            indexes = range(offset, offset + len(request.events))
            outcomes.append(
                InsertOutcome(
                    inserted=[flat[i] for i in indexes if i not in failed],
                    duplicate_event_ids={flat[i].event_id for i in indexes if i in failed},
                )
            )
            offset += len(request.events)
        return outcomes

    async def _write(
        self,
        flat: list[UsageEvent],
        stored: set[tuple[str, str]],
        session: Session,
        requests: Sequence[_Request],
    ) -> set[int]:
        """One unit of work: the new events, numbered, and their rollup increments, or
        nothing. `stored` holds the keys found stored before; one stored since trips the
        unique index and rolls the whole unit back. Numbers go into `flat` in place."""
        stored = set(stored)
        failed: set[int] = set()
        fresh: list[int] = []
        for index, event in enumerate(flat):
            key = (event.org_id, event.event_id)
            if key in stored:
                failed.add(index)
            else:
                stored.add(key)  # a repeat later in the same flush is a replay of this one
                fresh.append(index)
        # Numbering writes each organization's counter first: a change to its budgets
        # since they were loaded shows there, before anything else is written.
        self._spend.check(await self._number(flat, fresh, session))
        for request in requests:
            if request.after_insert is not None and request.after_insert.first is not None:
                await request.after_insert.first(session)
        # Without transactions (standalone mongod) the unique index still settles races.
        lost = await self._events.insert_all([flat[i] for i in fresh], session)
        failed.update(fresh[i] for i in lost)
        inserted = [flat[i] for i in fresh if i not in failed]
        known = await self._metadata_keys.learn(inserted, session)
        await self._rollups.apply(inserted, session=session, metadata=rolled_values(known))
        await self._spend.count(inserted, 1, session)
        offset = 0
        for request in requests:
            indexes = range(offset, offset + len(request.events))
            offset += len(request.events)
            inserted = [flat[i] for i in indexes if i not in failed]
            if request.after_insert is not None and inserted:
                await request.after_insert.write(inserted, session)
        return failed

    async def _number(
        self, flat: list[UsageEvent], fresh: list[int], session: Session
    ) -> dict[str, int]:
        """Number the fresh events per organization; answer the version of each one's
        budgets this unit of work is ordered after."""
        by_org: dict[str, list[int]] = {}
        for index in fresh:
            by_org.setdefault(flat[index].org_id, []).append(index)
        versions = {}
        for org_id, indexes in by_org.items():
            taken = await self._sequences.advance(org_id, USAGE, len(indexes), session)
            versions[org_id] = taken.budgets_version
            for offset, index in enumerate(indexes):
                flat[index] = replace(flat[index], seq=taken.first + offset)
        return versions

    async def _with_budgets(self, work: Callable[[Session], Awaitable[T]]) -> T:
        """Run the unit of work, loading the budgets again as long as they turn out to have
        changed since they were loaded, and learning metadata keys again when another writer
        changed them meanwhile."""
        for _ in range(_ATTEMPTS):
            try:
                return await self._unit_of_work.run(work)
            except StaleBudgets as stale:
                await self._spend.refresh(stale.org_ids)
            except MetadataKeysMoved:
                continue
        return await self._unit_of_work.run(work)

    async def _ordered(self, org_id: str, session: Session) -> None:
        """Order a unit of work that moves stored events after the changes to the
        organization's budgets, and check it counts with the latest of them."""
        taken = await self._sequences.advance(org_id, USAGE, 0, session)
        self._spend.check({org_id: taken.budgets_version})

    async def retract(self, org_id: str, events: Sequence[UsageEvent]) -> None:
        """Remove events this writer stored, with their rollup increments, as one unit."""
        if not events:
            return

        async def work(session: Session) -> None:
            await self._ordered(org_id, session)
            await self._events.delete_ids(org_id, [event.id for event in events], session)
            known = await self._metadata_keys.learn(events, session, fresh=True)
            await self._rollups.apply(
                events, sign=-1, session=session, metadata=rolled_values(known)
            )
            await self._spend.count(events, -1, session)

        await self._with_budgets(work)

    async def replace(
        self, org_id: str, before: Sequence[UsageEvent], after: Sequence[UsageEvent]
    ) -> None:
        """Store new versions (costs, prices) of stored events, moving their rollup totals
        along, as one unit."""

        async def work(session: Session) -> None:
            await self._ordered(org_id, session)
            await self._events.replace_costs(org_id, after, session)
            known = await self._metadata_keys.learn(after, session, fresh=True)
            await self._rollups.apply_changes(before, after, session, rolled_values(known))
            await self._spend.count(before, -1, session)
            await self._spend.count(after, 1, session)

        await self._with_budgets(work)


def _answer(group: Sequence[_Request], exc: BaseException) -> None:
    for request in group:
        if not request.answer.done():
            request.answer.set_exception(exc)


def _is_duplicate(exc: BulkWriteError | DuplicateKeyError) -> bool:
    if isinstance(exc, DuplicateKeyError):
        return True
    errors = exc.details.get("writeErrors", [])
    return bool(errors) and all(error.get("code") == DUPLICATE_KEY for error in errors)
