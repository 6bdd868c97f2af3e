"""Turns MeterrError into `extensions.code` and masks everything unexpected."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from meterr.errors import MeterrError, RateLimited, StoreUnavailable
from meterr.logs import current_request_id
from meterr.resolvers import store_failure

__all__ = ["MeterrErrorExtension", "error_extensions"]

logger = logging.getLogger("meterr.graphql")


def error_extensions(exc: MeterrError) -> dict[str, Any]:
    """The `extensions` of a GraphQL error that `exc` caused, whichever door it went out of."""
    extensions: dict[str, Any] = {"code": exc.code, "details": exc.details}
    if isinstance(exc, RateLimited | StoreUnavailable):
        extensions["retry_after"] = exc.retry_after
    return extensions


def _cause(error: GraphQLError) -> BaseException | None:
    """What raised `error`, through the GraphQL errors that wrap it (a variable's value is
    refused as an error wrapping the scalar's own)."""
    original = error.original_error
    while isinstance(original, GraphQLError):
        original = original.original_error
    return original


def _shaped(error: GraphQLError) -> GraphQLError:
    original = _cause(error)
    unavailable = store_failure(original) if original is not None else None
    if unavailable is not None:  # the store was lost midway: as if it was down before
        error = GraphQLError(
            unavailable.message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=unavailable,
        )
        original = unavailable
    if isinstance(original, MeterrError):
        error.extensions = error_extensions(original)
        return error
    # Parsing and validation errors, and a variable a scalar refused (an Int past 32 bits,
    # say) before anything ran: the request itself is the bad input.
    before_execution = error.path is None and isinstance(original, (ValueError, TypeError))
    if original is None or before_execution:
        error.extensions = {"code": "invalid_input", **(error.extensions or {})}
        return error
    request_id = current_request_id() or secrets.token_hex(8)
    logger.error("unhandled error in GraphQL [%s]", request_id, exc_info=original)
    return GraphQLError(
        "An unexpected error occurred.",
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={"code": "internal_error", "details": {"request_id": request_id}},
    )


def _shape_result(result: object) -> None:
    errors = getattr(result, "errors", None)
    if result is not None and errors:
        result.errors = [_shaped(error) for error in errors]  # type: ignore[attr-defined]


class MeterrErrorExtension(SchemaExtension):
    """Shapes the errors of every result: of queries and mutations when the operation ends,
    of subscriptions as each result is streamed."""

    def on_operation(self) -> Iterator[None]:
        self._streamed = False
        yield
        if not self._streamed:
            _shape_result(self.execution_context.result)

    def on_stream_result(self, result: Any) -> Iterator[None]:
        self._streamed = True
        _shape_result(result)
        yield
