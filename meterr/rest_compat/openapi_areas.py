"""The OpenAPI description of budgets, events, webhooks, teams and providers."""

from __future__ import annotations

from typing import Any

from meterr.rest_compat.openapi_parts import (
    ERROR,
    STANDARD_ERRORS,
    body,
    json_response,
    path_param,
    query_param,
)

__all__ = ["BUDGET_INPUT", "area_paths"]


_SCOPE = {
    name: {"type": "string", "minLength": 1, "maxLength": 256}
    for name in ("team_id", "user_id", "provider", "model", "api_key_id")
}

BUDGET_INPUT = {
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


_BUDGET_ID = path_param("budget_id")


def _team_paths() -> dict[str, Any]:
    team = json_response({"type": "object"}, "The team with its members and spend this month")
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
                "requestBody": body({**team_body, "required": ["name"]}),
                "responses": {"201": team, "409": ERROR, **STANDARD_ERRORS},
            },
            "get": {
                "summary": "The organization's teams (a team's key: its own)",
                "parameters": [
                    query_param("limit", "1 to 100", {"type": "integer", "minimum": 1}),
                    query_param("cursor", "next_cursor of the previous page"),
                ],
                "responses": {
                    "200": json_response({"type": "object"}, "{teams, next_cursor}"),
                    **STANDARD_ERRORS,
                },
            },
        },
        "/teams/{team_id}": {
            "parameters": [path_param("team_id")],
            "get": {"summary": "One team", "responses": {"200": team, "404": ERROR}},
            "patch": {
                "summary": "Rename or describe a team",
                "requestBody": body(team_body),
                "responses": {"200": team, "404": ERROR, "409": ERROR, **STANDARD_ERRORS},
            },
            "delete": {
                "summary": "Delete a team; its usage stays, its members' keys are revoked",
                "responses": {"204": {"description": "Deleted"}, "404": ERROR},
            },
        },
        "/teams/{team_id}/invite": {
            "parameters": [path_param("team_id")],
            "post": {
                "summary": "Invite an email; the answer carries the single-use token",
                "requestBody": body(
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
                    "201": json_response({"type": "object"}, "The invitation and its token"),
                    "404": ERROR,
                    **STANDARD_ERRORS,
                },
            },
        },
        "/teams/{team_id}/members/{member_id}": {
            "parameters": [path_param("team_id"), path_param("member_id")],
            "delete": {
                "summary": "Remove a member and revoke its key",
                "responses": {"204": {"description": "Removed"}, "404": ERROR},
            },
        },
        "/invitations/{token}/accept": {
            "parameters": [path_param("token")],
            "post": {
                "summary": "Accept an invitation (no key needed): the member's team-scoped key",
                "security": [],
                "responses": {
                    "201": json_response({"type": "object"}, "{team, member, api_key}"),
                    "404": ERROR,
                    "409": ERROR,
                    "410": ERROR,
                },
            },
        },
    }


