"""GET /v1/costs/forecast over stored usage: the weekly rhythm carried forward, the month
projected, groups forecast apart."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from meterr.clock import SettableClock
from tests.conftest import SUITE_NOW, KeyFactory, bearer


@pytest.fixture(scope="module")
def clock() -> SettableClock:
    """Frozen, so that two answers computed a moment apart share one "now"."""
    return SettableClock(SUITE_NOW, frozen=True)


def history(days: int, today: date) -> list[dict[str, Any]]:
    """Ten gpt-4o calls of 1M input tokens ($2.50 each) each weekday, two on weekends, for
    the complete days before today; and one Anthropic call a day ($1)."""
    events = []
    for back in range(days, 0, -1):
        day = today - timedelta(days=back)
        at = datetime.combine(day, time(12), UTC).isoformat()
        calls = 2 if day.weekday() >= 5 else 10
        events += [
            {"provider": "openai", "model": "gpt-4o", "input_tokens": 1_000_000, "timestamp": at}
        ] * calls
        events.append(
            {"provider": "anthropic", "model": "claude-3-haiku", "input_tokens": 4_000_000,
             "timestamp": at}
        )  # fmt: skip
    return events


async def track(client: httpx.AsyncClient, key: str, events: list[dict[str, Any]]) -> None:
    for start in range(0, len(events), 1000):
        response = await client.post(
            "/v1/track", headers=bearer(key), json={"events": events[start : start + 1000]}
        )
        assert response.status_code == 201, response.text


async def test_the_forecast_carries_the_weekly_rhythm_and_projects_the_month(
    client: httpx.AsyncClient, make_key: KeyFactory, clock: SettableClock
) -> None:
    key = await make_key()
    await track(client, key, history(42, clock.now().date()))
    response = await client.get(
        "/v1/costs/forecast", headers=bearer(key), params={"horizon": 14, "group_by": "provider"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["method"], body["history_days"]) == ("trend+weekly", 42)
    assert len(body["forecast"]) == 14
    for day in body["forecast"]:
        weekend = datetime.fromisoformat(day["date"]).weekday() >= 5
        assert abs(day["cost"] - (6.0 if weekend else 26.0)) < 0.1, day
        assert day["low95"] <= day["low80"] <= day["cost"] <= day["high80"] <= day["high95"]
    openai = body["groups"]["openai"]
    assert abs(openai["forecast"][0]["cost"] - body["forecast"][0]["cost"] + 1.0) < 0.01

    now = clock.now()
    today = now.date()
    month_days = [d for d in body["history"] if d["date"] >= today.replace(day=1).isoformat()]
    spent = sum(d["cost"] for d in month_days)
    assert abs(body["month_to_date"] - spent) < 0.01
    # The month's rest, today's included, lies within the 14 days forecast.
    next_month = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    assert (next_month - today).days <= 14
    rest_of_today = 1 - (now - datetime.combine(today, time(), UTC)) / timedelta(days=1)
    [today_forecast, *following] = [
        d["cost"] for d in body["forecast"] if d["date"] < next_month.isoformat()
    ]
    month_end = body["month_end"]
    expected = spent + rest_of_today * today_forecast + sum(following)
    assert abs(month_end["expected"] - expected) < 0.001
    assert spent <= month_end["low95"] <= month_end["low80"] <= month_end["expected"]
    assert month_end["expected"] <= month_end["high80"] <= month_end["high95"]


async def test_short_and_empty_histories_give_sensible_forecasts(
    client: httpx.AsyncClient, make_key: KeyFactory, clock: SettableClock
) -> None:
    key = await make_key()
    empty = (await client.get("/v1/costs/forecast", headers=bearer(key))).json()
    assert (empty["method"], empty["history_days"]) == ("none", 0)
    assert {day["cost"] for day in empty["forecast"]} == {0.0}
    assert len(empty["forecast"]) == 30

    await track(client, key, history(3, clock.now().date()))
    short = (
        await client.get("/v1/costs/forecast", headers=bearer(key), params={"horizon": 3})
    ).json()
    assert (short["method"], short["history_days"]) == ("level", 3)
    assert all(day["cost"] > 0 for day in short["forecast"])


async def test_bad_forecast_parameters_are_refused_naming_them(
    client: httpx.AsyncClient, make_key: KeyFactory, clock: SettableClock
) -> None:
    key = await make_key()
    future = (clock.now().date() + timedelta(days=3)).isoformat()
    for params, field in (
        ({"horizon": 0}, "horizon"),
        ({"horizon": 1000}, "horizon"),
        ({"horizon": "soon"}, "horizon"),
        ({"group_by": "day"}, "group_by"),
        ({"group_by": "colour"}, "group_by"),
        ({"start_date": "2025-13-01"}, "start_date"),
        ({"start_date": future}, "start_date"),
        ({"tz": "Mars/Olympus_Mons"}, "tz"),
    ):
        response = await client.get("/v1/costs/forecast", headers=bearer(key), params=params)
        assert response.status_code == 400, params
        assert field in response.json()["error"]["details"]["fields"], params


async def test_graphql_forecasts_the_same_numbers(
    client: httpx.AsyncClient, make_key: KeyFactory, clock: SettableClock
) -> None:
    key = await make_key()
    await track(client, key, history(21, clock.now().date()))
    params: dict[str, str | int] = {"horizon": 7, "tz": "America/New_York"}
    rest = (await client.get("/v1/costs/forecast", headers=bearer(key), params=params)).json()
    query = """
    { costForecast(horizon: 7, groupBy: PROVIDER, tz: "America/New_York") {
        timezone today
        total {
          method historyDays
          forecast { date cost { value } low80 { value } high80 { value } }
          monthEnd { expected { amount value currency } }
        }
        groups { key }
    } }
    """
    response = await client.post("/graphql", headers=bearer(key), json={"query": query})
    body = response.json()
    assert "errors" not in body, body
    forecast = body["data"]["costForecast"]
    assert (forecast["timezone"], forecast["today"]) == (rest["timezone"], rest["today"])
    assert rest["today"] == clock.now().astimezone(ZoneInfo("America/New_York")).date().isoformat()
    assert forecast["total"]["method"] == rest["method"]
    assert [
        (d["cost"]["value"], d["low80"]["value"], d["high80"]["value"])
        for d in forecast["total"]["forecast"]
    ] == [(d["cost"], d["low80"], d["high80"]) for d in rest["forecast"]]
    expected = forecast["total"]["monthEnd"]["expected"]
    assert expected["value"] == rest["month_end"]["expected"] == float(expected["amount"])
    assert expected["currency"] == "USD"
    assert {g["key"] for g in forecast["groups"]} == {"openai", "anthropic"}


async def test_the_backtest_replays_the_organizations_own_history(
    client: httpx.AsyncClient, make_key: KeyFactory, clock: SettableClock
) -> None:
    key = await make_key()
    await track(client, key, history(35, clock.now().date()))
    response = await client.get(
        "/v1/costs/forecast/backtest", headers=bearer(key), params={"days": 14}
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["days"] == 14
    assert report["mape"] < 0.05, "a perfectly regular rhythm is forecast almost exactly"
    bad = await client.get("/v1/costs/forecast/backtest", headers=bearer(key), params={"days": 0})
    assert bad.status_code == 400


async def test_a_budget_shows_its_forecast_and_warns_once_before_it_runs_out(
    client: httpx.AsyncClient, make_key: KeyFactory, clock: SettableClock
) -> None:
    key = await make_key()
    await track(client, key, history(42, clock.now().date()))
    outlook = (await client.get("/v1/costs/forecast", headers=bearer(key))).json()
    spent, heading_to = outlook["month_to_date"], outlook["month_end"]["expected"]
    assert heading_to > spent
    limit = round((spent + heading_to) / 2, 2)
    created = await client.post(
        "/v1/budgets", headers=bearer(key), json={"name": "Month", "limit": limit}
    )
    budget = created.json()
    assert budget["exceeded"] is False
    forecast = budget["forecast"]
    assert forecast["period_end"] > limit
    assert budget["period_start"][:10] <= forecast["exceeds_on"] < budget["period_end"][:10]

    await client.get(f"/v1/budgets/{budget['id']}", headers=bearer(key))
    warnings = (
        await client.get(
            "/v1/events", headers=bearer(key), params={"type": "budget.forecast_exceeded"}
        )
    ).json()["events"]
    assert len(warnings) == 1, "once per period"
    assert warnings[0]["data"]["exceeds_on"] == forecast["exceeds_on"]
    assert warnings[0]["data"]["limit"] == limit

    roomy = await client.post(
        "/v1/budgets",
        headers=bearer(key),
        json={"name": "Roomy", "limit": round(heading_to * 3, 2)},
    )
    assert roomy.status_code == 201, roomy.text
    assert roomy.json()["forecast"]["exceeds_on"] is None
