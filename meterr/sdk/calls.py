"""Every API operation once, as data: which request to send and how to read its answer.

`Client` sends these with blocking httpx and `AsyncClient` awaits them, so both have the
same operations with the same parameters and answers. An operation of several requests
(reading every page of a list) is a generator of calls: the client sends each call it yields
and sends back the answer, until it returns.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, TypeAdapter, create_model

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
    TrackedEvent,
    UsageEvent,
    UsageSummary,
    Webhook,
)

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

Day = str | date | datetime
Flow = Generator["Call[Any]", Any, T]


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    method: str
    path: str
    read: Callable[[bytes], T]
    params: dict[str, Any] | None = None
    body: Any = None

    def content(self) -> bytes | None:
        """The JSON body; Decimal amounts as JSON numbers, dates as ISO 8601."""
        if self.body is None:
            return None
        return json.dumps(self.body, default=encode, separators=(",", ":")).encode()


def encode(value: object) -> object:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} cannot be sent as JSON")


def _one(model: type[M]) -> Callable[[bytes], M]:
    return model.model_validate_json


def _nothing(_raw: bytes) -> None:
    return None


def _listed(key: str, model: type[M]) -> Callable[[bytes], list[M]]:
    """Reads `{key: [...], ...}` as a list of `model`."""
    wrapper = create_model(f"{model.__name__}Listing", **{key: (list[model], ...)})  # type: ignore[call-overload,valid-type]

    def read(raw: bytes) -> list[M]:
        return list(getattr(wrapper.model_validate_json(raw), key))

    return read


class _CostEntry(ApiObject):
    total: Decimal
    tokens: int
    name: str | None = None
    deleted: bool | None = None


_COST_GROUPS = TypeAdapter(dict[str, _CostEntry])


def _cost_groups(raw: bytes) -> list[CostGroup]:
    return [
        CostGroup(key=key, **entry.model_dump())
        for key, entry in _COST_GROUPS.validate_json(raw).items()
    ]


class _TeamPage(ApiObject):
    teams: list[Team]
    next_cursor: str | None = None


def _query(values: Mapping[str, Any]) -> dict[str, Any]:
    """Query parameters: None left out, dates as ISO 8601, booleans as true/false."""
    query: dict[str, Any] = {}
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, bool):
            query[name] = "true" if value else "false"
        elif isinstance(value, date | datetime):
            query[name] = value.isoformat()
        else:
            query[name] = value
    return query


def _fields(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not None}


# Tracking


def event_body(
    provider: str, model: str, input_tokens: int, output_tokens: int, fields: Mapping[str, Any]
) -> dict[str, Any]:
    """A track body; every event gets an event_id, so that a retried request is a replay."""
    body = {
        "provider": provider,
        "model": model,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        **_fields(fields),
    }
    body.setdefault("event_id", f"sdk_{uuid.uuid4().hex}")
    return body


def track(body: dict[str, Any]) -> Call[TrackedEvent]:
    return Call("POST", "/track", _one(TrackedEvent), body=body)


def track_batch(events: list[Mapping[str, Any]]) -> Call[TrackedBatch]:
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
    return Call("POST", "/track", _one(TrackedBatch), body={"events": bodies})


def event(event_id: str) -> Call[UsageEvent]:
    return Call("GET", f"/usage/events/{event_id}", _one(UsageEvent))


# Queries


def usage(filters: Mapping[str, Any]) -> Call[UsageSummary]:
    return Call("GET", "/usage", _one(UsageSummary), params=_query(filters))


def history(filters: Mapping[str, Any]) -> Call[EventPage]:
    return Call("GET", "/usage/history", _one(EventPage), params=_query(filters))


def all_events(filters: Mapping[str, Any]) -> Flow[list[UsageEvent]]:
    """Every event of a range, newest first, page after page."""
    query = {**filters, "limit": 1000}
    events: list[UsageEvent] = []
    while True:
        page: EventPage = yield history(query)
        events += page.events
        if page.next_cursor is None:
            return events
        query["cursor"] = page.next_cursor


def costs(filters: Mapping[str, Any]) -> Call[list[CostGroup]]:
    return Call("GET", "/costs", _cost_groups, params=_query(filters))


def forecast(filters: Mapping[str, Any]) -> Call[CostForecast]:
    return Call("GET", "/costs/forecast", _one(CostForecast), params=_query(filters))


def backtest(days: int) -> Call[Backtest]:
    return Call("GET", "/costs/forecast/backtest", _one(Backtest), params={"days": days})


# Prices


def prices(provider: str | None) -> Call[list[Price]]:
    return Call("GET", "/prices", _listed("prices", Price), params=_query({"provider": provider}))


def set_price(body: Mapping[str, Any]) -> Call[Price]:
    return Call("POST", "/prices/overrides", _one(Price), body=_fields(body))


def reprice(body: Mapping[str, Any]) -> Call[RepriceReport]:
    return Call("POST", "/prices/reprice", _one(RepriceReport), body=_fields(body))


def import_prices(document: Mapping[str, Any], dry_run: bool) -> Call[PriceImport]:
    return Call(
        "POST",
        "/prices/import",
        _one(PriceImport),
        params=_query({"dry_run": dry_run}),
        body=dict(document),
    )


# Budgets


def budgets() -> Call[list[Budget]]:
    return Call("GET", "/budgets", _listed("budgets", Budget))


def budget(budget_id: str) -> Call[Budget]:
    return Call("GET", f"/budgets/{budget_id}", _one(Budget))


def create_budget(body: Mapping[str, Any]) -> Call[Budget]:
    return Call("POST", "/budgets", _one(Budget), body=_fields(body))


def update_budget(budget_id: str, changes: Mapping[str, Any]) -> Call[Budget]:
    return Call("PATCH", f"/budgets/{budget_id}", _one(Budget), body=dict(changes))


def delete_budget(budget_id: str) -> Call[None]:
    return Call("DELETE", f"/budgets/{budget_id}", _nothing)


def check_budget(scope: Mapping[str, Any]) -> Call[BudgetCheck]:
    return Call("GET", "/budgets/check", _one(BudgetCheck), params=_query(scope))


def reserve(body: Mapping[str, Any]) -> Call[Reservation]:
    return Call("POST", "/budgets/reserve", _one(Reservation), body=_fields(body))


# Teams


def all_teams() -> Flow[list[Team]]:
    teams: list[Team] = []
    query: dict[str, Any] = {"limit": 100}
    while True:
        page: _TeamPage = yield Call("GET", "/teams", _one(_TeamPage), params=dict(query))
        teams += page.teams
        if page.next_cursor is None:
            return teams
        query["cursor"] = page.next_cursor


def team(team_id: str) -> Call[Team]:
    return Call("GET", f"/teams/{team_id}", _one(Team))


def create_team(name: str, description: str | None) -> Call[Team]:
    body = _fields({"name": name, "description": description})
    return Call("POST", "/teams", _one(Team), body=body)


def update_team(team_id: str, changes: Mapping[str, Any]) -> Call[Team]:
    return Call("PATCH", f"/teams/{team_id}", _one(Team), body=dict(changes))


def delete_team(team_id: str) -> Call[None]:
    return Call("DELETE", f"/teams/{team_id}", _nothing)


def invite(team_id: str, email: str, role: str) -> Call[Invitation]:
    body = {"email": email, "role": role}
    return Call("POST", f"/teams/{team_id}/invite", _one(Invitation), body=body)


def remove_member(team_id: str, member_id: str) -> Call[None]:
    return Call("DELETE", f"/teams/{team_id}/members/{member_id}", _nothing)


def accept_invitation(token: str) -> Call[Membership]:
    return Call("POST", f"/invitations/{token}/accept", _one(Membership))


# Providers


def providers() -> Call[list[Provider]]:
    return Call("GET", "/providers", _listed("providers", Provider))


def connection(connection_id: str) -> Call[Connection]:
    return Call("GET", f"/providers/{connection_id}", _one(Connection))


def connect_provider(body: Mapping[str, Any]) -> Call[Connection]:
    return Call("POST", "/providers/connect", _one(Connection), body=_fields(body))


def disconnect_provider(connection_id: str) -> Call[None]:
    return Call("DELETE", f"/providers/{connection_id}", _nothing)


def sync_provider(connection_id: str, start_date: Day, end_date: Day) -> Call[SyncReport]:
    body = {"start_date": start_date, "end_date": end_date}
    return Call("POST", f"/providers/{connection_id}/sync", _one(SyncReport), body=body)


# Webhooks


def webhooks() -> Call[list[Webhook]]:
    return Call("GET", "/webhooks", _listed("webhooks", Webhook))


def create_webhook(url: str, events: list[str] | None, description: str | None) -> Call[Webhook]:
    body = _fields({"url": url, "events": events, "description": description})
    return Call("POST", "/webhooks", _one(Webhook), body=body)


def delete_webhook(webhook_id: str) -> Call[None]:
    return Call("DELETE", f"/webhooks/{webhook_id}", _nothing)


def deliveries(webhook_id: str, limit: int, before: str | None) -> Call[list[Delivery]]:
    params = _query({"limit": limit, "before": before})
    read = _listed("deliveries", Delivery)
    return Call("GET", f"/webhooks/{webhook_id}/deliveries", read, params=params)


def resend_delivery(webhook_id: str, delivery_id: str) -> Call[Delivery]:
    path = f"/webhooks/{webhook_id}/deliveries/{delivery_id}/resend"
    return Call("POST", path, _one(Delivery))
