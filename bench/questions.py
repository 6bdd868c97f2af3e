"""Every shape of cost question over a month of events: p50 and p99 through Meterr's HTTP API,
the same question as a bare $group on the raw events, and whether rollups or raw events
answered (X-Meterr-Source). Run: .venv/bin/python -m bench.questions --events 1000000"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from meterr.auth import Tier
from meterr.clock import SystemClock
from meterr.resolvers import create_key
from meterr.store import Store

MONTH = datetime(2025, 3, 1, tzinfo=UTC)
_END = datetime(2025, 4, 1, tzinfo=UTC)
_DAY = {"$dateTrunc": {"date": "$ts", "unit": "day"}}


@dataclass(frozen=True)
class Question:
    """One question: its /v1/costs parameters, and the same as a filter and a group key on
    the raw events."""

    name: str
    params: dict[str, str]
    match: dict[str, Any] = field(default_factory=dict)
    group: Any = "$provider"


QUESTIONS = [
    Question("by provider", {}),
    Question("team_id=team_3", {"team_id": "team_3"}, {"team_id": "team_3"}),
    Question("model=gpt-4o", {"model": "gpt-4o"}, {"model": "gpt-4o"}),
    Question("user_id=user_7", {"user_id": "user_7"}, {"user_id": "user_7"}),
    Question(
        "provider=openai, by model",
        {"provider": "openai", "group_by": "model"},
        {"provider": "openai"},
        "$model",
    ),
    Question("by team", {"group_by": "team"}, group="$team_id"),
    Question("by user", {"group_by": "user"}, group="$user_id"),
    Question("by endpoint", {"group_by": "endpoint"}, group="$endpoint"),
    Question("by day", {"group_by": "day"}, group=_DAY),
    Question(
        "team_id=team_3, by day",
        {"team_id": "team_3", "group_by": "day"},
        {"team_id": "team_3"},
        _DAY,
    ),
    Question(
        "team_id=team_1,team_2, by model",
        {"team_id": "team_1,team_2", "group_by": "model"},
        {"team_id": {"$in": ["team_1", "team_2"]}},
        "$model",
    ),
    Question("by metadata.feature", {"group_by": "metadata.feature"}, group="$metadata.feature"),
    Question(
        "team_id=team_3, by metadata.feature",
        {"team_id": "team_3", "group_by": "metadata.feature"},
        {"team_id": "team_3"},
        "$metadata.feature",
    ),
    Question(
        "model=gpt-4o, by metadata.feature",
        {"model": "gpt-4o", "group_by": "metadata.feature"},
        {"model": "gpt-4o"},
        "$metadata.feature",
    ),
    Question(
        "by day in Asia/Kolkata",
        {"group_by": "day", "tz": "Asia/Kolkata"},
        group={"$dateTrunc": {"date": "$ts", "unit": "day", "timezone": "Asia/Kolkata"}},
    ),
]


@dataclass(frozen=True)
class Answered:
    p50_ms: float
    p99_ms: float
    bare_ms: float
    source: str


async def bench_questions(
    store: Store,
    url: str,
    key: str,
    org_id: str,
    runs: int,
    bare_runs: int,
    only: Sequence[str] = (),
) -> dict[str, Answered]:
    """Each question `runs` times through Meterr (after one warm-up) and `bare_runs` times
    as a bare $group, over the month seeded for `org_id`; with `only`, the questions whose
    name holds one of its words."""
    month = {"start_date": "2025-03-01", "end_date": "2025-03-31"}
    results = {}
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=600
    ) as http:
        for question in QUESTIONS:
            if only and not any(word in question.name for word in only):
                continue
            timings = []
            source = ""
            for _ in range(runs + 1):
                started = time.perf_counter()
                response = await http.get("/v1/costs", params={**month, **question.params})
                timings.append(time.perf_counter() - started)
                response.raise_for_status()
                source = response.headers.get("X-Meterr-Source", "")
            timings = sorted(timings[1:])
            bare = [await _bare(store, org_id, question) for _ in range(bare_runs)]
            results[question.name] = Answered(
                p50_ms=statistics.median(timings) * 1000,
                p99_ms=timings[min(len(timings) - 1, int(len(timings) * 0.99))] * 1000,
                bare_ms=statistics.median(bare) * 1000,
                source=source,
            )
            print(f"  {question.name}: {results[question.name]}", file=sys.stderr)
    return results


async def _bare(store: Store, org_id: str, question: Question) -> float:
    sums = {"cost": {"$sum": "$cost_nano"}, "tokens": {"$sum": "$input_tokens"}}
    pipeline: list[dict[str, Any]] = [
        {"$match": {"org_id": org_id, "ts": {"$gte": MONTH, "$lt": _END}}}
    ]
    if question.match:
        pipeline.append({"$match": question.match})
    pipeline.append({"$group": {"_id": question.group, **sums}})
    started = time.perf_counter()
    await (await store.events.collection.aggregate(pipeline)).to_list()
    return time.perf_counter() - started


def print_questions(results: dict[str, Answered], events: int) -> None:
    print(f"\n| question over a month of {events:,} events | p50 ms | p99 ms | bare $group ms "
          "| faster | answered from |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for name, answered in results.items():
        ratio = answered.bare_ms / answered.p99_ms
        print(
            f"| {name} | {answered.p50_ms:.1f} | {answered.p99_ms:.1f} | {answered.bare_ms:.0f} "
            f"| {ratio:.0f}× | {answered.source} |"
        )
    print("\nAim: p99 under 50 ms and at least 20× faster than the bare $group (by p99).")


async def main() -> None:
    from bench.run import fresh_store, meterr_server, seed_month

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the month")
    parser.add_argument("--runs", type=int, default=100, help="runs of each question")
    parser.add_argument("--bare-runs", type=int, default=2)
    parser.add_argument("--mongodb-url", default=None, help="default: a fresh embedded store")
    parser.add_argument(
        "--only", default="", help="comma-separated words: only the questions naming one"
    )
    parser.add_argument(
        "--keep",
        metavar="DATABASE",
        default=None,
        help="seed this database on --mongodb-url once and keep it; later runs measure it",
    )
    args = parser.parse_args()
    only = [word.strip() for word in args.only.split(",") if word.strip()]
    async with fresh_store(args.mongodb_url, args.keep) as (url, database, store, _):
        org = await create_key(
            store, org_name="bench-month", tier=Tier.ENTERPRISE, now=SystemClock().now()
        )
        org_id = org.organization.id
        seeded = await store.events.collection.count_documents({"org_id": org_id})
        if seeded == 0:
            await seed_month(store, org_id, args.events, MONTH)
        elif seeded != args.events:
            raise SystemExit(f"{database} holds {seeded:,} events, not --events {args.events:,}")
        async with meterr_server(url, database) as server:
            results = await bench_questions(
                store, server, org.key, org_id, args.runs, args.bare_runs, only
            )
    print(f"\nMachine: {platform.platform()}, {os.cpu_count()} cores")
    print(f"Store: {'embedded SecantusDB' if args.mongodb_url is None else args.mongodb_url}")
    print_questions(results, args.events)


if __name__ == "__main__":
    asyncio.run(main())
