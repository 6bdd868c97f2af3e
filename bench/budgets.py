"""Tracking under budgets, and reading them: one event's POST with no budget, one, and fifty of
every scope; the budgets list with fifty. Run alone: .venv/bin/python -m bench.budgets"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import platform
import statistics
import sys
import time
from datetime import timedelta
from typing import Any

import httpx

from bench.run import (
    MODELS,
    TEAMS,
    USERS,
    event_body,
    fresh_store,
    meterr_server,
    seed_month,
    with_concurrency,
)
from meterr.auth import Tier
from meterr.clock import SystemClock
from meterr.resolvers import create_key

BUDGET_COUNTS = (0, 1, 50)


def budget_bodies(count: int) -> list[dict[str, Any]]:
    """`count` budgets over the organization, its teams, users and models, of every period,
    none of them blocking (tracking is the same work either way)."""
    scopes: list[dict[str, str]] = [{}]
    scopes += [{"team_id": team} for team in TEAMS]
    scopes += [{"user_id": user} for user in USERS[:24]]
    scopes += [{"model": model} for _, model in MODELS]
    periods = ("month", "day", "week", "total")
    return [
        {
            "name": f"budget {index}",
            "limit": 10**9,
            "period": periods[index % len(periods)],
            **scopes[index % len(scopes)],
        }
        for index in range(count)
    ]


def percentile(timings: list[float], share: float) -> float:
    ordered = sorted(timings)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


async def timed(runs: int, call: Any) -> list[float]:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        timings.append(time.perf_counter() - started)
    return timings


async def bench_tracking_under_budgets(
    url: str, key: str, runs: int, clients: int = 8
) -> dict[str, dict[str, float]]:
    """For 0, 1 and 50 budgets (each set made anew): one event's POST, p50 and p99 in turn,
    events a second from `clients` concurrent clients, and the budgets list's p50 and p99."""
    headers = {"Authorization": f"Bearer {key}"}
    results: dict[str, dict[str, float]] = {}
    sent = itertools.count()
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=600) as http:
        for count in BUDGET_COUNTS:
            for budget in (await http.get("/v1/budgets")).json()["budgets"]:
                (await http.delete(f"/v1/budgets/{budget['id']}")).raise_for_status()
            for body in budget_bodies(count):
                (await http.post("/v1/budgets", json=body)).raise_for_status()

            async def track() -> None:
                body = {**event_body(next(sent)), "team_id": TEAMS[3], "user_id": USERS[1]}
                (await http.post("/v1/track", json=body)).raise_for_status()

            await track()  # the periods' seeds are read once, then kept
            single = await timed(runs, track)
            started = time.perf_counter()
            await with_concurrency(runs * 4, clients, lambda _: track())
            per_second = runs * 4 / (time.perf_counter() - started)

            async def list_budgets() -> None:
                (await http.get("/v1/budgets")).raise_for_status()

            listed = await timed(max(10, runs // 5), list_budgets)
            name = f"{count} budget{'s' if count != 1 else ''}"
            results[name] = {
                "track_p50_ms": statistics.median(single) * 1000,
                "track_p99_ms": percentile(single, 0.99),
                "events_per_s": per_second,
                "list_p50_ms": statistics.median(listed) * 1000,
                "list_p99_ms": percentile(listed, 0.99),
            }
            print(f"  {name}: {results[name]}", file=sys.stderr)
    return results


def print_budgets(results: dict[str, dict[str, float]], events: int) -> None:
    none = results[f"{BUDGET_COUNTS[0]} budgets"]["events_per_s"]
    print(f"\n| beside {events:,} events | track p50 ms | p99 ms | events/s | vs none | "
          "GET /v1/budgets p50 ms | p99 ms |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for name, row in results.items():
        print(
            f"| {name} | {row['track_p50_ms']:.1f} | {row['track_p99_ms']:.1f} | "
            f"{row['events_per_s']:,.0f} | {row['events_per_s'] / none:.2f} | "
            f"{row['list_p50_ms']:.1f} | {row['list_p99_ms']:.1f} |"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000, help="events in the month")
    parser.add_argument("--runs", type=int, default=200, help="single events per budget set")
    parser.add_argument("--mongodb-url", default=None, help="default: a fresh embedded store")
    args = parser.parse_args()
    async with fresh_store(args.mongodb_url) as (url, database, store, _):
        now = SystemClock().now()
        key = await create_key(store, org_name="bench", tier=Tier.ENTERPRISE, now=now)
        # The last thirty days: the current day, week and month of every budget hold some.
        await seed_month(store, key.organization.id, args.events, now - timedelta(days=30))
        async with meterr_server(url, database) as server:
            results = await bench_tracking_under_budgets(server, key.key, args.runs)
    print(f"\nMachine: {platform.platform()}, {os.cpu_count()} cores")
    print_budgets(results, args.events)


if __name__ == "__main__":
    asyncio.run(main())
