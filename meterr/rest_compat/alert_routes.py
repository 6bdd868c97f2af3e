"""The /v1 routes of budgets, reservations, events and webhooks."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from meterr.resolvers import (
    RequestContext,
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
from meterr.rest_compat.endpoint import read_json, v1_endpoint
from meterr.rest_compat.params import decimal_param, int_param, optional_int_param, query_param
from meterr.rest_compat.shapes import (
    budget_check_json,
    budget_json,
    delivery_json,
    notification_json,
    reservation_json,
    webhook_json,
)

__all__ = ["alert_routes"]


@v1_endpoint
async def budgets_create(request: Request, ctx: RequestContext) -> Response:
    status = await create_budget(ctx, await read_json(request, 65_536))
    return JSONResponse(budget_json(status), status_code=201)


@v1_endpoint
async def budgets_list(_request: Request, ctx: RequestContext) -> Response:
    return JSONResponse({"budgets": [budget_json(status) for status in await list_budgets(ctx)]})


@v1_endpoint
async def budget_check(request: Request, ctx: RequestContext) -> Response:
    scope = call_scope(
        ctx,
        team_id=query_param(request, "team_id"),
        user_id=query_param(request, "user_id"),
        provider=query_param(request, "provider"),
        model=query_param(request, "model"),
        api_key_id=query_param(request, "api_key_id"),
    )
    check = await check_budgets(
        ctx,
        scope,
        estimated_cost=decimal_param(request, "estimated_cost"),
        estimated_tokens=optional_int_param(request, "estimated_tokens"),
    )
    return JSONResponse(budget_check_json(check))


@v1_endpoint
async def budget_reserve(request: Request, ctx: RequestContext) -> Response:
    return JSONResponse(reservation_json(await reserve(ctx, await read_json(request, 65_536))))


@v1_endpoint
async def budget_detail(request: Request, ctx: RequestContext) -> Response:
    budget_id = request.path_params["budget_id"]
    if request.method == "DELETE":
        await delete_budget(ctx, budget_id)
        return Response(status_code=204)
    if request.method == "PATCH":
        status = await update_budget(ctx, budget_id, await read_json(request, 65_536))
    else:
        status = await get_budget(ctx, budget_id)
    return JSONResponse(budget_json(status))


@v1_endpoint
async def notifications(request: Request, ctx: RequestContext) -> Response:
    types = [t.strip() for t in (query_param(request, "type") or "").split(",") if t.strip()]
    page = await list_notifications(
        ctx,
        types=types,
        limit=int_param(request, "limit", 100),
        cursor=query_param(request, "cursor"),
    )
    return JSONResponse(
        {
            "events": [notification_json(item) for item in page.notifications],
            "next_cursor": page.next_cursor,
        }
    )


@v1_endpoint
async def webhooks_create(request: Request, ctx: RequestContext) -> Response:
    created = await create_webhook(ctx, await read_json(request, 65_536))
    return JSONResponse(webhook_json(created.endpoint, secret=created.secret), status_code=201)


@v1_endpoint
async def webhooks_list(_request: Request, ctx: RequestContext) -> Response:
    endpoints = await list_webhooks(ctx)
    return JSONResponse({"webhooks": [webhook_json(endpoint) for endpoint in endpoints]})


@v1_endpoint
async def webhook_delete(request: Request, ctx: RequestContext) -> Response:
    await delete_webhook(ctx, request.path_params["webhook_id"])
    return Response(status_code=204)


@v1_endpoint
async def webhook_deliveries(request: Request, ctx: RequestContext) -> Response:
    limit = int_param(request, "limit", 50)
    deliveries = await list_deliveries(
        ctx, request.path_params["webhook_id"], limit=limit, before=query_param(request, "before")
    )
    return JSONResponse(
        {
            "deliveries": [delivery_json(delivery) for delivery in deliveries],
            "next_before": deliveries[-1].id if len(deliveries) == limit else None,
        }
    )


@v1_endpoint
async def webhook_resend(request: Request, ctx: RequestContext) -> Response:
    delivery = await resend_delivery(
        ctx, request.path_params["webhook_id"], request.path_params["delivery_id"]
    )
    return JSONResponse(delivery_json(delivery), status_code=202)


def alert_routes() -> list[Route]:
    return [
        Route("/budgets", budgets_create, methods=["POST"]),
        Route("/budgets", budgets_list, methods=["GET"], name="budgets_list"),
        Route("/budgets/check", budget_check, methods=["GET"]),
        Route("/budgets/reserve", budget_reserve, methods=["POST"]),
        Route("/budgets/{budget_id}", budget_detail, methods=["GET", "PATCH", "DELETE"]),
        Route("/events", notifications, methods=["GET"]),
        Route("/webhooks", webhooks_create, methods=["POST"]),
        Route("/webhooks", webhooks_list, methods=["GET"], name="webhooks_list"),
        Route("/webhooks/{webhook_id}", webhook_delete, methods=["DELETE"]),
        Route("/webhooks/{webhook_id}/deliveries", webhook_deliveries, methods=["GET"]),
        Route(
            "/webhooks/{webhook_id}/deliveries/{delivery_id}/resend",
            webhook_resend,
            methods=["POST"],
        ),
    ]
