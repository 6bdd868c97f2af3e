"""A lane's reads cost what they return: with one endpoint's backlog of many thousand
deliveries, choosing the due lanes and taking a lane's next work examine about as many
documents as they answer, on the store itself (`explain`)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from pymongo import AsyncMongoClient, monitoring

from meterr.domain import UsageEvent
from meterr.store import DeliveryAttempt, Session, Store
from meterr.store.webhook_lanes import EPOCH, Lane, WebhookLanes
from tests.conftest import SUITE_NOW
from tests.support.events import usage_event

BACKLOG = 5_000
BATCH = 20
_SESSION_KEYS = {"lsid", "txnNumber", "autocommit", "startTransaction", "readConcern"}


class Reads(monitoring.CommandListener):
    def __init__(self) -> None:
        self.commands: list[dict[str, Any]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name in {"find", "aggregate"}:
            self.commands.append(
                {
                    key: value
                    for key, value in event.command.items()
                    if not key.startswith("$") and key not in _SESSION_KEYS
                }
            )

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def messages(first: int, count: int, at: datetime) -> list[tuple[str, datetime, dict[str, Any]]]:
    return [(f"evt_{n:06d}", at, {"n": n}) for n in range(first, first + count)]


async def examined(store: Store, commands: list[dict[str, Any]]) -> list[int]:
    counts = []
    for command in commands:
        plan = await store.db.command("explain", command, verbosity="executionStats")
        counts.append(int(plan["executionStats"]["totalDocsExamined"]))
    return counts


async def test_a_lanes_reads_examine_what_they_answer_whatever_the_backlog(
    store: Store, mongodb_url: str
) -> None:
    webhooks = store.webhooks
    at = SUITE_NOW
    for first in range(0, BACKLOG, 1_000):
        await webhooks.enqueue_messages(
            "org_noisy", ["we_noisy"], "usage.tracked", messages(first, 1_000, at)
        )
    await webhooks.enqueue_messages(
        "org_quiet", ["we_quiet"], "budget.threshold", messages(BACKLOG, 1, at)
    )
    # Three of the noisy endpoint's deliveries failed once and wait for a retry, two of them due.
    now = at + timedelta(minutes=1)
    noisy = await webhooks.lanes.claim(await lane_of(store, "we_noisy"), now + timedelta(minutes=1))
    assert noisy is not None
    first_work = await webhooks.lanes.work(noisy, now, fresh=3)
    for delivery, retry_at in zip(
        first_work.fresh, (now, now, now + timedelta(hours=1)), strict=True
    ):
        failed = DeliveryAttempt(now, 500, None, 5)
        await webhooks.record_attempt(delivery, failed, status="pending", next_attempt_at=retry_at)
    await webhooks.lanes.release(noisy, now, cursor=3, failures=1, paused_until=now, retry_from=now)

    reads = Reads()
    recorded: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        mongodb_url, event_listeners=[reads], tz_aware=True
    )
    try:
        lanes = WebhookLanes(
            recorded[store.db.name]["webhook_lanes"], recorded[store.db.name]["webhook_deliveries"]
        )
        later = now + timedelta(seconds=1)
        due = await lanes.due(later)
        assert {lane.endpoint_id for lane in due} == {"we_noisy", "we_quiet"}
        by_endpoint = {lane.endpoint_id: lane for lane in due}
        work = await lanes.work(by_endpoint["we_noisy"], later, fresh=BATCH)
        quiet = await lanes.work(by_endpoint["we_quiet"], later, fresh=BATCH)
    finally:
        await recorded.close()

    assert [d.notification_id for d in work.retries] == ["evt_000000", "evt_000001"]
    assert work.next_retry == now + timedelta(hours=1)
    assert [d.seq for d in work.fresh] == list(range(3, 3 + BATCH))
    assert [d.notification_id for d in quiet.fresh] == [f"evt_{BACKLOG:06d}"]
    counts = await examined(store, reads.commands)
    assert len(counts) == 4, reads.commands
    # The due lanes (2), the noisy lane's waiting retries (3) and next window (20), the quiet
    # lane's one delivery: none of them walks the backlog of 5,000.
    assert counts == [2, 3, BATCH, 1], counts


async def lane_of(store: Store, endpoint_id: str) -> Lane:
    due = await store.webhooks.lanes.due(SUITE_NOW + timedelta(minutes=1))
    return next(lane for lane in due if lane.endpoint_id == endpoint_id)


async def test_a_dispatcher_working_a_lane_waits_for_the_unit_of_work_numbering_in_it(
    store: Store,
) -> None:
    """The dispatcher writes a lane on every visit. A unit of work storing events and their
    deliveries holds the lane from its start: the dispatcher's write waits for its commit,
    instead of the unit of work (events, rollups, spend and all) starting over."""
    webhooks = store.webhooks
    await webhooks.enqueue_messages(
        "org_hold", ["whk_hold"], "usage.tracked", messages(0, 1, SUITE_NOW)
    )
    lane = await lane_of(store, "whk_hold")
    events = [usage_event("org_hold", f"held-{n}", SUITE_NOW) for n in range(3)]
    claims: list[asyncio.Task[Lane | None]] = []

    announced = webhooks.announce(
        "org_hold", ["whk_hold"], "usage.tracked", lambda e: (e.id, e.received_at, {"id": e.id})
    )

    async def deliveries(inserted: list[UsageEvent], session: Session) -> None:
        if not claims:  # the dispatcher comes by while the events are being stored
            claims.append(asyncio.create_task(webhooks.lanes.claim(lane, SUITE_NOW)))
            await asyncio.wait(claims, timeout=0.5)
        await announced.write(inserted, session)

    before = store.unit_of_work.retried
    outcome = await store.writer.write(events, replace(announced, write=deliveries))
    assert len(outcome.inserted) == 3
    assert store.unit_of_work.retried == before, "the unit of work was not started over"
    assert await claims[0] is not None, "the dispatcher claimed the lane after the commit"
    stored = await webhooks.lanes.collection.find_one({"_id": "whk_hold"})
    assert stored is not None
    assert stored["next_seq"] == 4, "one delivery before, three with the events"


async def test_a_stopping_dispatcher_lets_go_only_of_its_own_claim(store: Store) -> None:
    lanes = store.webhooks.lanes
    await store.webhooks.enqueue_messages(
        "org_claim", ["whk_claim"], "usage.tracked", messages(0, 1, SUITE_NOW)
    )
    lane = await lane_of(store, "whk_claim")
    mine = SUITE_NOW + timedelta(minutes=1, milliseconds=7)
    assert await lanes.claim(lane, mine) is not None
    await lanes.unclaim("whk_claim", SUITE_NOW + timedelta(minutes=1, milliseconds=8), SUITE_NOW)
    held = await lanes.collection.find_one({"_id": "whk_claim"})
    assert held is not None
    assert held["claimed_until"] == mine, "another dispatcher's claim is left alone"
    await lanes.unclaim("whk_claim", mine, SUITE_NOW)
    released = await lanes.collection.find_one({"_id": "whk_claim"})
    assert released is not None
    assert released["claimed_until"] == EPOCH
    assert released["due_at"] <= SUITE_NOW, "due at once for the next instance"
