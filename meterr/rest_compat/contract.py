"""The /v1 route table: each operation is declared once, with its query model, the type of
its body and of each answer; the Starlette routes and /v1/openapi.json are both made from it.

An operation's handler receives a `Call`: the request, the caller's context and the query
string already validated into the operation's model. The handler reads the body into the
model the resolver takes (`Call.body`, or `Call.changes` for a PATCH); an operation that
declares the permission it needs refuses a key without it before judging either."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from meterr.bodies import parse_json, read_body
from meterr.errors import InvalidInput, MeterrError
from meterr.resolvers import (
    Changes,
    KeyOperation,
    NoQuery,
    RequestContext,
    Services,
    admit,
    validate_model,
)
from meterr.rest_compat.answers import ErrorAnswer
from meterr.rest_compat.errors import error_response

__all__ = ["Call", "Operation", "Patch", "openapi_document", "routes_of"]

_REF = "#/components/schemas/{model}"
_JSON = "application/json"
_PATH_PARAM = re.compile(r"{(\w+)}")
# What any operation that takes a key may answer besides its own outcomes.
_KEYED_ERRORS = (400, 401, 403, 429, 500, 503)
_BODY_ERRORS = (413, 415)
SMALL_BODY = 65_536

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Call:
    """One authenticated request to an operation."""

    request: Request
    ctx: RequestContext
    query: Any  # an instance of the operation's query model

    def path(self, name: str) -> str:
        return str(self.request.path_params[name])

    async def json(self, max_bytes: int = SMALL_BODY) -> Any:
        """The body as JSON, refusing bodies over max_bytes before reading them whole."""
        body = await read_body(self.request, max_bytes)
        if not body.strip():
            raise InvalidInput(
                "The request body is empty; send a JSON object.", {"fields": {"body": "empty"}}
            )
        return parse_json(body)

    async def body(self, model: type[M], max_bytes: int = SMALL_BODY) -> M:
        """The JSON body validated into `model`."""
        return validate_model(model, await self.json(max_bytes))

    async def changes(self, model: type[M]) -> Changes[M]:
        """A PATCH's JSON body: the fields of `model` it names, validated once merged over
        what is stored."""
        return Changes.of(model, await self.json())


@dataclass(frozen=True, slots=True)
class Patch:
    """A PATCH body: any of the model's fields, merged into what is stored and checked again
    as a whole."""

    model: type[BaseModel]


Handler = Callable[[Call], Awaitable[Response]]
OpenHandler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True, kw_only=True)
class Operation:
    """A route: method and path, what it takes and what it answers, and its handler.

    `handler` runs for a caller with a key; `open_handler` for routes that need none (an
    invitation's token is its own credential; the API's description is public)."""

    method: str
    path: str
    summary: str
    tag: str
    answers: Mapping[int, Any]  # status → type of the JSON answer, or None for no content
    handler: Handler | None = None
    open_handler: OpenHandler | None = None
    query: type[BaseModel] = NoQuery
    body: Any = None  # the type of the JSON body, for its schema
    body_media: Sequence[str] = (_JSON,)
    headers: Mapping[str, str] = field(default_factory=dict)  # request header → meaning
    errors: Sequence[int] = ()  # outcomes of its own: 404, 409...
    requires: KeyOperation | None = None  # what the key must be allowed, checked first

    def __post_init__(self) -> None:
        if (self.handler is None) == (self.open_handler is None):
            raise ValueError(f"{self.method} {self.path}: give handler or open_handler")


def _read_query(model: type[BaseModel], request: Request) -> BaseModel:
    """The query string as the operation's model; empty values count as absent."""
    params = {key: value for key, value in request.query_params.multi_items() if value != ""}
    return validate_model(model, params, prefix="")


async def _run(operation: Operation, request: Request) -> Response:
    if operation.open_handler is not None:
        return await operation.open_handler(request)
    assert operation.handler is not None
    services: Services = request.app.state.services
    ctx, status = await admit(services, request.headers.get("authorization"))
    try:
        if operation.requires is not None:
            ctx.principal.require(operation.requires)
        query = _read_query(operation.query, request)
        async with services.work.turn(ctx.org_id):
            response = await operation.handler(Call(request, ctx, query))
    except MeterrError as exc:
        response = error_response(exc)
    response.headers.update(status.headers())
    response.headers.update(ctx.answers.headers())
    return response


def routes_of(operations: Sequence[Operation]) -> list[Route]:
    """One Starlette route per path, dispatching on the method (HEAD runs GET)."""
    by_path: dict[str, dict[str, Operation]] = {}
    for operation in operations:
        methods = by_path.setdefault(operation.path, {})
        if operation.method in methods:
            raise ValueError(f"{operation.method} {operation.path} is declared twice")
        methods[operation.method] = operation

    def endpoint(methods: dict[str, Operation]) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            method = "GET" if request.method == "HEAD" else request.method
            return await _run(methods[method], request)

        return run

    return [
        Route(path, endpoint(methods), methods=list(methods)) for path, methods in by_path.items()
    ]


