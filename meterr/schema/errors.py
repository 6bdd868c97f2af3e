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

__all__ = ["MeterrErrorExtension"]

logger = logging.getLogger("meterr.graphql")


def _shaped(error: GraphQLError) -> GraphQLError:
    original = error.original_error
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
        error.extensions = {"code": original.code, "details": original.details}
        if isinstance(original, RateLimited | StoreUnavailable):
            error.extensions["retry_after"] = original.retry_after
        return error
    if original is None:
        # Parsing and validation errors: the query itself is the bad input.
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
