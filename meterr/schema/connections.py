"""Lists as Relay cursor connections: `edges` (each node with its cursor), `pageInfo`, and
`nodes` as a shorthand for the nodes alone. `first`/`after` page forward on every list; lists
kept whole in memory (budgets, webhook endpoints) and the teams page back with `last`/`before`
too."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import strawberry

from meterr.errors import InvalidInput

__all__ = ["MAX_LIST_PAGE", "Connection", "Edge", "PageArgs", "PageInfo", "connection", "sliced"]

# The most nodes a page of a list kept whole in memory holds.
MAX_LIST_PAGE = 1000

T = TypeVar("T")
N = TypeVar("N")


@strawberry.type(description="Where a page stands in its list.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo

    @strawberry.field(description="The page's nodes, without their cursors.")
    def nodes(self) -> list[T]:
        return [edge.node for edge in self.edges]

    @strawberry.field(deprecation_reason="Use pageInfo.endCursor.")
    def next_cursor(self) -> str | None:
        return self.page_info.end_cursor if self.page_info.has_next_page else None

    @strawberry.field(deprecation_reason="Use pageInfo.hasNextPage.")
    def has_next_page(self) -> bool:
        return self.page_info.has_next_page


def connection(
    items: Sequence[N],
    node: Callable[[N], T],
    cursor: Callable[[N], str],
    *,
    has_next: bool,
    has_previous: bool,
) -> Connection[T]:
    """A page of `items`, in the order shown, each node with the cursor to resume after it."""
    edges = [Edge(cursor=cursor(item), node=node(item)) for item in items]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=has_next,
            has_previous_page=has_previous,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )


@dataclass(frozen=True, slots=True)
class PageArgs:
    """`first`/`after` or `last`/`before`, as a list field was given them."""

    first: int | None
    after: str | None
    last: int | None
    before: str | None

    @property
    def backward(self) -> bool:
        return self.last is not None or self.before is not None

    def size(self, default: int, most: int) -> int:
        """How many the page holds, between 1 and `most`; both directions at once are refused."""
        if self.backward and (self.first is not None or self.after is not None):
            raise InvalidInput(
                "Page forward (first, after) or back (last, before), not both.",
                {"fields": {"first": "not with last or before", "last": "not with first or after"}},
            )
        name, given = ("last", self.last) if self.backward else ("first", self.first)
        size = default if given is None else given
        if not 1 <= size <= most:
            raise InvalidInput(
                f"{name} must be between 1 and {most}.", {"fields": {name: f"1 to {most}"}}
            )
        return size

    def forward_only(self, listing: str) -> None:
        if self.backward:
            raise InvalidInput(
                f"{listing} page forward only: use first and after.",
                {"fields": {"last" if self.last is not None else "before": "not offered here"}},
            )


def sliced(
    items: Sequence[N],
    page: PageArgs,
    size: int,
    cursor: Callable[[N], str],
    node: Callable[[N], T],
) -> Connection[T]:
    """A page of `size` (from `page.size`) of a list kept whole in memory, in either
    direction; a cursor that is not in the list is refused."""
    position = {cursor(item): index for index, item in enumerate(items)}
    mark = page.before if page.backward else page.after
    if mark is not None and mark not in position:
        field = "before" if page.backward else "after"
        raise InvalidInput(
            f"{field} is not a cursor of this list.", {"fields": {field: "unknown cursor"}}
        )
    if page.backward:
        end = len(items) if page.before is None else position[page.before]
        start = max(0, end - size)
        return connection(
            items[start:end], node, cursor, has_next=end < len(items), has_previous=start > 0
        )
    start = 0 if page.after is None else position[page.after] + 1
    end = start + size
    return connection(
        items[start:end], node, cursor, has_next=end < len(items), has_previous=start > 0
    )
