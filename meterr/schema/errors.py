"""Turns MeterrError into `extensions.code` and masks everything unexpected."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from meterr.errors import MeterrError, RateLimited

__all__ = ["MeterrErrorExtension"]

logger = logging.getLogger("meterr.graphql")


def _shaped(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if isinstance(original, MeterrError):
        error.extensions = {"code": original.code, "details": original.details}
        if isinstance(original, RateLimited):
            error.extensions["retry_after"] = original.retry_after
        return error
    if original is None:
        # Parsing and validation errors: the query itself is the bad input.
        error.extensions = {"code": "invalid_input", **(error.extensions or {})}
        return error
    request_id = secrets.token_hex(8)
    logger.error("unhandled error in GraphQL [%s]", request_id, exc_info=original)
    return GraphQLError(
        "An unexpected error occurred.",
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={"code": "internal_error", "details": {"request_id": request_id}},
    )


class MeterrErrorExtension(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if result is not None and errors:
            result.errors = [_shaped(error) for error in errors]
