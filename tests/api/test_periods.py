"""Forecasts and budgets at the edges of their periods, in their own zones, under a pinned
clock: the month's end and every budget's period end projected by one rule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from meterr.clock import SettableClock
from tests.conftest import SUITE_NOW, KeyFactory, bearer

INSTANTS = {
    "mid-period": "2026-06-17T10:00:00Z",
    "month-last-day-0900": "2026-11-30T09:00:00Z",
    "month-last-day-2100": "2026-11-30T21:00:00Z",
    "year-last-day": "2026-12-31T21:00:00Z",
    "leap-day": "2028-02-29T12:00:00Z",
    "new-york-spring": "2027-03-14T12:00:00Z",
    "new-york-autumn": "2026-11-01T12:00:00Z",
    "berlin-spring": "2027-03-28T12:00:00Z",
    "berlin-autumn": "2026-10-25T12:00:00Z",
}
ZONES = ("UTC", "America/New_York", "Asia/Kolkata", "Europe/Berlin")
# The zone each instant is an edge for, where its short histories are tried.
EDGE_ZONE = {
    "mid-period": "UTC",
    "month-last-day-0900": "UTC",
    "month-last-day-2100": "Asia/Kolkata",  # already the first of December there
    "year-last-day": "Europe/Berlin",  # already the new year there
    "leap-day": "UTC",
    "new-york-spring": "America/New_York",
    "new-york-autumn": "America/New_York",
    "berlin-spring": "Europe/Berlin",
    "berlin-autumn": "Europe/Berlin",
}
MONTHS_OF_HISTORY = 60
HISTORIES = {"no-history": 0, "one-day": 1, "months": MONTHS_OF_HISTORY}
# Where the zone moves the date itself (the month's or the year's last evening in UTC), every
# zone is tried as well.
ACROSS_ZONES = ("month-last-day-0900", "month-last-day-2100", "year-last-day")
CASES = [
    pytest.param(name, EDGE_ZONE[name], days, id=f"{name}-{EDGE_ZONE[name]}-{label}")
    for name in INSTANTS
    for label, days in HISTORIES.items()
] + [
    pytest.param(name, zone, MONTHS_OF_HISTORY, id=f"{name}-{zone}-months")
    for name in ACROSS_ZONES
    for zone in ZONES
    if zone != EDGE_ZONE[name]
]
ROOMY = 1_000_000


@pytest.fixture(scope="module")
def clock() -> SettableClock:
    return SettableClock(SUITE_NOW, frozen=True)


@dataclass(frozen=True)
class Spend:
    """One tracked call: when, and its exact cost."""

    at: datetime
    usd: Decimal


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), zone).astimezone(UTC)


def tracked_history(now: datetime, zone: ZoneInfo, days: int) -> tuple[list[Any], list[Spend]]:
    """Each of the `days` local days before today: 4M gpt-4o input tokens ($10) on weekdays
    and 1M ($2.50) at weekends at local noon, and 4M claude-3-haiku ($1); then, with any
    history, one $2.50 call today, half-way between local midnight and now."""
    today = now.astimezone(zone).date()
    bodies: list[Any] = []
    spends: list[Spend] = []

    def call(provider: str, model: str, tokens: int, at: datetime, usd: str) -> None:
        stamp = at.astimezone(UTC).isoformat().replace("+00:00", "Z")
        bodies.append(
            {"provider": provider, "model": model, "input_tokens": tokens, "timestamp": stamp}
        )
        spends.append(Spend(at, Decimal(usd)))

    for back in range(days, 0, -1):
        day = today - timedelta(days=back)
        noon = datetime.combine(day, time(12), zone)
        weekend = day.weekday() >= 5
        call(
            "openai",
            "gpt-4o",
            1_000_000 if weekend else 4_000_000,
            noon,
            "2.5" if weekend else "10",
        )
        call("anthropic", "claude-3-haiku", 4_000_000, noon, "1")
    if days:
        midnight = local_midnight(today, zone)
        call("openai", "gpt-4o", 1_000_000, midnight + (now - midnight) / 2, "2.5")
    return bodies, spends


def spent_between(spends: list[Spend], start: datetime, end: datetime) -> float:
    return float(sum((s.usd for s in spends if start <= s.at < end), Decimal(0)))


def period_days(period: str, today: date) -> tuple[date, date]:
    """The first and last local day of the period holding `today`."""
    if period == "day":
        return today, today
    if period == "week":
        monday = today - timedelta(days=today.weekday())
        return monday, monday + timedelta(days=6)
    first = today.replace(day=1)
    return first, (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def projected(
    spent: float, forecast: dict[str, float], today: date, last: date, rest: float
) -> tuple[float, list[tuple[date, float]]]:
    """The rule as a reader of the API would apply it: what is spent, the rest of today's
    forecast, each following day's to the last; with the running total by day."""
    total, running = spent + rest * forecast[today.isoformat()], []
    running.append((today, total))
    day = today + timedelta(days=1)
    while day <= last:
        total += forecast[day.isoformat()]
        running.append((day, total))
        day += timedelta(days=1)
    return total, running


