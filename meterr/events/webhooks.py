"""Webhook delivery: the dispatcher that works through the outbox, lane by lane, with
retries."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import SplitResult, urlsplit, urlunsplit

import httpx

from meterr.auth import Sealer, SealError
from meterr.clock import Clock
from meterr.events.delivery_policy import RetryPolicy, signed_headers, webhook_bound_to
from meterr.events.destinations import DestinationRefused, check_destination
from meterr.store import Delivery, DeliveryAttempt, StoreUnreachable, WebhookEndpoint
from meterr.store.webhook_lanes import PAUSE_AFTER, Lane
from meterr.store.webhooks import WebhookStore

__all__ = ["WebhookDispatcher"]

log = logging.getLogger(__name__)

_GIVEN_UP = "not sent: the endpoint kept failing for the whole retry window"


@dataclass(slots=True)
class _Visit:
    """What working a lane changes in it."""

    cursor: int
    failures: int
    paused_until: datetime
    retry_from: datetime
    # The due retries not tried yet, with their times.
    waiting: dict[str, datetime] = field(default_factory=dict)


class WebhookDispatcher:
    """Delivers the outbox's due work, lane by lane (a lane is an endpoint): up to
    `concurrency` lanes at once, each worked by one dispatcher of all instances at a time,
    in order, for at most `BATCH` deliveries or `SLICE` seconds before the next lane's turn.
    The next lane is the one of the organization served least recently, and no organization
    holds more than half of the lanes in work, so one tenant's backlog delays another's
    alert by one delivery at most."""

    BATCH = 20
    SLICE = 2.0
    # New deliveries a paused lane reads per visit to give up those past their retry window.
    EXPIRY_BATCH = 500

    def __init__(
        self,
        store: WebhookStore,
        policy: RetryPolicy,
        sealer: Sealer,
        *,
        clock: Clock,
        allow_private: bool,
        allowed_ports: Collection[int],
        timeout: float,
        concurrency: int = 8,
        lease: float = 60.0,
        observe: Callable[[str], None] | None = None,
    ) -> None:
        self._store = store
        self._lanes = store.lanes
        self._policy = policy
        self._sealer = sealer
        self._clock = clock
        self._allow_private = allow_private
        self._allowed_ports = frozenset(allowed_ports)
        self._timeout = timeout
        self._concurrency = concurrency
        self._lease = lease
        self._observe = observe or (lambda _outcome: None)
        self._wake = asyncio.Event()
        self._turn = 0
        self._served: dict[str, int] = {}  # organization or lane -> the turn it was last served
        self._holding: dict[str, datetime] = {}  # lanes being visited -> the claim's end
        # Lanes whose visit failed (the store lost midway) -> the claim's end, perhaps held.
        self._stranded: dict[str, datetime] = {}

    def wake(self) -> None:
        """Something may be due now."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        visits: dict[asyncio.Task[None], Lane] = {}
        stopping = asyncio.create_task(stop.wait())
        async with httpx.AsyncClient(timeout=self._timeout, follow_redirects=False) as http:
            try:
                await self._adopt()
                while not stop.is_set():
                    self._wake.clear()
                    try:
                        await self._let_go_stranded()
                        self._start_visits(http, await self._due(visits), visits)
                    except Exception:
                        log.exception("Webhook dispatch failed; retrying.")
                    woken = asyncio.create_task(self._wake.wait())
                    await asyncio.wait(
                        {woken, stopping, *visits}, timeout=1.0, return_when=asyncio.FIRST_COMPLETED
                    )
                    woken.cancel()
                    for done in [task for task in visits if task.done()]:
                        del visits[done]
            finally:
                stopping.cancel()
                for task in visits:
                    task.cancel()
                await asyncio.gather(*visits, return_exceptions=True)
                await self._let_go()

    async def _adopt(self) -> None:
        try:
            adopted = await self._store.adopt_unnumbered()
        except Exception:
            log.exception("Pending deliveries of an earlier version could not be queued.")
            return
        if adopted:
            log.info("Queued %d pending webhook deliveries in their endpoints' lanes.", adopted)

    async def _due(self, visits: dict[asyncio.Task[None], Lane]) -> list[Lane]:
        if len(visits) >= self._concurrency:
            return []
        working = {lane.endpoint_id for lane in visits.values()}
        due = await self._lanes.due(self._clock.now())
        return [lane for lane in due if lane.endpoint_id not in working]

    def _start_visits(
        self, http: httpx.AsyncClient, due: list[Lane], visits: dict[asyncio.Task[None], Lane]
    ) -> None:
        """Start work on the due lanes of the organizations served least recently."""
        share = max(1, self._concurrency // 2)
        working = Counter(lane.org_id for lane in visits.values())
        due.sort(
            key=lambda lane: (
                self._served.get(lane.org_id, 0),
                self._served.get(lane.endpoint_id, 0),
                lane.due_at,
            )
        )
        for lane in due:
            if len(visits) >= self._concurrency:
                break
            if working[lane.org_id] >= share:
                continue
            working[lane.org_id] += 1
            self._turn += 1
            self._served[lane.org_id] = self._served[lane.endpoint_id] = self._turn
            visits[asyncio.create_task(self._visit(http, lane))] = lane
        if len(self._served) > 20_000:  # forget the organizations that had nothing due
            known = {lane.org_id for lane in due} | {lane.endpoint_id for lane in due}
            self._served = {name: turn for name, turn in self._served.items() if name in known}

    async def _visit(self, http: httpx.AsyncClient, seen: Lane) -> None:
        now = self._clock.now()
        # A claim of this dispatcher's own: its lease and a jitter, in whole milliseconds (what
        # the store keeps), so that it is told from another dispatcher's claim made at once.
        jitter = random.randrange(1, 1000)  # noqa: S311 - not a secret
        lease = now + timedelta(seconds=self._lease, milliseconds=jitter)
        until = lease.replace(microsecond=lease.microsecond // 1000 * 1000)
        self._holding[seen.endpoint_id] = until
        try:
            lane = await self._lanes.claim(seen, until)
            if lane is not None:  # else another dispatcher took it
                await self._work(http, lane, now)
        except Exception as exc:
            log.exception("Webhook deliveries to endpoint %s failed; retrying.", seen.endpoint_id)
            if isinstance(exc, StoreUnreachable):
                # The store was lost midway and the claim may be held still: it is let go
                # once the store answers again, not when it runs out. (After any other
                # failure, running out is the lane's pause before it is tried again.)
                self._stranded[seen.endpoint_id] = until
        # Reached unless the visit was cancelled: then `run` lets the lane go.
        self._holding.pop(seen.endpoint_id, None)

    async def _let_go_stranded(self) -> None:
        """Let go of the claims of visits that failed, while the store answers."""
        for endpoint_id, until in list(self._stranded.items()):
            await self._lanes.unclaim(endpoint_id, until, self._clock.now())
            del self._stranded[endpoint_id]

    async def _let_go(self) -> None:
        """Release the lanes of visits cut short by a stop, or by a store lost midway, so
        that another instance takes them up at once instead of when their claims run out."""
        for endpoint_id, until in [*self._holding.items(), *self._stranded.items()]:
            try:
                await self._lanes.unclaim(endpoint_id, until, self._clock.now())
            except Exception:
                log.exception("The claim on endpoint %s is left to run out.", endpoint_id)
        self._holding.clear()
        self._stranded.clear()

    async def _work(self, http: httpx.AsyncClient, lane: Lane, now: datetime) -> None:
        visit = _Visit(lane.cursor, lane.failures, lane.paused_until, lane.retry_from)
        try:
            again = await self._deliver_due(http, lane, now, visit)
        except asyncio.CancelledError:
            # The instance is stopping: let the lane go with what this visit did, so that the
            # next instance takes it up at once rather than when the claim runs out.
            await self._release(lane, visit, again=False)
            raise
        await self._release(lane, visit, again=again)

    async def _deliver_due(
        self, http: httpx.AsyncClient, lane: Lane, now: datetime, visit: _Visit
    ) -> bool:
        """Try the lane's due work in order; answer whether it has more due at once."""
        paused = lane.paused
        work = await self._lanes.work(lane, now, fresh=self.EXPIRY_BATCH if paused else self.BATCH)
        visit.retry_from = work.next_retry
        retries, fresh = work.retries, work.fresh
        visit.waiting = {d.id: d.retry_at for d in retries if d.retry_at is not None}
        again = False
        if paused:
            retries, fresh = await self._give_up_expired(retries, fresh, visit, now)
            again = len(work.fresh) - len(fresh) == self.EXPIRY_BATCH
        queue = [*retries, *fresh]
        if paused:  # one try per pause, until the receiver answers again
            queue = queue[:1] if lane.paused_until <= now else []
        endpoint = await self._store.get_endpoint(lane.org_id, lane.endpoint_id)
        numbered = {delivery.id for delivery in fresh}
        tried: set[str] = set()
        started = time.monotonic()
        for delivery in queue:
            if time.monotonic() - started > self.SLICE:
                break
            if visit.failures >= PAUSE_AFTER and tried:  # the lane has just been paused
                break
            if delivery.id not in tried and delivery.status == "pending":
                tried.add(delivery.id)
                visit.waiting.pop(delivery.id, None)
                await self._deliver(http, endpoint, delivery, visit)
            if delivery.id in numbered and delivery.seq is not None:
                visit.cursor = delivery.seq + 1
        return again

    async def _release(self, lane: Lane, visit: _Visit, *, again: bool) -> None:
        """Let the lane go with what the visit changed; the retries it did not try keep
        their times."""
        await self._lanes.release(
            lane,
            self._clock.now(),
            cursor=visit.cursor,
            failures=visit.failures,
            paused_until=visit.paused_until,
            retry_from=min([visit.retry_from, *visit.waiting.values()]),
            again=again,
        )

    async def _give_up_expired(
        self, retries: list[Delivery], fresh: list[Delivery], visit: _Visit, now: datetime
    ) -> tuple[list[Delivery], list[Delivery]]:
        """A paused lane's deliveries whose retry window has passed fail without a try; the
        others are left."""
        expired = [delivery for delivery in retries if self._policy.expired(delivery, now)]
        oldest = 0
        while oldest < len(fresh) and self._policy.expired(fresh[oldest], now):
            oldest += 1
        expired += [delivery for delivery in fresh[:oldest] if delivery.status == "pending"]
        await self._lanes.give_up([delivery.id for delivery in expired], now, _GIVEN_UP)
        for _ in expired:
            self._observe("failed")
        last = fresh[oldest - 1].seq if oldest else None
        if last is not None:
            visit.cursor = last + 1
        gone = {delivery.id for delivery in expired}
        for delivery_id in gone:
            visit.waiting.pop(delivery_id, None)
        return [d for d in retries if d.id not in gone], fresh[oldest:]

    async def _deliver(
        self,
        http: httpx.AsyncClient,
        endpoint: WebhookEndpoint | None,
        delivery: Delivery,
        visit: _Visit,
    ) -> None:
        """One attempt, recorded; a failure schedules the delivery's retry and counts
        against the lane."""
        if endpoint is None:
            attempt = DeliveryAttempt(self._clock.now(), None, "the endpoint was deleted", 0)
            await self._store.record_attempt(
                delivery, attempt, status="cancelled", next_attempt_at=None
            )
            return
        attempt = await self._attempt(http, endpoint, delivery)
        if attempt.status_code is not None and 200 <= attempt.status_code < 300:
            await self._store.record_attempt(
                delivery, attempt, status="delivered", next_attempt_at=None
            )
            self._observe("delivered")
            visit.failures = 0
            return
        retry_at = self._policy.next_attempt(delivery, attempt.at)
        self._observe("retrying" if retry_at is not None else "failed")
        await self._store.record_attempt(
            delivery,
            attempt,
            status="pending" if retry_at is not None else "failed",
            next_attempt_at=retry_at,
        )
        if retry_at is not None:
            visit.retry_from = min(visit.retry_from, retry_at)
        visit.failures += 1
        if visit.failures >= PAUSE_AFTER:
            visit.paused_until = self._policy.pause(visit.failures, attempt.at)

    async def _attempt(
        self, http: httpx.AsyncClient, endpoint: WebhookEndpoint, delivery: Delivery
    ) -> DeliveryAttempt:
        at = self._clock.now()
        started = time.perf_counter()

        def took() -> int:
            return int((time.perf_counter() - started) * 1000)

        try:
            addresses = await check_destination(
                endpoint.url, allow_private=self._allow_private, allowed_ports=self._allowed_ports
            )
        except DestinationRefused as refused:
            return DeliveryAttempt(at, None, f"refused: {refused}", took())
        body = json.dumps(delivery.payload, separators=(",", ":"))
        try:
            secret = self._sealer.open(endpoint.sealed_secret, webhook_bound_to(endpoint.id))
        except SealError:
            return DeliveryAttempt(
                at,
                None,
                "the signing secret does not open with this instance's key: give every "
                "instance the same METERR_SECRET_KEY",
                took(),
            )
        headers = signed_headers(secret, delivery.notification_id, body, at)
        parts = urlsplit(endpoint.url)
        # Connect to the address just checked, not to whatever the name resolves to next.
        pinned = _with_address(parts, addresses[0])
        headers["host"] = parts.netloc.rpartition("@")[2]
        extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
        try:
            response = await http.post(pinned, content=body, headers=headers, extensions=extensions)
        except httpx.HTTPError as exc:
            return DeliveryAttempt(at, None, f"{type(exc).__name__}: {exc}"[:500], took())
        error = None if response.is_success else f"answered {response.status_code}"
        return DeliveryAttempt(at, response.status_code, error, took())


def _with_address(parts: SplitResult, address: str) -> str:
    host = f"[{address}]" if ":" in address else address
    return urlunsplit(parts._replace(netloc=f"{host}:{parts.port}" if parts.port else host))
