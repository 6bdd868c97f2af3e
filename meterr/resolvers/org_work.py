"""How much of this instance's work one organization may hold at once: a bounded number of
requests in progress, the rest waiting their turn briefly, so that one tenant's burst of
expensive questions queues behind itself and not in front of everyone else."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from meterr.errors import RateLimited

__all__ = ["OrganizationWork"]


class OrganizationWork:
    """At most `limit` requests of one organization in progress on this instance; one more
    waits up to `wait` seconds for its turn, then is refused (429, retry in a second)."""

    def __init__(self, limit: int, wait: float) -> None:
        self._limit = limit
        self._wait = wait
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._holders: dict[str, int] = {}

    def in_progress(self, org_id: str) -> int:
        return self._holders.get(org_id, 0)

    @contextlib.asynccontextmanager
    async def turn(self, org_id: str) -> AsyncIterator[None]:
        slots = self._slots.get(org_id)
        if slots is None:
            slots = self._slots[org_id] = asyncio.Semaphore(self._limit)
        self._holders[org_id] = self._holders.get(org_id, 0) + 1
        try:
            try:
                async with asyncio.timeout(self._wait):
                    await slots.acquire()
            except TimeoutError:
                raise RateLimited(
                    f"This organization already has {self._limit} requests in progress; "
                    "retry in a moment.",
                    retry_after=1,
                    details={"reason": "concurrency", "limit": self._limit},
                ) from None
            try:
                yield
            finally:
                slots.release()
        finally:
            self._holders[org_id] -= 1
            if not self._holders[org_id]:
                # Nobody holds or waits: the organization costs no memory until it comes back.
                del self._holders[org_id]
                del self._slots[org_id]
