"""The OpenAPI 3.1 description of every /v1 route."""

from __future__ import annotations

from typing import Any

__all__ = ["openapi_document"]

_ERROR = {"$ref": "#/components/responses/Error"}
_STANDARD_ERRORS = {"400": _ERROR, "401": _ERROR, "403": _ERROR, "429": _ERROR, "500": _ERROR}


def _query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


_RANGE = [
    _query("start_date", "YYYY-MM-DD (whole day, inclusive) or an RFC 3339 instant"),
    _query("end_date", "YYYY-MM-DD (whole day, inclusive) or an RFC 3339 instant"),
    _query("tz", "IANA time zone for day boundaries (default UTC)"),
    _query("provider", "Filter: provider (comma-separated list allowed)"),
    _query("model", "Filter: model (comma-separated list allowed)"),
    _query("team_id", "Filter: team (comma-separated list allowed)"),
    _query("user_id", "Filter: user (comma-separated list allowed)"),
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

_SCOPE = {
    name: {"type": "string", "minLength": 1, "maxLength": 256}
    for name in ("team_id", "user_id", "provider", "model", "api_key_id")
}

_BUDGET_INPUT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "limit"],
    "description": "At most one of team_id, user_id, provider, model, api_key_id (none: the "
    "whole organization).",
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "limit": {"type": "number", "exclusiveMinimum": 0, "description": "USD or tokens"},
        "unit": {"enum": ["usd", "tokens"], "default": "usd"},
        "period": {"enum": ["day", "week", "month", "total"], "default": "month"},
        "thresholds": {
            "type": "array",
            "items": {"type": "integer", "minimum": 1, "maximum": 1000},
            "default": [50, 80, 100],
            "description": "Percentages of the limit at which an alert fires",
        },
        "action": {"enum": ["alert", "block"], "default": "alert"},
        "timezone": {"type": "string", "default": "UTC", "description": "IANA time zone"},
        **_SCOPE,
    },
}


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


_BUDGET_ID = _path("budget_id")


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _team_paths() -> dict[str, Any]:
    team = _json({"type": "object"}, "The team with its members and spend this month")
    team_body = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 100},
            "description": {"type": "string", "maxLength": 1000},
        },
    }
    return {
        "/teams": {
            "post": {
                "summary": "Create a team",
                "requestBody": _body({**team_body, "required": ["name"]}),
                "responses": {"201": team, "409": _ERROR, **_STANDARD_ERRORS},
            },
            "get": {
                "summary": "The organization's teams (a team's key: its own)",
                "parameters": [
                    _query("limit", "1 to 100", {"type": "integer", "minimum": 1}),
                    _query("cursor", "next_cursor of the previous page"),
                ],
                "responses": {
                    "200": _json({"type": "object"}, "{teams, next_cursor}"),
                    **_STANDARD_ERRORS,
                },
            },
        },
        "/teams/{team_id}": {
            "parameters": [_path("team_id")],
            "get": {"summary": "One team", "responses": {"200": team, "404": _ERROR}},
            "patch": {
                "summary": "Rename or describe a team",
                "requestBody": _body(team_body),
                "responses": {"200": team, "404": _ERROR, "409": _ERROR, **_STANDARD_ERRORS},
            },
            "delete": {
                "summary": "Delete a team; its usage stays, its members' keys are revoked",
                "responses": {"204": {"description": "Deleted"}, "404": _ERROR},
            },
        },
        "/teams/{team_id}/invite": {
            "parameters": [_path("team_id")],
            "post": {
                "summary": "Invite an email; the answer carries the single-use token",
                "requestBody": _body(
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["email"],
                        "properties": {
                            "email": {"type": "string", "format": "email"},
                            "role": {"enum": ["admin", "member", "viewer"], "default": "member"},
                        },
                    }
                ),
                "responses": {
                    "201": _json({"type": "object"}, "The invitation and its token"),
                    "404": _ERROR,
                    **_STANDARD_ERRORS,
                },
            },
        },
        "/teams/{team_id}/members/{member_id}": {
            "parameters": [_path("team_id"), _path("member_id")],
            "delete": {
                "summary": "Remove a member and revoke its key",
                "responses": {"204": {"description": "Removed"}, "404": _ERROR},
            },
        },
        "/invitations/{token}/accept": {
            "parameters": [_path("token")],
            "post": {
                "summary": "Accept an invitation (no key needed): the member's team-scoped key",
                "security": [],
                "responses": {
                    "201": _json({"type": "object"}, "{team, member, api_key}"),
                    "404": _ERROR,
                    "409": _ERROR,
                    "410": _ERROR,
                },
            },
        },
    }


