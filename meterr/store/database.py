"""The store: one MongoDB client per process, its collections and indexes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import ConnectionFailure, PyMongoError

from meterr.config import Settings
from meterr.store.budget_spend import BudgetSpendStore
from meterr.store.budgets import BudgetStore
from meterr.store.connections import ConnectionStore
from meterr.store.documents import Document
from meterr.store.embedded import EmbeddedServer, EmbeddedState, find_running_server
from meterr.store.events import EventStore
from meterr.store.ingest import EventWriter
from meterr.store.metadata_keys import MetadataKeyStore
from meterr.store.notifications import NotificationStore
from meterr.store.organizations import OrganizationStore
from meterr.store.prices import PriceOverrideStore
from meterr.store.rate_limits import RateCounterStore
from meterr.store.reservations import ReservationStore
from meterr.store.rollups import RebuildReport, RollupStore
from meterr.store.sequences import SequenceStore
from meterr.store.teams import TeamStore
from meterr.store.unit_of_work import UnitOfWork
from meterr.store.usage import UsageReader
from meterr.store.webhooks import WebhookStore

__all__ = ["Store", "StoreUnreachable", "open_store"]

# The driver's error for a store it cannot reach (no server to select, a connection lost):
# the one store failure the service answers as "unavailable, retry shortly".
StoreUnreachable = ConnectionFailure

log = logging.getLogger(__name__)

_FOLD_LIMIT = 500  # pending documents folded in one transaction


@dataclass
class Store:
    """Typed access to every collection family of one database."""

    client: AsyncMongoClient[Document]
    db: AsyncDatabase[Document]
    # The embedded server this process runs and restarts, if it runs one.
    embedded: EmbeddedServer | None = None

    def __post_init__(self) -> None:
        self.organizations = OrganizationStore(self.db["organizations"], self.db["api_keys"])
        self.events = EventStore(self.db["usage_events"])
        self.unit_of_work = UnitOfWork(self.client)
        self.rollups = RollupStore(
            self.db["rollups_hourly"],
            self.db["rollups_pending"],
            self.db["rollups_state"],
            self.unit_of_work,
        )
        self.sequences = SequenceStore(self.db["sequences"])
        self.webhooks = WebhookStore(
            self.db["webhook_endpoints"], self.db["webhook_deliveries"], self.db["webhook_lanes"]
        )
        self.notifications = NotificationStore(self.db["events"], self.sequences, self.webhooks)
        self.budgets = BudgetStore(
            self.db["budgets"],
            self.db["budget_periods"],
            self.notifications,
            self.sequences,
            self.unit_of_work,
        )
        self.budget_spend = BudgetSpendStore(
            self.db["budget_periods"], self.budgets, self.sequences
        )
        self.reservations = ReservationStore(
            self.db["reservations"], self.db["budget_periods"], self.unit_of_work
        )
        self.teams = TeamStore(self.db["teams"], self.db["team_members"], self.db["invitations"])
        self.connections = ConnectionStore(
            self.db["provider_connections"], self.db["imported_usage"]
        )
        self.price_overrides = PriceOverrideStore(self.db["price_overrides"])
        self.rate_counters = RateCounterStore(self.db["rate_counters"], self.unit_of_work)
        self.metadata_keys = MetadataKeyStore(self.db["metadata_keys"])
        self.usage = UsageReader(self.events.collection, self.rollups, self.metadata_keys)
        self.writer = EventWriter(
            self.events,
            self.rollups,
            self.budget_spend,
            self.sequences,
            self.metadata_keys,
            self.unit_of_work,
        )

    async def relearn_and_rebuild(self, org_id: str) -> RebuildReport:
        """Learn an organization's metadata keys anew from its events and rebuild its
        rollups. The keys are learned first, their cells still marked incomplete, so that
        questions asked during the rebuild read the raw events."""
        keys = await self.metadata_keys.relearn(org_id, self.events.collection)
        report = await self.rollups.rebuild(org_id, self.events.collection, keys)
        await self.metadata_keys.mark_complete(org_id)
        return report

    async def ensure_indexes(self) -> None:
        """Create every index (and give a new store the rollups' layout); running it again
        changes nothing."""
        for collection, indexes in (
            (self.organizations.organizations, self.organizations.org_indexes),
            (self.organizations.api_keys, self.organizations.key_indexes),
            (self.events.collection, self.events.indexes),
            (self.rollups.collection, self.rollups.indexes),
            (self.rollups.pending, self.rollups.pending_indexes),
            (self.price_overrides.collection, self.price_overrides.indexes),
            (self.notifications.collection, self.notifications.indexes),
            (self.budgets.collection, self.budgets.indexes),
            (self.budgets.periods, self.budgets.period_indexes),
            (self.reservations.collection, self.reservations.indexes),
            (self.webhooks.endpoints, self.webhooks.endpoint_indexes),
            (self.teams.teams, self.teams.team_indexes),
            (self.connections.collection, self.connections.indexes),
            (self.connections.imported, self.connections.imported_indexes),
            (self.teams.members, self.teams.member_indexes),
            (self.teams.invitations, self.teams.invitation_indexes),
            (self.webhooks.deliveries, self.webhooks.delivery_indexes),
            (self.webhooks.lanes.collection, self.webhooks.lanes.indexes),
            (self.rate_counters.collection, self.rate_counters.indexes),
            (self.metadata_keys.collection, self.metadata_keys.indexes),
        ):
            await collection.create_indexes(list(indexes))
        # A store with no cells yet takes the current layout of rollups.
        await self.rollups.layout_is_current()

    @asynccontextmanager
    async def compacting(self, interval: float) -> AsyncIterator[None]:
        """While inside, fold pending rollup increments into the cells every `interval`
        seconds (at once again while a backlog remains); on the way out, fold what is left."""
        stop = asyncio.Event()

        async def loop() -> None:
            while not stop.is_set():
                try:
                    folded = await self.rollups.compact_across_tenants(limit=_FOLD_LIMIT)
                    backlog = folded == _FOLD_LIMIT
                except PyMongoError:
                    log.exception("Folding pending rollup increments failed; retrying.")
                    backlog = False
                if not backlog:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), interval)

        task = asyncio.create_task(loop())
        try:
            yield
        finally:
            stop.set()
            if self.unavailable_reason() is None:
                await task
            else:  # a fold under way would wait for a store known to be down
                task.cancel()
                await asyncio.wait([task])
            await self.writer.close()
            await self.fold_before_closing()

    async def fold_before_closing(self) -> None:
        """Fold the pending rollup increments that are left, unless the store is known to
        be down: then they wait, stored, for the next start, and closing does not wait on
        it (a stop asked for while the embedded store is down ends within seconds)."""
        if self.unavailable_reason() is not None:
            return
        with contextlib.suppress(PyMongoError):
            await self.rollups.compact_all_across_tenants()

    def unavailable_reason(self) -> str | None:
        """Why the store cannot answer now, known without asking it: the embedded server
        this process runs has stopped. None when nothing is known to be wrong."""
        if self.embedded is None:
            return None
        if self.embedded.state is EmbeddedState.RESTARTING:
            return "the embedded store stopped and is being started again"
        if self.embedded.state is EmbeddedState.FAILED:
            return "the embedded store stopped and could not be started again"
        return None

    @property
    def failed(self) -> bool:
        """Whether the store is down for good: only a restart of the service can help."""
        return self.embedded is not None and self.embedded.state is EmbeddedState.FAILED

    async def is_reachable(self) -> bool:
        try:
            await self.client.admin.command("ping")
        except PyMongoError:
            return False
        return True


@asynccontextmanager
async def open_store(settings: Settings, *, database: str | None = None) -> AsyncIterator[Store]:
    """Connect to MONGODB_URL, or to the embedded server of data_dir (started if needed)."""
    embedded: EmbeddedServer | None = None
    url = settings.mongodb_url
    if url is None:
        url = await find_running_server(settings.data_dir)
    if url is None:
        embedded = EmbeddedServer(
            settings.data_dir,
            start_timeout=settings.embedded_start_timeout,
            restart_delay=settings.embedded_restart_delay,
            restart_attempts=settings.embedded_restart_attempts,
        )
        url = await embedded.start()
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        url, tz_aware=True, serverSelectionTimeoutMS=int(settings.store_timeout * 1000)
    )
    store = Store(client, client[database or settings.database], embedded)
    try:
        await store.ensure_indexes()
        yield store
    finally:
        await store.writer.close()
        await store.fold_before_closing()
        await client.close()
        if embedded is not None:
            await embedded.stop()
