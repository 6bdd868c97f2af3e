"""Several writes that must agree: one MongoDB transaction where the server offers them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from pymongo import AsyncMongoClient, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection

from meterr.domain import UsageEvent
from meterr.store.documents import Document

__all__ = ["AfterInsert", "Session", "UnitOfWork", "upsert_and_read"]

T = TypeVar("T")
Session = AsyncClientSession | None


@dataclass(frozen=True, slots=True)
class AfterInsert:
    """Work that belongs to the unit of work storing a request's events: `write`, given the
    events actually inserted (replays left out), writes with the same session.

    `first` writes, at the start of the unit of work, the documents `write` will change
    that others change often (a webhook lane its dispatcher works): a transaction holds a
    document from its first write of it, so the others wait for the commit instead of
    rolling the whole unit of work back."""

    write: Callable[[list[UsageEvent], Session], Awaitable[None]]
    first: Callable[[Session], Awaitable[None]] | None = None


class UnitOfWork:
    """Runs `work(session)` in a transaction, retried by the driver on transient conflicts.

    A standalone mongod has no transactions: there `work` runs with no session and its
    writes are applied one after the other (say so in deployment: use a replica set).
    """

    def __init__(self, client: AsyncMongoClient[Document]) -> None:
        self._client = client
        self.transactional: bool | None = None
        self.retried = 0  # units of work run again after the store rolled them back

    async def detect(self) -> None:
        """Transactions need a replica set member or a mongos."""
        hello = await self._client.admin.command("hello")
        self.transactional = bool(hello.get("setName")) or hello.get("msg") == "isdbgrid"

    async def run(self, work: Callable[[Session], Awaitable[T]]) -> T:
        if self.transactional is None:
            await self.detect()
        if not self.transactional:
            return await work(None)
        runs = 0

        async def counted(session: AsyncClientSession) -> T:
            nonlocal runs
            runs += 1
            if runs > 1:
                self.retried += 1
            return await work(session)

        async with self._client.start_session() as session:
            return await session.with_transaction(counted)


async def upsert_and_read(
    collection: AsyncCollection[Document], query: Document, update: Document, session: Session
) -> Document:
    """Apply `update` to the document `query` names, made if missing, and answer it as
    updated. In a transaction the write holds the document until commit, so reading it back
    is as good as one find-and-modify, which the embedded store plans as a scan of the whole
    collection whatever the query."""
    if session is None:
        doc = await collection.find_one_and_update(
            query, update, upsert=True, return_document=ReturnDocument.AFTER
        )
    else:
        await collection.update_one(query, update, upsert=True, session=session)
        doc = await collection.find_one(query, session=session)
    assert doc is not None
    return doc
