"""Operations on budgets, teams, provider connections and webhooks."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from meterr.sdk.calls import (
    Call,
    Day,
    Flow,
    given,
    listed,
    nothing,
    one,
    query,
)
from meterr.sdk.models import (
    ApiObject,
    Budget,
    BudgetCheck,
    Connection,
    Delivery,
    Invitation,
    Membership,
    Provider,
    Reservation,
    SyncReport,
    Team,
    Webhook,
)

__all__ = [
    "budgets",
    "budget",
    "create_budget",
    "update_budget",
    "delete_budget",
    "check_budget",
    "reserve",
    "teams",
    "team",
    "create_team",
    "update_team",
    "delete_team",
    "invite",
    "remove_member",
    "accept_invitation",
    "providers",
    "connection",
    "connect_provider",
    "disconnect_provider",
    "sync_provider",
    "webhooks",
    "create_webhook",
    "delete_webhook",
    "deliveries",
    "resend_delivery",
]


# Budgets


def budgets() -> Call[list[Budget]]:
    """Every budget, with its spend over the current period."""
    return Call("GET", "/budgets", listed("budgets", Budget))


def budget(budget_id: str) -> Call[Budget]:
    return Call("GET", f"/budgets/{budget_id}", one(Budget))


def create_budget(name: str, limit: Decimal | int | str, **fields: Any) -> Call[Budget]:
    """`team_id`, `user_id`, `provider`, `model` or `api_key_id` (the scope; none: the whole
    organization), `unit` ("usd" or "tokens"), `period`, `thresholds`, `action` ("alert" or
    "block") and `timezone` as keywords."""
    body = given({"name": name, "limit": limit, **fields})
    return Call("POST", "/budgets", one(Budget), body=body, repeatable=False)


def update_budget(budget_id: str, **changes: Any) -> Call[Budget]:
    return Call("PATCH", f"/budgets/{budget_id}", one(Budget), body=changes)


def delete_budget(budget_id: str) -> Call[None]:
    return Call("DELETE", f"/budgets/{budget_id}", nothing)


def check_budget(**scope: Any) -> Call[BudgetCheck]:
    """May a call go ahead? `team_id`, `user_id`, `provider`, `model`, `api_key_id`, and
    `estimated_cost` or `estimated_tokens`."""
    return Call("GET", "/budgets/check", one(BudgetCheck), params=query(scope))


def reserve(**call: Any) -> Call[Reservation]:
    """Reserve a call's estimated cost (`estimated_cost`) or tokens (`estimated_tokens`)
    against every budget its scope falls under; settle it by passing `reservation_id` to
    track_usage."""
    body = given(call)
    return Call("POST", "/budgets/reserve", one(Reservation), body=body, repeatable=False)


# Teams


class _TeamPage(ApiObject):
    teams: list[Team]
    next_cursor: str | None = None


def teams() -> Flow[list[Team]]:
    """Every team, read page by page."""
    found: list[Team] = []
    params: dict[str, Any] = {"limit": 100}
    while True:
        page: _TeamPage = yield Call("GET", "/teams", one(_TeamPage), params=dict(params))
        found += page.teams
        if page.next_cursor is None:
            return found
        params["cursor"] = page.next_cursor


def team(team_id: str) -> Call[Team]:
    return Call("GET", f"/teams/{team_id}", one(Team))


def create_team(name: str, description: str | None = None) -> Call[Team]:
    body = given({"name": name, "description": description})
    return Call("POST", "/teams", one(Team), body=body, repeatable=False)


def update_team(team_id: str, **changes: Any) -> Call[Team]:
    return Call("PATCH", f"/teams/{team_id}", one(Team), body=changes)


def delete_team(team_id: str) -> Call[None]:
    """Delete a team; its usage is kept, shown as a deleted team's."""
    return Call("DELETE", f"/teams/{team_id}", nothing)


def invite(team_id: str, email: str, role: str = "member") -> Call[Invitation]:
    """Invite someone as admin, member or viewer; hand them the invitation's token."""
    body = {"email": email, "role": role}
    path = f"/teams/{team_id}/invite"
    return Call("POST", path, one(Invitation), body=body, repeatable=False)


def remove_member(team_id: str, member_id: str) -> Call[None]:
    return Call("DELETE", f"/teams/{team_id}/members/{member_id}", nothing)


def accept_invitation(token: str) -> Call[Membership]:
    """Join with an invitation's token; the answer holds the new member's API key."""
    return Call("POST", f"/invitations/{token}/accept", one(Membership), repeatable=False)


# Providers


def providers() -> Call[list[Provider]]:
    """Every supported provider, its models and prices, and the organization's connections
    to it."""
    return Call("GET", "/providers", listed("providers", Provider))


def connection(connection_id: str) -> Call[Connection]:
    return Call("GET", f"/providers/{connection_id}", one(Connection))


def connect_provider(
    provider: str,
    api_key: str,
    *,
    name: str | None = None,
    mode: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> Call[Connection]:
    """Connect a provider's admin key (stored encrypted) to import its usage (`mode` "import",
    the default) or to check tracked usage against it ("reconcile"); `options` such as the
    organization or project ids."""
    body = given(
        {"provider": provider, "name": name, "api_key": api_key, "mode": mode, "options": options}
    )
    return Call("POST", "/providers/connect", one(Connection), body=body, repeatable=False)


def disconnect_provider(connection_id: str) -> Call[None]:
    """Remove a connection and its stored credential."""
    return Call("DELETE", f"/providers/{connection_id}", nothing)


def sync_provider(connection_id: str, start_date: Day, end_date: Day) -> Call[SyncReport]:
    """Import the provider's own usage for a range; what was imported before counts once."""
    body = {"start_date": start_date, "end_date": end_date}
    return Call("POST", f"/providers/{connection_id}/sync", one(SyncReport), body=body)


# Webhooks


def webhooks() -> Call[list[Webhook]]:
    return Call("GET", "/webhooks", listed("webhooks", Webhook))


def create_webhook(
    url: str, events: list[str] | None = None, description: str | None = None
) -> Call[Webhook]:
    """An endpoint for `events` (default: all); keep the answer's `secret` to verify
    signatures, it is not shown again."""
    body = given({"url": url, "events": events, "description": description})
    return Call("POST", "/webhooks", one(Webhook), body=body, repeatable=False)


def delete_webhook(webhook_id: str) -> Call[None]:
    return Call("DELETE", f"/webhooks/{webhook_id}", nothing)


def deliveries(
    webhook_id: str, *, limit: int = 50, before: str | None = None
) -> Call[list[Delivery]]:
    """An endpoint's deliveries, newest first, with every attempt."""
    params = query({"limit": limit, "before": before})
    read = listed("deliveries", Delivery)
    return Call("GET", f"/webhooks/{webhook_id}/deliveries", read, params=params)


def resend_delivery(webhook_id: str, delivery_id: str) -> Call[Delivery]:
    path = f"/webhooks/{webhook_id}/deliveries/{delivery_id}/resend"
    return Call("POST", path, one(Delivery), repeatable=False)
