"""Whether the store can answer: a request meets a store known to be down with 503 at once,
and one that loses the store midway with the same answer, never a 500."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from meterr.errors import StoreUnavailable
from meterr.store import Store, StoreUnreachable

__all__ = ["StoreUnreachable", "require_store", "store_answering", "store_failure"]


def require_store(store: Store) -> None:
    """Raise StoreUnavailable when the store is known to be down, before any wait on it."""
    reason = store.unavailable_reason()
    if reason is not None:
        raise StoreUnavailable(
            f"The store is unavailable ({reason}); nothing was done. Retry shortly."
        )


@contextlib.contextmanager
def store_answering(store: Store) -> Iterator[None]:
    """Around store work a request cannot go on without: StoreUnavailable at once when the
    store is known to be down, and in place of the driver's error when it is lost meanwhile."""
    require_store(store)
    try:
        yield
    except StoreUnreachable:
        raise StoreUnavailable() from None


def store_failure(exc: BaseException) -> StoreUnavailable | None:
    """The answer to an error raised by a store that could not be reached, or None for
    any other error."""
    if isinstance(exc, StoreUnreachable):
        return StoreUnavailable()
    return None
