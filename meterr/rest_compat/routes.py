"""The /v1 routes: parse the request, call the resolvers, shape the documented JSON."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from meterr.domain import UsageFilter
from meterr.errors import InvalidInput, MeterrError
from meterr.resolvers import (
    MAX_PAGE,
    PriceOverrideInput,
    RepriceInput,
    RequestContext,
    TimeRange,
    accept_invitation,
    call_scope,
    check_budgets,
    connect_provider,
    cost_groups,
    create_budget,
    create_team,
    create_webhook,
    delete_budget,
    delete_team,
    delete_webhook,
    disconnect_provider,
    get_budget,
    get_connection,
    get_event,
    get_team,
    invite_member,
    list_budgets,
    list_deliveries,
    list_events,
    list_notifications,
    list_prices,
    list_providers,
    list_teams,
    list_webhooks,
    parse_group_by,
    parse_time_range,
    parse_usage_filter,
    reconcile,
    remove_member,
    reprice,
    resend_delivery,
    reserve,
    set_price_override,
    summed_usage,
    sync_connection,
    track_events,
    update_budget,
    update_team,
    usage_totals,
    validate_model,
)
from meterr.rest_compat.endpoint import read_json, v1_endpoint
from meterr.rest_compat.errors import error_response
from meterr.rest_compat.openapi import openapi_document
from meterr.rest_compat.shapes import (
    budget_check_json,
    budget_json,
    connection_json,
    cost_groups_json,
    delivery_json,
    event_json,
    instant,
    invitation_json,
    joined_json,
    notification_json,
    price_json,
    provider_json,
    reconciliation_json,
    reprice_json,
    reservation_json,
    team_json,
    totals_json,
    tracked_json,
    webhook_json,
)

__all__ = ["v1_routes"]


def _query(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    return value if value not in (None, "") else None


def _int_query(request: Request, name: str, default: int) -> int:
    raw = _query(request, name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidInput(
            f"{name} must be an integer.", {"fields": {name: "not an integer"}}
        ) from None


def _optional_int_query(request: Request, name: str) -> int | None:
    return None if _query(request, name) is None else _int_query(request, name, 0)


def _decimal_query(request: Request, name: str) -> Decimal | None:
    raw = _query(request, name)
    if raw is None:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise InvalidInput(
            f"{name} must be a number.", {"fields": {name: "not a number"}}
        ) from None
    if not value.is_finite():
        raise InvalidInput(f"{name} must be a number.", {"fields": {name: "not a number"}})
    return value


def _range_and_filter(request: Request) -> tuple[TimeRange, UsageFilter]:
    time_range = parse_time_range(
        _query(request, "start_date"), _query(request, "end_date"), _query(request, "tz")
    )
    usage_filter = parse_usage_filter(
        provider=_query(request, "provider"),
        model=_query(request, "model"),
        team_id=_query(request, "team_id"),
        user_id=_query(request, "user_id"),
    )
    return time_range, usage_filter


@v1_endpoint
async def track(request: Request, ctx: RequestContext) -> Response:
    body = await read_json(request, ctx.services.settings.max_body_bytes)
    batch = isinstance(body, Mapping) and "events" in body
    if batch:
        extra = set(body) - {"events"}
        if extra:
            raise InvalidInput(
                f"Unknown batch fields: {', '.join(sorted(extra))}.",
                {"fields": dict.fromkeys(sorted(extra), "unknown field")},
            )
        if not isinstance(body["events"], list):
            raise InvalidInput("events must be a list.", {"fields": {"events": "must be a list"}})
        raw_events = body["events"]
    else:
        raw_events = [body]
    tracking = await track_events(
        ctx, raw_events, batch=batch, idempotency_key=request.headers.get("idempotency-key")
    )
    tracked = tracking.events
    fresh = any(not item.replayed for item in tracked)
    status = 201 if fresh else 200
    budgets = {"over_budget": bool(tracking.over_budget), "over_budget_ids": tracking.over_budget}
    if not batch:
        return JSONResponse({**tracked_json(tracked[0]), **budgets}, status_code=status)
    return JSONResponse(
        {
            "events": [tracked_json(item) for item in tracked],
            "count": len(tracked),
            "replayed": sum(item.replayed for item in tracked),
            **budgets,
        },
        status_code=status,
    )


@v1_endpoint
async def costs(request: Request, ctx: RequestContext) -> Response:
    time_range, usage_filter = _range_and_filter(request)
    groups = await cost_groups(
        ctx, time_range, parse_group_by(_query(request, "group_by")), usage_filter
    )
    return JSONResponse(cost_groups_json(groups))


@v1_endpoint
async def usage(request: Request, ctx: RequestContext) -> Response:
    time_range, usage_filter = _range_and_filter(request)
    summary = await summed_usage(ctx, time_range, usage_filter)
    return JSONResponse(
        {
            "start": instant(time_range.start),
            "end": instant(time_range.end),
            **totals_json(summary.totals),
            "providers": {group.key: totals_json(group.totals) for group in summary.by_provider},
        }
    )


@v1_endpoint
async def usage_history(request: Request, ctx: RequestContext) -> Response:
    time_range, usage_filter = _range_and_filter(request)
    interval = _query(request, "interval") or "day"
    series = await usage_totals(ctx, time_range, usage_filter, interval)
    page = await list_events(
        ctx,
        time_range,
        usage_filter,
        limit=_int_query(request, "limit", 100),
        cursor=_query(request, "cursor"),
    )
    return JSONResponse(
        {
            "start": instant(time_range.start),
            "end": instant(time_range.end),
            "interval": interval,
            "series": [
                {"start": instant(start), **totals_json(totals)} for start, totals in series
            ],
            "events": [event_json(event) for event in page.events],
            "next_cursor": page.next_cursor,
        }
    )


@v1_endpoint
async def usage_event(request: Request, ctx: RequestContext) -> Response:
    return JSONResponse(event_json(await get_event(ctx, request.path_params["event_id"])))


@v1_endpoint
async def prices(request: Request, ctx: RequestContext) -> Response:
    found = await list_prices(ctx, provider=_query(request, "provider"))
    return JSONResponse({"prices": [price_json(price) for price in found]})


@v1_endpoint
async def price_overrides(request: Request, ctx: RequestContext) -> Response:
    body = validate_model(PriceOverrideInput, await read_json(request, 65_536))
    return JSONResponse(price_json(await set_price_override(ctx, body)), status_code=201)


@v1_endpoint
async def reprice_events(request: Request, ctx: RequestContext) -> Response:
    body = validate_model(RepriceInput, await read_json(request, 65_536))
    return JSONResponse(reprice_json(await reprice(ctx, body)))


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
        team_id=_query(request, "team_id"),
        user_id=_query(request, "user_id"),
        provider=_query(request, "provider"),
        model=_query(request, "model"),
        api_key_id=_query(request, "api_key_id"),
    )
    check = await check_budgets(
        ctx,
        scope,
        estimated_cost=_decimal_query(request, "estimated_cost"),
        estimated_tokens=_optional_int_query(request, "estimated_tokens"),
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
    types = [t.strip() for t in (_query(request, "type") or "").split(",") if t.strip()]
    page = await list_notifications(
        ctx, types=types, limit=_int_query(request, "limit", 100), cursor=_query(request, "cursor")
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
    limit = _int_query(request, "limit", 50)
    deliveries = await list_deliveries(
        ctx, request.path_params["webhook_id"], limit=limit, before=_query(request, "before")
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


@v1_endpoint
async def teams_create(request: Request, ctx: RequestContext) -> Response:
    view = await create_team(ctx, await read_json(request, 65_536))
    return JSONResponse(team_json(view), status_code=201)


@v1_endpoint
async def teams_list(request: Request, ctx: RequestContext) -> Response:
    views, next_cursor = await list_teams(
        ctx, limit=_int_query(request, "limit", 100), cursor=_query(request, "cursor")
    )
    return JSONResponse({"teams": [team_json(view) for view in views], "next_cursor": next_cursor})


@v1_endpoint
async def team_detail(request: Request, ctx: RequestContext) -> Response:
    team_id = request.path_params["team_id"]
    if request.method == "DELETE":
        await delete_team(ctx, team_id)
        return Response(status_code=204)
    if request.method == "PATCH":
        view = await update_team(ctx, team_id, await read_json(request, 65_536))
    else:
        view = await get_team(ctx, team_id)
    return JSONResponse(team_json(view))


@v1_endpoint
async def team_invite(request: Request, ctx: RequestContext) -> Response:
    new = await invite_member(ctx, request.path_params["team_id"], await read_json(request, 65_536))
    return JSONResponse(invitation_json(new), status_code=201)


@v1_endpoint
async def team_member_remove(request: Request, ctx: RequestContext) -> Response:
    await remove_member(ctx, request.path_params["team_id"], request.path_params["member_id"])
    return Response(status_code=204)


@v1_endpoint
async def providers(_request: Request, ctx: RequestContext) -> Response:
    infos = await list_providers(ctx)
    return JSONResponse({"providers": [provider_json(info) for info in infos]})


@v1_endpoint
async def provider_connect(request: Request, ctx: RequestContext) -> Response:
    connection = await connect_provider(ctx, await read_json(request, 65_536))
    return JSONResponse(connection_json(connection), status_code=201)


@v1_endpoint
async def provider_connection(request: Request, ctx: RequestContext) -> Response:
    connection_id = request.path_params["connection_id"]
    if request.method == "DELETE":
        await disconnect_provider(ctx, connection_id)
        return Response(status_code=204)
    return JSONResponse(connection_json(await get_connection(ctx, connection_id)))


@v1_endpoint
async def provider_sync(request: Request, ctx: RequestContext) -> Response:
    report = await sync_connection(
        ctx, request.path_params["connection_id"], await read_json(request, 65_536)
    )
    return JSONResponse(
        {
            "connection": connection_json(report.connection),
            "start": instant(report.start),
            "end": instant(report.end),
            "rows": report.rows,
            "imported": report.imported,
            "already_imported": report.already_imported,
            "open_buckets": report.open_buckets,
        }
    )


@v1_endpoint
async def provider_reconciliation(request: Request, ctx: RequestContext) -> Response:
    time_range = parse_time_range(_query(request, "start_date"), _query(request, "end_date"), None)
    tolerance = _decimal_query(request, "tolerance")
    report = await reconcile(
        ctx,
        request.path_params["connection_id"],
        time_range,
        Decimal(5) if tolerance is None else tolerance,
    )
    return JSONResponse(reconciliation_json(report))


async def invitation_accept(request: Request) -> Response:
    """The invitee has no key yet: the invitation's token is the credential."""
    try:
        joined = await accept_invitation(request.app.state.services, request.path_params["token"])
    except MeterrError as exc:
        return error_response(exc)
    return JSONResponse(joined_json(joined), status_code=201)


