"""The service's one clock: the only place Meterr asks what time it is."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "SettableClock", "SystemClock"]


class Clock(Protocol):
    """What "now" is: a timezone-aware UTC instant."""

    def now(self) -> datetime: ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


class SettableClock:
    """A clock set to a chosen instant, for tests and replays.

    By default it runs on from that instant at the machine's pace, so that leases, retries
    and expiries still come due; a frozen one shows the same instant until it is set or
    advanced."""

    def __init__(self, at: datetime, *, frozen: bool = False) -> None:
        self._at = _aware(at)
        self._since = time.monotonic()
        self._frozen = frozen

    def now(self) -> datetime:
        if self._frozen:
            return self._at
        return self._at + timedelta(seconds=time.monotonic() - self._since)

    def set(self, at: datetime, *, frozen: bool | None = None) -> None:
        """Show `at` from now on (frozen there, or running on from it)."""
        self._at = _aware(at)
        self._since = time.monotonic()
        if frozen is not None:
            self._frozen = frozen

    def advance(self, delta: timedelta) -> None:
        self.set(self.now() + delta)

    def __repr__(self) -> str:
        state = "frozen" if self._frozen else "running"
        return f"SettableClock({self.now().isoformat()}, {state})"


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("A clock shows timezone-aware instants: give the instant a tzinfo.")
    return at.astimezone(UTC)
