"""The API's operations, each written once: its parameters, its documentation, the call it
makes and the typed answer it reads. `Client` and `AsyncClient` offer every one of them as a
method of the same name and signature (`client.budget(budget_id)`), blocking or awaited."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from meterr.sdk.calls import (
    Call,
    Day,
    Flow,
    cost_groups,
    event_body,
    given,
    listed,
    nothing,
    one,
    query,
)
from meterr.sdk.models import (
    ApiObject,
    Backtest,
    Budget,
    BudgetCheck,
    Connection,
    CostForecast,
    CostGroup,
    Delivery,
    EventPage,
    Invitation,
    Membership,
    Price,
    PriceImport,
    Provider,
    RepriceReport,
    Reservation,
    SyncReport,
    Team,
    TrackedBatch,
    UsageEvent,
    UsageSummary,
    Webhook,
)

# Operations, in the order the clients list them.
__all__ = [
    "track_batch",
    "event",
    "usage",
    "history",
    "events",
    "costs",
    "forecast",
    "backtest",
    "prices",
    "set_price",
    "reprice",
    "import_prices",
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


# Usage


def track_batch(events: Sequence[Mapping[str, Any]]) -> Call[TrackedBatch]:
    """Record up to 1,000 events at once, all or nothing; each dict has the keywords of
    `track_usage`."""
    bodies = [
        event_body(
            event["provider"],
            event["model"],
            event["input_tokens"],
            event.get("output_tokens", 0),
            {k: v for k, v in event.items() if k not in ("provider", "model")},
        )
        for event in events
    ]
    return Call("POST", "/track", one(TrackedBatch), body={"events": bodies})


def event(event_id: str) -> Call[UsageEvent]:
    """One stored event by its id."""
    return Call("GET", f"/usage/events/{event_id}", one(UsageEvent))


def usage(
    *,
    start_date: Day | None = None,
    end_date: Day | None = None,
    tz: str | None = None,
    provider: str | None = None,
    model: str | None = None,
    team_id: str | None = None,
    user_id: str | None = None,
) -> Call[UsageSummary]:
    """Token and cost totals over a range (default: this month), and per provider."""
    return Call("GET", "/usage", one(UsageSummary), params=query(locals()))


def history(
    *,
    start_date: Day | None = None,
    end_date: Day | None = None,
    tz: str | None = None,
    provider: str | None = None,
    model: str | None = None,
    team_id: str | None = None,
    user_id: str | None = None,
    interval: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Call[EventPage]:
    """The series per `interval` (hour or day) and one page of events, newest first."""
    return Call("GET", "/usage/history", one(EventPage), params=query(locals()))


def events(
    *,
    start_date: Day | None = None,
    end_date: Day | None = None,
    tz: str | None = None,
    provider: str | None = None,
    model: str | None = None,
    team_id: str | None = None,
    user_id: str | None = None,
) -> Flow[list[UsageEvent]]:
    """Every event of the range, newest first, read page by page."""
    params = {**query(locals()), "limit": 1000}
    found: list[UsageEvent] = []
    while True:
        page: EventPage = yield Call("GET", "/usage/history", one(EventPage), params=dict(params))
        found += page.events
        if page.next_cursor is None:
            return found
        params["cursor"] = page.next_cursor


def costs(
    *,
    group_by: str | None = None,
    start_date: Day | None = None,
    end_date: Day | None = None,
    tz: str | None = None,
    provider: str | None = None,
    model: str | None = None,
    team_id: str | None = None,
    user_id: str | None = None,
) -> Call[list[CostGroup]]:
    """Cost per group: provider (default), model, team, user, endpoint, day..., or two joined
    by a comma."""
    return Call("GET", "/costs", cost_groups, params=query(locals()))


def forecast(
    *,
    horizon: int | None = None,
    group_by: str | None = None,
    start_date: Day | None = None,
    provider: str | None = None,
    model: str | None = None,
    team_id: str | None = None,
    user_id: str | None = None,
    tz: str | None = None,
) -> Call[CostForecast]:
    """Daily cost for `horizon` days ahead (default 30) with 80% and 95% intervals, and the
    month's projected total, in the days of `tz` (an IANA zone, default UTC)."""
    return Call("GET", "/costs/forecast", one(CostForecast), params=query(locals()))


def backtest(days: int = 30) -> Call[Backtest]:
    """How the forecast did on each of the last `days` days, from the days before."""
    return Call("GET", "/costs/forecast/backtest", one(Backtest), params={"days": days})


# Prices


def prices(provider: str | None = None) -> Call[list[Price]]:
    """Prices in force now: the catalogue's, and the organization's own."""
    params = query({"provider": provider})
    return Call("GET", "/prices", listed("prices", Price), params=params)


def set_price(
    provider: str, model: str, input: Decimal | str, output: Decimal | str, **rates: Any
) -> Call[Price]:
    """An organization price (USD per 1M tokens); `cached_input`, `cache_write`, `reasoning`,
    `effective_from` and `note` as keywords."""
    body = {"provider": provider, "model": model, "input": input, "output": output, **rates}
    return Call("POST", "/prices/overrides", one(Price), body=given(body), repeatable=False)


def reprice(*, dry_run: bool = False, **scope: Any) -> Call[RepriceReport]:
    """Reprice stored events with the prices in force now; `start_date`, `end_date`,
    `provider`, `model` and `unpriced_only` narrow it."""
    body = given({**scope, "dry_run": dry_run})
    return Call("POST", "/prices/reprice", one(RepriceReport), body=body)


def import_prices(document: Mapping[str, Any], *, dry_run: bool = False) -> Call[PriceImport]:
    """A LiteLLM model_prices document as the organization's prices."""
    params = query({"dry_run": dry_run})
    return Call("POST", "/prices/import", one(PriceImport), params=params, body=dict(document))


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
