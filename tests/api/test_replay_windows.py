"""A subscriber resuming far back is replayed every event since, in order, page after page of
numbers, then follows the live ones."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.conftest import KeyFactory, bearer
from tests.support.subscriptions import USAGE_TRACKED, subscriber


async def test_resuming_after_more_than_a_page_of_events_replays_them_all_in_order(
    server: str, make_key: KeyFactory
) -> None:
    key = await make_key()
    sent = [
        {"provider": "openai", "model": "gpt-4o", "input_tokens": i, "output_tokens": 1,
         "event_id": f"r-{i}"}
        for i in range(1_201)
    ]  # fmt: skip
    async with httpx.AsyncClient(base_url=server, timeout=60) as http:
        for start in range(0, len(sent), 400):
            batch = {"events": sent[start : start + 400]}
            assert (await http.post("/v1/track", headers=bearer(key), json=batch)).is_success
        oldest_first: dict[str, str | int] = {"type": "usage.tracked", "limit": 1, "cursor": "2"}
        page = await http.get("/v1/events", headers=bearer(key), params=oldest_first)
        [oldest] = page.json()["events"]
        assert oldest["data"]["event_id"] == "r-0"
        async with subscriber(server.removeprefix("http://"), key) as client:
            await client.subscribe(USAGE_TRACKED, {"after": oldest["id"]})
            replayed = [(await client.next_data())["usageTracked"]["eventId"] for _ in sent[1:]]
            assert replayed == [event["event_id"] for event in sent[1:]]
            live = {**sent[0], "event_id": "r-live"}
            assert (await http.post("/v1/track", headers=bearer(key), json=live)).is_success
            assert (await client.next_data())["usageTracked"]["eventId"] == "r-live"
            with pytest.raises(TimeoutError):  # nothing twice
                async with asyncio.timeout(0.5):
                    await client.socket.recv()
