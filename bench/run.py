"""Meterr's benchmarks: ingestion over real HTTP and the month's cost query, each set against
what the store itself manages for the same work. Run: .venv/bin/python -m bench.run

Live fan-out to many websocket subscribers is measured on its own, by bench.fanout
(.venv/bin/python -m bench.fanout); tracking under budgets also runs alone as bench.budgets."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import secrets
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from pymongo import AsyncMongoClient
from pymongo.errors import AutoReconnect

from meterr.auth import Tier
from meterr.clock import SystemClock
from meterr.domain import UsageEvent
from meterr.pricing import TokenUsage, compute_cost, load_catalogue
from meterr.resolvers import create_key, rebuild_rollups
from meterr.store import EmbeddedServer, Store
from meterr.store.documents import event_to_document

MODELS = [
    ("openai", "gpt-4o"),
    ("openai", "gpt-4o-mini"),
    ("anthropic", "claude-sonnet-4"),
    ("google", "gemini-2.5-flash"),
    ("mistral", "mistral-large"),
    ("cohere", "command-r-plus"),
]
TEAMS = [f"team_{i}" for i in range(8)]
USERS = [f"user_{i}" for i in range(50)]


def event_body(i: int) -> dict[str, Any]:
    provider, model = MODELS[i % len(MODELS)]
    return {
        "provider": provider,
        "model": model,
        "input_tokens": 1000 + i % 500,
        "output_tokens": 200 + i % 300,
        "endpoint": "/v1/chat/completions",
        "team_id": TEAMS[i % len(TEAMS)],
        "user_id": USERS[i % len(USERS)],
        "metadata": {"feature": f"f{i % 5}"},
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def rate(count: int, work: Callable[[], Awaitable[None]]) -> float:
    started = time.perf_counter()
    await work()
    return count / (time.perf_counter() - started)


async def with_concurrency(total: int, workers: int, one: Callable[[int], Awaitable[None]]) -> None:
    counter = iter(range(total))

    async def worker() -> None:
        for i in counter:
            await one(i)

    await asyncio.gather(*(worker() for _ in range(workers)))


async def until_ready(url: str) -> None:
    """Wait for Meterr at `url` to answer /readyz: ten minutes at most, since a store whose
    rollups are of an earlier layout has them rebuilt before the service is ready."""
    async with httpx.AsyncClient() as http, asyncio.timeout(600):
        while True:
            with contextlib.suppress(httpx.TransportError):
                if (await http.get(f"{url}/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def fresh_store(
    mongodb_url: str | None, kept: str | None = None
) -> AsyncIterator[tuple[str, str, Store, Path]]:
    """A new database, on `mongodb_url` or a fresh embedded store, dropped afterwards: its
    URL, name and Store, and a scratch folder. With `kept`, the database of that name on
    `mongodb_url` is used and left in place, so a large month is seeded once and measured in
    later runs."""
    if kept is not None and mongodb_url is None:
        raise SystemExit("--keep names a database on --mongodb-url")
    with tempfile.TemporaryDirectory() as tmp:
        embedded = None
        url = mongodb_url
        if url is None:
            embedded = EmbeddedServer(Path(tmp))
            url = await embedded.start()
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url, tz_aware=True)
        database = kept or f"meterr_bench_{secrets.token_hex(3)}"
        store = Store(client, client[database])
        await store.ensure_indexes()
        try:
            yield url, database, store, Path(tmp)
        finally:
            if kept is None:
                try:
                    await client.drop_database(database)
                except AutoReconnect:  # a connection idle through a long run may have closed
                    await client.drop_database(database)
            await client.close()
            if embedded is not None:
                await embedded.stop()


@contextlib.asynccontextmanager
async def meterr_process(
    mongodb_url: str, database: str
) -> AsyncIterator[tuple[str, asyncio.subprocess.Process]]:
    """`meterr serve` in a process of its own, ready: its URL and the process."""
    port = free_port()
    env = {**os.environ, "MONGODB_URL": mongodb_url, "METERR_DATABASE": database}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "meterr", "serve", "--port", str(port),
        env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        await until_ready(url)
        yield url, process
    finally:
        process.terminate()
        await process.wait()


@contextlib.asynccontextmanager
async def meterr_server(mongodb_url: str, database: str) -> AsyncIterator[str]:
    async with meterr_process(mongodb_url, database) as (url, _):
        yield url


async def bench_ingestion(
    store: Store, url: str, key: str, args: argparse.Namespace
) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {key}"}
    results: dict[str, float] = {}
    connector = aiohttp.TCPConnector(limit=args.clients)
    async with aiohttp.ClientSession(url, headers=headers, connector=connector) as http:

        async def post_one(i: int) -> None:
            async with http.post("/v1/track", json=event_body(i)) as response:
                response.raise_for_status()
                await response.read()

        await with_concurrency(200, args.clients, post_one)  # warm-up
        results["http_single"] = await rate(
            args.single, lambda: with_concurrency(args.single, args.clients, post_one)
        )

        async def post_batch(b: int) -> None:
            events = [event_body(b * 1000 + i) for i in range(1000)]
            async with http.post("/v1/track", json={"events": events}) as response:
                response.raise_for_status()
                await response.read()

        batches = args.batches
        results["http_batch"] = await rate(
            batches * 1000, lambda: with_concurrency(batches, 2, post_batch)
        )

    # The store's own ceiling for the same documents, on a collection with the same indexes.
    bare = store.db["bare_events"]
    await bare.drop()
    await bare.create_indexes(list(store.events.indexes))
    docs = [bare_document(i) for i in range(args.single + batches * 1000)]

    async def insert_one(i: int) -> None:
        await bare.insert_one(docs[i])

    results["bare_insert_one"] = await rate(
        args.single, lambda: with_concurrency(args.single, args.clients, insert_one)
    )

    async def insert_many(b: int) -> None:
        start = args.single + b * 1000
        await bare.insert_many(docs[start : start + 1000], ordered=False)

    results["bare_insert_many"] = await rate(
        batches * 1000, lambda: with_concurrency(batches, 2, insert_many)
    )
    return results


def bare_document(i: int) -> dict[str, Any]:
    body = event_body(i)
    now = datetime.now(UTC)
    event = UsageEvent(
        id=f"evt_{secrets.token_hex(12)}",
        org_id="org_bare",
        event_id=f"gen_{secrets.token_hex(12)}",
        fingerprint=secrets.token_hex(32),
        timestamp=now,
        received_at=now,
        provider=body["provider"],
        model=body["model"],
        endpoint=body["endpoint"],
        team_id=body["team_id"],
        user_id=body["user_id"],
        api_key_id="key_bare",
        metadata=body["metadata"],
        tokens=TokenUsage(body["input_tokens"], body["output_tokens"]),
        cost=None,
        price=None,
    )
    return event_to_document(event)


async def seed_month(
    store: Store,
    org_id: str,
    count: int,
    month: datetime,
    body_of: Callable[[int], dict[str, Any]] = event_body,
) -> None:
    """`count` priced events spread over one month, and their rollups (by `rollups rebuild`)."""
    catalogue = load_catalogue()
    seconds = 30 * 24 * 3600
    batch: list[UsageEvent] = []
    for i in range(count):
        body = body_of(i)
        at = month + timedelta(seconds=(i * 7919) % seconds)
        tokens = TokenUsage(body["input_tokens"], body["output_tokens"])
        price = catalogue.lookup(body["provider"], body["model"], at)
        batch.append(
            UsageEvent(
                id=f"evt_{org_id[-8:]}_{i:012d}", org_id=org_id, event_id=f"seed_{i}",
                fingerprint="seed",
                timestamp=at, received_at=at, provider=body["provider"], model=body["model"],
                endpoint=body["endpoint"], team_id=body["team_id"], user_id=body["user_id"],
                api_key_id="key_seed", metadata=body["metadata"], tokens=tokens,
                cost=compute_cost(tokens, price) if price else None, price=None,
            )
        )  # fmt: skip
        if len(batch) == 10_000 or i == count - 1:
            await store.events.collection.insert_many([event_to_document(e) for e in batch])
            batch = []
            print(f"\r  seeded {i + 1:,} events", end="", file=sys.stderr, flush=True)
    started = time.perf_counter()
    [report] = await rebuild_rollups(store, org_id)
    print(
        f"\n  rollups rebuilt from raw events: {report.rollups:,} cells "
        f"in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )


async def bench_costs(
    store: Store, url: str, key: str, org_id: str, args: argparse.Namespace
) -> dict[str, float]:
    month = datetime(2025, 3, 1, tzinfo=UTC)
    await seed_month(store, org_id, args.events, month)
    headers = {"Authorization": f"Bearer {key}"}
    params = {"start_date": "2025-03-01", "end_date": "2025-03-31", "group_by": "provider"}
    timings: list[float] = []
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120) as http:
        for _ in range(10):  # warm-up, not counted: connections, caches, the store settling
            (await http.get("/v1/costs", params=params)).raise_for_status()
        answer = None
        for _ in range(args.query_runs):
            started = time.perf_counter()
            response = await http.get("/v1/costs", params=params)
            timings.append(time.perf_counter() - started)
            response.raise_for_status()
            answer = response.json()
    bare_timings = []
    for _ in range(args.bare_runs):
        started = time.perf_counter()
        window = {"$gte": month, "$lt": datetime(2025, 4, 1, tzinfo=UTC)}
        sums = {
            "cost": {"$sum": "$cost_nano"},
            "in": {"$sum": "$input_tokens"},
            "out": {"$sum": "$output_tokens"},
        }
        cursor = await store.events.collection.aggregate(
            [
                {"$match": {"org_id": org_id, "ts": window}},
                {"$group": {"_id": "$provider", **sums}},
            ]
        )
        bare = await cursor.to_list()
        bare_timings.append(time.perf_counter() - started)
    bare_total = sum(row["cost"] for row in bare)
    served_total = sum(group["total"] for group in (answer or {}).values())
    assert abs(bare_total / 1e9 - served_total) < 1e-3, (bare_total, served_total)
    if args.verbose:
        print("  query times (ms):", [round(t * 1000, 1) for t in timings], file=sys.stderr)
    timings.sort()
    return {
        "costs_p50_ms": statistics.median(timings) * 1000,
        "costs_p99_ms": timings[min(len(timings) - 1, int(len(timings) * 0.99))] * 1000,
        "bare_group_ms": statistics.median(bare_timings) * 1000,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--single", type=int, default=5000, help="single-event requests")
    parser.add_argument("--clients", type=int, default=32, help="concurrent HTTP clients")
    parser.add_argument("--batches", type=int, default=20, help="batches of 1,000 events")
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the month")
    parser.add_argument("--query-runs", type=int, default=100)
    parser.add_argument("--bare-runs", type=int, default=3)
    parser.add_argument("--mongodb-url", default=None, help="default: a fresh embedded store")
    parser.add_argument("--budget-runs", type=int, default=100, help="tracked events per shape")
    parser.add_argument("--skip-ingestion", action="store_true", help="only the cost questions")
    parser.add_argument("--verbose", action="store_true", help="print every query time")
    parser.add_argument(
        "--team-events", type=int, default=100_000, help="events of the 50 teams' month"
    )
    parser.add_argument("--team-runs", type=int, default=100, help="runs of each teams list")
    parser.add_argument("--only-teams", action="store_true", help="only the teams list")
    args = parser.parse_args()
    from bench.teams import bench_teams, main_teams, print_teams  # they import this

    if args.only_teams:
        await main_teams(args)
        return

    from bench.budgets import bench_tracking_under_budgets, print_budgets  # it imports this
    from bench.questions import bench_questions, print_questions  # it imports this

    async with fresh_store(args.mongodb_url) as (url, database, store, tmp):
        key = await create_key(
            store, org_name="bench", tier=Tier.ENTERPRISE, now=SystemClock().now()
        )
        async with meterr_server(url, database) as server:
            ingest = None
            if not args.skip_ingestion:
                print("ingestion…", file=sys.stderr)
                ingest = await bench_ingestion(store, server, key.key, args)
            print("cost query…", file=sys.stderr)
            query_org = await create_key(
                store, org_name="bench-month", tier=Tier.ENTERPRISE, now=SystemClock().now()
            )
            costs = await bench_costs(store, server, query_org.key, query_org.organization.id, args)
            print("every shape of question…", file=sys.stderr)
            questions = await bench_questions(
                store, server, query_org.key, query_org.organization.id, args.query_runs,
                args.bare_runs,
            )  # fmt: skip
            print("tracking under budgets…", file=sys.stderr)
            budgeted = await bench_tracking_under_budgets(server, query_org.key, args.budget_runs)
        print("teams list…", file=sys.stderr)
        teams = await bench_teams(store, url, database, tmp / "meterr", args)

    machine = f"{platform.platform()}, {os.cpu_count()} cores"
    print(f"\nMachine: {machine}, Python {platform.python_version()}")
    print(f"Store: {'embedded SecantusDB' if args.mongodb_url is None else args.mongodb_url}\n")
    print("| measure | Meterr | store alone | ratio | aim |")
    print("|---|---|---|---|---|")
    if ingest is not None:
        print_ingestion(ingest, args)
    print(
        f"| /v1/costs, month of {args.events:,} events (p50 ms) | {costs['costs_p50_ms']:.1f} | "
        f"{costs['bare_group_ms']:.0f} (bare $group) | "
        f"{costs['bare_group_ms'] / costs['costs_p50_ms']:.0f}× faster | ≥ 20× |"
    )
    print(f"| /v1/costs p99 (ms) | {costs['costs_p99_ms']:.1f} | | | < 50 |")
    print_questions(questions, args.events)
    print_budgets(budgeted, args.events)
    print_teams(teams, args)


def print_ingestion(ingest: dict[str, float], args: argparse.Namespace) -> None:
    print(
        f"| single events, {args.clients} clients (events/s) | {ingest['http_single']:,.0f} | "
        f"{ingest['bare_insert_one']:,.0f} (insert_one) | "
        f"{ingest['http_single'] / ingest['bare_insert_one']:.2f} | ≥ 1.0 (0.5 at least) |"
    )
    print(
        f"| batches of 1,000 (events/s) | {ingest['http_batch']:,.0f} | "
        f"{ingest['bare_insert_many']:,.0f} (insert_many) | "
        f"{ingest['http_batch'] / ingest['bare_insert_many']:.2f} | ≥ 0.8 |"
    )


if __name__ == "__main__":
    asyncio.run(main())
