"""Live feeds over websockets (graphql-transport-ws and graphql-ws), each a thin loop over a
feed of resolvers/."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from meterr import domain, resolvers
from meterr.schema.arguments import group_by_of, usage_filter_of
from meterr.schema.context import GraphQLContext
from meterr.schema.enums import CostDimension, NotificationType
from meterr.schema.inputs import UsageFilterInput
from meterr.schema.live import Live, current_operation
from meterr.schema.notifications import Notification, notification_of
from meterr.schema.scalars import TimeBound, TimeZone
from meterr.schema.types import CostGroup, UsageEvent

__all__ = ["Subscription"]

GqlInfo = Info[GraphQLContext, None]


# Each live message is shown once for every subscriber on this instance (these are the keys
# of that memo), and each subscription over a websocket sends what it can at once, rendered
# once for all those asking the same: only the rest goes through strawberry's own execution.
def _live_usage_event(event: domain.UsageEvent) -> Live[UsageEvent]:
    return Live(UsageEvent.from_domain(event))


def _live_notification(notification: domain.Notification) -> Live[Notification]:
    return Live(notification_of(notification))


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Each usage event as it is stored. With `after` (an event id), the events "
        "stored since that one come first, then the live ones, without a gap or a duplicate."
    )
    async def usage_tracked(
        self,
        info: GqlInfo,
        filter: UsageFilterInput | None = None,
        after: strawberry.ID | None = None,
    ) -> AsyncGenerator[UsageEvent, None]:
        feed = resolvers.usage_feed(
            info.context.meterr,
            usage_filter_of(filter),
            present=_live_usage_event,
            sink=current_operation(),
            after=None if after is None else str(after),
        )
        async for event in feed:
            yield event.root

    @strawberry.subscription(
        description="The answer of `costs` now, then again whenever it changes, at most every "
        "250 ms."
    )
    async def cost_feed(
        self,
        info: GqlInfo,
        start_date: TimeBound | None = None,
        end_date: TimeBound | None = None,
        group_by: CostDimension = CostDimension.PROVIDER,
        metadata_key: str | None = None,
        filter: UsageFilterInput | None = None,
        tz: TimeZone | None = None,
    ) -> AsyncGenerator[list[CostGroup], None]:
        ctx = info.context.meterr
        time_range = resolvers.parse_time_range(start_date, end_date, tz, now=ctx.now())
        feed = resolvers.cost_feed(
            ctx,
            time_range,
            group_by_of(group_by, metadata_key),
            usage_filter_of(filter),
        )
        async for groups in feed:
            yield [CostGroup.from_group(group) for group in groups]

    @strawberry.subscription(
        description="Alerts of one budget (or of all): thresholds reached and limits exceeded. "
        "With `after` (a notification id), those since that one come first."
    )
    async def budget_events(
        self,
        info: GqlInfo,
        budget_id: strawberry.ID | None = None,
        after: strawberry.ID | None = None,
    ) -> AsyncGenerator[Notification, None]:
        ctx = info.context.meterr
        data = None
        if budget_id is not None:
            await resolvers.get_budget(ctx, str(budget_id))  # 404 for an unknown budget
            data = {"budget_id": str(budget_id)}
        feed = resolvers.notification_feed(
            ctx,
            present=_live_notification,
            sink=current_operation(),
            types=domain.NotificationType.alerts(),
            data=data,
            after=None if after is None else str(after),
        )
        async for notification in feed:
            yield notification.root

    @strawberry.subscription(
        description="Notifications of the given types (all when none are given). With `after` "
        "(a notification id), those since that one come first."
    )
    async def notifications(
        self,
        info: GqlInfo,
        types: list[NotificationType] | None = None,
        after: strawberry.ID | None = None,
    ) -> AsyncGenerator[Notification, None]:
        feed = resolvers.notification_feed(
            info.context.meterr,
            present=_live_notification,
            sink=current_operation(),
            types=types or (),
            after=None if after is None else str(after),
        )
        async for notification in feed:
            yield notification.root

    @strawberry.subscription(
        description="usage.exceeded notifications, of one team's budgets or of all."
    )
    async def usage_exceeded(
        self,
        info: GqlInfo,
        team_id: str | None = None,
        after: strawberry.ID | None = None,
    ) -> AsyncGenerator[Notification, None]:
        feed = resolvers.notification_feed(
            info.context.meterr,
            present=_live_notification,
            sink=current_operation(),
            types=(domain.NotificationType.USAGE_EXCEEDED,),
            data=None if team_id is None else {"team_id": team_id},
            after=None if after is None else str(after),
        )
        async for notification in feed:
            yield notification.root
