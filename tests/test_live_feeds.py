"""The parts of live fan-out on their own: a feed's handler, the pacer's turns, and a
websocket operation rendering what it takes (or leaving it to strawberry)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from types import SimpleNamespace
from typing import Any

import pytest
import strawberry
from starlette.websockets import WebSocketDisconnect

from meterr.auth import Role
from meterr.events import BusMessage, Feed, FeedOverflow, Pacer
from meterr.metrics import Metrics
from meterr.schema.live import Live, LiveExecutionContext, LiveOperation, Outbox, serving


def always(_: object) -> bool:
    return True


def messages(*names: str) -> list[BusMessage]:
    return [BusMessage("usage.tracked", {"n": name}) for name in names]


async def waiting_reader(feed: Feed) -> asyncio.Task[BusMessage]:
    """A task reading the feed's next message, once it waits for one."""
    reader = asyncio.create_task(anext(feed))
    await asyncio.sleep(0)
    return reader


async def test_a_feed_hands_messages_to_its_handler_while_its_reader_waits() -> None:
    feed, handled = Feed(10), []

    def handler(message: BusMessage) -> bool:
        if message.data["n"] == "declined":
            return False
        handled.append(message.data["n"])
        return True

    feed.hand_on(handler, always)
    reader = await waiting_reader(feed)
    feed.offer(messages("a", "b"))
    assert handled == ["a", "b"]
    assert not reader.done(), "the reader was not woken"
    feed.offer(messages("declined", "c"))
    assert (await reader).data["n"] == "declined"
    assert (await anext(feed)).data["n"] == "c", "what follows a declined one goes in order"
    reader = await waiting_reader(feed)
    feed.offer(messages("d"))
    assert handled == ["a", "b", "d"], "caught up, the reader leaves them to the handler again"
    reader.cancel()


async def test_a_handler_that_fails_leaves_its_message_to_the_reader() -> None:
    feed = Feed(10)

    def broken(_message: BusMessage) -> bool:
        raise RuntimeError("broken")

    feed.hand_on(broken, always)
    reader = await waiting_reader(feed)
    feed.offer(messages("a"))
    assert (await reader).data["n"] == "a"


async def test_a_feed_whose_subscriber_has_no_room_for_what_comes_overflows() -> None:
    feed = Feed(10)
    feed.hand_on(always, lambda count: count <= 3)
    reader = await waiting_reader(feed)
    feed.expect(3)
    assert not reader.done()
    feed.expect(4)
    with pytest.raises(FeedOverflow):
        await reader


async def test_turns_come_in_the_order_they_were_asked_for() -> None:
    pacer, order = Pacer(), []

    async def worker(name: str) -> None:
        await pacer.turn()
        order.append(name)
        pacer.spent(0.0)

    await asyncio.gather(*(worker(name) for name in "abcde"))
    await pacer.close()
    assert order == list("abcde")


async def test_a_worker_that_blocks_during_its_turn_holds_up_no_other() -> None:
    pacer, never = Pacer(), asyncio.Event()

    async def blocked() -> None:
        await pacer.turn()
        await never.wait()

    async def busy() -> int:
        for _ in range(5):
            await pacer.turn()
            pacer.spent(pacer.slice)
        return 5

    stuck = asyncio.create_task(blocked())
    assert await busy() == 5
    stuck.cancel()
    await pacer.close()


@strawberry.type
class Item:
    name: str

    @strawberry.field
    def checked(self) -> str:
        if self.name == "bad":
            raise ValueError("a bad item")
        return self.name


@strawberry.type
class Query:
    ping: str = "pong"


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def items(self, names: list[str]) -> AsyncGenerator[Item, None]:
        for name in names:
            yield Item(name=name)


SCHEMA = strawberry.Schema(
    query=Query, subscription=Subscription, execution_context_class=LiveExecutionContext
)
QUERY = 'subscription { items(names: ["a", "bad"]) { name checked } }'


def caller(metrics: Metrics) -> Any:
    """What a live operation reads of its GraphQL context: the caller, and the metrics."""
    principal = SimpleNamespace(org_id="org_1", role=Role.ADMIN, team_id=None, confined=False)
    services = SimpleNamespace(metrics=metrics)
    return SimpleNamespace(meterr=SimpleNamespace(principal=principal), services=services)


async def operation_of(outbox: Outbox, context: Any, head: str) -> LiveOperation:
    """An operation of QUERY, its executor made as strawberry makes it."""
    operation = LiveOperation(outbox, head, context, QUERY, None, None)
    with serving(operation):
        stream = await SCHEMA.subscribe(QUERY, context_value=context)
        first = await anext(stream)
    await stream.aclose()
    assert first.data == {"items": {"name": "a", "checked": "a"}}
    assert operation.executor is not None
    return operation


async def test_an_operation_renders_what_it_takes_once_for_all_alike_and_leaves_errors() -> None:
    sent: list[str] = []

    async def send(text: str) -> None:
        sent.append(text)

    async def close(code: int, reason: str) -> None:
        pass

    pacer, metrics = Pacer(), Metrics()
    outbox = Outbox(send, pacer)
    outbox.start(close)
    context = caller(metrics)
    first = await operation_of(outbox, context, '{"id": "1", "payload": ')
    second = await operation_of(outbox, context, '{"id": "2", "payload": ')
    good, bad = Live(Item(name="a")), Live(Item(name="bad"))
    assert first.take(good)
    assert second.take(good)
    assert not first.take(bad), "a result with errors is left to strawberry"
    renders = metrics.registry.get_sample_value("meterr_live_payloads_rendered_total")
    assert renders == 1, "rendered once for both (the bad one is not counted)"
    await outbox.close(1000, "done")
    await outbox.stop()
    await pacer.close()
    data = {"data": {"items": {"name": "a", "checked": "a"}}}
    assert [json.loads(text) for text in sent] == [
        {"id": "1", "payload": data},
        {"id": "2", "payload": data},
    ]


async def test_an_outbox_whose_socket_is_gone_lets_a_waiting_close_go() -> None:
    async def gone(_text: str) -> None:
        raise WebSocketDisconnect(1006)

    async def close(code: int, reason: str) -> None:
        raise AssertionError("no close on a socket that is gone")

    pacer = Pacer()
    outbox = Outbox(gone, pacer)
    outbox.start(close)
    outbox.push_message('{"type": "ka"}')
    async with asyncio.timeout(10):
        await outbox.close(1000, "bye")
    assert outbox.closed
    await outbox.stop()
    await pacer.close()
