"""Every HTTP request counted and timed in the instance's metrics, by the template of the
route that answered."""

from __future__ import annotations

import time
from typing import Any

from starlette.routing import Mount

from meterr.metrics import Metrics

__all__ = ["MetricsMiddleware"]

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _route(scope: dict[str, Any]) -> str:
    """The template of the route that answered (`/v1/budgets/{budget_id}`), so that neither
    ids nor made-up paths multiply the series: every path no route matched is `unmatched`."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    if route is None or isinstance(route, Mount) or not isinstance(template, str):
        return "unmatched"
    mounted = str(scope.get("root_path", ""))[len(str(scope.get("app_root_path", ""))) :]
    return f"{mounted}{template}"


def _method(scope: dict[str, Any]) -> str:
    method = str(scope.get("method", ""))
    return method if method in _METHODS else "other"


class MetricsMiddleware:
    """Counts and times every HTTP request (ASGI middleware)."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = _route(scope)
            self.metrics.requests.labels(route, _method(scope), str(status)).inc()
            self.metrics.request_seconds.labels(route).observe(time.perf_counter() - started)
