"""create_app(settings): the Starlette application and its lifespan."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute

from meterr.app.origins import cross_origin_access
from meterr.app.request_metrics import MetricsMiddleware
from meterr.clock import Clock, SystemClock
from meterr.config import Settings
from meterr.errors import MeterrError
from meterr.events import EventBus, RetryPolicy, WebhookDispatcher
from meterr.logs import RequestIdMiddleware
from meterr.metrics import CONTENT_TYPE_LATEST, Metrics
from meterr.pricing import load_catalogue
from meterr.resolvers import (
    Services,
    close_revoked_sockets,
    ensure_rollup_layout,
    sync_due_connections,
)
from meterr.rest_compat import (
    UnexpectedErrors,
    http_exception_handler,
    meterr_error_handler,
    store_unreachable_handler,
    unexpected_error_handler,
    v1_routes,
)
from meterr.schema import MeterrGraphQL, build_schema
from meterr.store import Store, StoreUnreachable, open_store

__all__ = ["create_app"]


async def healthz(request: Request) -> Response:
    """Alive: the process answers, and its store is up or coming back. A store that could
    not be started again fails it, so that a supervisor restarts the service."""
    services: Services = request.app.state.services
    if services.store.failed:
        reason = services.store.unavailable_reason()
        return JSONResponse({"status": "failing", "store": reason}, status_code=503)
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Ready: the store answers now."""
    services: Services = request.app.state.services
    reason = services.store.unavailable_reason()
    if reason is None and await services.store.is_reachable():
        return JSONResponse({"status": "ready", "store": "reachable"})
    return JSONResponse(
        {"status": "unavailable", "store": reason or "unreachable"},
        status_code=503,
        headers={"Retry-After": "5"},
    )


def create_app(
    settings: Settings, *, store: Store | None = None, clock: Clock | None = None
) -> Starlette:
    """The service; pass `store` to share an already open store (tests, embedding) and
    `clock` to set what time it is (the machine's clock by default)."""
    clock = clock or SystemClock()

    @asynccontextmanager
    async def running(app: Starlette, opened: Store, bus: EventBus) -> AsyncIterator[None]:
        """The store's background work and the webhook dispatcher, for the app's lifetime."""
        services = Services(
            settings, opened, load_catalogue(settings.catalogue), bus, metrics=metrics, clock=clock
        )
        metrics.count_subscriptions(lambda: bus.feed_count, services.cost_feeds.running)
        metrics.count_retries(lambda: opened.unit_of_work.retried)
        dispatcher = WebhookDispatcher(
            opened.webhooks,
            RetryPolicy(
                base=settings.webhook_retry_base,
                longest=settings.webhook_retry_max,
                window=settings.webhook_retry_window,
            ),
            services.sealer,
            clock=clock,
            allow_private=settings.webhook_allow_private,
            allowed_ports=settings.webhook_allowed_ports,
            timeout=settings.webhook_timeout,
            concurrency=settings.webhook_concurrency,
            observe=lambda outcome: metrics.deliveries.labels(outcome).inc(),
        )
        services.dispatcher = dispatcher if settings.webhook_dispatch else None
        app.state.services = services
        await ensure_rollup_layout(opened)
        stop = asyncio.Event()
        background = [
            asyncio.create_task(sync_due_connections(services, stop)),
            asyncio.create_task(close_revoked_sockets(services, stop)),
        ]
        if settings.webhook_dispatch:
            background.append(asyncio.create_task(dispatcher.run(stop)))
        try:
            async with opened.compacting(settings.rollup_interval):
                yield
        finally:
            stop.set()
            # A delivery or an import in flight gets a few seconds to end, not its timeout.
            _, unfinished = await asyncio.wait(background, timeout=settings.shutdown_timeout / 2)
            for task in unfinished:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        bus = EventBus(settings.broadcast_url, feed_bound=settings.live_feed_bound)
        await bus.connect()
        try:
            if store is not None:
                async with running(app, store, bus):
                    yield
            else:
                async with open_store(settings) as opened, running(app, opened, bus):
                    yield
        finally:
            await bus.disconnect()

    # Browsers apply no CORS to websockets: the view itself refuses a socket opened by a page
    # on another origin unless that origin is listed (clients that send no Origin pass).
    graphql = MeterrGraphQL(build_schema(), allowed_origins=settings.cors_origins)
    metrics = Metrics()

    async def metrics_endpoint(_request: Request) -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics_endpoint, methods=["GET"]),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Mount("/v1", routes=v1_routes()),
        ],
        exception_handlers={
            MeterrError: meterr_error_handler,
            StoreUnreachable: store_unreachable_handler,
            HTTPException: http_exception_handler,
            Exception: unexpected_error_handler,
        },
        lifespan=lifespan,
        middleware=[
            Middleware(RequestIdMiddleware),
            *cross_origin_access(settings.cors_origins),
            Middleware(UnexpectedErrors),
            Middleware(MetricsMiddleware, metrics=metrics),
        ],
    )
