"""Operations on usage, costs, forecasts and prices."""

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
    one,
    query,
)
from meterr.sdk.models import (
    Backtest,
    CostForecast,
    CostGroup,
    EventPage,
    Price,
    PriceImport,
    RepriceReport,
    TrackedBatch,
    UsageEvent,
    UsageSummary,
)

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