class _Schemas:
    """JSON Schemas of Python types, their definitions gathered under components."""

    def __init__(self) -> None:
        self.components: dict[str, Any] = {}

    def _keep(self, name: str, definition: dict[str, Any]) -> None:
        known = self.components.setdefault(name, definition)
        if known != definition:
            raise ValueError(f"two different schemas are named {name}")

    def of(self, kind: Any, mode: str) -> dict[str, Any]:
        if isinstance(kind, Patch):
            name = f"{kind.model.__name__}Patch"
            whole = self.components[self.of(kind.model, mode)["$ref"].rsplit("/", 1)[1]]
            patch = {k: v for k, v in whole.items() if k != "required"} | {"title": name}
            self._keep(name, patch)
            return {"$ref": _REF.format(model=name)}
        schema = TypeAdapter(kind).json_schema(mode=mode, ref_template=_REF)  # type: ignore[arg-type]
        for name, definition in schema.pop("$defs", {}).items():
            self._keep(name, definition)
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            self._keep(kind.__name__, schema)
            return {"$ref": _REF.format(model=kind.__name__)}
        return schema

    def parameters(self, model: type[BaseModel]) -> list[dict[str, Any]]:
        schema = model.model_json_schema(mode="validation", ref_template=_REF)
        for name, definition in schema.pop("$defs", {}).items():
            self._keep(name, definition)
        required = set(schema.get("required", ()))
        parameters = []
        for name, prop in schema.get("properties", {}).items():
            value = _present(prop)
            parameter = {
                "name": name,
                "in": "query",
                "required": name in required,
                "schema": {k: v for k, v in value.items() if k not in ("title", "description")},
            }
            if "description" in value:
                parameter["description"] = value["description"]
            parameters.append(parameter)
        return parameters


def _present(prop: dict[str, Any]) -> dict[str, Any]:
    """A query parameter's schema when given: a query string has no null, an optional
    parameter is one left out."""
    options: list[dict[str, Any]] = prop.get("anyOf", [])
    given = [option for option in options if option.get("type") != "null"]
    if len(given) != 1 or len(options) != 2:
        return prop
    merged: dict[str, Any] = {k: v for k, v in prop.items() if k != "anyOf"} | given[0]
    if "description" in prop and "description" in given[0]:
        merged["description"] = f"{prop['description']}. {given[0]['description']}"
    if merged.get("default", ...) is None:
        del merged["default"]
    return merged


def _description(kind: Any, status: int) -> str:
    doc = getattr(kind, "__doc__", None) if isinstance(kind, type) else None
    return doc.strip().splitlines()[0] if doc else HTTPStatus(status).phrase


def _operation_document(operation: Operation, schemas: _Schemas) -> dict[str, Any]:
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PATH_PARAM.findall(operation.path)
    ]
    parameters += schemas.parameters(operation.query)
    parameters += [
        {"name": name, "in": "header", "required": False, "schema": {"type": "string"}}
        | {"description": meaning}
        for name, meaning in operation.headers.items()
    ]
    document: dict[str, Any] = {
        "summary": operation.summary,
        "operationId": f"{operation.method.lower()}{_operation_name(operation.path)}",
        "tags": [operation.tag],
    }
    if parameters:
        document["parameters"] = parameters
    errors = set(operation.errors)
    if operation.open_handler is not None:
        document["security"] = []
        errors |= {400, 500, 503} if operation.body is not None else {500}
    else:
        errors |= set(_KEYED_ERRORS)
    if operation.body is not None:
        body_schema = schemas.of(operation.body, "validation")
        document["requestBody"] = {
            "required": True,
            "content": {media: {"schema": body_schema} for media in operation.body_media},
        }
        errors |= set(_BODY_ERRORS)
    if _PATH_PARAM.search(operation.path):
        errors.add(404)
    responses: dict[str, Any] = {}
    for status, kind in sorted(operation.answers.items()):
        responses[str(status)] = {"description": _description(kind, status)}
        if kind is not None:
            responses[str(status)]["content"] = {
                _JSON: {"schema": schemas.of(kind, "serialization")}
            }
    for status in sorted(errors):
        responses[str(status)] = {"$ref": "#/components/responses/Error"}
    document["responses"] = responses
    return document


def _operation_name(path: str) -> str:
    words = re.split(r"[/_.{}]+", path)
    return "".join(word[:1].upper() + word[1:] for word in words if word)


def openapi_document(operations: Sequence[Operation]) -> dict[str, Any]:
    """The OpenAPI 3.1 description of the operations."""
    schemas = _Schemas()
    paths: dict[str, dict[str, Any]] = {}
    for operation in operations:
        paths.setdefault(operation.path, {})[operation.method.lower()] = _operation_document(
            operation, schemas
        )
    error = schemas.of(ErrorAnswer, "serialization")
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Meterr API",
            "version": "1.0.0",
            "description": "Token usage, exact costs, budgets and alerts of AI providers.",
        },
        "servers": [{"url": "/v1"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "An API key"}
            },
            "schemas": dict(sorted(schemas.components.items())),
            "responses": {
                "Error": {
                    "description": "The error envelope",
                    "content": {_JSON: {"schema": error}},
                }
            },
        },
    }
