"""Webhook endpoints: where notifications are delivered, signed, with a durable outbox."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from meterr.auth import Operation
from meterr.errors import InvalidInput, NotFound
from meterr.events import DestinationRefused, check_destination, webhook_bound_to
from meterr.resolvers.context import RequestContext
from meterr.resolvers.inputs import fields_refused
from meterr.resolvers.notifications import EVENT_TYPES
from meterr.resolvers.timerange import stored_instant
from meterr.store import Delivery, WebhookEndpoint

__all__ = [
    "MAX_DELIVERIES_PAGE",
    "NewWebhook",
    "create_webhook",
    "delete_webhook",
    "MAX_DELIVERIES_PAGE",
    "DeliveriesPage",
    "list_deliveries",
    "get_webhook",
    "list_webhooks",
    "resend_delivery",
]

MAX_DELIVERIES_PAGE = 100


class WebhookInput(BaseModel):
    """A webhook endpoint: where to deliver, and which notification types (every one when
    none are named)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    url: Annotated[str, Field(min_length=1, max_length=2048)]
    events: list[str] | None = None
    description: Annotated[str, Field(max_length=500)] | None = None

    @model_validator(mode="after")
    def _known_event_types(self) -> Self:
        unknown = sorted(set(self.events or ()) - set(EVENT_TYPES))
        if unknown:
            raise fields_refused(
                self,
                f"Unknown event types: {', '.join(unknown)}.",
                {"events": f"known types: {', '.join(EVENT_TYPES)}"},
            )
        return self


@dataclass(frozen=True, slots=True)
class NewWebhook:
    """An endpoint just created, with its signing secret: shown this once."""

    endpoint: WebhookEndpoint
    secret: str


async def create_webhook(ctx: RequestContext, data: WebhookInput) -> NewWebhook:
    """Add an endpoint once its destination is found to be one Meterr may deliver to."""
    ctx.principal.require(Operation.MANAGE)
    settings = ctx.services.settings
    try:
        await check_destination(
            data.url,
            allow_private=settings.webhook_allow_private,
            allowed_ports=settings.webhook_allowed_ports,
        )
    except DestinationRefused as refused:
        raise InvalidInput(
            f"Webhook URL refused: {refused}.", {"fields": {"url": str(refused)}}
        ) from None
    endpoint_id = f"whk_{secrets.token_hex(12)}"
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    endpoint = WebhookEndpoint(
        id=endpoint_id,
        org_id=ctx.org_id,
        url=data.url,
        events=tuple(sorted(set(data.events or ()))),
        description=data.description,
        sealed_secret=ctx.services.sealer.seal(secret, webhook_bound_to(endpoint_id)),
        created_at=stored_instant(ctx.now()),
    )
    await ctx.store.webhooks.create_endpoint(endpoint)
    ctx.services.usage_webhooks.pop(ctx.org_id, None)
    return NewWebhook(endpoint, secret)


async def list_webhooks(ctx: RequestContext) -> list[WebhookEndpoint]:
    ctx.principal.require(Operation.MANAGE)
    return await ctx.store.webhooks.list_endpoints(ctx.org_id)


async def get_webhook(ctx: RequestContext, endpoint_id: str) -> WebhookEndpoint:
    ctx.principal.require(Operation.MANAGE)
    return await _endpoint(ctx, endpoint_id)


async def _endpoint(ctx: RequestContext, endpoint_id: str) -> WebhookEndpoint:
    endpoint = await ctx.store.webhooks.get_endpoint(ctx.org_id, endpoint_id)
    if endpoint is None:
        raise NotFound(f"No webhook {endpoint_id}.", {"id": endpoint_id})
    return endpoint


async def delete_webhook(ctx: RequestContext, endpoint_id: str) -> None:
    """Remove an endpoint; what it was still owed is cancelled."""
    ctx.principal.require(Operation.MANAGE)
    if not await ctx.store.webhooks.delete_endpoint(ctx.org_id, endpoint_id):
        raise NotFound(f"No webhook {endpoint_id}.", {"id": endpoint_id})
    ctx.services.usage_webhooks.pop(ctx.org_id, None)


@dataclass(frozen=True, slots=True)
class DeliveriesPage:
    deliveries: list[Delivery]  # newest first
    more: bool  # older ones follow


async def list_deliveries(
    ctx: RequestContext, endpoint_id: str, *, limit: int = 50, before: str | None = None
) -> DeliveriesPage:
    """An endpoint's deliveries, newest first, each with its attempts: `limit` of them from
    the one after `before`."""
    ctx.principal.require(Operation.MANAGE)
    if not 1 <= limit <= MAX_DELIVERIES_PAGE:
        raise InvalidInput(
            f"limit must be between 1 and {MAX_DELIVERIES_PAGE}.",
            {"fields": {"limit": f"1 to {MAX_DELIVERIES_PAGE}"}},
        )
    await _endpoint(ctx, endpoint_id)
    last = None
    if before is not None:
        last = await ctx.store.webhooks.get_delivery(ctx.org_id, before)
        if last is None or last.endpoint_id != endpoint_id:
            raise InvalidInput("before names no delivery.", {"fields": {"before": "unknown"}})
    # Another instance's clock may run a little ahead of this one's.
    until = ctx.now() + timedelta(days=1)
    found = await ctx.store.webhooks.list_deliveries(
        ctx.org_id, endpoint_id, limit=limit + 1, until=until, after=last
    )
    return DeliveriesPage(found[:limit], more=len(found) > limit)


async def resend_delivery(ctx: RequestContext, endpoint_id: str, delivery_id: str) -> Delivery:
    """Queue a delivery again now, delivered, failed or pending alike."""
    ctx.principal.require(Operation.MANAGE)
    await _endpoint(ctx, endpoint_id)
    delivery = await ctx.store.webhooks.get_delivery(ctx.org_id, delivery_id)
    if delivery is None or delivery.endpoint_id != endpoint_id:
        raise NotFound(f"No delivery {delivery_id} for webhook {endpoint_id}.", {"id": delivery_id})
    resent = await ctx.store.webhooks.resend(ctx.org_id, delivery_id, ctx.now())
    if resent is None:
        raise NotFound(f"No delivery {delivery_id}.", {"id": delivery_id})
    ctx.services.wake_dispatcher()
    return resent
