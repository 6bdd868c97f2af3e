"""The OpenAPI 3.1 description of every /v1 route."""

from __future__ import annotations

from typing import Any

from meterr.rest_compat.openapi_areas import BUDGET_INPUT, area_paths
from meterr.rest_compat.openapi_parts import (
    ERROR,
    STANDARD_ERRORS,
    json_response,
    query_param,
)

__all__ = ["openapi_document"]

_RANGE = [
    query_param("start_date", "YYYY-MM-DD (whole day, inclusive) or an RFC 3339 instant"),
    query_param("end_date", "YYYY-MM-DD (whole day, inclusive) or an RFC 3339 instant"),
    query_param("tz", "IANA time zone for day boundaries (default UTC)"),
    query_param("provider", "Filter: provider (comma-separated list allowed)"),
    query_param("model", "Filter: model (comma-separated list allowed)"),
    query_param("team_id", "Filter: team (comma-separated list allowed)"),
    query_param("user_id", "Filter: user (comma-separated list allowed)"),
]

_TOKEN = {"type": "integer", "minimum": 0, "maximum": 1_000_000_000}

_EVENT_INPUT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["provider", "model", "input_tokens"],
    "properties": {
        "provider": {"type": "string", "minLength": 1, "maxLength": 64},
        "model": {"type": "string", "minLength": 1, "maxLength": 256},
        "input_tokens": {**_TOKEN, "description": "Every prompt token, cached ones included"},
        "output_tokens": {**_TOKEN, "description": "Every output token, reasoning included"},
        "cached_input_tokens": {**_TOKEN, "description": "How many input tokens were cache reads"},
        "cache_write_tokens": {**_TOKEN, "description": "How many input tokens were cache writes"},
        "reasoning_tokens": {**_TOKEN, "description": "How many output tokens were reasoning"},
        "endpoint": {"type": "string", "maxLength": 1024},
        "metadata": {"type": "object", "description": "At most 16 KB"},
        "timestamp": {"type": "string", "format": "date-time"},
        "team_id": {"type": "string", "minLength": 1, "maxLength": 256},
        "user_id": {"type": "string", "minLength": 1, "maxLength": 256},
        "event_id": {"type": "string", "minLength": 1, "maxLength": 256},
        "reservation_id": {
            "type": "string",
            "description": "The reservation this call's usage settles (POST /budgets/reserve)",
        },
    },
}

_TOTALS = {
    "type": "object",
    "properties": {
        name: {"type": "integer"}
        for name in (
            "requests",
            "input_tokens",
            "output_tokens",
            "cached_input_tokens",
            "cache_write_tokens",
            "reasoning_tokens",
            "tokens",
            "unpriced_requests",
        )
    }
    | {"cost": {"type": "number"}},
}


