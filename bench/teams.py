"""The teams list over a month of events: 50 teams, their members and month's spend, by REST
and GraphQL. Run: .venv/bin/python -m bench.run --only-teams"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from bench.run import MODELS, event_body, free_port, fresh_store, seed_month, until_ready
from meterr.app import create_app
from meterr.auth import Tier
from meterr.clock import SettableClock
from meterr.config import Settings
from meterr.resolvers import create_key
from meterr.store import Store

TEAMS_QUERY = """{ teams(first: 100) { nodes { id name description createdAt updatedAt
  members { id email role joinedAt }
  spendThisMonth { requests inputTokens outputTokens tokens total totalExact unpricedRequests }
} pageInfo { hasNextPage endCursor } } }"""
TEAM_NAMES_QUERY = "{ teams(first: 100) { nodes { id name } } }"


@contextlib.asynccontextmanager
async def meterr_in_process(
    mongodb_url: str, database: str, store: Store, clock: SettableClock, data_dir: Path
) -> AsyncIterator[str]:
    """Meterr behind uvicorn in this process, on the bench's store and set to `clock`'s time
    (`meterr serve` runs on the machine's clock only)."""
    settings = Settings(mongodb_url=mongodb_url, database=database, data_dir=data_dir)
    port = free_port()
    app = create_app(settings, store=store, clock=clock)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    url = f"http://127.0.0.1:{port}"
    await until_ready(url)
    try:
        yield url
    finally:
        server.should_exit = True
        await task


async def bench_teams(
    store: Store, mongodb_url: str, database: str, data_dir: Path, args: argparse.Namespace
) -> dict[str, float]:
    """p50 and p99 of the list of 50 teams, each with two members and its month's spend, late
    on the last day of a month of `--team-events` events spread over the 50 teams (and 6 models
    each), by REST and by GraphQL; and GraphQL selecting the teams' names only."""
    month = datetime(2025, 3, 1, tzinfo=UTC)
    clock = SettableClock(datetime(2025, 3, 31, 22, tzinfo=UTC))
    made = await create_key(store, org_name="bench-teams", tier=Tier.ENTERPRISE, now=clock.now())
    headers = {"Authorization": f"Bearer {made.key}"}
    results: dict[str, float] = {}
    async with (
        meterr_in_process(mongodb_url, database, store, clock, data_dir) as url,
        httpx.AsyncClient(base_url=url, headers=headers, timeout=600) as http,
    ):
        team_ids = []
        for t in range(50):
            created = await http.post("/v1/teams", json={"name": f"Team {t:02d}"})
            team_ids.append(created.raise_for_status().json()["id"])
            for m in range(2):
                invited = await http.post(
                    f"/v1/teams/{team_ids[-1]}/invite", json={"email": f"m{m}.t{t}@bench.io"}
                )
                token = invited.raise_for_status().json()["token"]
                (await http.post(f"/v1/invitations/{token}/accept")).raise_for_status()

        def body_of(i: int) -> dict[str, Any]:
            # Scrambled, so that each day sees every team with every model (9,000 cells by
            # 100,000 events, 8,788 by 20,000): the team's share of `i` would repeat with its
            # time and leave most pairs of a day empty.
            mixed = (i * 2654435761) % 2**32
            provider, model = MODELS[(mixed // len(team_ids)) % len(MODELS)]
            team_id = team_ids[mixed % len(team_ids)]
            return {**event_body(i), "provider": provider, "model": model, "team_id": team_id}

        await seed_month(store, made.organization.id, args.team_events, month, body_of)
        cells = await store.rollups.collection.count_documents(
            {"org_id": made.organization.id, "family": "team", "grain": "day"}
        )
        print(f"  the month's spend of the 50 teams is in {cells:,} day cells", file=sys.stderr)
        asked: dict[str, Callable[[], Awaitable[httpx.Response]]] = {
            "GET /v1/teams": lambda: http.get("/v1/teams"),
            "GraphQL teams, members and spend": lambda: http.post(
                "/graphql", json={"query": TEAMS_QUERY}
            ),
            "GraphQL teams, names only": lambda: http.post(
                "/graphql", json={"query": TEAM_NAMES_QUERY}
            ),
        }
        for name, ask in asked.items():
            timings = []
            for run in range(args.team_runs + 3):
                started = time.perf_counter()
                response = (await ask()).raise_for_status()
                if run >= 3:  # the first three warm up
                    timings.append(time.perf_counter() - started)
            answer = response.json()
            teams = answer["teams"] if "teams" in answer else answer["data"]["teams"]["nodes"]
            assert "errors" not in answer, answer
            assert len(teams) == 50, answer
            timings.sort()
            results[f"{name} p50"] = statistics.median(timings) * 1000
            results[f"{name} p99"] = timings[min(len(timings) - 1, int(len(timings) * 0.99))] * 1000
            print(f"  {name}: p50 {results[f'{name} p50']:.1f} ms", file=sys.stderr)
        listed = (await asked["GET /v1/teams"]()).json()["teams"]
        seeded = (body_of(i) for i in range(args.team_events))
        tokens = sum(body["input_tokens"] + body["output_tokens"] for body in seeded)
        assert sum(team["spend_this_month"]["tokens"] for team in listed) == tokens
    return results


async def main_teams(args: argparse.Namespace) -> None:
    """The teams list alone, on a fresh store (or `--mongodb-url`)."""
    async with fresh_store(args.mongodb_url) as (url, database, store, tmp):
        print("teams list…", file=sys.stderr)
        teams = await bench_teams(store, url, database, tmp / "meterr", args)
    print(f"\nMachine: {platform.platform()}, {os.cpu_count()} cores")
    print(f"Store: {'embedded SecantusDB' if args.mongodb_url is None else args.mongodb_url}")
    print_teams(teams, args)


def print_teams(teams: dict[str, float], args: argparse.Namespace) -> None:
    print(f"\n| 50 teams, a month of {args.team_events:,} events | p50 ms | p99 ms | aim |")
    print("|---|---|---|---|")
    for name in ("GET /v1/teams", "GraphQL teams, members and spend", "GraphQL teams, names only"):
        p50, p99 = teams[f"{name} p50"], teams[f"{name} p99"]
        print(f"| {name} | {p50:.1f} | {p99:.1f} | p99 < 100 |")
