"""Background batching for hot paths: tracking never waits for Meterr, nor fails with it."""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from meterr.sdk.errors import MeterrAPIError, MeterrConnectionError

__all__ = ["EventBatcher"]

log = logging.getLogger("meterr.sdk")

Send = Callable[[list[dict[str, Any]]], None]


class EventBatcher:
    """Holds events in a bounded buffer and sends them from a thread of its own, in batches
    of up to `batch_size` or every `interval` seconds. While Meterr is unreachable the
    buffer keeps them (each with its event_id, so a resend is a replay); when it is full,
    the oldest are dropped, counted in `dropped` and logged. `flush()` and `close()` send
    what is left, and so does the program's exit (waiting at most `exit_timeout` seconds)."""

    def __init__(
        self,
        send: Send,
        *,
        batch_size: int = 500,
        interval: float = 1.0,
        buffer: int = 10_000,
        exit_timeout: float = 5.0,
    ) -> None:
        self._send = send
        self._batch_size = min(batch_size, 1000)
        self._interval = interval
        self._buffer: deque[dict[str, Any]] = deque()
        self._limit = buffer
        self._lock = threading.Condition()
        self._closing = False
        self._in_flight = 0
        self.sent = 0
        self.dropped = 0
        self._exit_timeout = exit_timeout
        self._thread = threading.Thread(target=self._run, name="meterr-batcher", daemon=True)
        self._thread.start()
        # A program that never closes its client still sends what it tracked when it exits.
        atexit.register(self._at_exit)

    def add(self, event: dict[str, Any]) -> None:
        """Queue one event; returns at once."""
        with self._lock:
            if len(self._buffer) >= self._limit:
                self._buffer.popleft()
                self.dropped += 1
                if self.dropped == 1 or self.dropped % 1000 == 0:
                    log.warning("Meterr buffer full: %d events dropped so far.", self.dropped)
            self._buffer.append(event)
            if len(self._buffer) >= self._batch_size:
                self._lock.notify()

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._buffer) + self._in_flight

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued is sent (True), or `timeout` seconds (False)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            self._lock.notify()
            while self._buffer or self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(min(left, 0.05))
                self._lock.notify()
        return True

    def close(self, timeout: float = 10.0) -> None:
        """Send what is queued (waiting at most `timeout` seconds), then stop."""
        atexit.unregister(self._at_exit)
        self.flush(timeout)
        with self._lock:
            self._closing = True
            self._lock.notify_all()
        self._thread.join(timeout=1.0)

    def _at_exit(self) -> None:
        self.close(self._exit_timeout)
        if self.pending:
            log.warning("Meterr was not reached: %d events were not sent.", self.pending)

    def _run(self) -> None:
        backoff = 0.5
        while True:
            with self._lock:
                if not self._buffer and not self._closing:
                    self._lock.wait(self._interval)
                if self._closing and not self._buffer:
                    return
                batch = [
                    self._buffer.popleft() for _ in range(min(self._batch_size, len(self._buffer)))
                ]
                self._in_flight = len(batch)
            if not batch:
                continue
            try:
                self._send(batch)
            except (MeterrConnectionError, MeterrAPIError) as exc:
                if isinstance(exc, MeterrAPIError) and exc.status < 500 and exc.status != 429:
                    # Refused for what it is: sending it again cannot help.
                    log.error("Meterr refused a batch of %d events: %s", len(batch), exc)
                    with self._lock:
                        self.dropped += len(batch)
                        self._in_flight = 0
                        self._lock.notify_all()
                    continue
                with self._lock:  # keep them, in order, for the next try
                    self._buffer.extendleft(reversed(batch))
                    overflow = len(self._buffer) - self._limit
                    for _ in range(max(0, overflow)):
                        self._buffer.popleft()
                        self.dropped += 1
                    self._in_flight = 0
                    closing = self._closing
                if closing:
                    return
                time.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            backoff = 0.5
            with self._lock:
                self.sent += len(batch)
                self._in_flight = 0
                self._lock.notify_all()
