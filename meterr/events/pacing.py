"""Live fan-out in short turns, so that the requests served beside it keep their pace."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

__all__ = ["Pacer"]


class Pacer:
    """Shares one event loop between fan-out workers and everything else on it.

    A fan-out worker (a bus listener handing out messages, a websocket's sender) waits for
    its turn, works for at most `slice` seconds, says how long it took and waits for its next
    turn. Turns are given in rounds, in the order they were asked for: each round wakes as
    many waiting workers as fit in about `window` seconds (judged by how long the last turns
    took), and they all run in one iteration of the event loop; whatever else became ready
    meanwhile, a request's next step, runs in that same iteration. However many subscribers
    there are, a request's step waits for about one round, not for the whole fan-out.
    """

    def __init__(self, *, window: float = 0.0015, slice: float = 0.00025) -> None:
        self.window = window
        self.slice = slice
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._wanted = asyncio.Event()
        self._spent = 0.0
        self._per_turn = slice / 4  # how long a turn takes, as seen lately
        self._pump: asyncio.Task[None] | None = None
        self._closed = False

    async def turn(self) -> None:
        """Wait for this worker's turn, which comes in a later iteration of the loop (at
        once when the pacer is closed: the service is stopping)."""
        if self._closed:
            return
        if self._pump is None:
            self._pump = asyncio.create_task(self._give_turns())
        future = asyncio.get_running_loop().create_future()
        self._waiting.append(future)
        self._wanted.set()
        await future

    def spent(self, seconds: float) -> None:
        """Report how long the turn took (time spent blocked on a socket is no work)."""
        self._spent += min(seconds, 2 * self.slice)

    async def close(self) -> None:
        """Stop giving turns; whoever waits for one goes on."""
        self._closed = True
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
            self._pump = None
        while self._waiting:
            waiting = self._waiting.popleft()
            if not waiting.done():
                waiting.set_result(None)

    async def _give_turns(self) -> None:
        while True:
            await self._wanted.wait()
            self._wanted.clear()
            while self._waiting:
                self._spent = 0.0
                admitted = max(1, int(self.window / self._per_turn))
                woken = 0
                while self._waiting and woken < admitted:
                    future = self._waiting.popleft()
                    if not future.done():  # a waiter that was cancelled needs no turn
                        future.set_result(None)
                        woken += 1
                # The woken were scheduled first: when this resumes, they have had their turn.
                await asyncio.sleep(0)
                if woken:
                    # A floor keeps one round of full turns from overrunning the window much.
                    taken = self._spent / woken
                    self._per_turn = max(self.slice / 4, (self._per_turn + taken) / 2)