def openapi_document(*, max_page: int) -> dict[str, Any]:
    track = {
        "summary": "Record token usage: one event, or {events: [...]} with up to 1,000",
        "parameters": [
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {"type": "string"},
                "description": "Serves as the event_id of a single event",
            }
        ],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "oneOf": [
                            {"$ref": "#/components/schemas/EventInput"},
                            {
                                "type": "object",
                                "additionalProperties": False,
                                "required": ["events"],
                                "properties": {
                                    "events": {
                                        "type": "array",
                                        "minItems": 1,
                                        "maxItems": 1000,
                                        "items": {"$ref": "#/components/schemas/EventInput"},
                                    }
                                },
                            },
                        ]
                    }
                }
            },
        },
        "responses": {
            "201": json_response(
                {"type": "object"}, "Stored (a batch answers {events, count, replayed})"
            ),
            "200": json_response({"type": "object"}, "Replay of an event already stored"),
            "409": ERROR,
            "413": ERROR,
            **STANDARD_ERRORS,
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Meterr API", "version": "1.0.0"},
        "servers": [{"url": "/v1"}],
        "security": [{"bearer": []}],
        "paths": {
            "/track": {"post": track},
            "/usage": {
                "post": {**track, "summary": "Same as POST /track"},
                "get": {
                    "summary": "Usage totals for a period with a per-provider breakdown",
                    "parameters": _RANGE,
                    "responses": {"200": json_response(_TOTALS, "Totals"), **STANDARD_ERRORS},
                },
            },
            "/usage/history": {
                "get": {
                    "summary": "A time series over the period and the raw events, paginated",
                    "parameters": [
                        *_RANGE,
                        query_param(
                            "interval",
                            "hour, day, week or month",
                            {"enum": ["hour", "day", "week", "month"]},
                        ),
                        query_param(
                            "limit",
                            f"Events per page, 1 to {max_page}",
                            {"type": "integer", "minimum": 1, "maximum": max_page},
                        ),
                        query_param("cursor", "next_cursor of the previous page"),
                    ],
                    "responses": {
                        "200": json_response({"type": "object"}, "Series and events"),
                        **STANDARD_ERRORS,
                    },
                }
            },
            "/usage/events/{event_id}": {
                "get": {
                    "summary": "One stored usage event",
                    "parameters": [
                        {
                            "name": "event_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {
                        "200": json_response({"type": "object"}, "The event"),
                        "404": ERROR,
                    },
                }
            },
            "/costs": {
                "get": {
                    "summary": "Costs grouped by a dimension: {KEY: {total, tokens}}",
                    "parameters": [
                        *_RANGE,
                        query_param(
                            "group_by",
                            "provider, model, team, user, endpoint, api_key, day, week, month "
                            "or metadata.KEY",
                        ),
                    ],
                    "responses": {
                        "200": json_response(
                            {
                                "type": "object",
                                "additionalProperties": {
                                    "type": "object",
                                    "properties": {
                                        "total": {"type": "number"},
                                        "tokens": {"type": "integer"},
                                    },
                                },
                            },
                            "Cost per group; the X-Meterr-Source header says whether "
                            "rollups or raw events answered (X-Meterr-Source-Reason: why)",
                        ),
                        **STANDARD_ERRORS,
                    },
                }
            },
            "/metadata/keys": {
                "get": {
                    "summary": "The metadata keys learned from the events, and whether grouping "
                    "by each reads rollups",
                    "responses": {
                        "200": json_response(
                            {
                                "type": "object",
                                "properties": {
                                    "keys": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "properties": {
                                                "key": {"type": "string"},
                                                "state": {
                                                    "enum": [
                                                        "rolled",
                                                        "too_many_values",
                                                        "unsuitable",
                                                    ]
                                                },
                                                "rolled_up": {"type": "boolean"},
                                                "values": {"type": "integer"},
                                            },
                                        },
                                    },
                                    "complete": {"type": "boolean"},
                                    "limits": {
                                        "type": "object",
                                        "additionalProperties": {"type": "integer"},
                                    },
                                },
                            },
                            "The learned keys, in the order they were learned",
                        ),
                        **STANDARD_ERRORS,
                    },
                }
            },
            "/costs/forecast": {
                "get": {
                    "summary": "Daily cost forecast with 80%/95% intervals and the month's total",
                    "parameters": [
                        query_param(
                            "horizon", "Days ahead, 1 to 366 (default 30)", {"type": "integer"}
                        ),
                        query_param(
                            "group_by",
                            "provider, model, team, user, endpoint, api_key or metadata.KEY",
                        ),
                        query_param("start_date", "First day of history (default 90 days ago)"),
                        query_param(
                            "tz", "IANA time zone whose days and month are forecast (default UTC)"
                        ),
                        *_RANGE[3:],
                    ],
                    "responses": {
                        "200": json_response({"type": "object"}, "History and forecast"),
                        **STANDARD_ERRORS,
                    },
                }
            },
            "/costs/forecast/backtest": {
                "get": {
                    "summary": "How the forecast did on past days: MAPE, bias, interval coverage",
                    "parameters": [
                        query_param("days", "Past days to replay, 1 to 366", {"type": "integer"})
                    ],
                    "responses": {
                        "200": json_response({"type": "object"}, "Backtest figures"),
                        **STANDARD_ERRORS,
                    },
                }
            },
            "/prices": {
                "get": {
                    "summary": "Prices in force now, with this organization's overrides",
                    "parameters": [query_param("provider", "Only this provider")],
                    "responses": {
                        "200": json_response({"type": "object"}, "Prices"),
                        **STANDARD_ERRORS,
                    },
                }
            },
            "/prices/overrides": {
                "post": {
                    "summary": "Set a negotiated price (USD per 1M tokens) for this organization",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    "responses": {
                        "201": json_response({"type": "object"}, "The override"),
                        **STANDARD_ERRORS,
                    },
                }
            },
            "/prices/reprice": {
                "post": {
                    "summary": "Reprice stored events with the prices in force now",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    "responses": {
                        "200": json_response({"type": "object"}, "Difference per model"),
                        **STANDARD_ERRORS,
                    },
                }
            },
            "/prices/import": {
                "post": {
                    "summary": "Import a LiteLLM model_prices file as the organization's prices",
                    "description": "Each text model with per-token costs becomes an override; "
                    "events stored unpriced are priced with them. Entries that cannot be "
                    "imported are listed in `skipped` with the reason.",
                    "parameters": [query_param("dry_run", "true: change nothing")],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    "responses": {
                        "200": json_response(
                            {"type": "object"}, "{dry_run, imported, skipped, repriced}"
                        ),
                        **STANDARD_ERRORS,
                    },
                }
            },
            **area_paths(),
            "/otlp/v1/traces": {
                "post": {
                    "summary": "OTLP/HTTP trace export: GenAI spans become usage events",
                    "description": "Spans following the OpenTelemetry GenAI semantic "
                    "conventions (gen_ai.system or gen_ai.provider.name, gen_ai.request.model "
                    "or gen_ai.response.model, gen_ai.usage.input_tokens and output_tokens, "
                    "cache attributes) are stored once each, by trace and span id.",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/x-protobuf": {"schema": {"type": "string"}},
                            "application/json": {"schema": {"type": "object"}},
                        },
                    },
                    "responses": {
                        "200": json_response({"type": "object"}, "ExportTraceServiceResponse"),
                        **STANDARD_ERRORS,
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "security": [],
                    "responses": {"200": json_response({"type": "object"}, "OpenAPI")},
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "EventInput": _EVENT_INPUT,
                "BudgetInput": BUDGET_INPUT,
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message", "details"],
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                                "details": {"type": "object"},
                            },
                        }
                    },
                },
            },
            "responses": {
                "Error": json_response({"$ref": "#/components/schemas/Error"}, "Error envelope")
            },
        },
    }
