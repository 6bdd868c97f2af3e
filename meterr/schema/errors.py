"""Turns MeterrError into `extensions.code` and masks everything unexpected."""

from __future__ import annotations

import logging
import re
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


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


# Resolver arguments GraphQL calls otherwise: a page's `cursor` is its `after`.
_ARGUMENTS = {"cursor": "after"}


def graphql_path(path: str) -> str:
    """A field's path as GraphQL names it: `events[1].cached_input_tokens` reads
    `events[1].cachedInputTokens`, `cursor` reads `after`; the keys of metadata are the
    client's own and stay."""
    if path in _ARGUMENTS:
        return _ARGUMENTS[path]
    parts = path.split(".")
    for index, part in enumerate(parts):
        parts[index] = _camel(part)
        if part.split("[")[0] == "metadata":
            break
    return ".".join(parts)


def _graphql_details(details: dict[str, Any]) -> dict[str, Any]:
    fields = details.get("fields")
    if not isinstance(fields, dict):
        return details
    return {**details, "fields": {graphql_path(name): why for name, why in fields.items()}}


def _graphql_message(message: str, details: dict[str, Any]) -> str:
    """The summary of invalid fields, in GraphQL's names (other messages are left alone)."""
    fields = details.get("fields")
    if isinstance(fields, dict) and message == f"Invalid input: {', '.join(fields)}.":
        return f"Invalid input: {', '.join(graphql_path(name) for name in fields)}."
    return message


def error_extensions(exc: MeterrError) -> dict[str, Any]:
    """The `extensions` of a GraphQL error that `exc` caused, whichever door it went out of;
    fields are named as GraphQL names them."""
    extensions: dict[str, Any] = {"code": exc.code, "details": _graphql_details(exc.details)}
    if isinstance(exc, RateLimited | StoreUnavailable):
        extensions["retry_after"] = exc.retry_after
    return extensions


_VARIABLE = re.compile(r"^Variable '\$(\w+)' (?:got|has) invalid value")
_WITHIN = re.compile(r"invalid value at ((?:\.\w+|\[\d+\])+)")
_UNKNOWN = re.compile(r"not to include unknown field '(\w+)'")


def _refused_variable(message: str) -> tuple[str, str] | None:
    """The variable, or the field inside it, whose value GraphQL's types refused before
    anything ran, and why: `interval`, `input.inputTokens` (`$input` at `.inputTokens`), or
    `changes.owner`, a field its input type does not have (an unknown field, as REST says)."""
    found = _VARIABLE.match(message)
    if found is None:
        return None
    within = _WITHIN.search(message)
    field = found.group(1) + (within.group(1) if within else "")
    unknown = _UNKNOWN.search(message)
    if unknown is not None:
        return f"{field}.{unknown.group(1)}", "unknown field"
    return field, "invalid value"


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
        error.message = _graphql_message(original.message, original.details)
        error.extensions = error_extensions(original)
        return error
    # Parsing and validation errors, and a variable a scalar refused (an Int past 32 bits,
    # say) before anything ran: the request itself is the bad input.
    before_execution = error.path is None and isinstance(original, (ValueError, TypeError))
    if original is None or before_execution:
        error.extensions = {"code": "invalid_input", **(error.extensions or {})}
        if (refused := _refused_variable(error.message)) is not None:
            field, reason = refused
            error.extensions.setdefault("details", {"fields": {field: reason}})
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