def area_paths() -> dict[str, Any]:
    budget_body = body({"$ref": "#/components/schemas/BudgetInput"})
    budget = json_response({"type": "object"}, "The budget with its spend in the current period")
    return {
        "/budgets": {
            "post": {
                "summary": "Create a budget",
                "requestBody": budget_body,
                "responses": {"201": budget, **STANDARD_ERRORS},
            },
            "get": {
                "summary": "Every budget with its spend in the current period",
                "responses": {
                    "200": json_response({"type": "object"}, "{budgets}"),
                    **STANDARD_ERRORS,
                },
            },
        },
        "/budgets/check": {
            "get": {
                "summary": "Whether a call may go ahead: no blocking budget over it is spent",
                "parameters": [
                    *(query_param(name, f"The call's {name}") for name in _SCOPE),
                    query_param("estimated_cost", "USD the call may cost", {"type": "number"}),
                    query_param("estimated_tokens", "Tokens the call may use", {"type": "integer"}),
                ],
                "responses": {
                    "200": json_response({"type": "object"}, "{allowed, blocking, budgets}"),
                    **STANDARD_ERRORS,
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
                    "200": json_response(
                        {"type": "object"},
                        "{allowed: true, reservation_id, expires_at} or "
                        "{allowed: false, budget_id, limit, current}",
                    ),
                    **STANDARD_ERRORS,
                },
            }
        },
        "/budgets/{budget_id}": {
            "parameters": [_BUDGET_ID],
            "get": {"summary": "One budget", "responses": {"200": budget, "404": ERROR}},
            "patch": {
                "summary": "Change a budget; the fields given are merged into it",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                "responses": {"200": budget, "404": ERROR, **STANDARD_ERRORS},
            },
            "delete": {
                "summary": "Delete a budget",
                "responses": {"204": {"description": "Deleted"}, "404": ERROR},
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
                    "201": json_response({"type": "object"}, "The endpoint and its secret"),
                    **STANDARD_ERRORS,
                },
            },
            "get": {
                "summary": "The organization's webhook endpoints (without secrets)",
                "responses": {
                    "200": json_response({"type": "object"}, "{webhooks}"),
                    **STANDARD_ERRORS,
                },
            },
        },
        "/webhooks/{webhook_id}": {
            "parameters": [path_param("webhook_id")],
            "delete": {
                "summary": "Remove an endpoint; what it was still owed is cancelled",
                "responses": {"204": {"description": "Deleted"}, "404": ERROR},
            },
        },
        "/webhooks/{webhook_id}/deliveries": {
            "parameters": [path_param("webhook_id")],
            "get": {
                "summary": "Deliveries to the endpoint, newest first, with every attempt",
                "parameters": [
                    query_param("limit", "1 to 100", {"type": "integer", "minimum": 1}),
                    query_param("before", "next_before of the previous page"),
                ],
                "responses": {
                    "200": json_response({"type": "object"}, "{deliveries, next_before}"),
                    "404": ERROR,
                },
            },
        },
        "/webhooks/{webhook_id}/deliveries/{delivery_id}/resend": {
            "parameters": [path_param("webhook_id"), path_param("delivery_id")],
            "post": {
                "summary": "Deliver again now",
                "responses": {
                    "202": json_response({"type": "object"}, "The delivery"),
                    "404": ERROR,
                },
            },
        },
        **_team_paths(),
        "/providers": {
            "get": {
                "summary": "Providers, their models' prices now, and the organization's links",
                "responses": {
                    "200": json_response({"type": "object"}, "{providers}"),
                    **STANDARD_ERRORS,
                },
            }
        },
        "/providers/connect": {
            "post": {
                "summary": "Connect a provider's API; the credential is sealed, never shown again",
                "requestBody": body(
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
                    "201": json_response({"type": "object"}, "The connection"),
                    "409": ERROR,
                    **STANDARD_ERRORS,
                },
            }
        },
        "/providers/{connection_id}/sync": {
            "parameters": [path_param("connection_id")],
            "post": {
                "summary": "Import the provider's usage for a range of whole days",
                "requestBody": body(
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
                    "200": json_response(
                        {"type": "object"}, "{rows, imported, already_imported, ...}"
                    ),
                    "404": ERROR,
                    "502": ERROR,
                    **STANDARD_ERRORS,
                },
            },
        },
        "/providers/{connection_id}/reconciliation": {
            "parameters": [path_param("connection_id")],
            "get": {
                "summary": "Tracked beside reported usage per day and model, differences flagged",
                "parameters": [
                    query_param("start_date", "YYYY-MM-DD (inclusive)"),
                    query_param("end_date", "YYYY-MM-DD (inclusive)"),
                    query_param("tolerance", "Percent a day may differ unflagged (default 5)"),
                ],
                "responses": {
                    "200": json_response({"type": "object"}, "{days, flagged_days, ...}"),
                    "404": ERROR,
                    **STANDARD_ERRORS,
                },
            },
        },
        "/providers/{connection_id}": {
            "parameters": [path_param("connection_id")],
            "get": {
                "summary": "A connection and its last sync",
                "responses": {
                    "200": json_response({"type": "object"}, "The connection"),
                    "404": ERROR,
                },
            },
            "delete": {
                "summary": "Remove a connection and its stored credential",
                "responses": {"204": {"description": "Removed"}, "404": ERROR},
            },
        },
        "/events": {
            "get": {
                "summary": "Notifications (budget.threshold_reached, usage.exceeded), newest first",
                "parameters": [
                    query_param("type", "Only these types (comma-separated)"),
                    query_param("limit", "1 to 1000", {"type": "integer", "minimum": 1}),
                    query_param("cursor", "next_cursor of the previous page"),
                ],
                "responses": {
                    "200": json_response({"type": "object"}, "{events, next_cursor}"),
                    **STANDARD_ERRORS,
                },
            }
        },
    }
