"""Every /v1 answer the suite receives is checked against /v1/openapi.json: its status is
documented for the operation, and its JSON body validates against the documented schema."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
from jsonschema import Draft202012Validator

__all__ = ["OpenApiContract"]


class OpenApiContract:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self._routes = [
            (re.compile("^" + re.sub(r"{\w+}", "[^/]+", path) + "$"), path)
            for path in document["paths"]
        ]
        self._validators: dict[str, Draft202012Validator] = {}

    def _validator(self, schema: dict[str, Any]) -> Draft202012Validator:
        key = json.dumps(schema, sort_keys=True)
        if key not in self._validators:
            whole = {**schema, "components": self.document["components"]}
            self._validators[key] = Draft202012Validator(whole)
        return self._validators[key]

    def schema_of(self, method: str, path: str, status: int) -> dict[str, Any] | None:
        """The documented schema of the answer (None for no content); fails for a route,
        method or status the document does not list."""
        matches = [template for pattern, template in self._routes if pattern.match(path)]
        # A literal segment beats a template's parameter (/budgets/check over {budget_id}).
        template = min(matches, key=lambda t: t.count("{"), default=None)
        operation = (
            None if template is None else self.document["paths"][template].get(method.lower())
        )
        if operation is None:
            # No such route or method: the error envelope, with 404 or 405.
            assert status == (404 if template is None else 405), (
                f"{method} {path} is not documented, yet answered {status}"
            )
            operation = {"responses": {str(status): {"$ref": "#/components/responses/Error"}}}
        answer = operation["responses"].get(str(status))
        assert answer is not None, f"{method} {template} does not document status {status}"
        if "$ref" in answer:
            answer = self.document["components"]["responses"][answer["$ref"].rsplit("/", 1)[1]]
        content = answer.get("content")
        return None if content is None else content["application/json"]["schema"]

    def check(self, method: str, path: str, status: int, body: bytes, media: str) -> None:
        schema = self.schema_of(method, path, status)
        if schema is None:
            assert not body, f"{method} {path} answered {status} with a body"
            return
        if not media.startswith("application/json"):
            return  # OTLP answers protobuf to protobuf
        validator = Draft202012Validator({**schema, "components": self.document["components"]})
        errors = sorted(validator.iter_errors(httpx.Response(200, content=body).json()), key=str)
        assert not errors, f"{method} {path} {status} does not match the document: " + "; ".join(
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]
        )

    async def on_response(self, response: httpx.Response) -> None:
        path = response.request.url.path
        if not path.startswith("/v1/") or response.request.method == "HEAD":
            return
        await response.aread()
        self.check(
            response.request.method,
            path.removeprefix("/v1"),
            response.status_code,
            response.content,
            response.headers.get("content-type", ""),
        )