def _budget_paths() -> dict[str, Any]:
    body = {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BudgetInput"}}},
    }
    budget = _json({"type": "object"}, "The budget with its spend in the current period")
    return {
        "/budgets": {
            "post": {
                "summary": "Create a budget",
                "requestBody": body,
                "responses": {"201": budget, **_STANDARD_ERRORS},
            },
            "get": {
                "summary": "Every budget with its spend in the current period",
                "responses": {"200": _json({"type": "object"}, "{budgets}"), **_STANDARD_ERRORS},
            },
        },
        "/budgets/check": {
            "get": {
                "summary": "Whether a call may go ahead: no blocking budget over it is spent",
                "parameters": [
                    *(_query(name, f"The call's {name}") for name in _SCOPE),
                    _query("estimated_cost", "USD the call may cost", {"type": "number"}),
                    _query("estimated_tokens", "Tokens the call may use", {"type": "integer"}),
                ],
                "responses": {
                    "200": _json({"type": "object"}, "{allowed, blocking, budgets}"),
                    **_STANDARD_ERRORS,
                },
            }
        },
        "/budgets/reserve": {
            "post": {
                "summary": "Hold a call's estimate against every budget it falls under",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "additionalProperties": False,
                                "properties": {
                                    **_SCOPE,
                                    "estimated_cost": {"type": "number", "minimum": 0},
                                    "estimated_tokens": {"type": "integer", "minimum": 0},
                                    "ttl_seconds": {
                                        "type": "integer",
                                        "minimum": 1,
                                        "maximum": 86400,
                                        "default": 600,
                                    },
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": _json(
                        {"type": "object"},
                        "{allowed: true, reservation_id, expires_at} or "
                        "{allowed: false, budget_id, limit, current}",
                    ),
                    **_STANDARD_ERRORS,
                },
            }
        },
        "/budgets/{budget_id}": {
            "parameters": [_BUDGET_ID],
            "get": {"summary": "One budget", "responses": {"200": budget, "404": _ERROR}},
            "patch": {
                "summary": "Change a budget; the fields given are merged into it",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                "responses": {"200": budget, "404": _ERROR, **_STANDARD_ERRORS},
            },
            "delete": {
                "summary": "Delete a budget",
                "responses": {"204": {"description": "Deleted"}, "404": _ERROR},
            },
        },
        "/webhooks": {
            "post": {
                "summary": "Add a webhook endpoint; the answer carries its signing secret, once",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "additionalProperties": False,
                                "required": ["url"],
                                "properties": {
                                    "url": {"type": "string", "format": "uri"},
                                    "events": {
                                        "type": "array",
                                        "items": {"type": "string"},
                                        "description": "Notification types (default: all)",
                                    },
                                    "description": {"type": "string", "maxLength": 500},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "201": _json({"type": "object"}, "The endpoint and its secret"),
                    **_STANDARD_ERRORS,
                },
            },
            "get": {
                "summary": "The organization's webhook endpoints (without secrets)",
                "responses": {"200": _json({"type": "object"}, "{webhooks}"), **_STANDARD_ERRORS},
            },
        },
        "/webhooks/{webhook_id}": {
            "parameters": [_path("webhook_id")],
            "delete": {
                "summary": "Remove an endpoint; what it was still owed is cancelled",
                "responses": {"204": {"description": "Deleted"}, "404": _ERROR},
            },
        },
        "/webhooks/{webhook_id}/deliveries": {
            "parameters": [_path("webhook_id")],
            "get": {
                "summary": "Deliveries to the endpoint, newest first, with every attempt",
                "parameters": [
                    _query("limit", "1 to 100", {"type": "integer", "minimum": 1}),
                    _query("before", "next_before of the previous page"),
                ],
                "responses": {
                    "200": _json({"type": "object"}, "{deliveries, next_before}"),
                    "404": _ERROR,
                },
            },
        },
        "/webhooks/{webhook_id}/deliveries/{delivery_id}/resend": {
            "parameters": [_path("webhook_id"), _path("delivery_id")],
            "post": {
                "summary": "Deliver again now",
                "responses": {"202": _json({"type": "object"}, "The delivery"), "404": _ERROR},
            },
        },
        **_team_paths(),
        "/providers": {
            "get": {
                "summary": "Providers, their models' prices now, and the organization's links",
                "responses": {"200": _json({"type": "object"}, "{providers}"), **_STANDARD_ERRORS},
            }
        },
        "/providers/connect": {
            "post": {
                "summary": "Connect a provider's API; the credential is sealed, never shown again",
                "requestBody": _body(
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["provider", "api_key"],
                        "properties": {
                            "provider": {"enum": ["openai", "anthropic"]},
                            "name": {"type": "string", "maxLength": 100, "default": "default"},
                            "api_key": {"type": "string", "minLength": 8},
                            "mode": {"enum": ["import", "reconcile"], "default": "import"},
                            "options": {"type": "object"},
                        },
                    }
                ),
                "responses": {
                    "201": _json({"type": "object"}, "The connection"),
                    "409": _ERROR,
                    **_STANDARD_ERRORS,
                },
            }
        },
        "/providers/{connection_id}/sync": {
            "parameters": [_path("connection_id")],
            "post": {
                "summary": "Import the provider's usage for a range of whole days",
                "requestBody": _body(
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["start_date", "end_date"],
                        "properties": {
                            "start_date": {"type": "string", "format": "date"},
                            "end_date": {"type": "string", "format": "date"},
                        },
                    }
                ),
                "responses": {
                    "200": _json({"type": "object"}, "{rows, imported, already_imported, ...}"),
                    "404": _ERROR,
                    "502": _ERROR,
                    **_STANDARD_ERRORS,
                },
            },
        },
        "/providers/{connection_id}/reconciliation": {
            "parameters": [_path("connection_id")],
            "get": {
                "summary": "Tracked beside reported usage per day and model, differences flagged",
                "parameters": [
                    _query("start_date", "YYYY-MM-DD (inclusive)"),
                    _query("end_date", "YYYY-MM-DD (inclusive)"),
                    _query("tolerance", "Percent a day may differ unflagged (default 5)"),
                ],
                "responses": {
                    "200": _json({"type": "object"}, "{days, flagged_days, ...}"),
                    "404": _ERROR,
                    **_STANDARD_ERRORS,
                },
            },
        },
        "/providers/{connection_id}": {
            "parameters": [_path("connection_id")],
            "get": {
                "summary": "A connection and its last sync",
                "responses": {"200": _json({"type": "object"}, "The connection"), "404": _ERROR},
            },
            "delete": {
                "summary": "Remove a connection and its stored credential",
                "responses": {"204": {"description": "Removed"}, "404": _ERROR},
            },
        },
        "/events": {
            "get": {
                "summary": "Notifications (budget.threshold_reached, usage.exceeded), newest first",
                "parameters": [
                    _query("type", "Only these types (comma-separated)"),
                    _query("limit", "1 to 1000", {"type": "integer", "minimum": 1}),
                    _query("cursor", "next_cursor of the previous page"),
                ],
                "responses": {
                    "200": _json({"type": "object"}, "{events, next_cursor}"),
                    **_STANDARD_ERRORS,
                },
            }
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


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


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
            "201": _json({"type": "object"}, "Stored (a batch answers {events, count, replayed})"),
            "200": _json({"type": "object"}, "Replay of an event already stored"),
            "409": _ERROR,
            "413": _ERROR,
            **_STANDARD_ERRORS,
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
                    "responses": {"200": _json(_TOTALS, "Totals"), **_STANDARD_ERRORS},
                },
            },
            "/usage/history": {
                "get": {
                    "summary": "A time series over the period and the raw events, paginated",
                    "parameters": [
                        *_RANGE,
                        _query(
                            "interval",
                            "hour, day, week or month",
                            {"enum": ["hour", "day", "week", "month"]},
                        ),
                        _query(
                            "limit",
                            f"Events per page, 1 to {max_page}",
                            {"type": "integer", "minimum": 1, "maximum": max_page},
                        ),
                        _query("cursor", "next_cursor of the previous page"),
                    ],
                    "responses": {
                        "200": _json({"type": "object"}, "Series and events"),
                        **_STANDARD_ERRORS,
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
                    "responses": {"200": _json({"type": "object"}, "The event"), "404": _ERROR},
                }
            },
            "/costs": {
                "get": {
                    "summary": "Costs grouped by a dimension: {KEY: {total, tokens}}",
                    "parameters": [
                        *_RANGE,
                        _query(
                            "group_by",
                            "provider, model, team, user, endpoint, api_key, day, week, month "
                            "or metadata.KEY",
                        ),
                    ],
                    "responses": {
                        "200": _json(
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
                            "Cost per group",
                        ),
                        **_STANDARD_ERRORS,
                    },
                }
            },
            "/prices": {
                "get": {
                    "summary": "Prices in force now, with this organization's overrides",
                    "parameters": [_query("provider", "Only this provider")],
                    "responses": {"200": _json({"type": "object"}, "Prices"), **_STANDARD_ERRORS},
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
                        "201": _json({"type": "object"}, "The override"),
                        **_STANDARD_ERRORS,
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
                        "200": _json({"type": "object"}, "Difference per model"),
                        **_STANDARD_ERRORS,
                    },
                }
            },
            **_budget_paths(),
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "security": [],
                    "responses": {"200": _json({"type": "object"}, "OpenAPI")},
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "EventInput": _EVENT_INPUT,
                "BudgetInput": _BUDGET_INPUT,
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
            "responses": {"Error": _json({"$ref": "#/components/schemas/Error"}, "Error envelope")},
        },
    }
