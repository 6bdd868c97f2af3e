"""The subscribers of the live fan-out bench, in a process of their own so that their CPU is
counted as theirs: many graphql-transport-ws clients of usageTracked, each checking that it
receives every event once and in order, and when each arrived.

Driven by bench.fanout over stdin and stdout, one JSON object a line. A websocket client
this small (a frame parser over an asyncio protocol) costs a few microseconds a message, so
that the measure is the server's; the `websockets` client costs several times more.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import statistics
import struct
import sys
import time
import zlib
from array import array
from typing import Any
from urllib.parse import urlparse

# Per phase, each delivery's time since its request was sent, and which request it was.
Latencies = dict[str, tuple["array[float]", "array[int]"]]

QUERY = """subscription Live($after: ID) {
  usageTracked(after: $after) { id eventId provider model inputTokens outputTokens cost metadata }
}"""


def client_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """One masked frame, as a client must send it."""
    mask = os.urandom(4)
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
    elif length < 65536:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
    repeated = (mask * (length // 4 + 1))[:length]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(
        length, "big"
    )
    return header + mask + masked


class Subscriber(asyncio.Protocol):
    """One websocket, one usageTracked subscription; counts and hashes what it receives."""

    def __init__(
        self, host: str, key: str, after: str, latencies: Latencies, *, deflate: bool
    ) -> None:
        self.host, self.key, self.after = host, key, after
        # Compressed frames (permessage-deflate, as browsers ask for), inflated as they come.
        self.inflate = zlib.decompressobj(-15) if deflate else None
        self.latencies = latencies
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.upgraded = False
        self.acknowledged = asyncio.get_running_loop().create_future()
        self.live = asyncio.get_running_loop().create_future()
        self.received = 0
        self.order = hashlib.sha1(usedforsecurity=False)
        self.errors: list[Any] = []
        self.closed: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        nonce = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            (
                f"GET /graphql HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {nonce}\r\n"
                "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n"
                + ("Sec-WebSocket-Extensions: permessage-deflate\r\n" if self.inflate else "")
                + "\r\n"
            ).encode()
        )

    def send(self, message: dict[str, Any]) -> None:
        assert self.transport is not None
        self.transport.write(client_frame(json.dumps(message).encode()))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self.buffer.startswith(b"HTTP/1.1 101"):
                self.fail(self.buffer[:end].decode(errors="replace"))
                return
            del self.buffer[: end + 4]
            self.upgraded = True
            self.send({"type": "connection_init", "payload": {"api_key": self.key}})
        self.read_frames()

    def read_frames(self) -> None:
        buffer = self.buffer
        start = 0
        while len(buffer) - start >= 2:
            compressed = buffer[start] & 0x40
            opcode, length = buffer[start] & 0x0F, buffer[start + 1] & 0x7F
            offset = start + 2
            if length == 126:
                if len(buffer) - offset < 2:
                    break
                (length,) = struct.unpack_from("!H", buffer, offset)
                offset += 2
            elif length == 127:
                if len(buffer) - offset < 8:
                    break
                (length,) = struct.unpack_from("!Q", buffer, offset)
                offset += 8
            if len(buffer) - offset < length:
                break
            payload = bytes(buffer[offset : offset + length])
            start = offset + length
            if opcode == 0x1:
                if compressed and self.inflate is not None:
                    payload = self.inflate.decompress(payload + b"\x00\x00\xff\xff")
                self.on_text(payload)
            elif opcode == 0x9:  # ping
                assert self.transport is not None
                self.transport.write(client_frame(payload, opcode=0xA))
            elif opcode == 0x8:
                code = struct.unpack_from("!H", payload)[0] if len(payload) >= 2 else 1005
                self.fail(f"closed by the server ({code} {payload[2:].decode()})")
        del buffer[:start]

    def on_text(self, payload: bytes) -> None:
        received = time.time()
        message = json.loads(payload)
        kind = message["type"]
        if kind == "next" and "errors" not in message["payload"]:
            event = message["payload"]["data"]["usageTracked"]
            if not self.live.done():  # the event stored before, replayed: the feed is live
                self.live.set_result(event["id"])
                return
            self.received += 1
            self.order.update(event["id"].encode())
            metadata = event["metadata"]
            sent = metadata.get("sent")
            if sent is not None:
                since_sent, requests = self.latencies.setdefault(
                    metadata["phase"], (array("d"), array("l"))
                )
                since_sent.append(received - sent)
                requests.append(metadata["request"])
        elif kind == "connection_ack":
            self.acknowledged.set_result(None)
            variables = {"after": self.after}
            self.send(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": QUERY, "variables": variables},
                }
            )
        elif kind in ("next", "error", "complete"):
            self.errors.append(message)
            self.fail(json.dumps(message)[:300])
        elif kind == "ping":
            self.send({"type": "pong"})

    def fail(self, why: str) -> None:
        self.closed = self.closed or why
        for future in (self.acknowledged, self.live):
            if not future.done():
                future.set_exception(ConnectionError(why))

    def connection_lost(self, exc: Exception | None) -> None:
        self.fail(f"connection lost ({exc})")


async def open_subscribers(order: dict[str, Any], subscribers: list[Subscriber]) -> None:
    url = urlparse(order["url"])
    host, port = url.hostname or "127.0.0.1", url.port or 80
    loop = asyncio.get_running_loop()
    latencies: Latencies = {}
    deflate = bool(order.get("deflate"))
    opening = asyncio.Semaphore(50)

    async def one() -> None:
        async with opening:
            _, subscriber = await loop.create_connection(
                lambda: Subscriber(
                    f"{host}:{port}", order["key"], order["after"], latencies, deflate=deflate
                ),
                host,
                port,
            )
            subscribers.append(subscriber)
            async with asyncio.timeout(120):
                await subscriber.live

    await asyncio.gather(*(one() for _ in range(order["subscribers"])))


def percentile(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, int(share * len(values)))] * 1000 if values else 0.0


def latency_report(values: list[float]) -> dict[str, float]:
    values.sort()
    return {
        "count": len(values),
        "p50_ms": percentile(values, 0.5),
        "p99_ms": percentile(values, 0.99),
        "max_ms": values[-1] * 1000 if values else 0.0,
        "mean_ms": statistics.fmean(values) * 1000 if values else 0.0,
    }


async def until_all_received(subscribers: list[Subscriber], count: int, deadline: float) -> float:
    """Wait until every subscriber received `count` events (or gave up): when that was."""
    loop = asyncio.get_running_loop()
    ends = loop.time() + deadline
    while loop.time() < ends:
        if all(s.received >= count or s.closed for s in subscribers):
            break
        await asyncio.sleep(0.005)
    return time.time()


def report(subscribers: list[Subscriber], expected: dict[str, Any]) -> dict[str, Any]:
    order = hashlib.sha1(usedforsecurity=False)
    for event_id in expected["ids"]:
        order.update(event_id.encode())
    wanted = order.hexdigest()
    # Per phase and request: how long after sending it the server answered.
    answered: dict[str, list[float]] = expected["answered"]
    phases: dict[str, dict[str, Any]] = {}
    for phase, (since_sent, requests) in subscribers[0].latencies.items():
        lags = answered[phase]
        after = [value - lags[request] for value, request in zip(since_sent, requests, strict=True)]
        phases[phase] = {
            **latency_report(list(since_sent)),
            "after_answer": latency_report(after),
        }
    return {
        "subscribers": len(subscribers),
        "complete_in_order": sum(
            s.received == len(expected["ids"]) and s.order.hexdigest() == wanted
            for s in subscribers
        ),
        "received": sorted({s.received for s in subscribers}),
        "closed": sorted({s.closed for s in subscribers if s.closed})[:5],
        "phases": phases,
    }


async def main() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**28)  # the report's order lists every event id
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    subscribers: list[Subscriber] = []

    def say(message: dict[str, Any]) -> None:
        print(json.dumps(message), flush=True)

    while line := await reader.readline():
        order = json.loads(line)
        if order["do"] == "open":
            await open_subscribers(order, subscribers)
            say({"open": len(subscribers)})
        elif order["do"] == "wait":
            done = await until_all_received(subscribers, order["count"], order["deadline"])
            say({"received_at": done, "least": min(s.received for s in subscribers)})
        elif order["do"] == "report":
            say(report(subscribers, order))
            for subscriber in subscribers:
                if subscriber.transport is not None:
                    subscriber.transport.close()
            return


if __name__ == "__main__":
    asyncio.run(main())
