"""A GraphQL-over-HTTP request read strictly: one operation, from a GET's query string or a
POST's JSON body, or from the payload of a websocket message, its parameters checked before
the document is looked at."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from meterr.bodies import parse_json
from meterr.errors import InvalidInput, UnsupportedMediaType

__all__ = ["GraphQLRequest", "read_http_request", "read_payload"]

_JSON = "application/json"


@dataclass(frozen=True, slots=True)
class GraphQLRequest:
    """The parameters of one GraphQL request (graphql-over-http: query, variables,
    operationName, extensions)."""

    query: str
    variables: dict[str, Any] | None = None
    operation_name: str | None = None
    extensions: dict[str, Any] | None = None


def read_http_request(
    method: str, content_type: str | None, query_params: Mapping[str, str], body: bytes
) -> GraphQLRequest:
    """The request of a GET (its query string) or a POST (its JSON body), or InvalidInput
    (UnsupportedMediaType for a body that is not JSON)."""
    if method == "GET":
        params: dict[str, Any] = dict(query_params)
        for name in ("variables", "extensions"):
            if params.get(name):  # JSON in the query string; absent or empty is none
                params[name] = parse_json(params[name], field=name)
            else:
                params.pop(name, None)
        return read_payload(params)
    if not body:
        raise InvalidInput(
            "The body is empty: send a JSON object with the operation's `query`.",
            {"fields": {"body": "empty"}},
        )
    media_type = (content_type or "").partition(";")[0].strip().lower()
    if media_type != _JSON:
        raise UnsupportedMediaType(
            f"GraphQL requests are sent as {_JSON}, not {media_type or 'an untyped body'}.",
            {"content_type": media_type or None, "accepted": [_JSON]},
        )
    return read_payload(parse_json(body))


def read_payload(payload: object) -> GraphQLRequest:
    """The request held in a JSON object (a POST's body, a websocket message's payload), both
    parsed with parse_json: no string in it holds a lone surrogate."""
    if isinstance(payload, list):
        raise InvalidInput(
            "Batched requests are not supported: send one operation per request.",
            {"fields": {"body": "an array"}},
        )
    if not isinstance(payload, dict):
        raise InvalidInput(
            "A GraphQL request is a JSON object with the operation's `query`.",
            {"fields": {"body": "not an object"}},
        )
    query = payload.get("query")
    if not isinstance(query, str) or not query.strip():
        reason = "required" if query is None or isinstance(query, str) else "not a string"
        raise InvalidInput("`query` must hold the GraphQL document.", {"fields": {"query": reason}})
    variables = _object_or_none(payload, "variables")
    extensions = _object_or_none(payload, "extensions")
    operation_name = payload.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise InvalidInput(
            "`operationName` must be a string (or null).",
            {"fields": {"operationName": "not a string"}},
        )
    return GraphQLRequest(query, variables, operation_name, extensions)


def _object_or_none(payload: Mapping[str, object], name: str) -> dict[str, Any] | None:
    value = payload.get(name)
    if value is not None and not isinstance(value, dict):
        raise InvalidInput(
            f"`{name}` must be a JSON object (or null).", {"fields": {name: "not an object"}}
        )
    return value
