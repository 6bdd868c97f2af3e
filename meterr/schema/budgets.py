"""Budgets and notifications in GraphQL: types, inputs and the fields Query and Mutation
inherit, each a thin call into resolvers/."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import UNSET
from strawberry.experimental.pydantic import input as derived_input
from strawberry.types import Info

from meterr import domain, resolvers
from meterr.schema.connections import MAX_LIST_PAGE, Connection, PageArgs, connection, sliced
from meterr.schema.context import GraphQLContext
from meterr.schema.enums import BudgetAction, BudgetPeriod, BudgetUnit, NotificationType
from meterr.schema.inputs import changes_given, changes_of, validated
from meterr.schema.money import BudgetAmount
from meterr.schema.node import Node
from meterr.schema.notifications import Notification, notification_of
from meterr.schema.scalars import TimeZone

if TYPE_CHECKING:
    from meterr.schema.teams import Team

__all__ = ["BudgetMutations", "BudgetQueries"]

GqlInfo = Info[GraphQLContext, None]


def _amount(status: domain.BudgetStatus, amount: int) -> BudgetAmount:
    budget = status.budget
    return BudgetAmount.of(budget.unit, resolvers.budget_amount(budget, amount))


@strawberry.type(
    description="A limit over a calendar period and its spend in the current one; amounts "
    "are in the budget's unit."
)
class Budget(Node):
    id: strawberry.ID
    name: str
    team_id: str | None
    user_id: str | None
    provider: str | None
    model: str | None
    api_key_id: str | None
    limit: BudgetAmount
    unit: BudgetUnit
    period: BudgetPeriod
    timezone: TimeZone
    thresholds: list[int]
    action: BudgetAction
    current: BudgetAmount
    reserved: BudgetAmount
    remaining: BudgetAmount
    percent: float
    exceeded: bool
    period_start: datetime
    period_end: datetime | None
    created_at: datetime
    updated_at: datetime
    status: strawberry.Private[domain.BudgetStatus]

    @strawberry.field(description="The team the budget is scoped to, when that team exists.")
    async def team(
        self, info: GqlInfo
    ) -> Annotated[Team, strawberry.lazy("meterr.schema.teams")] | None:
        from meterr.schema.teams import linked_team  # here: the two modules link each other

        return await linked_team(info, self.team_id)

    @strawberry.field(description="Forecast spend at the end of the period, in the budget's unit.")
    async def projected(self, info: GqlInfo) -> BudgetAmount | None:
        forecast = await resolvers.forecast_of(info.context.meterr, self.status)
        return None if forecast.projected is None else _amount(self.status, forecast.projected)

    @strawberry.field(
        description="The day the forecast reaches the limit within the period, if it does."
    )
    async def exceeds_on(self, info: GqlInfo) -> date | None:
        return (await resolvers.forecast_of(info.context.meterr, self.status)).exceeds_on

    @classmethod
    def from_domain(cls, status: domain.BudgetStatus) -> Budget:
        budget = status.budget
        scope = dict.fromkeys(domain.SCOPE_FIELDS)
        if budget.scope.field is not None:
            scope[budget.scope.field] = budget.scope.value
        return cls(
            id=strawberry.ID(budget.id),
            name=budget.name,
            **scope,
            limit=_amount(status, budget.limit),
            unit=budget.unit,
            period=budget.period,
            timezone=TimeZone(budget.timezone),
            thresholds=list(budget.thresholds),
            action=budget.action,
            current=_amount(status, status.current),
            reserved=_amount(status, status.reserved),
            remaining=_amount(status, status.remaining),
            percent=float(status.percent),
            exceeded=status.exceeded,
            period_start=status.period_start,
            period_end=status.period_end,
            created_at=budget.created_at,
            updated_at=budget.updated_at,
            status=status,
        )


@strawberry.type(description="Whether a call may go ahead, and the budgets over it.")
class BudgetCheck:
    allowed: bool
    blocking: list[strawberry.ID]
    budgets: list[Budget]


@strawberry.type(
    description="A granted hold (reservationId, expiresAt) or the budget that refused it."
)
class ReservationResult:
    allowed: bool
    reservation_id: strawberry.ID | None
    expires_at: datetime | None
    budget_id: strawberry.ID | None
    limit: BudgetAmount | None
    current: BudgetAmount | None


@derived_input(
    model=resolvers.ReservationInput,
    all_fields=True,
    name="ReservationInput",
    description="A call about to be made; as POST /v1/budgets/reserve.",
)
class ReservationInput:
    pass


@derived_input(
    model=resolvers.BudgetInput,
    all_fields=True,
    name="BudgetInput",
    description="A new budget; the same fields and rules as POST /v1/budgets.",
)
class BudgetInput:
    timezone: TimeZone = TimeZone("UTC")


@derived_input(
    model=changes_of(resolvers.BudgetInput),
    all_fields=True,
    name="BudgetChanges",
    description="Changes to a budget, as PATCH /v1/budgets/{id}: only the fields given change, "
    "and a scope field given as null clears that scope.",
)
class BudgetChanges:
    timezone: TimeZone | None = UNSET


@strawberry.type
class BudgetQueries:
    @strawberry.field(
        description="The budgets with their spend in the current period, oldest first; 100 "
        "unless `first` or `last` says otherwise."
    )
    async def budgets(
        self,
        info: GqlInfo,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Budget] | None:
        page = PageArgs(first, after, last, before)
        size = page.size(100, MAX_LIST_PAGE)
        # Forecasts are worked out for the budgets whose forecast fields are asked for.
        statuses = await resolvers.list_budgets(info.context.meterr, forecast=False)
        return sliced(statuses, page, size, lambda status: status.budget.id, Budget.from_domain)

    @strawberry.field(description="One budget with its spend in the current period.")
    async def budget(self, info: GqlInfo, id: strawberry.ID) -> Budget | None:
        ctx = info.context.meterr
        return Budget.from_domain(await resolvers.get_budget(ctx, str(id), forecast=False))

    @strawberry.field(
        description="Whether a call may go ahead (same as GET /v1/budgets/check); the "
        "estimate is USD for USD budgets and tokens for token budgets."
    )
    async def budget_check(
        self,
        info: GqlInfo,
        team_id: str | None = None,
        user_id: str | None = None,
        provider: str | None = None,
        model: str | None = None,
        api_key_id: str | None = None,
        estimated_cost: Decimal | None = None,
        estimated_tokens: int | None = None,
    ) -> BudgetCheck | None:
        ctx = info.context.meterr
        scope = resolvers.call_scope(
            ctx,
            team_id=team_id,
            user_id=user_id,
            provider=provider,
            model=model,
            api_key_id=api_key_id,
        )
        check = await resolvers.check_budgets(
            ctx, scope, estimated_cost=estimated_cost, estimated_tokens=estimated_tokens
        )
        return BudgetCheck(
            allowed=check.allowed,
            blocking=[strawberry.ID(budget_id) for budget_id in check.blocking],
            budgets=[Budget.from_domain(status) for status in check.budgets],
        )

    @strawberry.field(
        description="Alerts and other notifications, newest first (GET /v1/events); 100 "
        "unless `first` says otherwise."
    )
    async def notifications(
        self,
        info: GqlInfo,
        types: list[NotificationType] | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Notification] | None:
        page = PageArgs(first, after, last, before)
        page.forward_only("Notifications")
        size = page.size(100, resolvers.MAX_NOTIFICATIONS_PAGE)
        found = await resolvers.list_notifications(
            info.context.meterr, types=types or (), limit=size, cursor=after
        )
        return connection(
            found.notifications,
            notification_of,
            lambda notification: str(notification.seq),
            has_next=found.next_cursor is not None,
            has_previous=after is not None,
        )


@strawberry.type
class BudgetMutations:
    @strawberry.mutation(description="Create a budget (same as POST /v1/budgets).")
    async def create_budget(self, info: GqlInfo, input: BudgetInput) -> Budget:
        ctx = info.context.meterr
        data = validated(ctx, resolvers.BudgetInput, input, needs=resolvers.KeyOperation.MANAGE)
        return Budget.from_domain(await resolvers.create_budget(ctx, data))

    @strawberry.mutation(description="Change a budget (same as PATCH /v1/budgets/{id}).")
    async def update_budget(
        self, info: GqlInfo, id: strawberry.ID, changes: BudgetChanges
    ) -> Budget:
        ctx = info.context.meterr
        given = changes_given(
            ctx, resolvers.BudgetInput, changes, needs=resolvers.KeyOperation.MANAGE
        )
        return Budget.from_domain(await resolvers.update_budget(ctx, str(id), given))

    @strawberry.mutation(
        description="Hold a call's estimate against its budgets; settle it by naming the "
        "reservation in trackUsage."
    )
    async def reserve_budget(self, info: GqlInfo, input: ReservationInput) -> ReservationResult:
        ctx = info.context.meterr
        data = validated(
            ctx, resolvers.ReservationInput, input, needs=resolvers.KeyOperation.INGEST
        )
        reservation = await resolvers.reserve(ctx, data)
        if isinstance(reservation, resolvers.GrantedReservation):
            return ReservationResult(
                allowed=True,
                reservation_id=strawberry.ID(reservation.id),
                expires_at=reservation.expires_at,
                budget_id=None,
                limit=None,
                current=None,
            )
        refused = reservation.budget
        return ReservationResult(
            allowed=False,
            reservation_id=None,
            expires_at=None,
            budget_id=strawberry.ID(reservation.budget_id),
            limit=None if refused is None else _amount(refused, refused.budget.limit),
            current=None if refused is None else _amount(refused, refused.current),
        )

    @strawberry.mutation(description="Delete a budget; answers its id.")
    async def delete_budget(self, info: GqlInfo, id: strawberry.ID) -> strawberry.ID:
        await resolvers.delete_budget(info.context.meterr, str(id))
        return id
