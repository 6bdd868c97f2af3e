"""Pieces every part of the OpenAPI description uses."""

from __future__ import annotations

from typing import Any

__all__ = ["ERROR", "STANDARD_ERRORS", "body", "json_response", "path_param", "query_param"]

ERROR = {"$ref": "#/components/responses/Error"}
STANDARD_ERRORS = {"400": ERROR, "401": ERROR, "403": ERROR, "429": ERROR, "500": ERROR}


def query_param(
    name: str, description: str, schema: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


def path_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def json_response(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}
