"""The /v1 routes: parse the request, call the resolvers, shape the documented JSON."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from meterr.domain import UsageFilter
from meterr.errors import InvalidInput
from meterr.resolvers import (
    MAX_PAGE,
    PriceOverrideInput,
    RepriceInput,
    RequestContext,
    TimeRange,
    cost_forecast,
    cost_groups,
    forecast_backtest,
    get_event,
    import_litellm_prices,
    learned_metadata_keys,
    list_events,
    list_prices,
    parse_day,
    parse_group_by,
    parse_time_range,
    parse_usage_filter,
    parse_zone,
    reprice,
    set_price_override,
    summed_usage,
    track_events,
    usage_totals,
    validate_model,
)
from meterr.rest_compat.alert_routes import alert_routes
from meterr.rest_compat.endpoint import read_json, v1_endpoint
from meterr.rest_compat.openapi import openapi_document
from meterr.rest_compat.org_routes import organization_routes
from meterr.rest_compat.otlp import otlp_traces
from meterr.rest_compat.params import bool_param, int_param, query_param
from meterr.rest_compat.shapes import (
    backtest_json,
    cost_groups_json,
    event_json,
    forecast_json,
    metadata_keys_json,
    price_import_json,
    price_json,
    reprice_json,
    totals_json,
    tracked_json,
)
from meterr.wire import instant

__all__ = ["v1_routes"]

PRICE_FILE_BYTES = 16 * 1024 * 1024  # LiteLLM's own file is a few MB


def _range_and_filter(request: Request, ctx: RequestContext) -> tuple[TimeRange, UsageFilter]:
    time_range = parse_time_range(
        query_param(request, "start_date"),
        query_param(request, "end_date"),
        query_param(request, "tz"),
        now=ctx.now(),
    )
    usage_filter = parse_usage_filter(
        provider=query_param(request, "provider"),
        model=query_param(request, "model"),
        team_id=query_param(request, "team_id"),
        user_id=query_param(request, "user_id"),
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
    time_range, usage_filter = _range_and_filter(request, ctx)
    groups = await cost_groups(
        ctx, time_range, parse_group_by(query_param(request, "group_by")), usage_filter
    )
    return JSONResponse(cost_groups_json(groups))


@v1_endpoint
async def metadata_keys(_request: Request, ctx: RequestContext) -> Response:
    return JSONResponse(metadata_keys_json(await learned_metadata_keys(ctx)))


@v1_endpoint
async def costs_forecast(request: Request, ctx: RequestContext) -> Response:
    grouping = query_param(request, "group_by")
    start = query_param(request, "start_date")
    forecast = await cost_forecast(
        ctx,
        horizon=int_param(request, "horizon", 30),
        group_by=parse_group_by(grouping) if grouping else None,
        history_start=parse_day(start, "start_date") if start else None,
        zone=parse_zone(query_param(request, "tz")),
        usage_filter=parse_usage_filter(
            provider=query_param(request, "provider"),
            model=query_param(request, "model"),
            team_id=query_param(request, "team_id"),
            user_id=query_param(request, "user_id"),
        ),
    )
    return JSONResponse(forecast_json(forecast))


@v1_endpoint
async def costs_backtest(request: Request, ctx: RequestContext) -> Response:
    report = await forecast_backtest(ctx, days=int_param(request, "days", 30))
    return JSONResponse(backtest_json(report))


@v1_endpoint
async def usage(request: Request, ctx: RequestContext) -> Response:
    time_range, usage_filter = _range_and_filter(request, ctx)
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
    time_range, usage_filter = _range_and_filter(request, ctx)
    interval = query_param(request, "interval") or "day"
    series = await usage_totals(ctx, time_range, usage_filter, interval)
    page = await list_events(
        ctx,
        time_range,
        usage_filter,
        limit=int_param(request, "limit", 100),
        cursor=query_param(request, "cursor"),
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
    found = await list_prices(ctx, provider=query_param(request, "provider"))
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
async def price_import(request: Request, ctx: RequestContext) -> Response:
    """A LiteLLM model_prices JSON document, each text model an override; `dry_run=true`
    says what would be imported."""
    dry_run = bool_param(request, "dry_run")
    document = await read_json(request, PRICE_FILE_BYTES)
    report = await import_litellm_prices(ctx, document, dry_run=dry_run)
    return JSONResponse(price_import_json(report, dry_run=dry_run))


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
        Route("/metadata/keys", metadata_keys, methods=["GET"]),
        Route("/costs/forecast", costs_forecast, methods=["GET"]),
        Route("/costs/forecast/backtest", costs_backtest, methods=["GET"]),
        Route("/prices", prices, methods=["GET"]),
        Route("/prices/overrides", price_overrides, methods=["POST"]),
        Route("/prices/reprice", reprice_events, methods=["POST"]),
        Route("/prices/import", price_import, methods=["POST"]),
        *alert_routes(),
        *organization_routes(),
        Route("/otlp/v1/traces", otlp_traces, methods=["POST"]),
        Route("/openapi.json", openapi, methods=["GET"]),
    ]