@pytest.mark.parametrize(("instant", "zone_name", "history_days"), CASES)
async def test_the_month_and_every_budget_period_are_projected_by_one_rule_in_their_zone(
    client: httpx.AsyncClient,
    make_key: KeyFactory,
    clock: SettableClock,
    instant: str,
    zone_name: str,
    history_days: int,
) -> None:
    now = datetime.fromisoformat(INSTANTS[instant])
    clock.set(now, frozen=True)
    zone = ZoneInfo(zone_name)
    today = now.astimezone(zone).date()
    midnight, next_midnight = (local_midnight(today + timedelta(days=k), zone) for k in (0, 1))
    rest = (next_midnight - now) / (next_midnight - midnight)
    key = await make_key()
    bodies, spends = tracked_history(now, zone, history_days)
    if bodies:
        tracked = await client.post("/v1/track", headers=bearer(key), json={"events": bodies})
        assert tracked.status_code == 201, tracked.text

    answer = await client.get(
        "/v1/costs/forecast",
        headers=bearer(key),
        params={"tz": zone_name, "horizon": 40, "group_by": "provider"},
    )
    assert answer.status_code == 200, answer.text
    outlook = answer.json()
    assert (outlook["timezone"], outlook["today"]) == (zone_name, today.isoformat())
    assert outlook["forecast"][0]["date"] == today.isoformat()
    daily = {day["date"]: day["cost"] for day in outlook["forecast"]}
    month_first, month_last = period_days("month", today)
    month_spent = spent_between(spends, local_midnight(month_first, zone), next_midnight)
    assert outlook["month_to_date"] == pytest.approx(month_spent, abs=1e-6)
    month_end, _ = projected(month_spent, daily, today, month_last, rest)
    assert outlook["month_end"]["expected"] == pytest.approx(month_end, abs=1e-4)
    for series in (outlook, *outlook.get("groups", {}).values()):
        ends = series["month_end"]
        assert series["month_to_date"] <= ends["low95"] <= ends["low80"] <= ends["expected"]
        assert ends["expected"] <= ends["high80"] <= ends["high95"]

    for period in ("day", "week", "month"):
        first, last = period_days(period, today)
        start, end = local_midnight(first, zone), local_midnight(last + timedelta(days=1), zone)
        body = {"name": period, "limit": ROOMY, "period": period, "timezone": zone_name}
        created = await client.post("/v1/budgets", headers=bearer(key), json=body)
        assert created.status_code == 201, created.text
        budget = created.json()
        assert budget["period_start"] == start.isoformat().replace("+00:00", "Z")
        assert budget["period_end"] == end.isoformat().replace("+00:00", "Z")
        current = spent_between(spends, start, end)
        assert budget["current"] == pytest.approx(current, abs=1e-6)
        heading_to, running = projected(budget["current"], daily, today, last, rest)
        assert budget["forecast"]["period_end"] == pytest.approx(heading_to, abs=1e-4)
        assert budget["forecast"]["exceeds_on"] is None
        if heading_to - current < 0.01:
            continue
        limit = round((current + heading_to) / 2, 4)
        patched = await client.patch(
            f"/v1/budgets/{budget['id']}", headers=bearer(key), json={"limit": limit}
        )
        assert patched.status_code == 200, patched.text
        crossing = next(day for day, total in running if total >= limit)
        assert patched.json()["forecast"]["exceeds_on"] == crossing.isoformat()
        assert first <= crossing <= last

    warnings = await client.get(
        "/v1/events", headers=bearer(key), params={"type": "budget.forecast_exceeded"}
    )
    for warning in warnings.json()["events"]:
        first, last = period_days(warning["data"]["period"], today)
        assert first.isoformat() <= warning["data"]["exceeds_on"] <= last.isoformat()


@pytest.mark.parametrize("instant", ["month-last-day-0900", "month-last-day-2100"])
async def test_a_steady_daily_spend_under_a_daily_limit_is_never_forecast_to_exceed_it(
    client: httpx.AsyncClient, make_key: KeyFactory, clock: SettableClock, instant: str
) -> None:
    now = datetime.fromisoformat(INSTANTS[instant])
    clock.set(now, frozen=True)
    today = now.date()
    key = await make_key()
    # $26 a day, as 26 calls of $1 spread over the hours: today's so far included.
    calls = [
        local_midnight(today - timedelta(days=back), ZoneInfo("UTC")) + timedelta(hours=24 * k / 26)
        for back in range(30, -1, -1)
        for k in range(26)
    ]
    events = [
        {
            "provider": "openai",
            "model": "gpt-4o",
            "input_tokens": 400_000,
            "timestamp": at.isoformat(),
        }
        for at in calls
        if at < now
    ]
    for start in range(0, len(events), 1000):
        batch = {"events": events[start : start + 1000]}
        assert (await client.post("/v1/track", headers=bearer(key), json=batch)).status_code == 201
    daily = {"name": "Daily", "limit": 30, "period": "day"}
    budget = (await client.post("/v1/budgets", headers=bearer(key), json=daily)).json()
    assert budget["current"] == pytest.approx(
        sum(1 for at in calls if today <= at.date() and at < now)
    )
    assert budget["forecast"]["period_end"] == pytest.approx(26.0, abs=1.0)
    assert budget["forecast"]["exceeds_on"] is None
    warnings = await client.get(
        "/v1/events", headers=bearer(key), params={"type": "budget.forecast_exceeded"}
    )
    assert warnings.json()["events"] == []
