"""Webhook endpoints and their deliveries in GraphQL, each field a thin call into resolvers/."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.experimental.pydantic import input as derived_input
from strawberry.scalars import JSON
from strawberry.types import Info

from meterr import resolvers
from meterr.schema.connections import MAX_LIST_PAGE, Connection, PageArgs, connection, sliced
from meterr.schema.context import GraphQLContext
from meterr.schema.enums import DeliveryStatus, NotificationType
from meterr.schema.inputs import validated
from meterr.schema.node import Node

__all__ = ["WebhookMutations", "WebhookQueries"]

GqlInfo = Info[GraphQLContext, None]


@strawberry.type(description="Where notifications are POSTed, signed; no events: every type.")
class WebhookEndpoint(Node):
    id: strawberry.ID
    url: str
    events: list[str]
    description: str | None
    created_at: datetime

    @classmethod
    def from_domain(cls, endpoint: resolvers.WebhookEndpoint) -> WebhookEndpoint:
        return cls(
            id=strawberry.ID(endpoint.id),
            url=endpoint.url,
            events=list(endpoint.events),
            description=endpoint.description,
            created_at=endpoint.created_at,
        )


@strawberry.type(description="A new endpoint and its signing secret (shown only here).")
class CreatedWebhookEndpoint(WebhookEndpoint):
    secret: str


@strawberry.type(description="One try at delivering: its answer's status code, or the error.")
class WebhookDeliveryAttempt:
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


@strawberry.type(description="One notification owed to one endpoint, with every attempt.")
class WebhookDelivery:
    id: strawberry.ID
    webhook_id: strawberry.ID
    event_id: str
    event: NotificationType
    status: DeliveryStatus
    attempt_count: int
    next_attempt_at: datetime | None = strawberry.field(description="Only while pending.")
    created_at: datetime
    delivered_at: datetime | None
    attempts: list[WebhookDeliveryAttempt]
    payload: JSON

    @classmethod
    def from_domain(cls, delivery: resolvers.Delivery) -> WebhookDelivery:
        return cls(
            id=strawberry.ID(delivery.id),
            webhook_id=strawberry.ID(delivery.endpoint_id),
            event_id=delivery.notification_id,
            event=NotificationType(delivery.type),
            status=DeliveryStatus(delivery.status),
            attempt_count=delivery.attempt_count,
            next_attempt_at=delivery.next_attempt_at if delivery.status == "pending" else None,
            created_at=delivery.created_at,
            delivered_at=delivery.delivered_at,
            attempts=[
                WebhookDeliveryAttempt(
                    at=attempt.at,
                    status_code=attempt.status_code,
                    error=attempt.error,
                    duration_ms=attempt.duration_ms,
                )
                for attempt in delivery.attempts
            ],
            payload=JSON(delivery.payload),
        )


@derived_input(
    model=resolvers.WebhookInput,
    all_fields=True,
    name="WebhookInput",
    description="A webhook endpoint, as in POST /v1/webhooks.",
)
class WebhookInput:
    pass


@strawberry.type
class WebhookQueries:
    @strawberry.field(
        description="The organization's webhook endpoints, oldest first (admin keys only); "
        "100 unless `first` or `last` says otherwise."
    )
    async def webhooks(
        self,
        info: GqlInfo,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[WebhookEndpoint] | None:
        page = PageArgs(first, after, last, before)
        size = page.size(100, MAX_LIST_PAGE)
        endpoints = await resolvers.list_webhooks(info.context.meterr)
        return sliced(
            endpoints, page, size, lambda endpoint: endpoint.id, WebhookEndpoint.from_domain
        )

    @strawberry.field(
        description="An endpoint's deliveries, newest first, each with its attempts; 50 "
        "unless `first` says otherwise."
    )
    async def webhook_deliveries(
        self,
        info: GqlInfo,
        webhook_id: strawberry.ID,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[WebhookDelivery] | None:
        page = PageArgs(first, after, last, before)
        page.forward_only("Deliveries")
        size = page.size(50, resolvers.MAX_DELIVERIES_PAGE)
        found = await resolvers.list_deliveries(
            info.context.meterr, str(webhook_id), limit=size, before=after
        )
        return connection(
            found.deliveries,
            WebhookDelivery.from_domain,
            lambda delivery: delivery.id,
            has_next=found.more,
            has_previous=after is not None,
        )


@strawberry.type
class WebhookMutations:
    @strawberry.mutation(description="Add an endpoint; its signing secret is shown only here.")
    async def create_webhook(self, info: GqlInfo, input: WebhookInput) -> CreatedWebhookEndpoint:
        ctx = info.context.meterr
        data = validated(ctx, resolvers.WebhookInput, input, needs=resolvers.KeyOperation.MANAGE)
        created = await resolvers.create_webhook(ctx, data)
        endpoint = WebhookEndpoint.from_domain(created.endpoint)
        return CreatedWebhookEndpoint(**vars(endpoint), secret=created.secret)

    @strawberry.mutation(description="Remove an endpoint; what it was still owed is cancelled.")
    async def delete_webhook(self, info: GqlInfo, id: strawberry.ID) -> bool:
        await resolvers.delete_webhook(info.context.meterr, str(id))
        return True

    @strawberry.mutation(description="Queue a delivery again now, whatever its status.")
    async def resend_webhook_delivery(
        self, info: GqlInfo, webhook_id: strawberry.ID, delivery_id: strawberry.ID
    ) -> WebhookDelivery:
        resent = await resolvers.resend_delivery(
            info.context.meterr, str(webhook_id), str(delivery_id)
        )
        return WebhookDelivery.from_domain(resent)
