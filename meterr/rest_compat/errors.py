"""The error envelope: every /v1 failure is `{"error": {"code", "message", "details"}}`."""

from __future__ import annotations

import logging
import secrets

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from meterr.errors import MeterrError, MethodNotAllowed, NotFound, RateLimited, StoreUnavailable
from meterr.logs import current_request_id
from meterr.resolvers import store_failure

__all__ = [
    "UnexpectedErrors",
    "error_response",
    "store_unreachable_handler",
    "http_exception_handler",
    "meterr_error_handler",
    "unexpected_error_handler",
]

logger = logging.getLogger("meterr.rest")


def error_response(exc: MeterrError) -> JSONResponse:
    response = JSONResponse(
        {"error": {"code": exc.code, "message": exc.message, "details": exc.details}},
        status_code=exc.status,
    )
    if isinstance(exc, RateLimited | StoreUnavailable):
        response.headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, RateLimited):
        response.headers["X-RateLimit-Limit"] = str(exc.details.get("limit", ""))
        response.headers["X-RateLimit-Remaining"] = "0"
        response.headers["X-RateLimit-Reset"] = str(exc.details.get("reset", ""))
    return response


async def meterr_error_handler(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, MeterrError)
    return error_response(exc)


async def store_unreachable_handler(_request: Request, exc: Exception) -> Response:
    """A store lost in the middle of a request: 503 with Retry-After, as when it is known
    to be down before the request starts."""
    answer = store_failure(exc)
    assert answer is not None, "registered for the store's unreachable errors only"
    return error_response(answer)


async def http_exception_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return error_response(NotFound(f"No route {request.method} {request.url.path}."))
    if exc.status_code == 405:
        return error_response(
            MethodNotAllowed(f"Method {request.method} is not allowed on {request.url.path}.")
        )
    error = MeterrError(str(exc.detail))
    error.status = exc.status_code  # type: ignore[misc]
    return error_response(error)


async def unexpected_error_handler(request: Request, exc: Exception) -> Response:
    request_id = (
        request.scope.get("meterr.request_id") or current_request_id() or secrets.token_hex(8)
    )
    logger.error(
        "unhandled error on %s %s",
        request.method,
        request.url.path,
        exc_info=exc,
        extra={"request_id": request_id},
    )
    return JSONResponse(
        {
            "error": {
                "code": "internal_error",
                "message": "An unexpected error occurred.",
                "details": {"request_id": request_id},
            }
        },
        status_code=500,
        headers={"X-Request-Id": request_id},
    )


class UnexpectedErrors:
    """Answers an unexpected error with the 500 envelope inside the middleware stack (ASGI
    middleware), rather than in Starlette's outermost one, which answers and then re-raises:
    the answer goes through the CORS middleware like any other, and the connection stays
    open for the client's next request. An error after the answer began is left to the
    server, which can only drop the connection."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:
            if started:
                raise
            response = await unexpected_error_handler(Request(scope, receive), exc)
            await response(scope, receive, send)
