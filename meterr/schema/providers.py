"""Providers, connections, imports and reconciliation in GraphQL, each field a thin call into
resolvers/."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import strawberry
from strawberry.experimental.pydantic import input as derived_input
from strawberry.scalars import JSON
from strawberry.types import Info

from meterr import resolvers
from meterr.schema.context import GraphQLContext
from meterr.schema.enums import ConnectionMode
from meterr.schema.inputs import validated
from meterr.schema.node import Node
from meterr.schema.scalars import TimeBound
from meterr.schema.types import Price, UsageTotals

__all__ = ["ProviderMutations", "ProviderQueries"]

GqlInfo = Info[GraphQLContext, None]


@strawberry.type(description="A connection to a provider's API; of its key, the last four.")
class ProviderConnection(Node):
    id: strawberry.ID
    provider: str
    name: str
    mode: ConnectionMode
    options: JSON
    api_key_hint: str
    created_at: datetime
    last_sync_at: datetime | None
    last_sync_status: str | None
    last_sync_error: str | None

    @classmethod
    def from_domain(cls, connection: resolvers.Connection) -> ProviderConnection:
        return cls(
            id=strawberry.ID(connection.id),
            provider=connection.provider,
            name=connection.name,
            mode=ConnectionMode(connection.mode),
            options=JSON(connection.options),
            api_key_hint=f"...{connection.credential_hint}",
            created_at=connection.created_at,
            last_sync_at=connection.last_sync_at,
            last_sync_status=connection.last_sync_status,
            last_sync_error=connection.last_sync_error,
        )


@strawberry.type
class Provider:
    name: str
    connectable: bool
    connected: bool
    models: list[Price]
    connections: list[ProviderConnection]


@strawberry.type
class SyncResult:
    connection: ProviderConnection
    rows: int
    imported: int
    already_imported: int
    open_buckets: int


@strawberry.type
class ReconciliationDay:
    date: date
    model: str
    tracked: UsageTotals
    reported: UsageTotals
    flagged: bool


@strawberry.type
class ReconciliationReport:
    tolerance_percent: float
    flagged_days: int
    days: list[ReconciliationDay]


@derived_input(
    model=resolvers.ConnectionInput,
    all_fields=True,
    name="ConnectProviderInput",
    description="As POST /v1/providers/connect.",
)
class ConnectProviderInput:
    options: JSON | None


@derived_input(
    model=resolvers.SyncInput,
    all_fields=True,
    name="SyncInput",
    description="The whole days to import, as POST /v1/providers/{id}/sync.",
)
class SyncInput:
    start_date: TimeBound
    end_date: TimeBound


@strawberry.type
class ProviderQueries:
    @strawberry.field(description="Providers, their models' prices now, and your connections.")
    async def providers(self, info: GqlInfo) -> list[Provider] | None:
        return [
            Provider(
                name=p.name,
                connectable=p.connectable,
                connected=bool(p.connections),
                models=[Price.from_domain(price) for price in p.models],
                connections=[ProviderConnection.from_domain(c) for c in p.connections],
            )
            for p in await resolvers.list_providers(info.context.meterr)
        ]

    @strawberry.field
    async def provider_connection(
        self, info: GqlInfo, id: strawberry.ID
    ) -> ProviderConnection | None:
        connection = await resolvers.get_connection(info.context.meterr, str(id))
        return ProviderConnection.from_domain(connection)

    @strawberry.field(description="Tracked beside reported usage per day and model.")
    async def reconciliation(
        self,
        info: GqlInfo,
        connection_id: strawberry.ID,
        start_date: TimeBound | None = None,
        end_date: TimeBound | None = None,
        tolerance: Decimal = resolvers.DEFAULT_TOLERANCE,
    ) -> ReconciliationReport | None:
        ctx = info.context.meterr
        time_range = resolvers.parse_time_range(start_date, end_date, None, now=ctx.now())
        report = await resolvers.reconcile(ctx, str(connection_id), time_range, tolerance)
        return ReconciliationReport(
            tolerance_percent=float(report.tolerance_percent),
            flagged_days=report.flagged_days,
            days=[
                ReconciliationDay(
                    date=line.day,
                    model=line.model,
                    tracked=UsageTotals.from_domain(line.tracked),
                    reported=UsageTotals.from_domain(line.reported),
                    flagged=line.flagged,
                )
                for line in report.lines
            ],
        )


@strawberry.type
class ProviderMutations:
    @strawberry.mutation
    async def connect_provider(
        self, info: GqlInfo, input: ConnectProviderInput
    ) -> ProviderConnection:
        ctx = info.context.meterr
        data = validated(ctx, resolvers.ConnectionInput, input, needs=resolvers.KeyOperation.MANAGE)
        connection = await resolvers.connect_provider(ctx, data)
        return ProviderConnection.from_domain(connection)

    @strawberry.mutation(description="Remove a connection and its credential; answers its id.")
    async def disconnect_provider(self, info: GqlInfo, id: strawberry.ID) -> strawberry.ID:
        await resolvers.disconnect_provider(info.context.meterr, str(id))
        return id

    @strawberry.mutation(description="Import the provider's usage for a range of whole days.")
    async def sync_provider(self, info: GqlInfo, id: strawberry.ID, input: SyncInput) -> SyncResult:
        ctx = info.context.meterr
        data = validated(ctx, resolvers.SyncInput, input, needs=resolvers.KeyOperation.MANAGE)
        report = await resolvers.sync_connection(ctx, str(id), data)
        return SyncResult(
            connection=ProviderConnection.from_domain(report.connection),
            rows=report.rows,
            imported=report.imported,
            already_imported=report.already_imported,
            open_buckets=report.open_buckets,
        )
