"""Newest-first (or oldest-first) pages read in widening windows of an indexed range.

The embedded store sorts every document a read matches before it applies a limit, so a page
of the newest documents sorted over a whole range costs the whole range. Read in windows
instead, the first small and each next one four times wider, until the page is full: a page
costs about what it shows, however much the range holds."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

__all__ = ["backwards", "forwards"]

T = TypeVar("T")
# A window reader: (lower, upper, how many more) -> what [lower, upper) holds, in order.
Reader = Callable[[Any, Any, int], Awaitable[list[T]]]


async def backwards(
    read: Reader[T], *, upper: Any, floor: Any, first: Any, widest: Any, want: int
) -> list[T]:
    """Up to `want` items of [floor, upper), newest first, reading windows backwards from
    `upper`: the first `first` wide, none wider than `widest`."""
    found: list[T] = []
    span = first
    while upper > floor and len(found) < want:
        lower = max(floor, upper - span)
        found += await read(lower, upper, want - len(found))
        upper, span = lower, min(span * 4, widest)
    return found


async def forwards(
    read: Reader[T], *, lower: Any, ceiling: Any, first: Any, widest: Any, want: int
) -> list[T]:
    """Up to `want` items of [lower, ceiling), oldest first, reading windows forwards."""
    found: list[T] = []
    span = first
    while lower < ceiling and len(found) < want:
        upper = min(ceiling, lower + span)
        found += await read(lower, upper, want - len(found))
        lower, span = upper, min(span * 4, widest)
    return found