async def openapi(_request: Request) -> Response:
    return JSONResponse(openapi_document(max_page=MAX_PAGE))


def v1_routes() -> list[Route]:
    return [
        Route("/track", track, methods=["POST"]),
        Route("/usage", track, methods=["POST"], name="usage_track"),
        Route("/usage", usage, methods=["GET"]),
        Route("/usage/history", usage_history, methods=["GET"]),
        Route("/usage/events/{event_id}", usage_event, methods=["GET"]),
        Route("/costs", costs, methods=["GET"]),
        Route("/prices", prices, methods=["GET"]),
        Route("/prices/overrides", price_overrides, methods=["POST"]),
        Route("/prices/reprice", reprice_events, methods=["POST"]),
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
        Route("/teams", teams_create, methods=["POST"]),
        Route("/teams", teams_list, methods=["GET"], name="teams_list"),
        Route("/teams/{team_id}", team_detail, methods=["GET", "PATCH", "DELETE"]),
        Route("/teams/{team_id}/invite", team_invite, methods=["POST"]),
        Route("/teams/{team_id}/members/{member_id}", team_member_remove, methods=["DELETE"]),
        Route("/invitations/{token}/accept", invitation_accept, methods=["POST"]),
        Route("/providers", providers, methods=["GET"]),
        Route("/providers/connect", provider_connect, methods=["POST"]),
        Route("/providers/{connection_id}", provider_connection, methods=["GET", "DELETE"]),
        Route("/providers/{connection_id}/sync", provider_sync, methods=["POST"]),
        Route(
            "/providers/{connection_id}/reconciliation",
            provider_reconciliation,
            methods=["GET"],
        ),
        Route("/openapi.json", openapi, methods=["GET"]),
    ]
