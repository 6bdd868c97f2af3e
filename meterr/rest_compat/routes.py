"""The /v1 operations of usage, costs and prices: call the resolvers, shape the documented
JSON; the table at the end declares each route once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from meterr.errors import InvalidInput
from meterr.resolvers import (
    BacktestQuery,
    CostQuery,
    ForecastQuery,
    HistoryQuery,
    PriceImportQuery,
    PriceOverrideInput,
    PricesQuery,
    RepriceInput,
    SeriesQuery,
    TrackBatchInput,
    TrackEventInput,
    UsageQuery,
    cost_forecast,
    cost_groups,
    cost_series,
    forecast_backtest,
    get_event,
    import_litellm_prices,
    learned_metadata_keys,
    list_events,
    list_prices,
    reprice,
    set_price_override,
    summed_usage,
    track_events,
    usage_totals,
)
from meterr.rest_compat import answers
from meterr.rest_compat.alert_routes import ALERT_OPERATIONS
from meterr.rest_compat.contract import Call, Operation, openapi_document, routes_of
from meterr.rest_compat.org_routes import ORGANIZATION_OPERATIONS
from meterr.rest_compat.otlp import otlp_traces
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
from meterr.wire import exact_usd, instant, usd

__all__ = ["v1_routes"]

PRICE_FILE_BYTES = 16 * 1024 * 1024  # LiteLLM's own file is a few MB


async def track(call: Call) -> Response:
    body = await call.json(call.ctx.services.settings.max_body_bytes)
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
        call.ctx,
        raw_events,
        batch=batch,
        idempotency_key=call.request.headers.get("idempotency-key"),
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


async def costs(call: Call) -> Response:
    query: CostQuery = call.query
    groups = await cost_groups(
        call.ctx, query.time_range(now=call.ctx.now()), query.grouping(), query.usage_filter()
    )
    return JSONResponse(cost_groups_json(groups))


async def costs_series(call: Call) -> Response:
    query: SeriesQuery = call.query
    time_range = query.time_range(now=call.ctx.now())
    grouping = query.grouping()
    series = await cost_series(
        call.ctx,
        time_range,
        query.usage_filter(),
        grouping,
        query.interval,
        first=query.first,
        order_by=query.order_by,
    )
    return JSONResponse(
        {
            "start": instant(time_range.start),
            "end": instant(time_range.end),
            "interval": series.interval.value,
            "group_by": grouping.label,
            "keys": series.keys,
            "points": [
                {
                    "start": instant(start),
                    "groups": {
                        key: {
                            "total": usd(totals[key].cost),
                            "total_exact": exact_usd(totals[key].cost),
                            "tokens": totals[key].tokens,
                            "requests": totals[key].requests,
                        }
                        for key in series.keys
                    },
                }
                for start, totals in series.points
            ],
        }
    )


async def metadata_keys(call: Call) -> Response:
    return JSONResponse(metadata_keys_json(await learned_metadata_keys(call.ctx)))


async def costs_forecast(call: Call) -> Response:
    query: ForecastQuery = call.query
    forecast = await cost_forecast(
        call.ctx,
        horizon=query.horizon,
        group_by=query.grouping(),
        history_start=query.history_start(),
        zone=query.zone(),
        usage_filter=query.usage_filter(),
    )
    return JSONResponse(forecast_json(forecast))


async def costs_backtest(call: Call) -> Response:
    query: BacktestQuery = call.query
    return JSONResponse(backtest_json(await forecast_backtest(call.ctx, days=query.days)))


async def usage(call: Call) -> Response:
    query: UsageQuery = call.query
    time_range = query.time_range(now=call.ctx.now())
    summary = await summed_usage(call.ctx, time_range, query.usage_filter())
    return JSONResponse(
        {
            "start": instant(time_range.start),
            "end": instant(time_range.end),
            **totals_json(summary.totals),
            "providers": {group.key: totals_json(group.totals) for group in summary.by_provider},
        }
    )


async def usage_history(call: Call) -> Response:
    query: HistoryQuery = call.query
    time_range = query.time_range(now=call.ctx.now())
    usage_filter = query.usage_filter()
    series = await usage_totals(call.ctx, time_range, usage_filter, query.interval)
    page = await list_events(
        call.ctx, time_range, usage_filter, limit=query.limit, cursor=query.cursor
    )
    return JSONResponse(
        {
            "start": instant(time_range.start),
            "end": instant(time_range.end),
            "interval": query.interval.value,
            "series": [
                {"start": instant(start), **totals_json(totals)} for start, totals in series
            ],
            "events": [event_json(event) for event in page.events],
            "next_cursor": page.next_cursor,
        }
    )


async def usage_event(call: Call) -> Response:
    return JSONResponse(event_json(await get_event(call.ctx, call.path("event_id"))))


async def prices(call: Call) -> Response:
    query: PricesQuery = call.query
    found = await list_prices(call.ctx, provider=query.provider)
    return JSONResponse({"prices": [price_json(price) for price in found]})


async def price_overrides(call: Call) -> Response:
    body = await call.body(PriceOverrideInput)
    return JSONResponse(price_json(await set_price_override(call.ctx, body)), status_code=201)


async def reprice_events(call: Call) -> Response:
    body = await call.body(RepriceInput)
    return JSONResponse(reprice_json(await reprice(call.ctx, body)))


async def price_import(call: Call) -> Response:
    """A LiteLLM model_prices JSON document, each text model an override; `dry_run=true`
    says what would be imported."""
    query: PriceImportQuery = call.query
    document = await call.json(PRICE_FILE_BYTES)
    report = await import_litellm_prices(call.ctx, document, dry_run=query.dry_run)
    return JSONResponse(price_import_json(report, dry_run=query.dry_run))


def _tracking(path: str, summary: str) -> Operation:
    stored = answers.TrackedAnswer | answers.TrackBatchAnswer
    return Operation(
        method="POST",
        path=path,
        summary=summary,
        tag="Usage",
        handler=track,
        body=TrackEventInput | TrackBatchInput,
        answers={201: stored, 200: stored},
        headers={"Idempotency-Key": "Serves as the event_id of a single event"},
        errors=(409,),
    )


USAGE_OPERATIONS = [
    _tracking("/track", "Record token usage: one event, or {events: [...]} stored all or none"),
    _tracking("/usage", "Same as POST /track"),
    Operation(
        method="GET",
        path="/usage",
        summary="Usage totals for a period with a per-provider breakdown",
        tag="Usage",
        handler=usage,
        query=UsageQuery,
        answers={200: answers.UsageAnswer},
    ),
    Operation(
        method="GET",
        path="/usage/history",
        summary="A time series over the period and the raw events, paginated",
        tag="Usage",
        handler=usage_history,
        query=HistoryQuery,
        answers={200: answers.HistoryAnswer},
    ),
    Operation(
        method="GET",
        path="/usage/events/{event_id}",
        summary="One stored event with its cost breakdown and the price applied",
        tag="Usage",
        handler=usage_event,
        answers={200: answers.EventAnswer},
    ),
    Operation(
        method="GET",
        path="/costs",
        summary="Costs grouped by provider, model, team, user, endpoint, key, day... or "
        "metadata.KEY",
        tag="Costs",
        handler=costs,
        query=CostQuery,
        answers={200: answers.CostsAnswer},
    ),
    Operation(
        method="GET",
        path="/costs/series",
        summary="Costs per hour, day, week or month and per group: the largest groups, the "
        "rest summed as (other)",
        tag="Costs",
        handler=costs_series,
        query=SeriesQuery,
        answers={200: answers.CostSeriesAnswer},
    ),
    Operation(
        method="GET",
        path="/metadata/keys",
        summary="The metadata keys seen, and which are rolled up for grouping",
        tag="Costs",
        handler=metadata_keys,
        answers={200: answers.MetadataKeysAnswer},
    ),
    Operation(
        method="GET",
        path="/costs/forecast",
        summary="Daily cost ahead with 80%/95% intervals, and the month's projected total",
        tag="Costs",
        handler=costs_forecast,
        query=ForecastQuery,
        answers={200: answers.ForecastAnswer},
    ),
    Operation(
        method="GET",
        path="/costs/forecast/backtest",
        summary="How well the forecast predicted the past days",
        tag="Costs",
        handler=costs_backtest,
        query=BacktestQuery,
        answers={200: answers.BacktestAnswer},
    ),
    Operation(
        method="GET",
        path="/prices",
        summary="The price catalogue in force now, overrides included",
        tag="Prices",
        handler=prices,
        query=PricesQuery,
        answers={200: answers.PricesAnswer},
    ),
    Operation(
        method="POST",
        path="/prices/overrides",
        summary="Set a negotiated price from a moment on",
        tag="Prices",
        handler=price_overrides,
        body=PriceOverrideInput,
        answers={201: answers.PriceAnswer},
    ),
    Operation(
        method="POST",
        path="/prices/reprice",
        summary="Price stored events again with the prices in force (dry run by default)",
        tag="Prices",
        handler=reprice_events,
        body=RepriceInput,
        answers={200: answers.RepriceAnswer},
    ),
    Operation(
        method="POST",
        path="/prices/import",
        summary="Import a LiteLLM model_prices document as overrides",
        tag="Prices",
        handler=price_import,
        query=PriceImportQuery,
        body=dict[str, Any],
        answers={200: answers.PriceImportAnswer},
    ),
    Operation(
        method="POST",
        path="/otlp/v1/traces",
        summary="OTLP/HTTP traces (JSON or protobuf): generative AI spans become usage events",
        tag="Usage",
        handler=otlp_traces,
        body=dict[str, Any],
        answers={200: answers.OtlpAnswer},
        errors=(409,),
    ),
]


def v1_routes() -> list[Route]:
    operations = [*USAGE_OPERATIONS, *ALERT_OPERATIONS, *ORGANIZATION_OPERATIONS]

    async def openapi(_request: Request) -> Response:
        return JSONResponse(document)

    description = Operation(
        method="GET",
        path="/openapi.json",
        summary="This description of the API (OpenAPI 3.1)",
        tag="Meta",
        open_handler=openapi,
        answers={200: dict[str, Any]},
    )
    operations.append(description)
    document = openapi_document(operations)
    return routes_of(operations)
