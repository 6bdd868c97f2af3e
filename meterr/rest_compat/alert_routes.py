"""The /v1 operations of budgets, reservations, notifications and webhooks."""

from __future__ import annotations

from starlette.responses import JSONResponse, Response

from meterr.resolvers import (
    BudgetCheckQuery,
    BudgetInput,
    DeliveriesQuery,
    KeyOperation,
    NotificationsQuery,
    ReservationInput,
    WebhookInput,
    call_scope,
    check_budgets,
    create_budget,
    create_webhook,
    delete_budget,
    delete_webhook,
    get_budget,
    list_budgets,
    list_deliveries,
    list_notifications,
    list_webhooks,
    resend_delivery,
    reserve,
    update_budget,
)
from meterr.rest_compat import answers
from meterr.rest_compat.contract import Call, Operation, Patch
from meterr.rest_compat.shapes import (
    budget_check_json,
    budget_json,
    delivery_json,
    notification_json,
    reservation_json,
    webhook_json,
)

__all__ = ["ALERT_OPERATIONS"]


async def budgets_create(call: Call) -> Response:
    status = await create_budget(call.ctx, await call.body(BudgetInput))
    return JSONResponse(budget_json(status), status_code=201)


async def budgets_list(call: Call) -> Response:
    statuses = await list_budgets(call.ctx)
    return JSONResponse({"budgets": [budget_json(status) for status in statuses]})


async def budget_check(call: Call) -> Response:
    query: BudgetCheckQuery = call.query
    scope = call_scope(
        call.ctx,
        team_id=query.team_id,
        user_id=query.user_id,
        provider=query.provider,
        model=query.model,
        api_key_id=query.api_key_id,
    )
    check = await check_budgets(
        call.ctx,
        scope,
        estimated_cost=query.estimated_cost,
        estimated_tokens=query.estimated_tokens,
    )
    return JSONResponse(budget_check_json(check))


async def budget_reserve(call: Call) -> Response:
    reservation = await reserve(call.ctx, await call.body(ReservationInput))
    return JSONResponse(reservation_json(reservation))


async def budget_get(call: Call) -> Response:
    return JSONResponse(budget_json(await get_budget(call.ctx, call.path("budget_id"))))


async def budget_update(call: Call) -> Response:
    status = await update_budget(call.ctx, call.path("budget_id"), await call.changes(BudgetInput))
    return JSONResponse(budget_json(status))


async def budget_delete(call: Call) -> Response:
    await delete_budget(call.ctx, call.path("budget_id"))
    return Response(status_code=204)


async def notifications(call: Call) -> Response:
    query: NotificationsQuery = call.query
    page = await list_notifications(
        call.ctx, types=query.types(), limit=query.limit, cursor=query.cursor
    )
    return JSONResponse(
        {
            "events": [notification_json(item) for item in page.notifications],
            "next_cursor": page.next_cursor,
        }
    )


async def webhooks_create(call: Call) -> Response:
    created = await create_webhook(call.ctx, await call.body(WebhookInput))
    return JSONResponse(webhook_json(created.endpoint, secret=created.secret), status_code=201)


async def webhooks_list(call: Call) -> Response:
    endpoints = await list_webhooks(call.ctx)
    return JSONResponse({"webhooks": [webhook_json(endpoint) for endpoint in endpoints]})


async def webhook_delete(call: Call) -> Response:
    await delete_webhook(call.ctx, call.path("webhook_id"))
    return Response(status_code=204)


async def webhook_deliveries(call: Call) -> Response:
    query: DeliveriesQuery = call.query
    page = await list_deliveries(
        call.ctx, call.path("webhook_id"), limit=query.limit, before=query.before
    )
    return JSONResponse(
        {
            "deliveries": [delivery_json(delivery) for delivery in page.deliveries],
            "next_before": page.deliveries[-1].id if page.more else None,
        }
    )


async def webhook_resend(call: Call) -> Response:
    delivery = await resend_delivery(call.ctx, call.path("webhook_id"), call.path("delivery_id"))
    return JSONResponse(delivery_json(delivery), status_code=202)


ALERT_OPERATIONS = [
    Operation(
        method="POST",
        path="/budgets",
        summary="Create a budget",
        tag="Budgets",
        handler=budgets_create,
        body=BudgetInput,
        answers={201: answers.BudgetAnswer},
        requires=KeyOperation.MANAGE,
    ),
    Operation(
        method="GET",
        path="/budgets",
        summary="Every budget with its spend in the current period",
        tag="Budgets",
        handler=budgets_list,
        answers={200: answers.BudgetsAnswer},
    ),
    Operation(
        method="GET",
        path="/budgets/check",
        summary="Whether a call may go ahead: no blocking budget over it is spent",
        tag="Budgets",
        handler=budget_check,
        query=BudgetCheckQuery,
        answers={200: answers.BudgetCheckAnswer},
    ),
    Operation(
        method="POST",
        path="/budgets/reserve",
        summary="Hold a call's estimate against every budget it falls under",
        tag="Budgets",
        handler=budget_reserve,
        body=ReservationInput,
        answers={200: answers.ReservationAnswer},
        requires=KeyOperation.INGEST,
    ),
    Operation(
        method="GET",
        path="/budgets/{budget_id}",
        summary="One budget",
        tag="Budgets",
        handler=budget_get,
        answers={200: answers.BudgetAnswer},
    ),
    Operation(
        method="PATCH",
        path="/budgets/{budget_id}",
        summary="Change a budget: the fields given are merged into it; a scope field given "
        "(null included) replaces the scope",
        tag="Budgets",
        handler=budget_update,
        body=Patch(BudgetInput),
        answers={200: answers.BudgetAnswer},
        requires=KeyOperation.MANAGE,
    ),
    Operation(
        method="DELETE",
        path="/budgets/{budget_id}",
        summary="Delete a budget",
        tag="Budgets",
        handler=budget_delete,
        answers={204: None},
    ),
    Operation(
        method="GET",
        path="/events",
        summary="Notifications (threshold reached, usage exceeded...), newest first",
        tag="Alerts",
        handler=notifications,
        query=NotificationsQuery,
        answers={200: answers.NotificationsAnswer},
    ),
    Operation(
        method="POST",
        path="/webhooks",
        summary="Add a webhook endpoint; the answer carries its signing secret, once",
        tag="Alerts",
        handler=webhooks_create,
        body=WebhookInput,
        answers={201: answers.WebhookAnswer},
        requires=KeyOperation.MANAGE,
    ),
    Operation(
        method="GET",
        path="/webhooks",
        summary="The organization's webhook endpoints (without secrets)",
        tag="Alerts",
        handler=webhooks_list,
        answers={200: answers.WebhooksAnswer},
    ),
    Operation(
        method="DELETE",
        path="/webhooks/{webhook_id}",
        summary="Remove a webhook endpoint",
        tag="Alerts",
        handler=webhook_delete,
        answers={204: None},
    ),
    Operation(
        method="GET",
        path="/webhooks/{webhook_id}/deliveries",
        summary="An endpoint's deliveries with each attempt, newest first",
        tag="Alerts",
        handler=webhook_deliveries,
        query=DeliveriesQuery,
        answers={200: answers.DeliveriesAnswer},
    ),
    Operation(
        method="POST",
        path="/webhooks/{webhook_id}/deliveries/{delivery_id}/resend",
        summary="Deliver a notification again",
        tag="Alerts",
        handler=webhook_resend,
        answers={202: answers.DeliveryAnswer},
    ),
]
