"""Live fan-out under load: `meterr serve` on a fresh embedded store, with no subscriber and
then with many graphql-transport-ws subscribers of usageTracked (in a process of their own),
while single events and batches are tracked. Measures GET /v1/usage and the POSTs with and
without them, how long each event took to reach every subscriber, whether each received every
event once and in order, and the server's memory per subscriber.
Run: .venv/bin/python -m bench.fanout --subscribers 500 --batch 1000 --batches 5"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench.run import event_body, fresh_store, meterr_process
from meterr.auth import Tier
from meterr.clock import SystemClock
from meterr.resolvers import create_key


def rss_kib(pid: int) -> int:
    """The process's resident memory (VmRSS), in KiB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pid: int) -> float:
    """The CPU time the process has used so far (user and system)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(timings: list[float], share: float) -> float:
    ordered = sorted(timings)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000 if ordered else 0.0


@dataclass
class Phase:
    """What one phase (with or without subscribers) measured."""

    single_post: list[float] = field(default_factory=list)
    batch_post: list[float] = field(default_factory=list)
    usage_get: list[float] = field(default_factory=list)
    peak_rss_kib: int = 0
    fanout_seconds: float = 0.0
    server_cpu: float = 0.0  # seconds of the server's CPU from the first batch to the end
    clients_cpu: float = 0.0


class Clients:
    """The subscribers' process, driven one JSON line at a time."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def ask(self, order: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(json.dumps(order).encode() + b"\n")
        await self.process.stdin.drain()
        line = await self.process.stdout.readline()
        if not line:
            raise RuntimeError("the subscribers' process ended")
        answer: dict[str, Any] = json.loads(line)
        return answer


@contextlib.asynccontextmanager
async def subscribers_process(niceness: int) -> AsyncIterator[Clients]:
    """The subscribers' process, at a lower priority (`niceness`) than the server's: on a
    machine of two cores they stand for clients elsewhere, whose CPU is not the server's."""
    process = await asyncio.create_subprocess_exec(
        "nice", "-n", str(niceness), sys.executable, "-m", "bench.fanout_clients",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        yield Clients(process)
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


class Tracking:
    """Tracks events with their send time in their metadata, and keeps their ids in order."""

    def __init__(self, http: aiohttp.ClientSession) -> None:
        self.http = http
        self.ids: list[str] = []
        self.answered: dict[str, list[float]] = {"single": [], "batch": []}
        self.counter = 0

    def body(self, phase: str, request: int) -> dict[str, Any]:
        self.counter += 1
        body = event_body(self.counter)
        body["metadata"] = {**body["metadata"], "sent": time.time(), "phase": phase}
        body["metadata"]["request"] = request
        return body

    async def post(self, json_body: dict[str, Any]) -> dict[str, Any]:
        async with self.http.post("/v1/track", json=json_body) as response:
            response.raise_for_status()
            answer: dict[str, Any] = await response.json()
            return answer

    async def single(self) -> float:
        request = len(self.answered["single"])
        body = self.body("single", request)
        started = time.perf_counter()
        answer = await self.post(body)
        took = time.perf_counter() - started
        self.ids.append(answer["id"])
        self.answered["single"].append(time.time() - body["metadata"]["sent"])
        return took

    async def batch(self, size: int) -> float:
        request = len(self.answered["batch"])
        events = [self.body("batch", request) for _ in range(size)]
        sent = events[0]["metadata"]["sent"]
        for event in events:
            event["metadata"]["sent"] = sent
        started = time.perf_counter()
        answer = await self.post({"events": events})
        took = time.perf_counter() - started
        self.ids.extend(event["id"] for event in answer["events"])
        self.answered["batch"].append(time.time() - sent)
        return took


async def run_phase(
    tracking: Tracking, pid: int, args: argparse.Namespace, clients: Clients | None
) -> Phase:
    """Single events one after the other, then batches while GET /v1/usage is asked over and
    over, until every subscriber has every event."""
    phase = Phase()
    for _ in range(args.singles):
        phase.single_post.append(await tracking.single())
    if clients is not None:
        await clients.ask({"do": "wait", "count": len(tracking.ids), "deadline": args.deadline})
    done = asyncio.Event()

    async def ask_usage() -> None:
        while not done.is_set():
            started = time.perf_counter()
            async with tracking.http.get("/v1/usage") as response:
                response.raise_for_status()
                await response.read()
            phase.usage_get.append(time.perf_counter() - started)
            await asyncio.sleep(args.usage_pause)

    async def watch_memory() -> None:
        while not done.is_set():
            phase.peak_rss_kib = max(phase.peak_rss_kib, rss_kib(pid))
            await asyncio.sleep(0.1)

    background = [asyncio.create_task(ask_usage()), asyncio.create_task(watch_memory())]
    started = time.time()
    server_cpu = cpu_seconds(pid)
    clients_cpu = cpu_seconds(clients.process.pid) if clients is not None else 0.0
    for _ in range(args.batches):
        phase.batch_post.append(await tracking.batch(args.batch))
        await asyncio.sleep(args.pause)
    if clients is not None:
        waited = await clients.ask(
            {"do": "wait", "count": len(tracking.ids), "deadline": args.deadline}
        )
        phase.fanout_seconds = waited["received_at"] - started
        phase.clients_cpu = cpu_seconds(clients.process.pid) - clients_cpu
    phase.server_cpu = cpu_seconds(pid) - server_cpu
    done.set()
    await asyncio.gather(*background)
    return phase


async def open_subscribers(
    clients: Clients,
    http: aiohttp.ClientSession,
    server: str,
    key: str,
    count: int,
    *,
    deflate: bool,
) -> None:
    """Open `count` subscribers, each live on return: they resume after an event and
    receive the one tracked after it, which they can only do once they listen."""
    tracking = Tracking(http)
    for _ in range(2):
        await tracking.single()
    order = {"do": "open", "url": server, "key": key, "after": tracking.ids[0]}
    await clients.ask({**order, "subscribers": count, "deflate": deflate})


async def memory_per_subscriber(
    http: aiohttp.ClientSession, server: str, key: str, pid: int, args: argparse.Namespace
) -> tuple[int, int]:
    """The server's RSS before and with `--subscribers` idle subscribers, on a server that
    has tracked little yet (memory freed by batches would be reused and hide theirs)."""
    before = rss_kib(pid)
    async with subscribers_process(args.clients_nice) as clients:
        await open_subscribers(clients, http, server, key, args.subscribers, deflate=args.deflate)
        await asyncio.sleep(1)
        idle = rss_kib(pid)
    while True:  # until the server has let them go
        async with http.get("/metrics") as response:
            text = await response.text()
        if "meterr_live_subscriptions 0.0" in text:
            return before, idle
        await asyncio.sleep(0.1)


async def bench(args: argparse.Namespace) -> None:
    async with fresh_store(args.mongodb_url) as (url, database, store, _):
        made = await create_key(
            store, org_name="bench-fanout", tier=Tier.ENTERPRISE, now=SystemClock().now()
        )
        headers = {"Authorization": f"Bearer {made.key}"}
        async with (
            meterr_process(url, database) as (server, process),
            aiohttp.ClientSession(server, headers=headers) as http,
        ):
            warm = Tracking(http)
            for _ in range(20):
                await warm.single()
            print(f"memory of {args.subscribers} subscribers…", file=sys.stderr)
            rss_before, rss_idle = await memory_per_subscriber(
                http, server, made.key, process.pid, args
            )
            await warm.batch(args.batch)
            print("without subscribers…", file=sys.stderr)
            quiet = await run_phase(Tracking(http), process.pid, args, None)
            async with subscribers_process(args.clients_nice) as clients:
                print(f"opening {args.subscribers} subscribers…", file=sys.stderr)
                await open_subscribers(
                    clients, http, server, made.key, args.subscribers, deflate=args.deflate
                )
                tracking = Tracking(http)
                print("with subscribers…", file=sys.stderr)
                loaded = await run_phase(tracking, process.pid, args, clients)
                delivered = await clients.ask(
                    {"do": "report", "ids": tracking.ids, "answered": tracking.answered}
                )
        # Printed before the store is dropped: what was measured survives a failing clean-up.
        print_results(
            {
                "quiet": quiet,
                "loaded": loaded,
                "delivered": delivered,
                "rss_before_kib": rss_before,
                "rss_idle_kib": rss_idle,
                "events": len(tracking.ids),
            },
            args,
        )


def print_results(results: dict[str, Any], args: argparse.Namespace) -> None:
    quiet, loaded, delivered = results["quiet"], results["loaded"], results["delivered"]
    print(f"\nMachine: {platform.platform()}, {os.cpu_count()} cores")
    print(
        f"{args.subscribers} subscribers, {args.singles} single events one after the other, "
        f"{args.batches} batches of {args.batch} ({args.pause} s apart); the subscribers' "
        f"process at niceness {args.clients_nice}"
        f"{'; compressed frames (permessage-deflate)' if args.deflate else ''}\n"
    )
    print("| measure | no subscribers | with subscribers | ratio |")
    print("|---|---|---|---|")

    def row(name: str, before: float, after: float) -> None:
        ratio = after / before if before else float("nan")
        print(f"| {name} | {before:.1f} | {after:.1f} | {ratio:.2f} |")

    for label, attr in (
        ("GET /v1/usage", "usage_get"),
        ("POST one event", "single_post"),
        (f"POST a batch of {args.batch}", "batch_post"),
    ):
        for share in (0.5, 0.99):
            name = f"{label} p{int(share * 100)} (ms)"
            row(
                name,
                percentile(getattr(quiet, attr), share),
                percentile(getattr(loaded, attr), share),
            )
    print(f"\nGET /v1/usage asked {len(quiet.usage_get)} and {len(loaded.usage_get)} times.")
    complete = delivered["complete_in_order"]
    print(
        f"\nEvery event once and in order: {complete} of {delivered['subscribers']} subscribers "
        f"({results['events']} events each; counts seen {delivered['received']})"
    )
    if delivered["closed"]:
        print(f"closed: {delivered['closed']}")
    print(f"Batches fanned out to everyone {loaded.fanout_seconds:.1f} s after the first was sent.")
    deliveries = args.subscribers * args.batches * args.batch
    extra = loaded.server_cpu - quiet.server_cpu
    print(
        f"Server CPU over the batches: {quiet.server_cpu:.1f} s without subscribers, "
        f"{loaded.server_cpu:.1f} s with them ({extra / deliveries * 1e6:.1f} µs more per "
        f"delivery); the subscribers' process: {loaded.clients_cpu:.1f} s."
    )
    print("\n| delivery (ms) | p50 | p99 | max | p50 after the answer | p99 after the answer |")
    print("|---|---|---|---|---|---|")
    for name, stats in delivered["phases"].items():
        after = stats["after_answer"]
        print(
            f"| {name} events ({stats['count']:,} deliveries) | {stats['p50_ms']:.0f} | "
            f"{stats['p99_ms']:.0f} | {stats['max_ms']:.0f} | {after['p50_ms']:.0f} | "
            f"{after['p99_ms']:.0f} |"
        )
    before, idle = results["rss_before_kib"], results["rss_idle_kib"]
    per = (idle - before) / args.subscribers
    print(
        f"\nServer RSS: {before / 1024:.0f} MiB, {idle / 1024:.0f} MiB with "
        f"{args.subscribers} idle subscribers ({per:.0f} KiB each); peak "
        f"{loaded.peak_rss_kib / 1024:.0f} MiB during the batches "
        f"(without subscribers {quiet.peak_rss_kib / 1024:.0f} MiB)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscribers", type=int, default=500)
    parser.add_argument("--batch", type=int, default=1000, help="events per batch")
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--pause", type=float, default=1.0, help="seconds between batches")
    parser.add_argument("--singles", type=int, default=200, help="single events per phase")
    parser.add_argument("--usage-pause", type=float, default=0.01, help="between GET /v1/usage")
    parser.add_argument("--deadline", type=float, default=600, help="seconds to wait for delivery")
    parser.add_argument(
        "--clients-nice", type=int, default=10, help="niceness of the subscribers' process"
    )
    parser.add_argument(
        "--deflate", action="store_true", help="subscribers ask for compressed frames"
    )
    parser.add_argument("--mongodb-url", default=None, help="default: a fresh embedded store")
    args = parser.parse_args()
    await bench(args)


if __name__ == "__main__":
    asyncio.run(main())
